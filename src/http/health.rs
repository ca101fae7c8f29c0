//! Health endpoints: liveness and readiness for orchestrators, and `/health`, which probes
//! every deployment with a real call as LiteLLM does (keys never shown).

use std::sync::atomic::Ordering;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use switchyard_actors::clock::now_ms;
use switchyard_actors::plan::RequestOverrides;
use switchyard_actors::seconds::Seconds;

use super::request::{authorize, call_id};
use crate::dispatch::attempt::call;
use crate::dispatch::Prepared;
use crate::openai::Endpoint;
use crate::settings::Deployment;
use crate::state::{AppState, Worker};

pub async fn liveliness(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(Ordering::Acquire) {
        return HttpResponse::ServiceUnavailable().json(json!({"status": "shutting_down"}));
    }
    HttpResponse::Ok().json("I'm alive!")
}

/// No key is needed (orchestrators probe it); Redis addresses and errors are shown only to a
/// caller with the master key, or on a gateway that has none.
pub async fn readiness(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let gen = state.current();
    let detailed = authorize(&req, &gen.config).is_ok();
    let now = now_ms();
    let cooling: Vec<&str> = gen
        .gates
        .iter()
        .zip(&gen.config.deployments)
        .filter(|(g, _)| g.cooling_until(now).is_some())
        .map(|(_, d)| d.id.as_str())
        .collect();
    let draining = state.draining.load(Ordering::Acquire);
    let body = json!({
        "status": if draining { "shutting_down" } else { "healthy" },
        "db": "Not connected",
        "cache": state.cache.as_ref().map(|c| c.settings.kind()),
        "cache_health": state.cache.as_ref().map(|c| c.report(detailed)),
        "shared_state": state.shared_state.as_ref().map(|s| s.report(detailed)),
        "switchyard_version": env!("CARGO_PKG_VERSION"),
        "instance": state.instance_id,
        "deployments": gen.config.deployments.len(),
        "config_generation": gen.number,
        "config_loaded_at": gen.loaded_at,
        "deployments_cooling_down": cooling,
        "buffered_request_bytes": state.body_budget.held(),
    });
    if draining {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

fn probe_body(d: &Deployment) -> (Endpoint, Map<String, Value>) {
    if d.is_embedding() {
        let body = json!({"model": d.group_name, "input": ["test from litellm"]});
        (
            Endpoint::Embeddings,
            body.as_object().cloned().unwrap_or_default(),
        )
    } else {
        let max_tokens = d.health_check_max_tokens.unwrap_or(16);
        let body = json!({"model": d.group_name, "max_tokens": max_tokens,
                          "messages": [{"role": "user", "content": "What's 1 + 1?"}]});
        (
            Endpoint::Chat,
            body.as_object().cloned().unwrap_or_default(),
        )
    }
}

fn endpoint_entry(d: &Deployment) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("api_base".into(), json!(d.public_api_base()));
    m.insert("model".into(), json!(d.model));
    m.insert("model_id".into(), json!(d.id));
    m.insert("model_group".into(), json!(d.group_name));
    m
}

pub async fn probe_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    worker: web::Data<Worker>,
) -> HttpResponse {
    let id = call_id(&req);
    if let Err(e) = authorize(&req, &state.current().config) {
        return e.response(&id);
    }
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    let (want_model, want_id) = (query.get("model"), query.get("model_id"));
    let gen = state.current();
    let cfg = &gen.config;
    let chosen: Vec<&Deployment> = cfg
        .deployments
        .iter()
        .filter(|d| want_model.is_none_or(|m| &d.group_name == m || &d.model == m))
        .filter(|d| want_id.is_none_or(|i| &d.id == i))
        .collect();
    let probes = chosen.iter().map(|d| {
        let (endpoint, body) = probe_body(d);
        let prepared = Prepared {
            endpoint,
            group: d.spec.group,
            requested_model: d.group_name.clone(),
            body,
            stream: false,
            include_usage: false,
            overrides: RequestOverrides::default(),
            timeout: Some(d.health_check_timeout.unwrap_or(Seconds::whole(60))),
            stream_timeout: None,
            mock_response: None,
            drop_params: None,
            cache_control: Default::default(),
            collect_stream: false,
            call_id: id.clone(),
            started: Instant::now(),
            inlined_images: Default::default(),
            native: None,
            answer_translated: false,
            client: crate::dispatch::ClientFacts::default(),
            gen: gen.clone(),
        };
        let worker = worker.clone();
        async move {
            let result = call(&prepared.gen.config, &worker, d, &prepared, None, None).await;
            (*d, result.map(|_| ()))
        }
    });
    let results = futures_util::future::join_all(probes).await;
    let (mut healthy, mut unhealthy) = (Vec::new(), Vec::new());
    for (d, result) in results {
        let mut entry = endpoint_entry(d);
        match result {
            Ok(()) => healthy.push(Value::Object(entry)),
            Err(e) => {
                entry.insert("error".into(), json!(e.message));
                entry.insert("exception_status".into(), json!(e.status));
                unhealthy.push(Value::Object(entry));
            }
        }
    }
    let filtered = want_model.is_some() || want_id.is_some();
    let body = json!({
        "healthy_endpoints": healthy,
        "unhealthy_endpoints": unhealthy,
        "healthy_count": healthy.len(),
        "unhealthy_count": unhealthy.len(),
    });
    if filtered && healthy.is_empty() {
        HttpResponse::ServiceUnavailable()
            .insert_header(("x-litellm-call-id", id))
            .json(body)
    } else {
        HttpResponse::Ok()
            .insert_header(("x-litellm-call-id", id))
            .json(body)
    }
}
