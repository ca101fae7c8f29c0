//! The cache's part before the upstream call: plan the request's keys, answer it from the
//! cache when every part is there, or narrow an embeddings batch to the items it lacks; and,
//! after the call, put such a batch back together.

use actix_web::HttpResponse;
use serde_json::Value;

use super::{cached, Prepared};
use crate::cache::{embeddings, CachePlan, WorkerCache};
use crate::error::GatewayError;
use crate::openai::Endpoint;
use crate::state::{AppState, Worker};

/// What the cache decided for a request that goes upstream.
pub struct CacheStep {
    pub plan: Option<CachePlan>,
    /// Embeddings: per input item, the cached embedding when there was one.
    pub item_hits: Option<Vec<Option<Value>>>,
}

/// Looks the request up; `Err` carries the answer when the cache alone could give it.
pub async fn before(
    state: &AppState,
    worker: &Worker,
    p: &mut Prepared,
) -> Result<CacheStep, HttpResponse> {
    let plan = match (&worker.cache, state.cache.as_ref()) {
        (Some(_), Some(shared)) => shared.plan(
            p.gen.config.group_name(p.group),
            p.endpoint,
            &p.body,
            &p.cache_control,
        ),
        _ => None,
    };
    // Embeddings are cached item by item: a partial hit sends only the new items upstream.
    let mut item_hits: Option<Vec<Option<Value>>> = None;
    if let (Some(plan), Some(cache), Some(items)) = (
        &plan,
        &worker.cache,
        plan.as_ref().and_then(|pl| pl.items.as_ref()),
    ) {
        let hits: Vec<Option<Value>> = if plan.lookup {
            let keys: Vec<&str> = items.iter().map(|(_, k)| k.as_str()).collect();
            cache
                .lookup_many(&keys, plan.max_age)
                .await
                .iter()
                .map(|b| b.as_deref().and_then(embeddings::stored_embedding))
                .collect()
        } else {
            vec![None; items.len()]
        };
        if hits.iter().all(Option::is_some) {
            let all: Vec<Value> = hits.into_iter().flatten().collect();
            return Err(cached::respond_items(worker, p, plan, all));
        }
        if hits.iter().any(Option::is_some) {
            let values: Vec<Value> = items.iter().map(|(v, _)| v.clone()).collect();
            embeddings::narrow(&mut p.body, &values, &hits);
        }
        item_hits = Some(hits);
    } else if let (Some(plan), Some(cache)) = (&plan, &worker.cache) {
        if plan.lookup {
            if let Some(bytes) = cache.lookup(plan).await {
                match cached::respond(worker, p, plan, &bytes) {
                    Some(resp) => return Err(resp),
                    None => cache.discard(&plan.key, "the stored answer cannot be replayed"),
                }
            }
            worker.metrics.cache_miss(&p.requested_model);
        }
        // Only chat streams are assembled for the cache.
        p.collect_stream = plan.store && p.stream && p.endpoint == Endpoint::Chat;
        if p.collect_stream && !p.include_usage {
            // The stored answer needs its usage; the relay hides the usage chunk from a client
            // that did not ask for it.
            p.body.insert(
                "stream_options".into(),
                serde_json::json!({"include_usage": true}),
            );
        }
    }
    Ok(CacheStep { plan, item_hits })
}

/// Embeddings answered for the items the cache did not have: merged with the cached ones, and
/// each new item stored under its own key. `Ok(None)`: the answer stands as it is.
pub fn merge_items(
    p: &Prepared,
    body: &[u8],
    hits: &[Option<Value>],
    store: Option<(&CachePlan, &WorkerCache)>,
) -> Result<Option<bytes::Bytes>, GatewayError> {
    let Some(embeddings::Merged {
        body: merged,
        new_items,
    }) = embeddings::merge(body, hits)
    else {
        if hits.iter().any(Option::is_some) {
            return Err(GatewayError::Upstream {
                status: 500,
                error_type: "internal_server_error".into(),
                message: "the upstream answered a different number of embeddings than it was sent"
                    .into(),
                retry_after: None,
            });
        }
        return Ok(None);
    };
    if let Some((pl, cache)) = store {
        let keys = pl.items.as_deref().unwrap_or_default();
        for (i, embedding) in new_items {
            if let Some((_, key)) = keys.get(i) {
                cache.store(
                    key.clone(),
                    &embeddings::item_entry(&embedding, &p.requested_model),
                    pl.ttl,
                );
            }
        }
    }
    Ok(Some(bytes::Bytes::from(merged)))
}
