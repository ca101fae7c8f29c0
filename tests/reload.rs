//! Config reload (SIGHUP, POST /config/reload, --watch): a valid config replaces the running
//! one at once, deployments that stay keep their cooldown, a stream in flight finishes on the
//! config it began with, an invalid config is refused with every problem while the old one
//! keeps serving, and readiness shows the generation.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::{json, Value};

const KEY: &str = "sk-reload-master-key-0123";

fn deployment(group: &str, id: &str, up: &MockUpstream) -> String {
    format!(
        "  - model_name: {group}\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\n    model_info: {{id: {id}}}\n",
        up.base_url()
    )
}

fn config(deployments: &[String]) -> String {
    format!(
        "model_list:\n{}router_settings:\n  num_retries: 1\n  cooldown_time: 60\ngeneral_settings:\n  master_key: {KEY}\n",
        deployments.concat()
    )
}

fn auth() -> String {
    format!("Bearer {KEY}")
}

fn ask(gw: &Gateway, model: &str) -> u16 {
    common::chat_status(gw, KEY, model)
}

fn readiness(gw: &Gateway) -> Value {
    let a = auth();
    gw.get_with("/health/readiness", &[("authorization", a.as_str())])
        .json()
}

fn reload(gw: &Gateway) -> (u16, Value) {
    let a = auth();
    let r = gw.post_with(
        "/config/reload",
        &json!({}),
        &[("authorization", a.as_str())],
    );
    (
        r.status,
        serde_json::from_str(&r.text).unwrap_or(Value::Null),
    )
}

fn models(gw: &Gateway) -> Vec<String> {
    common::model_ids(gw, KEY)
}

fn wait_for(what: &str, ok: impl FnMut() -> bool) {
    common::wait_until(what, 15, ok);
}

#[test]
fn a_reload_swaps_deployments_and_keeps_the_cooldown_of_those_that_stay() {
    let (a, b, c) = (
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
    );
    a.set_default(Reply::rate_limited(None));
    b.set_default(Reply::chat("from b"));
    c.set_default(Reply::chat("from c"));
    let gw = Gateway::start(&config(&[
        deployment("pool", "a", &a),
        deployment("pool", "b", &b),
    ]));
    assert_eq!(readiness(&gw)["config_generation"], 1);
    // Until a has been tried once: its 429 cools it down for 60 s, the retry goes to b.
    for _ in 0..50 {
        if !a.requests().is_empty() {
            break;
        }
        assert_eq!(ask(&gw, "pool"), 200);
    }
    assert_eq!(readiness(&gw)["deployments_cooling_down"], json!(["a"]));

    // b leaves, c joins the pool, a new group appears; a stays (same id).
    gw.write_config(&config(&[
        deployment("pool", "a", &a),
        deployment("pool", "c", &c),
        deployment("extra", "c2", &c),
    ]));
    let (status, body) = reload(&gw);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["config_generation"], 2);
    assert_eq!(body["deployments"], 3);
    let r = readiness(&gw);
    assert_eq!(r["config_generation"], 2);
    assert!(r["config_loaded_at"].as_f64().unwrap() > 1.7e9);
    assert_eq!(
        r["deployments_cooling_down"],
        json!(["a"]),
        "a kept its cooldown across the reload"
    );
    let (a_before, b_before) = (a.requests().len(), b.requests().len());
    for _ in 0..6 {
        assert_eq!(ask(&gw, "pool"), 200);
    }
    assert_eq!(a.requests().len(), a_before, "a is still cooling down");
    assert_eq!(b.requests().len(), b_before, "b is gone");
    assert_eq!(c.requests().len(), 6);
    assert_eq!(ask(&gw, "extra"), 200);
    assert!(models(&gw).contains(&"extra".to_string()));
    let a_key = auth();
    let info = gw
        .get_with("/model/info", &[("authorization", a_key.as_str())])
        .json();
    let ids: Vec<&str> = info["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["model_info"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["a", "c", "c2"]);
}

#[test]
fn a_stream_in_flight_finishes_on_the_config_it_began_with() {
    let (slow, other) = (MockUpstream::start(), MockUpstream::start());
    slow.set_default(Reply::Stream {
        chunks: (0..8).map(|i| format!("part{i} ")).collect(),
        delay_ms: 150,
        cut_after: None,
    });
    other.set_default(Reply::chat("other"));
    let gw = Gateway::start(&config(&[deployment("pool", "slow", &slow)]));
    let a = auth();
    let mut stream = gw.post_stream(
        "/v1/chat/completions",
        &json!({"model": "pool", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        &[("authorization", a.as_str())],
    );
    assert_eq!(stream.status, 200);
    assert!(stream.next_event().is_some());
    // The deployment the stream is on leaves the config.
    gw.write_config(&config(&[deployment("pool", "other", &other)]));
    assert_eq!(reload(&gw).0, 200);
    let rest = stream.collect_all();
    let text = common::stream_content(&rest);
    assert!(
        text.contains("part7"),
        "the stream went on to its end: {text}"
    );
    assert_eq!(rest.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(ask(&gw, "pool"), 200);
    assert_eq!(other.requests().len(), 1, "new requests use the new config");
}

#[test]
fn an_invalid_config_is_refused_with_every_problem_and_the_old_one_serves() {
    let up = MockUpstream::start();
    up.set_default(Reply::chat("fine"));
    let gw = Gateway::start(&config(&[deployment("pool", "one", &up)]));
    gw.write_config(&format!(
        "model_list:
  - model_name: pool
    litellm_params: {{model: hosted_vllm/x, api_base: '{}', rpm: -5}}
  - model_name: broken
    litellm_params: {{model: hosted_vllm/y, api_base: '{}', timeout: forever}}
general_settings:
  master_key: {KEY}
",
        up.base_url(),
        up.base_url()
    ));
    let (status, body) = reload(&gw);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let paths: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.contains("model_list[0]") && p.contains("rpm")),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .any(|p| p.contains("model_list[1]") && p.contains("timeout")),
        "{paths:?}"
    );
    assert_eq!(readiness(&gw)["config_generation"], 1);
    assert_eq!(ask(&gw, "pool"), 200, "the running config keeps serving");
    assert!(gw.logs().contains("config reload refused"));
    // Without the master key: no reload at all.
    let r = gw.post("/config/reload", &json!({}));
    assert_eq!(r.status, 401);
}

#[test]
fn sighup_and_watch_reload_the_file() {
    let up = MockUpstream::start();
    up.set_default(Reply::chat("fine"));
    let gw = Gateway::start_with(
        &config(&[deployment("pool", "one", &up)]),
        &[],
        &["--watch"],
    );
    gw.write_config(&config(&[
        deployment("pool", "one", &up),
        deployment("watched", "two", &up),
    ]));
    wait_for("--watch to load the new group", || {
        models(&gw).contains(&"watched".to_string())
    });
    let generation = readiness(&gw)["config_generation"].as_u64().unwrap();
    assert!(generation >= 2);
    gw.sighup();
    wait_for("SIGHUP to load a new generation", || {
        readiness(&gw)["config_generation"].as_u64().unwrap() > generation
    });
    assert!(gw.logs().contains("SIGHUP"), "{}", gw.logs());
    assert_eq!(ask(&gw, "watched"), 200);
}
