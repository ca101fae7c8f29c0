//! A Messages API answer as an OpenAI `chat.completion`, read into borrowed types and written
//! through the typed core (building a `Value` tree cost a quarter of the translated request's
//! throughput).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::request::JSON_TOOL;
use crate::openai::completion::{AnswerUsage, AssistantMessage, Choice, Completion, ToolCall};
use crate::openai::ids::{chat_id, unix_now};
use crate::openai::usage::{PromptTokensDetails, UsageBody};
use crate::openai::Usage;
use crate::providers::classify::malformed;
use crate::providers::ProviderKind;

pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

/// OpenAI usage, as LiteLLM reports Anthropic's: prompt = input + cache reads.
pub fn usage(u: &Value) -> (UsageBody, Usage) {
    let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (get("input_tokens"), get("output_tokens"));
    let (read, created) = (
        get("cache_read_input_tokens"),
        get("cache_creation_input_tokens"),
    );
    let counted = Usage::counted(input.saturating_add(read), output, None);
    let mut body = counted.body();
    body.prompt_tokens_details = Some(PromptTokensDetails {
        cached_tokens: read,
    });
    body.cache_read_input_tokens = Some(read);
    body.cache_creation_input_tokens = Some(created);
    (body, counted)
}

/// `msg_abc` → `chatcmpl-abc`.
pub fn completion_id(message_id: Option<&str>) -> String {
    chat_id(message_id.map(|id| id.trim_start_matches("msg_")))
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Vec<Block<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

pub fn answer(body: &[u8], model: &str, json_mode: bool) -> Result<(Vec<u8>, Usage), AttemptError> {
    let m: Message = serde_json::from_slice(body)
        .map_err(|_| malformed(ProviderKind::Anthropic, "not a Messages API answer"))?;
    let mut text = String::new();
    let mut thinking = String::new();
    let mut tool_calls = Vec::new();
    for b in &m.content {
        let input = b.input.map_or("{}", |r| r.get());
        match b.kind.as_ref() {
            "text" => text.push_str(b.text.as_deref().unwrap_or("")),
            "thinking" => thinking.push_str(b.thinking.as_deref().unwrap_or("")),
            "tool_use" if json_mode && b.name.as_deref() == Some(JSON_TOOL) => text.push_str(input),
            "tool_use" => tool_calls.push(ToolCall::function(
                b.id.as_deref().unwrap_or(""),
                b.name.as_deref().unwrap_or(""),
                input,
            )),
            _ => {}
        }
    }
    let no_calls = tool_calls.is_empty();
    let finish = match finish_reason(m.stop_reason.as_deref().unwrap_or("end_turn")) {
        // The forced JSON tool call is the answer itself.
        "tool_calls" if json_mode && no_calls => "stop",
        other => other,
    };
    let mut message = AssistantMessage::new(Cow::Owned(text), tool_calls);
    message.reasoning_content = (!thinking.is_empty()).then_some(Cow::Owned(thinking));
    let (usage_body, usage) = usage(m.usage.as_ref().unwrap_or(&Value::Null));
    let mut out = Completion::new(completion_id(m.id.as_deref()), unix_now(), model);
    out.choices.push(Choice {
        index: 0,
        message,
        logprobs: None,
        finish_reason: Cow::Borrowed(finish),
    });
    out.usage = Some(AnswerUsage::Counted(usage_body));
    Ok((out.to_vec(), usage))
}
