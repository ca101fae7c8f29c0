//! Ollama's JSON-lines stream as OpenAI chunks (chat chunks, or `text_completion` events for a
//! `/v1/completions` request). Complete at the `"done": true` line; an `{"error": ...}` line
//! is an error the client sees.

use std::borrow::Cow;

use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::errors::stream_error;
use super::response::{finish_reason, text_and_thinking, tool_calls, usage};
use crate::openai::chunk::{ChunkHead, ChunkUsage, Delta, ToolCallDelta};
use crate::openai::ids::{chat_id, random_hex};
use crate::openai::text_completion::{TextChoice, TextCompletion};
use crate::openai::{Endpoint, Usage};
use crate::providers::classify::{cut_short, event_object};
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::sse::SseEvent;
use crate::providers::ProviderKind;

pub struct OllamaStream {
    kind: ProviderKind,
    endpoint: Endpoint,
    head: ChunkHead,
    sent_role: bool,
    calls: u64,
    done: bool,
}

impl OllamaStream {
    pub fn new(kind: ProviderKind, model: &str, endpoint: Endpoint) -> Self {
        let id = match endpoint {
            Endpoint::Completions => format!("cmpl-{}", random_hex(24)),
            _ => chat_id(None),
        };
        Self {
            kind,
            endpoint,
            head: ChunkHead::new(id, model),
            sent_role: false,
            calls: 0,
            done: false,
        }
    }

    /// A `text_completion` stream event: a piece of text, the finish, or the usage alone.
    fn text_event(&self, text: &str, finish: Option<&str>, usage: Option<&Usage>) -> Value {
        let mut event =
            TextCompletion::new(self.head.id.as_str(), self.head.created, &self.head.model);
        match usage {
            Some(u) => event.usage = Some(u.body()),
            None => event.choices.push(TextChoice {
                index: 0,
                text: Cow::Borrowed(text),
                logprobs: None,
                finish_reason: finish,
            }),
        }
        serde_json::to_value(&event).unwrap_or_default()
    }

    fn chat_line(&mut self, v: &Value, out: &mut Vec<StreamItem>) {
        let (text, thinking) = text_and_thinking(v);
        let mut delta = Delta::default();
        if !text.is_empty() {
            delta.content = Some(Some(Cow::Borrowed(text)));
        }
        if !thinking.is_empty() {
            delta.reasoning_content = Some(Cow::Borrowed(thinking));
        }
        let calls = v.get("message").map(tool_calls).unwrap_or_default();
        for (id, name, args) in &calls {
            delta
                .tool_calls
                .push(ToolCallDelta::start(self.calls, id, name, args));
            self.calls += 1;
        }
        if !delta.is_empty() {
            if !self.sent_role {
                self.sent_role = true;
                delta.role = Some("assistant");
            }
            out.push(StreamItem::chunk(
                self.head.delta(0, delta, None).to_value(),
            ));
        }
    }
}

impl StreamTranslator for OllamaStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let v = event_object(self.kind, &ev)?;
        if let Some(err) = v.get("error") {
            let message = err.as_str().map_or_else(|| err.to_string(), str::to_string);
            return Err(stream_error(self.kind, &message));
        }
        let done = v.get("done").and_then(Value::as_bool) == Some(true);
        if self.endpoint == Endpoint::Completions {
            let (text, _) = text_and_thinking(&v);
            if !text.is_empty() {
                out.push(StreamItem::chunk(self.text_event(text, None, None)));
            }
        } else {
            self.chat_line(&v, out);
        }
        if done {
            self.done = true;
            let finish = finish_reason(&v, self.calls > 0);
            let usage = usage(&v);
            if self.endpoint == Endpoint::Completions {
                out.push(StreamItem::chunk(self.text_event("", Some(finish), None)));
                if let Some(u) = &usage {
                    out.push(StreamItem::chunk(self.text_event("", None, Some(u))));
                }
            } else {
                out.push(StreamItem::chunk(
                    self.head
                        .delta(0, Delta::default(), Some(finish))
                        .to_value(),
                ));
                if let Some(u) = usage {
                    out.push(StreamItem::chunk(
                        self.head.usage(ChunkUsage::Counted(u.body())).to_value(),
                    ));
                }
            }
            out.push(StreamItem::Done);
        }
        Ok(())
    }

    fn end(&mut self, _out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if self.done {
            Ok(())
        } else {
            Err(cut_short(self.kind, "no \"done\": true line"))
        }
    }
}
