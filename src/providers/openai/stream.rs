//! An OpenAI-compatible SSE stream, passed on chunk by chunk: each chunk is read once (to see
//! errors, the finish and usage) and sent as received unless its `model` is renamed. Reading is
//! a probe that builds nothing (a JSON tree per chunk cost about a fifth of the relay's CPU with
//! 10,000 open streams); anything the probe does not expect takes the full parse.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::errors::stream_error;
use crate::json::Present;
use crate::openai::rewrite::{replace_span, span_in};
use crate::openai::Usage;
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

/// What the relay needs from an ordinary chunk, read without building it.
#[derive(Deserialize)]
struct ChunkProbe<'a> {
    #[serde(default)]
    error: Present,
    #[serde(default)]
    choices: Option<Vec<ChoiceProbe>>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    model: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChoiceProbe {
    #[serde(default)]
    finish_reason: Option<IgnoredAny>,
}

/// A chunk the probe read: its usage, and its text with the model the client is shown, when
/// that differs from the upstream's.
struct Probed {
    usage: Option<Usage>,
    renamed: Option<String>,
}

impl OpenAiStream {
    /// The chunk read without building it, when nothing in it needs more: no error, a `usage`
    /// that is an object or absent, a `model` that is a value of its own when it must be
    /// renamed. `None`: take the full parse.
    fn probe(&mut self, text: &str) -> Option<Probed> {
        let probe: ChunkProbe = serde_json::from_str(text).ok()?;
        if probe.error.0 {
            return None;
        }
        let usage = match probe.usage {
            None => None,
            Some(raw) => Some(Usage::from_object(&serde_json::from_str(raw.get()).ok()?)?),
        };
        let renamed = match &self.rename_model {
            None => None,
            Some(name) => {
                let model = probe.model?;
                let wanted = Value::String(name.clone()).to_string();
                if model.get() == wanted {
                    None
                } else {
                    let span = span_in(text.as_bytes(), model)?;
                    let bytes = replace_span(text.as_bytes(), span, wanted.as_bytes())?;
                    Some(String::from_utf8(bytes).ok()?)
                }
            }
        };
        if probe
            .choices
            .is_some_and(|c| c.iter().any(|c| c.finish_reason.is_some()))
        {
            self.saw_finish = true;
        }
        Some(Probed { usage, renamed })
    }
}

impl StreamTranslator for OpenAiStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let trimmed = ev.data.trim();
        if trimmed == "[DONE]" {
            self.saw_done = true;
            out.push(StreamItem::Done);
            return Ok(());
        }
        if let Some(Probed { usage, renamed }) = self.probe(trimmed) {
            let text = match renamed {
                Some(text) => text,
                None if trimmed.len() == ev.data.len() => ev.data,
                None => trimmed.to_string(),
            };
            out.push(StreamItem::Passthrough { text, usage });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn items(data: &str, rename: Option<&str>) -> (Result<Vec<StreamItem>, AttemptError>, bool) {
        let mut s = OpenAiStream::new(ProviderKind::OpenAi, rename.map(str::to_string));
        let mut out = Vec::new();
        let r = s.event(
            SseEvent {
                event: None,
                data: data.to_string(),
            },
            &mut out,
        );
        (r.map(|()| out), s.saw_finish)
    }

    #[test]
    fn ordinary_chunks_pass_as_received_with_their_usage_and_finish() {
        let text =
            r#"{"id":"c","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#;
        let (out, finished) = items(text, None);
        assert_eq!(
            out.unwrap(),
            vec![StreamItem::Passthrough {
                text: text.into(),
                usage: None
            }]
        );
        assert!(!finished);
        let text = r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#;
        let (out, finished) = items(text, None);
        assert_eq!(
            out.unwrap(),
            vec![StreamItem::Passthrough {
                text: text.into(),
                usage: Some(Usage::counted(3, 4, None))
            }]
        );
        assert!(finished);
    }

    #[test]
    fn anything_unusual_takes_the_full_parse() {
        // An error, even `null`, ends the stream as an error.
        assert!(items(r#"{"error":null}"#, None).0.is_err());
        assert!(items(r#"{"error":{"message":"overloaded"}}"#, None)
            .0
            .is_err());
        // A model shown under another name is rewritten in place; one without a model field
        // takes the full parse.
        let (out, _) = items(r#"{"id":"x","model": "m" ,"choices":[]}"#, Some("al\"ias"));
        assert_eq!(
            out.unwrap(),
            vec![StreamItem::Passthrough {
                text: r#"{"id":"x","model": "al\"ias" ,"choices":[]}"#.into(),
                usage: None
            }]
        );
        let (out, _) = items(r#"{"choices":[]}"#, Some("alias"));
        assert!(matches!(
            out.unwrap().as_slice(),
            [StreamItem::Chunk { .. }]
        ));
        // `choices` that is not a list, a `usage` that is not an object: as before.
        let (out, _) = items(r#"{"choices":{},"usage":1}"#, None);
        assert!(matches!(
            out.unwrap().as_slice(),
            [StreamItem::Chunk { .. }]
        ));
        // Not JSON: passed on verbatim.
        let (out, _) = items("not json", None);
        assert!(matches!(out.unwrap().as_slice(), [StreamItem::Verbatim(_)]));
    }
}
