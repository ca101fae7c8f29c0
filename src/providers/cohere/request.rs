//! OpenAI requests as Cohere v2 bodies: messages and tools pass in OpenAI's shapes (v2 takes
//! them); sampling parameters are renamed (`top_p` → `p`, `stop` → `stop_sequences`,
//! `n` → `num_generations`); `tool_choice` is v2's upper-case word.

use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;

use crate::openai::request::{ChatRequest, ResponseFormat, ToolChoice};
use crate::providers::params::text_inputs;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

/// OpenAI parameters Cohere's chat has no equivalent for.
pub const UNSUPPORTED: &[&str] = &[
    "logit_bias",
    "top_logprobs",
    "modalities",
    "audio",
    "prediction",
    "functions",
    "function_call",
    "parallel_tool_calls",
];

/// The model without LiteLLM's `v2/` route prefix.
fn model(d: &Upstream) -> &str {
    d.model.strip_prefix("v2/").unwrap_or(&d.model)
}

pub fn chat(d: &Upstream, body: &Map<String, Value>, stream: bool) -> Value {
    let req = ChatRequest::read(body);
    let mut out = Map::new();
    out.insert("model".into(), json!(model(d)));
    out.insert(
        "messages".into(),
        body.get("messages").cloned().unwrap_or_else(|| json!([])),
    );
    if let Some(n) = req.max_tokens {
        out.insert("max_tokens".into(), json!(n));
    }
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "p"),
        ("frequency_penalty", "frequency_penalty"),
        ("presence_penalty", "presence_penalty"),
        ("seed", "seed"),
        ("n", "num_generations"),
        ("logprobs", "logprobs"),
        ("top_k", "k"),
    ] {
        if let Some(v) = req.param(from) {
            out.insert(to.into(), v.clone());
        }
    }
    if !req.stop.is_empty() {
        out.insert("stop_sequences".into(), json!(req.stop));
    }
    if let Some(tools) = body.get("tools").filter(|t| t.is_array()) {
        out.insert("tools".into(), tools.clone());
    }
    match &req.tool_choice {
        Some(ToolChoice::Required) => {
            out.insert("tool_choice".into(), json!("REQUIRED"));
        }
        Some(ToolChoice::None) => {
            out.insert("tool_choice".into(), json!("NONE"));
        }
        _ => {}
    }
    match &req.response_format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject | ResponseFormat::JsonSchema(None) => {
            out.insert("response_format".into(), json!({"type": "json_object"}));
        }
        ResponseFormat::JsonSchema(Some(schema)) => {
            out.insert(
                "response_format".into(),
                json!({"type": "json_object", "json_schema": schema}),
            );
        }
    }
    for (k, v) in &d.default_params {
        out.entry(k.clone()).or_insert_with(|| v.clone());
    }
    out.insert("stream".into(), json!(stream));
    Value::Object(out)
}

pub fn embed(d: &Upstream, body: &Map<String, Value>) -> Result<Value, AttemptError> {
    let texts = text_inputs(ProviderKind::Cohere, body)?;
    let input_type = body
        .get("input_type")
        .and_then(Value::as_str)
        .unwrap_or("search_document");
    let mut out = json!({"model": model(d), "texts": texts, "input_type": input_type,
                         "embedding_types": ["float"]});
    if let Some(n) = body.get("dimensions").filter(|n| n.is_u64()) {
        crate::json::set(&mut out, "output_dimension", n.clone());
    }
    if let Some(t) = body.get("truncate") {
        crate::json::set(&mut out, "truncate", t.clone());
    }
    Ok(out)
}
