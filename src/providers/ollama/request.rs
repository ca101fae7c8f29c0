//! OpenAI requests as Ollama bodies. Sampling parameters go in `options`
//! (`max_tokens` → `num_predict`); JSON mode is `format`; `stream` is always sent (Ollama
//! streams by default).

use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;

use crate::openai::request::{ChatRequest, Content, Message, Part, ResponseFormat};
use crate::openai::Endpoint;
use crate::providers::params::{data_url, text_inputs};
use crate::providers::upstream::Upstream;

/// Ollama's own sampling and runtime options, passed into `options` when a client sends them.
const NATIVE_OPTIONS: &[&str] = &[
    "num_ctx",
    "num_keep",
    "num_batch",
    "num_gpu",
    "main_gpu",
    "num_thread",
    "top_k",
    "min_p",
    "typical_p",
    "repeat_last_n",
    "repeat_penalty",
    "mirostat",
    "mirostat_tau",
    "mirostat_eta",
    "tfs_z",
    "penalize_newline",
    "use_mmap",
    "numa",
];

/// `options` from the OpenAI sampling parameters and Ollama's own.
fn options(req: &ChatRequest<'_>, frequency_penalty_as: &str) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(n) = req.max_tokens {
        out.insert("num_predict".into(), json!(n));
    }
    for key in ["temperature", "top_p", "seed"] {
        if let Some(v) = req.param(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(v) = req.param("frequency_penalty") {
        out.insert(frequency_penalty_as.into(), v.clone());
    }
    if !req.stop.is_empty() {
        out.insert("stop".into(), json!(req.stop));
    }
    for key in NATIVE_OPTIONS {
        if let Some(v) = req.param(key) {
            out.entry(key.to_string()).or_insert_with(|| v.clone());
        }
    }
    if let Some(Value::Object(extra)) = req.param("options") {
        for (k, v) in extra {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    out
}

/// The top-level fields both APIs share: `format`, `keep_alive`, `think`, `stream`.
fn common(
    out: &mut Map<String, Value>,
    d: &Upstream,
    req: &ChatRequest<'_>,
    opts: Map<String, Value>,
    stream: bool,
) {
    out.insert("model".into(), json!(d.model));
    match &req.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject | ResponseFormat::JsonSchema(None) => {
            out.insert("format".into(), json!("json"));
        }
        ResponseFormat::JsonSchema(Some(schema)) => {
            out.insert("format".into(), (*schema).clone());
        }
    }
    if let Some(v) = req.param("keep_alive") {
        out.insert("keep_alive".into(), v.clone());
    }
    if let Some(effort) = req.param("reasoning_effort").and_then(Value::as_str) {
        out.insert(
            "think".into(),
            json!(matches!(effort, "low" | "medium" | "high")),
        );
    }
    let mut opts = opts;
    for (k, v) in &d.default_params {
        if NATIVE_OPTIONS.contains(&k.as_str()) {
            opts.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if !opts.is_empty() {
        out.insert("options".into(), Value::Object(opts));
    }
    out.insert("stream".into(), json!(stream));
}

/// Base64 payloads of a message's images (data URLs; remote images were inlined before).
fn images(content: &Content<'_>) -> Vec<Value> {
    let Content::Parts(parts) = content else {
        return Vec::new();
    };
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Image { url, .. } => Some(json!(data_url(url).map_or(*url, |(_, data)| data))),
            _ => None,
        })
        .collect()
}

fn chat_message(m: &Message<'_>, call_names: &mut Vec<(String, String)>) -> Value {
    let (role, content) = match m {
        Message::System(c) => ("system", c),
        Message::User(c) => ("user", c),
        Message::Assistant { content, .. } => ("assistant", content),
        Message::Tool { content, .. } => ("tool", content),
    };
    let mut out = Map::new();
    out.insert("role".into(), json!(role));
    out.insert("content".into(), json!(content.text()));
    let imgs = images(content);
    if !imgs.is_empty() {
        out.insert("images".into(), Value::Array(imgs));
    }
    match m {
        Message::Assistant { tool_calls, .. } if !tool_calls.is_empty() => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|c| {
                    if let Some(id) = c.id {
                        call_names.push((id.to_string(), c.name.to_string()));
                    }
                    json!({"function": {"name": c.name, "arguments": c.arguments_object()}})
                })
                .collect();
            out.insert("tool_calls".into(), Value::Array(calls));
        }
        Message::Tool {
            tool_call_id, name, ..
        } => {
            let name = name.map(str::to_string).or_else(|| {
                call_names
                    .iter()
                    .find(|(id, _)| Some(id.as_str()) == *tool_call_id)
                    .map(|(_, n)| n.clone())
            });
            if let Some(n) = name {
                out.insert("tool_name".into(), json!(n));
            }
        }
        _ => {}
    }
    Value::Object(out)
}

/// `POST /api/chat`.
pub fn chat(d: &Upstream, body: &Map<String, Value>, stream: bool) -> Value {
    let req = ChatRequest::read(body);
    let mut call_names = Vec::new();
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| chat_message(m, &mut call_names))
        .collect();
    let mut out = Map::new();
    out.insert("messages".into(), Value::Array(messages));
    // Tools go as OpenAI tool objects; tool_choice is not sent (Ollama hangs on it, LiteLLM
    // drops it too).
    if let Some(tools) = body.get("tools").filter(|t| t.is_array()) {
        out.insert("tools".into(), tools.clone());
    }
    common(&mut out, d, &req, options(&req, "repeat_penalty"), stream);
    Value::Object(out)
}

/// A `/v1/completions` prompt sent to `/api/chat` as one user message.
pub fn chat_from_prompt(d: &Upstream, body: &Map<String, Value>, stream: bool) -> Value {
    let mut as_chat = body.clone();
    as_chat.insert(
        "messages".into(),
        json!([{"role": "user", "content": prompt_text(body)}]),
    );
    chat(d, &as_chat, stream)
}

fn prompt_text(body: &Map<String, Value>) -> String {
    match body.get("prompt") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// LiteLLM's `ollama_pt`: each message as a `### Role:` block.
fn prompt_of(req: &ChatRequest<'_>) -> String {
    let mut prompt = String::new();
    for m in &req.messages {
        let (header, text) = match m {
            Message::System(c) => ("System", c.text()),
            Message::User(c) | Message::Tool { content: c, .. } => ("User", c.text()),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut text = content.text();
                for call in tool_calls {
                    let call = json!({"name": call.name, "arguments": call.arguments_object()});
                    text.push('\n');
                    text.push_str(&call.to_string());
                }
                ("Assistant", text)
            }
        };
        prompt.push_str(&format!("### {header}:\n{text}\n\n"));
    }
    prompt
}

/// `POST /api/generate`, from a chat request or a text completion.
pub fn generate(
    d: &Upstream,
    body: &Map<String, Value>,
    endpoint: Endpoint,
    stream: bool,
) -> Value {
    let req = ChatRequest::read(body);
    let mut out = Map::new();
    let prompt = match endpoint {
        Endpoint::Completions => prompt_text(body),
        _ => prompt_of(&req),
    };
    out.insert("prompt".into(), json!(prompt));
    let imgs: Vec<Value> = req
        .messages
        .iter()
        .flat_map(|m| match m {
            Message::System(c) | Message::User(c) => images(c),
            Message::Assistant { content, .. } | Message::Tool { content, .. } => images(content),
        })
        .collect();
    if !imgs.is_empty() {
        out.insert("images".into(), Value::Array(imgs));
    }
    common(
        &mut out,
        d,
        &req,
        options(&req, "frequency_penalty"),
        stream,
    );
    Value::Object(out)
}

/// `POST /api/embed`: text input only.
pub fn embed(d: &Upstream, body: &Map<String, Value>) -> Result<Value, AttemptError> {
    let input = json!(text_inputs(d.kind, body)?);
    let mut out = Map::new();
    out.insert("model".into(), json!(d.model));
    out.insert("input".into(), input);
    for key in ["truncate", "keep_alive", "dimensions", "options"] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    Ok(Value::Object(out))
}
