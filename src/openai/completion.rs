//! `chat.completion`: every non-streamed chat answer the gateway writes that is not an
//! upstream's own (translated, assembled from a stream for the cache, or mocked).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::usage::UsageBody;

#[derive(Serialize, Debug)]
pub struct Completion<'a> {
    pub id: Cow<'a, str>,
    pub object: &'static str,
    pub created: u64,
    pub model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<Value>,
    pub choices: Vec<Choice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<AnswerUsage>,
}

/// Usage the gateway counted or translated, or an upstream's kept as it came.
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub enum AnswerUsage {
    Counted(UsageBody),
    AsStored(Value),
}

impl<'a> Completion<'a> {
    pub fn new(id: impl Into<Cow<'a, str>>, created: u64, model: &'a str) -> Self {
        Self {
            id: id.into(),
            object: "chat.completion",
            created,
            model,
            system_fingerprint: None,
            service_tier: None,
            choices: Vec::new(),
            usage: None,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[derive(Serialize, Debug)]
pub struct Choice<'a> {
    pub index: u64,
    pub message: AssistantMessage<'a>,
    pub logprobs: Option<Value>,
    pub finish_reason: Cow<'a, str>,
}

#[derive(Serialize, Debug)]
pub struct AssistantMessage<'a> {
    pub role: Cow<'a, str>,
    pub content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall<'a>>,
}

impl<'a> AssistantMessage<'a> {
    /// OpenAI's rule: `content` is `null` when the answer is only tool calls.
    pub fn new(text: Cow<'a, str>, tool_calls: Vec<ToolCall<'a>>) -> Self {
        Self {
            role: Cow::Borrowed("assistant"),
            content: (!text.is_empty() || tool_calls.is_empty()).then_some(text),
            reasoning_content: None,
            refusal: None,
            tool_calls,
        }
    }
}

#[derive(Serialize, Debug)]
pub struct ToolCall<'a> {
    pub id: Cow<'a, str>,
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    pub function: FunctionCall<'a>,
}

#[derive(Serialize, Debug)]
pub struct FunctionCall<'a> {
    pub name: Cow<'a, str>,
    pub arguments: Cow<'a, str>,
}

impl<'a> ToolCall<'a> {
    pub fn function(
        id: impl Into<Cow<'a, str>>,
        name: impl Into<Cow<'a, str>>,
        arguments: impl Into<Cow<'a, str>>,
    ) -> Self {
        Self {
            id: id.into(),
            kind: Cow::Borrowed("function"),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
        }
    }
}
