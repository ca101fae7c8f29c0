//! Anthropic's SSE events (`message_start`, `content_block_*`, `message_delta`,
//! `message_stop`, `ping`, `error`) as OpenAI chunks. The answer is complete at
//! `message_stop`; a stream that closes before it was cut short.

use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::errors::stream_error;
use super::request::JSON_TOOL;
use super::response::{completion_id, finish_reason, usage};
use crate::openai::chunk::{ChunkHead, ChunkUsage, Delta, ToolCallDelta};
use crate::providers::classify::{cut_short, event_object};
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::sse::SseEvent;
use crate::providers::ProviderKind;

pub struct AnthropicStream {
    head: Option<ChunkHead>,
    model: String,
    /// Content block index → tool call index, for tool-use blocks.
    tool_blocks: Vec<(u64, u64)>,
    input_usage: Value,
    output_tokens: u64,
    finish: Option<&'static str>,
    sent_role: bool,
    /// JSON mode: the forced JSON tool's block, whose input streams as the answer's content.
    json_mode: bool,
    json_block: Option<u64>,
    stopped: bool,
}

impl AnthropicStream {
    pub fn new(model: &str, json_mode: bool) -> Self {
        Self {
            head: None,
            model: model.to_string(),
            tool_blocks: Vec::new(),
            input_usage: Value::Null,
            output_tokens: 0,
            finish: None,
            sent_role: false,
            json_mode,
            json_block: None,
            stopped: false,
        }
    }

    fn head(&mut self, message_id: Option<&str>) -> &ChunkHead {
        let model = &self.model;
        self.head
            .get_or_insert_with(|| ChunkHead::new(completion_id(message_id), model))
    }

    /// A content delta; the first one carries the role, as OpenAI's first chunk does.
    fn emit(&mut self, mut delta: Delta<'_>, out: &mut Vec<StreamItem>) {
        if !self.sent_role {
            self.sent_role = true;
            delta.role = Some("assistant");
        }
        let head = self.head(None);
        out.push(StreamItem::chunk(head.delta(0, delta, None).to_value()));
    }

    fn block_start(&mut self, v: &Value, out: &mut Vec<StreamItem>) {
        let block = v.get("content_block").unwrap_or(&Value::Null);
        if block.get("type").and_then(Value::as_str) != Some("tool_use") {
            return;
        }
        let name = block.get("name").and_then(Value::as_str).unwrap_or("");
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        if self.json_mode && name == JSON_TOOL {
            self.json_block = Some(index);
            return;
        }
        let tool_index = u64::try_from(self.tool_blocks.len()).unwrap_or(u64::MAX);
        self.tool_blocks.push((index, tool_index));
        let id = block.get("id").and_then(Value::as_str).unwrap_or("");
        let delta = Delta {
            tool_calls: vec![ToolCallDelta::start(tool_index, id, name, "")],
            ..Delta::default()
        };
        self.emit(delta, out);
    }

    fn block_delta(&mut self, v: &Value, out: &mut Vec<StreamItem>) {
        let delta = v.get("delta").unwrap_or(&Value::Null);
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        let text = |key: &str| delta.get(key).and_then(Value::as_str).unwrap_or("");
        let openai_delta = match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => Delta::content(text("text")),
            Some("thinking_delta") => Delta::reasoning(text("thinking")),
            Some("input_json_delta") if self.json_block == Some(index) => {
                Delta::content(text("partial_json"))
            }
            Some("input_json_delta") => {
                let Some(&(_, tool_index)) = self.tool_blocks.iter().find(|(b, _)| *b == index)
                else {
                    return;
                };
                Delta {
                    tool_calls: vec![ToolCallDelta::arguments(tool_index, text("partial_json"))],
                    ..Delta::default()
                }
            }
            // signature_delta, citations_delta: nothing in OpenAI's chunk carries them.
            _ => return,
        };
        self.emit(openai_delta, out);
    }

    fn message_delta(&mut self, v: &Value) {
        if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
            self.finish = Some(match finish_reason(r) {
                "tool_calls" if self.json_block.is_some() && self.tool_blocks.is_empty() => "stop",
                other => other,
            });
        }
        if let Some(n) = v.pointer("/usage/output_tokens").and_then(Value::as_u64) {
            self.output_tokens = n;
        }
    }

    fn message_stop(&mut self, out: &mut Vec<StreamItem>) {
        self.stopped = true;
        let finish = self.finish.unwrap_or("stop");
        let mut u = self.input_usage.clone();
        if !u.is_object() {
            u = Value::Object(serde_json::Map::new());
        }
        crate::json::set(&mut u, "output_tokens", Value::from(self.output_tokens));
        let (usage_body, _) = usage(&u);
        let head = self.head(None);
        out.push(StreamItem::chunk(
            head.delta(0, Delta::default(), Some(finish)).to_value(),
        ));
        out.push(StreamItem::chunk(
            head.usage(ChunkUsage::Counted(usage_body)).to_value(),
        ));
        out.push(StreamItem::Done);
    }
}

impl StreamTranslator for AnthropicStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let v = event_object(ProviderKind::Anthropic, &ev)?;
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(ev.event.as_deref())
            .unwrap_or("");
        match kind {
            "message_start" => {
                let message = v.get("message").unwrap_or(&Value::Null);
                self.input_usage = message.get("usage").cloned().unwrap_or(Value::Null);
                // Nothing is sent yet: an error before the first content can still be retried.
                self.head(message.get("id").and_then(Value::as_str));
            }
            "content_block_start" => self.block_start(&v, out),
            "content_block_delta" => self.block_delta(&v, out),
            "message_delta" => self.message_delta(&v),
            "message_stop" => self.message_stop(out),
            "error" => return Err(stream_error(v.get("error").unwrap_or(&Value::Null))),
            // ping, content_block_stop, and event types added after this was written.
            _ => {}
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
}
