//! `bedrock/` deployments against a mock speaking Bedrock's wire format (Converse JSON,
//! ConverseStream event-stream frames, InvokeModel embeddings) that verifies every request's
//! SigV4 signature for known test credentials, driven with the OpenAI Python SDK.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::{json, Value};

const KEY_ID: &str = "AKIASWITCHYARDTEST";
const SECRET: &str = "switchyard-test-secret-0123456789abcdef";
const CLAUDE: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

fn root(mock: &MockUpstream) -> String {
    mock.base_url().trim_end_matches("/v1").to_string()
}

fn deployment(name: &str, model: &str, mock: &MockUpstream, extra: &str) -> String {
    format!(
        "  - model_name: {name}\n    litellm_params:\n      model: bedrock/{model}\n      api_base: '{}'\n      aws_region_name: us-east-1\n{extra}",
        root(mock)
    )
}

fn signed(secret: &str) -> String {
    format!("      aws_access_key_id: {KEY_ID}\n      aws_secret_access_key: {secret}\n")
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

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_openai_sdk_talks_to_bedrock_through_signed_converse_calls() {
    let mock = MockUpstream::start();
    mock.script(common::sdk_providers_script());
    let yaml = format!(
        "model_list:\n{}",
        deployment("claude-bedrock", CLAUDE, &mock, &signed(SECRET))
    );
    let gw = Gateway::start(&yaml);
    common::run_sdk_providers(&gw, "claude-bedrock", None);
    let sent = mock.requests();
    assert_eq!(sent.len(), 4, "every call passed the signature check");
    assert_eq!(
        sent[0].path,
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"
    );
    assert_eq!(
        sent[1].path,
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    let auth = header(&sent[0].headers, "authorization").unwrap();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={KEY_ID}/"))
            && auth.contains("/us-east-1/bedrock/aws4_request"),
        "{auth}"
    );
    let body = &sent[0].body;
    assert_eq!(body["system"], json!([{"text": "Be brief."}]));
    assert_eq!(
        body["messages"][0],
        json!({"role": "user", "content": [{"text": "Hello!"}]})
    );
    assert!(
        body.get("model").is_none(),
        "the model id is in the path: {body}"
    );
    // The tool round trip in Converse's shapes.
    let exchange = &sent[2].body["messages"];
    assert_eq!(
        exchange[1]["content"][0]["toolUse"]["input"]["city"], "Paris",
        "{exchange}"
    );
    assert_eq!(
        exchange[2]["content"][0]["toolResult"]["toolUseId"],
        exchange[1]["content"][0]["toolUse"]["toolUseId"]
    );
    assert_eq!(
        sent[1].body["toolConfig"]["toolChoice"],
        json!({"auto": {}})
    );
}

#[test]
fn a_wrong_secret_is_an_authentication_error_and_no_secret_leaks() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::chat("never"));
    let wrong = "wrong-secret-abcdefghijklmnop0123";
    let yaml = format!(
        "model_list:\n{}",
        deployment("claude-bedrock", CLAUDE, &mock, &signed(wrong))
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post(
        "/v1/chat/completions",
        &chat("claude-bedrock", json!({"num_retries": 0})),
    );
    assert_eq!(r.status, 401, "{}", r.text);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("AuthenticationError: BedrockException - The request signature we calculated does not match"),
        "{msg}"
    );
    assert!(!r.text.contains(wrong), "{}", r.text);
    assert!(!gw.logs().contains(wrong), "the secret reached the log");
}

#[test]
fn credentials_region_session_tokens_and_api_keys_come_from_where_litellm_reads_them() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::chat("ok"));
    let yaml = format!(
        "model_list:\n  - model_name: profile\n    litellm_params: {{model: bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0, api_base: '{root}'}}\n  - model_name: keyed\n    litellm_params: {{model: bedrock/converse/meta.llama3-8b-instruct-v1:0, api_base: '{root}', api_key: bedrock-api-key-0123456789}}\n",
        root = root(&mock)
    );
    let gw = Gateway::start_with(
        &yaml,
        &[
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "session-token-0123456789"),
            ("AWS_REGION", "eu-west-3"),
        ],
        &[],
    );
    let r = gw.post("/v1/chat/completions", &chat("profile", json!({})));
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = &mock.requests()[0];
    assert_eq!(
        sent.path,
        "/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    );
    let auth = header(&sent.headers, "authorization").unwrap();
    assert!(auth.contains("/eu-west-3/bedrock/aws4_request"), "{auth}");
    assert!(
        auth.contains("x-amz-security-token"),
        "the session token is signed: {auth}"
    );
    assert_eq!(
        header(&sent.headers, "x-amz-security-token"),
        Some("session-token-0123456789")
    );
    let r = gw.post("/v1/chat/completions", &chat("keyed", json!({})));
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = &mock.requests()[1];
    assert_eq!(sent.path, "/model/meta.llama3-8b-instruct-v1%3A0/converse");
    assert_eq!(
        header(&sent.headers, "authorization"),
        Some("Bearer bedrock-api-key-0123456789")
    );
}

#[test]
fn parameters_json_mode_and_embeddings_in_bedrocks_shapes() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}{}{}",
        deployment("claude-bedrock", CLAUDE, &mock, &signed(SECRET)),
        deployment(
            "titan",
            "amazon.titan-embed-text-v2:0",
            &mock,
            &signed(SECRET)
        ),
        deployment(
            "cohere-embed",
            "cohere.embed-english-v3",
            &mock,
            &signed(SECRET)
        ),
    );
    let gw = Gateway::start(&yaml);
    mock.script(vec![Reply::ToolCall {
        name: "json_tool_call".into(),
        arguments: "{\"answer\": 42}".into(),
    }]);
    let r = gw.post(
        "/v1/chat/completions",
        &chat(
            "claude-bedrock",
            json!({"max_tokens": 50, "temperature": 0.3, "stop": ["END"], "top_k": 20,
                   "response_format": {"type": "json_object"}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(
        v["choices"][0]["message"]["content"], "{\"answer\":42}",
        "{v}"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 11);
    let body = &mock.requests()[0].body;
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 50, "temperature": 0.3, "stopSequences": ["END"]})
    );
    assert_eq!(body["additionalModelRequestFields"], json!({"top_k": 20}));
    assert_eq!(
        body["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "json_tool_call"}})
    );

    // Parameters Converse cannot honour: a 400, unless dropped.
    let r = gw.post(
        "/v1/chat/completions",
        &chat("claude-bedrock", json!({"seed": 1})),
    );
    assert_eq!(r.status, 400, "{}", r.text);

    mock.set_default(Reply::Embedding { dims: 4 });
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "titan", "input": "hello"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"][0]["embedding"][0], 5.0);
    assert_eq!(r.json()["usage"]["prompt_tokens"], 4);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(sent.path, "/model/amazon.titan-embed-text-v2%3A0/invoke");
    assert_eq!(sent.body, json!({"inputText": "hello"}));
    // Titan embeds one text per call: a batch goes as one call per item, answered as one list.
    let before = mock.count();
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "titan", "input": ["a", "bcd"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["data"][1]["index"], 1);
    assert_eq!(v["data"][1]["embedding"][0], 3.0);
    assert_eq!(v["usage"]["prompt_tokens"], 8, "{v}");
    let sent = mock.requests();
    assert_eq!(sent.len() - before, 2);
    assert_eq!(sent[before + 1].body, json!({"inputText": "bcd"}));
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "cohere-embed", "input": ["abc", "de"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"][1]["embedding"][0], 2.0);
    let sent = mock.requests().last().unwrap().clone();
    assert_eq!(
        sent.body,
        json!({"texts": ["abc", "de"], "input_type": "search_document"})
    );
}

#[test]
fn bedrock_errors_drive_cooldowns_and_fallbacks_and_a_cut_stream_is_an_error() {
    let primary = MockUpstream::start();
    let backup = MockUpstream::start();
    backup.set_default(Reply::chat("from the backup"));
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  fallbacks: [{{claude-bedrock: [backup]}}]\n  context_window_fallbacks: [{{claude-bedrock: [backup]}}]\n",
        deployment("claude-bedrock", CLAUDE, &primary, &signed(SECRET)),
        deployment("backup", "meta.llama3-8b-instruct-v1:0", &backup, &signed(SECRET)),
    );
    let gw = Gateway::start(&yaml);
    primary.set_default(Reply::rate_limited(None));
    let r = gw.post(
        "/v1/chat/completions",
        &chat(
            "claude-bedrock",
            json!({"num_retries": 0, "disable_fallbacks": true}),
        ),
    );
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(
        r.text.contains("RateLimitError: BedrockException"),
        "{}",
        r.text
    );
    let r = gw.post(
        "/v1/chat/completions",
        &chat("claude-bedrock", json!({"num_retries": 0})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "from the backup"
    );

    primary.set_default(Reply::error(400, "Input is too long for requested model."));
    let r = gw.post(
        "/v1/chat/completions",
        &chat(
            "claude-bedrock",
            json!({"num_retries": 0, "disable_fallbacks": true}),
        ),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("ContextWindowExceededError"), "{}", r.text);

    primary.set_default(Reply::Stream {
        chunks: vec!["partial ".into(), "answer ".into(), "never ".into()],
        delay_ms: 50,
        cut_after: Some(2),
    });
    let r = gw.post_stream(
        "/v1/chat/completions",
        &chat(
            "claude-bedrock",
            json!({"stream": true, "disable_fallbacks": true}),
        ),
        &[],
    );
    assert_eq!(r.status, 200);
    let events = r.collect_all();
    let all = events.join("\n");
    assert_eq!(common::stream_content(&events), "partial answer ", "{all}");
    assert!(all.contains("\"error\""), "{all}");
}

#[test]
fn the_anthropic_sdk_reaches_claude_on_bedrock_through_signed_invoke_calls() {
    let mock = MockUpstream::start();
    mock.script(common::sdk_anthropic_script());
    let yaml = format!(
        "model_list:\n{}",
        deployment("claude-bedrock", CLAUDE, &mock, &signed(SECRET))
    );
    let gw = Gateway::start(&yaml);
    let out = common::run_sdk_anthropic(&gw, "sk-any", "claude-bedrock", "claude-bedrock");
    assert!(out.contains("count_tokens claude-bedrock 4343"), "{out}");
    let mut sent = mock.requests();
    assert_eq!(sent.len(), 7);
    let counted = sent.pop().unwrap();
    assert!(counted.path.ends_with("/count-tokens"), "{}", counted.path);
    let invoked: Value = serde_json::from_str(
        counted.body["input"]["invokeModel"]["body"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(invoked["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(invoked["messages"][0]["role"], "user");
    assert_eq!(invoked["max_tokens"], 1);
    let model = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0";
    assert_eq!(sent[0].path, format!("{model}/invoke"));
    assert_eq!(sent[3].path, format!("{model}/invoke-with-response-stream"));
    for r in &sent {
        assert_eq!(r.body["anthropic_version"], "bedrock-2023-05-31");
        assert!(r.body.get("model").is_none(), "{}", r.body);
        assert!(r.body.get("stream").is_none(), "{}", r.body);
        assert!(header(&r.headers, "authorization")
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256"));
    }
    assert_eq!(sent[5].body["metadata"]["user_id"], "u-42");
    assert_eq!(sent[5].body["thinking"]["type"], "enabled");
}
