//! The mock's Anthropic Messages wire format: message objects, named SSE events
//! (`message_start`, `content_block_*`, `message_delta`, `message_stop`, `ping`) and
//! `{"type":"error"}` bodies, as the Messages API documents them.

use bytes::Bytes;
use serde_json::{json, Value};

use super::mock::{Content, Event};

pub fn error(status: u16, message: &str) -> Value {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

const TOOL_ID: &str = "toolu_01MockToolUse";

pub fn answer(content: &Content, model: &str) -> Value {
    let (blocks, stop) = match content {
        Content::Text(_) => (
            json!([{"type": "text", "text": content.text()}]),
            "end_turn",
        ),
        Content::ToolCall { name, arguments } => {
            let input: Value = serde_json::from_str(arguments).unwrap_or(json!({}));
            (
                json!([{"type": "tool_use", "id": TOOL_ID, "name": name, "input": input}]),
                "tool_use",
            )
        }
    };
    json!({"id": "msg_01MockMessage", "type": "message", "role": "assistant", "model": model,
           "content": blocks, "stop_reason": stop, "stop_sequence": null,
           "usage": {"input_tokens": 12, "output_tokens": content.words()}})
}

fn event(name: &str, data: Value, content: bool) -> Event {
    Event {
        bytes: Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
        content,
    }
}

pub fn stream(content: &Content, model: &str) -> Vec<Event> {
    let mut events = vec![event(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_01MockStream", "type": "message",
            "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        false,
    )];
    let stop = match content {
        Content::Text(pieces) => {
            events.push(event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
                false,
            ));
            events.push(event("ping", json!({"type": "ping"}), false));
            for p in pieces {
                events.push(event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": p}}),
                    true,
                ));
            }
            "end_turn"
        }
        Content::ToolCall { name, arguments } => {
            events.push(event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": TOOL_ID, "name": name, "input": {}}}),
                true,
            ));
            let (a, b) = arguments.split_at(arguments.len() / 2);
            for part in [a, b] {
                events.push(event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": part}}),
                    true,
                ));
            }
            "tool_use"
        }
    };
    events.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
        false,
    ));
    events.push(event("message_delta", json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": content.words()}}), false));
    events.push(event(
        "message_stop",
        json!({"type": "message_stop"}),
        false,
    ));
    events
}
