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

#[test]
fn the_anthropic_sdk_works_against_any_deployment() {
    let vllm = MockUpstream::start();
    let claude = MockUpstream::start();
    vllm.script(common::sdk_anthropic_script());
    claude.script(common::sdk_anthropic_script());
    let yaml = format!(
        "model_list:\n  - model_name: qwen\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\n  - model_name: claude\n    litellm_params: {{model: anthropic/claude-3-5-sonnet-20241022, api_key: sk-ant-0123456789, api_base: '{}'}}\ngeneral_settings:\n  master_key: {KEY}\n",
        vllm.base_url(),
        claude.base_url()
    );
    let gw = Gateway::start(&yaml);
    let out = common::run_sdk_anthropic(&gw, KEY, "qwen,claude", "claude");
    // count_tokens: the Anthropic deployment's own counter; a cl100k_base count for vLLM.
    assert!(out.contains("count_tokens claude 4242"), "{out}");
    let qwen: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("count_tokens qwen "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((20..200).contains(&qwen), "{qwen}");
    // The vLLM deployment got OpenAI chat requests: system first, tools as functions, the
    // tool result as a tool message.
    let sent = vllm.requests();
    assert_eq!(sent.len(), 6);
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
    let image = &sent[5].body["messages"][1]["content"][1];
    assert_eq!(image["type"], "image_url", "{image}");
    assert!(image["image_url"]["url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,iVBOR"));

    // The Anthropic deployment got the client's own Messages bodies, not a round trip through
    // the chat format: cache_control, metadata, thinking and image blocks as sent.
    let mut sent = claude.requests();
    assert_eq!(sent.len(), 7);
    let counted = sent.pop().unwrap();
    assert!(
        counted.path.ends_with("/v1/messages/count_tokens"),
        "{}",
        counted.path
    );
    assert_eq!(counted.body["model"], "claude-3-5-sonnet-20241022");
    assert_eq!(counted.body["system"], "Be brief.");
    assert!(counted.body.get("max_tokens").is_none());
    assert_eq!(counted.body["tools"][0]["name"], "get_weather");
    for r in &sent {
        assert!(r.path.ends_with("/v1/messages"), "{}", r.path);
        assert_eq!(r.body["model"], "claude-3-5-sonnet-20241022");
    }
    assert_eq!(sent[0].body["system"], "Be brief.");
    assert_eq!(
        sent[1].body["tools"][0]["input_schema"]["required"][0],
        "city"
    );
    assert_eq!(
        sent[2].body["messages"][2]["content"][0]["type"],
        "tool_result"
    );
    assert_eq!(sent[3].body["stream"], true);
    let native = &sent[5].body;
    assert_eq!(native["metadata"], json!({"user_id": "u-42"}));
    assert_eq!(native["system"][0]["cache_control"]["type"], "ephemeral");
    assert_eq!(
        native["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    assert_eq!(native["messages"][0]["content"][1]["type"], "image");
    assert_eq!(native["max_tokens"], 2048);
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
    assert_eq!(v["model"], "main", "the model the client asked for");

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

#[test]
fn a_native_anthropic_deployment_fails_over_to_a_bridged_one_and_a_cut_stream_ends_in_an_error() {
    let claude = MockUpstream::start();
    let vllm = MockUpstream::start();
    vllm.set_default(Reply::chat("from vllm"));
    let yaml = format!(
        "model_list:\n  - model_name: claude\n    litellm_params: {{model: anthropic/claude-3-5-haiku-20241022, api_key: sk-ant-0123456789, api_base: '{}'}}\n  - model_name: qwen\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\nrouter_settings:\n  num_retries: 0\n  fallbacks: [{{claude: [qwen]}}]\n",
        claude.base_url(),
        vllm.base_url()
    );
    let gw = Gateway::start(&yaml);
    let ask = json!({"model": "claude", "max_tokens": 16, "metadata": {"user_id": "u-1"},
        "messages": [{"role": "user", "content": "Hi"}]});

    // Anthropic's own error, in its status and type, when fallbacks are off.
    claude.set_default(Reply::error(529, "Overloaded"));
    let mut direct = ask.clone();
    direct["disable_fallbacks"] = json!(true);
    let r = gw.post("/v1/messages", &direct);
    assert_eq!(r.status, 529, "{}", r.text);
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "overloaded_error");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Overloaded"));
    assert_eq!(
        claude.requests().last().unwrap().body["metadata"]["user_id"],
        "u-1"
    );
    assert!(
        claude
            .requests()
            .last()
            .unwrap()
            .body
            .get("disable_fallbacks")
            .is_none(),
        "router fields stay in the gateway"
    );

    // With fallbacks: the bridged deployment answers, in Anthropic's shape.
    let r = gw.post("/v1/messages", &ask);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["content"][0]["text"], "from vllm");
    assert_eq!(r.json()["type"], "message");

    // A native stream cut after some content: an error event, never a message_stop.
    claude.set_default(Reply::Stream {
        chunks: vec!["partial ".into(), "answer ".into(), "never ".into()],
        delay_ms: 30,
        cut_after: Some(2),
    });
    let mut streamed = direct.clone();
    streamed["stream"] = json!(true);
    let r = gw.post_stream("/v1/messages", &streamed, &[]);
    assert_eq!(r.status, 200);
    let events: Vec<serde_json::Value> = r
        .collect_all()
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"message_start"), "{types:?}");
    assert_eq!(types.last(), Some(&"error"), "{types:?}");
    assert!(!types.contains(&"message_stop"), "{types:?}");
    let text: String = events
        .iter()
        .filter_map(|e| e["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "partial answer ");
}
