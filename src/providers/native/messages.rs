//! Anthropic Messages bodies passed through: the body for each host of Anthropic's models, the
//! usage of an answer, and a stream relayed event by event (complete at `message_stop`).

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::openai::Usage;
use crate::providers::anthropic::stream_error;
use crate::providers::classify::{cut_short, malformed};
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::sse::SseEvent;
use crate::providers::ProviderKind;

/// The client's body for an upstream: the deployment's model in `model` (Anthropic), or no
/// `model` and the host's `anthropic_version` in the body (Vertex, Bedrock).
pub fn body_for(
    body: &Map<String, Value>,
    model: Option<&str>,
    anthropic_version: Option<&str>,
    stream: bool,
) -> Vec<u8> {
    let mut out = body.clone();
    match model {
        Some(m) => {
            out.insert("model".into(), Value::from(m));
        }
        None => {
            out.remove("model");
        }
    }
    if let Some(v) = anthropic_version {
        out.insert("anthropic_version".into(), Value::from(v));
    }
    if stream {
        out.insert("stream".into(), Value::Bool(true));
    } else {
        out.remove("stream");
    }
    serde_json::to_vec(&out).unwrap_or_default()
}

/// The fields Anthropic's token counter takes (it refuses others, `max_tokens` included).
const COUNTED_FIELDS: &[&str] = &[
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
];

/// A count_tokens body from a Messages body, with the deployment's model when it goes in the
/// body.
pub fn count_body(body: &Map<String, Value>, model: Option<&str>) -> Map<String, Value> {
    let mut out: Map<String, Value> = body
        .iter()
        .filter(|(k, _)| COUNTED_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match model {
        Some(m) => {
            out.insert("model".into(), Value::from(m));
        }
        None => {
            out.remove("model");
        }
    }
    out
}

#[derive(Deserialize)]
struct Counted {
    #[serde(alias = "inputTokens")]
    input_tokens: u64,
}

/// A counter's answer (`input_tokens`, or Bedrock's `inputTokens`) as prompt tokens.
pub fn counted(body: &[u8]) -> Result<Usage, AttemptError> {
    let c: Counted = serde_json::from_slice(body).map_err(|_| {
        malformed(
            ProviderKind::Anthropic,
            "a token count without input_tokens",
        )
    })?;
    Ok(Usage {
        prompt_tokens: c.input_tokens,
        completion_tokens: 0,
        total_tokens: c.input_tokens,
    })
}

#[derive(Deserialize, Default)]
struct UsageCounts {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
}

impl UsageCounts {
    /// Prompt tokens as OpenAI counts them: cached and cache-writing input included.
    fn prompt(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_creation_input_tokens)
            .saturating_add(self.cache_read_input_tokens)
    }

    fn usage(&self, output_tokens: u64) -> Usage {
        let prompt = self.prompt();
        Usage {
            prompt_tokens: prompt,
            completion_tokens: output_tokens,
            total_tokens: prompt.saturating_add(output_tokens),
        }
    }
}

#[derive(Deserialize)]
struct MessageUsage {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    usage: Option<UsageCounts>,
}

/// The usage of a Messages answer; an answer that is not a message is a malformed answer.
pub fn answer_usage(body: &[u8]) -> Result<Usage, AttemptError> {
    let parsed: MessageUsage = serde_json::from_slice(body)
        .map_err(|_| malformed(ProviderKind::Anthropic, "an answer that is not JSON"))?;
    if parsed.kind.as_deref() != Some("message") {
        return Err(malformed(
            ProviderKind::Anthropic,
            "an answer that is not a message",
        ));
    }
    let counts = parsed.usage.unwrap_or_default();
    Ok(counts.usage(counts.output_tokens))
}

#[derive(Deserialize)]
struct StreamEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<MessageUsage>,
    #[serde(default)]
    usage: Option<UsageCounts>,
    #[serde(default)]
    error: Option<Value>,
}

/// Relays a Messages stream as it came, reading the usage on the way; complete at
/// `message_stop`, an `error` event is the stream's failure.
#[derive(Default)]
pub struct MessagesRelay {
    input: Option<UsageCounts>,
    output_tokens: u64,
    stopped: bool,
}

impl MessagesRelay {
    pub fn new() -> Self {
        Self::default()
    }
}

/// One event in SSE framing, named by its `type` as Anthropic names them.
fn sse(kind: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

impl StreamTranslator for MessagesRelay {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let parsed: StreamEvent = serde_json::from_str(&ev.data).map_err(|_| {
            malformed(
                ProviderKind::Anthropic,
                "a stream event that is not a JSON object with a type",
            )
        })?;
        match parsed.kind.as_str() {
            "message_start" => {
                self.input = parsed.message.and_then(|m| m.usage);
            }
            "message_delta" => {
                if let Some(u) = parsed.usage {
                    self.output_tokens = u.output_tokens;
                }
            }
            "error" => {
                return Err(stream_error(parsed.error.as_ref().unwrap_or(&Value::Null)));
            }
            _ => {}
        }
        out.push(StreamItem::Raw(sse(&parsed.kind, &ev.data)));
        if parsed.kind == "message_stop" {
            self.stopped = true;
            let input = self.input.take().unwrap_or_default();
            out.push(StreamItem::Usage(input.usage(self.output_tokens)));
            out.push(StreamItem::Finished);
        }
        Ok(())
    }

    fn end(&mut self, _out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if self.stopped {
            Ok(())
        } else {
            Err(cut_short(ProviderKind::Anthropic, "no message_stop"))
        }
    }

    fn error_event(&self, class: ErrorClass, message: &str) -> Bytes {
        error_event(class, message)
    }
}

/// A failure mid-stream as Anthropic sends one: `event: error`.
pub fn error_event(class: ErrorClass, message: &str) -> Bytes {
    crate::providers::anthropic::error_body::sse_event(class.client_status(), message)
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

    const RECORDED: &[&str] = &[
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","usage":{"input_tokens":12,"cache_read_input_tokens":3,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"ping"}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}"#,
        r#"{"type":"message_stop"}"#,
    ];

    #[test]
    fn a_recorded_stream_is_relayed_as_it_came_with_its_usage_counted() {
        let mut relay = MessagesRelay::new();
        let mut out = Vec::new();
        for data in RECORDED {
            relay.event(ev(data), &mut out).unwrap();
        }
        relay.end(&mut out).unwrap();
        let raw: Vec<String> = out
            .iter()
            .filter_map(|i| match i {
                StreamItem::Raw(b) => Some(String::from_utf8(b.to_vec()).unwrap()),
                _ => None,
            })
            .collect();
        assert_eq!(raw.len(), RECORDED.len());
        assert!(raw[0].starts_with("event: message_start\ndata: {"));
        assert_eq!(
            raw[2],
            format!("event: content_block_delta\ndata: {}\n\n", RECORDED[2])
        );
        let usage = out.iter().find_map(|i| match i {
            StreamItem::Usage(u) => Some(*u),
            _ => None,
        });
        assert_eq!(
            usage,
            Some(Usage {
                prompt_tokens: 15,
                completion_tokens: 7,
                total_tokens: 22
            })
        );
        assert_eq!(out.last(), Some(&StreamItem::Finished));
    }

    #[test]
    fn a_cut_stream_or_an_error_event_is_a_failure_never_a_finished_stream() {
        let mut relay = MessagesRelay::new();
        let mut out = Vec::new();
        for data in &RECORDED[..4] {
            relay.event(ev(data), &mut out).unwrap();
        }
        let cut = relay.end(&mut out).unwrap_err();
        assert!(cut.message.contains("no message_stop"), "{}", cut.message);
        assert!(!out.contains(&StreamItem::Finished));

        let mut relay = MessagesRelay::new();
        let e = relay
            .event(
                ev(r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
                &mut out,
            )
            .unwrap_err();
        assert!(e.message.contains("Overloaded"), "{}", e.message);
        let sent = relay.error_event(e.class, &e.message);
        let text = String::from_utf8(sent.to_vec()).unwrap();
        assert!(
            text.starts_with("event: error\ndata: {\"type\":\"error\""),
            "{text}"
        );

        let e = MessagesRelay::new()
            .event(ev("not json"), &mut out)
            .unwrap_err();
        assert_eq!(e.status, 500);
    }

    #[test]
    fn an_answer_that_is_not_a_message_is_malformed() {
        assert!(answer_usage(br#"{"type":"error"}"#).is_err());
        assert!(answer_usage(b"[1]").is_err());
        let u = answer_usage(br#"{"type":"message","usage":{"input_tokens":4,"output_tokens":2}}"#)
            .unwrap();
        assert_eq!(u.total_tokens, 6);
    }

    #[test]
    fn the_body_carries_the_deployments_model_or_the_hosts_version() {
        let body: Map<String, Value> = serde_json::from_str(
            r#"{"model":"claude","max_tokens":5,"stream":true,"metadata":{"user_id":"u"}}"#,
        )
        .unwrap();
        let direct: Value =
            serde_json::from_slice(&body_for(&body, Some("claude-3-5-haiku"), None, false))
                .unwrap();
        assert_eq!(direct["model"], "claude-3-5-haiku");
        assert!(direct.get("stream").is_none());
        assert_eq!(direct["metadata"]["user_id"], "u");
        let vertex: Value =
            serde_json::from_slice(&body_for(&body, None, Some("vertex-2023-10-16"), true))
                .unwrap();
        assert!(vertex.get("model").is_none());
        assert_eq!(vertex["anthropic_version"], "vertex-2023-10-16");
        assert_eq!(vertex["stream"], true);
    }
}
