//! `cohere/` deployments against a mock speaking Cohere's v2 API (chat answers, SSE streams,
//! embed), driven with the OpenAI Python SDK.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::json;

fn gateway(mock: &MockUpstream) -> Gateway {
    let root = mock.base_url().trim_end_matches("/v1").to_string();
    Gateway::start(&format!(
        "model_list:\n  - model_name: command-r\n    litellm_params: {{model: cohere/command-r-plus-08-2024, api_key: co-test-key-0123456789, api_base: '{root}'}}\n  - model_name: cohere-embed\n    litellm_params: {{model: cohere/embed-english-v3.0, api_key: co-test-key-0123456789, api_base: '{root}'}}\n    model_info: {{mode: embedding}}\n"
    ))
}

#[test]
fn the_openai_sdk_talks_to_cohere_v2() {
    let mock = MockUpstream::start();
    mock.script(common::sdk_providers_script());
    let gw = gateway(&mock);
    common::run_sdk_providers(&gw, "command-r", None);
    let sent = mock.requests();
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[0].path, "/v2/chat");
    assert_eq!(sent[0].body["model"], "command-r-plus-08-2024");
    assert_eq!(sent[0].body["stream"], true);
    assert!(sent[0].headers.contains(&(
        "authorization".into(),
        "Bearer co-test-key-0123456789".into()
    )));
    // v2 takes OpenAI's tool result message as it is.
    assert_eq!(sent[2].body["messages"][2]["role"], "tool");
}

#[test]
fn cohere_parameters_embeddings_and_errors() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::chat("ok"));
    let gw = gateway(&mock);
    let r = gw.post(
        "/v1/chat/completions",
        &json!({"model": "command-r", "messages": [{"role": "user", "content": "hi"}],
                "top_p": 0.5, "stop": "END", "max_tokens": 9, "tool_choice": "required",
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["choices"][0]["message"]["content"], "ok");
    assert_eq!(
        v["usage"]["prompt_tokens"], 70,
        "usage.tokens, not billed units: {v}"
    );
    let body = &mock.requests()[0].body;
    assert_eq!(body["p"], 0.5);
    assert_eq!(body["stop_sequences"], json!(["END"]));
    assert_eq!(body["max_tokens"], 9);
    assert_eq!(body["tool_choice"], "REQUIRED");

    mock.set_default(Reply::Embedding { dims: 3 });
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "cohere-embed", "input": ["abc", "de"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"][1]["embedding"][0], 2.0);
    assert_eq!(r.json()["usage"]["prompt_tokens"], 4);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path, "/v2/embed");
    assert_eq!(sent.body["input_type"], "search_document");
    assert_eq!(sent.body["embedding_types"], json!(["float"]));

    mock.set_default(Reply::error(
        429,
        "You are using a Trial key, which is limited to 10 API calls / minute.",
    ));
    let r = gw.post(
        "/v1/chat/completions",
        &json!({"model": "command-r", "messages": [{"role": "user", "content": "hi"}], "num_retries": 0}),
    );
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(
        r.text
            .contains("RateLimitError: CohereException - You are using a Trial key"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("co-test-key-0123456789"));
}
