//! SSE keep-alive for streamed requests: when no answer has begun after
//! `general_settings.stream_keepalive_seconds`, the stream's head goes out at once (200,
//! `text/event-stream`) and a comment line (`: keep-alive`) follows every interval until the
//! answer begins, so nginx's or a load balancer's idle timeout never cuts a long wait for the
//! first token. Comments carry no content: retries and fallbacks go on behind them, and a
//! request that fails after a comment ends the stream with an error event in the client's API,
//! never an empty success.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::HttpResponse;
use bytes::Bytes;
use futures_util::stream;
use serde_json::{json, Value};

const COMMENT: &[u8] = b": keep-alive\n\n";

/// How an inbound API says "this stream failed" in an SSE event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamErrors {
    /// Chat and text completions: `data: {"error": {...}}` (the OpenAI SDK raises it).
    OpenAiChat,
    /// Anthropic's Messages: `event: error` with its error body.
    Anthropic,
    /// OpenAI's Responses: `event: error` with `{"type": "error", "code", "message", "param"}`.
    Responses,
}

impl StreamErrors {
    /// The event for an error answer's JSON body (already in the client API's own shape).
    fn event(self, status: u16, body: &[u8]) -> Bytes {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let fallback = || {
            json!({"error": {"message": format!("the request failed with status {status}"),
                             "type": "internal_server_error", "param": null,
                             "code": status.to_string()}})
        };
        let v = parsed.unwrap_or_else(fallback);
        let text = match self {
            Self::OpenAiChat => format!("data: {v}\n\n"),
            Self::Anthropic => format!("event: error\ndata: {v}\n\n"),
            Self::Responses => {
                let field = |k: &str| v.get("error").and_then(|e| e.get(k)).cloned();
                let event = json!({
                    "type": "error",
                    "code": field("code").unwrap_or(Value::Null),
                    "message": field("message").unwrap_or(Value::Null),
                    "param": field("param").unwrap_or(Value::Null),
                    "sequence_number": 0,
                });
                format!("event: error\ndata: {event}\n\n")
            }
        };
        Bytes::from(text)
    }
}

enum Phase {
    /// The answer has not begun: comments on every tick.
    Waiting(Answer, tokio::time::Interval),
    /// The answer's own stream, passed through.
    Relaying(BoxBody),
    Done,
}

async fn next_chunk(body: &mut BoxBody) -> Option<Bytes> {
    let next = futures_util::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_next(cx));
    // A body that fails has already written its own error event (the relay does); end here.
    next.await.and_then(Result::ok)
}

/// A streamed request's answer on its way (boxed: the request's future stays small, and only a
/// streamed request with keep-alive on pays for the box).
pub type Answer = Pin<Box<dyn Future<Output = HttpResponse>>>;

/// The answer `answer` will give, or, when it has not begun after `every`, a stream that sends
/// comments until it does.
pub async fn around(
    mut answer: Answer,
    every: Duration,
    errors: StreamErrors,
    call_id: &str,
) -> HttpResponse {
    if let Ok(resp) = tokio::time::timeout(every, &mut answer).await {
        return resp;
    }
    // The first tick is at once: the head and a first comment go out now.
    let ticks = tokio::time::interval(every);
    let body = stream::unfold(Phase::Waiting(answer, ticks), move |phase| async move {
        match phase {
            Phase::Waiting(mut answer, mut ticks) => {
                tokio::select! {
                    resp = &mut answer => {
                        let status = resp.status();
                        let mut body = resp.into_body();
                        if status.is_success() {
                            let first = next_chunk(&mut body).await?;
                            Some((Ok::<_, actix_web::Error>(first), Phase::Relaying(body)))
                        } else {
                            let bytes = body.try_into_bytes().unwrap_or_default();
                            Some((Ok(errors.event(status.as_u16(), &bytes)), Phase::Done))
                        }
                    }
                    _ = ticks.tick() => Some((Ok(Bytes::from_static(COMMENT)), Phase::Waiting(answer, ticks))),
                }
            }
            Phase::Relaying(mut body) => {
                let chunk = next_chunk(&mut body).await?;
                Some((Ok(chunk), Phase::Relaying(body)))
            }
            Phase::Done => None,
        }
    });
    HttpResponse::Ok()
        .insert_header(("content-type", "text/event-stream; charset=utf-8"))
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .insert_header(("x-litellm-call-id", call_id))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn error_events_follow_each_apis_shape() {
        let openai = br#"{"error":{"message":"boom","type":"internal_server_error","param":null,"code":"500"}}"#;
        let chat = StreamErrors::OpenAiChat.event(500, openai);
        assert!(chat.starts_with(b"data: {\"error\""));
        let responses = StreamErrors::Responses.event(500, openai);
        let text = std::str::from_utf8(&responses).unwrap();
        assert!(text.starts_with("event: error\ndata: "), "{text}");
        assert!(text.contains("\"message\":\"boom\"") && text.contains("\"code\":\"500\""));
        let anthropic = br#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#;
        let text = StreamErrors::Anthropic.event(500, anthropic);
        assert!(text.starts_with(b"event: error\ndata: {\"type\":\"error\""));
        let unparsable = StreamErrors::OpenAiChat.event(502, b"<html>");
        assert!(std::str::from_utf8(&unparsable)
            .unwrap()
            .contains("status 502"));
    }
}
