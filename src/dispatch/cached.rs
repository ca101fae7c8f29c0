//! Answering from the cache: the stored answer with `model` set to what the client asked for,
//! as JSON or replayed as an SSE stream, with the cache key and a hit marker in the headers.

use actix_web::HttpResponse;

use super::settle::{self, AnswerHeaders, Outcome, Settlement};
use super::Prepared;
use crate::cache::{entry, CachePlan};
use crate::state::Worker;

/// The response for a hit, or `None` when the entry cannot be used (then the request goes on
/// upstream as a miss).
pub fn respond(
    worker: &Worker,
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
    let mut log = Settlement::of(p, &worker.metrics, p.stream);
    log.cache_looked_up = true;
    log.usage = stored.usage;
    log.deployment = "cache".into();
    log.end(Outcome::CacheHit, 200);
    let mut resp = hit(p, plan);
    let out = if let Some(sse) = sse {
        resp.insert_header(("content-type", "text/event-stream; charset=utf-8"))
            .insert_header(("cache-control", "no-cache"))
            .body(sse)
    } else {
        let body = stored.with_model(&p.requested_model);
        settle::duration_headers(&mut resp, p.started, None);
        resp.content_type("application/json").body(body)
    };
    Some(out)
}

/// An answer from the cache: LiteLLM's headers, the key, and the hit marker.
fn hit(p: &Prepared, plan: &CachePlan) -> actix_web::HttpResponseBuilder {
    let mut resp = HttpResponse::Ok();
    settle::answer_headers(
        &mut resp,
        &AnswerHeaders {
            call_id: &p.call_id,
            model_group: p.gen.config.group_name(p.group),
            deployment: None,
            retries: 0,
            fallbacks: 0,
        },
    );
    resp.insert_header(("x-litellm-cache-key", plan.key.as_str()))
        .insert_header(("x-switchyard-cache", "hit"));
    resp
}

/// Embeddings whose every item was in the cache.
pub fn respond_items(
    worker: &Worker,
    p: &Prepared,
    plan: &CachePlan,
    embeddings: Vec<serde_json::Value>,
) -> HttpResponse {
    let mut log = Settlement::of(p, &worker.metrics, false);
    log.cache_looked_up = true;
    log.deployment = "cache".into();
    log.end(Outcome::CacheHit, 200);
    hit(p, plan)
        .content_type("application/json")
        .body(crate::cache::embeddings::from_cache(
            embeddings,
            &p.requested_model,
        ))
}
