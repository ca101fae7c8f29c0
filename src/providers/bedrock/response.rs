//! A Converse answer as an OpenAI `chat.completion`.

use std::borrow::Cow;

use serde_json::Value;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use super::request::JSON_TOOL;
use crate::openai::completion::{AnswerUsage, AssistantMessage, Choice, Completion, ToolCall};
use crate::openai::ids::{chat_id, unix_now};
use crate::openai::usage::{PromptTokensDetails, UsageBody};
use crate::openai::Usage;
use crate::providers::classify::malformed;
use crate::providers::ProviderKind;

pub fn finish_reason(stop: &str) -> &'static str {
    match stop {
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        _ => "stop",
    }
}

/// Usage as LiteLLM reports Bedrock's: cache reads count as prompt tokens.
pub fn usage(u: &Value) -> (UsageBody, Usage) {
    let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let read = get("cacheReadInputTokens");
    let counted = Usage::counted(
        get("inputTokens").saturating_add(read),
        get("outputTokens"),
        None,
    );
    let mut body = counted.body();
    if read > 0 {
        body.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: read,
        });
    }
    (body, counted)
}

/// `stopReason: model_context_window_exceeded` with nothing said: a context-window error, so
/// `context_window_fallbacks` apply.
fn context_exceeded(v: &Value) -> Option<AttemptError> {
    (v.get("stopReason").and_then(Value::as_str) == Some("model_context_window_exceeded")).then(
        || {
            AttemptError::new(
                ErrorClass::ContextWindowExceeded,
                400,
                "ContextWindowExceededError: BedrockException - the input does not fit the model's context window",
            )
        },
    )
}

pub fn answer(body: &[u8], model: &str, json_mode: bool) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value = serde_json::from_slice(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| malformed(ProviderKind::Bedrock, "not a Converse answer"))?;
    let blocks = v
        .pointer("/output/message/content")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(ProviderKind::Bedrock, "no output message"))?;
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for b in blocks {
        if let Some(t) = b.get("text").and_then(Value::as_str) {
            text.push_str(t);
        }
        if let Some(t) = b
            .pointer("/reasoningContent/reasoningText/text")
            .and_then(Value::as_str)
        {
            reasoning.push_str(t);
        }
        if let Some(tu) = b.get("toolUse") {
            let name = tu.get("name").and_then(Value::as_str).unwrap_or("");
            let input = tu
                .get("input")
                .map_or_else(|| "{}".to_string(), Value::to_string);
            if json_mode && name == JSON_TOOL {
                text.push_str(&input);
            } else {
                let id = tu.get("toolUseId").and_then(Value::as_str).unwrap_or("");
                calls.push(ToolCall::function(id.to_string(), name.to_string(), input));
            }
        }
    }
    if text.is_empty() && calls.is_empty() {
        if let Some(e) = context_exceeded(&v) {
            return Err(e);
        }
    }
    let stop = v
        .get("stopReason")
        .and_then(Value::as_str)
        .unwrap_or("end_turn");
    let finish = match finish_reason(stop) {
        "tool_calls" if calls.is_empty() => "stop",
        other => other,
    };
    let mut message = AssistantMessage::new(Cow::Owned(text), calls);
    message.reasoning_content = (!reasoning.is_empty()).then_some(Cow::Owned(reasoning));
    let (usage_body, usage) = usage(v.get("usage").unwrap_or(&Value::Null));
    let mut out = Completion::new(chat_id(None), unix_now(), model);
    out.choices.push(Choice {
        index: 0,
        message,
        logprobs: None,
        finish_reason: Cow::Borrowed(finish),
    });
    out.usage = Some(AnswerUsage::Counted(usage_body));
    Ok((out.to_vec(), usage))
}
