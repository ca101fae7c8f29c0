//! `GET /metrics` (and `/metrics/`), on with `litellm_settings.callbacks: ["prometheus"]`: the Prometheus text format, LiteLLM's families first, then
//! Switchyard's own gauges read from the deployments' gates at scrape time. With a master key
//! set it requires that key, as LiteLLM 1.108.7 does (Prometheus sends it as a bearer token).

use actix_web::{web, HttpRequest, HttpResponse};
use switchyard_actors::clock::now_ms;

use super::request::{authorize, call_id};
use crate::generation::Generation;
use crate::metrics::exposition::{header, labels, sample};
use crate::metrics::{millis_as_seconds, u64_f};
use crate::settings::cache::CacheBackend;
use crate::state::AppState;

fn gates(state: &AppState, gen: &Generation, out: &mut String) {
    let cfg = &gen.config;
    let now = now_ms();
    let rows: Vec<(String, u32, f64)> = cfg
        .deployments
        .iter()
        .zip(gen.gates.iter())
        .map(|(d, g)| {
            let left = g
                .cooling_until(now)
                .map_or(0.0, |until| millis_as_seconds(until.saturating_sub(now)));
            let l = labels(&mut [
                ("model_group", d.group_name.as_str()),
                ("model_id", d.id.as_str()),
                ("api_base", d.public_api_base()),
            ]);
            (l, g.in_flight(), left)
        })
        .collect();
    header(
        out,
        "switchyard_deployment_in_flight",
        "gauge",
        "Requests in flight to the deployment right now",
    );
    for (l, n, _) in &rows {
        sample(
            out,
            "switchyard_deployment_in_flight",
            l,
            None,
            f64::from(*n),
        );
    }
    header(
        out,
        "switchyard_deployment_cooldown_seconds_left",
        "gauge",
        "Seconds until the deployment leaves its cooldown (0 when it is not cooling down)",
    );
    for (l, _, left) in &rows {
        sample(
            out,
            "switchyard_deployment_cooldown_seconds_left",
            l,
            None,
            *left,
        );
    }
    header(
        out,
        "switchyard_build_info",
        "gauge",
        "The running build: version, and the instance id this process answers as",
    );
    let l = labels(&mut [
        ("version", env!("CARGO_PKG_VERSION")),
        ("instance", state.instance_id.as_str()),
    ]);
    sample(out, "switchyard_build_info", &l, None, 1.0);
}

/// The cache's and the shared state's own gauges, and the Redis calls behind them.
fn backends(state: &AppState, out: &mut String) {
    let cache = state.cache.as_ref();
    if let Some((entries, bytes)) = cache.and_then(|c| c.local_size()) {
        header(
            out,
            "switchyard_cache_entries",
            "gauge",
            "Entries in the in-process response cache",
        );
        sample(
            out,
            "switchyard_cache_entries",
            "",
            None,
            u64_f(u64::try_from(entries).unwrap_or(u64::MAX)),
        );
        header(
            out,
            "switchyard_cache_bytes",
            "gauge",
            "Bytes of the answers held by the in-process response cache",
        );
        sample(
            out,
            "switchyard_cache_bytes",
            "",
            None,
            u64_f(u64::try_from(bytes).unwrap_or(u64::MAX)),
        );
    }
    if let Some(shared) = &state.shared_state {
        header(
            out,
            "switchyard_shared_state_sync_age_seconds",
            "gauge",
            "Seconds since this instance last read the shared router state from Redis (-1 before the first read)",
        );
        let age = shared.sync_age_seconds(now_ms()).unwrap_or(-1.0);
        sample(
            out,
            "switchyard_shared_state_sync_age_seconds",
            "",
            None,
            age,
        );
        header(
            out,
            "switchyard_shared_state_healthy",
            "gauge",
            "1 while the shared router state's Redis answers, 0 during an outage",
        );
        let up = if shared.health.degraded() { 0.0 } else { 1.0 };
        sample(out, "switchyard_shared_state_healthy", "", None, up);
    }
    let redis_cache = cache.is_some_and(|c| matches!(c.settings.backend, CacheBackend::Redis(_)));
    if redis_cache || state.shared_state.is_some() {
        crate::metrics::redis_ops::render(out);
    }
}

pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&call_id(&req));
    }
    let gen = state.current();
    if !gen.config.prometheus {
        return crate::error::GatewayError::NotFound {
            method: "GET".into(),
            path: format!(
                "{} (metrics are off: add prometheus to litellm_settings.callbacks)",
                req.path()
            ),
        }
        .response(&call_id(&req));
    }
    let mut out = String::with_capacity(16 * 1024);
    state
        .metrics
        .render(&gen.labels, &gen.gates, now_ms(), &mut out);
    gates(&state, &gen, &mut out);
    backends(&state, &mut out);
    crate::metrics::process::render(&mut out, crate::listener::open_connections());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}
