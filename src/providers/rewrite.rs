//! Rewriting an upstream JSON answer without parsing all of it: only the top-level keys are
//! read, `model` is replaced and `usage` parsed; every other value is copied through as raw
//! bytes. A chat answer's choices can be large; re-parsing them would cost more than the hop.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::dispatch::usage::Usage;

struct TopLevel<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::with_capacity(8);
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(TopLevel(out))
            }
        }
        d.deserialize_map(Fields)
    }
}

#[derive(Deserialize, Default)]
struct RawUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    total_tokens: Option<u64>,
}

/// The answer with `model` set to `model` (when given), and its usage. `None` when the body is
/// not a JSON object.
pub fn rewrite(body: &[u8], model: Option<&str>) -> Option<(Vec<u8>, Usage)> {
    let top: TopLevel = serde_json::from_slice(body).ok()?;
    let mut out = Vec::with_capacity(body.len() + 16);
    let mut usage = Usage::default();
    out.push(b'{');
    for (i, (key, value)) in top.0.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, key).ok()?;
        out.push(b':');
        match (*key, model) {
            ("model", Some(name)) => serde_json::to_writer(&mut out, name).ok()?,
            _ => out.extend_from_slice(value.get().as_bytes()),
        }
        if *key == "usage" {
            if let Ok(u) = serde_json::from_str::<RawUsage>(value.get()) {
                usage = Usage {
                    prompt_tokens: u.prompt_tokens,
                    completion_tokens: u.completion_tokens,
                    total_tokens: u
                        .total_tokens
                        .unwrap_or(u.prompt_tokens + u.completion_tokens),
                };
            }
        }
    }
    out.push(b'}');
    Some((out, usage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_model_and_reads_usage() {
        let body = br#"{"id":"x","model":"Qwen/Qwen3-0.6B","choices":[{"message":{"content":"hi \"there\""}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#;
        let (out, usage) = rewrite(body, Some("qwen")).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["model"], "qwen");
        assert_eq!(v["choices"][0]["message"]["content"], "hi \"there\"");
        assert_eq!(
            usage,
            Usage {
                prompt_tokens: 3,
                completion_tokens: 2,
                total_tokens: 5
            }
        );
    }

    #[test]
    fn leaves_model_alone_without_a_name_and_rejects_non_objects() {
        let (out, _) = rewrite(br#"{"model":"up"}"#, None).unwrap();
        assert_eq!(out, br#"{"model":"up"}"#);
        assert!(rewrite(b"[1,2]", Some("m")).is_none());
        assert!(rewrite(b"not json", Some("m")).is_none());
    }
}
