//! The cache key: SHA-256 over the model group and every request field that can change the
//! answer, in a canonical form (object keys sorted, numbers normalised), so the same request
//! gives the same key on every instance whatever its JSON key order.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::openai::Endpoint;

/// Fields that never change the answer: who asks, how it is delivered, and the cache control
/// itself. A streamed and a non-streamed request therefore share one entry.
const NEUTRAL_FIELDS: &[&str] = &[
    "model",
    "user",
    "metadata",
    "stream",
    "stream_options",
    "cache",
    "store",
    "safety_identifier",
    "prompt_cache_key",
];

/// Bumped when the hashed material changes, so old entries are never misread.
const KEY_VERSION: &[u8] = b"switchyard-cache-v1";

pub fn request_hash(endpoint: Endpoint, group: &str, body: &Map<String, Value>) -> String {
    hash_with(endpoint, group, body, None)
}

/// The hash of `body` as if its `input` were `item` alone: one embeddings item's key, without
/// copying the rest of the request for each item (that copy made planning O(N^2) in the
/// number of inputs).
pub fn item_hash(
    endpoint: Endpoint,
    group: &str,
    body: &Map<String, Value>,
    item: &Value,
) -> String {
    hash_with(endpoint, group, body, Some(item))
}

fn hash_with(
    endpoint: Endpoint,
    group: &str,
    body: &Map<String, Value>,
    input: Option<&Value>,
) -> String {
    let mut h = Sha256::new();
    h.update(KEY_VERSION);
    h.update([0]);
    h.update(match endpoint {
        Endpoint::Chat => b"chat".as_slice(),
        Endpoint::Embeddings => b"embeddings".as_slice(),
        Endpoint::Completions => b"completions".as_slice(),
    });
    h.update([0]);
    feed_str(&mut h, group);
    let mut fields: Vec<(&str, &Value)> = body
        .iter()
        .filter(|(k, _)| !NEUTRAL_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| match (k.as_str(), input) {
            ("input", Some(item)) => (k.as_str(), item),
            _ => (k.as_str(), v),
        })
        .collect();
    fields.sort_unstable_by_key(|(k, _)| *k);
    h.update(b"{");
    for (k, v) in fields {
        feed_str(&mut h, k);
        h.update(b":");
        feed(&mut h, v);
        h.update(b",");
    }
    h.update(b"}");
    hex(&h.finalize())
}

/// The final key: `{namespace}:{hash}` as LiteLLM writes it; the request's namespace wins over
/// the configured one, which still prefixes the key (LiteLLM's Redis client does the same).
pub fn full_key(configured: Option<&str>, requested: Option<&str>, hash: &str) -> String {
    match (configured, requested) {
        (None, None) => hash.to_string(),
        (Some(ns), None) | (None, Some(ns)) => format!("{ns}:{hash}"),
        (Some(base), Some(ns)) if ns.starts_with(base) => format!("{ns}:{hash}"),
        (Some(base), Some(ns)) => format!("{base}:{ns}:{hash}"),
    }
}

fn feed_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

fn feed(h: &mut Sha256, v: &Value) {
    match v {
        Value::Null => h.update(b"n"),
        Value::Bool(true) => h.update(b"t"),
        Value::Bool(false) => h.update(b"f"),
        Value::Number(n) => {
            // 1, 1.0 and 1e0 are the same temperature.
            h.update(b"#");
            match n.as_f64() {
                Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => {
                    // Whole and below 1e15: exact in an i64.
                    #[allow(clippy::cast_possible_truncation)]
                    let whole = x as i64;
                    h.update(whole.to_string().as_bytes())
                }
                Some(x) => h.update(x.to_string().as_bytes()),
                None => h.update(n.to_string().as_bytes()),
            }
        }
        Value::String(s) => {
            h.update(b"s");
            feed_str(h, s);
        }
        Value::Array(items) => {
            h.update(b"[");
            h.update((items.len() as u64).to_le_bytes());
            for item in items {
                feed(h, item);
            }
            h.update(b"]");
        }
        Value::Object(map) => {
            let mut fields: Vec<(&String, &Value)> = map.iter().collect();
            fields.sort_unstable_by_key(|(k, _)| *k);
            h.update(b"{");
            h.update((fields.len() as u64).to_le_bytes());
            for (k, v) in fields {
                feed_str(h, k);
                feed(h, v);
            }
            h.update(b"}");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 15] {
            out.push(char::from(
                *DIGITS.get(usize::from(nibble)).unwrap_or(&b'0'),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(v: Value) -> String {
        request_hash(Endpoint::Chat, "gpt-4o", v.as_object().unwrap())
    }

    #[test]
    fn order_numbers_and_neutral_fields_do_not_matter() {
        let base = key(
            json!({"model": "gpt-4o", "temperature": 1, "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(
            base,
            key(
                json!({"messages": [{"content": "hi", "role": "user"}], "temperature": 1.0, "model": "alias",
                       "stream": true, "stream_options": {"include_usage": true}, "user": "u1"})
            )
        );
        assert_ne!(
            base,
            key(json!({"temperature": 0.5, "messages": [{"role": "user", "content": "hi"}]}))
        );
        assert_ne!(
            base,
            key(
                json!({"temperature": 1, "seed": 3, "messages": [{"role": "user", "content": "hi"}]})
            )
        );
        assert_ne!(
            base,
            request_hash(
                Endpoint::Chat,
                "other-group",
                json!({"temperature": 1, "messages": [{"role": "user", "content": "hi"}]})
                    .as_object()
                    .unwrap()
            )
        );
    }

    #[test]
    fn strings_cannot_be_confused_by_their_boundaries() {
        assert_ne!(
            key(json!({"stop": ["ab", "c"]})),
            key(json!({"stop": ["a", "bc"]}))
        );
        assert_ne!(key(json!({"stop": "1"})), key(json!({"stop": 1})));
    }

    #[test]
    fn an_item_hash_is_the_hash_of_the_one_item_request() {
        let body = json!({"model": "e", "input": ["a", "b"], "dimensions": 8});
        let one = json!({"model": "e", "input": "b", "dimensions": 8});
        assert_eq!(
            item_hash(
                Endpoint::Embeddings,
                "e",
                body.as_object().unwrap(),
                &json!("b")
            ),
            request_hash(Endpoint::Embeddings, "e", one.as_object().unwrap())
        );
    }

    #[test]
    fn namespaces_prefix_like_litellm() {
        assert_eq!(full_key(None, None, "h"), "h");
        assert_eq!(full_key(Some("swy"), None, "h"), "swy:h");
        assert_eq!(full_key(Some("swy"), Some("team-b"), "h"), "swy:team-b:h");
        assert_eq!(full_key(None, Some("team-b"), "h"), "team-b:h");
    }
}
