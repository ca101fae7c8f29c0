//! Cohere v2 answers as OpenAI answers.

use std::borrow::Cow;

use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use crate::openai::completion::{AnswerUsage, AssistantMessage, Choice, Completion, ToolCall};
use crate::openai::ids::{chat_id, unix_now};
use crate::openai::Usage;
use crate::providers::classify::malformed;
use crate::providers::ProviderKind;

const KIND: ProviderKind = ProviderKind::Cohere;

pub fn finish_reason(reason: &str) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "TOOL_CALL" => "tool_calls",
        "ERROR_TOXIC" => "content_filter",
        _ => "stop",
    }
}

/// `usage.tokens` (what the model saw), else `usage.billed_units`.
pub fn usage(u: &Value) -> Usage {
    let tokens = u.get("tokens").or_else(|| u.get("billed_units"));
    let get = |k: &str| {
        tokens
            .and_then(|t| t.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Usage::counted(get("input_tokens"), get("output_tokens"), None)
}

pub fn chat(body: &[u8], model: &str) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value = serde_json::from_slice(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| malformed(KIND, "not a v2 chat answer"))?;
    let message = v
        .get("message")
        .ok_or_else(|| malformed(KIND, "no message"))?;
    let text: String = message
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect();
    let calls: Vec<ToolCall> = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let f = c.get("function").unwrap_or(&Value::Null);
            let arguments = match f.get("arguments") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "{}".to_string(),
            };
            ToolCall::function(
                c.get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                f.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                arguments,
            )
        })
        .collect();
    let finish = finish_reason(
        v.get("finish_reason")
            .and_then(Value::as_str)
            .unwrap_or("COMPLETE"),
    );
    let usage = v.get("usage").map(usage).unwrap_or_default();
    let mut out = Completion::new(
        chat_id(v.get("id").and_then(Value::as_str)),
        unix_now(),
        model,
    );
    out.choices.push(Choice {
        index: 0,
        message: AssistantMessage::new(Cow::Owned(text), calls),
        logprobs: None,
        finish_reason: Cow::Borrowed(finish),
    });
    out.usage = Some(AnswerUsage::Counted(usage.body()));
    Ok((out.to_vec(), usage))
}

pub fn embeddings(body: &[u8], model: &str) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed(KIND, "not an embed answer"))?;
    let list = v
        .pointer("/embeddings/float")
        .or_else(|| v.get("embeddings"))
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(KIND, "no float embeddings"))?;
    let tokens = v
        .pointer("/meta/billed_units/input_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(crate::openai::embeddings::answer(
        list.iter().cloned(),
        model,
        tokens,
    ))
}
