//! `GET /metrics` (and `/metrics/`), on with `litellm_settings.callbacks: ["prometheus"]`: the Prometheus text format, LiteLLM's families first, then
//! Switchyard's own gauges read from the deployments' gates at scrape time. With a master key
//! set it requires that key, as LiteLLM 1.108.7 does (Prometheus sends it as a bearer token).

use actix_web::{web, HttpRequest, HttpResponse};
use switchyard_actors::clock::now_ms;

use super::request::{authorize, call_id};
use crate::metrics::exposition::{header, labels, sample};
use crate::state::AppState;

fn millis_as_seconds(ms: u64) -> f64 {
    // Cooldowns are bounded far below 2^53 ms, where f64 is exact.
    #[allow(clippy::cast_precision_loss)]
    let s = ms as f64 / 1000.0;
    s
}

fn gates(state: &AppState, out: &mut String) {
    let cfg = &state.config;
    let now = now_ms();
    let rows: Vec<(String, u32, f64)> = cfg
        .deployments
        .iter()
        .zip(state.gates.iter())
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

pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = authorize(&req, &state.config) {
        return e.response(&call_id(&req));
    }
    if !state.metrics.enabled {
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
    state.metrics.render(&state.gates, now_ms(), &mut out);
    gates(&state, &mut out);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}
