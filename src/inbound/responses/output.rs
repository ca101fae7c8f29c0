//! The Responses API answer the bridge builds from chat output, whole (a `chat.completion`) or
//! piece by piece (chunks): `{id: "resp_...", object: "response", status, output: [reasoning,
//! message with output_text, function_call ...], usage}`, with the request's settings echoed as
//! OpenAI echoes them.

use serde_json::{json, Map, Value};

use crate::openai::ids::random_hex;

/// The request settings a response object repeats.
type Default = fn() -> Value;

const ECHOED: &[(&str, Default)] = &[
    ("instructions", || Value::Null),
    ("max_output_tokens", || Value::Null),
    ("parallel_tool_calls", || Value::Bool(true)),
    ("previous_response_id", || Value::Null),
    ("reasoning", || json!({"effort": null, "summary": null})),
    ("temperature", || json!(1.0)),
    ("text", || json!({"format": {"type": "text"}})),
    ("tool_choice", || json!("auto")),
    ("tools", || json!([])),
    ("top_p", || json!(1.0)),
    ("truncation", || json!("disabled")),
    ("user", || Value::Null),
    ("metadata", || json!({})),
];

/// The settings of a request as its response shows them.
pub fn echo(request: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, default) in ECHOED {
        let v = request
            .get(*key)
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or_else(default);
        out.insert((*key).into(), v);
    }
    out.insert(
        "store".into(),
        Value::Bool(request.get("store").and_then(Value::as_bool) != Some(false)),
    );
    out
}

#[derive(Debug)]
pub enum Item {
    Reasoning {
        id: String,
        text: String,
    },
    Message {
        id: String,
        text: String,
    },
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
        /// The chat tool call index it came from (streams).
        index: u64,
    },
}

impl Item {
    /// The item as the output array shows it (`done`: completed, else in progress and empty).
    pub fn to_value(&self, done: bool) -> Value {
        let status = if done { "completed" } else { "in_progress" };
        match self {
            Self::Reasoning { id, text } => json!({"type": "reasoning", "id": id, "summary": [],
                "content": if done { json!([{"type": "reasoning_text", "text": text}]) } else { json!([]) }}),
            Self::Message { id, text } => json!({"type": "message", "id": id, "status": status,
                "role": "assistant", "content": if done { json!([output_text(text)]) } else { json!([]) }}),
            Self::Call {
                id,
                call_id,
                name,
                arguments,
                ..
            } => json!({"type": "function_call", "id": id, "call_id": call_id, "name": name,
                "arguments": if done { arguments.as_str() } else { "" }, "status": status}),
        }
    }
}

pub fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A response under construction.
pub struct Output {
    pub id: String,
    created_at: u64,
    model: String,
    echo: Map<String, Value>,
    pub items: Vec<Item>,
    finish: Option<String>,
    usage: Option<Value>,
}

impl Output {
    pub fn new(model: &str, echo: Map<String, Value>) -> Self {
        Self {
            id: format!("resp_{}", random_hex(48)),
            created_at: switchyard_actors::clock::unix_ms() / 1000,
            model: model.to_string(),
            echo,
            items: Vec::new(),
            finish: None,
            usage: None,
        }
    }

    pub fn finish(&mut self, reason: &str) {
        self.finish = Some(reason.to_string());
    }

    /// A chat `usage` object, in the Responses API's names.
    pub fn usage(&mut self, u: &Value) {
        let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
        let cached = u
            .pointer("/prompt_tokens_details/cached_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let reasoning = u
            .pointer("/completion_tokens_details/reasoning_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let (input, output) = (n("prompt_tokens"), n("completion_tokens"));
        self.usage = Some(json!({
            "input_tokens": input,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input.saturating_add(output),
        }));
    }

    /// Cut by the token limit: `incomplete`, as OpenAI reports it.
    pub fn truncated(&self) -> bool {
        self.finish.as_deref() == Some("length")
    }

    /// The response object; `status` in_progress, completed, incomplete or failed.
    pub fn response(&self, status: &str, error: Option<Value>) -> Value {
        let done = status != "in_progress";
        let output: Vec<Value> = if done {
            self.items.iter().map(|i| i.to_value(true)).collect()
        } else {
            Vec::new()
        };
        let mut r = Map::new();
        r.insert("id".into(), json!(self.id));
        r.insert("object".into(), json!("response"));
        r.insert("created_at".into(), json!(self.created_at));
        r.insert("status".into(), json!(status));
        r.insert("error".into(), error.unwrap_or(Value::Null));
        r.insert(
            "incomplete_details".into(),
            if status == "incomplete" {
                json!({"reason": "max_output_tokens"})
            } else {
                Value::Null
            },
        );
        r.insert("model".into(), json!(self.model));
        r.insert("output".into(), Value::Array(output));
        for (k, v) in &self.echo {
            r.insert(k.clone(), v.clone());
        }
        r.insert(
            "usage".into(),
            if done {
                self.usage.clone().unwrap_or(Value::Null)
            } else {
                Value::Null
            },
        );
        Value::Object(r)
    }

    /// The status a finished answer has.
    pub fn final_status(&self) -> &'static str {
        if self.truncated() {
            "incomplete"
        } else {
            "completed"
        }
    }

    /// The answer as the chat message a follow-up sends back.
    pub fn assistant_message(&self) -> Value {
        let text: String = self
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Message { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        let calls: Vec<Value> = self
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Call {
                    call_id,
                    name,
                    arguments,
                    ..
                } => Some(json!({"id": call_id, "type": "function",
                    "function": {"name": name, "arguments": arguments}})),
                _ => None,
            })
            .collect();
        let mut m = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
        if !calls.is_empty() {
            crate::json::set(&mut m, "tool_calls", Value::Array(calls));
        }
        m
    }

    /// A whole `chat.completion` message.
    pub fn add_message(&mut self, m: &Value) {
        if let Some(t) = m
            .get("reasoning_content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.items.push(Item::Reasoning {
                id: format!("rs_{}", random_hex(32)),
                text: t.to_string(),
            });
        }
        if let Some(t) = m
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            self.items.push(Item::Message {
                id: format!("msg_{}", random_hex(32)),
                text: t.to_string(),
            });
        }
        for (i, c) in m
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let f = c.get("function").unwrap_or(&Value::Null);
            let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
            self.items.push(Item::Call {
                id: format!("fc_{}", random_hex(32)),
                call_id: s(c.get("id")),
                name: s(f.get("name")),
                arguments: s(f.get("arguments")),
                index: u64::try_from(i).unwrap_or(u64::MAX),
            });
        }
    }
}

/// A `chat.completion` as a response object, and the chat message it adds to the conversation.
pub fn from_chat(body: &[u8], mut out: Output) -> Option<(Value, Value)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let choice = v.get("choices")?.as_array()?.first()?;
    out.add_message(choice.get("message")?);
    if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
        out.finish(r);
    }
    if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
        out.usage(u);
    }
    Some((
        out.response(out.final_status(), None),
        out.assistant_message(),
    ))
}
