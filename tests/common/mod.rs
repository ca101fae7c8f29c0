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
pub mod wire_responses;
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

/// What a mock answers to `tests/python/sdk_providers.py` for one model: text (the stream),
/// a tool call, the answer after the tool result, a streamed tool call.
pub fn sdk_providers_script() -> Vec<mock::Reply> {
    let call = || mock::Reply::ToolCall {
        name: "get_weather".into(),
        arguments: "{\"city\": \"Paris\"}".into(),
    };
    vec![
        mock::Reply::chat("hi from the provider"),
        call(),
        mock::Reply::chat("It is 18C and sunny in Paris."),
        call(),
    ]
}

/// Runs `tests/python/sdk_providers.py` (the official OpenAI SDK: a stream and, for
/// `tool_models`, a tool exchange per model) against the gateway; fails the test with its
/// output and the gateway's log when the SDK saw anything wrong. Returns its stdout.
pub fn run_sdk_providers(gw: &gateway::Gateway, models: &str, tool_models: Option<&str>) -> String {
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/sdk_providers.py"
        ))
        .env("GATEWAY_BASE_URL", format!("{}/v1", gw.base))
        .env("GATEWAY_KEY", "sk-sdk-master-key-123456")
        .env("MODELS", models)
        .env("TOOL_MODELS", tool_models.unwrap_or(models))
        .output()
        .expect("python3 must be installed (tests/run.sh installs the openai package)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "sdk_providers.py failed\nstdout:\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gw.logs()
    );
    stdout
}

/// What a mock answers to `tests/python/sdk_anthropic.py` for one model: text, a tool call,
/// the answer after the tool result, a streamed text, a streamed tool call, an image question.
pub fn sdk_anthropic_script() -> Vec<mock::Reply> {
    let call = || mock::Reply::ToolCall {
        name: "get_weather".into(),
        arguments: "{\"city\": \"Paris\"}".into(),
    };
    vec![
        mock::Reply::chat("hello there"),
        call(),
        mock::Reply::chat("It is 18C and sunny."),
        mock::Reply::chat("hello streamed"),
        call(),
        mock::Reply::chat("a red square"),
    ]
}

/// Runs `tests/python/sdk_anthropic.py` (the official Anthropic SDK: text, tool use round
/// trip, stream helpers, an image) for each model; `native` are the models sent Anthropic-only
/// fields (`thinking`). Fails the test with the SDK's output and the gateway's log.
pub fn run_sdk_anthropic(gw: &gateway::Gateway, key: &str, models: &str, native: &str) -> String {
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/sdk_anthropic.py"
        ))
        .env("GATEWAY_URL", &gw.base)
        .env("GATEWAY_KEY", key)
        .env("MODELS", models)
        .env("NATIVE", native)
        .output()
        .expect("python3 must be installed (tests/run.sh installs the anthropic package)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "sdk_anthropic.py failed\nstdout:\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gw.logs()
    );
    stdout
}

/// The model names `/v1/models` lists, asked with this key.
pub fn model_ids(gw: &gateway::Gateway, key: &str) -> Vec<String> {
    let auth = format!("Bearer {key}");
    gw.get_with("/v1/models", &[("authorization", auth.as_str())])
        .json()["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The status of a one-message chat completion to `model`, asked with this key.
pub fn chat_status(gw: &gateway::Gateway, key: &str, model: &str) -> u16 {
    let auth = format!("Bearer {key}");
    gw.post_with(
        "/v1/chat/completions",
        &serde_json::json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        &[("authorization", auth.as_str())],
    )
    .status
}

/// Polls `ok` every 50 ms until it holds; panics naming `what` after `seconds`.
pub fn wait_until(what: &str, seconds: u64, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
