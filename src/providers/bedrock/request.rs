//! An OpenAI chat request as a Converse body: `messages` of content blocks (text, image,
//! toolUse, toolResult), `system`, `inferenceConfig`, `toolConfig`; parameters Converse does
//! not define go in `additionalModelRequestFields`. JSON mode forces a tool whose input is the
//! answer, as LiteLLM does.

use serde_json::{json, Map, Value};

use crate::openai::request::{ChatRequest, Content, Message, Part, ResponseFormat, ToolChoice};
use crate::providers::params::{data_url, push_turn};

/// The tool that carries a JSON-mode answer.
pub const JSON_TOOL: &str = "json_tool_call";

/// OpenAI parameters Converse has no equivalent for (LiteLLM's supported list, inverted).
pub const UNSUPPORTED: &[&str] = &[
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

/// OpenAI fields translated here or meaningless upstream.
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
    "service_tier",
    "metadata",
    "prompt_cache_key",
    "safety_identifier",
    "reasoning_effort",
];

fn image_format(mime: &str) -> &str {
    mime.strip_prefix("image/").unwrap_or("png")
}

fn blocks(content: &Content<'_>) -> Vec<Value> {
    match content {
        Content::Text("") | Content::Empty => Vec::new(),
        Content::Text(s) => vec![json!({"text": s})],
        Content::Parts(parts) => parts
            .iter()
            .filter_map(|p| {
                match p {
                Part::Text { text: "", .. } => None,
                Part::Text { text, .. } => Some(json!({"text": text})),
                // Remote images were fetched and inlined before the call.
                Part::Image { url, .. } => data_url(url).map(|(mime, data)| {
                    json!({"image": {"format": image_format(mime), "source": {"bytes": data}}})
                }),
                Part::Other(_) => None,
            }
            })
            .collect(),
    }
}

fn tool_result(content: &Content<'_>, id: Option<&str>) -> Value {
    let text = content.text();
    let inner = match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.is_object() => json!([{"json": v}]),
        _ => json!([{"text": text}]),
    };
    json!({"toolResult": {"toolUseId": id.unwrap_or_default(), "content": inner}})
}

/// `messages` (alternating, user first) and `system`.
fn turns(req: &ChatRequest<'_>) -> (Vec<Value>, Vec<Value>) {
    let mut system = Vec::new();
    let mut turns = Vec::new();
    for m in &req.messages {
        match m {
            Message::System(c) => system.extend(blocks(c)),
            Message::User(c) => push_turn(&mut turns, "user", blocks(c)),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut b = blocks(content);
                for call in tool_calls {
                    b.push(json!({"toolUse": {
                        "toolUseId": call.id.unwrap_or_default(),
                        "name": call.name,
                        "input": call.arguments_object(),
                    }}));
                }
                push_turn(&mut turns, "assistant", b);
            }
            Message::Tool {
                content,
                tool_call_id,
                ..
            } => push_turn(
                &mut turns,
                "user",
                vec![tool_result(content, *tool_call_id)],
            ),
        }
    }
    if turns.first().is_some_and(|(role, _)| *role == "assistant") {
        // Converse must start with a user turn.
        #[allow(clippy::disallowed_methods)] // index 0 is always in range
        turns.insert(0, ("user", vec![json!({"text": "."})]));
    }
    let messages = turns
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    (messages, system)
}

fn json_schema(format: &ResponseFormat<'_>) -> Option<Value> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject | ResponseFormat::JsonSchema(None) => {
            Some(json!({"type": "object"}))
        }
        ResponseFormat::JsonSchema(Some(s)) => Some((*s).clone()),
    }
}

pub fn converse(body: &Map<String, Value>, defaults: &Map<String, Value>) -> Value {
    let req = ChatRequest::read(body);
    let (messages, system) = turns(&req);
    let mut out = Map::new();
    out.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    let mut inference = Map::new();
    if let Some(n) = req.max_tokens {
        inference.insert("maxTokens".into(), json!(n));
    }
    if let Some(v) = req.param("temperature") {
        inference.insert("temperature".into(), v.clone());
    }
    if let Some(v) = req.param("top_p") {
        inference.insert("topP".into(), v.clone());
    }
    if !req.stop.is_empty() {
        inference.insert("stopSequences".into(), json!(req.stop));
    }
    if !inference.is_empty() {
        out.insert("inferenceConfig".into(), Value::Object(inference));
    }
    let mut tools: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            let mut spec = json!({"name": t.name, "inputSchema": {"json":
                t.parameters.cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}}))}});
            if let Some(d) = t.description {
                crate::json::set(&mut spec, "description", d.clone());
            }
            json!({"toolSpec": spec})
        })
        .collect();
    let schema = json_schema(&req.response_format);
    if let Some(schema) = &schema {
        tools.push(json!({"toolSpec": {"name": JSON_TOOL,
            "description": "Answer with this tool: its input is the JSON answer.",
            "inputSchema": {"json": schema}}}));
    }
    if !tools.is_empty() {
        let mut config = json!({"tools": tools});
        let choice = if schema.is_some() {
            Some(json!({"tool": {"name": JSON_TOOL}}))
        } else {
            match &req.tool_choice {
                Some(ToolChoice::Auto) => Some(json!({"auto": {}})),
                Some(ToolChoice::Required) => Some(json!({"any": {}})),
                Some(ToolChoice::Function(name)) => Some(json!({"tool": {"name": name}})),
                // Converse has no "none": the tools stay declared, the model is not steered.
                Some(ToolChoice::None) | None => None,
            }
        };
        if let Some(c) = choice {
            crate::json::set(&mut config, "toolChoice", c);
        }
        out.insert("toolConfig".into(), config);
    }
    // Model-specific parameters (top_k, thinking, ...) travel in additionalModelRequestFields.
    let mut additional = Map::new();
    for (k, v) in body.iter().chain(defaults.iter()) {
        if !HANDLED.contains(&k.as_str()) && !UNSUPPORTED.contains(&k.as_str()) && !v.is_null() {
            additional.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if !additional.is_empty() {
        out.insert(
            "additionalModelRequestFields".into(),
            Value::Object(additional),
        );
    }
    Value::Object(out)
}
