//! A slow OpenAI-compatible SSE upstream: every POST gets CHUNKS events, one every INTERVAL_MS,
//! in chunked transfer encoding (as vLLM's uvicorn sends them), on keep-alive connections.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::MissedTickBehavior;

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";
/// A request head and body this size is far more than the benchmark's requests need.
const MAX_REQUEST: usize = 64 * 1024;

pub async fn serve(port: u16, chunks: u64, interval_ms: u64) -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let interval = Duration::from_millis(interval_ms.max(1));
    loop {
        let (socket, _) = listener.accept().await?;
        tokio::spawn(async move {
            // A client that goes away is the end of its connection, nothing more.
            let _ = connection(socket, chunks, interval).await;
        });
    }
}

async fn connection(mut socket: TcpStream, chunks: u64, interval: Duration) -> std::io::Result<()> {
    let _ = socket.set_nodelay(true);
    let mut buf = Vec::with_capacity(1024);
    loop {
        if !read_request(&mut socket, &mut buf).await? {
            return Ok(());
        }
        socket.write_all(HEAD).await?;
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        for index in 0..chunks {
            ticks.tick().await;
            let finish = if index + 1 == chunks {
                "\"stop\""
            } else {
                "null"
            };
            let role = if index == 0 {
                "\"role\":\"assistant\","
            } else {
                ""
            };
            let event = format!(
                "data: {{\"id\":\"chatcmpl-streamload\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{{role}\"content\":\"c{index} \"}},\"finish_reason\":{finish}}}]}}\n\n"
            );
            socket.write_all(chunk(event.as_bytes()).as_slice()).await?;
        }
        let mut tail = chunk(b"data: [DONE]\n\n");
        tail.extend_from_slice(b"0\r\n\r\n");
        socket.write_all(&tail).await?;
    }
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// Reads one request (head and its content-length body). False when the client closed first.
async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head_len = end + 4;
            let body_len = content_length(buf.get(..end).unwrap_or_default());
            if buf.len() >= head_len + body_len {
                buf.drain(..head_len + body_len);
                return Ok(true);
            }
        }
        if buf.len() > MAX_REQUEST {
            return Err(std::io::Error::other("request too large"));
        }
        let mut chunk = [0u8; 4096];
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(false);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}
