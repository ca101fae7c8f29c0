//! Anthropic's error shape, `{"type": "error", "error": {"type": "...", "message": "..."}}`, with
//! its type names per HTTP status: what the gateway writes where a client speaks Anthropic's API.

use serde::Serialize;

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

/// Anthropic's error type for an HTTP status.
pub fn error_type(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 | 504 => "timeout_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    }
}

impl<'a> ErrorBody<'a> {
    pub fn new(status: u16, message: &'a str) -> Self {
        Self {
            kind: "error",
            error: ErrorDetail {
                kind: error_type(status),
                message,
            },
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The error as a stream event (`event: error`).
pub fn sse_event(status: u16, message: &str) -> bytes::Bytes {
    let mut out = b"event: error\ndata: ".to_vec();
    out.extend_from_slice(&ErrorBody::new(status, message).to_vec());
    out.extend_from_slice(b"\n\n");
    bytes::Bytes::from(out)
}
