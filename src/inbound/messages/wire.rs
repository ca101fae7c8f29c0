//! Anthropic Messages API shapes the gateway writes: the message, its stream events, errors.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::value::RawValue;

pub use crate::providers::anthropic::error_body::{error_type, ErrorBody};

#[derive(Serialize, Debug)]
pub struct Message<'a> {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    pub model: &'a str,
    pub content: Vec<Block<'a>>,
    pub stop_reason: Option<&'static str>,
    pub stop_sequence: Option<String>,
    pub usage: Usage,
}

/// A content block. Written as plain structs with their `type` (an internally tagged enum
/// would serialize through a map, several times slower on this path).
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub enum Block<'a> {
    Text {
        #[serde(rename = "type")]
        kind: &'static str,
        text: Cow<'a, str>,
    },
    Thinking {
        #[serde(rename = "type")]
        kind: &'static str,
        thinking: Cow<'a, str>,
        signature: &'static str,
    },
    ToolUse {
        #[serde(rename = "type")]
        kind: &'static str,
        id: Cow<'a, str>,
        name: Cow<'a, str>,
        input: Box<RawValue>,
    },
}

impl<'a> Block<'a> {
    pub fn text(text: Cow<'a, str>) -> Self {
        Self::Text { kind: "text", text }
    }

    pub fn thinking(thinking: Cow<'a, str>) -> Self {
        Self::Thinking {
            kind: "thinking",
            thinking,
            signature: "",
        }
    }

    pub fn tool_use(id: Cow<'a, str>, name: Cow<'a, str>, input: Box<RawValue>) -> Self {
        Self::ToolUse {
            kind: "tool_use",
            id,
            name,
            input,
        }
    }
}

#[derive(Serialize, Debug, Default, Clone, Copy)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl<'a> Message<'a> {
    pub fn new(id: String, model: &'a str) -> Self {
        Self {
            id,
            kind: "message",
            role: "assistant",
            model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: Usage::default(),
        }
    }
}

/// `stop` → `end_turn`, `length` → `max_tokens`, `tool_calls` → `tool_use`.
pub fn stop_reason(finish: &str) -> &'static str {
    match finish {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// `msg_...` from a `chatcmpl-...` id.
pub fn message_id(chat_id: &str) -> String {
    format!("msg_{}", chat_id.trim_start_matches("chatcmpl-"))
}

/// One named SSE event.
pub fn event(name: &str, data: &impl Serialize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    if serde_json::to_writer(&mut *out, data).is_err() {
        out.extend_from_slice(b"{}");
    }
    out.extend_from_slice(b"\n\n");
}
