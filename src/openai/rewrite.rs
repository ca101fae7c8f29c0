//! Rewriting an upstream JSON answer without parsing all of it: only the top-level keys are
//! read, `model` is replaced and `usage` parsed; every other value is copied through as raw
//! bytes. A chat answer's choices can be large; re-parsing them would cost more than the hop.

use std::ops::Range;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::openai::Usage;

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

/// A JSON object's `usage`, every other member skipped.
#[derive(Deserialize)]
struct UsageOnly {
    #[serde(default)]
    usage: Option<RawUsage>,
}

fn parse_usage(raw: &RawValue) -> Option<Usage> {
    let u = serde_json::from_str::<RawUsage>(raw.get()).ok()?;
    Some(Usage::counted(
        u.prompt_tokens,
        u.completion_tokens,
        u.total_tokens,
    ))
}

/// Where the top-level `model` value sits in `body` (byte range, quotes included), and the
/// usage: what a cache hit needs to answer later without parsing the answer again.
pub fn model_span(body: &[u8]) -> Option<(Option<Range<usize>>, Usage)> {
    let top: TopLevel = serde_json::from_slice(body).ok()?;
    let mut span = None;
    let mut usage = Usage::default();
    for (key, value) in &top.0 {
        match *key {
            "model" => span = Some(span_in(body, value)?),
            "usage" => usage = parse_usage(value).unwrap_or_default(),
            _ => {}
        }
    }
    Some((span, usage))
}

/// Where `value`, a raw value read from `body`, sits in it (byte range, quotes included).
pub fn span_in(body: &[u8], value: &RawValue) -> Option<Range<usize>> {
    let start = value
        .get()
        .as_ptr()
        .addr()
        .checked_sub(body.as_ptr().addr())?;
    let span = start..start.checked_add(value.get().len())?;
    (body.get(span.clone()) == Some(value.get().as_bytes())).then_some(span)
}

/// `body` with the bytes at `span` replaced by `replacement` (`None` when `span` is outside it).
pub fn replace_span(body: &[u8], span: Range<usize>, replacement: &[u8]) -> Option<Vec<u8>> {
    let (before, after) = (body.get(..span.start)?, body.get(span.end..)?);
    let mut out = Vec::with_capacity(body.len() + replacement.len());
    out.extend_from_slice(before);
    out.extend_from_slice(replacement);
    out.extend_from_slice(after);
    Some(out)
}

/// The answer with `model` set to `model` (when given), and its usage. `None` when the body is
/// not a JSON object.
pub fn rewrite(body: &[u8], model: Option<&str>) -> Option<(Vec<u8>, Usage)> {
    if model.is_none() {
        // Nothing to replace: the body as it came, its usage read without copying it.
        let answer: UsageOnly = serde_json::from_slice(body).ok()?;
        let u = answer.usage.unwrap_or_default();
        let usage = Usage::counted(u.prompt_tokens, u.completion_tokens, u.total_tokens);
        return Some((body.to_vec(), usage));
    }
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
            usage = parse_usage(value).unwrap_or_default();
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
    fn finds_the_model_value_in_place() {
        let body =
            br#"{"id":"x", "model" : "up\"s","usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
        let (span, usage) = model_span(body).unwrap();
        let span = span.unwrap();
        assert_eq!(&body[span], br#""up\"s""#);
        assert_eq!(usage.total_tokens, 3);
        assert_eq!(model_span(br#"{"id":"x"}"#).unwrap().0, None);
    }

    #[test]
    fn leaves_model_alone_without_a_name_and_rejects_non_objects() {
        let (out, _) = rewrite(br#"{"model":"up"}"#, None).unwrap();
        assert_eq!(out, br#"{"model":"up"}"#);
        assert!(rewrite(b"[1,2]", Some("m")).is_none());
        assert!(rewrite(b"not json", Some("m")).is_none());
    }
}
