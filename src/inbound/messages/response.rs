//! A `chat.completion` as a Messages API message.

use serde_json::Value;

use super::wire::{message_id, stop_reason, Block, Message, Usage};

pub fn from_chat(body: &[u8]) -> Option<Vec<u8>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let choice = v.get("choices")?.as_array()?.first()?;
    let m = choice.get("message")?;
    let model = v.get("model").and_then(Value::as_str).unwrap_or("");
    let id = message_id(
        v.get("id")
            .and_then(Value::as_str)
            .unwrap_or("chatcmpl-unknown"),
    );
    let mut out = Message::new(id, model);
    if let Some(t) = m
        .get("reasoning_content")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        out.content.push(Block::Thinking {
            thinking: t.to_string(),
            signature: String::new(),
        });
    }
    if let Some(t) = m
        .get("content")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        out.content.push(Block::Text {
            text: t.to_string(),
        });
    }
    for c in m
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let f = c.get("function").unwrap_or(&Value::Null);
        let input = f
            .get("arguments")
            .and_then(Value::as_str)
            .and_then(|a| serde_json::from_str::<Value>(a).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        out.content.push(Block::ToolUse {
            id: c
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            name: f
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            input,
        });
    }
    out.stop_reason = Some(stop_reason(
        choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .unwrap_or("stop"),
    ));
    let u = v.get("usage");
    let get = |k: &str| {
        u.and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    out.usage = Usage {
        input_tokens: get("prompt_tokens"),
        output_tokens: get("completion_tokens"),
    };
    serde_json::to_vec(&out).ok()
}
