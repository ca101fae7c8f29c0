//! The mock's Gemini wire format: `GenerateContentResponse` objects (one per SSE `data:` line
//! when streaming, each with its own `responseId` as the real API sends), `batchEmbedContents`
//! answers and Google RPC error bodies.

use bytes::Bytes;
use serde_json::{json, Value};

use super::mock::{Content, Event};

pub fn error(status: u16, message: &str) -> Value {
    let name = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    json!({"error": {"code": status, "message": message, "status": name}})
}

fn parts(content: &Content) -> Value {
    match content {
        Content::Text(_) => json!([{"text": content.text()}]),
        Content::ToolCall { name, arguments } => {
            let args: Value = serde_json::from_str(arguments).unwrap_or(json!({}));
            json!([{"functionCall": {"name": name, "args": args}}])
        }
    }
}

fn usage(content: &Content) -> Value {
    let words = content.words();
    json!({"promptTokenCount": 8, "candidatesTokenCount": words, "totalTokenCount": 8 + words})
}

pub fn answer(content: &Content) -> Value {
    json!({"candidates": [{"content": {"parts": parts(content), "role": "model"}, "finishReason": "STOP", "index": 0}],
           "usageMetadata": usage(content), "modelVersion": "gemini-mock", "responseId": "mock-response"})
}

fn data(v: Value, content: bool) -> Event {
    Event {
        bytes: Bytes::from(format!("data: {v}\r\n\r\n")),
        content,
    }
}

pub fn stream(content: &Content) -> Vec<Event> {
    match content {
        Content::Text(pieces) => {
            let last = pieces.len().saturating_sub(1);
            pieces
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut cand =
                        json!({"content": {"parts": [{"text": p}], "role": "model"}, "index": 0});
                    let mut v =
                        json!({"modelVersion": "gemini-mock", "responseId": format!("mock-{i}")});
                    if i == last {
                        cand["finishReason"] = json!("STOP");
                        v["usageMetadata"] = usage(content);
                    }
                    v["candidates"] = json!([cand]);
                    data(v, true)
                })
                .collect()
        }
        Content::ToolCall { .. } => vec![data(
            json!({"candidates": [{"content": {"parts": parts(content), "role": "model"}, "finishReason": "STOP", "index": 0}],
                   "usageMetadata": usage(content), "responseId": "mock-tool"}),
            true,
        )],
    }
}

pub fn embeddings(request: &Value, dims: usize) -> Value {
    let n = request["requests"].as_array().map_or(1, Vec::len);
    let list: Vec<Value> = (0..n)
        .map(|_| json!({"values": vec![0.25; dims]}))
        .collect();
    json!({"embeddings": list})
}
