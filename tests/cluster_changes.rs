//! The "done when": a running cluster (the repository's nginx, two instances, a real
//! redis-server) takes a config change (SIGHUP on both), a new deployment over the API and a
//! backend joining and leaving (as slurm/backend.slurm does it: /model/new, then /model/delete)
//! while a concurrent load runs through nginx, without one failed request. Prints the counts.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use common::nginx::Nginx;
use common::redis::RedisServer;
use serde_json::{json, Value};

const KEY: &str = "sk-cluster-changes-master-key";

fn deployment(id: &str, up: &MockUpstream) -> String {
    format!(
        "  - model_name: qwen\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\n    model_info: {{id: {id}}}\n",
        up.base_url()
    )
}

fn config(redis: &RedisServer, deployments: &[String]) -> String {
    format!(
        "model_list:\n{}router_settings:\n  num_retries: 2\n  redis_host: 127.0.0.1\n  redis_port: {}\ngeneral_settings:\n  master_key: {KEY}\n",
        deployments.concat(),
        redis.port
    )
}

fn generation(gw: &Gateway) -> u64 {
    gw.get("/health/readiness").json()["config_generation"]
        .as_u64()
        .unwrap()
}

fn admin(base: &str, path: &str, body: &Value) -> u16 {
    let r = ureq::post(&format!("{base}{path}"))
        .set("authorization", &format!("Bearer {KEY}"))
        .set("content-type", "application/json")
        .send_string(&body.to_string());
    match r {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("{e}"),
    }
}

fn wait_for(what: &str, ok: impl FnMut() -> bool) {
    common::wait_until(what, 15, ok);
}

#[test]
fn config_change_api_deployment_and_a_backend_joining_and_leaving_fail_no_request_under_load() {
    let redis = RedisServer::start(None);
    let ups: Vec<MockUpstream> = (0..4).map(|_| MockUpstream::start()).collect();
    for (i, up) in ups.iter().enumerate() {
        up.set_default(Reply::chat(&format!("upstream {i}")));
    }
    let (file_a, file_b, api, backend) = (&ups[0], &ups[1], &ups[2], &ups[3]);
    let first = config(&redis, &[deployment("file-a", file_a)]);
    let a = Gateway::start(&first);
    let b = Gateway::start(&first);
    let nginx = Nginx::start(&[a.port, b.port]);
    let base = nginx.base();

    // The load: four clients through nginx, each request a new conversation (no cache).
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (stop, counts, base) = (stop.clone(), counts.clone(), base.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let r = agent
                        .post(&format!("{base}/v1/chat/completions"))
                        .set("authorization", &format!("Bearer {KEY}"))
                        .set("content-type", "application/json")
                        .send_string(&json!({"model": "qwen",
                            "messages": [{"role": "user", "content": format!("client {c} request {n}")}]}).to_string());
                    let outcome = match r {
                        Ok(r) => format!("HTTP {}", r.status()),
                        Err(ureq::Error::Status(s, r)) => {
                            format!("HTTP {s}: {}", r.into_string().unwrap_or_default())
                        }
                        Err(e) => format!("transport: {e}"),
                    };
                    *counts.lock().unwrap().entry(outcome).or_default() += 1;
                }
            })
        })
        .collect();
    let served = |up: &MockUpstream| up.requests().len();
    std::thread::sleep(Duration::from_millis(500));

    // 1. A config change: a second file deployment, SIGHUP to both instances.
    let second = config(
        &redis,
        &[deployment("file-a", file_a), deployment("file-b", file_b)],
    );
    for gw in [&a, &b] {
        gw.write_config(&second);
        gw.sighup();
    }
    wait_for("both instances on generation 2", || {
        generation(&a) >= 2 && generation(&b) >= 2
    });
    wait_for("file-b to take traffic", || served(file_b) > 0);

    // 2. A deployment over the API, through nginx (one instance takes it, Redis tells the other).
    let api_body = json!({"model_name": "qwen", "model_info": {"id": "api-c"},
        "litellm_params": {"model": "hosted_vllm/Qwen/Qwen3-0.6B", "api_base": api.base_url()}});
    assert_eq!(admin(&base, "/model/new", &api_body), 200);
    wait_for("api-c to take traffic", || served(api) > 20);

    // 3. A backend joins (as backend.slurm registers) and leaves (deregistered, then stopped).
    let backend_body = json!({"model_name": "qwen", "model_info": {"id": "slurm-4711_0"},
        "litellm_params": {"model": "hosted_vllm/Qwen/Qwen3-0.6B", "api_base": backend.base_url()}});
    assert_eq!(admin(&base, "/model/new", &backend_body), 200);
    wait_for("the backend to take traffic", || served(backend) > 200);
    assert_eq!(
        admin(&base, "/model/delete", &json!({"id": "slurm-4711_0"})),
        200
    );
    // Both instances have dropped it once neither routes to it any more.
    std::thread::sleep(Duration::from_millis(1_500));
    let after_leaving = served(backend);
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(
        served(backend),
        after_leaving,
        "nothing is routed to the backend that left"
    );

    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let counts = counts.lock().unwrap().clone();
    let total: u64 = counts.values().sum();
    eprintln!(
        "load through nginx during the changes: {total} requests: {counts:?}; served by file-a {}, file-b {}, api-c {}, the backend {}",
        served(file_a),
        served(file_b),
        served(api),
        served(backend)
    );
    assert_eq!(
        counts.keys().cloned().collect::<Vec<_>>(),
        vec!["HTTP 200".to_string()],
        "every request answered 200: {counts:?}"
    );
    assert!(total > 100, "the load ran: {total}");
}
