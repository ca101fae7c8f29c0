//! Bedrock's errors, classified by their exception type first (the `x-amzn-ErrorType` header,
//! or `__type` in the body), the words only for a ValidationException: the same table serves
//! an HTTP error and a stream's exception frame.

use serde_json::Value;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::providers::classify::{labelled, refine_by_phrases, retry_after, scrub};
use crate::providers::contract::UpstreamFailure;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

/// Bedrock's wordings for an input over the context window (LiteLLM's list).
const CONTEXT_WORDS: &[&str] = &[
    "input is too long",
    "too many input tokens",
    "prompt is too long",
    "expected maxlength:",
    "prompt: length: 1..",
];

/// The class of an exception type (`ThrottlingException`, `throttlingException`, ...). A known
/// type decides alone: "Too many tokens" in a ThrottlingException is a rate limit, not a
/// context-window error.
pub fn class_of(exception: &str, status: Option<u16>, message: &str) -> ErrorClass {
    let lower = message.to_ascii_lowercase();
    let class = match exception.to_ascii_lowercase().as_str() {
        "validationexception" if CONTEXT_WORDS.iter().any(|w| lower.contains(w)) => {
            ErrorClass::ContextWindowExceeded
        }
        "validationexception" => ErrorClass::BadRequest,
        "accessdeniedexception" => ErrorClass::PermissionDenied,
        "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "expiredtokenexception"
        | "incompletesignatureexception"
        | "missingauthenticationtokenexception" => ErrorClass::Authentication,
        "resourcenotfoundexception" => ErrorClass::NotFound,
        "modeltimeoutexception" => ErrorClass::Timeout,
        "throttlingexception" | "modelnotreadyexception" | "servicequotaexceededexception" => {
            ErrorClass::RateLimit
        }
        "serviceunavailableexception" => ErrorClass::ServiceUnavailable,
        "internalserverexception" | "modelerrorexception" | "modelstreamerrorexception" => {
            ErrorClass::InternalServer
        }
        // An unknown type: the status, then the words, as for any provider.
        _ => {
            let by_status = status.map_or(ErrorClass::InternalServer, ErrorClass::from_status);
            refine_by_phrases(by_status, status.unwrap_or(400), &lower)
        }
    };
    class
}

/// `ThrottlingException:http://internal.amazon.com/coral/...` or `...#ThrottlingException`.
fn exception_name(raw: &str) -> &str {
    let raw = raw.split(':').next().unwrap_or(raw);
    raw.rsplit('#').next().unwrap_or(raw)
}

pub fn classify(d: &Upstream, f: &UpstreamFailure<'_>) -> AttemptError {
    let body: Value = serde_json::from_slice(f.body).unwrap_or(Value::Null);
    let message = body
        .get("message")
        .or_else(|| body.get("Message"))
        .and_then(Value::as_str)
        .map_or_else(
            || crate::providers::classify::error_message(f.body),
            str::to_string,
        );
    let exception = f
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .or_else(|| body.get("__type").and_then(Value::as_str))
        .map(exception_name)
        .unwrap_or("");
    let class = class_of(exception, Some(f.status), &message);
    labelled(
        ProviderKind::Bedrock,
        class,
        &scrub(&message, d),
        retry_after(d, f),
    )
}

/// An exception frame inside a 200 stream (`exception:throttlingException`).
/// An exception or error frame of an event stream (named `exception:<type>` or
/// `error:<code>` by the decoder) as the stream's failure.
pub fn frame_error(name: &str, payload: &str) -> Result<(), AttemptError> {
    match name
        .strip_prefix("exception:")
        .or_else(|| name.strip_prefix("error:"))
    {
        Some(kind) => Err(stream_error(kind, payload)),
        None => Ok(()),
    }
}

fn stream_error(exception: &str, payload: &str) -> AttemptError {
    let message = serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| payload.to_string());
    let class = class_of(exception, None, &message);
    labelled(
        ProviderKind::Bedrock,
        class,
        &crate::secret::redact(&message),
        None,
    )
}
