//! `POST /v1/messages` (Anthropic's Messages API, what Claude Code speaks) in front of an
//! OpenAI-compatible deployment and an Anthropic one, driven with the official Anthropic Python
//! SDK; errors in Anthropic's shape; a fallback.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::json;

const KEY: &str = "sk-sdk-master-key-123456";

fn script() -> Vec<Reply> {
    let call = || Reply::ToolCall {
        name: "get_weather".into(),
        arguments: "{\"city\": \"Paris\"}".into(),
    };
    vec![
        Reply::chat("hello there"),
        call(),
        Reply::chat("It is 18C and sunny."),
        Reply::chat("hello streamed"),
        call(),
    ]
}

#[test]
fn the_anthropic_sdk_works_against_any_deployment() {
    let vllm = MockUpstream::start();
    let claude = MockUpstream::start();
    vllm.script(script());
    claude.script(script());
    let yaml = format!(
        "model_list:\n  - model_name: qwen\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\n  - model_name: claude\n    litellm_params: {{model: anthropic/claude-3-5-sonnet-20241022, api_key: sk-ant-0123456789, api_base: '{}'}}\ngeneral_settings:\n  master_key: {KEY}\n",
        vllm.base_url(),
        claude.base_url()
    );
    let gw = Gateway::start(&yaml);
    let out = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/sdk_anthropic.py"
        ))
        .env("GATEWAY_URL", &gw.base)
        .env("GATEWAY_KEY", KEY)
        .env("MODELS", "qwen,claude")
        .output()
        .expect("python3 must be installed (tests/run.sh installs the anthropic package)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sdk_anthropic.py failed\nstdout:\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gw.logs()
    );
    // The vLLM deployment got OpenAI chat requests: system first, tools as functions, the
    // tool result as a tool message.
    let sent = vllm.requests();
    assert_eq!(sent.len(), 5);
    assert!(sent[0].path.ends_with("/chat/completions"));
    assert_eq!(
        sent[0].body["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(sent[1].body["tools"][0]["function"]["name"], "get_weather");
    let follow = &sent[2].body["messages"];
    assert_eq!(
        follow[1]["tool_calls"][0]["function"]["name"], "get_weather",
        "{follow}"
    );
    assert_eq!(follow[2]["role"], "tool");
    assert_eq!(follow[2]["content"], "18C and sunny");
    assert_eq!(sent[3].body["stream_options"]["include_usage"], true);
}

#[test]
fn errors_come_back_in_anthropics_shape_and_fallbacks_apply() {
    let primary = MockUpstream::start();
    let backup = MockUpstream::start();
    primary.set_default(Reply::rate_limited(Some(7)));
    backup.set_default(Reply::chat("from the backup"));
    let yaml = format!(
        "model_list:\n  - model_name: main\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-0123456789, api_base: '{}'}}\n  - model_name: backup\n    litellm_params: {{model: openai/gpt-4o-mini, api_key: sk-0123456789, api_base: '{}'}}\nrouter_settings:\n  num_retries: 0\n  fallbacks: [{{main: [backup]}}]\n",
        primary.base_url(),
        backup.base_url()
    );
    let gw = Gateway::start(&yaml);
    let ask =
        json!({"model": "main", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]});
    let r = gw.post("/v1/messages", &ask);
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "from the backup");

    let mut no_fallback = ask.clone();
    no_fallback["disable_fallbacks"] = json!(true);
    let r = gw.post("/v1/messages", &no_fallback);
    assert_eq!(r.status, 429, "{}", r.text);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert!(r.header("retry-after").is_some(), "{:?}", r.text);

    let r = gw.post("/v1/messages", &json!({"model": "main", "messages": []}));
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_tokens"));
}
