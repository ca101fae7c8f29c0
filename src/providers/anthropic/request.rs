//! An OpenAI chat request as a Messages API body.

use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;

use crate::openai::ids::random_hex;
use crate::openai::request::{
    ChatRequest, Content, Message, Part, ResponseFormat, Tool, ToolChoice,
};
use crate::providers::params::{check_params, data_url, push_turn};
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

fn content_blocks(content: &Content<'_>) -> Vec<Value> {
    match content {
        Content::Text("") | Content::Empty => Vec::new(),
        Content::Text(s) => vec![json!({"type": "text", "text": s})],
        Content::Parts(parts) => parts.iter().filter_map(content_part).collect(),
    }
}

fn content_part(part: &Part<'_>) -> Option<Value> {
    let (mut block, cache_control) = match part {
        Part::Text { text: "", .. } => return None,
        Part::Text {
            text,
            cache_control,
        } => (json!({"type": "text", "text": text}), cache_control),
        Part::Image { url, cache_control } => (
            match data_url(url) {
                Some((mime, data)) => json!({"type": "image", "source":
                    {"type": "base64", "media_type": mime, "data": data}}),
                None => json!({"type": "image", "source": {"type": "url", "url": url}}),
            },
            cache_control,
        ),
        // Anthropic-native blocks (document, image, ...) sent by clients that know them.
        Part::Other(v) => return Some((*v).clone()),
    };
    if let Some(cc) = cache_control {
        crate::json::set(&mut block, "cache_control", (*cc).clone());
    }
    Some(block)
}

fn tool(t: &Tool<'_>) -> Value {
    let mut out = json!({
        "name": t.name,
        "input_schema": t.parameters.cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
    });
    if let Some(desc) = t.description {
        crate::json::set(&mut out, "description", desc.clone());
    }
    if let Some(cc) = t.cache_control {
        crate::json::set(&mut out, "cache_control", cc.clone());
    }
    out
}

fn tool_choice(choice: &ToolChoice<'_>, parallel: Option<bool>) -> Value {
    let mut out = match choice {
        ToolChoice::Auto => json!({"type": "auto"}),
        ToolChoice::Required => json!({"type": "any"}),
        ToolChoice::None => json!({"type": "none"}),
        ToolChoice::Function(name) => json!({"type": "tool", "name": name}),
    };
    if parallel == Some(false) && !matches!(choice, ToolChoice::None) {
        crate::json::set(&mut out, "disable_parallel_tool_use", json!(true));
    }
    out
}

/// The `messages` and `system` of a Messages API request.
fn turns(req: &ChatRequest<'_>) -> (Vec<Value>, Vec<(&'static str, Vec<Value>)>) {
    let mut system: Vec<Value> = Vec::new();
    let mut messages = Vec::new();
    for m in &req.messages {
        match m {
            Message::System(content) => system.extend(content_blocks(content)),
            Message::User(content) => push_turn(&mut messages, "user", content_blocks(content)),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks = content_blocks(content);
                for call in tool_calls {
                    blocks.push(json!({
                        "type": "tool_use",
                        "id": call.id.map_or_else(|| format!("toolu_{}", random_hex(24)), str::to_string),
                        "name": call.name,
                        "input": call.arguments_object(),
                    }));
                }
                push_turn(&mut messages, "assistant", blocks);
            }
            Message::Tool {
                content,
                tool_call_id,
                ..
            } => {
                let result = json!({
                    "type": "tool_result",
                    "tool_use_id": tool_call_id,
                    "content": match content {
                        Content::Parts(_) => Value::Array(content_blocks(content)),
                        other => json!(other.text()),
                    },
                });
                push_turn(&mut messages, "user", vec![result]);
            }
        }
    }
    if messages
        .first()
        .is_some_and(|(role, _)| *role == "assistant")
    {
        // The Messages API must start with a user turn.
        #[allow(clippy::disallowed_methods)] // index 0 is always in range
        messages.insert(0, ("user", vec![json!({"type": "text", "text": "."})]));
    }
    (system, messages)
}

/// The Messages API body for an OpenAI chat request.
pub fn request_body(
    model: &str,
    body: &Map<String, Value>,
    stream: bool,
    drop_params: bool,
) -> Result<Value, AttemptError> {
    check_params(ProviderKind::Anthropic, body, UNSUPPORTED, drop_params)?;
    let req = ChatRequest::read(body);
    let (system, messages) = turns(&req);
    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    out.insert(
        "messages".into(),
        Value::Array(
            messages
                .into_iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect(),
        ),
    );
    out.insert(
        "max_tokens".into(),
        json!(req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
    );
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    if !req.stop.is_empty() {
        out.insert("stop_sequences".into(), json!(req.stop));
    }
    for key in ["temperature", "top_p"] {
        if let Some(v) = req.param(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut tools: Vec<Value> = req.tools.iter().map(tool).collect();
    let json_schema = json_mode_schema(&req.response_format);
    if let Some(schema) = &json_schema {
        tools.push(json!({"name": JSON_TOOL, "description": "Answer with this tool: its input is the JSON answer.",
                          "input_schema": schema}));
    }
    if !tools.is_empty() {
        out.insert("tools".into(), Value::Array(tools));
    }
    if json_schema.is_some() {
        out.insert(
            "tool_choice".into(),
            json!({"type": "tool", "name": JSON_TOOL}),
        );
    } else if let Some(choice) = &req.tool_choice {
        out.insert(
            "tool_choice".into(),
            tool_choice(choice, req.parallel_tool_calls),
        );
    }
    if let Some(user) = req.user {
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
fn json_mode_schema(format: &ResponseFormat<'_>) -> Option<Value> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject | ResponseFormat::JsonSchema(None) => {
            Some(json!({"type": "object"}))
        }
        ResponseFormat::JsonSchema(Some(schema)) => Some((*schema).clone()),
    }
}

/// Whether the answer comes back through the JSON tool (see `JSON_TOOL`).
pub fn json_mode(body: &Map<String, Value>) -> bool {
    ResponseFormat::read(body.get("response_format")).is_json()
}
