//! The gateway's OpenAI chunk stream re-framed for another API, as it arrives: SSE decoding,
//! `[DONE]`, error events and a stream that ends unfinished are handled here once; each API
//! says what a chunk, the end and a failure become.

use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::providers::sse::{SseDecoder, SseEvent};

/// Largest event accepted from the gateway's own stream.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One inbound API's stream events from OpenAI chunks.
pub trait FromChunks {
    fn chunk(&mut self, chunk: &Value, out: &mut Vec<u8>);
    /// `[DONE]`: the answer is complete.
    fn done(&mut self, out: &mut Vec<u8>);
    /// The stream failed (`error` is an OpenAI error object): the API's error event.
    fn error(&mut self, error: &Value, out: &mut Vec<u8>);
}

pub struct ChunkBridge<T> {
    decoder: SseDecoder,
    inner: T,
    finished: bool,
}

impl<T: FromChunks> ChunkBridge<T> {
    pub fn new(inner: T) -> Self {
        Self {
            decoder: SseDecoder::new(MAX_EVENT_BYTES),
            inner,
            finished: false,
        }
    }

    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        self.finished = true;
        self.inner.error(&json!({"message": message}), out);
    }

    fn on_event(&mut self, ev: &SseEvent, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        let data = ev.data.trim();
        if data == "[DONE]" {
            self.finished = true;
            self.inner.done(out);
            return;
        }
        match serde_json::from_str::<Value>(data) {
            Ok(v) => match v.get("error") {
                Some(err) => {
                    self.finished = true;
                    self.inner.error(err, out);
                }
                None => self.inner.chunk(&v, out),
            },
            Err(_) => self.fail("the stream carried an unreadable event", out),
        }
    }

    /// Bytes of the OpenAI stream in, bytes of the API's stream out.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut events = Vec::new();
        let mut out = Vec::new();
        if self.decoder.push(bytes, &mut events).is_err() {
            self.fail("a stream event was too large", &mut out);
            return out;
        }
        for ev in &events {
            self.on_event(ev, &mut out);
        }
        out
    }

    /// The OpenAI stream ended: anything left, and an error if it never finished.
    pub fn end(&mut self) -> Vec<u8> {
        let mut events = Vec::new();
        let mut out = Vec::new();
        self.decoder.finish(&mut events);
        for ev in &events {
            self.on_event(ev, &mut out);
        }
        if !self.finished {
            self.fail("the stream ended before the answer finished", &mut out);
        }
        out
    }
}

/// The gateway's SSE body re-framed by `t`, chunk by chunk as it arrives.
pub fn translated<T: FromChunks + 'static>(
    body: BoxBody,
    t: T,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    let source = futures_util::stream::poll_fn({
        let mut body = body;
        move |cx| Pin::new(&mut body).poll_next(cx)
    });
    futures_util::stream::unfold(
        (Box::pin(source), ChunkBridge::new(t), false),
        |(mut source, mut t, done)| async move {
            if done {
                return None;
            }
            loop {
                match source.next().await {
                    Some(Ok(bytes)) => {
                        let out = t.push(&bytes);
                        if !out.is_empty() {
                            return Some((Ok(Bytes::from(out)), (source, t, false)));
                        }
                    }
                    Some(Err(_)) | None => {
                        let out = t.end();
                        return Some((Ok(Bytes::from(out)), (source, t, true)));
                    }
                }
            }
        },
    )
}

/// A re-framed stream's events as (name, data), for tests.
#[cfg(test)]
pub fn named_events(bytes: &[u8]) -> Vec<(String, Value)> {
    String::from_utf8_lossy(bytes)
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let mut lines = e.lines();
            let name = lines.next()?.trim_start_matches("event: ").to_string();
            let data = lines.next()?.trim_start_matches("data: ");
            Some((name, serde_json::from_str(data).ok()?))
        })
        .collect()
}

/// A recorded chunk stream (text, a tool call in two pieces, usage), for the translators' tests.
#[cfg(test)]
pub const RECORDED_CHUNKS: &str = concat!(
    "data: {\"id\":\"chatcmpl-abc\",\"model\":\"qwen\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-abc\",\"model\":\"qwen\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-abc\",\"model\":\"qwen\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-abc\",\"model\":\"qwen\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-abc\",\"model\":\"qwen\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "data: {\"id\":\"chatcmpl-abc\",\"model\":\"qwen\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\n",
);
