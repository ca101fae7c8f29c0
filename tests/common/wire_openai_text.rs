//! The mock's OpenAI legacy completions wire format (`POST /v1/completions`): `text_completion`
//! answers and streams, as vLLM and OpenAI send them.

use bytes::Bytes;
use serde_json::{json, Value};

use super::mock::{unix_now, Content, Event};

pub fn answer(content: &Content, model: &str) -> Value {
    let words = content.words();
    json!({
        "id": "cmpl-mock", "object": "text_completion", "created": unix_now(), "model": model,
        "choices": [{"index": 0, "text": content.text(), "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": words, "total_tokens": 5 + words}
    })
}

fn event(v: &Value) -> Event {
    Event {
        bytes: Bytes::from(format!("data: {v}\n\n")),
        content: true,
    }
}

pub fn stream(content: &Content, model: &str, include_usage: bool) -> Vec<Event> {
    let piece = |text: &str, finish: Value| {
        json!({"id": "cmpl-mock", "object": "text_completion", "created": unix_now(), "model": model,
               "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}]})
    };
    let mut events = Vec::new();
    if let Content::Text(pieces) = content {
        for p in pieces {
            events.push(event(&piece(p, Value::Null)));
        }
    }
    let mut last = event(&piece("", json!("stop")));
    last.content = false;
    events.push(last);
    if include_usage {
        let words = content.words();
        let mut usage = event(
            &json!({"id": "cmpl-mock", "object": "text_completion", "created": unix_now(),
            "model": model, "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": words, "total_tokens": 5 + words}}),
        );
        usage.content = false;
        events.push(usage);
    }
    events.push(Event {
        bytes: Bytes::from_static(b"data: [DONE]\n\n"),
        content: false,
    });
    events
}
