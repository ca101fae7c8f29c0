//! An estimate of a chat request's input tokens with OpenAI's cl100k_base vocabulary (what
//! LiteLLM's token counter uses for models it has no tokenizer for), for APIs that ask for a
//! count where the upstream has no counter of its own (`/v1/messages/count_tokens` in front of
//! vLLM). The vocabulary is loaded on first use, not at start.

use serde_json::{Map, Value};

/// OpenAI's per-message framing: `<|start|>role ... <|end|>`.
const TOKENS_PER_MESSAGE: usize = 3;
/// The assistant turn the answer starts with.
const TOKENS_PER_REPLY: usize = 3;
/// An image's cost when its size is unknown (OpenAI's low-detail base).
const TOKENS_PER_IMAGE: usize = 85;
/// Framing of the tool definitions block.
const TOKENS_FOR_TOOLS: usize = 12;

fn tokens(text: &str) -> usize {
    tiktoken_rs::cl100k_base_singleton()
        .encode_ordinary(text)
        .len()
}

fn content_tokens(content: &Value) -> usize {
    match content {
        Value::String(s) => tokens(s),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p.get("type").and_then(Value::as_str) {
                Some("image_url" | "input_image" | "image") => TOKENS_PER_IMAGE,
                _ => p.get("text").and_then(Value::as_str).map_or(0, tokens),
            })
            .sum(),
        _ => 0,
    }
}

fn message_tokens(m: &Value) -> usize {
    let mut n = TOKENS_PER_MESSAGE;
    if let Some(role) = m.get("role").and_then(Value::as_str) {
        n += tokens(role);
    }
    if let Some(c) = m.get("content") {
        n += content_tokens(c);
    }
    for key in ["reasoning_content", "name"] {
        n += m.get(key).and_then(Value::as_str).map_or(0, tokens);
    }
    if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
        for f in calls.iter().filter_map(|c| c.get("function")) {
            for key in ["name", "arguments"] {
                n += f.get(key).and_then(Value::as_str).map_or(0, tokens);
            }
        }
    }
    n
}

/// The input tokens of a chat request: its messages and its tool definitions.
pub fn chat_input_tokens(body: &Map<String, Value>) -> usize {
    let messages: usize = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(0, |ms| ms.iter().map(message_tokens).sum());
    let tools = match body.get("tools").and_then(Value::as_array) {
        Some(tools) if !tools.is_empty() => {
            TOKENS_FOR_TOOLS + tools.iter().map(|t| tokens(&t.to_string())).sum::<usize>()
        }
        _ => 0,
    };
    messages + tools + TOKENS_PER_REPLY
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn counts_follow_the_vocabulary_and_grow_with_the_request() {
        // "Hello world" is two cl100k tokens; role "user" one; framing 3 + 3.
        let one = chat_input_tokens(&body(
            serde_json::json!({"messages": [{"role": "user", "content": "Hello world"}]}),
        ));
        assert_eq!(one, 3 + 1 + 2 + 3);
        let more = chat_input_tokens(&body(serde_json::json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hello world"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]})));
        assert!(more > one + TOKENS_PER_IMAGE + TOKENS_FOR_TOOLS, "{more}");
    }
}
