//! A chat request as one `/completions` prompt.

use serde_json::{Map, Value};

use crate::openai::request::{ChatRequest, Message};
use crate::providers::upstream::Upstream;

/// Chat parameters `/completions` also takes, passed on as they are.
const SHARED_PARAMS: &[&str] = &[
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "seed",
    "user",
    "stream_options",
];

/// The messages' texts, one paragraph each, in order.
fn prompt(req: &ChatRequest<'_>) -> String {
    let texts: Vec<String> = req
        .messages
        .iter()
        .map(|m| match m {
            Message::System(c) | Message::User(c) => c.text(),
            Message::Assistant { content, .. } | Message::Tool { content, .. } => content.text(),
        })
        .filter(|t| !t.is_empty())
        .collect();
    texts.join("\n\n")
}

pub fn from_chat(d: &Upstream, body: &Map<String, Value>, stream: bool) -> Vec<u8> {
    let req = ChatRequest::read(body);
    let mut out = Map::new();
    out.insert("model".into(), Value::String(d.model.clone()));
    out.insert("prompt".into(), Value::String(prompt(&req)));
    if let Some(n) = req.max_tokens {
        out.insert("max_tokens".into(), Value::from(n));
    }
    for key in SHARED_PARAMS {
        if let Some(v) = req.param(key) {
            out.entry(key.to_string()).or_insert_with(|| v.clone());
        }
    }
    for (k, v) in &d.default_params {
        out.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if stream {
        out.insert("stream".into(), Value::Bool(true));
    }
    serde_json::to_vec(&out).unwrap_or_default()
}
