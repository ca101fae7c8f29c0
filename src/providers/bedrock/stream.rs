//! ConverseStream's events (`messageStart`, `contentBlockStart`, `contentBlockDelta`,
//! `contentBlockStop`, `messageStop`, `metadata`, and exception frames) as OpenAI chunks.
//! Complete at `messageStop`; usage comes after it, in `metadata`.

use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::errors::frame_error;
use super::request::JSON_TOOL;
use super::response::{finish_reason, usage};
use crate::openai::chunk::{ChunkHead, ChunkUsage, Delta, ToolCallDelta};
use crate::openai::ids::chat_id;
use crate::providers::classify::{cut_short, event_object, malformed};
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::sse::SseEvent;
use crate::providers::ProviderKind;

const KIND: ProviderKind = ProviderKind::Bedrock;

pub struct BedrockStream {
    head: ChunkHead,
    json_mode: bool,
    /// Content block index → tool call index, for toolUse blocks.
    tool_blocks: Vec<(u64, u64)>,
    json_block: Option<u64>,
    sent_role: bool,
    stopped: bool,
}

impl BedrockStream {
    pub fn new(model: &str, json_mode: bool) -> Self {
        Self {
            head: ChunkHead::new(chat_id(None), model),
            json_mode,
            tool_blocks: Vec::new(),
            json_block: None,
            sent_role: false,
            stopped: false,
        }
    }

    fn emit(&mut self, mut delta: Delta<'_>, out: &mut Vec<StreamItem>) {
        if !self.sent_role {
            self.sent_role = true;
            delta.role = Some("assistant");
        }
        out.push(StreamItem::chunk(
            self.head.delta(0, delta, None).to_value(),
        ));
    }

    fn block_start(&mut self, v: &Value, out: &mut Vec<StreamItem>) {
        let Some(tool) = v.pointer("/start/toolUse") else {
            return;
        };
        let index = v
            .get("contentBlockIndex")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
        if self.json_mode && name == JSON_TOOL {
            self.json_block = Some(index);
            return;
        }
        let tool_index = u64::try_from(self.tool_blocks.len()).unwrap_or(u64::MAX);
        self.tool_blocks.push((index, tool_index));
        let id = tool.get("toolUseId").and_then(Value::as_str).unwrap_or("");
        let delta = Delta {
            tool_calls: vec![ToolCallDelta::start(tool_index, id, name, "")],
            ..Delta::default()
        };
        self.emit(delta, out);
    }

    fn block_delta(&mut self, v: &Value, out: &mut Vec<StreamItem>) {
        let index = v
            .get("contentBlockIndex")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let Some(delta) = v.get("delta") else {
            return;
        };
        let openai = if let Some(t) = delta.get("text").and_then(Value::as_str) {
            Delta::content(t)
        } else if let Some(t) = delta
            .pointer("/reasoningContent/text")
            .and_then(Value::as_str)
        {
            Delta::reasoning(t)
        } else if let Some(input) = delta.pointer("/toolUse/input").and_then(Value::as_str) {
            if self.json_block == Some(index) {
                Delta::content(input)
            } else {
                let Some(&(_, tool_index)) = self.tool_blocks.iter().find(|(b, _)| *b == index)
                else {
                    return;
                };
                Delta {
                    tool_calls: vec![ToolCallDelta::arguments(tool_index, input)],
                    ..Delta::default()
                }
            }
        } else {
            // Reasoning signatures and redacted reasoning have no OpenAI chunk field.
            return;
        };
        self.emit(openai, out);
    }
}

impl StreamTranslator for BedrockStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let name = ev.event.as_deref().unwrap_or("");
        frame_error(name, &ev.data)?;
        if name == "corrupt" {
            return Err(malformed(
                KIND,
                &format!("an unreadable stream frame ({})", ev.data),
            ));
        }
        let v = event_object(KIND, &ev)?;
        match name {
            "contentBlockStart" => self.block_start(&v, out),
            "contentBlockDelta" => self.block_delta(&v, out),
            "messageStop" => {
                self.stopped = true;
                let stop = v
                    .get("stopReason")
                    .and_then(Value::as_str)
                    .unwrap_or("end_turn");
                let finish = match finish_reason(stop) {
                    "tool_calls" if self.tool_blocks.is_empty() => "stop",
                    other => other,
                };
                out.push(StreamItem::chunk(
                    self.head
                        .delta(0, Delta::default(), Some(finish))
                        .to_value(),
                ));
            }
            "metadata" => {
                if let Some(u) = v.get("usage") {
                    let (body, _) = usage(u);
                    out.push(StreamItem::chunk(
                        self.head.usage(ChunkUsage::Counted(body)).to_value(),
                    ));
                }
            }
            // messageStart, contentBlockStop, and event types added after this was written.
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if self.stopped {
            out.push(StreamItem::Done);
            Ok(())
        } else {
            Err(cut_short(KIND, "no messageStop"))
        }
    }
}
