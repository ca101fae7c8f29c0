//! The HTTP/1 listener. actix-http answers a request it cannot parse (400), one whose headers
//! are too large (431) or arrive too slowly (408) itself, before any application code runs, and
//! with an empty body; an OpenAI client then sees an error it cannot read. Each connection's
//! socket is wrapped so that exactly those answers are rewritten with an OpenAI-style JSON
//! body. The gateway's own 400s always carry a body, so an empty-bodied 400/408/431 can only
//! come from the HTTP layer.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose HTTP-layer error answers get a JSON body.
pub struct JsonErrors<T> {
    io: T,
    /// A rewritten answer still to be written, and how much of it is out.
    pending: Vec<u8>,
    sent: usize,
}

impl<T> JsonErrors<T> {
    pub fn new(io: T) -> Self {
        Self {
            io,
            pending: Vec::new(),
            sent: 0,
        }
    }
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
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(buf.get(..end)?).ok()?;
    let empty = head
        .split("\r\n")
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !empty {
        return None;
    }
    let body = serde_json::json!({"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": null,
        "code": code.to_string(),
    }})
    .to_string();
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    Some((out, end))
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
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

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
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
