//! Gemini's SSE stream (each event a partial `GenerateContentResponse`) as OpenAI chunks, one
//! id for the whole stream (LiteLLM's Gemini chunks change id mid-stream). The answer is
//! complete once a candidate has a `finishReason`.

use std::borrow::Cow;

use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::errors::stream_error;
use super::response::{blocked, candidate_parts, completion_id, finish_reason, usage};
use crate::openai::chunk::{ChunkHead, ChunkUsage, Delta, ToolCallDelta};
use crate::providers::classify::{cut_short, event_object};
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::sse::SseEvent;
use crate::providers::ProviderKind;

/// Most candidates (`n`) a stream is followed for.
const MAX_CANDIDATES: usize = 128;

pub struct GeminiStream {
    head: Option<ChunkHead>,
    model: String,
    /// Per candidate: tool calls seen so far, and whether the role was sent.
    calls: Vec<u64>,
    sent_role: Vec<bool>,
    finished: bool,
}

impl GeminiStream {
    pub fn new(model: &str) -> Self {
        Self {
            head: None,
            model: model.to_string(),
            calls: Vec::new(),
            sent_role: Vec::new(),
            finished: false,
        }
    }
}

impl StreamTranslator for GeminiStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let v = event_object(ProviderKind::Gemini, &ev)?;
        if let Some(err) = v.get("error") {
            return Err(stream_error(err));
        }
        if let Some(e) = blocked(&v) {
            return Err(e);
        }
        let model = &self.model;
        let head = self
            .head
            .get_or_insert_with(|| ChunkHead::new(completion_id(&v), model));
        let mut finishes = Vec::new();
        for (c, i) in v
            .get("candidates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .zip(0u64..)
        {
            let index = c.get("index").and_then(Value::as_u64).unwrap_or(i);
            let Some(slot) = usize::try_from(index).ok().filter(|s| *s <= MAX_CANDIDATES) else {
                continue;
            };
            if self.calls.len() <= slot {
                self.calls.resize(slot + 1, 0);
                self.sent_role.resize(slot + 1, false);
            }
            let (Some(calls), Some(sent_role)) =
                (self.calls.get_mut(slot), self.sent_role.get_mut(slot))
            else {
                continue;
            };
            let p = candidate_parts(c);
            let mut delta = Delta::default();
            if !p.text.is_empty() {
                delta.content = Some(Some(Cow::Borrowed(p.text.as_str())));
            }
            if !p.thought.is_empty() {
                delta.reasoning_content = Some(Cow::Borrowed(p.thought.as_str()));
            }
            for call in &p.calls {
                delta.tool_calls.push(ToolCallDelta::start(
                    *calls,
                    &call.id,
                    &call.name,
                    &call.arguments,
                ));
                *calls += 1;
            }
            if !delta.is_empty() {
                if !*sent_role {
                    *sent_role = true;
                    delta.role = Some("assistant");
                }
                out.push(StreamItem::chunk(head.delta(index, delta, None).to_value()));
            }
            if let Some(r) = c.get("finishReason").and_then(Value::as_str) {
                finishes.push((index, finish_reason(r, *calls > 0)));
            }
        }
        for (index, finish) in &finishes {
            out.push(StreamItem::chunk(
                head.delta(*index, Delta::default(), Some(finish))
                    .to_value(),
            ));
        }
        if !finishes.is_empty() && !self.finished {
            self.finished = true;
            if let Some((u, _)) = usage(&v) {
                out.push(StreamItem::chunk(
                    head.usage(ChunkUsage::Counted(u)).to_value(),
                ));
            }
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if self.finished {
            out.push(StreamItem::Done);
            Ok(())
        } else {
            Err(cut_short(ProviderKind::Gemini, "no finishReason"))
        }
    }
}
