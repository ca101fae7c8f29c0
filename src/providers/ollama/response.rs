//! Ollama answers as OpenAI answers: `/api/chat`'s `message`, `/api/generate`'s `response`,
//! usage from `prompt_eval_count` / `eval_count`, `/api/embed`'s `embeddings`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use crate::openai::completion::{AnswerUsage, AssistantMessage, Choice, Completion, ToolCall};
use crate::openai::ids::{chat_id, random_hex, unix_now};
use crate::openai::text_completion::{TextChoice, TextCompletion};
use crate::openai::{Endpoint, Usage};
use crate::providers::classify::malformed;
use crate::providers::ProviderKind;

pub fn usage(v: &Value) -> Option<Usage> {
    let prompt = v.get("prompt_eval_count").and_then(Value::as_u64);
    let completion = v.get("eval_count").and_then(Value::as_u64);
    (prompt.is_some() || completion.is_some())
        .then(|| Usage::counted(prompt.unwrap_or(0), completion.unwrap_or(0), None))
}

pub fn finish_reason(v: &Value, has_calls: bool) -> &'static str {
    match v.get("done_reason").and_then(Value::as_str) {
        _ if has_calls => "tool_calls",
        Some("length") => "length",
        _ => "stop",
    }
}

/// The tool calls of an `/api/chat` message (Ollama gives calls no id, so each gets one).
pub fn tool_calls(message: &Value) -> Vec<(String, String, String)> {
    message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let f = c.get("function").unwrap_or(&Value::Null);
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let arguments = match f.get("arguments") {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => "{}".to_string(),
            };
            let id = c
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("call_{}", random_hex(24)), str::to_string);
            (id, name, arguments)
        })
        .collect()
}

/// The text and thinking of one answer or stream line, whichever API it came from.
pub fn text_and_thinking(v: &Value) -> (&str, &str) {
    let m = v.get("message");
    let text = m
        .and_then(|m| m.get("content"))
        .or_else(|| v.get("response"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let thinking = m
        .and_then(|m| m.get("thinking"))
        .or_else(|| v.get("thinking"))
        .and_then(Value::as_str)
        .unwrap_or("");
    (text, thinking)
}

// An Ollama answer read in place (borrowed strings, tool arguments as raw JSON).
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    message: Option<ChatMessage<'a>>,
    #[serde(borrow)]
    response: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow)]
    done_reason: Option<Cow<'a, str>>,
    prompt_eval_count: Option<u64>,
    eval_count: Option<u64>,
}

#[derive(Deserialize)]
struct ChatMessage<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thinking: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Vec<CallIn<'a>>,
}

#[derive(Deserialize)]
struct CallIn<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    function: Option<FunctionIn<'a>>,
}

#[derive(Deserialize)]
struct FunctionIn<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

/// Ollama sends arguments as an object; OpenAI wants them as JSON text.
fn arguments_text(raw: Option<&RawValue>) -> String {
    match raw {
        None => "{}".to_string(),
        Some(r) => match serde_json::from_str::<String>(r.get()) {
            Ok(text) => text,
            Err(_) => r.get().to_string(),
        },
    }
}

pub fn answer(
    kind: ProviderKind,
    body: &[u8],
    model: &str,
    endpoint: Endpoint,
) -> Result<(Vec<u8>, Usage), AttemptError> {
    let a: Answer =
        serde_json::from_slice(body).map_err(|_| malformed(kind, "not an Ollama answer"))?;
    let (text, thinking, calls) = match &a.message {
        Some(m) => (
            m.content.as_deref().unwrap_or(""),
            m.thinking.as_deref().unwrap_or(""),
            m.tool_calls.as_slice(),
        ),
        None => (
            a.response.as_deref().unwrap_or(""),
            a.thinking.as_deref().unwrap_or(""),
            &[][..],
        ),
    };
    let finish = match a.done_reason.as_deref() {
        _ if !calls.is_empty() => "tool_calls",
        Some("length") => "length",
        _ => "stop",
    };
    let usage = if a.prompt_eval_count.is_some() || a.eval_count.is_some() {
        Usage::counted(
            a.prompt_eval_count.unwrap_or(0),
            a.eval_count.unwrap_or(0),
            None,
        )
    } else {
        Usage::default()
    };
    if endpoint == Endpoint::Completions {
        let mut out = TextCompletion::new(format!("cmpl-{}", random_hex(24)), unix_now(), model);
        out.choices.push(TextChoice {
            index: 0,
            text: Cow::Borrowed(text),
            logprobs: None,
            finish_reason: Some(finish),
        });
        out.usage = Some(usage.body());
        return Ok((out.to_vec(), usage));
    }
    let calls = calls
        .iter()
        .map(|c| {
            let f = c.function.as_ref();
            ToolCall::function(
                c.id.as_deref()
                    .map_or_else(|| format!("call_{}", random_hex(24)), str::to_string),
                f.and_then(|f| f.name.as_deref()).unwrap_or("").to_string(),
                arguments_text(f.and_then(|f| f.arguments)),
            )
        })
        .collect();
    let mut message = AssistantMessage::new(Cow::Borrowed(text), calls);
    message.reasoning_content = (!thinking.is_empty()).then_some(Cow::Borrowed(thinking));
    let mut out = Completion::new(chat_id(None), unix_now(), model);
    out.choices.push(Choice {
        index: 0,
        message,
        logprobs: None,
        finish_reason: Cow::Borrowed(finish),
    });
    out.usage = Some(AnswerUsage::Counted(usage.body()));
    Ok((out.to_vec(), usage))
}

pub fn embeddings(
    kind: ProviderKind,
    body: &[u8],
    model: &str,
) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed(kind, "not an /api/embed answer"))?;
    let list = v
        .get("embeddings")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(kind, "no embeddings"))?;
    let prompt = v
        .get("prompt_eval_count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(crate::openai::embeddings::answer(
        list.iter().cloned(),
        model,
        prompt,
    ))
}
