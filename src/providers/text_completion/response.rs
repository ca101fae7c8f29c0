//! A `text_completion` answer as a `chat.completion`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::KIND;
use crate::openai::completion::{AnswerUsage, AssistantMessage, Choice, Completion};
use crate::openai::ids::{chat_id, unix_now};
use crate::openai::Usage;
use crate::providers::classify::malformed;

#[derive(Deserialize)]
pub struct TextAnswer<'a> {
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    pub created: Option<u64>,
    #[serde(default, borrow)]
    pub choices: Vec<TextChoice<'a>>,
    pub usage: Option<Value>,
}

#[derive(Deserialize)]
pub struct TextChoice<'a> {
    pub index: Option<u64>,
    #[serde(borrow)]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub finish_reason: Option<Cow<'a, str>>,
}

pub fn as_chat(body: &[u8], model: &str) -> Result<(Vec<u8>, Usage), AttemptError> {
    let answer: TextAnswer = serde_json::from_slice(body)
        .map_err(|_| malformed(KIND, "not a text_completion answer"))?;
    let id = chat_id(
        answer
            .id
            .as_deref()
            .map(|id| id.trim_start_matches("cmpl-")),
    );
    let mut out = Completion::new(id, answer.created.unwrap_or_else(unix_now), model);
    for (c, i) in answer.choices.iter().zip(0u64..) {
        out.choices.push(Choice {
            index: c.index.unwrap_or(i),
            message: AssistantMessage::new(
                Cow::Borrowed(c.text.as_deref().unwrap_or("")),
                Vec::new(),
            ),
            logprobs: None,
            finish_reason: Cow::Borrowed(c.finish_reason.as_deref().unwrap_or("stop")),
        });
    }
    let usage = answer
        .usage
        .as_ref()
        .map(|u| {
            let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            Usage::counted(get("prompt_tokens"), get("completion_tokens"), None)
        })
        .unwrap_or_default();
    out.usage = Some(AnswerUsage::Counted(usage.body()));
    Ok((out.to_vec(), usage))
}
