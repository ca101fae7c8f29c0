//! The cluster as users deploy it: the repository's nginx.conf in front of two gateway
//! instances sharing one redis-server, all real processes on loopback.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use common::nginx::Nginx;
use common::redis::RedisServer;
use common::stream_content;
use serde_json::{json, Value};

struct Cluster {
    nginx: Nginx,
    a: Gateway,
    b: Gateway,
    agent: ureq::Agent,
    _redis: RedisServer,
}

fn cluster(mock: &MockUpstream) -> Cluster {
    let redis = RedisServer::start(Some("cluster-redis-pass"));
    let yaml = format!(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-up, api_base: '{}'}}\nlitellm_settings:\n  cache: true\n  cache_params: {{type: redis, host: 127.0.0.1, port: {}, password: cluster-redis-pass, mode: default_off}}\n",
        mock.base_url(),
        redis.port
    );
    let (a, b) = (Gateway::start(&yaml), Gateway::start(&yaml));
    let nginx = Nginx::start(&[a.port, b.port]);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    Cluster {
        nginx,
        a,
        b,
        agent,
        _redis: redis,
    }
}

fn chat(prompt: &str) -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": prompt}]})
}

/// (status, instance that answered, cache marker, body).
fn post(c: &Cluster, body: &Value) -> (u16, String, String, String) {
    let url = format!("{}/v1/chat/completions", c.nginx.base());
    let r = match c
        .agent
        .post(&url)
        .set("content-type", "application/json")
        .send_string(&body.to_string())
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return (0, String::new(), String::new(), e.to_string()),
    };
    let instance = r.header("x-switchyard-instance").unwrap_or("").to_string();
    let cache = r.header("x-switchyard-cache").unwrap_or("").to_string();
    (
        r.status(),
        instance,
        cache,
        r.into_string().unwrap_or_default(),
    )
}

#[test]
fn nginx_spreads_requests_over_both_instances() {
    let mock = MockUpstream::start();
    let c = cluster(&mock);
    let mut seen = HashSet::new();
    for i in 0..40 {
        let (status, instance, _, body) = post(&c, &chat(&format!("q{i}")));
        assert_eq!(status, 200, "{body}");
        seen.insert(instance);
    }
    let expected: HashSet<String> = [c.a.port, c.b.port]
        .iter()
        .map(|p| format!(":{p}"))
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| expected.iter().any(|p| s.ends_with(p.as_str()))),
        "{seen:?}"
    );
}

#[test]
fn an_answer_cached_through_one_instance_is_a_hit_through_the_other() {
    let mock = MockUpstream::start();
    let c = cluster(&mock);
    let mut body = chat("shared question");
    body["cache"] = json!({"use-cache": true});
    let (status, first, cache, _) = post(&c, &body);
    assert_eq!((status, cache.as_str()), (200, "miss"));
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut hit_instances = HashSet::new();
    while hit_instances.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "hits seen on {hit_instances:?} only"
        );
        let (status, instance, cache, _) = post(&c, &body);
        assert_eq!(status, 200);
        if cache == "hit" {
            hit_instances.insert(instance);
        }
    }
    assert!(
        hit_instances.iter().any(|i| *i != first),
        "the other instance answered from the shared cache"
    );
    assert_eq!(mock.count(), 1);
}

#[test]
fn a_stream_passes_through_nginx_chunk_by_chunk() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: vec!["one ".into(), "two ".into(), "three".into()],
        delay_ms: 300,
        cut_after: None,
    });
    let c = cluster(&mock);
    let url = format!("{}/v1/chat/completions", c.nginx.base());
    let mut body = chat("stream");
    body["stream"] = json!(true);
    let r = c
        .agent
        .post(&url)
        .set("content-type", "application/json")
        .send_string(&body.to_string())
        .unwrap();
    let mut reader = std::io::BufReader::new(r.into_reader());
    let mut events = Vec::new();
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) > 0 {
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            events.push((data.to_string(), Instant::now()));
        }
        line.clear();
    }
    let spread = events.last().unwrap().1 - events.first().unwrap().1;
    assert!(
        spread >= Duration::from_millis(450),
        "nginx must not buffer the stream: {spread:?}"
    );
    let data: Vec<String> = events.into_iter().map(|(d, _)| d).collect();
    assert_eq!(stream_content(&data), "one two three");
    assert_eq!(data.last().unwrap(), "[DONE]");
}

#[test]
fn killing_an_instance_under_load_fails_no_request_and_it_rejoins() {
    let mock = MockUpstream::start();
    let mut c = cluster(&mock);
    let (a_port, b_port) = (c.a.port, c.b.port);
    let stop = Arc::new(AtomicBool::new(false));
    let results: Arc<Mutex<Vec<(u16, String, Instant)>>> = Arc::default();
    let replayed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let base = c.nginx.base();
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let (stop, results, base) = (stop.clone(), results.clone(), base.clone());
            let replayed = replayed.clone();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                let url = format!("{base}/v1/chat/completions");
                let mut i = 0;
                // Bounded: at most 2000 requests per client, and only until told to stop.
                while !stop.load(Ordering::Relaxed) && i < 2000 {
                    i += 1;
                    #[allow(clippy::result_large_err)]
                    let send = || {
                        agent
                            .post(&url)
                            .set("content-type", "application/json")
                            .send_string(&chat(&format!("load {t} {i}")).to_string())
                    };
                    // A request in flight on the instance that dies is not replayed by nginx
                    // (it may be what killed it): the client gets a 502 and, as the OpenAI SDK
                    // does, sends it again.
                    let r = match send() {
                        Err(ureq::Error::Status(502, _)) => {
                            replayed.fetch_add(1, Ordering::Relaxed);
                            send()
                        }
                        other => other,
                    };
                    let entry = match r {
                        Ok(r) => (
                            r.status(),
                            r.header("x-switchyard-instance").unwrap_or("").to_string(),
                            Instant::now(),
                        ),
                        Err(ureq::Error::Status(s, _)) => (s, String::new(), Instant::now()),
                        Err(e) => (0, e.to_string(), Instant::now()),
                    };
                    results.lock().unwrap().push(entry);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    c.a.kill();
    let killed_at = Instant::now();
    std::thread::sleep(Duration::from_millis(1200));
    c.a.restart();
    let restarted_at = Instant::now();
    std::thread::sleep(Duration::from_millis(2500));
    stop.store(true, Ordering::Relaxed);
    for t in clients {
        t.join().unwrap();
    }
    let results = results.lock().unwrap();
    let failed: Vec<_> = results.iter().filter(|(s, _, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed: {:?}\n{}",
        failed.len(),
        results.len(),
        &failed[..failed.len().min(5)],
        c.nginx.error_log()
    );
    assert!(
        replayed.load(Ordering::Relaxed) <= 4,
        "only requests in flight at the kill (one per client) may see a 502"
    );
    let on = |port: u16, from: Instant, to: Instant| {
        results
            .iter()
            .filter(|(_, i, at)| i.ends_with(&format!(":{port}")) && *at > from && *at < to)
            .count()
    };
    let far = restarted_at + Duration::from_secs(60);
    assert!(
        on(b_port, killed_at, restarted_at) > 0,
        "B carried the load while A was down"
    );
    assert_eq!(
        on(a_port, killed_at + Duration::from_millis(100), restarted_at),
        0
    );
    assert!(
        on(a_port, restarted_at, far) > 0,
        "A rejoined after its restart"
    );
}

#[test]
fn a_request_already_sent_to_an_instance_that_dies_is_not_replayed_to_the_other() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Hang);
    let mut c = cluster(&mock);
    // Only A is up when the request comes, so A is the one that has it.
    c.b.kill();
    let url = format!("{}/v1/chat/completions", c.nginx.base());
    let client = std::thread::spawn(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build();
        match agent
            .post(&url)
            .set("content-type", "application/json")
            .send_string(&chat("sent once").to_string())
        {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while mock.count() < 1 {
        assert!(
            Instant::now() < deadline,
            "the request never reached the upstream"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // B comes back and nginx may use it again (fail_timeout=2s) before A dies.
    c.b.restart();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        instance_liveliness(&c, c.b.port),
        200,
        "B is up and reachable before A dies"
    );
    c.a.kill();
    let (status, body) = client.join().unwrap();
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("no Switchyard instance answered"), "{body}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        mock.count(),
        1,
        "nginx must not send the request again to B (it may not be idempotent)"
    );
}

/// The status of `/health/liveliness` straight from the instance on `port`.
fn instance_liveliness(c: &Cluster, port: u16) -> u16 {
    match c
        .agent
        .get(&format!("http://127.0.0.1:{port}/health/liveliness"))
        .call()
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(_) => 0,
    }
}
