//! `mock_response` deployments: answer in OpenAI's wire format without an upstream, as LiteLLM
//! does. The quick start runs on these.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::openai::Endpoint;

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A rough token count (about four characters a token) for usage figures of mock answers.
fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4).max(1)
}

fn prompt_tokens(body: &Map<String, Value>) -> u64 {
    let text = match body.get("messages").or_else(|| body.get("input")) {
        Some(v) => v.to_string(),
        None => String::new(),
    };
    estimate_tokens(&text)
}

pub fn chat_completion(text: &str, model: &str, request: &Map<String, Value>) -> Value {
    let prompt = prompt_tokens(request);
    let completion = estimate_tokens(text);
    json!({
        "id": format!("chatcmpl-mock-{:016x}", fastrand::u64(..)),
        "object": "chat.completion",
        "created": unix_now(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

/// The answer as SSE events, a word per chunk, then the finish chunk, usage when asked, `[DONE]`.
pub fn chat_stream(
    text: &str,
    model: &str,
    request: &Map<String, Value>,
    include_usage: bool,
) -> Vec<Bytes> {
    let id = format!("chatcmpl-mock-{:016x}", fastrand::u64(..));
    let created = unix_now();
    let chunk = |delta: Value, finish: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut events: Vec<Value> = Vec::new();
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    for (i, word) in words.iter().enumerate() {
        let delta = if i == 0 {
            json!({"role": "assistant", "content": word})
        } else {
            json!({"content": word})
        };
        events.push(chunk(delta, Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    if include_usage {
        let prompt = prompt_tokens(request);
        let completion = estimate_tokens(text);
        events.push(json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}));
    }
    let mut out: Vec<Bytes> = events
        .iter()
        .map(|e| Bytes::from(format!("data: {e}\n\n")))
        .collect();
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out
}

/// Deterministic small vectors, one per input item.
pub fn embeddings(model: &str, request: &Map<String, Value>) -> Value {
    let items: Vec<String> = match request.get("input") {
        Some(Value::Array(a)) => a.iter().map(|v| v.to_string()).collect(),
        Some(v) => vec![v.to_string()],
        None => Vec::new(),
    };
    let data: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let seed = text
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
            let vector: Vec<f64> = (0..8)
                .map(|k| ((seed >> (k * 4)) & 0xff) as f64 / 255.0)
                .collect();
            json!({"object": "embedding", "index": i, "embedding": vector})
        })
        .collect();
    let prompt = prompt_tokens(request);
    json!({"object": "list", "data": data, "model": model,
           "usage": {"prompt_tokens": prompt, "total_tokens": prompt}})
}

pub fn answer(endpoint: Endpoint, text: &str, model: &str, request: &Map<String, Value>) -> Value {
    match endpoint {
        Endpoint::Chat => chat_completion(text, model, request),
        Endpoint::Embeddings => embeddings(model, request),
    }
}
