//! What a cache entry holds and how it comes back out.
//! Stored value, JSON readable with `redis-cli GET`:
//! `{"timestamp":T,"model_at":[S,E],"usage":[P,C,N],"response":{...the answer...}}`.
//! `model_at` is where the answer's `model` value sits and `usage` its token counts, so a hit
//! is answered by splicing the requested name in, without parsing the answer again (that
//! parse was most of a hit's cost).
//! A streamed answer is assembled into one `chat.completion` when it completes; a streamed hit
//! is replayed as SSE chunks, a word per chunk as LiteLLM does.

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::openai::chunk::{
    ChunkHead, ChunkUsage, Delta, FunctionDelta, ToolCallDelta, DONE_EVENT,
};
use crate::openai::completion::{self, AnswerUsage, AssistantMessage, Completion, FunctionCall};
use crate::openai::rewrite::{model_span, replace_span};
use crate::openai::{Endpoint, Usage};

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The entry for an answer, or `None` when the answer is not a JSON object.
pub fn encode(response: &[u8], now: f64) -> Option<Vec<u8>> {
    let (span, usage) = model_span(response)?;
    let span = span.unwrap_or(0..0);
    let head = format!(
        "{{\"timestamp\":{now:.3},\"model_at\":[{},{}],\"usage\":[{},{},{}],\"response\":",
        span.start, span.end, usage.prompt_tokens, usage.completion_tokens, usage.total_tokens
    );
    let mut out = Vec::with_capacity(head.len() + response.len() + 1);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(response);
    out.push(b'}');
    Some(out)
}

pub struct Stored<'a> {
    pub timestamp: f64,
    model_at: Range<usize>,
    pub usage: Usage,
    pub response: &'a [u8],
}

impl Stored<'_> {
    /// The answer with its `model` set to `name`.
    pub fn with_model(&self, name: &str) -> Vec<u8> {
        let r = self.response;
        if self.model_at.is_empty() {
            return r.to_vec();
        }
        let quoted = serde_json::to_string(name).unwrap_or_else(|_| "\"\"".into());
        replace_span(r, self.model_at.clone(), quoted.as_bytes()).unwrap_or_else(|| r.to_vec())
    }
}

/// Reads the text up to `end` as a `T`; the rest after `end`.
fn field<T: std::str::FromStr>(b: &[u8], end: u8) -> Option<(T, &[u8])> {
    let at = b.iter().position(|&c| c == end)?;
    let (text, rest) = b.split_at_checked(at)?;
    let x = std::str::from_utf8(text).ok()?.parse().ok()?;
    Some((x, rest.get(1..)?))
}

/// The entry, or `None` when the bytes are not a well-formed entry of ours (then it is a miss).
/// Redis is shared and outlives versions: nothing in an entry is trusted. The answer must be
/// one JSON object and `model_at` must frame one JSON string inside it, so a hit can only ever
/// send the client valid JSON.
pub fn decode(bytes: &[u8]) -> Option<Stored<'_>> {
    let rest = bytes.strip_prefix(b"{\"timestamp\":")?;
    let (timestamp, rest) = field::<f64>(rest, b',')?;
    let rest = rest.strip_prefix(b"\"model_at\":[")?;
    let (start, rest) = field::<usize>(rest, b',')?;
    let (end, rest) = field::<usize>(rest, b']')?;
    let rest = rest.strip_prefix(b",\"usage\":[")?;
    let (prompt, rest) = field::<u64>(rest, b',')?;
    let (completion, rest) = field::<u64>(rest, b',')?;
    let (total, rest) = field::<u64>(rest, b']')?;
    let response = rest.strip_prefix(b",\"response\":")?.strip_suffix(b"}")?;
    if !timestamp.is_finite() || !response.starts_with(b"{") || start > end {
        return None;
    }
    serde_json::from_slice::<&RawValue>(response).ok()?;
    if start < end {
        let span = response.get(start..end)?;
        serde_json::from_slice::<&str>(span)
            .ok()
            .map(drop)
            .or_else(|| serde_json::from_slice::<String>(span).ok().map(drop))?;
    }
    Some(Stored {
        timestamp,
        model_at: start..end,
        usage: Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: total,
        },
        response,
    })
}

#[derive(Deserialize)]
struct OutputProbe<'a> {
    #[serde(default, borrow)]
    choices: Vec<ChoiceProbe<'a>>,
    #[serde(default, borrow)]
    data: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChoiceProbe<'a> {
    #[serde(borrow)]
    message: Option<MessageProbe<'a>>,
    #[serde(borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct MessageProbe<'a> {
    content: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    tool_calls: Option<&'a RawValue>,
    #[serde(borrow)]
    function_call: Option<&'a RawValue>,
}

/// Whether an answer is worth storing: LiteLLM does not store answers without output.
pub fn has_output(endpoint: Endpoint, body: &[u8]) -> bool {
    let Ok(p) = serde_json::from_slice::<OutputProbe>(body) else {
        return false;
    };
    match endpoint {
        Endpoint::Embeddings => !p.data.is_empty(),
        Endpoint::Completions => p
            .choices
            .iter()
            .any(|c| c.text.as_ref().is_some_and(|t| !t.is_empty())),
        Endpoint::Chat => p.choices.iter().any(|c| {
            c.message.as_ref().is_some_and(|m| {
                m.content.as_ref().is_some_and(|s| !s.is_empty())
                    || m.tool_calls
                        .is_some_and(|t| t.get() != "null" && t.get() != "[]")
                    || m.function_call.is_some_and(|f| f.get() != "null")
            })
        }),
    }
}

#[derive(Default)]
struct ToolCall {
    id: Option<Value>,
    kind: Option<Value>,
    name: String,
    arguments: String,
}

#[derive(Default)]
struct Choice {
    role: Option<Value>,
    content: String,
    has_content: bool,
    reasoning: String,
    refusal: Option<String>,
    tool_calls: Vec<ToolCall>,
    finish_reason: Option<Value>,
    logprobs: Vec<Value>,
}

/// Builds the `chat.completion` a stream amounts to, chunk by chunk, as the relay sees them.
#[derive(Default)]
pub struct StreamCollector {
    head: Map<String, Value>,
    choices: Vec<Choice>,
    usage: Option<Value>,
    size: usize,
    /// Set when the stream outgrew the entry size bound: nothing will be stored.
    overflow: bool,
}

/// An assembled stream larger than this is not stored.
const MAX_COLLECTED_BYTES: usize = 8 * 1024 * 1024;

fn append(dst: &mut String, v: Option<&Value>) -> usize {
    match v.and_then(Value::as_str) {
        Some(s) => {
            dst.push_str(s);
            s.len()
        }
        None => 0,
    }
}

/// Most choices (`n`) or tool calls an assembled answer keeps; later indexes are not stored.
const MAX_INDEX: usize = 128;

/// The item at a chunk's `index` (absent means 0), grown into place; `None` past `MAX_INDEX`.
fn slot<'a, T: Default>(items: &'a mut Vec<T>, index: Option<&Value>) -> Option<&'a mut T> {
    let i = match index {
        None | Some(Value::Null) => 0,
        Some(v) => usize::try_from(v.as_u64()?).ok()?,
    };
    if i > MAX_INDEX {
        return None;
    }
    if items.len() <= i {
        items.resize_with(i + 1, T::default);
    }
    items.get_mut(i)
}

impl StreamCollector {
    pub fn add(&mut self, chunk: &Value) {
        if self.overflow {
            return;
        }
        for key in [
            "id",
            "created",
            "model",
            "system_fingerprint",
            "service_tier",
        ] {
            if let Some(v) = chunk.get(key).filter(|v| !v.is_null()) {
                self.head.entry(key).or_insert_with(|| v.clone());
            }
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            return;
        };
        for c in choices {
            let Some(choice) = slot(&mut self.choices, c.get("index")) else {
                continue;
            };
            if let Some(f) = c.get("finish_reason").filter(|f| !f.is_null()) {
                choice.finish_reason = Some(f.clone());
            }
            if let Some(lp) = c.pointer("/logprobs/content").and_then(Value::as_array) {
                // Counted at a rough 64 bytes a token, so logprobs cannot grow without bound.
                self.size += lp.len() * 64;
                choice.logprobs.extend(lp.iter().cloned());
            }
            let Some(delta) = c.get("delta") else {
                continue;
            };
            if let Some(role) = delta.get("role").filter(|r| !r.is_null()) {
                choice.role.get_or_insert_with(|| role.clone());
            }
            if delta.get("content").is_some_and(Value::is_string) {
                choice.has_content = true;
            }
            self.size += append(&mut choice.content, delta.get("content"));
            self.size += append(&mut choice.reasoning, delta.get("reasoning_content"));
            if let Some(r) = delta.get("refusal").and_then(Value::as_str) {
                choice.refusal.get_or_insert_with(String::new).push_str(r);
                self.size += r.len();
            }
            for tc in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(call) = slot(&mut choice.tool_calls, tc.get("index")) else {
                    continue;
                };
                if let Some(id) = tc.get("id").filter(|v| !v.is_null()) {
                    call.id.get_or_insert_with(|| id.clone());
                }
                if let Some(t) = tc.get("type").filter(|v| !v.is_null()) {
                    call.kind.get_or_insert_with(|| t.clone());
                }
                self.size += append(&mut call.name, tc.pointer("/function/name"));
                self.size += append(&mut call.arguments, tc.pointer("/function/arguments"));
            }
        }
        if self.size > MAX_COLLECTED_BYTES {
            self.overflow = true;
        }
    }

    /// The assembled `chat.completion`, or `None` when there is nothing worth storing.
    pub fn finish(self) -> Option<Vec<u8>> {
        if self.overflow || self.choices.is_empty() {
            return None;
        }
        let has_output = self
            .choices
            .iter()
            .any(|c| !c.content.is_empty() || !c.tool_calls.is_empty());
        if !has_output {
            return None;
        }
        let id = match self.head.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "chatcmpl-cached".to_string(),
        };
        let created = self
            .head
            .get("created")
            .and_then(Value::as_u64)
            .unwrap_or_else(unix_now_secs);
        let model = self
            .head
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut out = Completion::new(id, created, model);
        out.system_fingerprint = self.head.get("system_fingerprint").cloned();
        out.service_tier = self.head.get("service_tier").cloned();
        out.choices = self
            .choices
            .into_iter()
            .zip(0u64..)
            .map(|(c, i)| {
                let tool_calls = c
                    .tool_calls
                    .into_iter()
                    .map(|t| completion::ToolCall {
                        id: Cow::Owned(t.id.map(text_of).unwrap_or_default()),
                        kind: Cow::Owned(t.kind.map_or_else(|| "function".into(), text_of)),
                        function: FunctionCall {
                            name: Cow::Owned(t.name),
                            arguments: Cow::Owned(t.arguments),
                        },
                    })
                    .collect();
                let message = AssistantMessage {
                    role: Cow::Owned(c.role.map_or_else(|| "assistant".into(), text_of)),
                    content: c.has_content.then_some(Cow::Owned(c.content)),
                    reasoning_content: (!c.reasoning.is_empty()).then_some(Cow::Owned(c.reasoning)),
                    refusal: c.refusal.map(Cow::Owned),
                    tool_calls,
                };
                let logprobs = (!c.logprobs.is_empty()).then(|| json!({"content": c.logprobs}));
                completion::Choice {
                    index: i,
                    message,
                    logprobs,
                    finish_reason: Cow::Owned(
                        c.finish_reason.map_or_else(|| "stop".into(), text_of),
                    ),
                }
            })
            .collect();
        out.usage = self.usage.map(AnswerUsage::AsStored);
        Some(out.to_vec())
    }
}

/// A JSON string's text, or any other value's JSON.
fn text_of(v: impl std::borrow::Borrow<Value>) -> String {
    match v.borrow() {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn unix_now_secs() -> u64 {
    crate::openai::ids::unix_now()
}

#[derive(Deserialize)]
struct StoredAnswer {
    id: Option<Value>,
    system_fingerprint: Option<Value>,
    #[serde(default)]
    choices: Vec<StoredChoice>,
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct StoredChoice {
    index: Option<Value>,
    #[serde(default)]
    message: StoredMessage,
    finish_reason: Option<Value>,
}

#[derive(Deserialize, Default)]
struct StoredMessage {
    role: Option<Value>,
    content: Option<Value>,
    reasoning_content: Option<Value>,
    /// Objects only: an answer whose tool calls are anything else is not one we can replay.
    tool_calls: Option<Vec<Map<String, Value>>>,
}

/// A stored `chat.completion` replayed as one SSE body: a word per chunk, tool calls whole,
/// the finish chunk, the usage chunk when asked, `[DONE]`. `None` when the stored answer does
/// not have the shape of one (then the entry is treated as a miss).
pub fn replay_stream(response: &[u8], model: &str, include_usage: bool) -> Option<Bytes> {
    let answer: StoredAnswer = serde_json::from_slice(response).ok()?;
    let id = answer.id.map_or_else(|| "chatcmpl-cached".into(), text_of);
    let mut head = ChunkHead::new(id, model);
    head.system_fingerprint = answer.system_fingerprint;
    let mut out = Vec::new();
    for (c, i) in answer.choices.iter().zip(0u64..) {
        let index = c.index.as_ref().and_then(Value::as_u64).unwrap_or(i);
        let message = &c.message;
        let role = message
            .role
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("assistant");
        let mut emit = |delta: Delta<'_>| head.delta(index, delta, None).write_sse(&mut out);
        if let Some(r) = message.reasoning_content.as_ref().and_then(Value::as_str) {
            let mut delta = Delta::reasoning(r);
            delta.role = Some(role);
            emit(delta);
        }
        let content = message
            .content
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut first = true;
        for word in content.split_inclusive(' ') {
            let mut delta = Delta::content(word);
            if first {
                delta.role = Some(role);
            }
            first = false;
            emit(delta);
        }
        if let Some(calls) = &message.tool_calls {
            let mut delta = Delta {
                tool_calls: calls
                    .iter()
                    .zip(0u64..)
                    .map(|(t, j)| stored_call(t, j))
                    .collect(),
                ..Delta::default()
            };
            if first {
                delta.role = Some(role);
                delta.content = Some(None);
            }
            emit(delta);
        } else if first {
            let mut delta = Delta::content("");
            delta.role = Some(role);
            emit(delta);
        }
        let finish = c
            .finish_reason
            .as_ref()
            .and_then(Value::as_str)
            .unwrap_or("stop");
        head.delta(index, Delta::default(), Some(finish))
            .write_sse(&mut out);
    }
    if include_usage {
        if let Some(u) = &answer.usage {
            head.usage(ChunkUsage::AsStored(u)).write_sse(&mut out);
        }
    }
    out.extend_from_slice(DONE_EVENT);
    Some(Bytes::from(out))
}

/// A stored tool call as one whole delta.
fn stored_call(t: &Map<String, Value>, index: u64) -> ToolCallDelta<'_> {
    let function = t.get("function");
    ToolCallDelta {
        index,
        id: stored_text(t.get("id")),
        kind: Some(t.get("type").and_then(Value::as_str).unwrap_or("function")),
        function: FunctionDelta {
            name: stored_text(function.and_then(|f| f.get("name"))),
            arguments: stored_text(function.and_then(|f| f.get("arguments"))),
        },
    }
}

fn stored_text(v: Option<&Value>) -> Option<Cow<'_, str>> {
    match v? {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Null => None,
        other => Some(Cow::Owned(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(delta: Value, finish: Value) -> Value {
        json!({"id": "c1", "object": "chat.completion.chunk", "created": 7, "model": "up",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    }

    #[test]
    fn a_stream_assembles_into_a_completion_and_replays() {
        let mut c = StreamCollector::default();
        c.add(&chunk(
            json!({"role": "assistant", "content": "hello "}),
            Value::Null,
        ));
        c.add(&chunk(json!({"content": "world"}), Value::Null));
        c.add(&chunk(json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}]}), Value::Null));
        c.add(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}),
            Value::Null,
        ));
        c.add(&chunk(json!({}), json!("tool_calls")));
        c.add(&json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}));
        let body = c.finish().unwrap();
        assert!(has_output(Endpoint::Chat, &body));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "hello world");
        assert_eq!(
            v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"a\":1}"
        );
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(v["usage"]["total_tokens"], 5);

        let sse = replay_stream(&body, "gpt-4o", true).unwrap();
        let text = std::str::from_utf8(&sse).unwrap();
        assert_eq!(text.matches("data: ").count(), 6, "{text}");
        assert!(text.ends_with("data: [DONE]\n\n"));
        assert!(text.contains("\"model\":\"gpt-4o\""));
    }

    #[test]
    fn empty_answers_are_not_worth_storing() {
        assert!(StreamCollector::default().finish().is_none());
        assert!(!has_output(
            Endpoint::Chat,
            br#"{"choices":[{"message":{"role":"assistant","content":""}}]}"#
        ));
        assert!(has_output(
            Endpoint::Embeddings,
            br#"{"data":[{"embedding":[0.1]}]}"#
        ));
        assert!(decode(b"garbage").is_none());
        assert!(encode(b"[1]", 1.0).is_none());
    }

    #[test]
    fn an_entry_round_trips_and_takes_the_requested_model_name() {
        let answer = br#"{"id":"x","model":"upstream-name","usage":{"prompt_tokens":4,"completion_tokens":1}}"#;
        let e = encode(answer, 12.5).unwrap();
        let v: Value = serde_json::from_slice(&e).expect("the stored entry is JSON");
        assert_eq!(v["response"]["id"], "x");
        let d = decode(&e).unwrap();
        assert_eq!((d.timestamp, d.usage.total_tokens), (12.5, 5));
        let out: Value = serde_json::from_slice(&d.with_model("gpt-4o \"alias\"")).unwrap();
        assert_eq!(out["model"], "gpt-4o \"alias\"");
        assert_eq!(out["usage"]["prompt_tokens"], 4);
        let no_model = encode(br#"{"id":"y"}"#, 1.0).unwrap();
        assert_eq!(decode(&no_model).unwrap().with_model("m"), br#"{"id":"y"}"#);
    }
}
