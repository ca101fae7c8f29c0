//! Bridged responses kept for `previous_response_id`, `GET` and `DELETE`: in Redis (the router's
//! shared state, else the cache's) so a follow-up reaches any instance, in this process when
//! there is no Redis or it cannot answer. Entries expire after `TTL`; the in-process store is
//! bounded in entries and bytes, oldest out first.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::redis_link::RedisLink;
use crate::shared_state::KEY_PREFIX;

/// How long a response can be continued or read back.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// The in-process store's bounds.
const MAX_LOCAL_ENTRIES: usize = 10_000;
const MAX_LOCAL_BYTES: usize = 256 * 1024 * 1024;

fn key(id: &str) -> String {
    format!("{KEY_PREFIX}response:{id}")
}

/// The process-wide fallback store, shared by every worker.
#[derive(Default)]
pub struct LocalResponses {
    inner: Mutex<LocalMap>,
}

#[derive(Default)]
struct LocalMap {
    entries: HashMap<String, (Instant, Arc<[u8]>)>,
    order: VecDeque<String>,
    bytes: usize,
}

impl LocalMap {
    fn remove(&mut self, id: &str) -> bool {
        match self.entries.remove(id) {
            Some((_, v)) => {
                self.bytes = self.bytes.saturating_sub(v.len());
                true
            }
            None => false,
        }
    }

    fn put(&mut self, id: String, value: Arc<[u8]>, now: Instant) {
        self.remove(&id);
        self.bytes = self.bytes.saturating_add(value.len());
        self.entries.insert(id.clone(), (now + TTL, value));
        self.order.push_back(id);
        while self.entries.len() > MAX_LOCAL_ENTRIES || self.bytes > MAX_LOCAL_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.remove(&oldest);
        }
        // Ids removed or replaced earlier leave stale names in `order`; keep it bounded.
        if self.order.len() > MAX_LOCAL_ENTRIES.saturating_mul(2) {
            let live = &self.entries;
            self.order.retain(|id| live.contains_key(id));
        }
    }

    fn get(&mut self, id: &str, now: Instant) -> Option<Arc<[u8]>> {
        match self.entries.get(id) {
            Some((expires, v)) if *expires > now => Some(v.clone()),
            Some(_) => {
                self.remove(id);
                None
            }
            None => None,
        }
    }
}

impl LocalResponses {
    fn with<T>(&self, f: impl FnOnce(&mut LocalMap) -> T) -> T {
        // A poisoned lock only means another worker panicked mid-update; the map is still a map.
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }
}

/// One worker's handle on the store.
#[derive(Clone)]
pub struct ResponseStore {
    redis: Option<Rc<RedisLink>>,
    local: Arc<LocalResponses>,
}

impl ResponseStore {
    pub fn new(redis: Option<Rc<RedisLink>>, local: Arc<LocalResponses>) -> Self {
        Self { redis, local }
    }

    pub async fn put(&self, id: &str, record: Vec<u8>) {
        if let Some(link) = &self.redis {
            if link.set(&key(id), &record, TTL).await.is_ok() {
                return;
            }
        }
        let value: Arc<[u8]> = Arc::from(record);
        self.local
            .with(|m| m.put(id.to_string(), value, Instant::now()));
    }

    pub async fn get(&self, id: &str) -> Option<Vec<u8>> {
        if let Some(link) = &self.redis {
            if let Ok(Some(v)) = link.get(&key(id)).await {
                return Some(v);
            }
        }
        self.local
            .with(|m| m.get(id, Instant::now()))
            .map(|v| v.to_vec())
    }

    /// Whether there was such a response.
    pub async fn delete(&self, id: &str) -> bool {
        let mut found = false;
        if let Some(link) = &self.redis {
            if let Ok(Some(_)) = link.get(&key(id)).await {
                found = link.del(&key(id)).await.is_ok();
            }
        }
        self.local.with(|m| m.remove(id)) || found
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_local_store_expires_and_stays_within_its_bounds() {
        let mut m = LocalMap::default();
        let now = Instant::now();
        m.put("a".into(), Arc::from(&b"one"[..]), now);
        assert_eq!(&*m.get("a", now).unwrap(), b"one");
        assert!(m.get("a", now + TTL + Duration::from_secs(1)).is_none());
        for i in 0..(MAX_LOCAL_ENTRIES + 5) {
            m.put(format!("r{i}"), Arc::from(&b"x"[..]), now);
        }
        assert_eq!(m.entries.len(), MAX_LOCAL_ENTRIES);
        assert!(m.get("r0", now).is_none());
        assert!(m.get(&format!("r{}", MAX_LOCAL_ENTRIES + 4), now).is_some());
        assert!(m.remove("r9999"));
        assert!(!m.remove("r9999"));
    }
}
