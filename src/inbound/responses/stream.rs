//! An OpenAI chunk stream as Responses API events: `response.created`, `response.in_progress`,
//! then per output item `response.output_item.added`, its deltas (`response.output_text.delta`
//! after `response.content_part.added`, `response.function_call_arguments.delta`,
//! `response.reasoning_text.delta`), their `.done` events and `response.output_item.done`; at
//! the end `response.completed` (`response.incomplete` when the token limit cut it) or
//! `response.failed` with the error. Every event carries a `sequence_number`.

use serde_json::{json, Value};

use super::output::{output_text, Item, Output};
use crate::inbound::chunk_bridge::FromChunks;
use crate::openai::ids::random_hex;

/// Called once with the finished response and the assistant message it adds (to store it).
pub type OnComplete = Box<dyn FnOnce(&Value, Value)>;

pub struct ToResponses {
    output: Output,
    sequence: u64,
    started: bool,
    /// The item deltas go to (an index into `output.items`), until another kind arrives.
    open: Option<usize>,
    on_complete: Option<OnComplete>,
}

impl ToResponses {
    pub fn new(output: Output, on_complete: Option<OnComplete>) -> Self {
        Self {
            output,
            sequence: 0,
            started: false,
            open: None,
            on_complete,
        }
    }

    fn event(&mut self, kind: &str, mut data: Value, out: &mut Vec<u8>) {
        crate::json::set(&mut data, "type", json!(kind));
        crate::json::set(&mut data, "sequence_number", json!(self.sequence));
        self.sequence += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        if serde_json::to_writer(&mut *out, &data).is_err() {
            out.extend_from_slice(b"{}");
        }
        out.extend_from_slice(b"\n\n");
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let r = self.output.response("in_progress", None);
        self.event("response.created", json!({"response": r}), out);
        let r = self.output.response("in_progress", None);
        self.event("response.in_progress", json!({"response": r}), out);
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        let Some(i) = self.open.take() else {
            return;
        };
        let Some(item) = self.output.items.get(i) else {
            return;
        };
        let done = item.to_value(true);
        match item {
            Item::Message { id, text } => {
                let (id, text) = (id.clone(), text.clone());
                self.event(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": i, "content_index": 0, "text": text, "logprobs": []}),
                    out,
                );
                self.event(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": i, "content_index": 0, "part": output_text(&text)}),
                    out,
                );
            }
            Item::Call { id, arguments, .. } => {
                let (id, arguments) = (id.clone(), arguments.clone());
                self.event(
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": i, "arguments": arguments}),
                    out,
                );
            }
            Item::Reasoning { id, text } => {
                let (id, text) = (id.clone(), text.clone());
                self.event(
                    "response.reasoning_text.done",
                    json!({"item_id": id, "output_index": i, "content_index": 0, "text": text}),
                    out,
                );
            }
        }
        self.event(
            "response.output_item.done",
            json!({"output_index": i, "item": done}),
            out,
        );
    }

    /// Opens a new output item (closing the one before).
    fn open(&mut self, item: Item, out: &mut Vec<u8>) -> usize {
        self.close(out);
        let i = self.output.items.len();
        let added = item.to_value(false);
        let part = match &item {
            Item::Message { id, .. } => Some(id.clone()),
            _ => None,
        };
        self.output.items.push(item);
        self.open = Some(i);
        self.event(
            "response.output_item.added",
            json!({"output_index": i, "item": added}),
            out,
        );
        if let Some(id) = part {
            self.event(
                "response.content_part.added",
                json!({"item_id": id, "output_index": i, "content_index": 0, "part": output_text("")}),
                out,
            );
        }
        i
    }

    fn open_index(&self, is_kind: fn(&Item) -> bool) -> Option<usize> {
        self.open
            .filter(|i| self.output.items.get(*i).is_some_and(is_kind))
    }

    fn reasoning(&mut self, delta: &str, out: &mut Vec<u8>) {
        let i = match self.open_index(|it| matches!(it, Item::Reasoning { .. })) {
            Some(i) => i,
            None => self.open(
                Item::Reasoning {
                    id: format!("rs_{}", random_hex(32)),
                    text: String::new(),
                },
                out,
            ),
        };
        if let Some(Item::Reasoning { id, text }) = self.output.items.get_mut(i) {
            text.push_str(delta);
            let id = id.clone();
            self.event(
                "response.reasoning_text.delta",
                json!({"item_id": id, "output_index": i, "content_index": 0, "delta": delta}),
                out,
            );
        }
    }

    fn text(&mut self, delta: &str, out: &mut Vec<u8>) {
        let i = match self.open_index(|it| matches!(it, Item::Message { .. })) {
            Some(i) => i,
            None => self.open(
                Item::Message {
                    id: format!("msg_{}", random_hex(32)),
                    text: String::new(),
                },
                out,
            ),
        };
        if let Some(Item::Message { id, text }) = self.output.items.get_mut(i) {
            text.push_str(delta);
            let id = id.clone();
            self.event(
                "response.output_text.delta",
                json!({"item_id": id, "output_index": i, "content_index": 0, "delta": delta, "logprobs": []}),
                out,
            );
        }
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<u8>) {
        let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let f = call.get("function").unwrap_or(&Value::Null);
        let current = self.open.filter(|i| {
            matches!(self.output.items.get(*i), Some(Item::Call { index: n, .. }) if *n == index)
        });
        let i = match current {
            Some(i) => i,
            None => self.open(
                Item::Call {
                    id: format!("fc_{}", random_hex(32)),
                    call_id: call
                        .get("id")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("call_{}", random_hex(24)), str::to_string),
                    name: f
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    arguments: String::new(),
                    index,
                },
                out,
            ),
        };
        let Some(delta) = f
            .get("arguments")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
        else {
            return;
        };
        if let Some(Item::Call { id, arguments, .. }) = self.output.items.get_mut(i) {
            arguments.push_str(delta);
            let id = id.clone();
            self.event(
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": i, "delta": delta}),
                out,
            );
        }
    }
}

impl FromChunks for ToResponses {
    fn chunk(&mut self, chunk: &Value, out: &mut Vec<u8>) {
        self.start(out);
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            self.output.usage(u);
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return;
        };
        let d = choice.get("delta").unwrap_or(&Value::Null);
        let text = |key: &str| d.get(key).and_then(Value::as_str).filter(|t| !t.is_empty());
        if let Some(t) = text("reasoning_content") {
            self.reasoning(t, out);
        }
        if let Some(t) = text("content") {
            self.text(t, out);
        }
        for call in d
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.tool_call(call, out);
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            self.output.finish(f);
        }
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        self.close(out);
        let status = self.output.final_status();
        let r = self.output.response(status, None);
        if let Some(store) = self.on_complete.take() {
            store(&r, self.output.assistant_message());
        }
        self.event(&format!("response.{status}"), json!({"response": r}), out);
    }

    fn error(&mut self, error: &Value, out: &mut Vec<u8>) {
        self.start(out);
        self.close(out);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("stream failed");
        let code = error
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("server_error");
        let r = self
            .output
            .response("failed", Some(json!({"code": code, "message": message})));
        self.event("response.failed", json!({"response": r}), out);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::inbound::chunk_bridge::ChunkBridge;

    fn events(bytes: &[u8]) -> Vec<(String, Value)> {
        crate::inbound::chunk_bridge::named_events(bytes)
    }

    fn bridge(stored: std::rc::Rc<std::cell::RefCell<Option<Value>>>) -> ChunkBridge<ToResponses> {
        let out = Output::new("qwen", super::super::output::echo(&serde_json::Map::new()));
        ChunkBridge::new(ToResponses::new(
            out,
            Some(Box::new(move |r: &Value, m: Value| {
                *stored.borrow_mut() = Some(json!({"response": r, "message": m}));
            })),
        ))
    }

    use crate::inbound::chunk_bridge::RECORDED_CHUNKS as CHUNKS;

    #[test]
    fn a_chunk_stream_becomes_responses_events_item_by_item() {
        let stored = std::rc::Rc::default();
        let mut t = bridge(std::rc::Rc::clone(&stored));
        let mut out = Vec::new();
        for piece in format!("{CHUNKS}data: [DONE]\n\n").as_bytes().chunks(13) {
            out.extend(t.push(piece));
        }
        out.extend(t.end());
        let ev = events(&out);
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, (_, e)) in ev.iter().enumerate() {
            assert_eq!(e["sequence_number"], i);
        }
        let done = &ev[13].1["response"];
        assert_eq!(done["status"], "completed");
        assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
        assert_eq!(done["output"][1]["call_id"], "call_1");
        assert_eq!(done["output"][1]["arguments"], "{\"a\":1}");
        assert_eq!(done["usage"]["total_tokens"], 10);
        let kept = stored.borrow().clone().unwrap();
        assert_eq!(kept["message"]["tool_calls"][0]["function"]["name"], "f");
        assert_eq!(kept["response"]["id"], done["id"]);
    }

    #[test]
    fn a_cut_stream_fails_and_a_truncated_one_is_incomplete() {
        let stored = std::rc::Rc::default();
        let mut t = bridge(std::rc::Rc::clone(&stored));
        let mut out = t.push(&CHUNKS.as_bytes()[..200]);
        out.extend(t.end());
        let ev = events(&out);
        assert_eq!(ev.last().unwrap().0, "response.failed");
        assert_eq!(ev.last().unwrap().1["response"]["status"], "failed");
        assert!(stored.borrow().is_none(), "a failed response is not kept");

        let mut t = bridge(std::rc::Rc::default());
        let mut out = t.push(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a b\"},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n");
        out.extend(t.end());
        let ev = events(&out);
        assert_eq!(ev.last().unwrap().0, "response.incomplete");
        assert_eq!(
            ev.last().unwrap().1["response"]["incomplete_details"]["reason"],
            "max_output_tokens"
        );
    }
}
