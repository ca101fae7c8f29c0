//! The live status page in a real headless Chromium (Debian's chromium and chromedriver, driven
//! by Selenium: tests/python/ui_browser.py): it logs in with the master key (a wrong key is
//! refused), shows a deployment going into cooldown and coming back without a reload, and logs
//! no console errors. Also `/ui/state`, the JSON the page polls, read directly.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::json;

const KEY: &str = "sk-status-page-master-key";

fn config(flaky: &MockUpstream, steady: &MockUpstream, down: &MockUpstream) -> String {
    format!(
        "model_list:\n  - model_name: big\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-0123456789, api_base: '{}'}}\n    model_info: {{id: big-1}}\n  - model_name: pool\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}', rpm: 600}}\n    model_info: {{id: flaky-1}}\n  - model_name: pool\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}', tpm: 100000}}\n    model_info: {{id: steady-1}}\nrouter_settings:\n  num_retries: 1\n  cooldown_time: 4\n  fallbacks: [{{big: [pool]}}]\nlitellm_settings:\n  cache: true\n  cache_params: {{type: local}}\ngeneral_settings:\n  master_key: {KEY}\n",
        down.base_url(),
        flaky.base_url(),
        steady.base_url()
    )
}

/// The gateway and its upstreams: a pool of two answering deployments (`flaky-1`,
/// `steady-1`), and a group whose only deployment is down, falling back to the pool.
fn start() -> (Gateway, [MockUpstream; 3]) {
    let flaky = MockUpstream::start();
    let steady = MockUpstream::start();
    let down = MockUpstream::start();
    flaky.set_default(Reply::chat("flaky answers"));
    steady.set_default(Reply::chat("steady answers"));
    down.set_default(Reply::error(503, "The engine is currently overloaded."));
    let gw = Gateway::start(&config(&flaky, &steady, &down));
    (gw, [flaky, steady, down])
}

fn chromium_present() -> bool {
    let found = std::path::Path::new("/usr/bin/chromedriver").exists()
        && std::path::Path::new("/usr/bin/chromium").exists();
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "chromium and chromium-driver are required under CI=true (apt-get install chromium chromium-driver)"
        );
        eprintln!("*** SKIP the browser test: chromium/chromedriver are not installed ***");
    }
    found
}

/// Asks the pool until `up` has seen `n` more requests.
fn until_seen(gw: &Gateway, up: &MockUpstream, n: usize) {
    let auth = format!("Bearer {KEY}");
    let before = up.requests().len();
    for i in 0..200 {
        if up.requests().len() >= before + n {
            return;
        }
        let r = gw.post_with(
            "/v1/chat/completions",
            &json!({"model": "pool", "messages": [{"role": "user", "content": format!("q{i}")}],
                    "cache": {"no-cache": true}}),
            &[("authorization", auth.as_str())],
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }
    panic!("the deployment was never picked");
}

#[test]
fn the_status_page_follows_a_cooldown_live_in_a_real_browser() {
    if !chromium_present() {
        return;
    }
    let (gw, [flaky, steady, _down]) = start();
    let shot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-status-page.png");
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/ui_browser.py"
        ))
        .args([
            &format!("http://127.0.0.1:{}", gw.port),
            KEY,
            "flaky-1",
            shot.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with selenium (tests/run.sh installs it)");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let expect = |want: &str| {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("waiting for {want}: {e}"));
        assert_eq!(line, want, "the browser script said {line}");
    };
    // Some traffic, so the page has figures to show: answers, a cache hit, a fallback.
    until_seen(&gw, &flaky, 2);
    until_seen(&gw, &steady, 2);
    let auth = format!("Bearer {KEY}");
    let h = [("authorization", auth.as_str())];
    let same = json!({"model": "pool", "messages": [{"role": "user", "content": "same"}]});
    for _ in 0..2 {
        assert_eq!(gw.post_with("/v1/chat/completions", &same, &h).status, 200);
    }
    let big = json!({"model": "big", "messages": [{"role": "user", "content": "big"}]});
    assert_eq!(gw.post_with("/v1/chat/completions", &big, &h).status, 200);
    expect("HEALTHY");
    // flaky starts refusing: a 429 cools it down (4 s); the retry goes to steady.
    flaky.set_default(Reply::rate_limited(None));
    until_seen(&gw, &flaky, 1);
    expect("COOLING");
    flaky.set_default(Reply::chat("flaky is back"));
    // Once the cooldown is over, a success makes it healthy again.
    std::thread::sleep(Duration::from_secs(4));
    until_seen(&gw, &flaky, 1);
    expect("RECOVERED");
    expect("OK");
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a screenshot"
    );
    // The README's picture is this screenshot: refreshed on request.
    if std::env::var("UPDATE_SCREENSHOT").is_ok() {
        let readme_shot = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/screenshots/ui.png");
        std::fs::create_dir_all(std::path::Path::new(readme_shot).parent().unwrap()).unwrap();
        std::fs::copy(&shot, readme_shot).unwrap();
    }
}

#[test]
fn ui_state_reports_deployments_cache_and_fallbacks_behind_the_master_key() {
    let (gw, [flaky, _steady, _down]) = start();
    let page = gw.get("/ui");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    assert!(page.text.contains("/ui/state"));
    assert_eq!(gw.get("/ui/state").status, 401);
    let auth = format!("Bearer {KEY}");
    let h = [("authorization", auth.as_str())];
    let ask = json!({"model": "pool", "messages": [{"role": "user", "content": "same"}]});
    assert_eq!(gw.post_with("/v1/chat/completions", &ask, &h).status, 200);
    assert_eq!(gw.post_with("/v1/chat/completions", &ask, &h).status, 200);
    flaky.set_default(Reply::rate_limited(None));
    until_seen(&gw, &flaky, 1);

    let r = gw.get_with("/ui/state", &h);
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s["instance"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(s["instance"]["uptime_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(s["window_seconds"], 300);
    assert!(s["requests"]["total"].as_u64().unwrap() >= 3);
    assert_eq!(s["requests"]["failed"], 0, "the 429 was retried on steady");
    assert_eq!(s["cache"]["kind"], "local");
    assert_eq!(s["cache"]["hits"], 1);
    assert!(s["cache"]["entries"].as_u64().unwrap() >= 1);
    assert!(s["cache"]["bytes"].as_u64().unwrap() > 50);
    assert!(s["shared_state"].is_null());
    let big = json!({"model": "big", "messages": [{"role": "user", "content": "big"}]});
    assert_eq!(gw.post_with("/v1/chat/completions", &big, &h).status, 200);
    let s = gw.get_with("/ui/state", &h).json();
    assert_eq!(
        s["fallbacks"],
        json!([{"from": "big", "to": "pool", "succeeded": 1, "failed": 0}])
    );
    assert_eq!(s["groups"][0]["name"], "big");
    assert_eq!(
        s["groups"][0]["deployments"][0]["errors"]["ServiceUnavailableError"],
        2
    );
    let pool = &s["groups"][1];
    assert_eq!(pool["name"], "pool");
    let row = |id: &str| {
        pool["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == id)
            .unwrap()
            .clone()
    };
    let f = row("flaky-1");
    assert_eq!(f["state"], "cooling_down");
    assert_eq!(f["cooldown_cause"], "RateLimitError");
    let left = f["cooldown_seconds_left"].as_f64().unwrap();
    assert!(left > 0.0 && left <= 4.0, "{left}");
    assert_eq!(f["errors"]["RateLimitError"], 1);
    assert_eq!(f["rpm_limit"], 600);
    assert!(f["rpm_used"].as_u64().unwrap() >= 1);
    let st = row("steady-1");
    assert_eq!(st["state"], "healthy");
    assert_eq!(st["tpm_limit"], 100000);
    assert!(st["tpm_used"].as_u64().unwrap() > 0);
    assert!(st["latency_ms_p50"].as_f64().unwrap() > 0.0);
    assert!(st["latency_ms_p95"].as_f64().unwrap() >= st["latency_ms_p50"].as_f64().unwrap());
    assert_eq!(st["errors"], json!({}));
    assert_eq!(st["provider"], "hosted_vllm");
}
