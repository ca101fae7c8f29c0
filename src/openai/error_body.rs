//! The OpenAI error object, `{"error": {"message", "type", "param", "code"}}`, as a JSON body
//! and as an SSE event. Messages pass through the one masking step on their way out.

use bytes::Bytes;
use serde::Serialize;

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    message: std::borrow::Cow<'a, str>,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    /// The HTTP status as a string, as LiteLLM sends it.
    code: String,
}

impl<'a> ErrorBody<'a> {
    pub fn new(message: &'a str, kind: &'a str, param: Option<&'a str>, status: u16) -> Self {
        Self {
            error: Detail {
                message: crate::secret::redact(message),
                kind,
                param,
                code: status.to_string(),
            },
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The error as one SSE event, for a stream that has already begun.
    pub fn sse_event(&self) -> Bytes {
        let mut out = b"data: ".to_vec();
        out.extend_from_slice(&self.to_vec());
        out.extend_from_slice(b"\n\n");
        Bytes::from(out)
    }
}
