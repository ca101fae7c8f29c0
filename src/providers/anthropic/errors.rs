//! Anthropic's errors, one table for both an HTTP error body and a stream `error` event:
//! `{"type": "error", "error": {"type": "rate_limit_error", "message": "..."}}`.

use serde_json::Value;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::providers::classify::{labelled, refine_by_phrases, retry_after, scrub};
use crate::providers::contract::UpstreamFailure;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

/// The class of an Anthropic error type; `None` for a type this table does not know.
fn class_of(kind: &str) -> Option<ErrorClass> {
    Some(match kind {
        "rate_limit_error" => ErrorClass::RateLimit,
        "overloaded_error" | "api_error" => ErrorClass::InternalServer,
        "authentication_error" => ErrorClass::Authentication,
        "permission_error" => ErrorClass::PermissionDenied,
        "not_found_error" => ErrorClass::NotFound,
        "request_too_large" => ErrorClass::ContextWindowExceeded,
        "invalid_request_error" => ErrorClass::BadRequest,
        _ => return None,
    })
}

/// The class and message of an error object, given the HTTP status when there is one.
fn read(error: &Value, status: Option<u16>) -> (ErrorClass, String) {
    let kind = error.get("type").and_then(Value::as_str);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .or(kind)
        .unwrap_or("(no message)")
        .to_string();
    let by_status = status.map(ErrorClass::from_status);
    let class = match (by_status, kind.and_then(class_of)) {
        // The status decides between rate limits, timeouts and server errors the type shares.
        (Some(s), Some(ErrorClass::InternalServer)) => s,
        (_, Some(c)) => c,
        (Some(s), None) => s,
        (None, None) => ErrorClass::BadRequest,
    };
    let lower = message.to_ascii_lowercase();
    (
        refine_by_phrases(class, status.unwrap_or(400), &lower),
        message,
    )
}

pub fn classify(d: &Upstream, f: &UpstreamFailure<'_>) -> AttemptError {
    let parsed = serde_json::from_slice::<Value>(f.body).ok();
    let error = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object());
    let (class, message) = match error {
        Some(e) => read(e, Some(f.status)),
        None => {
            let text = crate::providers::classify::error_message(f.body);
            let class = refine_by_phrases(
                ErrorClass::from_status(f.status),
                f.status,
                &text.to_ascii_lowercase(),
            );
            (class, text)
        }
    };
    labelled(d.kind, class, &scrub(&message, d), retry_after(d, f))
}

/// A stream `error` event (sent after a 200, so there is no status).
pub fn stream_error(error: &Value) -> AttemptError {
    let (class, message) = read(error, None);
    labelled(
        ProviderKind::Anthropic,
        class,
        &crate::secret::redact(&message),
        None,
    )
}
