//! A Converse answer as an OpenAI `chat.completion`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
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
    counted(
        get("inputTokens"),
        get("outputTokens"),
        get("cacheReadInputTokens"),
    )
}

fn counted(input: u64, output: u64, read: u64) -> (UsageBody, Usage) {
    let counted = Usage::counted(input.saturating_add(read), output, None);
    let mut body = counted.body();
    if read > 0 {
        body.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: read,
        });
    }
    (body, counted)
}

// A Converse answer read in place (borrowed strings, tool inputs as raw JSON): building a
// `Value` tree of it cost a fifth of the translated request's throughput.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    output: Option<Output<'a>>,
    #[serde(rename = "stopReason", borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: UsageIn,
}

#[derive(Deserialize)]
struct Output<'a> {
    #[serde(borrow)]
    message: Option<Message<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    content: Vec<Block<'a>>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(rename = "toolUse", borrow)]
    tool_use: Option<ToolUse<'a>>,
    #[serde(rename = "reasoningContent", borrow)]
    reasoning: Option<Reasoning<'a>>,
}

#[derive(Deserialize)]
struct ToolUse<'a> {
    #[serde(rename = "toolUseId", borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Reasoning<'a> {
    #[serde(rename = "reasoningText", borrow)]
    text: Option<ReasoningText<'a>>,
}

#[derive(Deserialize)]
struct ReasoningText<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct UsageIn {
    #[serde(rename = "inputTokens", default)]
    input: u64,
    #[serde(rename = "outputTokens", default)]
    output: u64,
    #[serde(rename = "cacheReadInputTokens", default)]
    cache_read: u64,
}

fn context_exceeded() -> AttemptError {
    AttemptError::new(
        ErrorClass::ContextWindowExceeded,
        400,
        "ContextWindowExceededError: BedrockException - the input does not fit the model's context window",
    )
}

pub fn answer(body: &[u8], model: &str, json_mode: bool) -> Result<(Vec<u8>, Usage), AttemptError> {
    let a: Answer = serde_json::from_slice(body)
        .map_err(|_| malformed(ProviderKind::Bedrock, "not a Converse answer"))?;
    let blocks = a
        .output
        .and_then(|o| o.message)
        .ok_or_else(|| malformed(ProviderKind::Bedrock, "no output message"))?
        .content;
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for b in &blocks {
        if let Some(t) = &b.text {
            text.push_str(t);
        }
        if let Some(t) = b
            .reasoning
            .as_ref()
            .and_then(|r| r.text.as_ref())
            .and_then(|t| t.text.as_ref())
        {
            reasoning.push_str(t);
        }
        if let Some(tu) = &b.tool_use {
            let name = tu.name.as_deref().unwrap_or("");
            let input = tu.input.map_or("{}", |r| r.get());
            if json_mode && name == JSON_TOOL {
                text.push_str(input);
            } else {
                calls.push(ToolCall::function(
                    tu.id.as_deref().unwrap_or(""),
                    name,
                    input,
                ));
            }
        }
    }
    let stop = a.stop_reason.as_deref().unwrap_or("end_turn");
    // The model stopped because the input filled its window, with nothing said: a
    // context-window error, so `context_window_fallbacks` apply.
    if text.is_empty() && calls.is_empty() && stop == "model_context_window_exceeded" {
        return Err(context_exceeded());
    }
    let finish = match finish_reason(stop) {
        "tool_calls" if calls.is_empty() => "stop",
        other => other,
    };
    let mut message = AssistantMessage::new(Cow::Owned(text), calls);
    message.reasoning_content = (!reasoning.is_empty()).then_some(Cow::Owned(reasoning));
    let (usage_body, usage) = counted(a.usage.input, a.usage.output, a.usage.cache_read);
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
