//! Two gateway instances sharing router state through a real redis-server: a cooldown decided
//! on one holds on the other, an rpm limit holds across both, and without Redis each instance
//! keeps its own state.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use common::redis::RedisServer;
use serde_json::json;

fn chat(model: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello!"}]})
}

fn deployment(group: &str, id: &str, mock: &MockUpstream, extra: &str) -> String {
    format!(
        "  - model_name: {group}\n    litellm_params:\n      model: openai/{id}\n      api_key: sk-{id}\n      api_base: {}\n{extra}    model_info:\n      id: {id}\n",
        mock.base_url()
    )
}

fn router_redis(redis: &RedisServer) -> String {
    format!(
        "router_settings:\n  redis_host: 127.0.0.1\n  redis_port: {}\n  redis_password: {}\n",
        redis.port,
        redis.password.as_deref().unwrap_or("")
    )
}

/// Fixed minute windows: start a count well inside one, so the test never straddles two.
fn away_from_a_minute_boundary() {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        % 60.0;
    if secs > 50.0 {
        std::thread::sleep(Duration::try_from_secs_f64(61.0 - secs).unwrap());
    }
}

fn cooling(gw: &Gateway) -> Vec<String> {
    gw.get("/health/readiness").json()["deployments_cooling_down"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_cooldown_decided_on_one_instance_holds_on_the_other() {
    let redis = RedisServer::start(Some("router-state-pass"));
    let (flaky, steady) = (MockUpstream::start(), MockUpstream::start());
    flaky.set_default(Reply::rate_limited(Some(60)));
    let yaml = format!(
        "model_list:\n{}{}{}  num_retries: 1\n",
        deployment("g", "flaky", &flaky, ""),
        deployment("g", "steady", &steady, ""),
        router_redis(&redis)
    );
    let (a, b) = (Gateway::start(&yaml), Gateway::start(&yaml));
    assert_eq!(
        b.get("/health/readiness").json()["shared_state"]["status"],
        "healthy"
    );
    // Through A until the flaky deployment has answered 429 once and cooled down there.
    let deadline = Instant::now() + Duration::from_secs(10);
    while flaky.count() == 0 {
        assert!(
            Instant::now() < deadline,
            "the shuffle never picked the flaky deployment"
        );
        assert_eq!(a.post("/v1/chat/completions", &chat("g")).status, 200);
    }
    assert_eq!(cooling(&a), vec!["flaky"]);
    // Shared as a wall-clock deadline (every instance reads it on its own clock): ~60 s ahead.
    let until: u64 = redis
        .command(&["GET", "switchyard:cooldown:flaky"])
        .unwrap()
        .parse()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        until > now + 50_000 && until < now + 61_000,
        "cooldown deadline {until}, now {now}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while cooling(&b) != vec!["flaky"] {
        assert!(Instant::now() < deadline, "B never learned of A's cooldown");
        std::thread::sleep(Duration::from_millis(50));
    }
    let calls = flaky.count();
    for _ in 0..20 {
        let r = b.post("/v1/chat/completions", &chat("g"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-litellm-model-id"), Some("steady"));
    }
    assert_eq!(
        flaky.count(),
        calls,
        "B sent nothing to the deployment A cooled down"
    );
    assert!(b.logs().contains("decided by another instance"));
}

#[test]
fn an_rpm_limit_holds_across_instances() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}{}",
        deployment("g", "limited", &mock, "      rpm: 6\n"),
        router_redis(&redis)
    );
    let (a, b) = (Gateway::start(&yaml), Gateway::start(&yaml));
    away_from_a_minute_boundary();
    let mut ok = 0;
    let mut limited = 0;
    for i in 0..16 {
        let gw = if i % 2 == 0 { &a } else { &b };
        let r = gw.post("/v1/chat/completions", &chat("g"));
        match r.status {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert!(r.header("retry-after").is_some(), "{}", r.text);
            }
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    assert_eq!(
        ok, 6,
        "6 requests a minute, cluster-wide ({limited} refused)"
    );
    assert_eq!(mock.count(), 6);
    let minute = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60;
    assert!(
        redis
            .keys()
            .contains(&format!("switchyard:rpm:limited:{minute}")),
        "wall-clock minute windows: {:?}",
        redis.keys()
    );
}

#[test]
fn without_shared_redis_each_instance_counts_for_itself() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}",
        deployment("g", "limited", &mock, "      rpm: 3\n")
    );
    let (a, b) = (Gateway::start(&yaml), Gateway::start(&yaml));
    away_from_a_minute_boundary();
    let ok = (0..10)
        .map(|i| if i % 2 == 0 { &a } else { &b })
        .filter(|gw| gw.post("/v1/chat/completions", &chat("g")).status == 200)
        .count();
    assert_eq!(ok, 6, "3 per instance");
    assert!(a.get("/health/readiness").json()["shared_state"].is_null());
}

#[test]
fn a_redis_outage_falls_back_to_local_state() {
    let mut redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n{}{}",
        deployment("g", "limited", &mock, "      rpm: 100\n"),
        router_redis(&redis)
    );
    let gw = Gateway::start(&yaml);
    assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 200);
    redis.kill();
    for _ in 0..10 {
        assert_eq!(gw.post("/v1/chat/completions", &chat("g")).status, 200);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while gw.get("/health/readiness").json()["shared_state"]["status"] != "degraded" {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        gw.logs().matches("shared router state unreachable").count(),
        1
    );
}

#[test]
fn a_tpm_limit_spent_on_one_instance_holds_on_the_other() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    // The mock reports 10 prompt tokens + one per word: 13 tokens per answer here.
    mock.set_default(Reply::chat("three word answer"));
    let yaml = format!(
        "model_list:\n{}{}",
        deployment("g", "metered", &mock, "      tpm: 50\n"),
        router_redis(&redis)
    );
    let (a, b) = (Gateway::start(&yaml), Gateway::start(&yaml));
    away_from_a_minute_boundary();
    for _ in 0..4 {
        assert_eq!(a.post("/v1/chat/completions", &chat("g")).status, 200);
    }
    assert_eq!(
        a.post("/v1/chat/completions", &chat("g")).status,
        429,
        "A spent the 50 tokens"
    );
    // Token counts are known only after each answer, and instances read each other's every
    // 250 ms: once Redis holds A's count, B must refuse within a few of its sync ticks.
    let minute = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60;
    let key = format!("switchyard:tpm:metered:{minute}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis
        .command(&["GET", &key])
        .unwrap_or_default()
        .parse::<u64>()
        .unwrap_or(0)
        < 50
    {
        assert!(Instant::now() < deadline, "A never published its tokens");
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = b.post("/v1/chat/completions", &chat("g"));
        if r.status == 429 {
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(
            Instant::now() < deadline,
            "B never learned that the cluster spent the tokens"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
