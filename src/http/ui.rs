//! The live status page: `GET /ui` serves one embedded HTML page (no CDN, no build step) that
//! asks for the master key once, keeps it in the browser session and polls `GET /ui/state`
//! every second. `/ui/state` is a documented JSON endpoint (README, "Observe") that reads the
//! same state as `/metrics`: the deployments' gates, the metrics registry, the cache and the
//! shared state.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use switchyard_actors::backend_watch::BackendHealth;
use switchyard_actors::clock::now_ms;
use switchyard_actors::recent::{CooldownCause, WINDOW_MINUTES};

use super::request::{authorize, call_id};
use crate::generation::Generation;
use crate::metrics::millis_as_seconds;
use crate::state::AppState;

const PAGE: &str = include_str!("ui/index.html");

/// Inline script and style only, calls to this origin only, never framed.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// The page itself holds no data, so it needs no key; `/ui/state` does.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", CSP))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("referrer-policy", "no-referrer"))
        .insert_header(("cache-control", "no-cache"))
        .body(PAGE)
}

pub async fn state(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&call_id(&req));
    }
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(snapshot(&state))
}

fn cause_name(c: CooldownCause) -> &'static str {
    match c {
        CooldownCause::Failure(class) => class.name(),
        CooldownCause::OtherInstance => "decided by another instance",
    }
}

fn deployments(gen: &Generation, now: u64) -> Vec<Value> {
    let cfg = &gen.config;
    cfg.groups
        .iter()
        .map(|g| {
            let rows: Vec<Value> = g
                .deployments
                .iter()
                .filter_map(|idx| {
                    let d = cfg.deployments.get(usize::try_from(idx.0).ok()?)?;
                    let gate = gen.gate(*idx)?;
                    let recent = gate.recent(now);
                    let cooling = gate.cooling_until(now);
                    let status = match cooling {
                        Some(_) => "cooling_down",
                        None if recent.failing => "degraded",
                        None => "healthy",
                    };
                    let errors: Map<String, Value> = recent
                        .errors
                        .iter()
                        .map(|(c, n)| (c.name().to_string(), json!(n)))
                        .collect();
                    Some(json!({
                        "id": d.id,
                        "model": d.model,
                        "api_base": d.public_api_base(),
                        "provider": d.kind.name(),
                        "state": status,
                        "cooldown_seconds_left": cooling
                            .map_or(0.0, |until| millis_as_seconds(until.saturating_sub(now))),
                        "cooldown_cause": cooling
                            .and(gate.cooldown_cause())
                            .map(cause_name),
                        "in_flight": gate.in_flight(),
                        "rpm_used": recent.requests_this_minute,
                        "rpm_limit": d.spec.rpm,
                        "tpm_used": gate.tokens_this_minute(now),
                        "tpm_limit": d.spec.tpm,
                        "latency_ms_p50": recent.latency_p50_ms,
                        "latency_ms_p95": recent.latency_p95_ms,
                        "errors": errors,
                    }))
                })
                .collect();
            json!({"name": g.name, "deployments": rows})
        })
        .collect()
}

/// The error of a Redis outage in progress, without secrets (the page is behind the master key,
/// as readiness's detailed report is).
fn outage(health: &BackendHealth) -> Option<String> {
    health
        .degraded()
        .then(|| health.last_error())
        .flatten()
        .map(|e| crate::secret::redact(&e).into_owned())
}

fn cache(state: &AppState) -> Value {
    let Some(c) = &state.cache else {
        return Value::Null;
    };
    let st = c.stats.snapshot();
    let looked = st.hits.saturating_add(st.misses);
    let hit_rate =
        (looked > 0).then(|| crate::metrics::u64_f(st.hits) / crate::metrics::u64_f(looked));
    let size = c.local_size();
    json!({
        "kind": c.settings.kind(),
        "hits": st.hits,
        "misses": st.misses,
        "hit_rate": hit_rate,
        "entries": size.map(|(n, _)| n),
        "bytes": size.map(|(_, b)| b),
        "healthy": !c.health.degraded(),
        "error": outage(&c.health),
    })
}

fn shared_state(state: &AppState, now: u64) -> Value {
    let Some(s) = &state.shared_state else {
        return Value::Null;
    };
    json!({
        "healthy": !s.health.degraded(),
        "sync_age_seconds": s.sync_age_seconds(now),
        "error": outage(&s.health),
    })
}

/// What `/ui/state` answers (documented in README, "Observe").
pub fn snapshot(state: &AppState) -> Value {
    let now = now_ms();
    let (total, failed) = state.metrics.request_totals();
    let gen = state.current();
    let in_flight: u64 = gen.gates.iter().map(|g| u64::from(g.in_flight())).sum();
    let fallbacks: Vec<Value> = state
        .metrics
        .fallback_totals()
        .into_iter()
        .map(|(from, to, ok, failed)| {
            json!({"from": from, "to": to, "succeeded": ok, "failed": failed})
        })
        .collect();
    json!({
        "instance": {
            "id": state.instance_id,
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_seconds": state.started.elapsed().as_secs_f64(),
            "config_file": gen.config.source,
            "config_generation": gen.number,
            "config_loaded_at": gen.loaded_at,
        },
        "window_seconds": WINDOW_MINUTES * 60,
        "requests": {"total": total, "failed": failed, "in_flight": in_flight},
        "metrics_recorded": state.metrics.enabled,
        "cache": cache(state),
        "shared_state": shared_state(state, now),
        "groups": deployments(&gen, now),
        "fallbacks": fallbacks,
    })
}
