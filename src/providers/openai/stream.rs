//! An OpenAI-compatible SSE stream, passed on chunk by chunk: each chunk is parsed once (to
//! see errors, the finish and usage) and sent as received unless its `model` is renamed.

use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::errors::stream_error;
use crate::providers::classify::cut_short;
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::sse::SseEvent;
use crate::providers::ProviderKind;

pub struct OpenAiStream {
    kind: ProviderKind,
    rename_model: Option<String>,
    saw_done: bool,
    saw_finish: bool,
}

impl OpenAiStream {
    pub fn new(kind: ProviderKind, rename_model: Option<String>) -> Self {
        Self {
            kind,
            rename_model,
            saw_done: false,
            saw_finish: false,
        }
    }
}

fn has_finish(chunk: &Value) -> bool {
    chunk
        .get("choices")
        .and_then(Value::as_array)
        .is_some_and(|choices| {
            choices
                .iter()
                .any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null()))
        })
}

impl StreamTranslator for OpenAiStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let trimmed = ev.data.trim();
        if trimmed == "[DONE]" {
            self.saw_done = true;
            out.push(StreamItem::Done);
            return Ok(());
        }
        let Ok(mut chunk) = serde_json::from_str::<Value>(trimmed) else {
            // Not JSON: passed on as the upstream sent it, but never with a key in it.
            out.push(StreamItem::Verbatim(
                crate::secret::redact(trimmed).into_owned(),
            ));
            return Ok(());
        };
        if let Some(err) = chunk.get("error") {
            return Err(stream_error(err));
        }
        if has_finish(&chunk) {
            self.saw_finish = true;
        }
        let mut renamed = false;
        if let (Some(name), Some(model)) = (&self.rename_model, chunk.get_mut("model")) {
            *model = Value::String(name.clone());
            renamed = true;
        }
        let text = if renamed {
            None
        } else if trimmed.len() == ev.data.len() {
            Some(ev.data)
        } else {
            Some(trimmed.to_string())
        };
        out.push(StreamItem::Chunk { chunk, text });
        Ok(())
    }

    /// Complete after `[DONE]`, or after a finish (servers that omit `[DONE]`; it is added).
    fn end(&mut self, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if self.saw_done {
            Ok(())
        } else if self.saw_finish {
            out.push(StreamItem::Done);
            Ok(())
        } else {
            Err(cut_short(self.kind, "no finish_reason, no [DONE]"))
        }
    }
}
