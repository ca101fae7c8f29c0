//! A `generateContent` answer as an OpenAI `chat.completion`, and `batchEmbedContents` as an
//! embeddings list.

use std::borrow::Cow;

use serde_json::Value;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::openai::completion::{AnswerUsage, AssistantMessage, Choice, Completion, ToolCall};
use crate::openai::embeddings::{Embedding, EmbeddingList, EmbeddingUsage};
use crate::openai::ids::{chat_id, random_hex, unix_now};
use crate::openai::usage::{PromptTokensDetails, UsageBody};
use crate::openai::Usage;
use crate::providers::classify::malformed;
use crate::providers::ProviderKind;

pub fn finish_reason(reason: &str, has_calls: bool) -> &'static str {
    match reason {
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "OTHER"
        | "IMAGE_SAFETY" | "LANGUAGE" => "content_filter",
        _ if has_calls => "tool_calls",
        _ => "stop",
    }
}

pub fn usage(v: &Value) -> Option<(UsageBody, Usage)> {
    let u = v.get("usageMetadata")?;
    let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let prompt = get("promptTokenCount");
    // Thinking tokens are billed as output.
    let completion = get("candidatesTokenCount").saturating_add(get("thoughtsTokenCount"));
    let counted = Usage::counted(prompt, completion, None);
    let mut body = counted.body();
    if let Some(cached) = u.get("cachedContentTokenCount").and_then(Value::as_u64) {
        body.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: cached,
        });
    }
    Some((body, counted))
}

/// A prompt Gemini refused outright (no candidates): a content-policy error, so
/// `content_policy_fallbacks` apply.
pub fn blocked(v: &Value) -> Option<AttemptError> {
    let has_candidates = v
        .get("candidates")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    let reason = v.pointer("/promptFeedback/blockReason")?.as_str()?;
    (!has_candidates).then(|| {
        AttemptError::new(
            ErrorClass::ContentPolicyViolation,
            400,
            format!(
                "ContentPolicyViolationError: GeminiException - the prompt was blocked ({reason})"
            ),
        )
    })
}

/// A function call Gemini made; Gemini gives calls no id, so each gets one.
pub struct Call {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

pub struct CandidateParts {
    pub text: String,
    pub thought: String,
    pub calls: Vec<Call>,
}

pub fn candidate_parts(c: &Value) -> CandidateParts {
    let mut out = CandidateParts {
        text: String::new(),
        thought: String::new(),
        calls: Vec::new(),
    };
    for p in c
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = p.get("text").and_then(Value::as_str) {
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                out.thought.push_str(t);
            } else {
                out.text.push_str(t);
            }
        }
        if let Some(f) = p.get("functionCall") {
            let args = f
                .get("args")
                .map_or_else(|| "{}".to_string(), Value::to_string);
            out.calls.push(Call {
                id: format!("call_{}", random_hex(24)),
                name: f
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                arguments: args,
            });
        }
    }
    out
}

pub fn completion_id(v: &Value) -> String {
    chat_id(v.get("responseId").and_then(Value::as_str))
}

pub fn answer(body: &[u8], model: &str) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed(ProviderKind::Gemini, "not JSON"))?;
    if let Some(e) = blocked(&v) {
        return Err(e);
    }
    let candidates = v
        .get("candidates")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(ProviderKind::Gemini, "no candidates"))?;
    let parts: Vec<(u64, &Value, CandidateParts)> = candidates
        .iter()
        .zip(0u64..)
        .map(|(c, i)| {
            let index = c.get("index").and_then(Value::as_u64).unwrap_or(i);
            (index, c, candidate_parts(c))
        })
        .collect();
    let mut out = Completion::new(completion_id(&v), unix_now(), model);
    for (index, c, p) in &parts {
        let calls: Vec<ToolCall> = p
            .calls
            .iter()
            .map(|call| {
                ToolCall::function(
                    call.id.as_str(),
                    call.name.as_str(),
                    call.arguments.as_str(),
                )
            })
            .collect();
        let finish = finish_reason(
            c.get("finishReason")
                .and_then(Value::as_str)
                .unwrap_or("STOP"),
            !calls.is_empty(),
        );
        let mut message = AssistantMessage::new(Cow::Borrowed(p.text.as_str()), calls);
        message.reasoning_content =
            (!p.thought.is_empty()).then_some(Cow::Borrowed(p.thought.as_str()));
        out.choices.push(Choice {
            index: *index,
            message,
            logprobs: None,
            finish_reason: Cow::Borrowed(finish),
        });
    }
    let (usage_body, usage) =
        usage(&v).unwrap_or_else(|| (Usage::default().body(), Usage::default()));
    out.usage = Some(AnswerUsage::Counted(usage_body));
    Ok((out.to_vec(), usage))
}

/// `batchEmbedContents` answer as an OpenAI embeddings list (Gemini reports no token counts).
pub fn embeddings(body: &[u8], model: &str) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed(ProviderKind::Gemini, "not JSON"))?;
    let list = v
        .get("embeddings")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(ProviderKind::Gemini, "no embeddings"))?;
    let data = list
        .iter()
        .zip(0u64..)
        .map(|(e, i)| {
            Embedding::new(
                i,
                e.get("values")
                    .cloned()
                    .unwrap_or_else(|| Value::Array(Vec::new())),
            )
        })
        .collect();
    let out = EmbeddingList::new(data, model, EmbeddingUsage::default());
    Ok((out.to_vec(), Usage::default()))
}
