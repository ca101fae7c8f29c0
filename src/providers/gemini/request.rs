//! An OpenAI chat request as a `generateContent` body, and embeddings as
//! `batchEmbedContents`.

use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;

use crate::openai::request::{ChatRequest, Content, Message, Part, ResponseFormat, ToolChoice};
use crate::providers::params::{check_params, data_url, mime_from_url, push_turn, text_inputs};
use crate::providers::ProviderKind;

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

fn parts(content: &Content<'_>) -> Vec<Value> {
    match content {
        Content::Text("") | Content::Empty => Vec::new(),
        Content::Text(s) => vec![json!({"text": s})],
        Content::Parts(items) => items
            .iter()
            .filter_map(|p| match p {
                Part::Text { text: "", .. } | Part::Other(_) => None,
                Part::Text { text, .. } => Some(json!({"text": text})),
                Part::Image { url, .. } => Some(match data_url(url) {
                    Some((mime, data)) => json!({"inlineData": {"mimeType": mime, "data": data}}),
                    None => json!({"fileData": {"mimeType": mime_from_url(url), "fileUri": url}}),
                }),
            })
            .collect(),
    }
}

fn function_response(content: &Content<'_>, name: &str) -> Value {
    let text = content.text();
    let response = serde_json::from_str::<Value>(&text)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"content": text}));
    json!({"functionResponse": {"name": name, "response": response}})
}

fn tool_config(choice: &ToolChoice<'_>) -> Value {
    let config = match choice {
        ToolChoice::Auto => json!({"mode": "AUTO"}),
        ToolChoice::Required => json!({"mode": "ANY"}),
        ToolChoice::None => json!({"mode": "NONE"}),
        ToolChoice::Function(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
    };
    json!({"functionCallingConfig": config})
}

/// The `contents` and `systemInstruction` parts of a chat request.
fn turns(req: &ChatRequest<'_>) -> (Vec<Value>, Vec<(&'static str, Vec<Value>)>) {
    let mut system = Vec::new();
    let mut contents = Vec::new();
    // Gemini names the function in its result; OpenAI names only the call id.
    let mut call_names: Vec<(&str, &str)> = Vec::new();
    for m in &req.messages {
        match m {
            Message::System(content) => system.extend(parts(content)),
            Message::User(content) => push_turn(&mut contents, "user", parts(content)),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut p = parts(content);
                for call in tool_calls {
                    if let Some(id) = call.id {
                        call_names.push((id, call.name));
                    }
                    p.push(json!({"functionCall": {"name": call.name, "args": call.arguments_object()}}));
                }
                push_turn(&mut contents, "model", p);
            }
            Message::Tool {
                content,
                tool_call_id,
                name,
            } => {
                let name = name
                    .or_else(|| {
                        call_names
                            .iter()
                            .find(|(id, _)| Some(*id) == *tool_call_id)
                            .map(|(_, n)| *n)
                    })
                    .unwrap_or_default();
                push_turn(
                    &mut contents,
                    "user",
                    vec![function_response(content, name)],
                );
            }
        }
    }
    (system, contents)
}

/// The `generateContent` body for an OpenAI chat request.
pub fn request_body(body: &Map<String, Value>, drop_params: bool) -> Result<Value, AttemptError> {
    check_params(ProviderKind::Gemini, body, UNSUPPORTED, drop_params)?;
    let req = ChatRequest::read(body);
    let (system, contents) = turns(&req);
    let contents: Vec<Value> = contents
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
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
    if !req.stop.is_empty() {
        config.insert("stopSequences".into(), json!(req.stop));
    }
    match &req.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject | ResponseFormat::JsonSchema(None) => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        ResponseFormat::JsonSchema(Some(schema)) => {
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseJsonSchema".into(), (*schema).clone());
        }
    }
    if !config.is_empty() {
        out.insert("generationConfig".into(), Value::Object(config));
    }
    let declarations: Vec<Value> = req
        .tools
        .iter()
        .map(|t| {
            let mut decl = json!({"name": t.name});
            if let Some(d) = t.description {
                crate::json::set(&mut decl, "description", d.clone());
            }
            if let Some(p) = t.parameters {
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
    if let Some(choice) = &req.tool_choice {
        out.insert("toolConfig".into(), tool_config(choice));
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

pub fn embeddings_body(model: &str, body: &Map<String, Value>) -> Result<Value, AttemptError> {
    let texts = text_inputs(ProviderKind::Gemini, body)?;
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
