//! Google Gemini (AI Studio) behind the OpenAI API: `generateContent`,
//! `streamGenerateContent?alt=sse` and `batchEmbedContents`, key in `x-goog-api-key`.
//! Unlike LiteLLM, system messages always become `systemInstruction`, and a stream keeps one id.

use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use super::openai::Endpoint;
use super::sse::SseEvent;
use super::translate::{
    arguments_object, check_params, completion, data_url, image_url, malformed, mime_from_url,
    random_hex, text_of, usage_json, ChunkHead, StreamItem, StreamTranslator, UpstreamCall,
};
use super::ProviderKind;
use crate::dispatch::usage::Usage;
use crate::settings::Deployment;

const UNSUPPORTED: &[&str] = &[
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "modalities",
    "audio",
    "prediction",
    "functions",
    "function_call",
];

/// JSON Schema keywords Gemini's `parameters` schema rejects.
const SCHEMA_DROP: &[&str] = &["additionalProperties", "$schema", "strict", "$id", "$defs"];

pub fn call(
    d: &Deployment,
    endpoint: Endpoint,
    body: &Map<String, Value>,
    stream: bool,
    drop_params: bool,
) -> Result<UpstreamCall, AttemptError> {
    let base = d
        .api_base
        .as_deref()
        .or(ProviderKind::Gemini.default_api_base())
        .unwrap_or_default()
        .trim_end_matches('/');
    let model = d.upstream_model.trim_start_matches("models/");
    let (url, body) = match endpoint {
        Endpoint::Embeddings => (
            format!("{base}/models/{model}:batchEmbedContents"),
            embeddings_body(model, body)?,
        ),
        Endpoint::Chat if stream => (
            format!("{base}/models/{model}:streamGenerateContent?alt=sse"),
            request_body(body, drop_params)?,
        ),
        Endpoint::Chat => (
            format!("{base}/models/{model}:generateContent"),
            request_body(body, drop_params)?,
        ),
    };
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(k) = &d.api_key {
        headers.push(("x-goog-api-key".into(), k.expose().to_string()));
    }
    headers.extend(d.extra_headers.iter().cloned());
    Ok(UpstreamCall {
        url,
        headers,
        body: serde_json::to_vec(&body).unwrap_or_default(),
    })
}

fn clean_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !SCHEMA_DROP.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), clean_schema(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(clean_schema).collect()),
        other => other.clone(),
    }
}

fn parts(content: &Value) -> Vec<Value> {
    match content {
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => vec![json!({"text": s})],
        Value::Array(items) => items
            .iter()
            .filter_map(|p| match p.get("type").and_then(Value::as_str).unwrap_or("text") {
                "text" => p
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(|t| json!({"text": t})),
                "image_url" => {
                    let url = image_url(p)?;
                    Some(match data_url(url) {
                        Some((mime, data)) => json!({"inlineData": {"mimeType": mime, "data": data}}),
                        None => json!({"fileData": {"mimeType": mime_from_url(url), "fileUri": url}}),
                    })
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Appends a turn, merging same-role neighbours as Gemini expects.
fn push_turn(contents: &mut Vec<Value>, role: &str, new: Vec<Value>) {
    if new.is_empty() {
        return;
    }
    if let Some(last) = contents.last_mut() {
        if last["role"] == role {
            if let Some(list) = last["parts"].as_array_mut() {
                list.extend(new);
                return;
            }
        }
    }
    contents.push(json!({"role": role, "parts": new}));
}

fn function_response(content: &Value, name: &str) -> Value {
    let text = text_of(content);
    let response = serde_json::from_str::<Value>(&text)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"content": text}));
    json!({"functionResponse": {"name": name, "response": response}})
}

fn tool_config(choice: &Value) -> Option<Value> {
    let config = match choice {
        Value::String(s) => match s.as_str() {
            "auto" => json!({"mode": "AUTO"}),
            "required" => json!({"mode": "ANY"}),
            "none" => json!({"mode": "NONE"}),
            _ => return None,
        },
        Value::Object(o) => {
            let name = o.get("function").and_then(|f| f.get("name"))?;
            json!({"mode": "ANY", "allowedFunctionNames": [name]})
        }
        _ => return None,
    };
    Some(json!({"functionCallingConfig": config}))
}

/// The `generateContent` body for an OpenAI chat request.
pub fn request_body(body: &Map<String, Value>, drop_params: bool) -> Result<Value, AttemptError> {
    check_params(ProviderKind::Gemini, body, UNSUPPORTED, drop_params)?;
    let mut system = Vec::new();
    let mut contents: Vec<Value> = Vec::new();
    // Gemini names the function in its result; OpenAI names only the call id.
    let mut call_names: Vec<(String, String)> = Vec::new();
    let empty = Vec::new();
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("user");
        let content = m.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.extend(parts(content)),
            "assistant" => {
                let mut p = parts(content);
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .unwrap_or(&empty)
                {
                    let name = call
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    if let Some(id) = call.get("id").and_then(Value::as_str) {
                        call_names.push((id.to_string(), name.clone()));
                    }
                    p.push(json!({"functionCall": {"name": name, "args": arguments_object(call)}}));
                }
                push_turn(&mut contents, "model", p);
            }
            "tool" | "function" => {
                let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
                let name = m
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        call_names
                            .iter()
                            .find(|(i, _)| i == id)
                            .map(|(_, n)| n.clone())
                    })
                    .unwrap_or_default();
                push_turn(
                    &mut contents,
                    "user",
                    vec![function_response(content, &name)],
                );
            }
            _ => push_turn(&mut contents, "user", parts(content)),
        }
    }
    let mut out = Map::new();
    out.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        out.insert("systemInstruction".into(), json!({"parts": system}));
    }
    let mut config = Map::new();
    let copy = |config: &mut Map<String, Value>, from: &str, to: &str| {
        if let Some(v) = body.get(from).filter(|v| !v.is_null()) {
            config.insert(to.into(), v.clone());
        }
    };
    copy(&mut config, "temperature", "temperature");
    copy(&mut config, "top_p", "topP");
    copy(&mut config, "top_k", "topK");
    copy(&mut config, "max_completion_tokens", "maxOutputTokens");
    copy(&mut config, "max_tokens", "maxOutputTokens");
    copy(&mut config, "n", "candidateCount");
    copy(&mut config, "seed", "seed");
    copy(&mut config, "presence_penalty", "presencePenalty");
    copy(&mut config, "frequency_penalty", "frequencyPenalty");
    match body.get("stop") {
        Some(Value::String(s)) => {
            config.insert("stopSequences".into(), json!([s]));
        }
        Some(Value::Array(list)) if !list.is_empty() => {
            config.insert("stopSequences".into(), Value::Array(list.clone()));
        }
        _ => {}
    }
    if let Some(rf) = body.get("response_format") {
        match rf.get("type").and_then(Value::as_str) {
            Some("json_object") => {
                config.insert("responseMimeType".into(), json!("application/json"));
            }
            Some("json_schema") => {
                config.insert("responseMimeType".into(), json!("application/json"));
                if let Some(schema) = rf.pointer("/json_schema/schema") {
                    config.insert("responseJsonSchema".into(), schema.clone());
                }
            }
            _ => {}
        }
    }
    if !config.is_empty() {
        out.insert("generationConfig".into(), Value::Object(config));
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        let declarations: Vec<Value> = tools
            .iter()
            .filter_map(|t| t.get("function"))
            .map(|f| {
                let mut decl = json!({"name": f.get("name")});
                if let Some(d) = f.get("description") {
                    crate::json::set(&mut decl, "description", d.clone());
                }
                if let Some(p) = f.get("parameters") {
                    crate::json::set(&mut decl, "parameters", clean_schema(p));
                }
                decl
            })
            .collect();
        if !declarations.is_empty() {
            out.insert(
                "tools".into(),
                json!([{"functionDeclarations": declarations}]),
            );
        }
    }
    if let Some(tc) = body.get("tool_choice").and_then(tool_config) {
        out.insert("toolConfig".into(), tc);
    }
    // Gemini-native fields (safetySettings, cachedContent, ...) pass through.
    for key in [
        "safetySettings",
        "safety_settings",
        "cachedContent",
        "labels",
    ] {
        if let Some(v) = body.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

fn embeddings_body(model: &str, body: &Map<String, Value>) -> Result<Value, AttemptError> {
    let texts: Vec<&str> = match body.get("input") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).collect()
        }
        _ => {
            return Err(AttemptError::new(
                ErrorClass::BadRequest,
                400,
                "BadRequestError: gemini embeddings take text input (a string or a list of strings), not token ids",
            ))
        }
    };
    let dims = body.get("dimensions").and_then(Value::as_u64);
    let requests: Vec<Value> = texts
        .iter()
        .map(|t| {
            let mut r =
                json!({"model": format!("models/{model}"), "content": {"parts": [{"text": t}]}});
            if let Some(n) = dims {
                crate::json::set(&mut r, "outputDimensionality", json!(n));
            }
            r
        })
        .collect();
    Ok(json!({"requests": requests}))
}

/// `batchEmbedContents` answer as an OpenAI embeddings list.
pub fn embeddings_response(body: &[u8], model: &str) -> Result<(Value, Usage), AttemptError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed(ProviderKind::Gemini, "not JSON"))?;
    let list = v
        .get("embeddings")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(ProviderKind::Gemini, "no embeddings"))?;
    let data: Vec<Value> = list
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"object": "embedding", "index": i, "embedding": e.get("values").cloned().unwrap_or(json!([]))}))
        .collect();
    let out = json!({"object": "list", "data": data, "model": model, "usage": usage_json(0, 0)});
    Ok((out, Usage::default()))
}

pub fn finish_reason(reason: &str, has_calls: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "OTHER"
        | "IMAGE_SAFETY" | "LANGUAGE" => "content_filter",
        _ if has_calls => "tool_calls",
        _ => "stop",
    }
}

fn usage(v: &Value) -> Option<(Value, Usage)> {
    let u = v.get("usageMetadata")?;
    let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let prompt = get("promptTokenCount");
    // Thinking tokens are billed as output.
    let completion = get("candidatesTokenCount") + get("thoughtsTokenCount");
    let mut j = usage_json(prompt, completion);
    if let Some(cached) = u.get("cachedContentTokenCount") {
        crate::json::set(
            &mut j,
            "prompt_tokens_details",
            json!({"cached_tokens": cached}),
        );
    }
    Some((j, Usage::counted(prompt, completion, None)))
}

/// A prompt Gemini refused outright (no candidates): a content-policy error, so
/// `content_policy_fallbacks` apply.
fn blocked(v: &Value) -> Option<AttemptError> {
    let has_candidates = v
        .get("candidates")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    let reason = v.pointer("/promptFeedback/blockReason")?.as_str()?;
    (!has_candidates).then(|| {
        AttemptError::new(
            ErrorClass::ContentPolicyViolation,
            400,
            format!(
                "ContentPolicyViolationError: GeminiException - the prompt was blocked ({reason})"
            ),
        )
    })
}

struct CandidateParts {
    text: String,
    thought: String,
    calls: Vec<Value>,
}

fn candidate_parts(c: &Value, next_call: &mut u64) -> CandidateParts {
    let mut out = CandidateParts {
        text: String::new(),
        thought: String::new(),
        calls: Vec::new(),
    };
    for p in c
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = p.get("text").and_then(Value::as_str) {
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                out.thought.push_str(t);
            } else {
                out.text.push_str(t);
            }
        }
        if let Some(f) = p.get("functionCall") {
            let args = f.get("args").cloned().unwrap_or_else(|| json!({}));
            out.calls.push(json!({"index": *next_call, "id": format!("call_{}", random_hex(24)),
                "type": "function", "function": {"name": f.get("name"), "arguments": args.to_string()}}));
            *next_call += 1;
        }
    }
    out
}

fn chat_id(v: &Value) -> String {
    match v.get("responseId").and_then(Value::as_str) {
        Some(id) => format!("chatcmpl-{id}"),
        None => format!("chatcmpl-{}", random_hex(24)),
    }
}

/// A `generateContent` answer as an OpenAI `chat.completion`.
pub fn response(body: &[u8], model: &str) -> Result<(Value, Usage), AttemptError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed(ProviderKind::Gemini, "not JSON"))?;
    if let Some(e) = blocked(&v) {
        return Err(e);
    }
    let candidates = v
        .get("candidates")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(ProviderKind::Gemini, "no candidates"))?;
    let choices: Vec<Value> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut next_call = 0;
            let p = candidate_parts(c, &mut next_call);
            let mut message = json!({"role": "assistant",
                "content": if p.text.is_empty() && !p.calls.is_empty() { Value::Null } else { json!(p.text) }});
            let finish = finish_reason(
                c.get("finishReason").and_then(Value::as_str).unwrap_or("STOP"),
                !p.calls.is_empty(),
            );
            if !p.calls.is_empty() {
                let calls: Vec<Value> = p
                    .calls
                    .into_iter()
                    .map(|mut c| {
                        c.as_object_mut().map(|o| o.remove("index"));
                        c
                    })
                    .collect();
                crate::json::set(&mut message, "tool_calls", Value::Array(calls));
            }
            if !p.thought.is_empty() {
                crate::json::set(&mut message, "reasoning_content", json!(p.thought));
            }
            let index = c.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
            json!({"index": index, "message": message, "logprobs": null, "finish_reason": finish})
        })
        .collect();
    let (usage_json, usage) = usage(&v).unwrap_or_else(|| (usage_json(0, 0), Usage::default()));
    Ok((completion(&chat_id(&v), model, choices, usage_json), usage))
}

/// Gemini's SSE stream (each event a partial `GenerateContentResponse`) as OpenAI chunks.
pub struct GeminiStream {
    head: Option<ChunkHead>,
    model: String,
    /// Per candidate: tool calls seen so far, and whether the role was sent.
    calls: Vec<u64>,
    sent_role: Vec<bool>,
    finished: bool,
}

impl GeminiStream {
    pub fn new(model: &str) -> Self {
        Self {
            head: None,
            model: model.to_string(),
            calls: Vec::new(),
            sent_role: Vec::new(),
            finished: false,
        }
    }
}

impl StreamTranslator for GeminiStream {
    fn event(&mut self, ev: &SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            return Ok(());
        };
        if let Some(err) = v.get("error") {
            let status = err
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(500);
            let class = ErrorClass::from_status(status.clamp(400, 599));
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("stream error");
            return Err(AttemptError::new(
                class,
                class.client_status(),
                format!("{}: GeminiException - {message}", class.name()),
            ));
        }
        if let Some(e) = blocked(&v) {
            return Err(e);
        }
        let model = self.model.clone();
        // One id for the whole stream (LiteLLM's Gemini chunks change id mid-stream).
        let head = self
            .head
            .get_or_insert_with(|| ChunkHead::new(chat_id(&v), &model));
        let mut finishes = Vec::new();
        for (i, c) in v
            .get("candidates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let index = c
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or_else(|| u64::try_from(i).unwrap_or(u64::MAX));
            let Some(slot) = usize::try_from(index).ok().filter(|s| *s <= 128) else {
                continue;
            };
            if self.calls.len() <= slot {
                self.calls.resize(slot + 1, 0);
                self.sent_role.resize(slot + 1, false);
            }
            let Some(calls) = self.calls.get_mut(slot) else {
                continue;
            };
            let p = candidate_parts(c, calls);
            let call_count = *calls;
            let mut delta = Map::new();
            if !p.text.is_empty() {
                delta.insert("content".into(), json!(p.text));
            }
            if !p.thought.is_empty() {
                delta.insert("reasoning_content".into(), json!(p.thought));
            }
            if !p.calls.is_empty() {
                delta.insert("tool_calls".into(), Value::Array(p.calls));
            }
            if !delta.is_empty() {
                if let Some(sent @ false) = self.sent_role.get_mut(slot) {
                    *sent = true;
                    delta.insert("role".into(), json!("assistant"));
                }
                out.push(StreamItem::Chunk(head.delta(
                    index,
                    Value::Object(delta),
                    None,
                )));
            }
            if let Some(r) = c.get("finishReason").and_then(Value::as_str) {
                finishes.push((index, finish_reason(r, call_count > 0)));
            }
        }
        for (index, finish) in &finishes {
            out.push(StreamItem::Chunk(head.delta(
                *index,
                json!({}),
                Some(finish),
            )));
        }
        if !finishes.is_empty() && !self.finished {
            self.finished = true;
            if let Some((u, _)) = usage(&v) {
                out.push(StreamItem::Chunk(head.chunk(json!([]), Some(u))));
            }
        }
        Ok(())
    }
}
