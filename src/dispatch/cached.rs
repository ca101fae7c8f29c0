//! Answering from the cache: the stored answer with `model` set to what the client asked for,
//! as JSON or replayed as an SSE stream, with the cache key and a hit marker in the headers.

use actix_web::HttpResponse;

use super::log::RequestLog;
use super::Prepared;
use crate::cache::{entry, CachePlan};
use crate::state::AppState;

/// The response for a hit, or `None` when the entry cannot be used (then the request goes on
/// upstream as a miss).
pub fn respond(
    state: &AppState,
    p: &Prepared,
    plan: &CachePlan,
    bytes: &[u8],
) -> Option<HttpResponse> {
    let stored = entry::decode(bytes)?;
    let sse = if p.stream {
        Some(entry::replay_stream(
            stored.response,
            &p.requested_model,
            p.include_usage,
        )?)
    } else {
        None
    };
    let mut log = RequestLog::new(&p.call_id, &p.requested_model, p.stream, p.started);
    let usage = stored.usage;
    (log.prompt_tokens, log.completion_tokens) = (usage.prompt_tokens, usage.completion_tokens);
    log.deployment = "cache".into();
    log.outcome = "cache_hit";
    let mut resp = HttpResponse::Ok();
    resp.insert_header(("x-litellm-call-id", p.call_id.as_str()))
        .insert_header(("x-litellm-model-group", state.config.group_name(p.group)))
        .insert_header(("x-litellm-cache-key", plan.key.as_str()))
        .insert_header(("x-switchyard-cache", "hit"))
        .insert_header(("x-litellm-attempted-retries", "0"))
        .insert_header(("x-litellm-attempted-fallbacks", "0"));
    let out = if let Some(sse) = sse {
        resp.insert_header(("content-type", "text/event-stream; charset=utf-8"))
            .insert_header(("cache-control", "no-cache"))
            .body(sse)
    } else {
        let body = stored.with_model(&p.requested_model);
        resp.insert_header((
            "x-litellm-response-duration-ms",
            format!("{:.3}", p.started.elapsed().as_secs_f64() * 1000.0),
        ))
        .content_type("application/json")
        .body(body)
    };
    log.status = 200;
    Some(out)
}

/// Embeddings whose every item was in the cache.
pub fn respond_items(
    state: &AppState,
    p: &Prepared,
    plan: &CachePlan,
    embeddings: Vec<serde_json::Value>,
) -> HttpResponse {
    let mut log = RequestLog::new(&p.call_id, &p.requested_model, false, p.started);
    log.deployment = "cache".into();
    log.outcome = "cache_hit";
    log.status = 200;
    HttpResponse::Ok()
        .insert_header(("x-litellm-call-id", p.call_id.as_str()))
        .insert_header(("x-litellm-model-group", state.config.group_name(p.group)))
        .insert_header(("x-litellm-cache-key", plan.key.as_str()))
        .insert_header(("x-switchyard-cache", "hit"))
        .insert_header(("x-litellm-attempted-retries", "0"))
        .insert_header(("x-litellm-attempted-fallbacks", "0"))
        .content_type("application/json")
        .body(crate::cache::embeddings::from_cache(
            embeddings,
            &p.requested_model,
        ))
}
