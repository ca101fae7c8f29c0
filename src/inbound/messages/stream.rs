//! An OpenAI chunk stream as Messages API events: `message_start`, a content block per text,
//! thinking or tool call (`content_block_start` / `_delta` / `_stop`, a new index each),
//! `message_delta` with the stop reason and output tokens, `message_stop`. An error event from
//! the gateway becomes `event: error`, never a fake `message_stop`.

use serde_json::{json, Value};

use super::wire::{error_type, event, message_id, stop_reason};
use crate::inbound::chunk_bridge::FromChunks;

#[derive(PartialEq, Clone, Copy)]
enum Open {
    None,
    Text,
    Thinking,
    Tool,
}

pub struct ToMessages {
    model: String,
    started: bool,
    open: Open,
    index: i64,
    stop: &'static str,
    input_tokens: u64,
    output_tokens: u64,
}

impl ToMessages {
    /// `model`: the name the client asked for.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_string(),
            started: false,
            open: Open::None,
            index: -1,
            stop: "end_turn",
            input_tokens: 0,
            output_tokens: 0,
        }
    }

    fn start(&mut self, chunk: &Value, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = message_id(
            chunk
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("chatcmpl-stream"),
        );
        let model = &self.model;
        event(
            "message_start",
            &json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant",
                "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0}}}),
            out,
        );
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open != Open::None {
            event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": self.index}),
                out,
            );
            self.open = Open::None;
        }
    }

    fn open(&mut self, kind: Open, block: Value, out: &mut Vec<u8>) {
        self.close(out);
        self.index += 1;
        self.open = kind;
        event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": self.index, "content_block": block}),
            out,
        );
    }

    fn delta(&self, delta: Value, out: &mut Vec<u8>) {
        event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": self.index, "delta": delta}),
            out,
        );
    }

    fn on_chunk(&mut self, chunk: &Value, out: &mut Vec<u8>) {
        self.start(chunk, out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.input_tokens = u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
            self.output_tokens = u
                .get("completion_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0);
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return;
        };
        let d = choice.get("delta").unwrap_or(&Value::Null);
        if let Some(t) = d
            .get("reasoning_content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            if self.open != Open::Thinking {
                self.open(
                    Open::Thinking,
                    json!({"type": "thinking", "thinking": "", "signature": ""}),
                    out,
                );
            }
            self.delta(json!({"type": "thinking_delta", "thinking": t}), out);
        }
        if let Some(t) = d
            .get("content")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            if self.open != Open::Text {
                self.open(Open::Text, json!({"type": "text", "text": ""}), out);
            }
            self.delta(json!({"type": "text_delta", "text": t}), out);
        }
        for call in d
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let f = call.get("function").unwrap_or(&Value::Null);
            if let Some(id) = call.get("id").and_then(Value::as_str) {
                self.open(
                    Open::Tool,
                    json!({"type": "tool_use", "id": id, "name": f.get("name").cloned().unwrap_or(json!("")), "input": {}}),
                    out,
                );
            }
            if let Some(args) = f
                .get("arguments")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            {
                if self.open == Open::Tool {
                    self.delta(
                        json!({"type": "input_json_delta", "partial_json": args}),
                        out,
                    );
                }
            }
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.stop = stop_reason(f);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start(&Value::Null, out);
        self.close(out);
        event(
            "message_delta",
            &json!({"type": "message_delta", "delta": {"stop_reason": self.stop, "stop_sequence": null},
                    "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}}),
            out,
        );
        event("message_stop", &json!({"type": "message_stop"}), out);
    }

    fn fail(&mut self, err: &Value, out: &mut Vec<u8>) {
        let status = err
            .get("code")
            .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(500);
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("stream failed");
        event(
            "error",
            &json!({"type": "error", "error": {"type": error_type(status), "message": message}}),
            out,
        );
    }
}

impl FromChunks for ToMessages {
    fn chunk(&mut self, chunk: &Value, out: &mut Vec<u8>) {
        self.on_chunk(chunk, out);
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        self.finish(out);
    }

    fn error(&mut self, error: &Value, out: &mut Vec<u8>) {
        self.fail(error, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::chunk_bridge::ChunkBridge;

    fn events(bytes: &[u8]) -> Vec<(String, Value)> {
        crate::inbound::chunk_bridge::named_events(bytes)
    }

    use crate::inbound::chunk_bridge::RECORDED_CHUNKS as CHUNKS;

    #[test]
    fn a_chunk_stream_becomes_messages_events_block_by_block() {
        let mut t = ChunkBridge::new(ToMessages::new("qwen"));
        let mut out = Vec::new();
        // Fed in awkward pieces, as a network would.
        for piece in format!("{CHUNKS}data: [DONE]\n\n").as_bytes().chunks(17) {
            out.extend(t.push(piece));
        }
        out.extend(t.end());
        let ev = events(&out);
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(ev[0].1["message"]["id"], "msg_abc");
        assert_eq!(ev[5].1["index"], 1);
        assert_eq!(ev[5].1["content_block"]["type"], "tool_use");
        assert_eq!(ev[6].1["delta"]["partial_json"], "{\"a\":1}");
        assert_eq!(ev[8].1["delta"]["stop_reason"], "tool_use");
        assert_eq!(ev[8].1["usage"]["output_tokens"], 3);
    }

    #[test]
    fn a_cut_stream_or_an_error_event_ends_with_an_error_not_a_message_stop() {
        let mut t = ChunkBridge::new(ToMessages::new("qwen"));
        let mut out = t.push(CHUNKS.as_bytes());
        out.extend(t.end());
        let ev = events(&out);
        assert_eq!(ev.last().unwrap().0, "error");
        assert!(!ev.iter().any(|(n, _)| n == "message_stop"));

        let mut t = ChunkBridge::new(ToMessages::new("qwen"));
        let out = t.push(b"data: {\"error\":{\"message\":\"Rate limit\",\"type\":\"throttling_error\",\"code\":\"429\"}}\n\n");
        let ev = events(&out);
        assert_eq!(ev[0].0, "error");
        assert_eq!(ev[0].1["error"]["type"], "rate_limit_error");
    }
}
