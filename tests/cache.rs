//! The response cache against a real redis-server (and the in-process LRU): keys, TTLs,
//! per-request controls, streams, embeddings, two instances sharing Redis, Redis outages.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing)]

mod common;

use common::stream_content as content;

use std::time::{Duration, Instant};

use common::gateway::{Gateway, Resp};
use common::mock::{MockUpstream, Reply};
use common::redis::RedisServer;
use serde_json::{json, Value};

fn redis_params(r: &RedisServer, extra: &str) -> String {
    let password = r
        .password
        .as_deref()
        .map(|p| format!("    password: {p}\n"))
        .unwrap_or_default();
    format!(
        "    type: redis\n    host: 127.0.0.1\n    port: {}\n{password}{extra}",
        r.port
    )
}

fn config(mock: &MockUpstream, cache_params: &str) -> String {
    format!(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-up, api_base: '{0}'}}\n  - model_name: emb\n    litellm_params: {{model: openai/text-embedding-3-small, api_key: sk-up, api_base: '{0}'}}\nlitellm_settings:\n  cache: true\n  cache_params:\n{cache_params}",
        mock.base_url()
    )
}

fn chat(prompt: &str) -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]})
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn cache_header(r: &Resp) -> Option<&str> {
    r.header("x-switchyard-cache")
}

/// Stores are written after the answer; wait until Redis holds `n` keys.
fn wait_keys(redis: &RedisServer, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let keys = redis.keys();
        if keys.len() >= n || Instant::now() > deadline {
            assert_eq!(keys.len(), n, "keys in Redis: {keys:?}");
            return keys;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn readiness_cache(gw: &Gateway) -> Value {
    gw.get("/health/readiness").json()["cache_health"].clone()
}

fn wait_cache_status(gw: &Gateway, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while readiness_cache(gw)["status"] != status {
        assert!(
            Instant::now() < deadline,
            "cache never became {status}: {}",
            readiness_cache(gw)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn output_changing_fields_change_the_key_and_the_others_do_not() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let gw = Gateway::start(&config(
        &mock,
        &redis_params(&redis, "    namespace: swy\n"),
    ));
    let first = gw.post("/v1/chat/completions", &chat("What is Rust?"));
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(cache_header(&first), Some("miss"));
    let keys = wait_keys(&redis, 1);
    assert!(keys[0].starts_with("swy:"), "{keys:?}");

    let same = json!({"messages": [{"content": "What is Rust?", "role": "user"}], "model": "gpt-4o",
                      "user": "someone", "metadata": {"team": "a"}, "stream_options": {"include_usage": true}});
    let hit = gw.post("/v1/chat/completions", &same);
    assert_eq!(hit.status, 200, "{}", hit.text);
    assert_eq!(
        cache_header(&hit),
        Some("hit"),
        "key order, user, metadata do not change the key"
    );
    assert_eq!(hit.header("x-litellm-cache-key"), Some(keys[0].as_str()));
    assert_eq!(hit.json()["model"], "gpt-4o");
    assert_eq!(
        hit.json()["choices"][0]["message"]["content"],
        "hello from mock"
    );
    assert_eq!(
        hit.json()["usage"]["prompt_tokens"],
        10,
        "usage is reported on a hit"
    );
    assert_eq!(mock.count(), 1);

    let variants = [
        with(chat("What is Rust?"), "temperature", json!(0.2)),
        with(chat("What is Rust?"), "max_tokens", json!(5)),
        with(chat("What is Rust?"), "seed", json!(7)),
        with(chat("What is Rust?"), "n", json!(2)),
        with(chat("What is Rust?"), "stop", json!(["\n"])),
        with(
            chat("What is Rust?"),
            "response_format",
            json!({"type": "json_object"}),
        ),
        with(
            chat("What is Rust?"),
            "tools",
            json!([{"type": "function", "function": {"name": "f", "parameters": {}}}]),
        ),
        chat("What is Go?"),
    ];
    for (i, v) in variants.iter().enumerate() {
        let r = gw.post("/v1/chat/completions", v);
        assert_eq!(cache_header(&r), Some("miss"), "variant {i} must miss: {v}");
        assert_eq!(mock.count(), 2 + i);
    }
}

#[test]
fn entries_expire_after_their_ttl() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let gw = Gateway::start(&config(&mock, &redis_params(&redis, "    ttl: 1\n")));
    gw.post("/v1/chat/completions", &chat("ttl"));
    wait_keys(&redis, 1);
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &chat("ttl"))),
        Some("hit")
    );
    std::thread::sleep(Duration::from_millis(1300));
    assert!(redis.keys().is_empty(), "Redis expired the entry");
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &chat("ttl"))),
        Some("miss")
    );
    assert_eq!(mock.count(), 2);
}

#[test]
fn per_request_controls_work_like_litellm() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let gw = Gateway::start(&config(
        &mock,
        &redis_params(&redis, "    namespace: swy\n"),
    ));
    let post = |body: &Value| gw.post("/v1/chat/completions", body);

    // no-cache: skips the lookup, still stores the fresh answer.
    post(&chat("a"));
    wait_keys(&redis, 1);
    let r = post(&with(chat("a"), "cache", json!({"no-cache": true})));
    assert_eq!(cache_header(&r), Some("miss"));
    assert_eq!(mock.count(), 2);
    assert_eq!(cache_header(&post(&chat("a"))), Some("hit"));

    // no-store: answered, never stored.
    let r = post(&with(chat("b"), "cache", json!({"no-store": true})));
    assert_eq!(r.status, 200);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(redis.keys().len(), 1);
    assert_eq!(cache_header(&post(&chat("b"))), Some("miss"));
    wait_keys(&redis, 2);

    // ttl: this entry lives 1 s instead of the configured 60 s.
    post(&with(chat("c"), "cache", json!({"ttl": 1})));
    let keys = wait_keys(&redis, 3);
    let c_key = keys
        .iter()
        .find(|k| redis.command(&["PTTL", k]).unwrap().parse::<i64>().unwrap() <= 1000)
        .cloned();
    assert!(c_key.is_some(), "one key carries the request's 1 s TTL");

    // s-maxage: only entries younger than N seconds count.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        cache_header(&post(&with(chat("a"), "cache", json!({"s-maxage": 0.1})))),
        Some("miss")
    );
    assert_eq!(
        cache_header(&post(&with(chat("a"), "cache", json!({"s-maxage": 600})))),
        Some("hit")
    );

    // namespace: a separate key space, under the configured prefix.
    let before = mock.count();
    let r = post(&with(chat("a"), "cache", json!({"namespace": "team-b"})));
    assert_eq!(cache_header(&r), Some("miss"));
    assert_eq!(mock.count(), before + 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !redis.keys().iter().any(|k| k.starts_with("swy:team-b:")) {
        assert!(Instant::now() < deadline, "{:?}", redis.keys());
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = post(&with(chat("a"), "cache", json!({"namespace": "team-b"})));
    assert_eq!(cache_header(&r), Some("hit"));
    assert!(r
        .header("x-litellm-cache-key")
        .unwrap()
        .starts_with("swy:team-b:"));

    // A malformed control is a 400, not a silent default.
    let r = post(&with(chat("a"), "cache", json!({"ttl": "soon"})));
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["param"], "cache");
}

#[test]
fn default_off_caches_only_requests_that_opt_in() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let gw = Gateway::start(&config(
        &mock,
        &redis_params(&redis, "    mode: default_off\n"),
    ));
    for _ in 0..2 {
        let r = gw.post("/v1/chat/completions", &chat("plain"));
        assert_eq!(r.status, 200);
        assert_eq!(cache_header(&r), None);
    }
    assert_eq!(mock.count(), 2);
    let opt_in = with(chat("plain"), "cache", json!({"use-cache": true}));
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &opt_in)),
        Some("miss")
    );
    wait_keys(&redis, 1);
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &opt_in)),
        Some("hit")
    );
    assert_eq!(mock.count(), 3);
}

#[test]
fn a_streamed_miss_is_relayed_live_then_served_to_streams_and_plain_requests() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: vec!["Hello ".into(), "there ".into(), "friend".into()],
        delay_ms: 10,
        cut_after: None,
    });
    let gw = Gateway::start(&config(&mock, &redis_params(&redis, "")));
    let body = with(chat("stream me"), "stream", json!(true));
    let s = gw.post_stream("/v1/chat/completions", &body, &[]);
    assert_eq!(s.header("x-switchyard-cache"), Some("miss"));
    let events = s.collect_all();
    assert_eq!(content(&events), "Hello there friend");
    assert!(
        !events.iter().any(|e| e.contains("\"usage\"")),
        "usage the client did not ask for stays hidden"
    );
    wait_keys(&redis, 1);

    let with_usage = with(
        body.clone(),
        "stream_options",
        json!({"include_usage": true}),
    );
    let s = gw.post_stream("/v1/chat/completions", &with_usage, &[]);
    assert_eq!(s.status, 200);
    assert_eq!(s.header("x-switchyard-cache"), Some("hit"));
    assert!(s
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let events = s.collect_all();
    assert_eq!(content(&events), "Hello there friend");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str(e).ok())
        .collect();
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk" && c["model"] == "gpt-4o"));
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "stop"));
    assert!(
        chunks
            .iter()
            .any(|c| c["usage"]["total_tokens"].as_u64().is_some()),
        "usage chunk when asked"
    );

    let plain = gw.post("/v1/chat/completions", &chat("stream me"));
    assert_eq!(cache_header(&plain), Some("hit"));
    assert_eq!(plain.json()["object"], "chat.completion");
    assert_eq!(
        plain.json()["choices"][0]["message"]["content"],
        "Hello there friend"
    );
    assert_eq!(mock.count(), 1);
}

#[test]
fn embeddings_are_cached_item_by_item() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    mock.set_default(Reply::Embedding { dims: 4 });
    let gw = Gateway::start(&config(&mock, &redis_params(&redis, "")));
    let firsts = |r: &Resp| -> Vec<f64> {
        r.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["embedding"][0].as_f64().unwrap())
            .collect()
    };
    let body = json!({"model": "emb", "input": ["one", "three"]});
    let r = gw.post("/v1/embeddings", &body);
    assert_eq!(cache_header(&r), Some("miss"));
    assert_eq!(firsts(&r), vec![3.0, 5.0]);
    wait_keys(&redis, 2);
    let hit = gw.post("/v1/embeddings", &body);
    assert_eq!(cache_header(&hit), Some("hit"));
    assert_eq!(firsts(&hit), vec![3.0, 5.0]);
    assert_eq!(hit.json()["model"], "emb");
    assert_eq!(hit.json()["data"][1]["index"], 1);
    // A single string is the same item as a one-item list.
    assert_eq!(
        cache_header(&gw.post("/v1/embeddings", &json!({"model": "emb", "input": "three"}))),
        Some("hit")
    );
    assert_eq!(mock.count(), 1);

    // A batch mixing known and new items sends only the new ones, answered in the client's order.
    let mixed = gw.post(
        "/v1/embeddings",
        &json!({"model": "emb", "input": ["three", "seventeen", "one", "hi"]}),
    );
    assert_eq!(mixed.status, 200, "{}", mixed.text);
    assert_eq!(cache_header(&mixed), Some("partial"));
    assert_eq!(firsts(&mixed), vec![5.0, 9.0, 3.0, 2.0]);
    assert_eq!(mock.count(), 2);
    assert_eq!(mock.requests()[1].body["input"], json!(["seventeen", "hi"]));
    wait_keys(&redis, 4);
    let all = gw.post(
        "/v1/embeddings",
        &json!({"model": "emb", "input": ["hi", "seventeen"]}),
    );
    assert_eq!(
        (cache_header(&all), firsts(&all)),
        (Some("hit"), vec![2.0, 9.0])
    );
    assert_eq!(mock.count(), 2);
}

#[test]
fn two_instances_share_one_password_protected_redis() {
    let redis = RedisServer::start(Some("s3cret-redis-pass"));
    let mock = MockUpstream::start();
    let cfg = config(&mock, &redis_params(&redis, ""));
    let (a, b) = (Gateway::start(&cfg), Gateway::start(&cfg));
    let r = a.post("/v1/chat/completions", &chat("shared"));
    assert_eq!(cache_header(&r), Some("miss"));
    wait_keys(&redis, 1);
    let r = b.post("/v1/chat/completions", &chat("shared"));
    assert_eq!(cache_header(&r), Some("hit"), "{}", b.logs());
    assert_ne!(a.port, b.port);
    assert_eq!(mock.count(), 1);
    assert_eq!(readiness_cache(&b)["hits"], 1);
    assert_eq!(readiness_cache(&a)["stores"], 1);
}

#[test]
fn a_wrong_redis_password_degrades_the_cache_not_the_requests() {
    let redis = RedisServer::start(Some("right-password-123"));
    let mock = MockUpstream::start();
    let params = format!(
        "    type: redis\n    host: 127.0.0.1\n    port: {}\n    password: wrong-password-456\n",
        redis.port
    );
    let gw = Gateway::start(&config(&mock, &params));
    for i in 0..3 {
        let r = gw.post("/v1/chat/completions", &chat(&format!("q{i}")));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    wait_cache_status(&gw, "degraded");
    assert_eq!(
        gw.get("/health/readiness").status,
        200,
        "a cache outage does not take the instance out"
    );
    let logs = gw.logs();
    assert!(
        !logs.contains("wrong-password-456"),
        "the password never reaches the logs"
    );
    assert!(!gw
        .get("/health/readiness")
        .text
        .contains("wrong-password-456"));
}

#[test]
fn killing_redis_never_fails_a_request_and_the_cache_recovers() {
    let mut redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let gw = Gateway::start(&config(
        &mock,
        &redis_params(&redis, "    socket_timeout: 0.2\n"),
    ));
    gw.post("/v1/chat/completions", &chat("before"));
    wait_keys(&redis, 1);
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &chat("before"))),
        Some("hit")
    );
    assert_eq!(readiness_cache(&gw)["status"], "healthy");

    redis.kill();
    let started = Instant::now();
    for i in 0..40 {
        let r = gw.post("/v1/chat/completions", &chat(&format!("during {i}")));
        assert_eq!(r.status, 200, "request {i} during the outage: {}", r.text);
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "an outage must not stall requests"
    );
    wait_cache_status(&gw, "degraded");
    let warnings = gw.logs().matches("response cache unreachable").count();
    assert_eq!(
        warnings,
        1,
        "one warning per outage, not per request:\n{}",
        gw.logs()
    );

    redis.restart();
    wait_cache_status(&gw, "healthy");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        gw.post("/v1/chat/completions", &chat("after"));
        if !redis.keys().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cache never stored again after Redis came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_keys(&redis, 1);
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &chat("after"))),
        Some("hit")
    );
    assert!(gw.logs().contains("response cache reachable again"));
}

#[test]
fn the_local_cache_is_bounded_and_evicts_the_least_recently_used() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&config(
        &mock,
        "    type: local\n    max_size_in_memory: 2\n",
    ));
    let post =
        |p: &str| cache_header(&gw.post("/v1/chat/completions", &chat(p))).map(str::to_string);
    assert_eq!(post("a").as_deref(), Some("miss"));
    assert_eq!(post("b").as_deref(), Some("miss"));
    assert_eq!(post("a").as_deref(), Some("hit"));
    assert_eq!(post("c").as_deref(), Some("miss"));
    assert_eq!(readiness_cache(&gw)["entries"], 2);
    assert_eq!(
        post("b").as_deref(),
        Some("miss"),
        "b was the least recently used"
    );
    assert_eq!(post("c").as_deref(), Some("hit"));
    assert_eq!(readiness_cache(&gw)["type"], "local");
}

#[test]
fn cache_true_without_redis_is_the_in_process_cache() {
    let mock = MockUpstream::start();
    let yaml = format!(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-up, api_base: '{}'}}\nlitellm_settings:\n  cache: true\n",
        mock.base_url()
    );
    let gw = Gateway::start_with(&yaml, &[("REDIS_HOST", "")], &[]);
    gw.post("/v1/chat/completions", &chat("x"));
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &chat("x"))),
        Some("hit")
    );
    assert_eq!(gw.get("/health/readiness").json()["cache"], "local");
}

#[test]
fn long_conversations_are_cached_too() {
    let mock = MockUpstream::start();
    let gw = Gateway::start(&config(&mock, "    type: local\n"));
    let turns: Vec<Value> = (0..7)
        .map(|i| json!({"role": if i % 2 == 0 { "user" } else { "assistant" }, "content": format!("turn {i}")}))
        .collect();
    let body = json!({"model": "gpt-4o", "messages": turns});
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &body)),
        Some("miss")
    );
    assert_eq!(
        cache_header(&gw.post("/v1/chat/completions", &body)),
        Some("hit"),
        "LiteLLM skips requests with more than 4 messages; Switchyard caches them"
    );
    assert_eq!(mock.count(), 1);
}
