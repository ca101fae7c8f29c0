//! The mock's OpenAI Responses API (`POST /v1/responses`, as OpenAI, current vLLM and SGLang
//! serve it): a response object, or its SSE events with `sequence_number`s.

use bytes::Bytes;
use serde_json::{json, Value};

use super::mock::{unix_now, Content, Event};

fn item(content: &Content) -> Value {
    match content {
        Content::Text(_) => json!({"type": "message", "id": "msg_mock1", "status": "completed",
            "role": "assistant", "content": [{"type": "output_text", "text": content.text(), "annotations": []}]}),
        Content::ToolCall { name, arguments } => json!({"type": "function_call", "id": "fc_mock1",
            "call_id": "call_mock1", "name": name, "arguments": arguments, "status": "completed"}),
    }
}

fn response(content: &Content, model: &str, status: &str, done: bool) -> Value {
    let words = content.words();
    json!({"id": "resp_mock1", "object": "response", "created_at": unix_now(), "status": status,
        "model": model, "output": if done { json!([item(content)]) } else { json!([]) },
        "usage": if done { json!({"input_tokens": 10, "output_tokens": words, "total_tokens": 10 + words}) } else { Value::Null },
        "error": null, "incomplete_details": null, "parallel_tool_calls": true, "tool_choice": "auto",
        "tools": [], "temperature": 1.0, "top_p": 1.0, "metadata": {}, "instructions": null})
}

/// A response object echoing the request's settings, as OpenAI's does.
pub fn answer(content: &Content, model: &str, request: &Value) -> Value {
    let mut r = response(content, model, "completed", true);
    for key in ["previous_response_id", "instructions", "tools", "text"] {
        if let Some(v) = request.get(key) {
            r[key] = v.clone();
        }
    }
    r
}

pub fn stream(content: &Content, model: &str) -> Vec<Event> {
    let mut seq = 0u64;
    let mut ev = |kind: &str, mut data: Value, content: bool| {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(seq);
        seq += 1;
        Event {
            bytes: Bytes::from(format!("event: {kind}\ndata: {data}\n\n")),
            content,
        }
    };
    let mut out = vec![ev(
        "response.created",
        json!({"response": response(content, model, "in_progress", false)}),
        false,
    )];
    match content {
        Content::Text(pieces) => {
            out.push(ev("response.output_item.added", json!({"output_index": 0,
                "item": {"type": "message", "id": "msg_mock1", "status": "in_progress", "role": "assistant", "content": []}}), false));
            out.push(ev("response.content_part.added", json!({"item_id": "msg_mock1", "output_index": 0,
                "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}), false));
            for p in pieces {
                out.push(ev(
                    "response.output_text.delta",
                    json!({"item_id": "msg_mock1", "output_index": 0, "content_index": 0, "delta": p}),
                    true,
                ));
            }
        }
        Content::ToolCall { name, arguments } => {
            out.push(ev("response.output_item.added", json!({"output_index": 0,
                "item": {"type": "function_call", "id": "fc_mock1", "call_id": "call_mock1", "name": name,
                         "arguments": "", "status": "in_progress"}}), false));
            out.push(ev(
                "response.function_call_arguments.delta",
                json!({"item_id": "fc_mock1", "output_index": 0, "delta": arguments}),
                true,
            ));
        }
    }
    out.push(ev(
        "response.output_item.done",
        json!({"output_index": 0, "item": item(content)}),
        false,
    ));
    out.push(ev(
        "response.completed",
        json!({"response": response(content, model, "completed", true)}),
        false,
    ));
    out
}
