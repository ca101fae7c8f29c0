//! The OpenAI-compatible surface: answers, headers, models, embeddings, auth, bad input.

mod common;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::json;

fn one_group(mock: &MockUpstream, extra: &str) -> String {
    format!(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o-2024-08-06\n      api_key: sk-upstream-secret-0123456789\n      api_base: {}\n    model_info:\n      id: primary\n  - model_name: text-embedding-3-small\n    litellm_params:\n      model: openai/text-embedding-3-small\n      api_key: sk-upstream-secret-0123456789\n      api_base: {}\n{extra}",
        mock.base_url(),
        mock.base_url()
    )
}

fn chat(model: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello!"}]})
}

#[test]
fn chat_answer_names_the_group_and_carries_litellm_headers() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&one_group(&mock, ""));
    let r = gw.post("/v1/chat/completions", &chat("gpt-4o"));
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(body["choices"][0]["message"]["content"], "hello from mock");
    assert!(body["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(r.header("x-litellm-model-id"), Some("primary"));
    assert_eq!(r.header("x-litellm-attempted-retries"), Some("0"));
    assert_eq!(r.header("x-litellm-attempted-fallbacks"), Some("0"));
    assert_eq!(r.header("x-litellm-model-group"), Some("gpt-4o"));
    assert_eq!(
        r.header("x-litellm-model-api-base"),
        Some(mock.base_url().as_str())
    );
    assert!(r
        .header("x-litellm-call-id")
        .is_some_and(|id| id.len() == 36));
    let sent = &mock.requests()[0];
    assert_eq!(
        sent.body["model"], "gpt-4o-2024-08-06",
        "the prefix is stripped upstream"
    );
    let auth = sent
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str());
    assert_eq!(auth, Some("Bearer sk-upstream-secret-0123456789"));
}

#[test]
fn both_path_styles_and_the_client_call_id_work() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&one_group(&mock, ""));
    let r = gw.post_with(
        "/chat/completions",
        &chat("gpt-4o"),
        &[("x-litellm-call-id", "my-request-42")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-litellm-call-id"), Some("my-request-42"));
    assert!(
        gw.logs().contains("my-request-42"),
        "the request log line names the call id"
    );
}

#[test]
fn router_only_fields_never_reach_the_upstream() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&one_group(&mock, ""));
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "num_retries": 1,
                      "metadata": {"team": "a"}, "fallbacks": [], "temperature": 0.5});
    assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    let sent = &mock.requests()[0].body;
    assert!(
        sent.get("num_retries").is_none()
            && sent.get("metadata").is_none()
            && sent.get("fallbacks").is_none()
    );
    assert_eq!(sent["temperature"], 0.5);
}

#[test]
fn embeddings_are_relayed() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Embedding { dims: 4 });
    let gw = Gateway::start(&one_group(&mock, ""));
    let r = gw.post(
        "/v1/embeddings",
        &json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][0]["embedding"].as_array().unwrap().len(), 4);
    assert_eq!(body["model"], "text-embedding-3-small");
    assert_eq!(mock.requests()[0].path, "/v1/embeddings");
    let missing = gw.post("/embeddings", &json!({"model": "text-embedding-3-small"}));
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["error"]["param"], "input");
}

#[test]
fn models_lists_visible_aliases_then_groups() {
    let mock = MockUpstream::start();
    let extra = "router_settings:\n  model_group_alias:\n    gpt-4-latest: gpt-4o\n    secret-alias: {model: gpt-4o, hidden: true}\n";
    let gw = Gateway::start(&one_group(&mock, extra));
    let r = gw.get("/v1/models");
    assert_eq!(r.status, 200);
    let ids: Vec<String> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        vec!["gpt-4-latest", "gpt-4o", "text-embedding-3-small"]
    );
    assert_eq!(r.json()["object"], "list");
    assert_eq!(gw.get("/models").status, 200);
    let via_alias = gw.post("/v1/chat/completions", &chat("secret-alias"));
    assert_eq!(via_alias.status, 200, "hidden aliases still route");
}

#[test]
fn bad_input_gets_openai_errors_with_the_right_status() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&one_group(
        &mock,
        "general_settings:\n  max_request_size_mb: 0.01\n",
    ));
    let check = |r: common::gateway::Resp, status: u16, param: Option<&str>, says: &str| {
        assert_eq!(r.status, status, "{}", r.text);
        let e = r.json();
        let err = &e["error"];
        assert!(
            err["message"].as_str().unwrap().contains(says),
            "{}",
            r.text
        );
        assert!(err["type"].is_string());
        assert_eq!(err["code"], status.to_string());
        if let Some(p) = param {
            assert_eq!(err["param"], p);
        }
    };
    let json_headers = [("content-type", "application/json")];
    check(
        gw.post_raw("/v1/chat/completions", b"{not json", &json_headers),
        400,
        Some("request_body"),
        "Invalid JSON",
    );
    check(
        gw.post_raw("/v1/chat/completions", b"", &json_headers),
        400,
        Some("request_body"),
        "empty",
    );
    check(
        gw.post_raw("/v1/chat/completions", b"[1,2]", &json_headers),
        400,
        Some("request_body"),
        "JSON object",
    );
    check(
        gw.post("/v1/chat/completions", &json!({"messages": []})),
        400,
        Some("model"),
        "model",
    );
    check(
        gw.post("/v1/chat/completions", &json!({"model": "gpt-4o"})),
        400,
        Some("messages"),
        "messages",
    );
    check(
        gw.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": []}),
        ),
        400,
        Some("messages"),
        "at least one",
    );
    check(
        gw.post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "messages": [{"content": "x"}]}),
        ),
        400,
        Some("messages"),
        "role",
    );
    check(gw.post("/v1/chat/completions", &json!({"model": "gpt-4o", "stream": "yes", "messages": [{"role": "user", "content": "x"}]})), 400, Some("stream"), "stream");
    check(
        gw.post("/v1/chat/completions", &chat("nope")),
        400,
        Some("model"),
        "Available models: gpt-4o, text-embedding-3-small",
    );
    check(gw.post("/v1/chat/completions", &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "fallbacks": ["ghost"]})), 400, Some("fallbacks"), "ghost");
    let big =
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x".repeat(20_000)}]});
    check(
        gw.post("/v1/chat/completions", &big),
        413,
        Some("request_body"),
        "too large",
    );
    check(gw.get("/v1/nothing-here"), 404, None, "not found");
    assert_eq!(mock.count(), 0, "no bad request reached the upstream");
    assert!(
        gw.logs().contains("outcome=\"rejected\""),
        "rejections are logged"
    );
}

#[test]
fn master_key_is_required_and_never_echoed() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&one_group(
        &mock,
        "general_settings:\n  master_key: sk-master-0123456789abcdef\n",
    ));
    let none = gw.post("/v1/chat/completions", &chat("gpt-4o"));
    assert_eq!(none.status, 401, "{}", none.text);
    assert_eq!(none.json()["error"]["code"], "401");
    let wrong = gw.post_with(
        "/v1/chat/completions",
        &chat("gpt-4o"),
        &[("authorization", "Bearer sk-wrong-key-999999")],
    );
    assert_eq!(wrong.status, 401);
    assert!(
        !wrong.text.contains("sk-wrong-key-999999") && !wrong.text.contains("sk-master"),
        "{}",
        wrong.text
    );
    let ok = gw.post_with(
        "/v1/chat/completions",
        &chat("gpt-4o"),
        &[("authorization", "Bearer sk-master-0123456789abcdef")],
    );
    assert_eq!(ok.status, 200, "{}", ok.text);
    let header = gw.post_with(
        "/v1/chat/completions",
        &chat("gpt-4o"),
        &[("x-api-key", "sk-master-0123456789abcdef")],
    );
    assert_eq!(header.status, 200);
    assert_eq!(gw.get("/v1/models").status, 401);
    assert_eq!(gw.get("/health").status, 401);
    assert_eq!(
        gw.get("/health/liveliness").status,
        200,
        "probes need no key"
    );
    assert_eq!(gw.get("/health/readiness").status, 200);
    assert_eq!(mock.count(), 2);
    let logs = gw.logs();
    for secret in [
        "sk-master-0123456789abcdef",
        "sk-upstream-secret-0123456789",
        "sk-wrong-key-999999",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}

#[test]
fn upstream_errors_are_mapped_and_scrubbed() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::error(
        401,
        "Incorrect API key provided: sk-upstream-secret-0123456789",
    ));
    let gw = Gateway::start(&one_group(&mock, ""));
    let r = gw.post("/v1/chat/completions", &chat("gpt-4o"));
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.json()["error"]["type"], "authentication_error");
    assert!(
        !r.text.contains("sk-upstream-secret-0123456789"),
        "{}",
        r.text
    );
    assert!(!gw.logs().contains("sk-upstream-secret-0123456789"));
}

#[test]
fn drop_params_drops_what_the_upstream_does_not_take() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&one_group(
        &mock,
        "litellm_settings:\n  drop_params: true\n",
    ));
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "top_k": 3, "temperature": 0.1});
    assert_eq!(gw.post("/v1/chat/completions", &body).status, 200);
    let sent = &mock.requests()[0].body;
    assert!(sent.get("top_k").is_none());
    assert_eq!(sent["temperature"], 0.1);

    let mock2 = MockUpstream::start();
    let gw2 = Gateway::start(&one_group(&mock2, ""));
    assert_eq!(gw2.post("/v1/chat/completions", &body).status, 200);
    assert_eq!(
        mock2.requests()[0].body["top_k"],
        3,
        "without drop_params unknown params pass through"
    );
}

#[test]
fn json_logs_write_one_json_line_per_request() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&one_group(&mock, "litellm_settings:\n  json_logs: true\n"));
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("gpt-4o"),
        &[("x-litellm-call-id", "json-log-call")],
    );
    assert_eq!(r.status, 200);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let line = gw
        .logs()
        .lines()
        .find(|l| l.contains("json-log-call"))
        .map(str::to_string)
        .expect("a request line");
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(v["call_id"], "json-log-call");
    assert_eq!(v["model_group"], "gpt-4o");
    assert_eq!(v["deployment"], "primary");
    assert_eq!(v["status"], 200);
    assert_eq!(v["attempts"], 1);
    assert!(v["latency_ms"].as_f64().is_some() && v["completion_tokens"].as_u64().is_some());
}

#[test]
fn health_probes_every_deployment_without_showing_keys() {
    let good = MockUpstream::start();
    let bad = MockUpstream::start();
    bad.set_default(Reply::error(500, "model crashed"));
    let yaml = format!(
        "model_list:\n  - model_name: ok\n    litellm_params: {{model: openai/m, api_key: sk-health-secret-000000000, api_base: '{}'}}\n  - model_name: broken\n    litellm_params: {{model: openai/m, api_key: sk-health-secret-000000000, api_base: '{}'}}\n  - model_name: emb\n    litellm_params: {{model: openai/text-embedding-3-small, api_key: k, api_base: '{}'}}\n    model_info: {{mode: embedding}}\n",
        good.base_url(), bad.base_url(), good.base_url()
    );
    good.set_default(Reply::chat("fine"));
    let gw = Gateway::start(&yaml);
    let r = gw.get("/health");
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    assert_eq!(body["healthy_count"], 2, "{}", r.text);
    assert_eq!(body["unhealthy_count"], 1);
    assert_eq!(body["unhealthy_endpoints"][0]["model_group"], "broken");
    assert!(body["unhealthy_endpoints"][0]["error"]
        .as_str()
        .unwrap()
        .contains("model crashed"));
    assert!(!r.text.contains("sk-health-secret"));
    assert!(
        good.requests().iter().any(|q| q.path == "/v1/embeddings"),
        "embedding deployments get an embedding probe"
    );
    let narrowed = gw.get("/health?model=broken");
    assert_eq!(narrowed.status, 503);
    assert_eq!(narrowed.json()["unhealthy_count"], 1);
}

#[test]
fn every_answer_names_the_instance() {
    let gw = Gateway::start_with(
        "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, mock_response: hi}\n",
        &[],
        &["--instance-id", "node-7"],
    );
    let answers = [
        gw.post("/v1/chat/completions", &chat("m")),
        gw.post("/v1/chat/completions", &chat("no-such-model")),
        gw.get("/health/liveliness"),
        gw.get("/health/readiness"),
        gw.get("/no/such/path"),
    ];
    for r in &answers {
        assert_eq!(
            r.header("x-switchyard-instance"),
            Some("node-7"),
            "{} {}",
            r.status,
            r.text
        );
    }
    assert_eq!(answers[3].json()["instance"], "node-7");
}

#[test]
fn model_info_lists_deployments_without_keys() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "{}general_settings:\n  master_key: sk-admin-key-0123456789\n",
        one_group(&mock, "")
    );
    let gw = Gateway::start(&yaml);
    assert_eq!(gw.get("/model/info").status, 401);
    let auth = [("authorization", "Bearer sk-admin-key-0123456789")];
    for path in ["/model/info", "/v1/model/info", "/v2/model/info"] {
        let r = gw.get_with(path, &auth);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let data = r.json()["data"].as_array().unwrap().clone();
        assert!(!data.is_empty());
        for d in &data {
            assert!(d["model_info"]["id"].is_string());
            assert!(d["litellm_params"]["model"].is_string());
            assert!(d["litellm_params"].get("api_key").is_none());
        }
        assert!(
            !r.text.contains("sk-upstream-secret"),
            "no upstream key in {path}"
        );
    }
    let all = gw.get_with("/model/info", &auth).json();
    let id = all["data"][0]["model_info"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let one = gw
        .get_with(&format!("/model/info?litellm_model_id={id}"), &auth)
        .json();
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    assert_eq!(one["data"][0]["model_info"]["id"], id.as_str());
}
