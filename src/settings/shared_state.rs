//! Where instances share router state (cooldowns, rpm/tpm usage): `router_settings.redis_host`
//! / `redis_port` / `redis_password` or `redis_url`, else, as LiteLLM does, the response
//! cache's Redis. Without either, each instance keeps its own state.

use std::time::Duration;

use serde_json::{Map, Value};

use super::cache::{CacheBackend, CacheSettings, RedisTarget};
use super::value::{Field, Result};

#[derive(Clone, Debug, PartialEq)]
pub struct SharedStateSettings {
    pub target: RedisTarget,
    /// Which setting named the Redis, for start-up logs and `check-config`.
    pub source: &'static str,
    pub op_timeout: Duration,
    pub connect_timeout: Duration,
}

pub fn shared_state(
    router: &Map<String, Value>,
    cache: Option<&CacheSettings>,
) -> Result<Option<SharedStateSettings>> {
    let r = |key: &str| Field::of(router, "router_settings", key);
    let (op_timeout, connect_timeout) = cache
        .map_or((Duration::from_millis(250), Duration::from_secs(1)), |c| {
            (c.op_timeout, c.connect_timeout)
        });
    let named = if let Some(url) = r("redis_url").string()?.filter(|u| !u.is_empty()) {
        Some(RedisTarget::from_url(&url, "router_settings.redis_url")?)
    } else if let Some(host) = r("redis_host").string()?.filter(|h| !h.is_empty()) {
        let port = r("redis_port").port()?.unwrap_or(6379);
        let password = r("redis_password").string()?.filter(|p| !p.is_empty());
        Some(RedisTarget::from_parts(
            &host,
            port,
            None,
            password.as_deref(),
            false,
            None,
        ))
    } else {
        None
    };
    if let Some(target) = named {
        return Ok(Some(SharedStateSettings {
            target,
            source: "router_settings",
            op_timeout,
            connect_timeout,
        }));
    }
    Ok(cache.and_then(|c| match &c.backend {
        CacheBackend::Redis(target) => Some(SharedStateSettings {
            target: target.clone(),
            source: "cache_params",
            op_timeout,
            connect_timeout,
        }),
        CacheBackend::Local { .. } => None,
    }))
}
