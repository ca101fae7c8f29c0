//! The mock's Cohere v2 wire format: `/v2/chat` answers and SSE streams (`message-start`,
//! `content-delta`, `tool-call-start`/`-delta`/`-end`, `message-end`), `/v2/embed`, and
//! `{"message": ...}` error bodies, as Cohere's API reference shows them.

use bytes::Bytes;
use serde_json::{json, Value};

use super::mock::{Content, Event};

pub fn error(message: &str) -> Value {
    json!({"message": message})
}

fn usage(content: &Content) -> Value {
    json!({"billed_units": {"input_tokens": 8, "output_tokens": content.words()},
           "tokens": {"input_tokens": 70, "output_tokens": content.words()}})
}

pub fn answer(content: &Content) -> Value {
    match content {
        Content::Text(_) => {
            json!({"id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4", "finish_reason": "COMPLETE",
            "message": {"role": "assistant", "content": [{"type": "text", "text": content.text()}]},
            "usage": usage(content)})
        }
        Content::ToolCall { name, arguments } => {
            json!({"id": "c14c80c3-tool", "finish_reason": "TOOL_CALL",
            "message": {"role": "assistant", "tool_plan": "I will look the weather up.",
                "tool_calls": [{"id": "get_weather_mock1", "type": "function",
                    "function": {"name": name, "arguments": arguments}}]},
            "usage": usage(content)})
        }
    }
}

fn event(kind: &str, data: Value, content: bool) -> Event {
    let mut data = data;
    data["type"] = json!(kind);
    Event {
        bytes: Bytes::from(format!("event: {kind}\ndata: {data}\n\n")),
        content,
    }
}

pub fn stream(content: &Content) -> Vec<Event> {
    let mut events = vec![event(
        "message-start",
        json!({"id": "29f14a5a-stream", "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
        false,
    )];
    let finish = match content {
        Content::Text(pieces) => {
            events.push(event("content-start", json!({"index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}), false));
            for p in pieces {
                events.push(event(
                    "content-delta",
                    json!({"index": 0, "delta": {"message": {"content": {"text": p}}}}),
                    true,
                ));
            }
            events.push(event("content-end", json!({"index": 0}), false));
            "COMPLETE"
        }
        Content::ToolCall { name, arguments } => {
            events.push(event(
                "tool-plan-delta",
                json!({"delta": {"message": {"tool_plan": "I will look."}}}),
                false,
            ));
            events.push(event("tool-call-start", json!({"index": 0, "delta": {"message": {"tool_calls":
                {"id": "get_weather_mock1", "type": "function", "function": {"name": name, "arguments": ""}}}}}), true));
            let (a, b) = arguments.split_at(arguments.len() / 2);
            for part in [a, b] {
                events.push(event(
                    "tool-call-delta",
                    json!({"index": 0, "delta": {"message": {"tool_calls":
                    {"function": {"arguments": part}}}}}),
                    true,
                ));
            }
            events.push(event("tool-call-end", json!({"index": 0}), false));
            "TOOL_CALL"
        }
    };
    events.push(event(
        "message-end",
        json!({"delta": {"finish_reason": finish, "usage": usage(content)}}),
        false,
    ));
    events
}

pub fn embeddings(request: &Value, dims: usize) -> Value {
    let texts: Vec<Value> = request["texts"].as_array().cloned().unwrap_or_default();
    let vectors: Vec<Vec<f64>> = texts
        .iter()
        .map(|t| {
            let mut v = vec![t.as_str().map_or(0, str::len) as f64];
            v.resize(dims.max(1), 0.125);
            v
        })
        .collect();
    json!({"id": "emb-mock", "embeddings": {"float": vectors}, "texts": texts,
           "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": texts.len() * 2}}})
}
