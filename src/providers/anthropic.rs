//! Anthropic Messages API behind the OpenAI chat API: request, response and stream translation.
//! Wire format: `POST {api_base}/v1/messages`, `x-api-key`, `anthropic-version: 2023-06-01`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use super::openai::Endpoint;
use super::sse::SseEvent;
use super::translate::{
    arguments_object, check_params, data_url, image_url, malformed, random_hex, text_of, unix_now,
    ChunkHead, StreamItem, StreamTranslator, UpstreamCall,
};
use super::ProviderKind;
use crate::dispatch::usage::Usage;
use crate::settings::Deployment;

pub const API_VERSION: &str = "2023-06-01";
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

pub fn call(
    d: &Deployment,
    endpoint: Endpoint,
    body: &Map<String, Value>,
    stream: bool,
    drop_params: bool,
) -> Result<UpstreamCall, AttemptError> {
    if endpoint == Endpoint::Embeddings {
        return Err(AttemptError::new(
            ErrorClass::BadRequest,
            400,
            "BadRequestError: Anthropic has no embeddings API; route embeddings to another provider",
        ));
    }
    let base = d
        .api_base
        .as_deref()
        .or(ProviderKind::Anthropic.default_api_base())
        .unwrap_or_default()
        .trim_end_matches('/');
    // LiteLLM accepts an api_base with or without the path.
    let url = if base.ends_with("/v1/messages") {
        base.to_string()
    } else if base.ends_with("/v1") {
        format!("{base}/messages")
    } else {
        format!("{base}/v1/messages")
    };
    let mut headers = vec![
        ("anthropic-version".to_string(), API_VERSION.to_string()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    if let Some(k) = &d.api_key {
        headers.push(("x-api-key".into(), k.expose().to_string()));
    }
    headers.extend(d.extra_headers.iter().cloned());
    let body = request_body(&d.upstream_model, body, stream, drop_params)?;
    Ok(UpstreamCall {
        url,
        headers,
        body: serde_json::to_vec(&body).unwrap_or_default(),
    })
}

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

pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

#[derive(Serialize)]
struct CachedTokens {
    cached_tokens: u64,
}

/// OpenAI usage, as LiteLLM reports Anthropic's: prompt = input + cache reads.
#[derive(Serialize)]
struct OutUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: CachedTokens,
    cache_read_input_tokens: u64,
    cache_creation_input_tokens: u64,
}

fn usage(u: &Value) -> (OutUsage, Usage) {
    let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (get("input_tokens"), get("output_tokens"));
    let (read, created) = (
        get("cache_read_input_tokens"),
        get("cache_creation_input_tokens"),
    );
    let prompt = input.saturating_add(read);
    let out = OutUsage {
        prompt_tokens: prompt,
        completion_tokens: output,
        total_tokens: prompt.saturating_add(output),
        prompt_tokens_details: CachedTokens {
            cached_tokens: read,
        },
        cache_read_input_tokens: read,
        cache_creation_input_tokens: created,
    };
    let u = Usage::counted(prompt, output, None);
    (out, u)
}

fn chat_id(message_id: Option<&str>) -> String {
    match message_id {
        Some(id) => format!("chatcmpl-{}", id.trim_start_matches("msg_")),
        None => format!("chatcmpl-{}", random_hex(24)),
    }
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Vec<Block<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct Completion<'a> {
    id: String,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: OutUsage,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: OutMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct OutMessage<'a> {
    role: &'static str,
    content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<OutToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<String>,
}

#[derive(Serialize)]
struct OutToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: OutFunction<'a>,
}

#[derive(Serialize)]
struct OutFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

/// A Messages API answer as an OpenAI `chat.completion` (typed both ways: building a `Value`
/// tree cost a quarter of the translated request's throughput).
pub fn response(
    body: &[u8],
    model: &str,
    json_mode: bool,
) -> Result<(Vec<u8>, Usage), AttemptError> {
    let m: Message = serde_json::from_slice(body)
        .map_err(|_| malformed(ProviderKind::Anthropic, "not a Messages API answer"))?;
    let mut text = String::new();
    let mut thinking = String::new();
    let mut tool_calls = Vec::new();
    for b in &m.content {
        match b.kind.as_ref() {
            "text" => text.push_str(b.text.as_deref().unwrap_or("")),
            "thinking" => thinking.push_str(b.thinking.as_deref().unwrap_or("")),
            "tool_use" if json_mode && b.name.as_deref() == Some(JSON_TOOL) => {
                text.push_str(b.input.map_or("{}", |r| r.get()))
            }
            "tool_use" => tool_calls.push(OutToolCall {
                id: b.id.as_deref().unwrap_or(""),
                kind: "function",
                function: OutFunction {
                    name: b.name.as_deref().unwrap_or(""),
                    arguments: b.input.map_or("{}", |r| r.get()),
                },
            }),
            _ => {}
        }
    }
    let no_calls = tool_calls.is_empty();
    let content = if text.is_empty() && !tool_calls.is_empty() {
        None
    } else {
        Some(text)
    };
    let (usage_json, usage) = usage(m.usage.as_ref().unwrap_or(&Value::Null));
    let out = Completion {
        id: chat_id(m.id.as_deref()),
        object: "chat.completion",
        created: unix_now(),
        model,
        choices: [Choice {
            index: 0,
            message: OutMessage {
                role: "assistant",
                content,
                tool_calls,
                reasoning_content: (!thinking.is_empty()).then_some(thinking),
            },
            logprobs: None,
            finish_reason: match finish_reason(m.stop_reason.as_deref().unwrap_or("end_turn")) {
                // The forced JSON tool call is the answer itself.
                "tool_calls" if json_mode && no_calls => "stop",
                other => other,
            },
        }],
        usage: usage_json,
    };
    let bytes = serde_json::to_vec(&out)
        .map_err(|_| malformed(ProviderKind::Anthropic, "unserialisable answer"))?;
    Ok((bytes, usage))
}

/// Anthropic's SSE events as OpenAI chunks.
pub struct AnthropicStream {
    head: Option<ChunkHead>,
    model: String,
    /// Content block index → tool call index, for tool-use blocks.
    tool_blocks: Vec<(u64, u64)>,
    input_usage: Value,
    output_tokens: u64,
    finish: Option<&'static str>,
    sent_role: bool,
    /// JSON mode: the forced JSON tool's block, whose input streams as the answer's content.
    json_mode: bool,
    json_block: Option<u64>,
}

impl AnthropicStream {
    pub fn new(model: &str, json_mode: bool) -> Self {
        Self {
            head: None,
            model: model.to_string(),
            tool_blocks: Vec::new(),
            input_usage: Value::Null,
            output_tokens: 0,
            finish: None,
            sent_role: false,
            json_mode,
            json_block: None,
        }
    }

    /// A content delta; the first one carries the role, as OpenAI's first chunk does.
    fn emit(&mut self, mut delta: Value, out: &mut Vec<StreamItem>) {
        if !self.sent_role {
            self.sent_role = true;
            crate::json::set(&mut delta, "role", json!("assistant"));
        }
        out.push(StreamItem::Chunk(self.head(None).delta(0, delta, None)));
    }

    fn head(&mut self, message_id: Option<&str>) -> &ChunkHead {
        let model = self.model.clone();
        self.head
            .get_or_insert_with(|| ChunkHead::new(chat_id(message_id), &model))
    }
}

/// An `error` event or error body as a router error class.
pub fn stream_error(error: &Value) -> AttemptError {
    let kind = error
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("api_error");
    let message = error.get("message").and_then(Value::as_str).unwrap_or(kind);
    let class = match kind {
        "rate_limit_error" => ErrorClass::RateLimit,
        "overloaded_error" | "api_error" => ErrorClass::InternalServer,
        "authentication_error" => ErrorClass::Authentication,
        "permission_error" => ErrorClass::PermissionDenied,
        "not_found_error" => ErrorClass::NotFound,
        "request_too_large" => ErrorClass::ContextWindowExceeded,
        _ => ErrorClass::BadRequest,
    };
    AttemptError::new(
        class,
        class.client_status(),
        format!("{}: AnthropicException - {message}", class.name()),
    )
}

impl StreamTranslator for AnthropicStream {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            return Ok(());
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(ev.event.as_deref())
            .unwrap_or("");
        match kind {
            "message_start" => {
                let message = v.get("message").unwrap_or(&Value::Null);
                self.input_usage = message.get("usage").cloned().unwrap_or(Value::Null);
                // Nothing is sent yet: an error before the first content can still be retried.
                self.head(message.get("id").and_then(Value::as_str));
            }
            "content_block_start" => {
                let block = v.get("content_block").unwrap_or(&Value::Null);
                let is_tool = block.get("type").and_then(Value::as_str) == Some("tool_use");
                if is_tool
                    && self.json_mode
                    && block.get("name").and_then(Value::as_str) == Some(JSON_TOOL)
                {
                    self.json_block = v.get("index").and_then(Value::as_u64).or(Some(0));
                } else if is_tool {
                    let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let tool_index = self.tool_blocks.len() as u64;
                    self.tool_blocks.push((index, tool_index));
                    let delta = json!({"tool_calls": [{"index": tool_index, "id": block.get("id"),
                        "type": "function", "function": {"name": block.get("name"), "arguments": ""}}]});
                    self.emit(delta, out);
                }
            }
            "content_block_delta" => {
                let delta = v.get("delta").unwrap_or(&Value::Null);
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let openai_delta = match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => json!({"content": delta.get("text")}),
                    Some("thinking_delta") => json!({"reasoning_content": delta.get("thinking")}),
                    Some("input_json_delta") if self.json_block == Some(index) => {
                        json!({"content": delta.get("partial_json")})
                    }
                    Some("input_json_delta") => {
                        let Some(&(_, tool_index)) =
                            self.tool_blocks.iter().find(|(b, _)| *b == index)
                        else {
                            return Ok(());
                        };
                        json!({"tool_calls": [{"index": tool_index,
                            "function": {"arguments": delta.get("partial_json")}}]})
                    }
                    _ => return Ok(()),
                };
                self.emit(openai_delta, out);
            }
            "message_delta" => {
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.finish = Some(match finish_reason(r) {
                        "tool_calls"
                            if self.json_block.is_some() && self.tool_blocks.is_empty() =>
                        {
                            "stop"
                        }
                        other => other,
                    });
                }
                if let Some(n) = v.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                    self.output_tokens = n;
                }
            }
            "message_stop" => {
                let finish = self.finish.unwrap_or("stop");
                let mut u = self.input_usage.clone();
                if !u.is_object() {
                    u = json!({});
                }
                crate::json::set(&mut u, "output_tokens", json!(self.output_tokens));
                let usage_json = serde_json::to_value(usage(&u).0).unwrap_or_default();
                let head = self.head(None);
                out.push(StreamItem::Chunk(head.delta(0, json!({}), Some(finish))));
                out.push(StreamItem::Chunk(head.chunk(json!([]), Some(usage_json))));
                out.push(StreamItem::Done);
            }
            "error" => return Err(stream_error(v.get("error").unwrap_or(&Value::Null))),
            _ => {}
        }
        Ok(())
    }
}
