//! OpenAI-compatible errors (OpenAI, Azure, vLLM, SGLang, llama.cpp, TGI and the hosted
//! OpenAI-compatible APIs): the status first, then the words in the message, code or type.

use serde_json::Value;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::providers::classify::{error_message, labelled, refine_by_phrases, retry_after, scrub};
use crate::providers::contract::UpstreamFailure;
use crate::providers::upstream::Upstream;

pub fn classify(d: &Upstream, f: &UpstreamFailure<'_>) -> AttemptError {
    let message = scrub(&error_message(f.body), d);
    // Servers put the telling word in the message, the code or the type, depending on who wrote them.
    let code = serde_json::from_slice::<Value>(f.body)
        .ok()
        .and_then(|v| v.get("error").cloned())
        .map(|e| {
            format!(
                "{} {}",
                e.get("code").unwrap_or(&Value::Null),
                e.get("type").unwrap_or(&Value::Null),
            )
        })
        .unwrap_or_default();
    let lower = format!("{message} {code}").to_ascii_lowercase();
    let class = refine_by_phrases(ErrorClass::from_status(f.status), f.status, &lower);
    labelled(d.kind, class, &message, retry_after(d, f))
}

/// An `{"error": ...}` object sent as a stream event: its `code` is the status when numeric.
pub fn stream_error(error: &Value) -> AttemptError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map_or_else(|| error.to_string(), str::to_string);
    let status = error
        .get("code")
        .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500);
    let status = status.clamp(400, 599);
    let lower =
        format!("{message} {}", error.get("type").unwrap_or(&Value::Null)).to_ascii_lowercase();
    let class = refine_by_phrases(ErrorClass::from_status(status), status, &lower);
    AttemptError::new(
        class,
        class.client_status(),
        format!("{}: upstream stream error - {message}", class.name()),
    )
}
