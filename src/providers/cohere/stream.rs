//! Cohere v2's SSE events as OpenAI chunks: `content-delta` text, `tool-call-start` /
//! `tool-call-delta`, `message-end` with the finish reason and usage. Complete at
//! `message-end`.

use serde_json::Value;
use switchyard_actors::plan::AttemptError;

use super::response::{finish_reason, usage};
use crate::openai::chunk::{ChunkHead, ChunkUsage, Delta, ToolCallDelta};
use crate::openai::ids::chat_id;
use crate::providers::classify::{cut_short, event_object, labelled};
use crate::providers::contract::{StreamItem, StreamTranslator};
use crate::providers::sse::SseEvent;
use crate::providers::ProviderKind;
use switchyard_actors::ErrorClass;

const KIND: ProviderKind = ProviderKind::Cohere;

pub struct CohereStream {
    head: Option<ChunkHead>,
    model: String,
    sent_role: bool,
    ended: bool,
}

impl CohereStream {
    pub fn new(model: &str) -> Self {
        Self {
            head: None,
            model: model.to_string(),
            sent_role: false,
            ended: false,
        }
    }
}

impl StreamTranslator for CohereStream {
    fn event(&mut self, ev: SseEvent, out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        let v = event_object(KIND, &ev)?;
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .or(ev.event.as_deref())
            .unwrap_or("");
        let model = &self.model;
        let head = self.head.get_or_insert_with(|| {
            ChunkHead::new(chat_id(v.get("id").and_then(Value::as_str)), model)
        });
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        let tool = v.pointer("/delta/message/tool_calls");
        let mut delta = match kind {
            "content-delta" => match v
                .pointer("/delta/message/content/text")
                .and_then(Value::as_str)
            {
                Some(t) => Delta::content(t),
                None => return Ok(()),
            },
            "tool-call-start" => {
                let f = tool.and_then(|t| t.get("function"));
                fn text(v: Option<&Value>) -> &str {
                    v.and_then(Value::as_str).unwrap_or("")
                }
                Delta {
                    tool_calls: vec![ToolCallDelta::start(
                        index,
                        text(tool.and_then(|t| t.get("id"))),
                        text(f.and_then(|f| f.get("name"))),
                        text(f.and_then(|f| f.get("arguments"))),
                    )],
                    ..Delta::default()
                }
            }
            "tool-call-delta" => {
                match tool
                    .and_then(|t| t.pointer("/function/arguments"))
                    .and_then(Value::as_str)
                {
                    Some(args) => Delta {
                        tool_calls: vec![ToolCallDelta::arguments(index, args)],
                        ..Delta::default()
                    },
                    None => return Ok(()),
                }
            }
            "message-end" => {
                self.ended = true;
                let reason = v
                    .pointer("/delta/finish_reason")
                    .and_then(Value::as_str)
                    .unwrap_or("COMPLETE");
                if reason == "ERROR" {
                    let message = v
                        .pointer("/delta/error")
                        .and_then(Value::as_str)
                        .unwrap_or("the stream ended with an error");
                    return Err(labelled(KIND, ErrorClass::InternalServer, message, None));
                }
                out.push(StreamItem::chunk(
                    head.delta(0, Delta::default(), Some(finish_reason(reason)))
                        .to_value(),
                ));
                if let Some(u) = v.pointer("/delta/usage") {
                    out.push(StreamItem::chunk(
                        head.usage(ChunkUsage::Counted(usage(u).body())).to_value(),
                    ));
                }
                out.push(StreamItem::Done);
                return Ok(());
            }
            // message-start, content-start/end, tool-plan-delta, citations: no chunk field.
            _ => return Ok(()),
        };
        if !self.sent_role {
            self.sent_role = true;
            delta.role = Some("assistant");
        }
        out.push(StreamItem::chunk(head.delta(0, delta, None).to_value()));
        Ok(())
    }

    fn end(&mut self, _out: &mut Vec<StreamItem>) -> Result<(), AttemptError> {
        if self.ended {
            Ok(())
        } else {
            Err(cut_short(KIND, "no message-end"))
        }
    }
}
