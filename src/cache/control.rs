//! The per-request `cache` field (LiteLLM's dynamic cache control), sent in the body or through
//! the OpenAI SDK's `extra_body`.

use serde_json::{Map, Value};

use switchyard_actors::seconds::Seconds;

use crate::error::GatewayError;
use crate::settings::limits::MAX_CACHE_TTL;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheControl {
    /// `no-cache`: skip the lookup (the fresh answer is still stored).
    pub no_cache: bool,
    /// `no-store`: do not store this answer.
    pub no_store: bool,
    /// `ttl`: store with this lifetime (seconds) instead of the configured one.
    pub ttl: Option<Seconds>,
    /// `s-maxage`: accept only an entry younger than this (seconds).
    pub max_age: Option<Seconds>,
    pub namespace: Option<String>,
    /// `use-cache`: opt in when the cache runs with `mode: default_off`.
    pub use_cache: bool,
}

fn flag(map: &Map<String, Value>, key: &str) -> Result<bool, GatewayError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(GatewayError::invalid(
            format!("`cache.{key}` must be true or false"),
            "cache",
        )),
    }
}

fn seconds(map: &Map<String, Value>, keys: &[&str]) -> Result<Option<Seconds>, GatewayError> {
    for key in keys {
        match map.get(*key) {
            None | Some(Value::Null) => continue,
            Some(v) => {
                let x = v.as_f64().or_else(|| v.as_str()?.trim().parse().ok());
                return match x.map(|x| Seconds::within(x, MAX_CACHE_TTL)) {
                    Some(Ok(s)) => Ok(Some(s)),
                    _ => Err(GatewayError::invalid(
                        format!(
                            "`cache.{key}` must be a number of seconds from 0 to {MAX_CACHE_TTL}"
                        ),
                        "cache",
                    )),
                };
            }
        }
    }
    Ok(None)
}

impl CacheControl {
    pub fn from_body(body: &Map<String, Value>) -> Result<Self, GatewayError> {
        let map = match body.get("cache") {
            None | Some(Value::Null) => return Ok(Self::default()),
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(GatewayError::invalid(
                    "`cache` must be an object such as {\"no-cache\": true}",
                    "cache",
                ))
            }
        };
        let namespace = match map.get("namespace") {
            None | Some(Value::Null) => None,
            // It becomes part of a Redis key and of the `x-litellm-cache-key` header.
            Some(Value::String(s))
                if !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(s.clone())
            }
            Some(_) => {
                return Err(GatewayError::invalid(
                    "`cache.namespace` must be 1 to 256 printable ASCII characters without spaces",
                    "cache",
                ))
            }
        };
        Ok(Self {
            no_cache: flag(map, "no-cache")?,
            no_store: flag(map, "no-store")?,
            ttl: seconds(map, &["ttl"])?,
            max_age: seconds(map, &["s-maxage", "s-max-age"])?,
            namespace,
            use_cache: flag(map, "use-cache")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_litellm_controls_and_rejects_nonsense() {
        let body =
            json!({"cache": {"no-cache": true, "ttl": 5, "s-max-age": "10", "namespace": "team"}});
        let c = CacheControl::from_body(body.as_object().unwrap()).unwrap();
        assert!(c.no_cache && !c.no_store);
        assert_eq!(
            (c.ttl, c.max_age),
            (Some(Seconds::whole(5)), Some(Seconds::whole(10)))
        );
        assert_eq!(c.namespace.as_deref(), Some("team"));
        for bad in [
            json!({"cache": 3}),
            json!({"cache": {"ttl": -1}}),
            json!({"cache": {"ttl": 1e300}}),
            json!({"cache": {"ttl": 1e19}}),
            json!({"cache": {"s-maxage": "inf"}}),
            json!({"cache": {"namespace": "a\nb"}}),
            json!({"cache": {"no-store": 2}}),
        ] {
            assert!(CacheControl::from_body(bad.as_object().unwrap()).is_err());
        }
    }
}
