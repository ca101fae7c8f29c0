//! A Responses API request as an OpenAI chat request: `instructions` and `input` (a string, or
//! `message` items with `input_text` / `input_image` / `output_text` parts, `function_call` and
//! `function_call_output` items) become messages after the stored conversation it continues;
//! function `tools`, `tool_choice`, `max_output_tokens`, `temperature`, `top_p`,
//! `reasoning.effort`, `text.format` and `parallel_tool_calls` become their chat equivalents.

use serde_json::{json, Map, Value};

use crate::error::GatewayError;

/// Fields of a Responses request the translation reads or the gateway keeps to itself; others
/// pass through as they are.
const READ: &[&str] = &[
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "reasoning",
    "text",
    "stream",
    "store",
    "previous_response_id",
    "metadata",
    "include",
    "truncation",
    "background",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "stream_options",
    "max_tool_calls",
    "conversation",
];

/// What a bridged turn is made of.
pub struct Turn {
    /// The chat request sent upstream.
    pub chat: Map<String, Value>,
    /// The conversation so far as chat messages (without `instructions`), this turn's input
    /// included: what a follow-up continues from.
    pub history: Vec<Value>,
}

fn invalid(message: impl Into<String>, param: &str) -> GatewayError {
    GatewayError::invalid(message, param)
}

/// A content part of an input message as a chat content part.
fn part(p: &Value, at: &str) -> Result<Option<Value>, GatewayError> {
    let kind = p.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "input_text" | "output_text" | "text" | "summary_text" | "refusal" => {
            let text = p
                .get("text")
                .or_else(|| p.get("refusal"))
                .and_then(Value::as_str)
                .unwrap_or("");
            Ok(Some(json!({"type": "text", "text": text})))
        }
        "input_image" => {
            let Some(url) = p.get("image_url").and_then(Value::as_str) else {
                return Err(invalid(
                    format!("{at}: input_image needs an image_url (file_id is not supported)"),
                    "input",
                ));
            };
            let mut image = json!({"url": url});
            if let Some(detail) = p.get("detail").filter(|d| d.is_string()) {
                crate::json::set(&mut image, "detail", detail.clone());
            }
            Ok(Some(json!({"type": "image_url", "image_url": image})))
        }
        other => Err(invalid(
            format!("{at}: content type '{other}' is not supported for this deployment"),
            "input",
        )),
    }
}

/// Parts as chat content: a plain string when all are text (what every backend takes).
fn content(c: &Value, at: &str) -> Result<Value, GatewayError> {
    match c {
        Value::String(s) => Ok(Value::String(s.clone())),
        Value::Array(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for (i, p) in parts.iter().enumerate() {
                out.extend(part(p, &format!("{at}.content[{i}]"))?);
            }
            if out.iter().all(|p| p["type"] == "text") {
                let text: Vec<&str> = out.iter().filter_map(|p| p["text"].as_str()).collect();
                return Ok(Value::String(text.concat()));
            }
            Ok(Value::Array(out))
        }
        _ => Err(invalid(
            format!("{at}.content must be a string or a list of parts"),
            "input",
        )),
    }
}

/// Appends a tool call to the assistant message it belongs with (the last one, when it has
/// no tool result after it yet).
fn push_call(messages: &mut Vec<Value>, call: Value) {
    if let Some(last) = messages.last_mut() {
        if last["role"] == "assistant" {
            match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
                Some(calls) => calls.push(call),
                None => crate::json::set(last, "tool_calls", json!([call])),
            }
            return;
        }
    }
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call]}));
}

fn item(it: &Value, i: usize, messages: &mut Vec<Value>) -> Result<(), GatewayError> {
    let at = format!("input[{i}]");
    let kind = it.get("type").and_then(Value::as_str).unwrap_or("message");
    match kind {
        "message" => {
            let role = match it.get("role").and_then(Value::as_str) {
                Some("developer") => "system",
                Some(r @ ("user" | "assistant" | "system")) => r,
                _ => {
                    return Err(invalid(
                        format!("{at}: role must be user, assistant, system or developer"),
                        "input",
                    ))
                }
            };
            let c = content(it.get("content").unwrap_or(&Value::Null), &at)?;
            messages.push(json!({"role": role, "content": c}));
        }
        "function_call" => {
            let call_id = it
                .get("call_id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("{at}: function_call needs a call_id"), "input"))?;
            push_call(
                messages,
                json!({"id": call_id, "type": "function", "function": {
                    "name": it.get("name").and_then(Value::as_str).unwrap_or(""),
                    "arguments": it.get("arguments").and_then(Value::as_str).unwrap_or("{}"),
                }}),
            );
        }
        "function_call_output" => {
            let call_id = it.get("call_id").and_then(Value::as_str).ok_or_else(|| {
                invalid(
                    format!("{at}: function_call_output needs a call_id"),
                    "input",
                )
            })?;
            let output = match it.get("output") {
                Some(Value::String(s)) => Value::String(s.clone()),
                Some(parts @ Value::Array(_)) => content(parts, &at)?,
                Some(other) => Value::String(other.to_string()),
                None => Value::String(String::new()),
            };
            messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": output}));
        }
        // Reasoning from an earlier turn: chat backends take no reasoning input.
        "reasoning" => {}
        other => {
            return Err(invalid(
                format!("{at}: item type '{other}' is not supported for this deployment"),
                "input",
            ))
        }
    }
    Ok(())
}

fn tools(list: &[Value]) -> Result<Vec<Value>, GatewayError> {
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            match t.get("type").and_then(Value::as_str) {
                Some("function") => {}
                other => {
                    return Err(invalid(
                        format!(
                            "tools[{i}]: tool type '{}' is not supported for this deployment (function tools are)",
                            other.unwrap_or("")
                        ),
                        "tools",
                    ))
                }
            }
            let mut function = Map::new();
            for key in ["name", "description", "parameters", "strict"] {
                if let Some(v) = t.get(key).filter(|v| !v.is_null()) {
                    function.insert(key.into(), v.clone());
                }
            }
            Ok(json!({"type": "function", "function": function}))
        })
        .collect()
}

fn tool_choice(c: &Value) -> Result<Value, GatewayError> {
    match c {
        Value::String(s) if matches!(s.as_str(), "auto" | "none" | "required") => Ok(c.clone()),
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("function") => Ok(
            json!({"type": "function", "function": {"name": o.get("name").cloned().unwrap_or(Value::Null)}}),
        ),
        _ => Err(invalid(
            "tool_choice must be auto, none, required or a function",
            "tool_choice",
        )),
    }
}

/// `text.format` as a chat `response_format`.
fn response_format(format: &Value) -> Result<Option<Value>, GatewayError> {
    match format.get("type").and_then(Value::as_str) {
        None | Some("text") => Ok(None),
        Some("json_object") => Ok(Some(json!({"type": "json_object"}))),
        Some("json_schema") => {
            let mut schema = Map::new();
            for key in ["name", "schema", "strict", "description"] {
                if let Some(v) = format.get(key).filter(|v| !v.is_null()) {
                    schema.insert(key.into(), v.clone());
                }
            }
            Ok(Some(json!({"type": "json_schema", "json_schema": schema})))
        }
        Some(other) => Err(invalid(
            format!("text.format.type '{other}' is not supported"),
            "text",
        )),
    }
}

/// The turn as a chat request after `previous` (the stored conversation it continues).
pub fn to_chat(body: &Map<String, Value>, previous: Vec<Value>) -> Result<Turn, GatewayError> {
    let mut history = previous;
    match body.get("input") {
        Some(Value::String(s)) => history.push(json!({"role": "user", "content": s})),
        Some(Value::Array(items)) => {
            for (i, it) in items.iter().enumerate() {
                item(it, i, &mut history)?;
            }
        }
        None | Some(Value::Null) => {
            return Err(invalid("Missing required parameter: 'input'.", "input"))
        }
        Some(_) => {
            return Err(invalid(
                "input must be a string or a list of items",
                "input",
            ))
        }
    }
    let mut chat = Map::new();
    if let Some(m) = body.get("model") {
        chat.insert("model".into(), m.clone());
    }
    let mut messages = Vec::with_capacity(history.len() + 1);
    if let Some(instructions) = body
        .get("instructions")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        messages.push(json!({"role": "system", "content": instructions}));
    }
    messages.extend(history.iter().cloned());
    chat.insert("messages".into(), Value::Array(messages));
    if let Some(n) = body.get("max_output_tokens").filter(|v| !v.is_null()) {
        if !n.is_u64() {
            return Err(invalid(
                "max_output_tokens must be a positive integer",
                "max_output_tokens",
            ));
        }
        chat.insert("max_tokens".into(), n.clone());
    }
    if let Some(Value::Array(list)) = body.get("tools") {
        if !list.is_empty() {
            chat.insert("tools".into(), Value::Array(tools(list)?));
        }
    }
    if let Some(c) = body.get("tool_choice").filter(|v| !v.is_null()) {
        chat.insert("tool_choice".into(), tool_choice(c)?);
    }
    if let Some(effort) = body
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .filter(|e| e.is_string())
    {
        chat.insert("reasoning_effort".into(), effort.clone());
    }
    if let Some(format) = body.get("text").and_then(|t| t.get("format")) {
        if let Some(rf) = response_format(format)? {
            chat.insert("response_format".into(), rf);
        }
    }
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        chat.insert("stream".into(), json!(true));
        // response.completed carries the usage: ask every provider for it.
        chat.insert("stream_options".into(), json!({"include_usage": true}));
    }
    for (k, v) in body {
        if !READ.contains(&k.as_str()) {
            chat.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Ok(Turn { chat, history })
}
