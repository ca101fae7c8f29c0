//! `POST /v1/completions` (legacy text completions): passed through to OpenAI-compatible
//! deployments (vLLM and SGLang serving base models), and `text-completion-openai/`
//! deployments answering chat requests, driven with the OpenAI Python SDK.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::json;

#[test]
fn completions_pass_through_and_chat_rides_on_text_completion_openai() {
    let vllm = MockUpstream::start();
    vllm.script(vec![
        Reply::chat("Paris is the capital"),
        Reply::chat("one two three"),
    ]);
    let instruct = MockUpstream::start();
    instruct.script(vec![
        Reply::chat("hi there"),
        Reply::chat("hi there streamed"),
    ]);
    let yaml = format!(
        "model_list:\n  - model_name: qwen-base\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B-Base, api_base: '{}'}}\n  - model_name: instruct\n    litellm_params: {{model: text-completion-openai/gpt-3.5-turbo-instruct, api_key: sk-instruct-0123456789, api_base: '{}'}}\ngeneral_settings:\n  master_key: sk-sdk-master-key-123456\n",
        vllm.base_url(),
        instruct.base_url()
    );
    let gw = Gateway::start(&yaml);
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/sdk_completions.py"
        ))
        .env("GATEWAY_BASE_URL", format!("{}/v1", gw.base))
        .env("GATEWAY_KEY", "sk-sdk-master-key-123456")
        .env("TEXT_MODEL", "qwen-base")
        .env("CHAT_MODEL", "instruct")
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "sdk_completions.py failed\nstdout:\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gw.logs()
    );
    let sent = vllm.requests();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[0].path.ends_with("/v1/completions"),
        "{}",
        sent[0].path
    );
    assert_eq!(sent[0].body["prompt"], "The capital of France is");
    assert_eq!(sent[0].body["model"], "Qwen/Qwen3-0.6B-Base");
    assert_eq!(sent[0].body["max_tokens"], 8);
    let sent = instruct.requests();
    assert!(
        sent[0].path.ends_with("/v1/completions"),
        "{}",
        sent[0].path
    );
    assert_eq!(sent[0].body["prompt"], "Say hi");
    assert!(sent[0].body.get("messages").is_none(), "{}", sent[0].body);
    assert_eq!(sent[0].body["model"], "gpt-3.5-turbo-instruct");
}

#[test]
fn completions_to_a_provider_without_them_are_a_clear_400_and_mocks_answer_them() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n  - model_name: claude\n    litellm_params: {{model: anthropic/claude-3-5-sonnet-20241022, api_key: sk-ant-0123456789, api_base: '{}'}}\n  - model_name: mocked\n    litellm_params: {{model: openai/gpt-3.5-turbo-instruct, mock_response: 'a mocked completion'}}\nlitellm_settings:\n  cache: true\n  cache_params: {{type: local}}\n",
        mock.base_url()
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post(
        "/v1/completions",
        &json!({"model": "claude", "prompt": "Hi", "num_retries": 0}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("anthropic has no /completions API"), "{msg}");
    assert_eq!(mock.count(), 0);

    let r = gw.post("/v1/completions", &json!({"model": "mocked"}));
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["param"], "prompt");

    let body = json!({"model": "mocked", "prompt": "Once upon a time"});
    let r = gw.post("/v1/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], "a mocked completion");
    assert_eq!(r.header("x-switchyard-cache"), Some("miss"));
    // Text completions are cached like chat (LiteLLM's text_completion call type).
    let r = gw.post("/v1/completions", &body);
    assert_eq!(r.header("x-switchyard-cache"), Some("hit"), "{}", r.text);
    assert_eq!(r.json()["choices"][0]["text"], "a mocked completion");

    let r = gw.post_stream(
        "/v1/completions",
        &json!({"model": "mocked", "prompt": "Once", "stream": true}),
        &[],
    );
    assert_eq!(r.status, 200);
    let events = r.collect_all();
    let all = events.join("\n");
    assert!(all.contains("\"object\":\"text_completion\""), "{all}");
    assert!(all.ends_with("[DONE]"), "{all}");
}
