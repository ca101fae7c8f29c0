//! Gemini's errors: `{"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED"}}`,
//! as an HTTP error body or as a stream event. The `status` word decides what the HTTP status
//! alone would get wrong (a bad key is a 400 INVALID_ARGUMENT).

use serde_json::Value;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::providers::classify::{error_message, labelled, refine_by_phrases, retry_after, scrub};
use crate::providers::contract::UpstreamFailure;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

fn class_of(status: u16, message: &str, error: Option<&Value>) -> ErrorClass {
    let word = error
        .and_then(|e| e.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let lower = format!("{message} {word}").to_ascii_lowercase();
    let class = if lower.contains("api key not valid") || lower.contains("api_key_invalid") {
        ErrorClass::Authentication
    } else if lower.contains("resource_exhausted") || lower.contains("quota exceeded") {
        ErrorClass::RateLimit
    } else if lower.contains("unavailable") && status == 503 {
        ErrorClass::ServiceUnavailable
    } else {
        ErrorClass::from_status(status)
    };
    refine_by_phrases(class, status, &lower)
}

pub fn classify(d: &Upstream, f: &UpstreamFailure<'_>) -> AttemptError {
    let message = scrub(&error_message(f.body), d);
    let parsed = serde_json::from_slice::<Value>(f.body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let class = class_of(f.status, &message, error);
    labelled(d.kind, class, &message, retry_after(d, f))
}

/// An `error` object sent inside a 200 stream; its `code` is an HTTP status.
pub fn stream_error(error: &Value) -> AttemptError {
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(500)
        .clamp(400, 599);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("stream error");
    let class = class_of(status, message, Some(error));
    labelled(
        ProviderKind::Gemini,
        class,
        &crate::secret::redact(message),
        None,
    )
}
