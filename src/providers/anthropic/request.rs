//! An OpenAI chat request as a Messages API body.

use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;

use crate::openai::ids::random_hex;
use crate::providers::params::{arguments_object, check_params, data_url, image_url, text_of};
use crate::providers::ProviderKind;

/// The tool that carries a JSON answer: the Messages API has no `response_format`, so JSON mode
/// forces a call of this tool, whose input is the answer (as LiteLLM does).
pub const JSON_TOOL: &str = "json_tool_call";

/// Sent when the client gives no `max_tokens`: Anthropic requires one (LiteLLM's fallback).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// OpenAI parameters the Messages API has no equivalent for.
const UNSUPPORTED: &[&str] = &[
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "seed",
    "n>1",
    "modalities",
    "audio",
    "prediction",
    "functions",
    "function_call",
];

/// OpenAI fields translated here or meaningless upstream; never passed through as they are.
const HANDLED: &[&str] = &[
    "messages",
    "model",
    "response_format",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "temperature",
    "top_p",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "n",
    "store",
    "reasoning_effort",
    "service_tier",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
];

fn content_blocks(content: &Value) -> Vec<Value> {
    match content {
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        Value::Array(parts) => parts.iter().filter_map(content_part).collect(),
        _ => Vec::new(),
    }
}

fn content_part(part: &Value) -> Option<Value> {
    let kind = part.get("type").and_then(Value::as_str).unwrap_or("text");
    let mut block = match kind {
        "text" => {
            let text = part.get("text").and_then(Value::as_str)?;
            if text.is_empty() {
                return None;
            }
            json!({"type": "text", "text": text})
        }
        "image_url" => {
            let url = image_url(part)?;
            match data_url(url) {
                Some((mime, data)) => json!({"type": "image", "source":
                    {"type": "base64", "media_type": mime, "data": data}}),
                None => json!({"type": "image", "source": {"type": "url", "url": url}}),
            }
        }
        // Anthropic-native blocks (document, image, ...) sent by clients that know them.
        _ => part.clone(),
    };
    if let Some(cc) = part.get("cache_control") {
        crate::json::set(&mut block, "cache_control", cc.clone());
    }
    Some(block)
}

/// Appends a turn, merging it into the previous one when the role repeats (Anthropic requires
/// alternating roles).
fn push_turn(messages: &mut Vec<Value>, role: &str, blocks: Vec<Value>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut() {
        if last["role"] == role {
            if let Some(list) = last["content"].as_array_mut() {
                list.extend(blocks);
                return;
            }
        }
    }
    messages.push(json!({"role": role, "content": blocks}));
}

fn tool(t: &Value) -> Value {
    let f = t.get("function").unwrap_or(t);
    let mut out = json!({
        "name": f.get("name").cloned().unwrap_or(Value::Null),
        "input_schema": f.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    });
    if let Some(desc) = f.get("description") {
        crate::json::set(&mut out, "description", desc.clone());
    }
    if let Some(cc) = t.get("cache_control") {
        crate::json::set(&mut out, "cache_control", cc.clone());
    }
    out
}

fn tool_choice(choice: &Value, parallel: Option<bool>) -> Option<Value> {
    let mut out = match choice {
        Value::String(s) => match s.as_str() {
            "auto" => json!({"type": "auto"}),
            "required" | "any" => json!({"type": "any"}),
            "none" => json!({"type": "none"}),
            _ => return None,
        },
        Value::Object(o) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))?;
            json!({"type": "tool", "name": name})
        }
        _ => return None,
    };
    if parallel == Some(false) && out.get("type").and_then(Value::as_str) != Some("none") {
        crate::json::set(&mut out, "disable_parallel_tool_use", json!(true));
    }
    Some(out)
}

/// The Messages API body for an OpenAI chat request.
pub fn request_body(
    model: &str,
    body: &Map<String, Value>,
    stream: bool,
    drop_params: bool,
) -> Result<Value, AttemptError> {
    check_params(ProviderKind::Anthropic, body, UNSUPPORTED, drop_params)?;
    let mut system: Vec<Value> = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    let empty = Vec::new();
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        let content = m.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.extend(content_blocks(content)),
            "assistant" => {
                let mut blocks = content_blocks(content);
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .unwrap_or(&empty)
                {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.get("id").cloned().unwrap_or_else(|| json!(format!("toolu_{}", random_hex(24)))),
                        "name": call.pointer("/function/name").cloned().unwrap_or(Value::Null),
                        "input": arguments_object(call),
                    }));
                }
                push_turn(&mut messages, "assistant", blocks);
            }
            "tool" | "function" => {
                let result = json!({
                    "type": "tool_result",
                    "tool_use_id": m.get("tool_call_id").cloned().unwrap_or(Value::Null),
                    "content": match content {
                        Value::Array(_) => Value::Array(content_blocks(content)),
                        other => json!(text_of(other)),
                    },
                });
                push_turn(&mut messages, "user", vec![result]);
            }
            _ => push_turn(&mut messages, "user", content_blocks(content)),
        }
    }
    if messages.first().is_some_and(|m| m["role"] == "assistant") {
        // The Messages API must start with a user turn.
        #[allow(clippy::disallowed_methods)] // index 0 is always in range
        messages.insert(
            0,
            json!({"role": "user", "content": [{"type": "text", "text": "."}]}),
        );
    }
    let max_tokens = body
        .get("max_tokens")
        .or_else(|| body.get("max_completion_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    out.insert("messages".into(), Value::Array(messages));
    out.insert("max_tokens".into(), json!(max_tokens));
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    match body.get("stop") {
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(list)) if !list.is_empty() => {
            out.insert("stop_sequences".into(), Value::Array(list.clone()));
        }
        _ => {}
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut tools: Vec<Value> = body
        .get("tools")
        .and_then(Value::as_array)
        .map(|t| t.iter().map(tool).collect())
        .unwrap_or_default();
    let json_schema = json_mode_schema(body);
    if let Some(schema) = &json_schema {
        tools.push(json!({"name": JSON_TOOL, "description": "Answer with this tool: its input is the JSON answer.",
                          "input_schema": schema}));
    }
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
    }
    let parallel = body.get("parallel_tool_calls").and_then(Value::as_bool);
    if json_schema.is_some() {
        out.insert(
            "tool_choice".into(),
            json!({"type": "tool", "name": JSON_TOOL}),
        );
    } else if let Some(choice) = body
        .get("tool_choice")
        .and_then(|c| tool_choice(c, parallel))
    {
        out.insert("tool_choice".into(), choice);
    }
    if let Some(user) = body.get("user").and_then(Value::as_str) {
        out.insert("metadata".into(), json!({"user_id": user}));
    }
    if stream {
        out.insert("stream".into(), json!(true));
    }
    // Anthropic-native parameters (thinking, top_k, metadata, ...) pass through.
    for (k, v) in body {
        if !HANDLED.contains(&k.as_str()) && !UNSUPPORTED.contains(&k.as_str()) {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Ok(Value::Object(out))
}

/// The schema a JSON-mode request asks for (`response_format` json_schema, or any object for
/// json_object); `None` when the request wants text.
fn json_mode_schema(body: &Map<String, Value>) -> Option<Value> {
    let rf = body.get("response_format")?;
    match rf.get("type").and_then(Value::as_str)? {
        "json_schema" => Some(
            rf.pointer("/json_schema/schema")
                .cloned()
                .unwrap_or_else(|| json!({"type": "object"})),
        ),
        "json_object" => Some(json!({"type": "object"})),
        _ => None,
    }
}

/// Whether the answer comes back through the JSON tool (see `JSON_TOOL`).
pub fn json_mode(body: &Map<String, Value>) -> bool {
    json_mode_schema(body).is_some()
}
