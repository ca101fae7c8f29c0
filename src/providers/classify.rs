//! What every provider's error classification shares: reading an error body's message,
//! masking keys in it, the phrases that tell a context-window or content-policy error whatever
//! the status, `Retry-After`, and the errors the gateway itself raises about an upstream.

use serde_json::Value;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::seconds::Seconds;
use switchyard_actors::ErrorClass;

use super::contract::UpstreamFailure;
use super::ProviderKind;
use crate::providers::upstream::Upstream;

/// Phrases servers use for prompts over the context window (OpenAI, vLLM, SGLang, llama.cpp,
/// TGI, Anthropic, Gemini wordings).
const CONTEXT_PHRASES: &[&str] = &[
    "maximum context length",
    "context_length_exceeded",
    "longer than the model's context length",
    "exceeds the available context size",
    "input tokens exceed the configured limit",
    "context window",
    "prompt is too long",
    "too many tokens",
    "reduce the length of the messages",
    "exceeds the maximum number of tokens allowed",
    "input token count",
];

const CONTENT_POLICY_PHRASES: &[&str] = &[
    "content_policy_violation",
    "content management policy",
    "content_filter",
];

/// The class an error's words point to, starting from `class` (the status's or the
/// provider's error type's): authentication errors stay what they are.
pub fn refine_by_phrases(class: ErrorClass, status: u16, lower: &str) -> ErrorClass {
    if class == ErrorClass::Authentication || class == ErrorClass::PermissionDenied {
        return class;
    }
    if CONTEXT_PHRASES.iter().any(|p| lower.contains(p)) && status < 500 {
        ErrorClass::ContextWindowExceeded
    } else if CONTENT_POLICY_PHRASES.iter().any(|p| lower.contains(p)) {
        ErrorClass::ContentPolicyViolation
    } else if lower.contains("rate limit") && status >= 400 {
        ErrorClass::RateLimit
    } else {
        class
    }
}

/// The error as LiteLLM words it: `RateLimitError: GroqException - <upstream message>`.
pub fn labelled(
    kind: ProviderKind,
    class: ErrorClass,
    message: &str,
    retry_after: Option<Seconds>,
) -> AttemptError {
    let mut err = AttemptError::new(
        class,
        class.client_status(),
        format!("{}: {} - {message}", class.name(), kind.exception_label()),
    );
    err.retry_after = retry_after;
    err
}

/// The message an upstream error body carries, whatever shape the server uses.
pub fn error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let found = v
            .pointer("/error/message")
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("detail"));
        if let Some(m) = found {
            return m
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| m.to_string());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    text.chars().take(1000).collect()
}

/// An upstream's error text as it may be shown: the deployment's own key and any other secret
/// masked (upstreams echo the key they were sent).
pub fn scrub(message: &str, d: &Upstream) -> String {
    let mut out = message.to_string();
    if let Some(key) = &d.api_key {
        if key.expose().len() >= 4 {
            out = out.replace(key.expose(), &key.masked());
        }
    }
    crate::secret::redact(&out).into_owned()
}

/// The upstream's `retry-after-ms` / `Retry-After` (seconds or an HTTP date), cut to the
/// configured maximum with a warning: a deployment must not cool down for a day because one
/// answer said so.
pub fn retry_after(d: &Upstream, failure: &UpstreamFailure<'_>) -> Option<Seconds> {
    let asked = raw_retry_after(failure.headers)?;
    let max = failure.max_retry_after;
    let clamped = Seconds::clamped(asked, max)?;
    if asked > max.get() {
        tracing::warn!(
            deployment = %d.id,
            retry_after_s = asked,
            max_s = max.get(),
            "upstream Retry-After is longer than switchyard_settings.max_retry_after_seconds: cut to it"
        );
    }
    Some(clamped)
}

fn raw_retry_after(headers: &awc::http::header::HeaderMap) -> Option<f64> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(ms / 1000.0);
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    match value.parse::<f64>() {
        Ok(s) => Some(s),
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            super::http_date::seconds_until(value, now)
        }
    }
}

pub fn connection_error(d: &Upstream, detail: &str) -> AttemptError {
    AttemptError::new(
        ErrorClass::InternalServer,
        500,
        format!(
            "InternalServerError: {} - Connection error ({}).",
            d.kind.exception_label(),
            scrub(detail, d)
        ),
    )
}

pub fn timeout_error(d: &Upstream, seconds: Seconds) -> AttemptError {
    AttemptError::new(
        ErrorClass::Timeout,
        408,
        format!(
            "Timeout: {} - Request timed out after {seconds}s (deployment {}).",
            d.kind.exception_label(),
            d.id
        ),
    )
}

/// An upstream answer that is not what the provider's API documents.
pub fn malformed(kind: ProviderKind, what: &str) -> AttemptError {
    AttemptError::new(
        ErrorClass::InternalServer,
        500,
        format!(
            "InternalServerError: {} - unexpected answer: {what}",
            kind.exception_label()
        ),
    )
}

/// A stream that closed before the provider's own end-of-answer event.
pub fn cut_short(kind: ProviderKind, missing: &str) -> AttemptError {
    AttemptError::new(
        ErrorClass::InternalServer,
        500,
        format!(
            "InternalServerError: {} - upstream closed the stream before it finished ({missing})",
            kind.exception_label()
        ),
    )
}

/// A stream event's data as the JSON object every provider's events are; anything else is an
/// error the client sees (an event is never skipped because it could not be read).
pub fn event_object(kind: ProviderKind, ev: &super::sse::SseEvent) -> Result<Value, AttemptError> {
    serde_json::from_str::<Value>(&ev.data)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| malformed(kind, "a stream event that is not a JSON object"))
}

/// A request for an API the provider does not have (Anthropic embeddings, Gemini text
/// completions): a 400 the router does not retry elsewhere in the group.
pub fn no_such_api(kind: ProviderKind, endpoint: crate::openai::Endpoint) -> AttemptError {
    AttemptError::new(
        ErrorClass::BadRequest,
        400,
        format!(
            "BadRequestError: {} has no {} API; route these requests to a deployment that has one",
            kind.name(),
            endpoint.route()
        ),
    )
}
