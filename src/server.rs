//! Start-up: the router actors on their own arbiter, actix-web workers with one upstream client
//! (and connection pool) each, and a graceful drain on SIGTERM.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, Arbiter};
use actix_http::error::DispatchError;
use actix_http::{HttpService, KeepAlive};
use actix_service::{fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App};
use switchyard_actors::accrual::AccrualSettings;
use switchyard_actors::deployment::DeploymentActor;
use switchyard_actors::gate::Gate;
use switchyard_actors::plan::Planner;
use switchyard_actors::supervisor::Supervisor;

use crate::cache::{SharedCache, WorkerCache};
use crate::http;
use crate::inbound::responses::store::{LocalResponses, ResponseStore};
use crate::listener::ClientConn;
use crate::settings::GatewayConfig;
use crate::shared_state::sync::{Track, Tracked};
use crate::shared_state::{SharedState, WorkerShared};
use crate::state::{AppState, Worker};

pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub grace_period: u64,
    pub instance_id: String,
}

/// What each worker's supervisor is built from: the routing rules and every deployment's gate
/// and actor address.
#[derive(Clone)]
struct RouterParts {
    planner: Arc<Planner>,
    gates: Arc<[Arc<Gate>]>,
    deployments: Arc<[Addr<DeploymentActor>]>,
}

/// Starts one actor per deployment, all on one arbiter of their own: they only see failures.
fn start_router(cfg: &GatewayConfig, shared: Option<&SharedState>) -> RouterParts {
    let arbiter = Arbiter::new().handle();
    let router = &cfg.router;
    let mut gates = Vec::with_capacity(cfg.deployments.len());
    let mut addrs = Vec::with_capacity(cfg.deployments.len());
    for d in &cfg.deployments {
        let spec = &d.spec;
        let gate = Arc::new(Gate::new(
            spec.rpm,
            spec.tpm,
            spec.max_in_flight(router.default_max_parallel_requests),
        ));
        let single = spec
            .group
            .of(&cfg.groups)
            .is_some_and(|g| g.deployments.len() == 1);
        let settings = AccrualSettings {
            disable_cooldowns: router.disable_cooldowns,
            deployment_cooldown: spec.cooldown_time,
            router_cooldown: router.cooldown_time,
            allowed_fails: spec.allowed_fails.or(router.allowed_fails),
            router_policy: router.allowed_fails_policy.clone(),
            deployment_policy: spec.allowed_fails_policy.clone(),
            single,
            lone: single && !router.fallbacks.has_entry(spec.group),
        };
        let (id, actor_gate) = (d.id.clone(), gate.clone());
        let publisher = shared.map(SharedState::publisher);
        addrs.push(DeploymentActor::start_in_arbiter(&arbiter, move |_| {
            DeploymentActor::new(id, actor_gate, settings, publisher)
        }));
        gates.push(gate);
    }
    if let Some(s) = shared {
        let tracked = cfg
            .deployments
            .iter()
            .zip(&addrs)
            .map(|(d, a)| Tracked {
                id: d.id.clone(),
                actor: a.clone(),
                tpm: d.spec.tpm.is_some(),
            })
            .collect();
        s.sync.do_send(Track(tracked));
    }
    let planner = Planner {
        router: router.clone(),
        groups: cfg.groups.clone(),
        deployments: cfg.deployments.iter().map(|d| d.spec.clone()).collect(),
    };
    RouterParts {
        planner: Arc::new(planner),
        gates: gates.into(),
        deployments: addrs.into(),
    }
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

fn upstream_client(tls: Arc<rustls::ClientConfig>) -> awc::Client {
    let connector = awc::Connector::new()
        .rustls_0_23(tls)
        .limit(4096)
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
    let router = start_router(&cfg, shared.as_deref());
    if let Some(c) = &cache {
        tracing::info!(
            cache = c.settings.kind(),
            ttl_s = c.settings.ttl.get(),
            "response cache on"
        );
    }
    let draining = Arc::new(AtomicBool::new(false));
    let (cut_streams, shutdown) = tokio::sync::watch::channel(false);
    let metrics = Arc::new(crate::metrics::Registry::new(&cfg));
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
    let state = web::Data::new(AppState {
        config: Arc::new(cfg),
        gates: router.gates.to_vec(),
        draining: draining.clone(),
        instance_id: opts.instance_id.clone(),
        cache: cache.clone(),
        shared_state: shared.clone(),
        body_budget: Arc::default(),
        started: std::time::Instant::now(),
        metrics: metrics.clone(),
        shutdown,
    });
    let tls = tls_config()?;
    let instance_id = opts.instance_id.clone();
    let header_timeout = state.config.limits.client_header_timeout.duration();
    let allow_private_hosts = state.config.limits.images.allow_private_hosts.clone();
    let local_responses = Arc::new(LocalResponses::default());
    let builder = actix_server::Server::build();
    // On stop, idle kept-alive connections are closed at once (as actix-web's HttpServer does):
    // the process exits when the last in-flight request ends, not at the grace deadline.
    let idle_close = builder.graceful_shutdown_signal();
    let server = builder
        .workers(opts.workers)
        .backlog(2048)
        // Streams still open at the end of the grace period are cut with an error event
        // first; the extra second lets that event reach the clients before the workers stop.
        .shutdown_timeout(opts.grace_period.saturating_add(1))
        .disable_signals()
        .bind("switchyard", (opts.host.as_str(), opts.port), move || {
            // Runs once per worker thread: its own upstream connection pool and supervisor.
            let r = router.clone();
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
                supervisor: Supervisor::new(r.planner, r.gates, r.deployments).start(),
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
