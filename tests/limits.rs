//! Bounds on everything that comes from outside: client timeouts, retry counts and cache
//! controls; upstream Retry-After; cache entries read back from Redis; image URLs the gateway
//! fetches for Gemini; keys and URL passwords an upstream or a config could leak; slow,
//! incomplete and oversized HTTP input; request bodies held at once; work a client abandons.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::disallowed_methods
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::gateway::{Gateway, Resp};
use common::image_server::{ImageServer, Mode};
use common::mock::{MockUpstream, Reply};
use common::redis::RedisServer;
use common::{free_port, stream_content, temp_dir};
use serde_json::{json, Value};

fn root(mock: &MockUpstream) -> String {
    mock.base_url().trim_end_matches("/v1").to_string()
}

fn one_model(name: &str, model: &str, api_base: &str, extra: &str) -> String {
    format!(
        "  - model_name: {name}\n    litellm_params:\n      model: {model}\n      api_key: sk-{name}-key-0123456789\n      api_base: {api_base}\n{extra}"
    )
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello!"}]})
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

/// A gateway with one OpenAI-compatible deployment, `gpt-4o`, on `mock`, and `extra` config.
fn gpt_gateway(mock: &MockUpstream, extra: &str) -> Gateway {
    Gateway::start(&format!(
        "model_list:\n{}{extra}",
        one_model("gpt-4o", "openai/gpt-4o", &mock.base_url(), "")
    ))
}

fn assert_400_naming(r: &Resp, param: &str, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text);
    let v = r.json();
    assert_eq!(v["error"]["param"], param, "{what}: {}", r.text);
    assert!(v["error"]["message"].is_string(), "{what}: {}", r.text);
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client: for bodies that never finish, heads that never end, and clients that
// leave. Every read has a deadline so no test can hang.

struct RawResp {
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: String,
}

impl RawResp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the gateway");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    s.set_nodelay(true).ok();
    s
}

/// Reads one response within `within`: `None` when the connection ended (or the time ran out)
/// before a whole head arrived.
fn read_response(s: &mut TcpStream, within: Duration) -> Option<RawResp> {
    let deadline = Instant::now() + within;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut head_end = None;
    let mut closed = false;
    while Instant::now() < deadline {
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if closed || length.is_some_and(|n| buf.len() >= end + n) {
                break;
            }
        } else if closed {
            return None;
        }
        match s.read(&mut chunk) {
            Ok(0) => closed = true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => closed = true,
        }
        if head_end.is_none() {
            head_end = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
        }
    }
    let end = head_end?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(RawResp {
        status,
        headers,
        body: String::from_utf8_lossy(&buf[end..]).to_string(),
    })
}

/// Whether the peer closed the connection within `within` (EOF or reset).
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut chunk = [0u8; 1024];
    while Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

fn post_head(path: &str, content_length: usize, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {content_length}\r\n{extra}\r\n"
    )
}

// ---------------------------------------------------------------------------------------------
// Client-sent values

#[test]
fn client_timeouts_outside_zero_to_a_day_are_400s_naming_the_field() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(&mock, "");
    for field in ["timeout", "request_timeout", "stream_timeout"] {
        for bad in [
            json!(0),
            json!(-1),
            json!(86_401),
            json!(1e300),
            json!("soon"),
        ] {
            let r = gw.post(
                "/v1/chat/completions",
                &with(chat("gpt-4o"), field, bad.clone()),
            );
            assert_400_naming(&r, field, &format!("{field}: {bad}"));
        }
    }
    for header in ["x-litellm-timeout", "x-litellm-stream-timeout"] {
        for bad in ["0", "-5", "86401", "1e300", "inf", "NaN", "later"] {
            let r = gw.post_with("/v1/chat/completions", &chat("gpt-4o"), &[(header, bad)]);
            assert_400_naming(&r, header, &format!("{header}: {bad}"));
        }
    }
    assert_eq!(mock.count(), 0, "a refused request never goes upstream");

    // The bounds themselves are allowed.
    let r = gw.post(
        "/v1/chat/completions",
        &with(chat("gpt-4o"), "timeout", json!(86_400)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = gw.post(
        "/v1/chat/completions",
        &with(chat("gpt-4o"), "stream_timeout", json!(0.5)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("gpt-4o"),
        &[("x-litellm-timeout", "86400")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(mock.count(), 3);
}

#[test]
fn retry_counts_above_twenty_are_400s_naming_the_field() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(&mock, "");
    for bad in [json!(21), json!(-1), json!(1e9), json!(4_294_967_297_u64)] {
        let r = gw.post(
            "/v1/chat/completions",
            &with(chat("gpt-4o"), "num_retries", bad.clone()),
        );
        assert_400_naming(&r, "num_retries", &format!("num_retries: {bad}"));
    }
    for bad in ["21", "1000000", "-1", "many"] {
        let r = gw.post_with(
            "/v1/chat/completions",
            &chat("gpt-4o"),
            &[("x-litellm-num-retries", bad)],
        );
        assert_400_naming(&r, "x-litellm-num-retries", bad);
    }
    assert_eq!(mock.count(), 0);
    let r = gw.post(
        "/v1/chat/completions",
        &with(chat("gpt-4o"), "num_retries", json!(20)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = gw.post_with(
        "/v1/chat/completions",
        &chat("gpt-4o"),
        &[("x-litellm-num-retries", "20")],
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn cache_lifetimes_and_namespaces_out_of_range_are_400s_naming_cache() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(
        &mock,
        "litellm_settings:\n  cache: true\n  cache_params:\n    type: local\n",
    );
    let too_long = "n".repeat(257);
    for (what, cache) in [
        ("negative ttl", json!({"ttl": -1})),
        ("huge ttl", json!({"ttl": 1e300})),
        ("ttl over a year", json!({"ttl": 31_536_001})),
        ("ttl inf as text", json!({"ttl": "inf"})),
        ("ttl NaN as text", json!({"ttl": "NaN"})),
        ("huge s-maxage", json!({"s-maxage": 1e300})),
        ("negative s-maxage", json!({"s-maxage": -5})),
        ("empty namespace", json!({"namespace": ""})),
        ("namespace with a space", json!({"namespace": "team a"})),
        ("namespace with a newline", json!({"namespace": "team\na"})),
        (
            "namespace with a CR",
            json!({"namespace": "team\r\nx-evil: 1"}),
        ),
        ("non-ASCII namespace", json!({"namespace": "équipe"})),
        ("namespace too long", json!({"namespace": too_long})),
        ("numeric namespace", json!({"namespace": 5})),
    ] {
        let r = gw.post(
            "/v1/chat/completions",
            &with(chat("gpt-4o"), "cache", cache),
        );
        assert_400_naming(&r, "cache", what);
    }
    assert_eq!(mock.count(), 0);
    let ok_namespace = "n".repeat(256);
    for cache in [
        json!({"ttl": 31_536_000}),
        json!({"s-maxage": 0}),
        json!({"namespace": ok_namespace}),
    ] {
        let r = gw.post(
            "/v1/chat/completions",
            &with(chat("gpt-4o"), "cache", cache.clone()),
        );
        assert_eq!(r.status, 200, "{cache}: {}", r.text);
    }
}

// ---------------------------------------------------------------------------------------------
// Upstream Retry-After

#[test]
fn an_upstream_retry_after_of_a_day_is_cut_to_max_retry_after_seconds() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::rate_limited(Some(86_400)));
    // Two deployments, so a 429 cools one down (a lone deployment is never cooled for a 429).
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  num_retries: 1\nswitchyard_settings:\n  max_retry_after_seconds: 2\n",
        one_model("g", "openai/a", &mock.base_url(), "    model_info:\n      id: a\n"),
        one_model("g", "openai/b", &mock.base_url(), "    model_info:\n      id: b\n"),
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post("/v1/chat/completions", &chat("g"));
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(mock.count(), 2, "both deployments were tried");
    let cooled_at = Instant::now();
    let r = gw.post("/v1/chat/completions", &chat("g"));
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.json()["error"]["type"], "all_deployments_in_cooldown");
    let retry: f64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(
        retry <= 2.0,
        "the client is told the cut cooldown, not a day: {retry}"
    );
    assert_eq!(mock.count(), 2, "no upstream call while cooling down");
    assert!(
        gw.logs().contains("max_retry_after_seconds"),
        "the cut is logged:\n{}",
        gw.logs()
    );

    // The deployments come back after the cut cooldown, not after a day.
    mock.set_default(Reply::chat("back"));
    let deadline = cooled_at + Duration::from_secs(8);
    loop {
        let r = gw.post("/v1/chat/completions", &chat("g"));
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 429, "{}", r.text);
        assert!(
            Instant::now() < deadline,
            "still cooling down 8 s after a 2 s cap"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------
// Cache entries read back from Redis are untrusted

fn redis_cache_gateway(mock: &MockUpstream, redis: &RedisServer) -> Gateway {
    Gateway::start(&format!(
        "model_list:\n{}litellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n    host: 127.0.0.1\n    port: {}\n",
        one_model("gpt-4o", "openai/gpt-4o", &mock.base_url(), ""),
        redis.port
    ))
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stores one answer through the gateway and returns its Redis key.
fn stored_key(gw: &Gateway, redis: &RedisServer, body: &Value) -> String {
    let r = gw.post("/v1/chat/completions", body);
    assert_eq!(r.status, 200, "{}", r.text);
    wait_for("the answer in Redis", Duration::from_secs(5), || {
        redis.keys().len() == 1
    });
    let key = redis.keys().remove(0);
    let r = gw.post("/v1/chat/completions", body);
    assert_eq!(r.header("x-switchyard-cache"), Some("hit"));
    assert_eq!(r.header("x-litellm-cache-key"), Some(key.as_str()));
    key
}

/// An entry as the gateway writes one (`src/cache/entry.rs`), for an answer.
fn entry(response: &str) -> String {
    let at = response.find("\"model\":\"").map_or((0, 0), |i| {
        let start = i + "\"model\":".len();
        let end = start + response[start + 1..].find('"').unwrap() + 2;
        (start, end)
    });
    format!(
        "{{\"timestamp\":{},\"model_at\":[{},{}],\"usage\":[1,2,3],\"response\":{response}}}",
        common::mock::unix_now(),
        at.0,
        at.1
    )
}

fn completion(message: &Value) -> String {
    json!({"id": "chatcmpl-crafted", "object": "chat.completion", "created": 1,
           "model": "gpt-4o",
           "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}})
    .to_string()
}

#[test]
fn a_malformed_cache_entry_is_a_miss_that_is_deleted_and_logged() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let gw = redis_cache_gateway(&mock, &redis);
    let body = chat("gpt-4o");
    let key = stored_key(&gw, &redis, &body);
    let good = redis.command(&["GET", &key]).unwrap();
    let response = completion(&json!({"role": "assistant", "content": "x"}));
    let now = common::mock::unix_now();
    let variants = vec![
        ("not JSON at all".to_string(), "garbage".to_string()),
        ("truncated".into(), good[..good.len() - 7].to_string()),
        (
            "response is not an object".into(),
            format!("{{\"timestamp\":{now},\"model_at\":[0,0],\"usage\":[1,1,2],\"response\":[1,2]}}"),
        ),
        (
            "response is not JSON".into(),
            format!("{{\"timestamp\":{now},\"model_at\":[0,0],\"usage\":[1,1,2],\"response\":{{\"a\":}}}}"),
        ),
        (
            "model_at past the end".into(),
            format!("{{\"timestamp\":{now},\"model_at\":[5,100000],\"usage\":[1,1,2],\"response\":{response}}}"),
        ),
        (
            "model_at not framing a string".into(),
            format!("{{\"timestamp\":{now},\"model_at\":[0,1],\"usage\":[1,1,2],\"response\":{response}}}"),
        ),
        (
            "model_at backwards".into(),
            format!("{{\"timestamp\":{now},\"model_at\":[9,3],\"usage\":[1,1,2],\"response\":{response}}}"),
        ),
        (
            "timestamp NaN".into(),
            format!("{{\"timestamp\":NaN,\"model_at\":[0,0],\"usage\":[1,1,2],\"response\":{response}}}"),
        ),
        (
            "usage negative".into(),
            format!("{{\"timestamp\":{now},\"model_at\":[0,0],\"usage\":[-1,1,2],\"response\":{response}}}"),
        ),
    ];
    let no_store = with(body.clone(), "cache", json!({"no-store": true}));
    for (what, value) in &variants {
        assert_eq!(redis.command(&["SET", &key, value]).unwrap(), "OK");
        let before = mock.count();
        let r = gw.post("/v1/chat/completions", &no_store);
        assert_eq!(r.status, 200, "{what}: {}", r.text);
        assert_ne!(r.header("x-switchyard-cache"), Some("hit"), "{what}");
        assert_eq!(
            r.json()["choices"][0]["message"]["content"],
            "hello from mock",
            "{what}"
        );
        assert_eq!(mock.count(), before + 1, "{what}: answered upstream");
        wait_for(
            &format!("the {what} entry to be deleted"),
            Duration::from_secs(5),
            || redis.command(&["EXISTS", &key]).unwrap() == "0",
        );
    }
    let logs = gw.logs();
    assert!(
        logs.matches("cache entry unusable").count() >= variants.len(),
        "each one is logged:\n{logs}"
    );
    assert_eq!(gw.get("/health/liveliness").status, 200);

    // The cache still works: the next answer is stored and served.
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200);
    wait_for("a fresh entry", Duration::from_secs(5), || {
        redis.command(&["EXISTS", &key]).unwrap() == "1"
    });
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.header("x-switchyard-cache"), Some("hit"));
}

#[test]
fn a_cached_stream_whose_tool_calls_are_not_objects_is_a_miss() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    let gw = redis_cache_gateway(&mock, &redis);
    let body = with(chat("gpt-4o"), "stream", json!(true));
    let key = stored_key(&gw, &redis, &body);

    // A crafted entry in the same format is served: the format below is the gateway's.
    let valid = entry(&completion(
        &json!({"role": "assistant", "content": "crafted answer"}),
    ));
    redis.command(&["SET", &key, &valid]).unwrap();
    let r = gw.post_stream("/v1/chat/completions", &body, &[]);
    assert_eq!(r.header("x-switchyard-cache"), Some("hit"));
    assert_eq!(stream_content(&r.collect_all()), "crafted answer");
    let calls_before = mock.count();

    let bad = entry(&completion(
        &json!({"role": "assistant", "content": null, "tool_calls": [1]}),
    ));
    let no_store = with(body.clone(), "cache", json!({"no-store": true}));
    redis.command(&["SET", &key, &bad]).unwrap();
    let r = gw.post_stream("/v1/chat/completions", &no_store, &[]);
    assert_eq!(r.status, 200);
    assert_ne!(r.header("x-switchyard-cache"), Some("hit"));
    let events = r.collect_all();
    assert_eq!(stream_content(&events), "hello from mock", "{events:?}");
    assert_eq!(mock.count(), calls_before + 1, "answered upstream");
    wait_for("the entry to be deleted", Duration::from_secs(5), || {
        redis.command(&["EXISTS", &key]).unwrap() == "0"
    });
    assert!(gw.logs().contains("cache entry unusable"));
    assert_eq!(gw.get("/health/liveliness").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Image URLs the gateway fetches for Gemini

fn gemini_gateway(mock: &MockUpstream, image_fetch: &str) -> Gateway {
    Gateway::start(&format!(
        "model_list:\n{}switchyard_settings:\n  image_fetch:\n{image_fetch}",
        one_model("gemini", "gemini/gemini-2.0-flash", &root(mock), "")
    ))
}

fn with_images(urls: &[String]) -> Value {
    let mut content = vec![json!({"type": "text", "text": "What is this?"})];
    content.extend(
        urls.iter()
            .map(|u| json!({"type": "image_url", "image_url": {"url": u}})),
    );
    json!({"model": "gemini", "messages": [{"role": "user", "content": content}]})
}

fn assert_could_not_fetch(r: &Resp, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text);
    assert!(
        r.text.contains("could not fetch the image"),
        "{what}: {}",
        r.text
    );
    assert!(
        !r.text.contains("sig=") && !r.text.contains("topsecret"),
        "{what}: query strings are never echoed: {}",
        r.text
    );
}

#[test]
fn gemini_image_urls_on_private_addresses_are_refused_without_a_connection() {
    let (mock, images) = (MockUpstream::start(), ImageServer::start(Mode::Png(64)));
    let gw = gemini_gateway(&mock, "    max_images: 16\n");
    let p = images.port;
    for url in [
        format!("http://127.0.0.1:{p}/cat.png?sig=topsecret"),
        format!("http://localhost:{p}/cat.png?sig=topsecret"),
        format!("http://0.0.0.0:{p}/cat.png?sig=topsecret"),
        format!("http://[::ffff:127.0.0.1]:{p}/cat.png?sig=topsecret"),
        format!("http://127.1:{p}/cat.png?sig=topsecret"),
        format!("http://2130706433:{p}/cat.png?sig=topsecret"),
    ] {
        let r = gw.post(
            "/v1/chat/completions",
            &with_images(std::slice::from_ref(&url)),
        );
        assert_could_not_fetch(&r, &url);
    }
    assert_eq!(
        images.connections(),
        0,
        "a refused address is never dialled"
    );
    assert_eq!(mock.count(), 0, "nothing went to Gemini");
}

#[test]
fn an_allowed_image_host_is_fetched_and_a_redirect_is_not_followed() {
    let (mock, images) = (MockUpstream::start(), ImageServer::start(Mode::Png(64)));
    let target = ImageServer::start(Mode::Png(64));
    let redirect = ImageServer::start(Mode::Redirect(format!("{}/cat.png", target.base())));
    let gw = gemini_gateway(&mock, "    allow_private_hosts: [\"127.0.0.1\"]\n");
    let r = gw.post(
        "/v1/chat/completions",
        &with_images(&[format!("{}/cat.png?sig=topsecret", images.base())]),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(images.requests(), 1);
    let part = &mock.requests()[0].body["contents"][0]["parts"][1];
    assert_eq!(part["inlineData"]["mimeType"], "image/png", "{part}");

    let r = gw.post(
        "/v1/chat/completions",
        &with_images(&[format!("{}/cat.png?sig=topsecret", redirect.base())]),
    );
    assert_could_not_fetch(&r, "a redirect");
    assert_eq!(redirect.requests(), 1);
    assert_eq!(target.connections(), 0, "the redirect is not followed");
    assert_eq!(mock.count(), 1);
}

#[test]
fn a_closed_port_and_a_404_get_the_same_answer() {
    let (mock, missing) = (MockUpstream::start(), ImageServer::start(Mode::NotFound));
    let gw = gemini_gateway(&mock, "    allow_private_hosts: [\"127.0.0.1\"]\n");
    let closed = free_port();
    let answer = |port: u16| {
        let url = format!("http://127.0.0.1:{port}/cat.png?sig=topsecret");
        let r = gw.post("/v1/chat/completions", &with_images(&[url]));
        assert_could_not_fetch(&r, &format!("port {port}"));
        let mut v = r.json();
        let message = v["error"]["message"]
            .as_str()
            .unwrap()
            .replace(&port.to_string(), "PORT");
        v["error"]["message"] = json!(message);
        (r.status, v)
    };
    let from_404 = answer(missing.port);
    assert_eq!(missing.requests(), 1, "the 404 server was asked");
    let from_closed = answer(closed);
    assert_eq!(
        from_404, from_closed,
        "a 404 and a closed port must read the same"
    );
    assert_eq!(mock.count(), 0);
}

#[test]
fn more_image_urls_than_max_images_is_a_400_without_fetching() {
    let (mock, images) = (MockUpstream::start(), ImageServer::start(Mode::Png(64)));
    let gw = gemini_gateway(
        &mock,
        "    max_images: 2\n    allow_private_hosts: [\"127.0.0.1\"]\n",
    );
    let urls: Vec<String> = (0..3)
        .map(|i| format!("{}/img{i}.png", images.base()))
        .collect();
    let r = gw.post("/v1/chat/completions", &with_images(&urls));
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("max_images"), "{}", r.text);
    assert_eq!(images.connections(), 0, "nothing was fetched");
    assert_eq!(mock.count(), 0);

    let r = gw.post("/v1/chat/completions", &with_images(&urls[..2]));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(images.requests(), 2);
}

#[test]
fn images_larger_than_max_total_mb_in_all_are_a_400() {
    let (mock, images) = (MockUpstream::start(), ImageServer::start(Mode::Png(60_000)));
    // 0.1 MiB = 104857 bytes: one 60 kB image fits, two do not.
    let gw = gemini_gateway(
        &mock,
        "    max_total_mb: 0.1\n    allow_private_hosts: [\"127.0.0.1\"]\n",
    );
    let urls: Vec<String> = (0..2)
        .map(|i| format!("{}/img{i}.png", images.base()))
        .collect();
    let r = gw.post("/v1/chat/completions", &with_images(&urls));
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("max_total_mb"), "{}", r.text);
    assert_eq!(mock.count(), 0);

    let r = gw.post("/v1/chat/completions", &with_images(&urls[..1]));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(mock.count(), 1);
}

#[test]
fn a_hanging_image_server_is_cut_at_the_image_fetch_timeout() {
    let (mock, hang) = (MockUpstream::start(), ImageServer::start(Mode::Hang));
    let gw = gemini_gateway(
        &mock,
        "    timeout_seconds: 1\n    allow_private_hosts: [\"127.0.0.1\"]\n",
    );
    let started = Instant::now();
    let r = gw.post(
        "/v1/chat/completions",
        &with_images(&[format!("{}/slow.png", hang.base())]),
    );
    let took = started.elapsed();
    assert_could_not_fetch(&r, "a hanging server");
    assert_eq!(hang.requests(), 1, "the server was asked");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "cut at image_fetch.timeout_seconds (1 s): {took:?}"
    );
    assert_eq!(mock.count(), 0);
}

#[test]
fn a_hanging_image_server_is_cut_at_the_request_timeout_when_it_is_shorter() {
    let (mock, hang) = (MockUpstream::start(), ImageServer::start(Mode::Hang));
    let gw = gemini_gateway(
        &mock,
        "    timeout_seconds: 30\n    allow_private_hosts: [\"127.0.0.1\"]\n",
    );
    let started = Instant::now();
    let body = with(
        with_images(&[format!("{}/slow.png", hang.base())]),
        "timeout",
        json!(1),
    );
    let r = gw.post("/v1/chat/completions", &body);
    let took = started.elapsed();
    assert_could_not_fetch(&r, "a hanging server and a 1 s request timeout");
    assert_eq!(hang.requests(), 1, "the server was asked");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "cut at the request's 1 s timeout, not image_fetch's 30 s: {took:?}"
    );
    assert_eq!(mock.count(), 0);
}

#[test]
fn images_are_fetched_once_when_the_gemini_call_is_retried() {
    let (mock, images) = (MockUpstream::start(), ImageServer::start(Mode::Png(64)));
    mock.script(vec![Reply::error(500, "try again")]);
    let gw = gemini_gateway(&mock, "    allow_private_hosts: [\"127.0.0.1\"]\n");
    let body = with(
        with_images(&[format!("{}/cat.png", images.base())]),
        "num_retries",
        json!(1),
    );
    let r = gw.post("/v1/chat/completions", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(mock.count(), 2, "the first call failed and was retried");
    assert_eq!(images.requests(), 1, "the image was fetched once");
    for sent in mock.requests() {
        let part = &sent.body["contents"][0]["parts"][1];
        assert_eq!(part["inlineData"]["mimeType"], "image/png", "{part}");
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets an upstream or a config could leak

fn first_chunk() -> String {
    json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
           "choices": [{"index": 0, "delta": {"role": "assistant", "content": "partial "},
                        "finish_reason": null}]})
    .to_string()
}

fn keyed_gateway(mock: &MockUpstream, key: &str) -> Gateway {
    Gateway::start(&format!(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: {key}\n      api_base: {}\n",
        mock.base_url()
    ))
}

fn sent_authorization(mock: &MockUpstream) -> Option<String> {
    mock.requests()[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())
}

#[test]
fn a_key_echoed_in_a_stream_error_event_reaches_neither_client_nor_log() {
    let mock = MockUpstream::start();
    let key = "sk-proj-Echo0123456789abcdefXYZ";
    let error =
        json!({"error": {"message": format!("Incorrect API key provided: {key}. Check it."),
                                 "type": "invalid_request_error", "code": "invalid_api_key"}})
        .to_string();
    let gw = keyed_gateway(&mock, key);
    let body = with(chat("gpt-4o"), "stream", json!(true));

    // Mid-stream: the error event comes after a chunk was relayed, inside the 200.
    mock.set_default(Reply::RawSse {
        events: vec![first_chunk(), error.clone()],
        delay_ms: 300,
    });
    let r = gw.post_stream("/v1/chat/completions", &body, &[]);
    assert_eq!(r.status, 200);
    let events = r.collect_all();
    let all = events.join("\n");
    assert_eq!(stream_content(&events), "partial ", "{all}");
    assert!(
        all.contains("Incorrect API key provided"),
        "the error event reaches the client: {all}"
    );
    assert!(!all.contains(key), "the key reached the client: {all}");
    assert!(!all.contains("Echo0123456789"), "{all}");
    assert_eq!(
        sent_authorization(&mock),
        Some(format!("Bearer {key}")),
        "the upstream was sent the real key"
    );

    // Both events in one piece, so in the first read: the attempt fails before the stream
    // starts, and the client gets a JSON error.
    mock.set_default(Reply::RawSse {
        events: vec![format!("{}\n\ndata: {error}", first_chunk())],
        delay_ms: 0,
    });
    let r = gw.post_with(
        "/v1/chat/completions",
        &with(body, "num_retries", json!(0)),
        &[],
    );
    assert!(r.status >= 400, "{} {}", r.status, r.text);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Incorrect API key provided"));
    assert!(
        !r.text.contains(key),
        "the key reached the client: {}",
        r.text
    );
    assert!(!r.text.contains("Echo0123456789"), "{}", r.text);

    let logs = gw.logs();
    assert!(!logs.contains(key), "the key reached the log:\n{logs}");
    assert!(!logs.contains("Echo0123456789"), "{logs}");
}

#[test]
fn a_key_echoed_in_a_raw_stream_line_reaches_neither_client_nor_log() {
    let mock = MockUpstream::start();
    // Not shaped like a provider key: only knowing the configured key can mask it.
    let key = "zq-live-77aa88bb99cc00dd";
    mock.set_default(Reply::RawSse {
        events: vec![
            first_chunk(),
            format!("upstream proxy failure: credential {key} rejected"),
        ],
        delay_ms: 200,
    });
    let gw = keyed_gateway(&mock, key);
    let r = gw.post_stream(
        "/v1/chat/completions",
        &with(chat("gpt-4o"), "stream", json!(true)),
        &[],
    );
    assert_eq!(r.status, 200);
    let all = r.collect_all().join("\n");
    assert!(
        all.contains("upstream proxy failure"),
        "the raw line reaches the client: {all}"
    );
    assert!(!all.contains(key), "the key reached the client: {all}");
    assert!(!all.contains("77aa88bb99cc"), "{all}");
    assert_eq!(sent_authorization(&mock), Some(format!("Bearer {key}")));
    let logs = gw.logs();
    assert!(!logs.contains(key), "the key reached the log:\n{logs}");
    assert!(!logs.contains("77aa88bb99cc"), "{logs}");
}

#[test]
fn a_password_in_api_base_is_never_shown() {
    let mock = MockUpstream::start();
    let password = "hunter22secret";
    let port = mock
        .base_url()
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches("/v1")
        .to_string();
    let base = format!("http://user:{password}@127.0.0.1:{port}/v1");
    let yaml = format!(
        "model_list:\n{}",
        one_model("gpt-4o", "openai/gpt-4o", &base, "")
    );
    let gw = Gateway::start(&yaml);
    let r = gw.post("/v1/chat/completions", &chat("gpt-4o"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(mock.count(), 1, "the deployment is reached");
    let shown = r.header("x-litellm-model-api-base").unwrap();
    assert!(
        shown.contains(&format!("127.0.0.1:{port}")),
        "the header still names the host: {shown}"
    );
    assert!(!shown.contains(password), "{shown}");

    let info = gw.get("/model/info");
    assert_eq!(info.status, 200, "{}", info.text);
    assert!(
        info.text.contains(&format!("127.0.0.1:{port}")),
        "{}",
        info.text
    );
    assert!(!info.text.contains(password), "{}", info.text);

    let health = gw.get("/health");
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.json()["healthy_count"], 1, "{}", health.text);
    assert!(!health.text.contains(password), "{}", health.text);

    let dir = temp_dir("userinfo");
    let file = dir.join("config.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("check-config")
        .arg(&file)
        .env_remove("LITELLM_MASTER_KEY")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains(password), "{text}");

    let logs = gw.logs();
    assert!(!logs.contains(password), "{logs}");
}

// ---------------------------------------------------------------------------------------------
// Work a client abandons

#[test]
fn retries_stop_when_the_client_goes_away() {
    let mock = MockUpstream::start();
    // Always failing; Retry-After: 1 paces the retries a second or so apart.
    mock.set_default(Reply::Error {
        status: 500,
        message: "always down".into(),
        err_type: "server_error".into(),
        code: None,
        retry_after: Some(1),
    });
    let gw = gpt_gateway(&mock, "");
    let body = with(chat("gpt-4o"), "num_retries", json!(20)).to_string();
    let mut s = connect(gw.port);
    s.write_all(post_head("/v1/chat/completions", body.len(), "").as_bytes())
        .unwrap();
    s.write_all(body.as_bytes()).unwrap();
    wait_for("two attempts", Duration::from_secs(5), || mock.count() >= 2);
    drop(s);
    std::thread::sleep(Duration::from_millis(300));
    let after_close = mock.count();
    std::thread::sleep(Duration::from_secs(5));
    let later = mock.count();
    assert!(
        later <= after_close + 1,
        "retries went on after the client left: {after_close} -> {later}"
    );
    let logs = gw.logs();
    assert!(logs.contains("client_closed"), "{logs}");
}

// ---------------------------------------------------------------------------------------------
// Slow, incomplete and oversized HTTP input

#[test]
fn a_body_shorter_than_its_content_length_is_a_408_after_the_body_timeout() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(
        &mock,
        "switchyard_settings:\n  client_body_timeout_seconds: 1\n",
    );
    let mut s = connect(gw.port);
    let started = Instant::now();
    s.write_all(post_head("/v1/chat/completions", 100, "").as_bytes())
        .unwrap();
    s.write_all(b"{\"model\":").unwrap();
    let r = read_response(&mut s, Duration::from_secs(15)).expect("an answer");
    let took = started.elapsed();
    assert_eq!(r.status, 408, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "408", "{}", r.body);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(mock.count(), 0);
}

#[test]
fn a_body_sent_a_byte_at_a_time_ends_at_ten_body_timeouts() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(
        &mock,
        "switchyard_settings:\n  client_body_timeout_seconds: 0.5\n",
    );
    let mut s = connect(gw.port);
    let started = Instant::now();
    s.write_all(post_head("/v1/chat/completions", 1000, "").as_bytes())
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut w = s.try_clone().unwrap();
    let flag = stop.clone();
    // One byte every 200 ms, well inside the 0.5 s idle timeout: 1000 bytes would take 200 s.
    let writer = std::thread::spawn(move || {
        for _ in 0..100 {
            if flag.load(Ordering::Relaxed) || w.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let r = read_response(&mut s, Duration::from_secs(15));
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let r = r.expect("an answer");
    assert_eq!(r.status, 408, "{}", r.body);
    assert!(
        took >= Duration::from_millis(4500) && took < Duration::from_secs(9),
        "the body may take 10 x 0.5 s in all: {took:?}"
    );
    assert_eq!(mock.count(), 0);
}

fn buffered(gw: &Gateway) -> u64 {
    gw.get("/health/readiness").json()["buffered_request_bytes"]
        .as_u64()
        .unwrap()
}

#[test]
fn request_bodies_held_at_once_are_bounded_by_max_buffered_request_mb() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(
        &mock,
        "switchyard_settings:\n  max_buffered_request_mb: 1\n",
    );
    // The first request declares 800000 bytes and sends a few: its share is reserved.
    let mut first = connect(gw.port);
    first
        .write_all(post_head("/v1/chat/completions", 800_000, "").as_bytes())
        .unwrap();
    first.write_all(&[b' '; 1000]).unwrap();
    wait_for(
        "the first body to be reserved",
        Duration::from_secs(5),
        || buffered(&gw) >= 800_000,
    );
    let mut second = connect(gw.port);
    second
        .write_all(post_head("/v1/chat/completions", 800_000, "").as_bytes())
        .unwrap();
    let r = read_response(&mut second, Duration::from_secs(10)).expect("an answer");
    assert_eq!(r.status, 503, "{}", r.body);
    let retry: u64 = r
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    let v = r.json();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_buffered_request_mb"),
        "{}",
        r.body
    );
    drop(second);

    drop(first);
    wait_for("the budget to be returned", Duration::from_secs(5), || {
        buffered(&gw) == 0
    });
    let r = gw.post("/v1/chat/completions", &chat("gpt-4o"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(mock.count(), 1);
}

#[test]
fn headers_that_never_finish_get_a_408_with_a_json_body() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(
        &mock,
        "switchyard_settings:\n  client_header_timeout_seconds: 1\n",
    );
    let mut s = connect(gw.port);
    let started = Instant::now();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let r = read_response(&mut s, Duration::from_secs(8)).expect("an answer within 8 s");
    let took = started.elapsed();
    assert_eq!(r.status, 408, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "408", "{}", r.body);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        closed_within(&mut s, Duration::from_secs(3)),
        "the connection is closed after the 408"
    );
    assert_eq!(mock.count(), 0);
}

#[test]
fn a_later_request_whose_headers_never_finish_closes_the_connection() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(
        &mock,
        "switchyard_settings:\n  client_header_timeout_seconds: 1\n",
    );
    let mut s = connect(gw.port);
    // The first request is whole and answered: the connection is kept alive.
    s.write_all(b"GET /health/liveliness HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, Duration::from_secs(5)).expect("the first answer");
    assert_eq!(r.status, 200, "{}", r.body);
    // The second one's head starts and then trickles: actix-http's own timeout is spent.
    let started = Instant::now();
    s.write_all(b"GET /health/liveliness HTTP/1.1\r\n").unwrap();
    let mut closed = false;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(200));
        if s.write_all(b"X").is_err() || closed_within(&mut s, Duration::from_millis(50)) {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "a trickled head kept the connection open for {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn http_layer_errors_have_openai_json_bodies() {
    let mock = MockUpstream::start();
    let gw = gpt_gateway(&mock, "");
    let mut s = connect(gw.port);
    s.write_all(b"GARBAGE\x01 not http at all\r\n\r\n").unwrap();
    let r = read_response(&mut s, Duration::from_secs(10)).expect("an answer");
    assert_eq!(r.status, 400, "{}", r.body);
    let v = r.json();
    assert_eq!(v["error"]["code"], "400", "{}", r.body);
    assert!(v["error"]["message"].is_string(), "{}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        r.headers
    );

    let mut s = connect(gw.port);
    let big = "a".repeat(200 * 1024);
    let request = format!("GET /health/liveliness HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    // The server may answer before it has read all of it.
    let _ = s.write_all(request.as_bytes());
    let r = read_response(&mut s, Duration::from_secs(10)).expect("an answer");
    assert_eq!(r.status, 431, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "431", "{}", r.body);
    assert_eq!(gw.get("/health/liveliness").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Auth and health details

#[test]
fn an_empty_bearer_beside_a_valid_x_api_key_is_accepted() {
    let mock = MockUpstream::start();
    let master = "sk-master-0123456789abcdef";
    let gw = gpt_gateway(
        &mock,
        &format!("general_settings:\n  master_key: {master}\n"),
    );
    let body = chat("gpt-4o").to_string();
    let send = |headers: &[(&str, &str)]| {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        gw.post_raw("/v1/chat/completions", body.as_bytes(), &all)
            .status
    };
    assert_eq!(
        send(&[("authorization", "Bearer "), ("x-api-key", master)]),
        200
    );
    assert_eq!(
        send(&[("authorization", "Bearer"), ("x-api-key", master)]),
        200
    );
    assert_eq!(
        send(&[
            ("authorization", "Bearer "),
            ("x-api-key", "sk-wrong-0123456789")
        ]),
        401
    );
    assert_eq!(send(&[("authorization", "Bearer ")]), 401);
    // Raw, so nothing between the test and the gateway trims the trailing space.
    let mut s = connect(gw.port);
    let head = post_head(
        "/v1/chat/completions",
        body.len(),
        &format!("Authorization: Bearer \r\nx-api-key: {master}\r\n"),
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let r = read_response(&mut s, Duration::from_secs(10)).expect("an answer");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(mock.count(), 3);
}

#[test]
fn readiness_hides_redis_details_without_the_key() {
    let mut redis = RedisServer::start(Some("readiness-pass-0123"));
    let port = redis.port;
    // Redis goes away: the cache degrades and has an error to report.
    redis.kill();
    let mock = MockUpstream::start();
    let master = "sk-master-0123456789abcdef";
    let gw = gpt_gateway(
        &mock,
        &format!(
            "general_settings:\n  master_key: {master}\nlitellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n    host: 127.0.0.1\n    port: {port}\n    password: readiness-pass-0123\n    socket_timeout: 0.2\nrouter_settings:\n  redis_host: 127.0.0.1\n  redis_port: {port}\n  redis_password: readiness-pass-0123\n"
        ),
    );
    let auth = format!("Bearer {master}");
    let auth = [("authorization", auth.as_str())];
    let r = gw.post_with("/v1/chat/completions", &chat("gpt-4o"), &auth);
    assert_eq!(r.status, 200, "{}", r.text);
    let deadline = Instant::now() + Duration::from_secs(10);
    let detailed = loop {
        let v = gw.get_with("/health/readiness", &auth).json();
        if v["cache_health"]["status"] == "degraded" {
            break v;
        }
        assert!(Instant::now() < deadline, "the cache never degraded: {v}");
        gw.post_with("/v1/chat/completions", &chat("gpt-4o"), &auth);
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        detailed["shared_state"]["redis"]
            .as_str()
            .is_some_and(|s| s.contains(&port.to_string())),
        "{detailed}"
    );
    assert!(
        detailed["cache_health"]["last_error"].is_string(),
        "{detailed}"
    );

    let open = gw.get("/health/readiness");
    assert_eq!(open.status, 200, "{}", open.text);
    let v = open.json();
    assert_eq!(v["cache_health"]["status"], "degraded", "{v}");
    assert!(v["shared_state"].is_object(), "{v}");
    assert!(v["shared_state"].get("redis").is_none(), "{v}");
    assert!(v["cache_health"].get("last_error").is_none(), "{v}");
    assert!(!open.text.contains("last_error"), "{}", open.text);
    assert!(
        !open.text.contains(&format!("127.0.0.1:{port}")),
        "{}",
        open.text
    );
    assert!(!open.text.contains("readiness-pass"), "{}", open.text);
}

// ---------------------------------------------------------------------------------------------
// Large requests do not stall the process

#[test]
fn twenty_thousand_embedding_inputs_with_the_cache_on_do_not_stall_the_gateway() {
    let redis = RedisServer::start(None);
    let mock = MockUpstream::start();
    mock.set_default(Reply::Embedding { dims: 2 });
    let gw = Gateway::start(&format!(
        "model_list:\n{}litellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n    host: 127.0.0.1\n    port: {}\n",
        one_model("emb", "openai/text-embedding-3-small", &mock.base_url(), ""),
        redis.port
    ));
    let inputs: Vec<String> = (0..20_000).map(|i| format!("i{i}")).collect();
    let body = json!({"model": "emb", "input": inputs});
    let base = gw.base.clone();
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let started = Instant::now();
    let big = std::thread::spawn(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let r = agent
            .post(&format!("{base}/v1/embeddings"))
            .set("content-type", "application/json")
            .send_string(&body.to_string());
        flag.store(true, Ordering::SeqCst);
        let r = r.unwrap();
        let status = r.status();
        let v: Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
        (status, v["data"].as_array().map_or(0, Vec::len))
    });
    let mut slowest = Duration::ZERO;
    let mut probes = 0;
    while !done.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(30) {
        let t = Instant::now();
        let probe = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(10))
            .build()
            .get(&format!("{}/health/liveliness", gw.base))
            .call()
            .map(|r| r.status());
        assert_eq!(probe.ok(), Some(200));
        slowest = slowest.max(t.elapsed());
        probes += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, items) = big.join().unwrap();
    let took = started.elapsed();
    assert_eq!((status, items), (200, 20_000));
    assert!(took < Duration::from_secs(15), "20000 inputs took {took:?}");
    assert!(
        slowest < Duration::from_secs(5),
        "liveliness took {slowest:?} while the big request ran ({probes} probes)"
    );
}
