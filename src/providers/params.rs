//! What translating providers share: parameter checks for `drop_params`, and reading OpenAI
//! message content (text, images, tool call arguments).

use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use super::ProviderKind;

/// Parameters the OpenAI API defines that a provider cannot honour: without `drop_params` the
/// client gets a 400 naming them, with it they are dropped.
pub fn check_params(
    provider: ProviderKind,
    body: &Map<String, Value>,
    unsupported: &[&str],
    drop_params: bool,
) -> Result<(), AttemptError> {
    if drop_params {
        return Ok(());
    }
    let mut bad: Vec<&str> = body
        .iter()
        .filter(|(k, v)| !v.is_null() && unsupported.contains(&k.as_str()))
        .map(|(k, _)| k.as_str())
        .collect();
    if body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) && unsupported.contains(&"n>1")
    {
        bad.push("n");
    }
    if bad.is_empty() {
        return Ok(());
    }
    Err(AttemptError::new(
        ErrorClass::BadRequest,
        400,
        format!(
            "BadRequestError: {} does not support parameters: {:?}. To drop them instead, set `drop_params: true` (litellm_settings, the deployment, or the request).",
            provider.name(),
            bad
        ),
    ))
}

/// The first of these `litellm_params` keys that holds a non-blank string, trimmed.
pub fn first_param(params: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        params
            .get(*k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    })
}

/// The first of these environment variables that is set and not blank.
pub fn first_env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

/// An embeddings request's texts: a string or a list of strings. Token ids are a 400 for
/// providers that embed only text.
pub fn text_inputs(
    kind: ProviderKind,
    body: &Map<String, Value>,
) -> Result<Vec<&str>, AttemptError> {
    match body.get("input") {
        Some(Value::String(s)) => Ok(vec![s.as_str()]),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            Ok(items.iter().filter_map(Value::as_str).collect())
        }
        _ => Err(AttemptError::new(
            ErrorClass::BadRequest,
            400,
            format!(
                "BadRequestError: {} embeddings take text input (a string or a list of strings), not token ids",
                kind.name()
            ),
        )),
    }
}

/// Appends a turn's blocks, merged into the previous turn when the role repeats (Anthropic,
/// Gemini and Bedrock want alternating roles).
pub fn push_turn(
    turns: &mut Vec<(&'static str, Vec<Value>)>,
    role: &'static str,
    blocks: Vec<Value>,
) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some((last, list)) if *last == role => list.extend(blocks),
        _ => turns.push((role, blocks)),
    }
}

/// `data:image/png;base64,AAAA` → (`image/png`, `AAAA`).
pub fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((mime, data))
}

/// Standard base64 (with padding), for images sent inline.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            *chunk.first().unwrap_or(&0),
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let sextet = (n >> (18 - 6 * i) & 63) as usize;
                out.push(char::from(*ALPHABET.get(sextet).unwrap_or(&b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A MIME type from a URL's file extension, for providers that want one.
pub fn mime_from_url(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("pdf") => "application/pdf",
        _ => "image/jpeg",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helpers_read_openai_shapes() {
        assert_eq!(
            data_url("data:image/png;base64,QUJD"),
            Some(("image/png", "QUJD"))
        );
        assert_eq!(data_url("https://x/y.png"), None);
        assert_eq!(mime_from_url("https://x/y.PNG?s=1"), "image/png");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x01]), "//4AAQ==");
        let body: Map<String, Value> = serde_json::from_value(json!({"seed": 1, "n": 2})).unwrap();
        let err =
            check_params(ProviderKind::Anthropic, &body, &["seed", "n>1"], false).unwrap_err();
        assert!(
            err.message.contains("seed") && err.message.contains("\"n\""),
            "{}",
            err.message
        );
        assert!(check_params(ProviderKind::Anthropic, &body, &["seed"], true).is_ok());
    }
}
