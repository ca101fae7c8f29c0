//! The response cache: Redis (shared by every instance) or an in-process LRU. The cache actor
//! (`BackendWatch`) owns the backend's health; each worker reads and writes through its own
//! connection, so cached bytes never queue behind one mailbox.

pub mod control;
pub mod embeddings;
pub mod entry;
pub mod key;
pub mod local;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, Arbiter};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use switchyard_actors::backend_watch::{BackendHealth, BackendWatch, CacheStats};
use switchyard_actors::seconds::Seconds;

use crate::openai::Endpoint;
use crate::redis_link::{RedisEndpoint, RedisLink, RedisProbe};
use crate::settings::cache::{CacheBackend, CacheSettings};
use local::LocalCache;

fn streamed(body: &Map<String, Value>) -> bool {
    body.get("stream").and_then(Value::as_bool) == Some(true)
}

/// What the cache does for one request.
#[derive(Clone, Debug)]
pub struct CachePlan {
    pub key: String,
    /// Embeddings: each input item and its own key (the batch is cached item by item).
    pub items: Option<Vec<(Value, String)>>,
    pub lookup: bool,
    pub store: bool,
    pub ttl: Seconds,
    pub max_age: Option<Seconds>,
}

/// The cache state every worker shares.
pub struct SharedCache {
    pub settings: CacheSettings,
    pub stats: CacheStats,
    pub health: Arc<BackendHealth>,
    local: Option<LocalCache>,
    redis: Option<(RedisEndpoint, Addr<BackendWatch>)>,
}

impl SharedCache {
    /// Builds the cache; for Redis, starts the cache actor on an arbiter of its own.
    pub fn start(settings: CacheSettings) -> Result<Arc<Self>, String> {
        let health = Arc::new(BackendHealth::default());
        let (local, redis) = match &settings.backend {
            CacheBackend::Local {
                max_items,
                max_item_bytes,
            } => (Some(LocalCache::new(*max_items, *max_item_bytes)), None),
            CacheBackend::Redis(target) => {
                let endpoint = RedisEndpoint::new(
                    target.url.expose(),
                    settings.op_timeout,
                    settings.connect_timeout,
                )?;
                let (probe, h, display) =
                    (endpoint.clone(), health.clone(), target.display.clone());
                let watch = BackendWatch::start_in_arbiter(&Arbiter::new().handle(), move |_| {
                    BackendWatch::new(
                        h,
                        Box::new(RedisProbe::new(probe)),
                        display,
                        "response cache",
                    )
                });
                (None, Some((endpoint, watch)))
            }
        };
        Ok(Arc::new(Self {
            settings,
            stats: CacheStats::default(),
            health,
            local,
            redis,
        }))
    }

    /// The plan for a request, or `None` when the cache stays out of it.
    pub fn plan(
        &self,
        group: &str,
        endpoint: Endpoint,
        body: &Map<String, Value>,
        c: &control::CacheControl,
    ) -> Option<CachePlan> {
        let s = &self.settings;
        let call_type_on = match endpoint {
            Endpoint::Chat => s.chat,
            Endpoint::Embeddings => s.embeddings,
            // A streamed text completion is neither assembled nor replayed (chat only).
            Endpoint::Completions => s.text_completion && !streamed(body),
        };
        if !call_type_on || !(s.default_on || c.use_cache) {
            return None;
        }
        if let Some(max) = s.max_messages {
            let n = body
                .get("messages")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if n > max {
                return None;
            }
        }
        let full = |hash: &str| key::full_key(s.namespace.as_deref(), c.namespace.as_deref(), hash);
        let items = match endpoint {
            Endpoint::Embeddings => embeddings::input_items(body).map(|items| {
                items
                    .into_iter()
                    .map(|item| {
                        let hash = key::item_hash(endpoint, group, body, &item);
                        (item, full(&hash))
                    })
                    .collect::<Vec<_>>()
            }),
            Endpoint::Chat | Endpoint::Completions => None,
        };
        let key = match items.as_ref().and_then(|i| i.first()) {
            Some((_, k)) => k.clone(),
            None => full(&key::request_hash(endpoint, group, body)),
        };
        Some(CachePlan {
            key,
            items,
            lookup: !c.no_cache,
            store: !c.no_store,
            ttl: c.ttl.unwrap_or(s.ttl),
            max_age: c.max_age,
        })
    }

    /// The in-process cache's entries and bytes; `None` for Redis (shared by every instance,
    /// and holding the shared router state too: its size says nothing of this cache).
    pub fn local_size(&self) -> Option<(usize, usize)> {
        self.local.as_ref().map(LocalCache::size)
    }

    /// What readiness reports: backend, health and counters; with `detailed` (callers with the
    /// master key) also the last Redis error, which can name hosts and addresses.
    pub fn report(&self, detailed: bool) -> Value {
        let st = self.stats.snapshot();
        let mut v = json!({
            "type": self.settings.kind(),
            "status": if self.health.degraded() { "degraded" } else { "healthy" },
            "hits": st.hits, "misses": st.misses, "stores": st.stores, "errors": st.errors,
            "bytes_read": st.bytes_read, "bytes_written": st.bytes_written,
        });
        if let Some(local) = &self.local {
            crate::json::set(&mut v, "entries", json!(local.len()));
        }
        if self.health.degraded() {
            crate::json::set(&mut v, "outages", json!(self.health.outages()));
            if detailed {
                let last = self.health.last_error();
                let last = last.as_deref().map(crate::secret::redact);
                crate::json::set(&mut v, "last_error", json!(last));
            }
        }
        v
    }
}

/// One worker's handle on the cache.
#[derive(Clone)]
pub struct WorkerCache {
    pub shared: Arc<SharedCache>,
    redis: Option<Rc<RedisLink>>,
}

impl WorkerCache {
    pub fn new(shared: Arc<SharedCache>) -> Self {
        let redis = shared.redis.as_ref().map(|(endpoint, watch)| {
            Rc::new(RedisLink::new(
                endpoint.clone(),
                shared.health.clone(),
                watch.clone(),
            ))
        });
        Self { shared, redis }
    }

    /// The worker's Redis connection when the cache is in Redis.
    pub fn link(&self) -> Option<Rc<RedisLink>> {
        self.redis.clone()
    }

    /// The stored entry's bytes when there is a fresh one for this plan.
    pub async fn lookup(&self, plan: &CachePlan) -> Option<Bytes> {
        let stats = &self.shared.stats;
        let found = match (&self.shared.local, &self.redis) {
            (Some(local), _) => local.get(&plan.key),
            (None, Some(link)) => match link.get(&plan.key).await {
                Ok(v) => v.map(Bytes::from),
                Err(()) => {
                    CacheStats::add(&stats.errors, 1);
                    return None;
                }
            },
            (None, None) => None,
        };
        self.usable(&plan.key, found, plan.max_age)
    }

    /// The fresh stored entries for these keys, in order (one round trip with Redis).
    pub async fn lookup_many(&self, keys: &[&str], max_age: Option<Seconds>) -> Vec<Option<Bytes>> {
        let stats = &self.shared.stats;
        let found: Vec<Option<Bytes>> = match (&self.shared.local, &self.redis) {
            (Some(local), _) => keys.iter().map(|k| local.get(k)).collect(),
            (None, Some(link)) => match link.mget(keys).await {
                Ok(values) => values.into_iter().map(|v| v.map(Bytes::from)).collect(),
                Err(()) => {
                    CacheStats::add(&stats.errors, 1);
                    return vec![None; keys.len()];
                }
            },
            (None, None) => vec![None; keys.len()],
        };
        found
            .into_iter()
            .zip(keys)
            .map(|(b, key)| self.usable(key, b, max_age))
            .collect()
    }

    /// A found entry when it is well formed and fresh enough, counted as a hit or a miss; a
    /// malformed one is discarded.
    fn usable(&self, key: &str, found: Option<Bytes>, max_age: Option<Seconds>) -> Option<Bytes> {
        let stats = &self.shared.stats;
        let fresh = found.filter(|bytes| match entry::decode(bytes) {
            Some(e) => max_age.is_none_or(|max| entry::unix_now() - e.timestamp <= max.get()),
            None => {
                self.discard(key, "not a well-formed cache entry");
                false
            }
        });
        match &fresh {
            Some(b) => {
                CacheStats::add(&stats.hits, 1);
                CacheStats::add(&stats.bytes_read, b.len() as u64);
            }
            None => CacheStats::add(&stats.misses, 1),
        }
        fresh
    }

    /// Deletes an entry that cannot be used (malformed, foreign, or not replayable), so it is
    /// met, and logged, once rather than on every request until it expires.
    pub fn discard(&self, key: &str, why: &str) {
        tracing::warn!(
            cache_key = key,
            reason = why,
            "cache entry unusable: deleted, answered as a miss"
        );
        if let Some(local) = &self.shared.local {
            local.remove(key);
            return;
        }
        let (this, key) = (self.clone(), key.to_string());
        actix_web::rt::spawn(async move {
            if let Some(link) = &this.redis {
                let _ = link.del(&key).await;
            }
        });
    }

    /// Stores an answer in the background: the client never waits for the cache.
    pub fn store(&self, key: String, response: &[u8], ttl: Seconds) {
        let Some(value) = entry::encode(response, entry::unix_now()) else {
            return;
        };
        let ttl = ttl.duration().max(Duration::from_millis(1));
        let this = self.clone();
        let stats_len = value.len() as u64;
        if let Some(local) = &self.shared.local {
            if local.put(&key, Bytes::from(value), ttl) {
                CacheStats::add(&self.shared.stats.stores, 1);
                CacheStats::add(&self.shared.stats.bytes_written, stats_len);
            }
            return;
        }
        actix_web::rt::spawn(async move {
            let Some(link) = &this.redis else { return };
            let stats = &this.shared.stats;
            match link.set(&key, &value, ttl).await {
                Ok(()) => {
                    CacheStats::add(&stats.stores, 1);
                    CacheStats::add(&stats.bytes_written, stats_len);
                }
                Err(()) => CacheStats::add(&stats.errors, 1),
            }
        });
    }
}
