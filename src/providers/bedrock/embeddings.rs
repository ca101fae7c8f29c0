//! Bedrock embeddings through `InvokeModel` (`/model/{id}/invoke`): Amazon Titan
//! (`{"inputText"}`, one text per call) and Cohere (`{"texts", "input_type"}`, a batch).

use serde_json::{json, Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::openai::Usage;
use crate::providers::classify::malformed;
use crate::providers::params::text_inputs;
use crate::providers::ProviderKind;

fn is_cohere(model: &str) -> bool {
    model.contains("cohere.")
}

pub fn request(model: &str, body: &Map<String, Value>) -> Result<Value, AttemptError> {
    let texts = text_inputs(ProviderKind::Bedrock, body)?;
    if is_cohere(model) {
        let input_type = body
            .get("input_type")
            .and_then(Value::as_str)
            .unwrap_or("search_document");
        return Ok(json!({"texts": texts, "input_type": input_type}));
    }
    // Titan embeds one text per call: the dispatcher splits a batch (`inputs_per_request`).
    let [text] = texts.as_slice() else {
        return Err(AttemptError::new(
            ErrorClass::BadRequest,
            400,
            "BadRequestError: Amazon Titan embeddings take one input per request",
        ));
    };
    let mut out = json!({"inputText": text});
    if let Some(d) = body.get("dimensions").filter(|d| d.is_u64()) {
        crate::json::set(&mut out, "dimensions", d.clone());
    }
    Ok(out)
}

pub fn answer(
    body: &[u8],
    model: &str,
    upstream_model: &str,
) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| malformed(ProviderKind::Bedrock, "not an embeddings answer"))?;
    let (vectors, tokens): (Vec<Value>, u64) = if is_cohere(upstream_model) {
        let list = v
            .get("embeddings")
            .and_then(|e| e.as_array().or_else(|| e.get("float")?.as_array()))
            .ok_or_else(|| malformed(ProviderKind::Bedrock, "no embeddings"))?;
        (list.clone(), 0)
    } else {
        let one = v
            .get("embedding")
            .filter(|e| e.is_array())
            .ok_or_else(|| malformed(ProviderKind::Bedrock, "no embedding"))?;
        let tokens = v
            .get("inputTextTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        (vec![one.clone()], tokens)
    };
    Ok(crate::openai::embeddings::answer(vectors, model, tokens))
}
