//! InvokeModelWithResponseStream for Anthropic's models: each `chunk` frame carries one
//! Messages stream event, base64-encoded in `{"bytes": "..."}`; relayed as Anthropic's SSE.

use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use super::errors::frame_error;
use super::KIND;
use crate::providers::classify::malformed;
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::native::messages::{self, MessagesRelay};
use crate::providers::sse::SseEvent;

#[derive(Default)]
pub struct InvokeStream {
    messages: MessagesRelay,
}

#[derive(Deserialize)]
struct Chunk {
    bytes: String,
}

impl StreamTranslator for InvokeStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let name = ev.event.as_deref().unwrap_or("");
        frame_error(name, &ev.data)?;
        if name != "chunk" {
            return Err(malformed(
                KIND,
                &format!("an unexpected stream frame ({name})"),
            ));
        }
        let data = serde_json::from_str::<Chunk>(&ev.data)
            .ok()
            .and_then(|c| {
                base64::engine::general_purpose::STANDARD
                    .decode(c.bytes)
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| malformed(KIND, "a stream chunk without base64 JSON bytes"))?;
        self.messages.event(SseEvent { event: None, data }, out)
    }

    fn end(&mut self, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        self.messages.end(out)
    }

    fn error_event(&self, class: ErrorClass, message: &str) -> Bytes {
        messages::error_event(class, message)
    }
}
