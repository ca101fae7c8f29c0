//! A `/completions` stream (text_completion events, `[DONE]`) as chat chunks.

use std::borrow::Cow;

use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::KIND;
use crate::openai::chunk::{ChunkHead, ChunkUsage, Delta};
use crate::openai::Usage;
use crate::providers::classify::{cut_short, event_object};
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::openai::stream_error;
use crate::providers::sse::SseEvent;

pub struct AsChatStream {
    head: Option<ChunkHead>,
    model: String,
    sent_role: bool,
    finished: bool,
    done: bool,
}

impl AsChatStream {
    pub fn new(model: &str) -> Self {
        Self {
            head: None,
            model: model.to_string(),
            sent_role: false,
            finished: false,
            done: false,
        }
    }
}

impl StreamTranslator for AsChatStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if ev.data.trim() == "[DONE]" {
            self.done = true;
            out.push(StreamItem::Done);
            return Ok(());
        }
        let v = event_object(KIND, &ev)?;
        if let Some(err) = v.get("error") {
            return Err(stream_error(err));
        }
        let model = &self.model;
        let head = self.head.get_or_insert_with(|| {
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .map(|id| id.trim_start_matches("cmpl-"));
            ChunkHead::new(crate::openai::ids::chat_id(id), model)
        });
        for (c, i) in v
            .get("choices")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .zip(0u64..)
        {
            let index = c.get("index").and_then(Value::as_u64).unwrap_or(i);
            let text = c.get("text").and_then(Value::as_str).unwrap_or("");
            let finish = c.get("finish_reason").and_then(Value::as_str);
            let mut delta = Delta::default();
            if !text.is_empty() {
                delta.content = Some(Some(Cow::Borrowed(text)));
                if !self.sent_role {
                    self.sent_role = true;
                    delta.role = Some("assistant");
                }
            }
            if !delta.is_empty() || finish.is_some() {
                out.push(StreamItem::chunk(
                    head.delta(index, delta, finish).to_value(),
                ));
            }
            self.finished |= finish.is_some();
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            let usage = Usage::counted(get("prompt_tokens"), get("completion_tokens"), None);
            out.push(StreamItem::chunk(
                head.usage(ChunkUsage::Counted(usage.body())).to_value(),
            ));
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if self.done {
            Ok(())
        } else if self.finished {
            out.push(StreamItem::Done);
            Ok(())
        } else {
            Err(cut_short(KIND, "no finish_reason, no [DONE]"))
        }
    }
}
