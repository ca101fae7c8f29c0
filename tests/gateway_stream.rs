//! Streaming: chunks relayed as they arrive, retries before the first byte, honest endings.

mod common;

use common::stream_content as content;

use std::time::Duration;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::{json, Value};

fn stream_body(model: &str) -> Value {
    json!({"model": model, "stream": true, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": "Tell me a story"}]})
}

fn config(mocks: &[(&str, &MockUpstream)], extra: &str) -> String {
    let mut yaml = String::from("model_list:\n");
    for (id, mock) in mocks {
        yaml.push_str(&format!(
            "  - model_name: g\n    litellm_params: {{model: openai/upstream-model, api_key: sk-x, api_base: '{}'}}\n    model_info: {{id: {id}}}\n",
            mock.base_url()
        ));
    }
    yaml.push_str(extra);
    yaml
}

#[test]
fn chunks_reach_the_client_before_the_upstream_finishes() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: vec!["one ".into(), "two ".into(), "three".into()],
        delay_ms: 300,
        cut_after: None,
    });
    let gw = Gateway::start(&config(&[("s", &mock)], ""));
    let mut s = gw.post_stream("/v1/chat/completions", &stream_body("g"), &[]);
    assert_eq!(s.status, 200);
    assert!(s
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(s.header("x-litellm-model-id"), Some("s"));
    let mut events = Vec::new();
    while let Some(ev) = s.next_event() {
        events.push(ev);
    }
    let (first, last) = (events.first().unwrap().1, events.last().unwrap().1);
    assert!(
        last - first >= Duration::from_millis(450),
        "events were spread out, not buffered: {:?}",
        last - first
    );
    let data: Vec<String> = events.into_iter().map(|(d, _)| d).collect();
    assert_eq!(content(&data), "one two three");
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunk: Value = serde_json::from_str(&data[0]).unwrap();
    assert_eq!(
        chunk["model"], "g",
        "chunks name the requested model, as non-streamed answers do"
    );
    assert!(data.iter().any(|d| d.contains("finish_reason\":\"stop")));
    assert!(
        data.iter().any(|d| d.contains("\"usage\"")),
        "include_usage is passed through"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(gw.logs().contains("stream=true"));
}

#[test]
fn a_failure_before_the_first_chunk_is_retried_elsewhere() {
    let (bad, good) = (MockUpstream::start(), MockUpstream::start());
    bad.set_default(Reply::error(500, "stream failed to start"));
    good.set_default(Reply::Stream {
        chunks: vec!["ok".into()],
        delay_ms: 0,
        cut_after: None,
    });
    let gw = Gateway::start(&config(
        &[("bad", &bad), ("good", &good)],
        "router_settings:\n  disable_cooldowns: true\n",
    ));
    for _ in 0..10 {
        let s = gw.post_stream("/v1/chat/completions", &stream_body("g"), &[]);
        assert_eq!(s.status, 200);
        assert_eq!(s.header("x-litellm-model-id"), Some("good"));
        let events = s.collect_all();
        assert_eq!(content(&events), "ok");
    }
    assert!(bad.count() > 0);
}

#[test]
fn an_upstream_cut_mid_stream_ends_with_an_error_event_not_a_fake_stop() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: vec!["a ".into(), "b ".into(), "c ".into(), "d".into()],
        delay_ms: 20,
        cut_after: Some(2),
    });
    let gw = Gateway::start(&config(&[("s", &mock)], ""));
    let s = gw.post_stream("/v1/chat/completions", &stream_body("g"), &[]);
    assert_eq!(s.status, 200);
    let events = s.collect_all();
    assert_eq!(content(&events), "a b ");
    let last: Value = serde_json::from_str(events.last().unwrap()).expect("a JSON error event");
    assert!(
        last["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("stream")),
        "{last}"
    );
    assert!(
        !events.iter().any(|e| e == "[DONE]"),
        "no [DONE] after a cut"
    );
    assert!(
        !events
            .iter()
            .any(|e| e.contains("\"finish_reason\":\"stop\"")),
        "no fake finish"
    );
    assert_eq!(mock.count(), 1, "no retry once bytes reached the client");
}

#[test]
fn a_silent_upstream_times_out_before_the_first_chunk_as_a_408() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: vec!["late".into()],
        delay_ms: 3000,
        cut_after: None,
    });
    let gw = Gateway::start(&config(
        &[("s", &mock)],
        "router_settings:\n  num_retries: 0\n  stream_timeout: 0.5\n",
    ));
    let r = gw.post("/v1/chat/completions", &stream_body("g"));
    assert_eq!(r.status, 408, "{}", r.text);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("timed out"));
}

#[test]
fn mock_response_deployments_stream_without_an_upstream() {
    let gw = Gateway::start("model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, mock_response: 'hi there friend'}\n");
    let s = gw.post_stream("/v1/chat/completions", &stream_body("m"), &[]);
    assert_eq!(s.status, 200);
    let events = s.collect_all();
    assert_eq!(content(&events), "hi there friend");
    assert_eq!(events.last().unwrap(), "[DONE]");
}
