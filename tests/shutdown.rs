//! SIGTERM: stop accepting, let in-flight streams finish, exit 0.

// Harness code in this test crate: a panic fails the test, which is what it is for.
#![allow(clippy::expect_used)]

mod common;

use std::time::Duration;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::json;

/// A gateway with `--grace-period grace`, an upstream streaming `pieces` chunks `delay_ms`
/// apart, a stream opened through it and its first chunk read; then SIGTERM.
fn stream_then_sigterm(
    pieces: usize,
    delay_ms: u64,
    grace: &str,
) -> (MockUpstream, Gateway, common::gateway::StreamResp, String) {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: (0..pieces).map(|i| format!("w{i} ")).collect(),
        delay_ms,
        cut_after: None,
    });
    let yaml = format!("model_list:\n  - model_name: g\n    litellm_params: {{model: openai/m, api_key: k, api_base: '{}'}}\n", mock.base_url());
    let gw = Gateway::start_with(&yaml, &[], &["--grace-period", grace]);
    let body =
        json!({"model": "g", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let mut s = gw.post_stream("/v1/chat/completions", &body, &[]);
    assert_eq!(s.status, 200);
    let first = s.next_event().expect("first chunk").0;
    gw.sigterm();
    (mock, gw, s, first)
}

#[test]
fn sigterm_drains_in_flight_streams_then_exits_zero() {
    let (_mock, mut gw, mut s, first) = stream_then_sigterm(6, 250, "20");
    std::thread::sleep(Duration::from_millis(300));
    let refused = std::net::TcpStream::connect_timeout(
        &format!("127.0.0.1:{}", gw.port).parse().unwrap(),
        Duration::from_millis(500),
    );
    assert!(refused.is_err(), "no new connections after SIGTERM");
    let mut rest = vec![first];
    while let Some((data, _)) = s.next_event() {
        rest.push(data);
    }
    assert_eq!(
        rest.last().map(String::as_str),
        Some("[DONE]"),
        "the in-flight stream finished: {rest:?}"
    );
    assert_eq!(rest.iter().filter(|e| e.contains("\"content\"")).count(), 6);
    let status = gw
        .wait_exit(Duration::from_secs(10))
        .expect("exited after draining");
    assert!(status.success(), "exit status {status:?}");
    assert!(gw.logs().contains("draining"));
}

#[test]
fn a_stream_still_open_when_the_grace_period_ends_gets_an_error_event() {
    // Twenty pieces, 500 ms apart: ten seconds, far past a one-second grace period.
    let (_mock, mut gw, mut s, first) = stream_then_sigterm(20, 500, "1");
    let mut events = vec![first];
    while let Some((data, _)) = s.next_event() {
        events.push(data);
    }
    let last = events.last().cloned().unwrap_or_default();
    assert_ne!(
        last, "[DONE]",
        "a cut answer must not look complete: {events:?}"
    );
    let err: serde_json::Value = serde_json::from_str(&last).expect("the last event is JSON");
    assert_eq!(err["error"]["code"], "503", "{last}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{last}"
    );
    assert!(
        events.len() < 20,
        "the stream was cut, not finished: {events:?}"
    );
    let status = gw
        .wait_exit(Duration::from_secs(10))
        .expect("exited after the grace period");
    assert!(status.success(), "exit status {status:?}");
    assert!(gw.logs().contains("cut_at_shutdown"), "{}", gw.logs());
}
