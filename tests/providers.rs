//! Anthropic, Gemini and Azure deployments against mock upstreams speaking each provider's wire
//! format: what goes upstream, what the OpenAI client gets back (plain, streamed, tool calls),
//! and provider errors driving retries, cooldowns and fallbacks.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use common::stream_content;
use serde_json::{json, Value};

/// The mock's root, for providers whose api_base has no `/v1`.
fn root(mock: &MockUpstream) -> String {
    mock.base_url().trim_end_matches("/v1").to_string()
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello!"}]})
}

fn streamed(mut body: Value) -> Value {
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    body
}

fn tool_request(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Weather in Paris?"}],
           "tools": [{"type": "function", "function": {"name": "get_weather",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
           "tool_choice": "auto"})
}

fn weather_call() -> Reply {
    Reply::ToolCall {
        name: "get_weather".into(),
        arguments: "{\"city\":\"Paris\"}".into(),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn one_model(name: &str, model: &str, api_base: &str, extra: &str) -> String {
    format!(
        "  - model_name: {name}\n    litellm_params:\n      model: {model}\n      api_key: sk-{name}-key-0123456789\n      api_base: {api_base}\n{extra}"
    )
}

/// A gateway with one Anthropic deployment, `claude`, on `mock`.
fn claude_gateway(mock: &MockUpstream) -> Gateway {
    let yaml = format!(
        "model_list:\n{}",
        one_model(
            "claude",
            "anthropic/claude-3-5-sonnet-20241022",
            &mock.base_url(),
            ""
        )
    );
    Gateway::start(&yaml)
}

#[test]
fn anthropic_chat_is_a_messages_api_call_answered_as_openai() {
    let mock = MockUpstream::start();
    let gw = claude_gateway(&mock);
    let r = gw.post("/v1/chat/completions", &chat("claude"));
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "claude");
    assert_eq!(v["choices"][0]["message"]["content"], "hello from mock");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(v["usage"]["prompt_tokens"], 12);

    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(
        header(&sent.headers, "x-api-key"),
        Some("sk-claude-key-0123456789")
    );
    assert_eq!(
        header(&sent.headers, "anthropic-version"),
        Some("2023-06-01")
    );
    assert!(header(&sent.headers, "authorization").is_none());
    assert_eq!(sent.body["model"], "claude-3-5-sonnet-20241022");
    assert_eq!(
        sent.body["system"],
        json!([{"type": "text", "text": "Be brief."}])
    );
    assert_eq!(
        sent.body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Hello!"}]}])
    );
    assert_eq!(sent.body["max_tokens"], 4096);
}

#[test]
fn anthropic_streams_translate_event_by_event() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: vec!["one ".into(), "two ".into(), "three".into()],
        delay_ms: 300,
        cut_after: None,
    });
    let gw = claude_gateway(&mock);
    let mut s = gw.post_stream("/v1/chat/completions", &streamed(chat("claude")), &[]);
    assert_eq!(s.status, 200);
    let mut events = Vec::new();
    while let Some(ev) = s.next_event() {
        events.push(ev);
    }
    let spread = events.last().unwrap().1 - events.first().unwrap().1;
    assert!(
        spread >= Duration::from_millis(450),
        "chunks arrive as the upstream sends them: {spread:?}"
    );
    let data: Vec<String> = events.into_iter().map(|(d, _)| d).collect();
    assert_eq!(stream_content(&data), "one two three");
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = data
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "claude"));
    assert!(
        chunks.windows(2).all(|w| w[0]["id"] == w[1]["id"]),
        "one id per stream"
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "stop"));
    let usage = chunks
        .iter()
        .find(|c| c["usage"].is_object())
        .expect("usage chunk when asked");
    assert_eq!(usage["usage"]["prompt_tokens"], 12);
    assert_eq!(mock.requests()[0].body["stream"], true);
}

#[test]
fn anthropic_tool_calls_come_back_as_openai_tool_calls() {
    let mock = MockUpstream::start();
    mock.set_default(weather_call());
    let gw = claude_gateway(&mock);
    let r = gw.post("/v1/chat/completions", &tool_request("claude"));
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    let call = &v["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Paris"})
    );
    let sent = &mock.requests()[0].body;
    assert_eq!(sent["tools"][0]["name"], "get_weather");
    assert_eq!(sent["tool_choice"], json!({"type": "auto"}));

    let events = gw
        .post_stream(
            "/v1/chat/completions",
            &streamed(tool_request("claude")),
            &[],
        )
        .collect_all();
    let chunks: Vec<Value> = events
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    let args: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(args, "{\"city\":\"Paris\"}");
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));
}

#[test]
fn gemini_chat_stream_tools_and_embeddings() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}{}",
        one_model("gemini", "gemini/gemini-2.0-flash", &root(&mock), ""),
        one_model(
            "gemini-embed",
            "gemini/text-embedding-004",
            &root(&mock),
            ""
        )
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post("/v1/chat/completions", &chat("gemini"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "hello from mock"
    );
    assert_eq!(r.json()["model"], "gemini");
    assert_eq!(r.json()["usage"]["prompt_tokens"], 8);
    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/models/gemini-2.0-flash:generateContent");
    assert_eq!(
        header(&sent.headers, "x-goog-api-key"),
        Some("sk-gemini-key-0123456789")
    );
    assert_eq!(
        sent.body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        sent.body["contents"],
        json!([{"role": "user", "parts": [{"text": "Hello!"}]}])
    );

    mock.reset();
    let events = gw
        .post_stream("/v1/chat/completions", &streamed(chat("gemini")), &[])
        .collect_all();
    assert_eq!(
        mock.requests()[0].path,
        "/models/gemini-2.0-flash:streamGenerateContent"
    );
    assert_eq!(mock.requests()[0].query, "alt=sse");
    assert_eq!(stream_content(&events), "hello from mock");
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    assert!(chunks.len() >= 4);
    assert!(
        chunks.windows(2).all(|w| w[0]["id"] == w[1]["id"]),
        "one id per stream, unlike LiteLLM's Gemini streams"
    );
    assert!(chunks
        .iter()
        .any(|c| c["usage"]["total_tokens"].as_u64().is_some()));

    mock.set_default(weather_call());
    let r = gw.post("/v1/chat/completions", &tool_request("gemini"));
    assert_eq!(
        r.json()["choices"][0]["finish_reason"],
        "tool_calls",
        "{}",
        r.text
    );
    assert_eq!(
        r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    let events = gw
        .post_stream(
            "/v1/chat/completions",
            &streamed(tool_request("gemini")),
            &[],
        )
        .collect_all();
    assert!(
        events.iter().any(|e| e.contains("get_weather")),
        "{events:?}"
    );

    mock.set_default(Reply::Embedding { dims: 3 });
    mock.reset();
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "gemini-embed", "input": ["a", "b"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 2);
    assert_eq!(r.json()["data"][1]["embedding"], json!([0.25, 0.25, 0.25]));
    assert_eq!(
        mock.requests()[0].path,
        "/models/text-embedding-004:batchEmbedContents"
    );
}

#[test]
fn azure_deployments_use_the_deployment_path_version_and_api_key_header() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}{}",
        one_model(
            "azure-gpt",
            "azure/my-gpt4o",
            &root(&mock),
            "      api_version: 2024-06-01\n"
        ),
        one_model(
            "azure-embed",
            "azure/my-embeddings",
            &root(&mock),
            "      api_version: 2024-06-01\n"
        )
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post("/v1/chat/completions", &chat("azure-gpt"));
    assert_eq!(r.status, 200, "{}", r.text);
    let sent = &mock.requests()[0];
    assert_eq!(sent.path, "/openai/deployments/my-gpt4o/chat/completions");
    assert_eq!(sent.query, "api-version=2024-06-01");
    assert_eq!(
        header(&sent.headers, "api-key"),
        Some("sk-azure-gpt-key-0123456789")
    );
    let events = gw
        .post_stream("/v1/chat/completions", &streamed(chat("azure-gpt")), &[])
        .collect_all();
    assert_eq!(stream_content(&events), "hello from mock");
    mock.set_default(Reply::Embedding { dims: 2 });
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "azure-embed", "input": "x"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        mock.requests().last().unwrap().path,
        "/openai/deployments/my-embeddings/embeddings"
    );

    // Azure's content filter is a content-policy error, whatever the status says.
    mock.set_default(Reply::Error {
        status: 400,
        message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.".into(),
        err_type: "invalid_request_error".into(),
        code: Some("content_filter".into()),
        retry_after: None,
    });
    let r = gw.post("/v1/chat/completions", &chat("azure-gpt"));
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("ContentPolicyViolationError"),
        "{}",
        r.text
    );
}

#[test]
fn provider_errors_drive_fallbacks_from_openai_to_anthropic_to_gemini() {
    let (openai, anthropic, gemini) = (
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
    );
    openai.set_default(Reply::rate_limited(None));
    anthropic.set_default(Reply::error(529, "Overloaded"));
    gemini.set_default(Reply::chat("gemini saves the day"));
    let yaml = format!(
        "model_list:\n{}{}{}router_settings:\n  num_retries: 1\n  retry_after: 0\n  fallbacks:\n    - gpt-4o: [claude-3-5-sonnet]\n    - claude-3-5-sonnet: [gemini-2.0-flash]\n",
        one_model("gpt-4o", "openai/gpt-4o", &openai.base_url(), ""),
        one_model("claude-3-5-sonnet", "anthropic/claude-3-5-sonnet-20241022", &anthropic.base_url(), ""),
        one_model("gemini-2.0-flash", "gemini/gemini-2.0-flash", &root(&gemini), "")
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post("/v1/chat/completions", &chat("gpt-4o"));
    assert_eq!(r.status, 200, "{}\n{}", r.text, gw.logs());
    assert_eq!(
        r.json()["choices"][0]["message"]["content"],
        "gemini saves the day"
    );
    assert_eq!(r.header("x-litellm-attempted-fallbacks"), Some("2"));
    assert_eq!(r.header("x-litellm-model-group"), Some("gemini-2.0-flash"));
    assert_eq!(
        anthropic.count(),
        2,
        "the overloaded Anthropic deployment was retried once, then fell back"
    );
    assert!(openai.count() >= 1);
    assert_eq!(gemini.count(), 1);
}

#[test]
fn an_anthropic_rate_limit_cools_the_deployment_and_prompt_too_long_falls_back() {
    let (a, b, big) = (
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
    );
    a.set_default(Reply::Error {
        status: 429,
        message: "Number of request tokens has exceeded your per-minute rate limit".into(),
        err_type: "rate_limit_error".into(),
        code: None,
        retry_after: Some(30),
    });
    let yaml = format!(
        "model_list:\n{}{}{}router_settings:\n  num_retries: 2\n  context_window_fallbacks:\n    - claude: [gemini-big]\n",
        one_model("claude", "anthropic/claude-a", &a.base_url(), "    model_info:\n      id: claude-a\n"),
        one_model("claude", "anthropic/claude-b", &b.base_url(), "    model_info:\n      id: claude-b\n"),
        one_model("gemini-big", "gemini/gemini-1.5-pro", &root(&big), "")
    );
    let gw = Gateway::start(&yaml);
    for _ in 0..12 {
        let r = gw.post("/v1/chat/completions", &chat("claude"));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("x-litellm-model-id"), Some("claude-b"));
    }
    assert!(
        a.count() <= 1,
        "after its 429 the Anthropic deployment cools down: {} calls",
        a.count()
    );

    b.set_default(Reply::error(
        400,
        "prompt is too long: 208310 tokens > 200000 maximum",
    ));
    let r = gw.post("/v1/chat/completions", &chat("claude-b"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-litellm-model-group"), Some("gemini-big"));
}

#[test]
fn unsupported_parameters_are_a_400_unless_dropped() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}{}",
        one_model(
            "claude",
            "anthropic/claude-3-5-sonnet-20241022",
            &mock.base_url(),
            ""
        ),
        one_model(
            "claude-lenient",
            "anthropic/claude-3-5-sonnet-20241022",
            &mock.base_url(),
            "      drop_params: true\n"
        )
    );
    let gw = Gateway::start(&yaml);
    let mut body = chat("claude");
    body["seed"] = json!(7);
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 400, "{}", r.text);
    let e = r.json();
    assert!(
        e["error"]["message"].as_str().unwrap().contains("seed"),
        "{}",
        r.text
    );
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert_eq!(mock.count(), 0, "nothing was sent upstream");
    body["model"] = json!("claude-lenient");
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(mock.requests()[0].body.get("seed").is_none());
}

#[test]
fn provider_errors_reach_the_client_as_openai_errors_without_keys() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::error(
        401,
        "invalid x-api-key sk-claude-key-0123456789",
    ));
    let gw = claude_gateway(&mock);
    let r = gw.post("/v1/chat/completions", &chat("claude"));
    assert_eq!(r.status, 401);
    let e = &r.json()["error"];
    for field in ["message", "type", "param", "code"] {
        assert!(e.get(field).is_some(), "{field} in {e}");
    }
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("AnthropicException"));
    assert!(!r.text.contains("sk-claude-key-0123456789"), "{}", r.text);
    assert!(!gw.logs().contains("sk-claude-key-0123456789"));
}

#[test]
fn a_translated_stream_is_cached_and_replayed() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: vec!["cached ".into(), "claude ".into(), "answer".into()],
        delay_ms: 0,
        cut_after: None,
    });
    let yaml = format!(
        "model_list:\n{}litellm_settings:\n  cache: true\n  cache_params: {{type: local}}\n",
        one_model(
            "claude",
            "anthropic/claude-3-5-sonnet-20241022",
            &mock.base_url(),
            ""
        )
    );
    let gw = Gateway::start(&yaml);
    let first = gw.post_stream("/v1/chat/completions", &streamed(chat("claude")), &[]);
    assert_eq!(first.header("x-switchyard-cache"), Some("miss"));
    assert_eq!(stream_content(&first.collect_all()), "cached claude answer");
    let again = gw.post_stream("/v1/chat/completions", &streamed(chat("claude")), &[]);
    assert_eq!(again.header("x-switchyard-cache"), Some("hit"));
    let events = again.collect_all();
    assert_eq!(stream_content(&events), "cached claude answer");
    assert!(
        events.iter().any(|e| e.contains("\"prompt_tokens\":12")),
        "the stored usage is replayed: {events:?}"
    );
    let plain = gw.post("/v1/chat/completions", &chat("claude"));
    assert_eq!(plain.header("x-switchyard-cache"), Some("hit"));
    assert_eq!(
        plain.json()["choices"][0]["message"]["content"],
        "cached claude answer"
    );
    assert_eq!(mock.count(), 1);
}

#[test]
fn anthropic_json_mode_answers_in_the_content() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::ToolCall {
        name: "json_tool_call".into(),
        arguments: "{\"name\":\"Ada\",\"age\":36}".into(),
    });
    let gw = claude_gateway(&mock);
    let mut body = chat("claude");
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "person",
        "schema": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}}});
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["choices"][0]["message"]["tool_calls"].is_null());
    let answer: Value =
        serde_json::from_str(v["choices"][0]["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(answer, json!({"name": "Ada", "age": 36}));
    let sent = &mock.requests()[0].body;
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "tool", "name": "json_tool_call"})
    );
    assert!(sent.get("response_format").is_none());

    let events = gw
        .post_stream("/v1/chat/completions", &streamed(body), &[])
        .collect_all();
    let text = stream_content(&events);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"name": "Ada", "age": 36}),
        "{events:?}"
    );
}

#[test]
fn gemini_gets_remote_images_inline() {
    let (mock, images) = (MockUpstream::start(), MockUpstream::start());
    // The image server is on loopback: allowed by name, as an operator allows an internal host.
    let yaml = format!(
        "model_list:\n{}switchyard_settings:\n  image_fetch:\n    allow_private_hosts: [\"127.0.0.1\"]\n",
        one_model("gemini", "gemini/gemini-2.0-flash", &root(&mock), "")
    );
    let gw = Gateway::start(&yaml);
    let image = format!("{}/images/cat.png?sig=secret", root(&images));
    let body = json!({"model": "gemini", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": image}}]}]});
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    let part = &mock.requests()[0].body["contents"][0]["parts"][1];
    assert_eq!(part["inlineData"]["mimeType"], "image/png", "{part}");
    // base64 of the mock's image bytes
    assert_eq!(part["inlineData"]["data"], "iVBORw0KGgptb2NrLWltYWdl");

    let missing = json!({"model": "gemini", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": format!("{}/nowhere.png?sig=secret", root(&images))}}]}]});
    let r = gw.post("/v1/chat/completions", &missing);
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("could not fetch the image"), "{}", r.text);
    assert!(
        !r.text.contains("sig=secret"),
        "signed URLs are not echoed: {}",
        r.text
    );
}
