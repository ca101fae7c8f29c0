//! SSE keep-alive comments while a stream waits for its answer to begin
//! (`general_settings.stream_keepalive_seconds`): behind the repository's nginx.conf with its
//! `proxy_read_timeout` lowered below the upstream's wait, the stream survives with keep-alive
//! and is cut without it; retries go on behind the comments; a request that fails after one
//! ends the stream with an error event in the client's API. The OpenAI Python SDK is the client.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use std::io::Read;
use std::process::Command;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use common::nginx::Nginx;
use serde_json::{json, Value};

fn config(up: &MockUpstream, keepalive: u32, retries: u32) -> String {
    format!(
        "model_list:\n  - model_name: slow\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\nrouter_settings:\n  num_retries: {retries}\n  retry_after: 0\ngeneral_settings:\n  stream_keepalive_seconds: {keepalive}\n",
        up.base_url()
    )
}

/// The whole body of a streamed request, as the bytes arrived.
fn raw_stream(base: &str, path: &str, body: &Value) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().build();
    let r = match agent
        .post(&format!("{base}{path}"))
        .set("content-type", "application/json")
        .send_string(&body.to_string())
    {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = r.status();
    let mut text = String::new();
    r.into_reader().read_to_string(&mut text).unwrap();
    (status, text)
}

fn sdk_stream(base: &str, model: &str) -> Value {
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/sdk_stream.py"
        ))
        .args([&format!("{base}/v1"), model])
        .output()
        .expect("python3 with the openai package (tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ask() -> Value {
    json!({"model": "slow", "stream": true, "messages": [{"role": "user", "content": "hi"}]})
}

#[test]
fn behind_an_nginx_idle_timeout_keep_alive_carries_a_slow_first_token() {
    let up = MockUpstream::start();
    // The upstream says nothing for 3.5 s; nginx gives up after 2 s of silence.
    up.set_default(Reply::late(3_500, Reply::chat("worth the wait")));
    let gw = Gateway::start(&config(&up, 1, 0));
    let nginx = Nginx::start_with_read_timeout(&[gw.port], Some(2));
    let (status, text) = raw_stream(&nginx.base(), "/v1/chat/completions", &ask());
    assert_eq!(status, 200, "{text}\n{}", nginx.error_log());
    assert!(text.starts_with(": keep-alive\n\n"), "{text}");
    assert!(text.matches(": keep-alive").count() >= 3, "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    let seen = sdk_stream(&nginx.base(), "slow");
    assert_eq!(seen, json!({"content": "worth the wait", "error": null}));

    // Without keep-alive the same stream is cut by nginx.
    let quiet = Gateway::start(&config(&up, 0, 0));
    let nginx = Nginx::start_with_read_timeout(&[quiet.port], Some(2));
    let (status, text) = raw_stream(&nginx.base(), "/v1/chat/completions", &ask());
    assert_eq!(status, 502, "nginx gave up: {text}");
    assert!(!text.contains("worth the wait"));
}

#[test]
fn a_retry_goes_on_behind_the_comments() {
    let up = MockUpstream::start();
    up.script(vec![Reply::late(
        1_500,
        Reply::error(500, "prefill crashed"),
    )]);
    up.set_default(Reply::late(1_200, Reply::chat("second try")));
    let gw = Gateway::start(&config(&up, 1, 1));
    let (status, text) = raw_stream(&gw.base, "/v1/chat/completions", &ask());
    assert_eq!(status, 200);
    assert!(text.starts_with(": keep-alive\n\n"), "{text}");
    assert!(text.contains("second"), "{text}");
    assert!(!text.contains("\"error\""), "{text}");
    assert_eq!(up.requests().len(), 2);
}

#[test]
fn a_failure_after_a_comment_ends_the_stream_with_an_error_event() {
    let up = MockUpstream::start();
    up.set_default(Reply::late(
        1_600,
        Reply::error(503, "The engine is currently overloaded."),
    ));
    let gw = Gateway::start(&config(&up, 1, 0));
    let (status, text) = raw_stream(&gw.base, "/v1/chat/completions", &ask());
    assert_eq!(status, 200, "the head went out with the first comment");
    assert!(text.starts_with(": keep-alive\n\n"), "{text}");
    let event = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("an error event");
    let v: Value = serde_json::from_str(event).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("overloaded"),
        "{v}"
    );
    assert!(!text.contains("[DONE]"), "never an empty success: {text}");
    let seen = sdk_stream(&gw.base, "slow");
    assert_eq!(seen["content"], "");
    assert!(
        seen["error"].as_str().unwrap().contains("overloaded"),
        "{seen}"
    );

    // Anthropic's Messages API gets its own error event.
    let (status, text) = raw_stream(
        &gw.base,
        "/v1/messages",
        &json!({"model": "slow", "stream": true, "max_tokens": 64,
                "messages": [{"role": "user", "content": "hi"}]}),
    );
    assert_eq!(status, 200);
    assert!(text.starts_with(": keep-alive\n\n"), "{text}");
    assert!(
        text.contains("event: error\ndata: {\"type\":\"error\""),
        "{text}"
    );
}

#[test]
fn a_quick_answer_sends_no_comment() {
    let up = MockUpstream::start();
    up.set_default(Reply::chat("quick"));
    let gw = Gateway::start(&config(&up, 1, 0));
    let (status, text) = raw_stream(&gw.base, "/v1/chat/completions", &ask());
    assert_eq!(status, 200);
    assert!(!text.contains("keep-alive"), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"));
}
