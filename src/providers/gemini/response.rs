//! A `generateContent` answer as an OpenAI `chat.completion`, and `batchEmbedContents` as an
//! embeddings list.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::json::Present;
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
    let get = |k: &str| u.get(k).and_then(Value::as_u64);
    Some(usage_of(&TypedUsage {
        prompt: get("promptTokenCount"),
        candidates: get("candidatesTokenCount"),
        thoughts: get("thoughtsTokenCount"),
        cached: get("cachedContentTokenCount"),
    }))
}

fn usage_of(u: &TypedUsage) -> (UsageBody, Usage) {
    let prompt = u.prompt.unwrap_or(0);
    // Thinking tokens are billed as output.
    let completion = u
        .candidates
        .unwrap_or(0)
        .saturating_add(u.thoughts.unwrap_or(0));
    let counted = Usage::counted(prompt, completion, None);
    let mut body = counted.body();
    if let Some(cached) = u.cached {
        body.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: cached,
        });
    }
    (body, counted)
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

/// An ordinary answer, read into borrowed types: text (and thought) parts, finish, usage. The
/// `Value` tree it replaces was a quarter of a translated request's instructions (every key
/// hashed into an `IndexMap`). Anything else (no candidates, a blocked prompt, function calls,
/// a field of an unexpected type) is read by `answer_from_value` as before.
#[derive(Deserialize)]
struct TypedAnswer<'a> {
    #[serde(borrow)]
    candidates: Vec<TypedCandidate<'a>>,
    #[serde(default, rename = "usageMetadata")]
    usage_metadata: Option<TypedUsage>,
    #[serde(default, rename = "responseId", borrow)]
    response_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct TypedCandidate<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, rename = "finishReason", borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Option<TypedContent<'a>>,
}

#[derive(Deserialize)]
struct TypedContent<'a> {
    #[serde(default, borrow)]
    parts: Vec<TypedPart<'a>>,
}

#[derive(Deserialize)]
struct TypedPart<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    thought: Option<bool>,
    #[serde(default, rename = "functionCall")]
    function_call: Present,
}

#[derive(Deserialize)]
struct TypedUsage {
    #[serde(default, rename = "promptTokenCount")]
    prompt: Option<u64>,
    #[serde(default, rename = "candidatesTokenCount")]
    candidates: Option<u64>,
    #[serde(default, rename = "thoughtsTokenCount")]
    thoughts: Option<u64>,
    #[serde(default, rename = "cachedContentTokenCount")]
    cached: Option<u64>,
}

pub fn answer(body: &[u8], model: &str) -> Result<(Vec<u8>, Usage), AttemptError> {
    match serde_json::from_slice::<TypedAnswer>(body) {
        Ok(typed) if ordinary(&typed) => Ok(typed_answer(typed, model)),
        _ => answer_from_value(body, model),
    }
}

fn ordinary(a: &TypedAnswer) -> bool {
    !a.candidates.is_empty()
        && a.candidates.iter().all(|c| {
            c.content
                .as_ref()
                .is_none_or(|content| content.parts.iter().all(|p| !p.function_call.0))
        })
}

fn typed_answer(a: TypedAnswer, model: &str) -> (Vec<u8>, Usage) {
    let candidates = a
        .candidates
        .iter()
        .zip(0u64..)
        .map(|(c, i)| {
            let mut parts = CandidateParts {
                text: String::new(),
                thought: String::new(),
                calls: Vec::new(),
            };
            for p in c.content.iter().flat_map(|content| &content.parts) {
                if let Some(t) = &p.text {
                    if p.thought == Some(true) {
                        parts.thought.push_str(t);
                    } else {
                        parts.text.push_str(t);
                    }
                }
            }
            (
                c.index.unwrap_or(i),
                c.finish_reason.as_deref().unwrap_or("STOP"),
                parts,
            )
        })
        .collect();
    let id = chat_id(a.response_id.as_deref());
    completion(
        id,
        model,
        candidates,
        a.usage_metadata.as_ref().map(usage_of),
    )
}

fn answer_from_value(body: &[u8], model: &str) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed(ProviderKind::Gemini, "not JSON"))?;
    if let Some(e) = blocked(&v) {
        return Err(e);
    }
    let candidates = v
        .get("candidates")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(ProviderKind::Gemini, "no candidates"))?;
    let parts = candidates
        .iter()
        .zip(0u64..)
        .map(|(c, i)| {
            let index = c.get("index").and_then(Value::as_u64).unwrap_or(i);
            let finish = c
                .get("finishReason")
                .and_then(Value::as_str)
                .unwrap_or("STOP");
            (index, finish, candidate_parts(c))
        })
        .collect();
    Ok(completion(completion_id(&v), model, parts, usage(&v)))
}

/// The chat completion for these candidates (index, Gemini's finish reason, parts).
fn completion(
    id: String,
    model: &str,
    candidates: Vec<(u64, &str, CandidateParts)>,
    usage: Option<(UsageBody, Usage)>,
) -> (Vec<u8>, Usage) {
    let mut out = Completion::new(id, unix_now(), model);
    for (index, finish, p) in &candidates {
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
        let finish = finish_reason(finish, !calls.is_empty());
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
    let (usage_body, usage) = usage.unwrap_or_else(|| (Usage::default().body(), Usage::default()));
    out.usage = Some(AnswerUsage::Counted(usage_body));
    (out.to_vec(), usage)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn without_created(bytes: &[u8]) -> Value {
        let mut v: Value = serde_json::from_slice(bytes).unwrap();
        v.as_object_mut().unwrap().remove("created");
        v
    }

    #[test]
    fn the_typed_read_answers_as_the_value_read_does() {
        for body in [
            r#"{"responseId":"r1","candidates":[{"content":{"parts":[{"text":"Hel"},{"text":"lo"},{"text":"hmm","thought":true}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"thoughtsTokenCount":2,"cachedContentTokenCount":3}}"#,
            r#"{"responseId":"r2","candidates":[{"content":{"parts":[{"text":"a"}]},"index":1},{"content":{"parts":[]},"finishReason":"SAFETY"}]}"#,
            r#"{"responseId":"r3","candidates":[{"finishReason":"STOP"}],"usageMetadata":null}"#,
        ] {
            let typed: TypedAnswer = serde_json::from_str(body).unwrap();
            assert!(ordinary(&typed), "{body}");
            let (fast, fast_usage) = answer(body.as_bytes(), "gemini-x").unwrap();
            let (slow, slow_usage) = answer_from_value(body.as_bytes(), "gemini-x").unwrap();
            assert_eq!(without_created(&fast), without_created(&slow), "{body}");
            assert_eq!(fast_usage, slow_usage, "{body}");
        }
    }

    #[test]
    fn calls_blocks_and_odd_types_take_the_value_read() {
        let call = r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}}}]}}]}"#;
        let typed: TypedAnswer = serde_json::from_str(call).unwrap();
        assert!(!ordinary(&typed));
        let (out, _) = answer(call.as_bytes(), "m").unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
            "f"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        let blocked = r#"{"candidates":[],"promptFeedback":{"blockReason":"SAFETY"}}"#;
        assert_eq!(answer(blocked.as_bytes(), "m").unwrap_err().status, 400);
        let odd_index = r#"{"candidates":[{"index":"0","content":{"parts":[{"text":"x"}]}}]}"#;
        let (out, _) = answer(odd_index.as_bytes(), "m").unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "x");
    }
}
