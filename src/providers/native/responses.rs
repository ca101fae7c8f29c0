//! OpenAI Responses API bodies passed through to servers that have `/responses` (OpenAI, Azure,
//! current vLLM and SGLang): the body with the deployment's model, the usage of an answer, and a
//! stream relayed event by event (complete at `response.completed`, `.incomplete` or `.failed`).

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::openai::Usage;
use crate::providers::classify::{cut_short, malformed};
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::sse::SseEvent;
use crate::providers::ProviderKind;

const KIND: ProviderKind = ProviderKind::OpenAi;

/// The client's body with the deployment's model.
pub fn body_for(body: &Map<String, Value>, model: &str) -> Vec<u8> {
    let mut out = body.clone();
    out.insert("model".into(), Value::from(model));
    serde_json::to_vec(&out).unwrap_or_default()
}

#[derive(Deserialize, Default)]
struct Counts {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

impl Counts {
    fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.input_tokens,
            completion_tokens: self.output_tokens,
            total_tokens: self.input_tokens.saturating_add(self.output_tokens),
        }
    }
}

#[derive(Deserialize)]
struct ResponseUsage {
    object: Option<String>,
    #[serde(default)]
    usage: Option<Counts>,
}

/// The usage of a response object; anything else is a malformed answer.
pub fn answer_usage(body: &[u8]) -> Result<Usage, AttemptError> {
    let parsed: ResponseUsage =
        serde_json::from_slice(body).map_err(|_| malformed(KIND, "an answer that is not JSON"))?;
    if parsed.object.as_deref() != Some("response") {
        return Err(malformed(KIND, "an answer that is not a response object"));
    }
    Ok(parsed.usage.unwrap_or_default().usage())
}

#[derive(Deserialize)]
struct StreamEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    response: Option<ResponseUsage>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<Value>,
}

/// Relays a Responses stream as it came, reading the usage at its end.
#[derive(Default)]
pub struct ResponsesRelay {
    finished: bool,
    sequence: u64,
}

impl StreamTranslator for ResponsesRelay {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if ev.data == "[DONE]" {
            return Ok(());
        }
        let parsed: StreamEvent = serde_json::from_str(&ev.data)
            .map_err(|_| malformed(KIND, "a stream event that is not a JSON object with a type"))?;
        if parsed.kind == "error" {
            let message = parsed.message.unwrap_or_else(|| "(no message)".into());
            let code = parsed.code.map(|c| c.to_string()).unwrap_or_default();
            return Err(AttemptError::new(
                ErrorClass::InternalServer,
                500,
                format!(
                    "InternalServerError: {} - {message} {code}",
                    KIND.exception_label()
                ),
            ));
        }
        self.sequence += 1;
        out.push(StreamItem::Raw(Bytes::from(format!(
            "event: {}\ndata: {}\n\n",
            parsed.kind, ev.data
        ))));
        if matches!(
            parsed.kind.as_str(),
            "response.completed" | "response.incomplete" | "response.failed"
        ) {
            self.finished = true;
            if let Some(u) = parsed.response.and_then(|r| r.usage) {
                out.push(StreamItem::Usage(u.usage()));
            }
            out.push(StreamItem::Finished);
        }
        Ok(())
    }

    fn end(&mut self, _out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if self.finished {
            Ok(())
        } else {
            Err(cut_short(KIND, "no response.completed"))
        }
    }

    fn error_event(&self, class: ErrorClass, message: &str) -> Bytes {
        error_event(class, message, self.sequence)
    }
}

/// A failure mid-stream as the Responses API sends one: an `error` event.
pub fn error_event(class: ErrorClass, message: &str, sequence_number: u64) -> Bytes {
    let data = serde_json::json!({
        "type": "error",
        "code": class.error_type(),
        "message": message,
        "param": null,
        "sequence_number": sequence_number,
    });
    Bytes::from(format!("event: error\ndata: {data}\n\n"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.into(),
        }
    }

    #[test]
    fn a_recorded_stream_is_relayed_and_complete_at_its_last_event() {
        let mut relay = ResponsesRelay::default();
        let mut out = Vec::new();
        for data in [
            r#"{"type":"response.created","sequence_number":0,"response":{"object":"response","status":"in_progress"}}"#,
            r#"{"type":"response.output_text.delta","sequence_number":1,"delta":"Hi"}"#,
            r#"{"type":"response.completed","sequence_number":2,"response":{"object":"response","usage":{"input_tokens":5,"output_tokens":2}}}"#,
        ] {
            relay.event(ev(data), &mut out).unwrap();
        }
        relay.end(&mut out).unwrap();
        assert!(
            matches!(&out[0], StreamItem::Raw(b) if b.starts_with(b"event: response.created\ndata: "))
        );
        assert!(out.contains(&StreamItem::Usage(Usage {
            prompt_tokens: 5,
            completion_tokens: 2,
            total_tokens: 7
        })));
        assert_eq!(out.last(), Some(&StreamItem::Finished));
    }

    #[test]
    fn a_cut_stream_and_an_error_event_are_failures() {
        let mut relay = ResponsesRelay::default();
        let mut out = Vec::new();
        relay
            .event(
                ev(r#"{"type":"response.created","sequence_number":0}"#),
                &mut out,
            )
            .unwrap();
        assert!(relay.end(&mut out).is_err());
        let e = relay
            .event(
                ev(r#"{"type":"error","message":"boom","code":"server_error"}"#),
                &mut out,
            )
            .unwrap_err();
        assert!(e.message.contains("boom"));
        let sent = String::from_utf8(relay.error_event(e.class, &e.message).to_vec()).unwrap();
        assert!(
            sent.starts_with("event: error\ndata: {\"type\":\"error\""),
            "{sent}"
        );
        assert!(answer_usage(br#"{"object":"chat.completion"}"#).is_err());
    }
}
