//! SIGTERM: stop accepting, let in-flight streams finish, exit 0.

mod common;

use std::time::Duration;

use common::gateway::Gateway;
use common::mock::{MockUpstream, Reply};
use serde_json::json;

#[test]
fn sigterm_drains_in_flight_streams_then_exits_zero() {
    let mock = MockUpstream::start();
    mock.set_default(Reply::Stream {
        chunks: (0..6).map(|i| format!("w{i} ")).collect(),
        delay_ms: 250,
        cut_after: None,
    });
    let yaml = format!("model_list:\n  - model_name: g\n    litellm_params: {{model: openai/m, api_key: k, api_base: '{}'}}\n", mock.base_url());
    let mut gw = Gateway::start_with(&yaml, &[], &["--grace-period", "20"]);
    let body =
        json!({"model": "g", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let mut s = gw.post_stream("/v1/chat/completions", &body, &[]);
    assert_eq!(s.status, 200);
    let first = s.next_event().expect("first chunk");
    gw.sigterm();
    std::thread::sleep(Duration::from_millis(300));
    let refused = std::net::TcpStream::connect_timeout(
        &format!("127.0.0.1:{}", gw.port).parse().unwrap(),
        Duration::from_millis(500),
    );
    assert!(refused.is_err(), "no new connections after SIGTERM");
    let mut rest = vec![first.0];
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
    let mock = MockUpstream::start();
    // Twenty pieces, 500 ms apart: ten seconds, far past a one-second grace period.
    mock.set_default(Reply::Stream {
        chunks: (0..20).map(|i| format!("w{i} ")).collect(),
        delay_ms: 500,
        cut_after: None,
    });
    let yaml = format!("model_list:\n  - model_name: g\n    litellm_params: {{model: openai/m, api_key: k, api_base: '{}'}}\n", mock.base_url());
    let mut gw = Gateway::start_with(&yaml, &[], &["--grace-period", "1"]);
    let body =
        json!({"model": "g", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let mut s = gw.post_stream("/v1/chat/completions", &body, &[]);
    assert_eq!(s.status, 200);
    let first = s.next_event().expect("first chunk");
    gw.sigterm();
    let mut events = vec![first.0];
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
