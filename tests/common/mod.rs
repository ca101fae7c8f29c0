//! Shared test harness: scriptable mock upstreams and a real gateway process, on loopback.
#![allow(dead_code)]
// Harness code: a panic here fails the test that called it, which is what it is for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::disallowed_methods
)]

pub mod gateway;
pub mod image_server;
pub mod mock;
pub mod nginx;
pub mod redis;
pub mod wire_anthropic;
pub mod wire_bedrock;
pub mod wire_cohere;
pub mod wire_gemini;
pub mod wire_ollama;
pub mod wire_openai;
pub mod wire_openai_text;
pub mod wire_vertex;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind loopback")
        .local_addr()
        .unwrap()
        .port()
}

static TEMP: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory for one test's files.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = TEMP.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("switchyard-test-{}-{tag}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The text a stream's SSE events carry (first choice's content deltas, in order).
pub fn stream_content(events: &[String]) -> String {
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}
