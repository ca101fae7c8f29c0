//! Deployments over the API (LiteLLM's `/model/new`, `/model/update`, `/model/delete`): checked
//! as strictly as the file, in service at once, behaving as file deployments do (routing,
//! cooldowns, metrics), kept across a reload; with shared state (a real redis-server) they reach
//! the other instance and survive its restart.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use std::time::Instant;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use common::redis::RedisServer;
use serde_json::{json, Value};

const KEY: &str = "sk-model-api-master-key-01";

fn auth() -> String {
    format!("Bearer {KEY}")
}

fn admin(gw: &Gateway, path: &str, body: &Value) -> (u16, Value) {
    let a = auth();
    let r = gw.post_with(path, body, &[("authorization", a.as_str())]);
    (
        r.status,
        serde_json::from_str(&r.text).unwrap_or(Value::Null),
    )
}

fn ask(gw: &Gateway, model: &str) -> u16 {
    common::chat_status(gw, KEY, model)
}

fn models(gw: &Gateway) -> Vec<String> {
    common::model_ids(gw, KEY)
}

fn new_body(group: &str, id: &str, up: &MockUpstream) -> Value {
    json!({
        "model_name": group,
        "litellm_params": {"model": "hosted_vllm/Qwen/Qwen3-0.6B", "api_base": up.base_url(), "api_key": "sk-backend-secret-0123456789"},
        "model_info": {"id": id},
    })
}

fn wait_for(what: &str, ok: impl FnMut() -> bool) {
    common::wait_until(what, 10, ok);
}

fn file_config(up: &MockUpstream, extra: &str) -> String {
    format!(
        "model_list:\n  - model_name: pool\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\n    model_info: {{id: file-1}}\nrouter_settings:\n  num_retries: 1\n  cooldown_time: 60\n{extra}litellm_settings:\n  callbacks: [prometheus]\ngeneral_settings:\n  master_key: {KEY}\n",
        up.base_url()
    )
}

#[test]
fn a_deployment_added_over_the_api_serves_like_one_from_the_file() {
    let (file_up, api_up, moved) = (
        MockUpstream::start(),
        MockUpstream::start(),
        MockUpstream::start(),
    );
    file_up.set_default(Reply::rate_limited(None));
    api_up.set_default(Reply::chat("from the api deployment"));
    moved.set_default(Reply::chat("moved"));
    let gw = Gateway::start(&file_config(&file_up, ""));

    // Joins the file's group: the file deployment's 429 cools it down, the API one answers.
    let (status, body) = admin(&gw, "/model/new", &new_body("pool", "api-1", &api_up));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_id"], "api-1");
    assert!(body["scope"]
        .as_str()
        .unwrap()
        .starts_with("this instance only"));
    assert!(
        body["litellm_params"].get("api_key").is_none(),
        "keys are not echoed"
    );
    assert!(!body.to_string().contains("sk-backend-secret"));
    assert_eq!(body["config_generation"], 2);
    for _ in 0..8 {
        assert_eq!(ask(&gw, "pool"), 200);
    }
    assert_eq!(
        file_up.requests().len(),
        1,
        "the file deployment cooled down after its 429"
    );
    assert!(api_up.requests().len() >= 7);
    let a = auth();
    let info = gw
        .get_with("/model/info", &[("authorization", a.as_str())])
        .json();
    let api_row = info["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["model_info"]["id"] == "api-1")
        .unwrap()
        .clone();
    assert_eq!(api_row["model_info"]["db_model"], true);
    let metrics = gw
        .get_with("/metrics", &[("authorization", a.as_str())])
        .text;
    assert!(
        metrics.lines().any(
            |l| l.starts_with("litellm_deployment_success_responses_total{")
                && l.contains("model_id=\"api-1\"")
        ),
        "{metrics}"
    );
    // A new group of its own is listed.
    assert_eq!(
        admin(&gw, "/model/new", &new_body("solo", "solo-1", &api_up)).0,
        200
    );
    assert!(models(&gw).contains(&"solo".to_string()));
    assert_eq!(ask(&gw, "solo"), 200);

    // As strict as the file, with the body's own field paths.
    let mut bad = new_body("pool", "bad-1", &api_up);
    bad["litellm_params"]["rpm"] = json!(-1);
    let (status, body) = admin(&gw, "/model/new", &bad);
    assert_eq!(status, 400, "{body}");
    let paths: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"litellm_params.rpm"), "{paths:?}");
    let (status, body) = admin(&gw, "/model/new", &json!({"model_name": "x"}));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "litellm_params");
    let (status, _) = admin(&gw, "/model/new", &new_body("pool", "api-1", &api_up));
    assert_eq!(status, 400, "the id exists already");
    assert_eq!(
        gw.post("/model/new", &new_body("pool", "x-1", &api_up))
            .status,
        401
    );

    // Update moves it to another server; a reload of the file keeps it.
    let (status, body) = admin(
        &gw,
        "/model/update",
        &json!({"model_info": {"id": "solo-1"}, "litellm_params": {"api_base": moved.base_url()}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(ask(&gw, "solo"), 200);
    assert_eq!(moved.requests().len(), 1);
    assert_eq!(admin(&gw, "/config/reload", &json!({})).0, 200);
    assert_eq!(ask(&gw, "solo"), 200);
    assert_eq!(
        moved.requests().len(),
        2,
        "the reload kept the API deployment"
    );

    // Delete: gone at once; the file's own deployments are the file's.
    assert_eq!(admin(&gw, "/model/delete", &json!({"id": "solo-1"})).0, 200);
    assert_eq!(ask(&gw, "solo"), 400);
    assert!(!models(&gw).contains(&"solo".to_string()));
    let (status, body) = admin(&gw, "/model/delete", &json!({"id": "file-1"}));
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("config file"));
    assert_eq!(admin(&gw, "/model/delete", &json!({"id": "nope"})).0, 404);
}

#[test]
fn with_shared_state_a_deployment_reaches_every_instance_and_survives_a_restart() {
    let redis = RedisServer::start(None);
    let (file_up, api_up) = (MockUpstream::start(), MockUpstream::start());
    file_up.set_default(Reply::chat("file"));
    api_up.set_default(Reply::chat("api"));
    let shared = format!(
        "router_settings:\n  redis_host: 127.0.0.1\n  redis_port: {}\n",
        redis.port
    );
    // The file's router_settings come first: the shared state's keys join them.
    let yaml = file_config(&file_up, "").replace("router_settings:\n", &shared);
    let a = Gateway::start(&yaml);
    let mut b = Gateway::start(&yaml);
    let (status, body) = admin(
        &a,
        "/model/new",
        &new_body("shared-group", "shared-1", &api_up),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "cluster");
    let added = Instant::now();
    wait_for("instance b to take the new deployment", || {
        models(&b).contains(&"shared-group".to_string())
    });
    eprintln!(
        "instance b served the new group {:?} after it was added on a",
        added.elapsed()
    );
    assert_eq!(ask(&b, "shared-group"), 200);
    // b restarts: the deployment is still there.
    b.restart();
    assert!(models(&b).contains(&"shared-group".to_string()));
    assert_eq!(ask(&b, "shared-group"), 200);
    // Deleted on b: gone from a too.
    assert_eq!(
        admin(&b, "/model/delete", &json!({"id": "shared-1"})).0,
        200
    );
    wait_for("instance a to drop the deleted deployment", || {
        !models(&a).contains(&"shared-group".to_string())
    });
    assert_eq!(ask(&a, "shared-group"), 400);
}
