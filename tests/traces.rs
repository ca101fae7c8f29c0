//! OpenTelemetry traces (`callbacks: ["otel"]`), received by a real OTLP/HTTP receiver that
//! decodes the protobuf (tests/python/otlp_receiver.py): the span tree of a request that retried
//! once and fell back once, joined to the client's trace, with each attempt's context sent
//! upstream; and a stuck collector that never costs a request.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::{json, Value};

const SERVER: i64 = 2;
const CLIENT: i64 = 3;
const STATUS_ERROR: i64 = 2;

struct Receiver {
    child: Child,
    port: u16,
    spans: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start(hang: bool) -> Self {
        let mut cmd = Command::new("python3");
        cmd.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/otlp_receiver.py"
        ));
        if hang {
            cmd.arg("--hang");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with opentelemetry-proto (tests/run.sh installs it)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().unwrap().unwrap();
        let port = ready
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("receiver did not start: {ready}"))
            .parse()
            .unwrap();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = spans.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&line).unwrap());
            }
        });
        Self { child, port, spans }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The spans of `trace_id`, once `n` of them have arrived.
    fn trace(&self, trace_id: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got: Vec<Value> = self
                .spans
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s["trace_id"] == trace_id)
                .cloned()
                .collect();
            if got.len() >= n || Instant::now() > deadline {
                assert_eq!(got.len(), n, "spans of trace {trace_id}: {got:#?}");
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn traced_gateway(yaml: &str, receiver: &Receiver, extra_env: &[(&str, &str)]) -> Gateway {
    let endpoint = receiver.endpoint();
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    env.extend_from_slice(extra_env);
    Gateway::start_with(yaml, &env, &[])
}

fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    &span["attributes"][key]
}

#[test]
fn a_request_that_retried_and_fell_back_is_one_trace_with_a_span_per_attempt() {
    let receiver = Receiver::start(false);
    let main = MockUpstream::start();
    let backup = MockUpstream::start();
    main.set_default(Reply::error(
        500,
        "The server had an error processing your request.",
    ));
    backup.set_default(Reply::chat("from the backup"));
    let yaml = format!(
        "model_list:\n  - model_name: main\n    litellm_params: {{model: openai/gpt-4o, api_key: sk-0123456789, api_base: '{}'}}\n    model_info: {{id: main-1}}\n  - model_name: backup\n    litellm_params: {{model: openai/gpt-4o-mini, api_key: sk-0123456789, api_base: '{}'}}\n    model_info: {{id: backup-1}}\nrouter_settings:\n  num_retries: 1\n  retry_after: 0\n  fallbacks: [{{main: [backup]}}]\nlitellm_settings:\n  callbacks: [otel]\n",
        main.base_url(),
        backup.base_url()
    );
    let gw = traced_gateway(&yaml, &receiver, &[]);
    let client_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let client_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{client_trace}-{client_span}-01");
    let r = gw.post_with(
        "/v1/chat/completions",
        &json!({"model": "main", "messages": [{"role": "user", "content": "hi"}]}),
        &[("traceparent", traceparent.as_str())],
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-litellm-attempted-fallbacks"), Some("1"));

    let spans = receiver.trace(client_trace, 4);
    let request: Vec<&Value> = spans.iter().filter(|s| s["kind"] == SERVER).collect();
    assert_eq!(request.len(), 1, "{spans:#?}");
    let request = request[0];
    assert_eq!(
        request["parent_span_id"], client_span,
        "joined to the client's span"
    );
    assert_eq!(request["name"], "chat main");
    assert_eq!(request["scope"], "switchyard");
    assert_eq!(request["resource"]["service.name"], "switchyard");
    assert!(request["resource"]["service.instance.id"].is_string());
    assert_eq!(attr(request, "gen_ai.operation.name"), "chat");
    assert_eq!(attr(request, "gen_ai.request.model"), "main");
    assert_eq!(attr(request, "gen_ai.response.model"), "gpt-4o-mini");
    assert_eq!(attr(request, "gen_ai.system"), "openai");
    assert_eq!(attr(request, "switchyard.deployment_id"), "backup-1");
    assert_eq!(attr(request, "switchyard.model_group"), "backup");
    assert_eq!(attr(request, "switchyard.attempts"), 3);
    assert_eq!(attr(request, "switchyard.cache"), "off");
    assert_eq!(attr(request, "switchyard.outcome"), "ok");
    assert_eq!(attr(request, "http.response.status_code"), 200);
    assert!(attr(request, "gen_ai.usage.input_tokens").as_i64().unwrap() > 0);
    assert!(
        attr(request, "gen_ai.usage.output_tokens")
            .as_i64()
            .unwrap()
            > 0
    );
    assert_ne!(request["status_code"], STATUS_ERROR);

    let mut attempts: Vec<&Value> = spans.iter().filter(|s| s["kind"] == CLIENT).collect();
    attempts.sort_by_key(|s| attr(s, "switchyard.attempt").as_i64().unwrap());
    assert_eq!(attempts.len(), 3);
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["parent_span_id"], request["span_id"], "attempt {i}");
        assert_eq!(attr(a, "switchyard.attempt"), i64::try_from(i + 1).unwrap());
        assert!(a["start_ns"].as_u64() >= request["start_ns"].as_u64());
        assert!(a["end_ns"].as_u64() <= request["end_ns"].as_u64());
    }
    for retried in &attempts[..2] {
        assert_eq!(attr(retried, "switchyard.deployment_id"), "main-1");
        assert_eq!(attr(retried, "gen_ai.request.model"), "gpt-4o");
        assert_eq!(attr(retried, "error.type"), "InternalServerError");
        assert_eq!(attr(retried, "http.response.status_code"), 500);
        assert_eq!(retried["status_code"], STATUS_ERROR);
    }
    let answered = attempts[2];
    assert_eq!(attr(answered, "switchyard.deployment_id"), "backup-1");
    assert_eq!(attr(answered, "switchyard.model_group"), "backup");
    assert_eq!(attr(answered, "gen_ai.request.model"), "gpt-4o-mini");
    assert_eq!(attr(answered, "http.response.status_code"), 200);
    assert!(
        attr(answered, "gen_ai.usage.output_tokens")
            .as_i64()
            .unwrap()
            > 0
    );

    // Each attempt carried its own span's context upstream (vLLM's traces join here).
    let sent = |up: &MockUpstream| -> Vec<String> {
        up.requests()
            .iter()
            .map(|r| {
                r.headers
                    .iter()
                    .find(|(k, _)| k == "traceparent")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect()
    };
    let expected = |a: &Value| format!("00-{client_trace}-{}-01", a["span_id"].as_str().unwrap());
    assert_eq!(
        sent(&main),
        vec![expected(attempts[0]), expected(attempts[1])]
    );
    assert_eq!(sent(&backup), vec![expected(attempts[2])]);

    // A stream: its attempt ends with the stream, with the usage the stream reported.
    let mut stream = gw.post_stream(
        "/v1/chat/completions",
        &json!({"model": "backup", "stream": true, "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": "stream it"}]}),
        &[(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )],
    );
    assert_eq!(stream.status, 200);
    while stream.next_event().is_some() {}
    let spans = receiver.trace("0af7651916cd43dd8448eb211c80319c", 2);
    let request = spans.iter().find(|s| s["kind"] == SERVER).unwrap();
    let attempt = spans.iter().find(|s| s["kind"] == CLIENT).unwrap();
    assert_eq!(attr(request, "switchyard.stream"), true);
    assert_eq!(attr(request, "switchyard.outcome"), "ok");
    assert_eq!(attr(attempt, "http.response.status_code"), 200);
    assert!(
        attr(attempt, "gen_ai.usage.output_tokens")
            .as_i64()
            .unwrap()
            > 0,
        "{spans:#?}"
    );
    assert_eq!(attempt["parent_span_id"], request["span_id"]);
}

#[test]
fn a_stuck_collector_never_fails_a_request_nor_holds_the_shutdown() {
    let receiver = Receiver::start(true);
    let up = MockUpstream::start();
    up.set_default(Reply::chat("fine"));
    let yaml = format!(
        "model_list:\n  - model_name: qwen\n    litellm_params: {{model: hosted_vllm/Qwen/Qwen3-0.6B, api_base: '{}'}}\nlitellm_settings:\n  callbacks: [otel]\n",
        up.base_url()
    );
    let mut gw = traced_gateway(
        &yaml,
        &receiver,
        &[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
            ("OTEL_BSP_SCHEDULE_DELAY", "20"),
        ],
    );
    // Far more spans than the queue holds, while every export hangs until its timeout.
    for i in 0..300 {
        let r = gw.post(
            "/v1/chat/completions",
            &json!({"model": "qwen", "messages": [{"role": "user", "content": format!("n{i}")}]}),
        );
        assert_eq!(r.status, 200, "request {i}: {}", r.text);
    }
    gw.sigterm();
    let exit = gw.wait_exit(Duration::from_secs(20));
    assert!(
        exit.is_some_and(|s| s.success()),
        "the gateway stops cleanly: {exit:?}\n{}",
        gw.logs()
    );
}
