//! `mock_response` deployments: answer in OpenAI's wire format without an upstream, as LiteLLM
//! does. The quick start runs on these.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::openai::chunk::{done_event, ChunkHead, ChunkUsage, Delta};
use crate::openai::completion::{AnswerUsage, AssistantMessage, Choice, Completion};
use crate::openai::embeddings::{Embedding, EmbeddingList, EmbeddingUsage};
use crate::openai::ids::unix_now;
use crate::openai::text_completion::{TextChoice, TextCompletion};
use crate::openai::{Endpoint, Usage};

/// A rough token count (about four characters a token) for usage figures of mock answers.
fn estimate_tokens(text: &str) -> u64 {
    u64::try_from(text.chars().count())
        .unwrap_or(u64::MAX)
        .div_ceil(4)
        .max(1)
}

fn prompt_tokens(body: &Map<String, Value>) -> u64 {
    let text = match body
        .get("messages")
        .or_else(|| body.get("input"))
        .or_else(|| body.get("prompt"))
    {
        Some(v) => v.to_string(),
        None => String::new(),
    };
    estimate_tokens(&text)
}

fn mock_id() -> String {
    format!("chatcmpl-mock-{:016x}", fastrand::u64(..))
}

fn usage(text: &str, request: &Map<String, Value>) -> Usage {
    Usage::counted(prompt_tokens(request), estimate_tokens(text), None)
}

pub fn chat_completion(text: &str, model: &str, request: &Map<String, Value>) -> (Vec<u8>, Usage) {
    let usage = usage(text, request);
    let mut out = Completion::new(mock_id(), unix_now(), model);
    out.choices.push(Choice {
        index: 0,
        message: AssistantMessage::new(Cow::Borrowed(text), Vec::new()),
        logprobs: None,
        finish_reason: Cow::Borrowed("stop"),
    });
    out.usage = Some(AnswerUsage::Counted(usage.body()));
    (out.to_vec(), usage)
}

/// The answer as SSE events, a word per chunk, then the finish chunk, usage when asked, `[DONE]`.
fn chat_stream(
    text: &str,
    model: &str,
    request: &Map<String, Value>,
    include_usage: bool,
) -> Vec<Bytes> {
    let head = ChunkHead::new(mock_id(), model);
    let mut chunks = Vec::new();
    for (i, word) in text.split_inclusive(' ').enumerate() {
        let mut delta = Delta::content(word);
        if i == 0 {
            delta.role = Some("assistant");
        }
        chunks.push(head.delta(0, delta, None));
    }
    chunks.push(head.delta(0, Delta::default(), Some("stop")));
    if include_usage {
        chunks.push(head.usage(ChunkUsage::Counted(usage(text, request).body())));
    }
    let mut out: Vec<Bytes> = chunks
        .iter()
        .map(|c| {
            let mut sse = Vec::new();
            c.write_sse(&mut sse);
            Bytes::from(sse)
        })
        .collect();
    out.push(done_event());
    out
}

/// Deterministic small vectors, one per input item.
pub fn embeddings(model: &str, request: &Map<String, Value>) -> (Vec<u8>, Usage) {
    let items: Vec<String> = match request.get("input") {
        Some(Value::Array(a)) => a.iter().map(Value::to_string).collect(),
        Some(v) => vec![v.to_string()],
        None => Vec::new(),
    };
    let data = items
        .iter()
        .zip(0u64..)
        .map(|(text, i)| {
            let seed = text
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            let vector: Vec<Value> = (0..8)
                .map(|k| Value::from(((seed >> (k * 4)) & 0xff) as f64 / 255.0))
                .collect();
            Embedding::new(i, Value::Array(vector))
        })
        .collect();
    let prompt = prompt_tokens(request);
    let usage = Usage::counted(prompt, 0, Some(prompt));
    let list = EmbeddingList::new(
        data,
        model,
        EmbeddingUsage {
            prompt_tokens: prompt,
            total_tokens: prompt,
        },
    );
    (list.to_vec(), usage)
}

/// A text completion: the prompt in, the mock text out.
pub fn text_completion(text: &str, model: &str, request: &Map<String, Value>) -> (Vec<u8>, Usage) {
    let usage = Usage::counted(prompt_tokens(request), estimate_tokens(text), None);
    let mut out = TextCompletion::new(mock_id(), unix_now(), model);
    out.choices.push(TextChoice {
        index: 0,
        text: Cow::Borrowed(text),
        logprobs: None,
        finish_reason: Some("stop"),
    });
    out.usage = Some(usage.body());
    (out.to_vec(), usage)
}

/// A text completion streamed a word per event, then the finish, usage when asked, `[DONE]`.
fn text_stream(
    text: &str,
    model: &str,
    request: &Map<String, Value>,
    include_usage: bool,
) -> Vec<Bytes> {
    let (id, created) = (mock_id(), unix_now());
    let piece = |text: &str, finish: Option<&'static str>| {
        let mut c = TextCompletion::new(id.as_str(), created, model);
        c.choices.push(TextChoice {
            index: 0,
            text: Cow::Owned(text.to_string()),
            logprobs: None,
            finish_reason: finish,
        });
        c
    };
    let mut events: Vec<TextCompletion> = text
        .split_inclusive(' ')
        .map(|word| piece(word, None))
        .collect();
    events.push(piece("", Some("stop")));
    if include_usage {
        let mut last = TextCompletion::new(id.as_str(), created, model);
        last.usage =
            Some(Usage::counted(prompt_tokens(request), estimate_tokens(text), None).body());
        events.push(last);
    }
    let mut out: Vec<Bytes> = events
        .iter()
        .map(|e| {
            let mut sse = Vec::new();
            e.write_sse(&mut sse);
            Bytes::from(sse)
        })
        .collect();
    out.push(done_event());
    out
}

pub fn answer(
    endpoint: Endpoint,
    text: &str,
    model: &str,
    request: &Map<String, Value>,
) -> (Vec<u8>, Usage) {
    match endpoint {
        Endpoint::Chat => chat_completion(text, model, request),
        Endpoint::Embeddings => embeddings(model, request),
        Endpoint::Completions => text_completion(text, model, request),
    }
}

/// A streamed mock answer (chat or text completion).
pub fn stream(
    endpoint: Endpoint,
    text: &str,
    model: &str,
    request: &Map<String, Value>,
    include_usage: bool,
) -> Vec<Bytes> {
    match endpoint {
        Endpoint::Completions => text_stream(text, model, request, include_usage),
        _ => chat_stream(text, model, request, include_usage),
    }
}
