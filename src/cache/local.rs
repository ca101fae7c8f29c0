//! The in-process cache: a size-bounded LRU with per-entry TTL, shared by every worker thread.
//! Large caches are split into shards, each with its own lock, so workers rarely meet on one.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

struct Entry {
    value: Bytes,
    expires: Instant,
    tick: u64,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<String, Entry>,
    /// Last use → key; the first one is the least recently used.
    order: BTreeMap<u64, String>,
    tick: u64,
}

impl Shard {
    fn touch(&mut self, key: &str) {
        self.tick += 1;
        let tick = self.tick;
        if let Some(e) = self.entries.get_mut(key) {
            self.order.remove(&e.tick);
            e.tick = tick;
            self.order.insert(tick, key.to_string());
        }
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let e = self.entries.remove(key)?;
        self.order.remove(&e.tick);
        Some(e)
    }
}

pub struct LocalCache {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    max_item_bytes: usize,
    hasher: RandomState,
}

impl LocalCache {
    pub fn new(max_items: usize, max_item_bytes: usize) -> Self {
        let shards = (max_items / 256).clamp(1, 16);
        Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            per_shard: max_items.div_ceil(shards).max(1),
            max_item_bytes,
            hasher: RandomState::new(),
        }
    }

    /// The key's shard (`None` only if there were no shards, which `new` never builds).
    fn shard(&self, key: &str) -> Option<&Mutex<Shard>> {
        let n = u64::try_from(self.shards.len()).ok()?.max(1);
        let i = usize::try_from(self.hasher.hash_one(key) % n).ok()?;
        self.shards.get(i)
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let mut s = self.shard(key)?.lock().unwrap_or_else(|p| p.into_inner());
        let expired = s.entries.get(key)?.expires <= Instant::now();
        if expired {
            s.remove(key);
            return None;
        }
        s.touch(key);
        s.entries.get(key).map(|e| e.value.clone())
    }

    /// Stores `value` for `ttl`; returns false when the item is over the per-item bound.
    pub fn put(&self, key: &str, value: Bytes, ttl: Duration) -> bool {
        if value.len() > self.max_item_bytes {
            return false;
        }
        let Some(shard) = self.shard(key) else {
            return false;
        };
        let mut s = shard.lock().unwrap_or_else(|p| p.into_inner());
        s.remove(key);
        while s.entries.len() >= self.per_shard {
            let Some((_, oldest)) = s.order.pop_first() else {
                break;
            };
            s.entries.remove(&oldest);
        }
        s.tick += 1;
        let tick = s.tick;
        s.entries.insert(
            key.to_string(),
            Entry {
                value,
                // A TTL past what an Instant can hold never expires (the LRU still evicts it).
                expires: Instant::now()
                    .checked_add(ttl)
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365)),
                tick,
            },
        );
        s.order.insert(tick, key.to_string());
        true
    }

    pub fn remove(&self, key: &str) {
        if let Some(shard) = self.shard(key) {
            shard.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        }
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).entries.len())
            .sum()
    }

    /// Entries and the bytes of their values (read at a scrape: one shard locked at a time).
    pub fn size(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(n, b), s| {
            let s = s.lock().unwrap_or_else(|p| p.into_inner());
            let bytes: usize = s.entries.values().map(|e| e.value.len()).sum();
            (n + s.entries.len(), b.saturating_add(bytes))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_goes_first_and_ttl_expires() {
        let c = LocalCache::new(2, 100);
        let ttl = Duration::from_secs(60);
        assert!(c.put("a", Bytes::from_static(b"1"), ttl));
        assert!(c.put("b", Bytes::from_static(b"2"), ttl));
        assert!(c.get("a").is_some());
        assert!(c.put("c", Bytes::from_static(b"3"), ttl));
        assert!(c.get("b").is_none(), "b was the least recently used");
        assert_eq!(c.len(), 2);
        assert!(!c.put("big", Bytes::from(vec![0; 101]), ttl));
        c.put("short", Bytes::from_static(b"x"), Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.get("short").is_none());
    }
}
