//! Config reload: on `SIGHUP`, `POST /config/reload` (master key) or, with `--watch`, when the
//! file or one of its `include`s changes. The file is read and validated as at start; a valid
//! config becomes the next generation at once, an invalid one is refused with every problem and
//! its field path while the running config keeps serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::generation::Generation;
use crate::http::request::{authorize, call_id};
use crate::settings::{ConfigError, GatewayConfig};
use crate::state::AppState;

/// Why a reload was refused.
pub enum Refused {
    /// The gateway runs the built-in config: there is no file to read again.
    NoFile,
    Invalid(ConfigError),
}

/// Settings a reload cannot change in a running process: said in the answer and the log.
fn needs_restart(old: &GatewayConfig, new: &GatewayConfig) -> Vec<&'static str> {
    let mut out = Vec::new();
    // Compared by value: their Debug form masks the Redis password.
    if old.cache != new.cache {
        out.push("litellm_settings.cache / cache_params (the response cache keeps its settings until a restart)");
    }
    if old.shared_state != new.shared_state {
        out.push(
            "router_settings.redis_* (the shared router state keeps its Redis until a restart)",
        );
    }
    if old.json_logs != new.json_logs || old.verbose != new.verbose {
        out.push("litellm_settings.json_logs / set_verbose (logging is set up once)");
    }
    if old.otel != new.otel {
        out.push("litellm_settings.callbacks: otel (the exporter starts once)");
    }
    if old.limits.client_header_timeout != new.limits.client_header_timeout
        || old.limits.images.allow_private_hosts != new.limits.images.allow_private_hosts
    {
        out.push("switchyard_settings.client_header_timeout_seconds / image_fetch.allow_private_hosts (set per connection and client at start)");
    }
    out
}

/// Puts a validated config in service: its keys masked, settings a running process cannot
/// change named, the generation swapped, a log line.
pub fn apply(
    state: &AppState,
    cfg: GatewayConfig,
    trigger: &str,
) -> (Arc<Generation>, Vec<&'static str>) {
    let old = state.current();
    // Keys of both: requests of the old generation may still be in flight.
    crate::secret::register(old.config.secrets().into_iter().chain(cfg.secrets()));
    let restart = needs_restart(&old.config, &cfg);
    crate::telemetry::report_notes(&cfg);
    let gen = state.generations.install(cfg);
    tracing::info!(
        trigger,
        config = %gen.config.source,
        generation = gen.number,
        groups = gen.config.groups.len(),
        deployments = gen.config.deployments.len(),
        "config reloaded"
    );
    for what in &restart {
        tracing::warn!(
            setting = what,
            "changed in the file; applies at the next restart"
        );
    }
    (gen, restart)
}

/// Reads the config file again and puts it in service (with the deployments added over the
/// API, which a reload keeps).
pub async fn reload(
    state: &AppState,
    trigger: &str,
) -> Result<(Arc<Generation>, Vec<&'static str>), Refused> {
    if state.sources.path.is_none() {
        return Err(Refused::NoFile);
    }
    let _one_at_a_time = state.sources.changing.lock().await;
    match state.sources.reread() {
        Ok(cfg) => Ok(apply(state, cfg, trigger)),
        Err(e) => {
            tracing::error!(trigger, problems = %e, "config reload refused; the running config keeps serving");
            Err(Refused::Invalid(e))
        }
    }
}

/// A config that was not put in service: 400, the message, and every problem as
/// `{"path", "reason"}` with paths without `strip` (the prefix of the entry a body became).
pub fn refused(
    call_id: &str,
    message: &str,
    param: Option<&str>,
    e: &ConfigError,
    strip: Option<&str>,
) -> HttpResponse {
    let problems: Vec<Value> = e
        .all()
        .map(|p| {
            let path = strip
                .and_then(|pre| p.path.strip_prefix(pre))
                .unwrap_or(&p.path);
            json!({"path": path, "reason": p.reason})
        })
        .collect();
    HttpResponse::BadRequest()
        .insert_header(("x-litellm-call-id", call_id))
        .json(json!({
            "error": {
                "message": crate::secret::redact(&format!("{message}: {e}")),
                "type": "invalid_request_error",
                "param": param,
                "code": "400",
            },
            "problems": problems,
        }))
}

/// `POST /config/reload`: 200 with the new generation, or 400 with every problem.
pub async fn reload_endpoint(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let id = call_id(&req);
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&id);
    }
    match reload(&state, "POST /config/reload").await {
        Ok((gen, restart)) => HttpResponse::Ok().json(json!({
            "status": "reloaded",
            "config": gen.config.source,
            "config_generation": gen.number,
            "config_loaded_at": gen.loaded_at,
            "model_groups": gen.config.groups.len(),
            "deployments": gen.config.deployments.len(),
            "needs_restart": restart,
        })),
        Err(Refused::NoFile) => crate::error::GatewayError::invalid(
            "the gateway runs its built-in config (no --config file): nothing to reload",
            "config",
        )
        .response(&id),
        Err(Refused::Invalid(e)) => refused(
            &id,
            "config invalid, not loaded (the running config keeps serving)",
            Some("config"),
            &e,
            None,
        ),
    }
}

/// Reloads on every `SIGHUP`.
pub async fn on_sighup(state: web::Data<AppState>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("SIGHUP cannot be caught here: reload with POST /config/reload");
        return;
    };
    while hup.recv().await.is_some() {
        let _ = reload(&state, "SIGHUP").await;
    }
}

type Fingerprint = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

fn fingerprint(path: &Path) -> Fingerprint {
    crate::settings::load::files(path)
        .into_iter()
        .map(|f| {
            let meta = std::fs::metadata(&f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (f, meta)
        })
        .collect()
}

/// `--watch`: reloads when the file or one of its includes changes (checked every second).
pub async fn watch(state: web::Data<AppState>) {
    let Some(path) = state.sources.path.clone() else {
        return;
    };
    let mut last = fingerprint(&path);
    loop {
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        let now = fingerprint(&path);
        if now != last {
            last = now;
            let _ = reload(&state, "--watch").await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn with_redis_password(password: &str) -> GatewayConfig {
        let tree = json!({
            "model_list": [{"model_name": "m", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-test-0123456789"}}],
            "router_settings": {"redis_host": "127.0.0.1", "redis_port": 6379, "redis_password": password},
        });
        GatewayConfig::from_tree(tree, "test").unwrap()
    }

    #[test]
    fn a_changed_redis_password_needs_a_restart() {
        let old = with_redis_password("first-secret-password");
        assert!(needs_restart(&old, &with_redis_password("first-secret-password")).is_empty());
        let changed = needs_restart(&old, &with_redis_password("other-secret-password"));
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert!(changed[0].starts_with("router_settings.redis_*"));
    }
}
