//! The HTTP/1 listener's view of one client connection, for what actix-http does not do itself:
//! - It answers a request it cannot parse (400), one whose headers are too large (431) or
//!   arrive too slowly (408) before any application code runs, with an empty body; an OpenAI
//!   client then sees an error it cannot read. Exactly those answers are rewritten with an
//!   OpenAI-style JSON body (the gateway's own 400s always carry a body, so an empty-bodied
//!   400/408/431 can only come from the HTTP layer).
//! - Its header timeout covers only the first request of a connection: the next request's
//!   headers on a kept-alive connection could trickle in a byte at a time forever. Every
//!   request's headers must arrive within `client_header_timeout_seconds` of their first byte
//!   (nginx's `client_header_timeout`), or the connection is closed. A head that arrives in one
//!   read, as almost all do, costs one substring scan and no timer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use memchr::memmem;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Built once: every request's first read is scanned with it.
static END_OF_HEAD: std::sync::OnceLock<memmem::Finder<'static>> = std::sync::OnceLock::new();

fn end_of_head() -> &'static memmem::Finder<'static> {
    END_OF_HEAD.get_or_init(|| memmem::Finder::new(b"\r\n\r\n"))
}

/// Where the connection is in the request it is reading.
enum Reading {
    /// The next bytes start a request head (connection start, or an answer was written).
    Start,
    /// Part of a head has arrived; it must be whole before the timer fires. `tail` holds the
    /// last bytes seen, so an end of head split across reads is still found.
    InHead {
        timer: Pin<Box<Sleep>>,
        tail: [u8; 3],
    },
    /// The head is whole: body bytes (bounded by the handler's own timeouts) or a pipelined
    /// request follow.
    PastHead,
}

/// Client connections open right now, across every worker (`switchyard_open_connections`).
static OPEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn open_connections() -> u64 {
    OPEN.load(std::sync::atomic::Ordering::Relaxed)
}

/// A client connection: JSON bodies for HTTP-layer errors, and a head timeout for every request.
pub struct ClientConn<T> {
    io: T,
    /// A rewritten answer still to be written, and how much of it is out.
    pending: Vec<u8>,
    sent: usize,
    reading: Reading,
    head_timeout: Duration,
}

impl<T> Drop for ClientConn<T> {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl<T> ClientConn<T> {
    pub fn new(io: T, head_timeout: Duration) -> Self {
        OPEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            io,
            pending: Vec::new(),
            sent: 0,
            reading: Reading::Start,
            head_timeout,
        }
    }

    /// Follows the request head through newly read bytes.
    fn saw(&mut self, new: &[u8]) {
        let end = end_of_head();
        match &mut self.reading {
            Reading::PastHead => {}
            Reading::Start => {
                if end.find(new).is_some() {
                    self.reading = Reading::PastHead;
                } else {
                    self.reading = Reading::InHead {
                        timer: Box::pin(tokio::time::sleep(self.head_timeout)),
                        tail: last3(&[0, 0, 0], new),
                    };
                }
            }
            Reading::InHead { tail, .. } => {
                // An end of head may straddle the previous read and this one.
                let edge: Vec<u8> = tail.iter().chain(new.iter().take(3)).copied().collect();
                if end.find(new).is_some() || end.find(&edge).is_some() {
                    self.reading = Reading::PastHead;
                } else {
                    *tail = last3(tail, new);
                }
            }
        }
    }
}

/// The last three bytes of `prev` followed by `new`.
fn last3(prev: &[u8; 3], new: &[u8]) -> [u8; 3] {
    let mut all = [0u8; 3];
    let joined = prev.iter().chain(new.iter());
    let n = 3 + new.len();
    for (i, b) in joined.skip(n.saturating_sub(3)).enumerate() {
        if let Some(slot) = all.get_mut(i) {
            *slot = *b;
        }
    }
    all
}

/// The JSON answer for an empty-bodied 400, 408 or 431 head at the start of `buf`, and the
/// length of that head; `None` for anything else.
fn rewrite(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let status = buf.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
    let (code, reason, message) = match status {
        b"400" => (
            400,
            "Bad Request",
            "the HTTP request could not be parsed (request line, a header, or the body framing)",
        ),
        b"408" => (
            408,
            "Request Timeout",
            "the request headers did not arrive in time (switchyard_settings.client_header_timeout_seconds)",
        ),
        b"431" => (
            431,
            "Request Header Fields Too Large",
            "the request headers are too large or too many",
        ),
        _ => return None,
    };
    let end = end_of_head().find(buf)? + 4;
    let head = std::str::from_utf8(buf.get(..end)?).ok()?;
    let empty = head
        .split("\r\n")
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !empty {
        return None;
    }
    let body =
        crate::openai::error_body::ErrorBody::new(message, "invalid_request_error", None, code)
            .to_vec();
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some((out, end))
}

impl<T: AsyncWrite + Unpin> ClientConn<T> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(rest) = self.pending.get(self.sent..).filter(|r| !r.is_empty()) {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ClientConn<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Reading::InHead { timer, .. } = &mut self.reading {
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request headers did not arrive in time",
                )));
            }
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.io).poll_read(cx, buf))?;
        let new = buf.filled().get(before..).unwrap_or_default();
        if !new.is_empty() && !matches!(self.reading, Reading::PastHead) {
            self.saw(new);
            if let Reading::InHead { timer, .. } = &mut self.reading {
                // Registers the waker: silence after a partial head still ends in a timeout.
                let _ = timer.as_mut().poll(cx);
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ClientConn<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        // An answer's head (not a `100 Continue`): the next bytes read start a new request.
        if buf.starts_with(b"HTTP/1.1 ") && buf.get(9) != Some(&b'1') {
            self.reading = Reading::Start;
        }
        // Cheap test first: every answer passes through here.
        if buf.get(..10) == Some(b"HTTP/1.1 4") {
            if let Some((answer, head_len)) = rewrite(buf) {
                self.pending = answer;
                self.sent = 0;
                // The head is taken; the JSON answer goes out on the next write or flush.
                let _ = self.drain(cx)?;
                return Poll::Ready(Ok(head_len));
            }
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn read_some<T: AsyncRead + Unpin>(conn: &mut ClientConn<T>) -> io::Result<usize> {
        let mut buf = [0u8; 256];
        conn.read(&mut buf).await
    }

    #[actix_rt::test]
    async fn a_head_that_stops_halfway_times_out_on_every_request() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut conn = ClientConn::new(server, Duration::from_millis(100));
        // A whole head, then a slow body: the body is not the head timeout's business.
        client
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n{")
            .await
            .unwrap();
        read_some(&mut conn).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.write_all(b"}").await.unwrap();
        assert_eq!(read_some(&mut conn).await.unwrap(), 1);
        // The answer goes out; the next request's head arrives in pieces, then stops.
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        client.write_all(b"GET / HTTP/1.1\r").await.unwrap();
        read_some(&mut conn).await.unwrap();
        client.write_all(b"\nHost: x\r\n").await.unwrap();
        read_some(&mut conn).await.unwrap();
        let silent = tokio::time::timeout(Duration::from_secs(5), read_some(&mut conn)).await;
        let err = silent.expect("the timer fired").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[actix_rt::test]
    async fn a_head_split_across_reads_completes() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut conn = ClientConn::new(server, Duration::from_millis(100));
        for piece in [&b"GET / HTTP/1.1\r\nHost: x\r"[..], b"\n", b"\r", b"\n"] {
            client.write_all(piece).await.unwrap();
            read_some(&mut conn).await.unwrap();
        }
        assert!(matches!(conn.reading, Reading::PastHead));
        // A continue is not an answer: what follows is still the same request's body.
        conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .unwrap();
        assert!(matches!(conn.reading, Reading::PastHead));
    }

    #[test]
    fn only_empty_http_layer_errors_are_rewritten() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
        let (out, taken) = rewrite(head).unwrap();
        assert_eq!(taken, head.len());
        let text = String::from_utf8(out).unwrap();
        let (h, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(h.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "431");
        // The gateway's own 400s have bodies; other statuses are never touched.
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 57\r\n\r\n{...}").is_none());
        assert!(rewrite(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\ncontent-len").is_none());
    }
}
