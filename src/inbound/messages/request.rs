//! A Messages API request as an OpenAI chat request: `system`, text and image blocks,
//! `tool_use` / `tool_result` blocks, `tools`, `tool_choice`, `stop_sequences`, sampling
//! parameters. Anthropic-only fields (`thinking`, `top_k`) pass through for providers that
//! take them.

use serde_json::{json, Map, Value};

use crate::error::GatewayError;

fn text_of(blocks: &Value) -> String {
    match blocks {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn image_part(block: &Value) -> Option<Value> {
    let source = block.get("source")?;
    let url = match source.get("type").and_then(Value::as_str)? {
        "base64" => format!(
            "data:{};base64,{}",
            source
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or("image/png"),
            source.get("data").and_then(Value::as_str)?
        ),
        "url" => source.get("url").and_then(Value::as_str)?.to_string(),
        _ => return None,
    };
    Some(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// One Anthropic message as OpenAI messages (tool results become `tool` messages).
fn messages_of(m: &Value, out: &mut Vec<Value>) -> Result<(), GatewayError> {
    let role = match m.get("role").and_then(Value::as_str) {
        Some(r @ ("user" | "assistant")) => r,
        _ => {
            return Err(GatewayError::invalid(
                "messages: each message needs a role of user or assistant",
                "messages",
            ))
        }
    };
    let blocks = match m.get("content") {
        Some(Value::String(s)) => {
            out.push(json!({"role": role, "content": s}));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks,
        _ => {
            return Err(GatewayError::invalid(
                "messages: content must be a string or a list of blocks",
                "messages",
            ))
        }
    };
    let mut parts = Vec::new();
    let mut calls = Vec::new();
    for b in blocks {
        match b.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => {
                if let Some(t) = b.get("text").and_then(Value::as_str) {
                    parts.push(json!({"type": "text", "text": t}));
                }
            }
            "image" => parts.extend(image_part(b)),
            "tool_use" => calls.push(json!({
                "id": b.get("id").cloned().unwrap_or(Value::Null),
                "type": "function",
                "function": {
                    "name": b.get("name").cloned().unwrap_or(Value::Null),
                    "arguments": b.get("input").map_or_else(|| "{}".to_string(), Value::to_string),
                },
            })),
            "tool_result" => {
                let content = b.get("content").map(text_of).unwrap_or_default();
                out.push(json!({"role": "tool",
                    "tool_call_id": b.get("tool_use_id").cloned().unwrap_or(Value::Null),
                    "content": content}));
            }
            // thinking, redacted_thinking, document, ...: nothing a chat message carries.
            _ => {}
        }
    }
    if role == "assistant" {
        let text: String = parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        if !text.is_empty() || !calls.is_empty() {
            let mut msg = json!({"role": "assistant",
                "content": if text.is_empty() { Value::Null } else { json!(text) }});
            if !calls.is_empty() {
                crate::json::set(&mut msg, "tool_calls", Value::Array(calls));
            }
            out.push(msg);
        }
    } else if !parts.is_empty() {
        out.push(json!({"role": "user", "content": parts}));
    }
    Ok(())
}

fn tool_choice(choice: &Value) -> Option<(Value, bool)> {
    let parallel_off = choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        == Some(true);
    let c = match choice.get("type").and_then(Value::as_str)? {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => json!({"type": "function", "function": {"name": choice.get("name")?}}),
        _ => return None,
    };
    Some((c, parallel_off))
}

/// Fields of a Messages request the translation reads; others pass through as they are.
const READ: &[&str] = &[
    "model",
    "messages",
    "system",
    "stop_sequences",
    "stream",
    "tools",
    "tool_choice",
    "metadata",
    "temperature",
    "top_p",
];

pub fn to_chat(body: &Map<String, Value>) -> Result<Map<String, Value>, GatewayError> {
    match body.get("max_tokens") {
        Some(v) if v.is_u64() => conversation(body),
        _ => Err(GatewayError::invalid(
            "max_tokens: Field required (a positive integer)",
            "max_tokens",
        )),
    }
}

/// The request as chat, `max_tokens` optional (a token count has none).
pub fn conversation(body: &Map<String, Value>) -> Result<Map<String, Value>, GatewayError> {
    let mut out = Map::new();
    if let Some(m) = body.get("model") {
        out.insert("model".into(), m.clone());
    }
    let mut messages = Vec::new();
    match body.get("system") {
        None | Some(Value::Null) => {}
        Some(s @ (Value::String(_) | Value::Array(_))) => {
            let text = text_of(s);
            if !text.is_empty() {
                messages.push(json!({"role": "system", "content": text}));
            }
        }
        Some(_) => {
            return Err(GatewayError::invalid(
                "system: must be a string or a list of text blocks",
                "system",
            ))
        }
    }
    let Some(Value::Array(list)) = body.get("messages") else {
        return Err(GatewayError::invalid(
            "messages: Field required (a list of messages)",
            "messages",
        ));
    };
    for m in list {
        messages_of(m, &mut messages)?;
    }
    out.insert("messages".into(), Value::Array(messages));
    if let Some(Value::Array(stops)) = body.get("stop_sequences") {
        out.insert("stop".into(), Value::Array(stops.clone()));
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Array(tools)) = body.get("tools") {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.get("name").cloned().unwrap_or(Value::Null),
                    "description": t.get("description").cloned().unwrap_or(Value::Null),
                    "parameters": t.get("input_schema").cloned().unwrap_or_else(|| json!({"type": "object"})),
                }})
            })
            .collect();
        out.insert("tools".into(), Value::Array(tools));
    }
    if let Some((choice, parallel_off)) = body.get("tool_choice").and_then(tool_choice) {
        out.insert("tool_choice".into(), choice);
        if parallel_off {
            out.insert("parallel_tool_calls".into(), json!(false));
        }
    }
    if let Some(user) = body
        .get("metadata")
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        out.insert("user".into(), json!(user));
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        out.insert("stream".into(), json!(true));
        // message_delta carries the output tokens: ask every provider for usage.
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    for (k, v) in body {
        if !READ.contains(&k.as_str()) {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Ok(out)
}
