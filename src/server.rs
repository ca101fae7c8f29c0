//! Start-up: the router actors on their own arbiter, actix-web workers with one upstream client
//! (and connection pool) each, and a graceful drain on SIGTERM.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::{HttpService, KeepAlive};
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App};

use crate::cache::{SharedCache, WorkerCache};
use crate::generation::Generations;
use crate::http;
use crate::inbound::responses::store::{LocalResponses, ResponseStore};
use crate::listener::ClientConn;
use crate::settings::GatewayConfig;
use crate::shared_state::{SharedState, WorkerShared};
use crate::state::{AppState, Worker};

pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub grace_period: u64,
    pub instance_id: String,
    /// The config file, read again on a reload (`None`: the built-in config).
    pub config_path: Option<std::path::PathBuf>,
    pub watch: bool,
}

fn tls_config() -> std::io::Result<Arc<rustls::ClientConfig>> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| std::io::Error::other(format!("TLS set-up: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The client for image URLs a request names: a connector that dials public addresses only,
/// a small pool, no redirects (a redirect could point anywhere).
fn image_client(tls: Arc<rustls::ClientConfig>, allow_private_hosts: &[String]) -> awc::Client {
    let connector = awc::Connector::new()
        .connector(crate::outbound_guard::PublicOnly::new(allow_private_hosts))
        .rustls_0_23(tls)
        .limit(64)
        .timeout(Duration::from_secs(10))
        .conn_keep_alive(Duration::from_secs(15));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .finish()
}

/// Client connections a worker serves at once (actix-server's default, named because the
/// upstream pool is sized from it).
const MAX_CONNECTIONS_PER_WORKER: usize = 25_600;

fn upstream_client(tls: Arc<rustls::ClientConfig>) -> awc::Client {
    // An HTTP/1.1 client connection has at most one request upstream at a time: a pool as large
    // as the client connections never makes a request wait for an upstream socket (10,000 open
    // streams on two workers need 5,000 each).
    let connector = awc::Connector::new()
        .rustls_0_23(tls)
        .limit(MAX_CONNECTIONS_PER_WORKER)
        .timeout(Duration::from_secs(10))
        .conn_keep_alive(Duration::from_secs(60))
        .conn_lifetime(Duration::from_secs(600));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .timeout(Duration::from_secs(6000))
        .finish()
}

async fn wait_for_stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

pub async fn serve(cfg: GatewayConfig, opts: ServeOptions) -> std::io::Result<()> {
    let cache = match cfg.cache.clone().map(SharedCache::start).transpose() {
        Ok(c) => c,
        Err(e) => return Err(std::io::Error::other(format!("cache: {e}"))),
    };
    let shared = match cfg.shared_state.clone().map(SharedState::start).transpose() {
        Ok(s) => s,
        Err(e) => return Err(std::io::Error::other(format!("shared router state: {e}"))),
    };
    if let Some(s) = &shared {
        tracing::info!(redis = %s.settings.target.display, from = s.settings.source, "router state shared through Redis");
    }
    if let Some(c) = &cache {
        tracing::info!(
            cache = c.settings.kind(),
            ttl_s = c.settings.ttl.get(),
            "response cache on"
        );
    }
    let draining = Arc::new(AtomicBool::new(false));
    let (cut_streams, shutdown) = tokio::sync::watch::channel(false);
    let metrics = Arc::new(crate::metrics::Registry::new(cfg.limits.record_metrics));
    let traces = if cfg.otel {
        match crate::traces::start(&opts.instance_id) {
            Ok(provider) => {
                tracing::info!("OpenTelemetry traces on (OTLP/HTTP)");
                Some(provider)
            }
            // Traces are for operators: a broken exporter setting is said, never fatal.
            Err(e) => {
                tracing::warn!(error = %e, "OpenTelemetry traces off");
                None
            }
        }
    } else {
        None
    };
    let sources = crate::config_sources::ConfigSources::new(opts.config_path.clone())
        .map_err(|e| std::io::Error::other(format!("config: {e}")))?;
    let generations = Generations::start(cfg, shared.clone(), metrics.clone());
    let state = web::Data::new(AppState {
        generations,
        draining: draining.clone(),
        instance_id: opts.instance_id.clone(),
        cache: cache.clone(),
        shared_state: shared.clone(),
        body_budget: Arc::default(),
        started: std::time::Instant::now(),
        sources,
        metrics: metrics.clone(),
        shutdown,
    });
    crate::http::load_shared(&state).await;
    actix_web::rt::spawn(crate::reload::on_sighup(state.clone()));
    actix_web::rt::spawn(crate::http::follow_shared(state.clone()));
    if opts.watch {
        actix_web::rt::spawn(crate::reload::watch(state.clone()));
    }
    let tls = tls_config()?;
    let instance_id = opts.instance_id.clone();
    let first = state.current();
    let header_timeout = first.config.limits.client_header_timeout.duration();
    let allow_private_hosts = first.config.limits.images.allow_private_hosts.clone();
    drop(first);
    let local_responses = Arc::new(LocalResponses::default());
    let builder = actix_server::Server::build();
    // On stop, idle kept-alive connections are closed at once (as actix-web's HttpServer does):
    // the process exits when the last in-flight request ends, not at the grace deadline.
    let idle_close = builder.graceful_shutdown_signal();
    let server = builder
        .workers(opts.workers)
        .max_concurrent_connections(MAX_CONNECTIONS_PER_WORKER)
        .backlog(2048)
        // Streams still open at the end of the grace period are cut with an error event
        // first; the extra second lets that event reach the clients before the workers stop.
        .shutdown_timeout(opts.grace_period.saturating_add(1))
        .disable_signals()
        .bind("switchyard", (opts.host.as_str(), opts.port), move || {
            // Runs once per worker thread: its own upstream connection pool and supervisor.
            let worker_cache = cache.clone().map(WorkerCache::new);
            let worker_shared = shared.as_deref().map(WorkerShared::new);
            // Kept responses go to the router's Redis, else the cache's, else this process.
            let redis = worker_shared
                .as_ref()
                .map(WorkerShared::link)
                .or_else(|| worker_cache.as_ref().and_then(WorkerCache::link));
            let worker = Worker {
                client: upstream_client(tls.clone()),
                images: image_client(tls.clone(), &allow_private_hosts),
                supervisor: std::cell::RefCell::new(None),
                cache: worker_cache,
                shared: worker_shared,
                responses: ResponseStore::new(redis, local_responses.clone()),
                metrics: metrics.worker(),
            };
            // Every answer (errors and health probes included) names the instance that gave it.
            let instance =
                DefaultHeaders::new().add(("x-switchyard-instance", instance_id.clone()));
            let app = App::new()
                .wrap_fn(http::guard::catch_panics)
                .wrap(instance)
                .app_data(state.clone())
                .app_data(web::Data::new(worker))
                .configure(http::routes)
                .default_service(web::to(http::not_found))
                .into_factory()
                .map_err(|err: actix_web::Error| err.error_response());
            let idle_close = idle_close.clone();
            let h1 = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = idle_close.clone();
                    async move { signal.notified().await }
                })
                .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
                // nginx's client_header_timeout: a client trickling its headers is cut off.
                .client_request_timeout(header_timeout)
                .client_disconnect_timeout(Duration::from_secs(1))
                // A client that closes its connection cancels its request at once (the
                // handler future is dropped): no more retries or upstream calls for nobody.
                // Half-closing before the answer is not a thing HTTP clients do.
                .h1_allow_half_closed(false)
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(move |io: actix_web::rt::net::TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok::<_, DispatchError>((ClientConn::new(io, header_timeout), peer))
            })
            .and_then(h1)
        })?
        .run();
    tracing::info!(
        host = %opts.host,
        port = opts.port,
        workers = opts.workers,
        instance = %opts.instance_id,
        "Switchyard listening on http://{}:{}",
        opts.host,
        opts.port
    );
    let handle = server.handle();
    let grace = opts.grace_period;
    actix_web::rt::spawn(async move {
        wait_for_stop_signal().await;
        draining.store(true, Ordering::Release);
        actix_web::rt::spawn(async move {
            actix_web::rt::time::sleep(Duration::from_secs(grace)).await;
            let _ = cut_streams.send(true);
        });
        tracing::info!(
            grace_period_s = grace,
            "stop signal: no new connections; draining in-flight requests"
        );
        handle.stop(true).await;
    });
    server.await?;
    if let Some(provider) = traces {
        // Sends the spans still queued; bounded by the exporter's own timeout.
        if let Err(e) = provider.shutdown() {
            tracing::warn!(error = %e, "OpenTelemetry: spans still queued at exit were lost");
        }
    }
    tracing::info!("stopped");
    Ok(())
}
