//! The mock's Ollama wire format: `/api/chat` and `/api/generate` answers and JSON-lines
//! streams (a line per piece, then `"done": true` with the counts), `/api/embed`, and Ollama's
//! `{"error": "..."}` bodies. Shapes from Ollama's API reference.

use bytes::Bytes;
use serde_json::{json, Value};

use super::mock::{Content, Event};

const CREATED_AT: &str = "2026-12-02T08:00:00.000000Z";

pub fn error(message: &str) -> Value {
    json!({"error": message})
}

fn counts(mut v: Value, content: &Content) -> Value {
    let extra = json!({"done": true, "done_reason": "stop", "total_duration": 123_456, "load_duration": 1000,
        "prompt_eval_count": 12, "prompt_eval_duration": 1000, "eval_count": content.words(),
        "eval_duration": 1000});
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    v
}

fn message(content: &Content) -> Value {
    match content {
        Content::Text(_) => json!({"role": "assistant", "content": content.text()}),
        Content::ToolCall { name, arguments } => {
            let args: Value = serde_json::from_str(arguments).unwrap_or(json!({}));
            json!({"role": "assistant", "content": "",
                   "tool_calls": [{"function": {"name": name, "arguments": args}}]})
        }
    }
}

pub fn answer(content: &Content, model: &str, generate: bool) -> Value {
    let v = if generate {
        json!({"model": model, "created_at": CREATED_AT, "response": content.text()})
    } else {
        json!({"model": model, "created_at": CREATED_AT, "message": message(content)})
    };
    counts(v, content)
}

fn line(v: &Value, content: bool) -> Event {
    Event {
        bytes: Bytes::from(format!("{v}\n")),
        content,
    }
}

pub fn stream(content: &Content, model: &str, generate: bool) -> Vec<Event> {
    let mut events = Vec::new();
    match content {
        Content::Text(pieces) => {
            for p in pieces {
                let v = if generate {
                    json!({"model": model, "created_at": CREATED_AT, "response": p, "done": false})
                } else {
                    json!({"model": model, "created_at": CREATED_AT,
                           "message": {"role": "assistant", "content": p}, "done": false})
                };
                events.push(line(&v, true));
            }
        }
        Content::ToolCall { .. } => {
            // Ollama sends a tool call whole, in one line.
            let v = json!({"model": model, "created_at": CREATED_AT, "message": message(content), "done": false});
            events.push(line(&v, true));
        }
    }
    let last = if generate {
        json!({"model": model, "created_at": CREATED_AT, "response": ""})
    } else {
        json!({"model": model, "created_at": CREATED_AT, "message": {"role": "assistant", "content": ""}})
    };
    events.push(line(&counts(last, content), false));
    events
}

pub fn embeddings(request: &Value, model: &str, dims: usize) -> Value {
    let items: Vec<Value> = match &request["input"] {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let vectors: Vec<Value> = items
        .iter()
        .map(|item| {
            let len = item.as_str().map_or(0, str::len) as f64;
            let mut v = vec![len];
            v.resize(dims.max(1), 0.5);
            json!(v)
        })
        .collect();
    json!({"model": model, "embeddings": vectors, "total_duration": 1000, "load_duration": 10,
           "prompt_eval_count": items.len() * 3})
}
