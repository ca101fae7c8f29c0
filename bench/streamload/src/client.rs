//! Holds N streaming chat requests open at once and checks each answer chunk by chunk.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::response::Check;

/// A stream that delivers nothing for this long has failed (the gateway's keep-alive comments
/// come every 15 s while an answer has not begun).
const IDLE: Duration = Duration::from_secs(30);

pub struct Target {
    addr: String,
    host: String,
    path: String,
}

impl Target {
    pub fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("http://")?;
        let (addr, path) = rest.split_once('/')?;
        Some(Self {
            addr: addr.to_string(),
            host: addr.to_string(),
            path: format!("/{path}"),
        })
    }
}

struct Done {
    first_chunk: Duration,
    total: Duration,
}

pub struct Report {
    streams: u64,
    chunks: u64,
    done: Vec<Done>,
    errors: Vec<String>,
    peak_open: usize,
}

impl Report {
    pub fn all_complete(&self) -> bool {
        self.errors.is_empty() && u64::try_from(self.done.len()).is_ok_and(|n| n == self.streams)
    }

    pub fn json(&self) -> String {
        let mut first: Vec<f64> = self
            .done
            .iter()
            .map(|d| d.first_chunk.as_secs_f64() * 1e3)
            .collect();
        let mut total: Vec<f64> = self.done.iter().map(|d| d.total.as_secs_f64()).collect();
        first.sort_by(f64::total_cmp);
        total.sort_by(f64::total_cmp);
        let mut distinct: Vec<&String> = Vec::new();
        for e in &self.errors {
            if !distinct.contains(&e) && distinct.len() < 5 {
                distinct.push(e);
            }
        }
        let errors: Vec<String> = distinct.iter().map(|e| format!("{:?}", e)).collect();
        format!(
            "{{\"streams\":{},\"chunks_each\":{},\"complete\":{},\"failed\":{},\"peak_open\":{},\"first_chunk_ms\":{{\"p50\":{:.1},\"p99\":{:.1},\"max\":{:.1}}},\"stream_s\":{{\"p50\":{:.2},\"max\":{:.2}}},\"errors\":[{}]}}",
            self.streams,
            self.chunks,
            self.done.len(),
            self.errors.len(),
            self.peak_open,
            quantile(&first, 0.5),
            quantile(&first, 0.99),
            quantile(&first, 1.0),
            quantile(&total, 0.5),
            quantile(&total, 1.0),
            errors.join(",")
        )
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let last = sorted.len() - 1;
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    // q is in [0, 1], so the product lies in [0, last].
    let at = ((last as f64) * q).round() as usize;
    sorted.get(at.min(last)).copied().unwrap_or(0.0)
}

pub async fn run(target: Target, streams: u64, chunks: u64, ramp_per_s: u64) -> Report {
    let target = Arc::new(target);
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..streams {
        // Paced: stream i starts at i / ramp_per_s seconds.
        let due = Duration::from_micros(i.saturating_mul(1_000_000) / ramp_per_s);
        tokio::time::sleep_until((started + due).into()).await;
        let (target, stream_open, peak) = (target.clone(), open.clone(), peak.clone());
        handles.push(tokio::spawn(async move {
            let now_open = stream_open.fetch_add(1, Ordering::Relaxed) + 1;
            peak.fetch_max(now_open, Ordering::Relaxed);
            let result = one_stream(&target, chunks).await;
            stream_open.fetch_sub(1, Ordering::Relaxed);
            result
        }));
        if (i + 1) % 1000 == 0 {
            eprintln!(
                "streamload: {} streams started, {} open",
                i + 1,
                open.load(Ordering::Relaxed)
            );
        }
    }
    let mut report = Report {
        streams,
        chunks,
        done: Vec::new(),
        errors: Vec::new(),
        peak_open: 0,
    };
    for handle in handles {
        match handle.await {
            Ok(Ok(done)) => report.done.push(done),
            Ok(Err(e)) => report.errors.push(e),
            Err(e) => report.errors.push(format!("task: {e}")),
        }
    }
    report.peak_open = peak.load(Ordering::Relaxed);
    report
}

async fn one_stream(target: &Target, chunks: u64) -> Result<Done, String> {
    let mut socket = TcpStream::connect(&target.addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = socket.set_nodelay(true);
    let body = r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Count, slowly."}]}"#;
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\nauthorization: Bearer sk-streamload\r\ncontent-length: {}\r\n\r\n{body}",
        target.path,
        target.host,
        body.len()
    );
    let sent = Instant::now();
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut check = Check::new();
    let mut first_chunk = None;
    let mut buf = [0u8; 4096];
    while !check.finished() {
        let read = tokio::time::timeout(IDLE, socket.read(&mut buf)).await;
        let n = match read {
            Err(_) => {
                return Err(format!(
                    "nothing for {} s after chunk {}",
                    IDLE.as_secs(),
                    check.next_index
                ))
            }
            Ok(Err(e)) => return Err(format!("read: {e}")),
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => n,
        };
        check.feed(buf.get(..n).unwrap_or_default());
        if first_chunk.is_none() && check.next_index > 0 {
            first_chunk = Some(sent.elapsed());
        }
    }
    if let Some(e) = check.error {
        return Err(e);
    }
    if !check.done || check.next_index != chunks {
        return Err(format!(
            "ended after {} of {chunks} chunks (done: {})",
            check.next_index, check.done
        ));
    }
    Ok(Done {
        first_chunk: first_chunk.unwrap_or_default(),
        total: sent.elapsed(),
    })
}
