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
