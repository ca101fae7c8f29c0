//! `/metrics`: LiteLLM's Prometheus families from a known sequence of requests (answers, a
//! stream, a cache hit, a rate-limited deployment whose group falls back, a refused request),
//! read with prometheus_client's parser and checked with `promtool check metrics`; the master
//! key guards it.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::{json, Value};

const KEY: &str = "sk-metrics-master-key-123456";

fn samples(text: &str) -> Vec<Value> {
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/parse_metrics.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with prometheus_client (tests/run.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client could not parse /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The sum of the samples named `name` whose labels include every pair of `with`.
fn total(samples: &[Value], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s["name"] == name)
        .filter(|s| with.iter().all(|(k, v)| s["labels"][*k] == *v))
        .map(|s| s["value"].as_f64().unwrap())
        .sum()
}

fn promtool_check(text: &str) {
    let found = Command::new("promtool").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "promtool is required under CI=true (apt-get install prometheus)"
        );
        eprintln!("*** SKIP promtool check: promtool is not installed ***");
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    // promtool lints names and help too; only errors that break parsing fail the check.
    assert!(
        out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("error"),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_count_a_known_sequence_of_requests_under_litellms_names() {
    let ok = MockUpstream::start();
    let limited = MockUpstream::start();
    let backup = MockUpstream::start();
    let down = MockUpstream::start();
    down.set_default(Reply::error(500, "Internal server error"));
    ok.set_default(Reply::chat("hello there"));
    limited.set_default(Reply::rate_limited(Some(1)));
    backup.set_default(Reply::chat("from the backup"));
    let yaml = format!(
        "model_list:\n  - model_name: qwen\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}', rpm: 100}}\n    model_info: {{id: qwen-1}}\n  - model_name: main\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-0123456789, api_base: '{}'}}\n    model_info: {{id: main-1}}\n  - model_name: backup\n    litellm_params: {{model: openai/gpt-4o-mini, api_key: sk-0123456789, api_base: '{}'}}\n    model_info: {{id: backup-1}}\n  - model_name: down\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-0123456789, api_base: '{}'}}\n    model_info: {{id: down-1}}\nrouter_settings:\n  num_retries: 0\n  fallbacks: [{{main: [down, backup]}}]\nlitellm_settings:\n  callbacks: [prometheus]\n  cache: true\n  cache_params: {{type: local}}\ngeneral_settings:\n  master_key: {KEY}\n",
        ok.base_url(),
        limited.base_url(),
        backup.base_url(),
        down.base_url()
    );
    let gw = Gateway::start(&yaml);
    let auth = format!("Bearer {KEY}");
    let h = [("authorization", auth.as_str())];
    let ask = |model: &str, text: &str| json!({"model": model, "messages": [{"role": "user", "content": text}]});
    // Two answers from qwen (one of them streamed), the first one again from the cache.
    assert_eq!(
        gw.post_with("/v1/chat/completions", &ask("qwen", "one"), &h)
            .status,
        200
    );
    assert_eq!(
        gw.post_with("/v1/chat/completions", &ask("qwen", "one"), &h)
            .status,
        200
    );
    let mut streamed = ask("qwen", "two");
    streamed["stream"] = json!(true);
    let r = gw.post_stream("/v1/chat/completions", &streamed, &h);
    assert_eq!(r.status, 200);
    assert!(!r.collect_all().is_empty());
    // main is rate limited, its first fallback (down) fails, the backup answers.
    let r = gw.post_with("/v1/chat/completions", &ask("main", "three"), &h);
    assert_eq!(r.status, 200, "{}", r.text);
    // Refused: an unknown model.
    assert_eq!(
        gw.post_with("/v1/chat/completions", &ask("nope", "four"), &h)
            .status,
        400
    );

    assert_eq!(
        gw.get("/metrics").status,
        401,
        "the master key guards /metrics"
    );
    let r = gw.get_with("/metrics", &h);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert_eq!(gw.get_with("/metrics/", &h).status, 200);
    promtool_check(&r.text);
    let s = samples(&r.text);
    assert!(
        total(&s, "switchyard_cache_entries", &[]) >= 1.0,
        "answers cached"
    );
    assert!(total(&s, "switchyard_cache_bytes", &[]) > 50.0);

    let proxy = "litellm_proxy_total_requests_metric_total";
    assert_eq!(total(&s, proxy, &[("status_code", "200")]), 4.0);
    assert_eq!(total(&s, proxy, &[("status_code", "400")]), 1.0);
    assert_eq!(
        total(
            &s,
            proxy,
            &[("requested_model", "qwen"), ("model_id", "qwen-1")]
        ),
        2.0
    );
    let failed = "litellm_proxy_failed_requests_metric_total";
    assert_eq!(total(&s, failed, &[("exception_status", "400")]), 1.0);
    assert_eq!(total(&s, failed, &[]), 1.0);
    for (k, v) in s.iter().find(|x| x["name"] == proxy).unwrap()["labels"]
        .as_object()
        .unwrap()
    {
        if [
            "team",
            "team_alias",
            "user_email",
            "org_id",
            "hashed_api_key",
            "end_user",
        ]
        .contains(&k.as_str())
        {
            assert_eq!(v, "None", "{k}");
        }
    }

    let success = "litellm_deployment_success_responses_total";
    assert_eq!(total(&s, success, &[("model_id", "qwen-1")]), 2.0);
    assert_eq!(
        total(
            &s,
            success,
            &[
                ("model_id", "backup-1"),
                ("requested_model", "main"),
                ("model_group", "backup")
            ]
        ),
        1.0
    );
    let failure = "litellm_deployment_failure_responses_total";
    assert_eq!(
        total(
            &s,
            failure,
            &[
                ("model_id", "main-1"),
                ("exception_status", "429"),
                ("exception_class", "Openai.RateLimitError")
            ]
        ),
        1.0
    );
    assert_eq!(
        total(
            &s,
            "litellm_deployment_total_requests_total",
            &[("model_id", "main-1")]
        ),
        1.0
    );
    assert_eq!(
        total(&s, "litellm_deployment_state", &[("model_id", "main-1")]),
        1.0
    );
    assert_eq!(
        total(
            &s,
            "litellm_deployment_state",
            &[
                ("model_id", "qwen-1"),
                ("api_provider", "hosted_vllm"),
                ("litellm_model_name", "Qwen/Qwen3-0.6B")
            ]
        ),
        0.0
    );
    assert!(s
        .iter()
        .any(|x| x["name"] == "litellm_deployment_state" && x["labels"]["model_id"] == "qwen-1"));

    assert_eq!(
        total(
            &s,
            "litellm_deployment_successful_fallbacks_total",
            &[
                ("requested_model", "main"),
                ("fallback_model", "backup"),
                ("exception_status", "429"),
                ("exception_class", "Openai.RateLimitError"),
                ("model_id", "None")
            ]
        ),
        1.0
    );
    assert_eq!(
        total(
            &s,
            "litellm_deployment_failed_fallbacks_total",
            &[
                ("requested_model", "main"),
                ("fallback_model", "down"),
                ("exception_class", "Openai.RateLimitError")
            ]
        ),
        1.0
    );
    assert_eq!(
        total(&s, "litellm_deployment_failed_fallbacks_total", &[]),
        1.0
    );
    assert_eq!(
        total(
            &s,
            "litellm_deployment_failure_responses_total",
            &[("model_id", "down-1"), ("exception_status", "500")]
        ),
        1.0
    );
    assert_eq!(
        total(
            &s,
            "litellm_deployment_rpm_limit",
            &[("model_id", "qwen-1"), ("model_group", "qwen")]
        ),
        100.0
    );
    assert_eq!(total(&s, "litellm_cache_hits_metric_total", &[]), 1.0);
    assert_eq!(total(&s, "litellm_cache_misses_metric_total", &[]), 3.0);
    // Latency: every successful request (the cache hit too) in the end-to-end histogram; the
    // upstream call for the three answers from a deployment; time to first token for the stream.
    assert_eq!(
        total(&s, "litellm_request_total_latency_metric_count", &[]),
        4.0
    );
    assert_eq!(total(&s, "litellm_llm_api_latency_metric_count", &[]), 3.0);
    assert_eq!(
        total(&s, "litellm_llm_api_time_to_first_token_metric_count", &[]),
        1.0
    );
    assert_eq!(
        total(
            &s,
            "litellm_request_total_latency_metric_bucket",
            &[("le", "+Inf")]
        ),
        4.0
    );
    assert!(
        total(
            &s,
            "litellm_total_tokens_metric_total",
            &[("model_id", "qwen-1")]
        ) > 0.0
    );
    assert!(total(&s, "litellm_output_tokens_metric_total", &[]) > 0.0);
    assert_eq!(total(&s, "switchyard_deployment_in_flight", &[]), 0.0);
    assert_eq!(total(&s, "switchyard_build_info", &[]), 1.0);
}

#[test]
fn metrics_are_off_unless_the_prometheus_callback_is_named() {
    let up = MockUpstream::start();
    let yaml = format!(
        "model_list:\n  - model_name: qwen\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\n",
        up.base_url()
    );
    let gw = Gateway::start(&yaml);
    let r = gw.get("/metrics");
    assert_eq!(r.status, 404, "{}", r.text);
    assert!(r.text.contains("litellm_settings.callbacks"), "{}", r.text);
}

#[test]
fn a_cooldown_is_counted_and_shows_as_a_complete_outage() {
    let limited = MockUpstream::start();
    let ok = MockUpstream::start();
    limited.set_default(Reply::rate_limited(None));
    ok.set_default(Reply::chat("fine"));
    let yaml = format!(
        "model_list:\n  - model_name: pair\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-0123456789, api_base: '{}'}}\n    model_info: {{id: pair-limited}}\n  - model_name: pair\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-0123456789, api_base: '{}'}}\n    model_info: {{id: pair-ok}}\nrouter_settings:\n  num_retries: 1\n  cooldown_time: 60\nlitellm_settings:\n  callbacks: [prometheus]\n",
        limited.base_url(),
        ok.base_url()
    );
    let gw = Gateway::start(&yaml);
    let ask = json!({"model": "pair", "messages": [{"role": "user", "content": "hi"}]});
    // Simple shuffle picks either; ask until the rate-limited one has been tried.
    for _ in 0..40 {
        if !limited.requests().is_empty() {
            break;
        }
        assert_eq!(gw.post("/v1/chat/completions", &ask).status, 200);
    }
    assert_eq!(limited.requests().len(), 1, "the 429 cools it down at once");
    let r = gw.get("/metrics");
    assert_eq!(r.status, 200);
    let s = samples(&r.text);
    assert_eq!(
        total(
            &s,
            "litellm_deployment_cooled_down_total",
            &[
                ("model_id", "pair-limited"),
                ("litellm_model_name", "pair"),
                ("exception_status", "429")
            ]
        ),
        1.0
    );
    assert_eq!(
        total(
            &s,
            "litellm_deployment_state",
            &[("model_id", "pair-limited")]
        ),
        2.0
    );
    assert!(
        total(
            &s,
            "switchyard_deployment_cooldown_seconds_left",
            &[("model_id", "pair-limited")]
        ) > 50.0
    );
    assert_eq!(
        total(&s, "litellm_deployment_state", &[("model_id", "pair-ok")]),
        0.0
    );
}

#[test]
fn redis_calls_the_shared_state_and_the_process_are_measured() {
    let mut redis = common::redis::RedisServer::start(None);
    let up = MockUpstream::start();
    up.set_default(Reply::chat("cached answer"));
    let yaml = format!(
        "model_list:\n  - model_name: qwen\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\n    model_info: {{id: qwen-1}}\nrouter_settings:\n  redis_host: 127.0.0.1\n  redis_port: {port}\nlitellm_settings:\n  callbacks: [prometheus]\n  cache: true\n  cache_params: {{type: redis, host: 127.0.0.1, port: {port}}}\n",
        up.base_url(),
        port = redis.port
    );
    let gw = Gateway::start(&yaml);
    let ask = json!({"model": "qwen", "messages": [{"role": "user", "content": "remember me"}]});
    assert_eq!(gw.post("/v1/chat/completions", &ask).status, 200);
    // The store is written after the answer: ask again until it is a hit.
    let mut hit = false;
    for _ in 0..50 {
        let r = gw.post("/v1/chat/completions", &ask);
        assert_eq!(r.status, 200);
        if r.header("x-switchyard-cache") == Some("hit") {
            hit = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(hit, "the second request is answered from Redis");
    // The shared state is read every 250 ms.
    let mut s = Vec::new();
    for _ in 0..40 {
        s = samples(&gw.get("/metrics").text);
        if total(&s, "switchyard_shared_state_sync_age_seconds", &[]) >= 0.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let age = total(&s, "switchyard_shared_state_sync_age_seconds", &[]);
    assert!((0.0..5.0).contains(&age), "sync age {age}");
    assert_eq!(
        total(&s, "switchyard_shared_state_healthy", &[]),
        1.0,
        "Redis answers"
    );
    let calls = total(
        &s,
        "litellm_redis_total_requests_total",
        &[("redis", "redis")],
    );
    let timed = total(&s, "litellm_redis_latency_count", &[("redis", "redis")]);
    // A miss, a store and a hit at least, plus the sync's reads.
    assert!(calls >= 3.0, "{calls} Redis calls");
    assert_eq!(calls, timed, "every call so far succeeded and was timed");
    assert_eq!(total(&s, "litellm_redis_failed_requests_total", &[]), 0.0);
    assert!(total(&s, "process_resident_memory_bytes", &[]) > 1e6);
    assert!(total(&s, "process_open_fds", &[]) >= 3.0);
    assert!(
        total(&s, "switchyard_open_connections", &[]) >= 1.0,
        "the scrape's own connection"
    );
    promtool_check(&gw.get("/metrics").text);

    // Redis goes away: the next lookup fails and is counted; the request still answers.
    redis.kill();
    let other =
        json!({"model": "qwen", "messages": [{"role": "user", "content": "redis is gone"}]});
    assert_eq!(gw.post("/v1/chat/completions", &other).status, 200);
    let mut failed = 0.0;
    let mut healthy = 1.0;
    for _ in 0..50 {
        let s = samples(&gw.get("/metrics").text);
        failed = total(
            &s,
            "litellm_redis_failed_requests_total",
            &[("redis", "redis")],
        );
        healthy = total(&s, "switchyard_shared_state_healthy", &[]);
        if failed >= 1.0 && healthy == 0.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(failed >= 1.0, "a failed Redis call is counted");
    assert_eq!(healthy, 0.0, "the shared state's outage shows");
}
