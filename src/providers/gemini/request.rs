//! An OpenAI chat request as a `generateContent` body, and embeddings as
//! `batchEmbedContents`.

use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::providers::params::{
    arguments_object, check_params, data_url, image_url, mime_from_url, text_of,
};
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

pub fn embeddings_body(model: &str, body: &Map<String, Value>) -> Result<Value, AttemptError> {
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
