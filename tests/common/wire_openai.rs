//! The mock's OpenAI wire format: chat.completion, chunks, embeddings, error bodies.

use bytes::Bytes;
use serde_json::{json, Value};

use super::mock::{unix_now, Content, Event};

pub fn error(message: &str, err_type: &str, code: &Option<String>) -> Value {
    json!({"error": {"message": message, "type": err_type, "param": null, "code": code}})
}

fn tool_calls(name: &str, arguments: &str) -> Value {
    json!([{"id": "call_mock1", "type": "function", "function": {"name": name, "arguments": arguments}}])
}

pub fn answer(content: &Content, model: &str) -> Value {
    let words = content.words();
    let (message, finish) = match content {
        Content::Text(_) => (
            json!({"role": "assistant", "content": content.text()}),
            "stop",
        ),
        Content::ToolCall { name, arguments } => (
            json!({"role": "assistant", "content": null, "tool_calls": tool_calls(name, arguments)}),
            "tool_calls",
        ),
    };
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": unix_now(), "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}
    })
}

fn chunk(model: &str, delta: Value, finish: Value) -> Bytes {
    let c = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": unix_now(), "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    Bytes::from(format!("data: {c}\n\n"))
}

pub fn stream(content: &Content, model: &str, include_usage: bool) -> Vec<Event> {
    let mut events = Vec::new();
    let finish = match content {
        Content::Text(pieces) => {
            for (i, p) in pieces.iter().enumerate() {
                let delta = if i == 0 {
                    json!({"role": "assistant", "content": p})
                } else {
                    json!({"content": p})
                };
                events.push(Event {
                    bytes: chunk(model, delta, Value::Null),
                    content: true,
                });
            }
            "stop"
        }
        Content::ToolCall { name, arguments } => {
            let (a, b) = arguments.split_at(arguments.len() / 2);
            let first = json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_mock1",
                               "type": "function", "function": {"name": name, "arguments": ""}}]});
            events.push(Event {
                bytes: chunk(model, first, Value::Null),
                content: true,
            });
            for part in [a, b] {
                let delta = json!({"tool_calls": [{"index": 0, "function": {"arguments": part}}]});
                events.push(Event {
                    bytes: chunk(model, delta, Value::Null),
                    content: true,
                });
            }
            "tool_calls"
        }
    };
    events.push(Event {
        bytes: chunk(model, json!({}), json!(finish)),
        content: false,
    });
    if include_usage {
        let words = content.words();
        let u = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": unix_now(), "model": model,
                       "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}});
        events.push(Event {
            bytes: Bytes::from(format!("data: {u}\n\n")),
            content: false,
        });
    }
    events.push(Event {
        bytes: Bytes::from_static(b"data: [DONE]\n\n"),
        content: false,
    });
    events
}

/// One vector per input item; its first value is the item's length, so tests can tell which
/// vector belongs to which item.
pub fn embeddings(request: &Value, model: &str, dims: usize) -> Value {
    let items: Vec<Value> = match &request["input"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let n = items.len();
    let data: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut v = vec![0.5; dims.max(1)];
            v[0] = item.as_str().map_or(0, str::len) as f64;
            json!({"object": "embedding", "index": i, "embedding": v})
        })
        .collect();
    json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": n, "total_tokens": n}})
}
