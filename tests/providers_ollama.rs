//! `ollama_chat/` and `ollama/` deployments against a mock speaking Ollama's native API
//! (`/api/chat`, `/api/generate`, `/api/embed`, JSON-lines streams), driven with the OpenAI
//! Python SDK; then what Ollama receives, its errors, and a cut stream.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::{json, Value};

fn root(mock: &MockUpstream) -> String {
    mock.base_url().trim_end_matches("/v1").to_string()
}

fn gateway(chat: &MockUpstream, generate: &MockUpstream, extra: &str) -> Gateway {
    let yaml = format!(
        "model_list:\n  - model_name: llama-chat\n    litellm_params: {{model: ollama_chat/llama3.1, api_base: '{}'}}\n  - model_name: llama-gen\n    litellm_params: {{model: ollama/llama3.1, api_base: '{}'}}\n  - model_name: nomic\n    litellm_params: {{model: ollama/nomic-embed-text, api_base: '{}'}}\n    model_info: {{mode: embedding}}\n{extra}",
        root(chat),
        root(generate),
        root(generate)
    );
    Gateway::start(&yaml)
}

fn chat(model: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello!"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[test]
fn the_openai_sdk_talks_to_ollama_chat_and_generate() {
    let chat_mock = MockUpstream::start();
    let gen_mock = MockUpstream::start();
    chat_mock.script(common::sdk_providers_script());
    gen_mock.set_default(Reply::chat("hi from generate"));
    let gw = gateway(&chat_mock, &gen_mock, "");
    common::run_sdk_providers(&gw, "llama-chat,llama-gen", Some("llama-chat"));
    let sent = chat_mock.requests();
    assert_eq!(sent.len(), 4);
    assert!(sent[0].path.ends_with("/api/chat"), "{}", sent[0].path);
    assert_eq!(sent[0].body["model"], "llama3.1");
    assert_eq!(sent[0].body["stream"], true);
    assert_eq!(sent[0].body["messages"][0]["role"], "system");
    // The tool result went back as Ollama's tool message, the call as an arguments object.
    let exchange = &sent[2].body["messages"];
    assert_eq!(
        exchange[1]["tool_calls"][0]["function"]["arguments"]["city"], "Paris",
        "{exchange}"
    );
    assert_eq!(exchange[2]["role"], "tool");
    assert_eq!(exchange[2]["tool_name"], "get_weather");
    assert!(sent[1].body["tools"].is_array(), "{}", sent[1].body);
    assert!(
        sent[1].body.get("tool_choice").is_none(),
        "tool_choice hangs Ollama: never sent"
    );
    let generated = &gen_mock.requests()[0];
    assert!(
        generated.path.ends_with("/api/generate"),
        "{}",
        generated.path
    );
    assert_eq!(
        generated.body["prompt"],
        "### System:\nBe brief.\n\n### User:\nHello!\n\n"
    );
}

#[test]
fn parameters_json_mode_embeddings_and_completions_reach_ollama_as_its_api_wants() {
    let chat_mock = MockUpstream::start();
    let gen_mock = MockUpstream::start();
    chat_mock.set_default(Reply::chat("{\"a\": 1}"));
    gen_mock.set_default(Reply::chat("once upon a time"));
    let gw = gateway(&chat_mock, &gen_mock, "");
    let r = gw.post(
        "/v1/chat/completions",
        &chat(
            "llama-chat",
            json!({"max_tokens": 20, "temperature": 0.1, "stop": ["\n"], "seed": 3,
                   "response_format": {"type": "json_object"}, "num_ctx": 8192, "keep_alive": "5m"}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "llama-chat");
    assert_eq!(v["choices"][0]["message"]["content"], "{\"a\": 1}");
    assert_eq!(v["usage"]["prompt_tokens"], 12, "prompt_eval_count: {v}");
    let sent = &chat_mock.requests()[0].body;
    assert_eq!(sent["stream"], false);
    assert_eq!(sent["format"], "json");
    assert_eq!(sent["keep_alive"], "5m");
    assert_eq!(
        sent["options"],
        json!({"num_predict": 20, "temperature": 0.1, "stop": ["\n"], "seed": 3, "num_ctx": 8192}),
        "{sent}"
    );

    // OpenAI parameters Ollama cannot honour: a 400 naming them, unless dropped.
    let r = gw.post(
        "/v1/chat/completions",
        &chat("llama-chat", json!({"logit_bias": {"1": 5}})),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("logit_bias"), "{}", r.text);

    gen_mock.script(vec![Reply::Embedding { dims: 3 }]);
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "nomic", "input": ["abc", "de"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["data"][1]["embedding"][0], 2.0);
    assert_eq!(v["usage"]["prompt_tokens"], 6);
    let embed = gen_mock.requests().last().unwrap().clone();
    assert!(embed.path.ends_with("/api/embed"), "{}", embed.path);
    assert_eq!(embed.body["input"], json!(["abc", "de"]));

    let r = gw.post(
        "/v1/completions",
        &json!({"model": "llama-gen", "prompt": "Tell me a story", "max_tokens": 5}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["choices"][0]["text"], "once upon a time");
    let sent = gen_mock.requests().last().unwrap().body.clone();
    assert_eq!(sent["prompt"], "Tell me a story");
    assert_eq!(sent["options"]["num_predict"], 5);
}

#[test]
fn ollama_errors_keep_their_status_and_drive_fallbacks() {
    let chat_mock = MockUpstream::start();
    let gen_mock = MockUpstream::start();
    chat_mock.set_default(Reply::error(
        404,
        "model \"llama3.1\" not found, try pulling it first",
    ));
    gen_mock.set_default(Reply::chat("the fallback answered"));
    let gw = gateway(
        &chat_mock,
        &gen_mock,
        "router_settings:\n  fallbacks: [{llama-chat: [llama-gen]}]\n",
    );
    let r = gw.post(
        "/v1/chat/completions",
        &chat(
            "llama-chat",
            json!({"num_retries": 0, "disable_fallbacks": true}),
        ),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("NotFoundError: Ollama_chatException - model \"llama3.1\" not found"),
        "{msg}"
    );
    let r = gw.post(
        "/v1/chat/completions",
        &chat("llama-chat", json!({"num_retries": 0})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "the fallback answered"
    );
}

#[test]
fn a_cut_ollama_stream_ends_with_an_error_event_not_a_fake_finish() {
    let chat_mock = MockUpstream::start();
    let gen_mock = MockUpstream::start();
    chat_mock.set_default(Reply::Stream {
        chunks: vec!["partial ".into(), "answer ".into(), "never ".into()],
        delay_ms: 50,
        cut_after: Some(2),
    });
    let gw = gateway(&chat_mock, &gen_mock, "");
    let r = gw.post_stream(
        "/v1/chat/completions",
        &chat("llama-chat", json!({"stream": true})),
        &[],
    );
    assert_eq!(r.status, 200);
    let events = r.collect_all();
    let all = events.join("\n");
    assert_eq!(common::stream_content(&events), "partial answer ", "{all}");
    assert!(
        all.contains("\"error\""),
        "the client learns the answer is cut: {all}"
    );
    assert!(!all.contains("\"finish_reason\":\"stop\""), "{all}");
}
