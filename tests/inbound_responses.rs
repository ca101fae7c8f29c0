//! `POST /v1/responses` (OpenAI's Responses API, what Codex CLI and the Agents SDK speak) driven
//! with the official OpenAI Python SDK: passed through to a vLLM with `/responses`, bridged to
//! chat completions for a vLLM marked `use_chat_completions_api`, for Anthropic, and for an
//! older vLLM whose 404 the gateway remembers; kept responses continued on a second instance
//! through Redis; errors and a cut stream.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use common::redis::RedisServer;
use serde_json::{json, Value};

const KEY: &str = "sk-sdk-master-key-123456";

/// What a mock answers to `sdk_responses.py` for one model, in order.
fn script() -> Vec<Reply> {
    let call = || Reply::ToolCall {
        name: "get_weather".into(),
        arguments: "{\"city\": \"Paris\"}".into(),
    };
    vec![
        Reply::chat("hello there"),
        call(),
        Reply::chat("It is 18C and sunny."),
        Reply::chat("Sunny again."),
        Reply::chat("hello streamed"),
        Reply::chat("hello helper"),
        Reply::chat("{\"city\": \"Paris\"}"),
    ]
}

fn run_sdk(gw: &Gateway, models: &str, stored: &str, second: Option<&Gateway>) -> String {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/sdk_responses.py"
    ))
    .env("GATEWAY_BASE_URL", format!("{}/v1", gw.base))
    .env("GATEWAY_KEY", KEY)
    .env("MODELS", models)
    .env("STORED", stored);
    if let Some(other) = second {
        cmd.env("SECOND_GATEWAY_BASE_URL", format!("{}/v1", other.base));
    }
    let out = cmd
        .output()
        .expect("python3 must be installed (tests/run.sh installs the openai package)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "sdk_responses.py failed\nstdout:\n{stdout}\nstderr:\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        gw.logs()
    );
    stdout
}

fn deployment(name: &str, model: &str, mock: &MockUpstream, extra: &str) -> String {
    format!(
        "  - model_name: {name}\n    litellm_params: {{model: {model}, api_base: '{}'{extra}}}\n",
        mock.base_url()
    )
}

#[test]
fn the_openai_sdk_responses_api_works_against_any_deployment() {
    let native = MockUpstream::start();
    let chat = MockUpstream::start();
    let claude = MockUpstream::start();
    let old = MockUpstream::start();
    old.without_responses();
    for m in [&native, &chat, &claude, &old] {
        m.script(script());
    }
    let yaml = format!(
        "model_list:\n{}{}{}{}general_settings:\n  master_key: {KEY}\n",
        deployment("vllm-native", "hosted_vllm/Qwen/Qwen3-0.6B", &native, ""),
        deployment(
            "vllm-chat",
            "hosted_vllm/Qwen/Qwen3-0.6B",
            &chat,
            ", use_chat_completions_api: true"
        ),
        deployment(
            "claude",
            "anthropic/claude-3-5-haiku-20241022",
            &claude,
            ", api_key: sk-ant-0123456789"
        ),
        deployment("vllm-old", "hosted_vllm/Qwen/Qwen3-0.6B", &old, ""),
    );
    let gw = Gateway::start(&yaml);
    run_sdk(
        &gw,
        "vllm-chat,claude,vllm-old,vllm-native",
        "vllm-chat,claude,vllm-old",
        None,
    );

    // A server with /responses gets the client's requests as they are, model renamed.
    let sent = native.requests();
    assert_eq!(sent.len(), 7);
    for r in &sent {
        assert!(r.path.ends_with("/v1/responses"), "{}", r.path);
        assert_eq!(r.body["model"], "Qwen/Qwen3-0.6B");
    }
    assert_eq!(sent[0].body["instructions"], "Be brief.");
    assert_eq!(sent[2].body["previous_response_id"], "resp_mock1");
    assert_eq!(sent[6].body["text"]["format"]["name"], "city");

    // Bridged: chat requests that carry the whole conversation.
    let sent = chat.requests();
    assert_eq!(sent.len(), 7);
    assert!(sent.iter().all(|r| r.path.ends_with("/chat/completions")));
    assert_eq!(
        sent[0].body["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}])
    );
    assert_eq!(sent[1].body["tools"][0]["function"]["name"], "get_weather");
    for follow in [&sent[2], &sent[3]] {
        let m = &follow.body["messages"];
        assert_eq!(m[0]["content"], "What is the weather in Paris?", "{m}");
        assert_eq!(
            m[1]["tool_calls"][0]["function"]["name"], "get_weather",
            "{m}"
        );
        assert_eq!(m[2]["role"], "tool", "{m}");
        assert_eq!(m[2]["tool_call_id"], m[1]["tool_calls"][0]["id"], "{m}");
        assert_eq!(m[2]["content"], "18C and sunny", "{m}");
    }
    assert_eq!(sent[4].body["stream"], true);
    assert_eq!(sent[4].body["stream_options"]["include_usage"], true);
    assert_eq!(sent[6].body["response_format"]["type"], "json_schema");
    assert_eq!(
        sent[6].body["response_format"]["json_schema"]["name"],
        "city"
    );

    // Anthropic: through the chat core to the Messages API.
    let sent = claude.requests();
    assert_eq!(sent.len(), 7);
    assert!(sent.iter().all(|r| r.path.ends_with("/v1/messages")));
    assert_eq!(sent[0].body["system"][0]["text"], "Be brief.");

    // An older vLLM: one 404 from /responses, then chat completions from then on.
    let sent = old.requests();
    let responses = sent
        .iter()
        .filter(|r| r.path.ends_with("/responses"))
        .count();
    assert_eq!(
        responses,
        1,
        "{:?}",
        sent.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(sent.len(), 8);
    assert!(sent[1..]
        .iter()
        .all(|r| r.path.ends_with("/chat/completions")));
}

#[test]
fn a_conversation_continues_on_another_instance_sharing_redis() {
    let redis = RedisServer::start(None);
    let upstream = MockUpstream::start();
    upstream.script(vec![
        Reply::chat("Hello Ada."),
        Reply::chat("Your name is Ada."),
    ]);
    let yaml = format!(
        "model_list:\n{}router_settings:\n  redis_host: 127.0.0.1\n  redis_port: {}\ngeneral_settings:\n  master_key: {KEY}\n",
        deployment(
            "qwen",
            "hosted_vllm/Qwen/Qwen3-0.6B",
            &upstream,
            ", use_chat_completions_api: true"
        ),
        redis.port
    );
    let first = Gateway::start(&yaml);
    let second = Gateway::start(&yaml);
    run_sdk(&first, "qwen", "qwen", Some(&second));
    let sent = upstream.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].body["messages"],
        json!([{"role": "user", "content": "My name is Ada."},
               {"role": "assistant", "content": "Hello Ada."},
               {"role": "user", "content": "What is my name?"}])
    );
    assert!(
        redis
            .keys()
            .iter()
            .any(|k| k.starts_with("switchyard:response:resp_")),
        "{:?}",
        redis.keys()
    );
}

#[test]
fn errors_are_openai_errors_and_a_cut_stream_ends_in_response_failed() {
    let upstream = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}router_settings:\n  num_retries: 0\n",
        deployment(
            "qwen",
            "hosted_vllm/Qwen/Qwen3-0.6B",
            &upstream,
            ", use_chat_completions_api: true"
        ),
    );
    let gw = Gateway::start(&yaml);
    upstream.set_default(Reply::rate_limited(Some(3)));
    let r = gw.post("/v1/responses", &json!({"model": "qwen", "input": "Hi"}));
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("RateLimitError"));

    let r = gw.post("/v1/responses", &json!({"model": "qwen", "input": 5}));
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["param"], "input");
    let r = gw.post(
        "/v1/responses",
        &json!({"model": "qwen", "input": "Hi", "tools": [{"type": "web_search"}]}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("web_search"), "{}", r.text);
    let r = gw.post(
        "/v1/responses",
        &json!({"model": "qwen", "input": "Hi", "previous_response_id": "resp_nope"}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    assert_eq!(gw.get("/v1/responses/resp_nope").status, 404);

    upstream.set_default(Reply::Stream {
        chunks: vec!["partial ".into(), "answer ".into(), "never ".into()],
        delay_ms: 30,
        cut_after: Some(2),
    });
    let r = gw.post_stream(
        "/v1/responses",
        &json!({"model": "qwen", "input": "Hi", "stream": true}),
        &[],
    );
    assert_eq!(r.status, 200);
    let events: Vec<Value> = r
        .collect_all()
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"response.created"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"response.failed"), "{kinds:?}");
    assert!(!kinds.contains(&"response.completed"), "{kinds:?}");
    let failed = &events.last().unwrap()["response"];
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]["message"].as_str().unwrap().len() > 5,
        "{failed}"
    );
    let text: String = events.iter().filter_map(|e| e["delta"].as_str()).collect();
    assert_eq!(text, "partial answer ");
}
