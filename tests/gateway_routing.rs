//! Router semantics against scripted upstreams: retries, retry_policy classes, cooldowns,
//! weights, rpm limits, fallbacks, context-window fallbacks.

mod common;

use std::time::{Duration, Instant};

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::json;

fn chat(model: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello!"}]})
}

fn deployment(group: &str, id: &str, mock: &MockUpstream, extra: &str) -> String {
    format!(
        "  - model_name: {group}\n    litellm_params:\n      model: openai/{id}-upstream\n      api_key: sk-{id}\n      api_base: {}\n{extra}    model_info:\n      id: {id}\n",
        mock.base_url()
    )
}

#[test]
fn a_retry_goes_to_the_other_deployment() {
    let (bad, good) = (MockUpstream::start(), MockUpstream::start());
    bad.set_default(Reply::error(500, "boom"));
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  num_retries: 2\n  disable_cooldowns: true\n",
        deployment("g", "bad", &bad, ""),
        deployment("g", "good", &good, "")
    );
    let gw = Gateway::start(&yaml);
    let started = Instant::now();
    for _ in 0..30 {
        let r = gw.post("/v1/chat/completions", &chat("g"));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("x-litellm-model-id"), Some("good"));
    }
    assert!(
        bad.count() <= 30,
        "the failing deployment is never retried while the other is healthy: {}",
        bad.count()
    );
    assert!(
        bad.count() > 0,
        "the shuffle did pick the bad deployment sometimes"
    );
    assert_eq!(good.count(), 30);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no backoff when another deployment is healthy"
    );
}

/// One group of two deployments on one mock, cooldowns off, a policy for every class.
fn policy_gateway(mock: &MockUpstream) -> Gateway {
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  disable_cooldowns: true\n  timeout: 0.5\n  retry_policy:\n    BadRequestErrorRetries: 1\n    AuthenticationErrorRetries: 0\n    TimeoutErrorRetries: 1\n    RateLimitErrorRetries: 2\n    ContentPolicyViolationErrorRetries: 0\n    InternalServerErrorRetries: 1\n    ServiceUnavailableErrorRetries: 3\n",
        deployment("g", "one", mock, ""),
        deployment("g", "two", mock, "")
    );
    Gateway::start(&yaml)
}

#[test]
fn each_retry_policy_class_gets_its_own_retry_count() {
    let mock = MockUpstream::start();
    let gw = policy_gateway(&mock);
    let content_policy = Reply::Error {
        status: 400,
        message: "Your request was rejected by our content_policy_violation filter".into(),
        err_type: "invalid_request_error".into(),
        code: Some("content_policy_violation".into()),
        retry_after: None,
    };
    let cases: Vec<(&str, Reply, usize, u16)> = vec![
        ("BadRequest", Reply::error(400, "bad field"), 2, 400),
        ("Authentication", Reply::error(401, "bad key"), 1, 401),
        ("RateLimit", Reply::rate_limited(None), 3, 429),
        ("ContentPolicyViolation", content_policy, 1, 400),
        ("InternalServer", Reply::error(500, "oops"), 2, 500),
        (
            "ServiceUnavailable",
            Reply::error(503, "overloaded"),
            4,
            503,
        ),
        ("Timeout", Reply::Hang, 2, 408),
    ];
    for (class, reply, calls, status) in cases {
        mock.reset();
        mock.set_default(reply);
        let r = gw.post("/v1/chat/completions", &chat("g"));
        assert_eq!(r.status, status, "{class}: {}", r.text);
        assert_eq!(mock.count(), calls, "{class}: upstream calls");
        assert_eq!(r.json()["error"]["code"], status.to_string(), "{class}");
    }
}

#[test]
fn without_a_policy_client_errors_are_not_retried_and_server_errors_are() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  num_retries: 2\n  disable_cooldowns: true\n",
        deployment("g", "one", &mock, ""),
        deployment("g", "two", &mock, "")
    );
    let gw = Gateway::start(&yaml);
    mock.set_default(Reply::error(400, "bad"));
    assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 400);
    assert_eq!(mock.count(), 1);
    mock.reset();
    mock.set_default(Reply::error(502, "bad gateway"));
    assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 502);
    assert_eq!(mock.count(), 3);
    mock.reset();
    mock.set_default(Reply::chat("fine"));
    mock.script(vec![Reply::error(500, "once")]);
    let r = gw.post("/v1/chat/completions", &chat("g"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-litellm-attempted-retries"), Some("1"));
    mock.reset();
    mock.set_default(Reply::error(500, "always"));
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("g"),
        &[("x-litellm-num-retries", "0")],
    );
    assert_eq!(r.status, 500);
    assert_eq!(mock.count(), 1, "the request's own num_retries wins");
}

#[test]
fn a_rate_limited_deployment_cools_down_and_comes_back() {
    let (a, b) = (MockUpstream::start(), MockUpstream::start());
    a.set_default(Reply::rate_limited(None));
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  cooldown_time: 1\n  num_retries: 1\n",
        deployment("g", "a", &a, ""),
        deployment("g", "b", &b, "")
    );
    let gw = Gateway::start(&yaml);
    for _ in 0..40 {
        assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 200);
        if a.count() > 0 {
            break;
        }
    }
    assert_eq!(a.count(), 1, "a was picked once");
    let ready = gw.get("/health/readiness").json();
    assert_eq!(ready["deployments_cooling_down"], json!(["a"]));
    for _ in 0..20 {
        assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 200);
    }
    assert_eq!(a.count(), 1, "a cooling deployment gets no traffic");
    a.set_default(Reply::chat("back"));
    std::thread::sleep(Duration::from_millis(1300));
    for _ in 0..30 {
        assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 200);
    }
    assert!(
        a.count() > 3,
        "after the cooldown a serves again: {}",
        a.count()
    );
    assert!(gw.logs().contains("deployment cooling down"));
}

#[test]
fn every_deployment_cooling_down_is_a_429_with_retry_after() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::error(401, "revoked key"));
    let yaml = format!(
        "model_list:\n{}router_settings:\n  cooldown_time: 30\n",
        deployment("g", "only", &mock, "")
    );
    let gw = Gateway::start(&yaml);
    assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 401);
    let r = gw.post("/v1/chat/completions", &chat("g"));
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.json()["error"]["type"], "all_deployments_in_cooldown");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("only"));
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((28..=30).contains(&retry), "{retry}");
    assert_eq!(mock.count(), 1, "no upstream call while cooling down");
}

#[test]
fn allowed_fails_counts_failures_before_cooling() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::error(500, "flaky"));
    let other = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  num_retries: 0\n  allowed_fails: 2\n  cooldown_time: 30\n  routing_strategy: least-busy\n",
        deployment("g", "flaky", &mock, ""),
        deployment("g", "steady", &other, "")
    );
    let gw = Gateway::start(&yaml);
    // least-busy ties go to the first deployment: flaky takes every request until it cools.
    for _ in 0..3 {
        assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 500);
    }
    assert_eq!(mock.count(), 3);
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("g")).status,
        200,
        "cooled after the third failure"
    );
    assert_eq!(mock.count(), 3);
}

#[test]
fn weights_split_traffic_three_to_one() {
    let (heavy, light) = (MockUpstream::start(), MockUpstream::start());
    let yaml = format!(
        "model_list:\n{}{}",
        deployment("g", "heavy", &heavy, "      weight: 3\n"),
        deployment("g", "light", &light, "      weight: 1\n")
    );
    let gw = Gateway::start(&yaml);
    for _ in 0..200 {
        assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 200);
    }
    assert!(
        (120..=180).contains(&heavy.count()),
        "heavy got {} of 200",
        heavy.count()
    );
    assert_eq!(heavy.count() + light.count(), 200);
}

#[test]
fn an_rpm_limit_holds() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}",
        deployment("g", "limited", &mock, "      rpm: 3\n")
    );
    let gw = Gateway::start(&yaml);
    let statuses: Vec<u16> = (0..5)
        .map(|_| gw.post("/v1/chat/completions", &chat("g")).status)
        .collect();
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    let r = gw.post("/v1/chat/completions", &chat("g"));
    assert_eq!(r.json()["error"]["type"], "rate_limit_error");
    assert!(r.header("retry-after").is_some());
    assert_eq!(mock.count(), 3);
}

#[test]
fn fallbacks_chain_from_group_to_group() {
    let (gpt, claude, gemini) = (
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
    );
    gpt.set_default(Reply::error(503, "gpt down"));
    claude.set_default(Reply::error(503, "claude down"));
    gemini.set_default(Reply::chat("gemini here"));
    let yaml = format!(
        "model_list:\n{}{}{}router_settings:\n  num_retries: 0\n  fallbacks:\n    - gpt-4o: [claude-3-5-sonnet]\n    - claude-3-5-sonnet: [gemini-2.0-flash]\n",
        deployment("gpt-4o", "gpt", &gpt, ""),
        deployment("claude-3-5-sonnet", "claude", &claude, ""),
        deployment("gemini-2.0-flash", "gemini", &gemini, "")
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post("/v1/chat/completions", &chat("gpt-4o"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-litellm-attempted-fallbacks"), Some("2"));
    assert_eq!(r.header("x-litellm-model-group"), Some("gemini-2.0-flash"));
    assert_eq!(
        r.json()["model"],
        "gemini-upstream",
        "after a fallback the body names the upstream model, as LiteLLM does"
    );
    assert_eq!((gpt.count(), claude.count(), gemini.count()), (1, 1, 1));

    let off = gw.post("/v1/chat/completions", &json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "disable_fallbacks": true}));
    assert_eq!(off.status, 503);

    gemini.set_default(Reply::error(503, "gemini down"));
    let all = gw.post("/v1/chat/completions", &chat("gpt-4o"));
    assert_eq!(all.status, 503, "the original group's error");
    let msg = all.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("gpt down")
            && msg.contains("Fallbacks also failed")
            && msg.contains("gemini down"),
        "{msg}"
    );
}

#[test]
fn retries_then_fallback_with_backoff_on_a_single_deployment() {
    let (a, b) = (MockUpstream::start(), MockUpstream::start());
    a.set_default(Reply::error(500, "a down"));
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  num_retries: 1\n  fallbacks:\n    - small: [big]\n",
        deployment("small", "a", &a, ""),
        deployment("big", "b", &b, "")
    );
    let gw = Gateway::start(&yaml);
    let started = Instant::now();
    let r = gw.post("/v1/chat/completions", &chat("small"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(a.count(), 2, "one retry on the lone deployment");
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "a lone deployment backs off before its retry"
    );
    assert_eq!(r.header("x-litellm-attempted-fallbacks"), Some("1"));
    assert_eq!(r.header("x-litellm-attempted-retries"), Some("0"));
}

#[test]
fn context_window_errors_go_to_the_bigger_model_at_once() {
    let (small, big, other) = (
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
    );
    small.set_default(Reply::context_window());
    let yaml = format!(
        "model_list:\n{}{}{}router_settings:\n  num_retries: 3\n  fallbacks:\n    - small: [other]\n  context_window_fallbacks:\n    - small: big\n",
        deployment("small", "s", &small, ""),
        deployment("big", "b", &big, ""),
        deployment("other", "o", &other, "")
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post("/v1/chat/completions", &chat("small"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-litellm-model-group"), Some("big"));
    assert_eq!(
        (small.count(), big.count(), other.count()),
        (1, 1, 0),
        "not retried, and not the generic fallback"
    );
}

#[test]
fn request_level_fallbacks_replace_the_configured_ones() {
    let (a, b, c) = (
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
    );
    a.set_default(Reply::error(503, "down"));
    let yaml = format!(
        "model_list:\n{}{}{}router_settings:\n  num_retries: 0\n  fallbacks:\n    - a: [b]\n",
        deployment("a", "a", &a, ""),
        deployment("b", "b", &b, ""),
        deployment("c", "c", &c, "")
    );
    let gw = Gateway::start(&yaml);
    let body =
        json!({"model": "a", "messages": [{"role": "user", "content": "x"}], "fallbacks": ["c"]});
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((b.count(), c.count()), (0, 1));
}

#[test]
fn order_tiers_keep_the_overflow_deployment_for_last() {
    let (primary, overflow) = (MockUpstream::start(), MockUpstream::start());
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  num_retries: 0\n",
        deployment("g", "primary", &primary, "      order: 1\n"),
        deployment("g", "overflow", &overflow, "      order: 2\n")
    );
    let gw = Gateway::start(&yaml);
    for _ in 0..10 {
        assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 200);
    }
    assert_eq!(overflow.count(), 0);
    primary.set_default(Reply::error(503, "primary down"));
    let r = gw.post("/v1/chat/completions", &chat("g"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-litellm-model-id"), Some("overflow"));
    assert_eq!(r.header("x-litellm-attempted-fallbacks"), Some("1"));
}
