//! One log line per request, written when the request is done (for a stream: when it ends).

use std::time::Instant;

pub struct RequestLog {
    pub call_id: String,
    pub model_group: String,
    pub deployment: String,
    pub attempts: u32,
    pub status: u16,
    pub stream: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub outcome: &'static str,
    pub started: Instant,
}

impl RequestLog {
    pub fn new(call_id: &str, model_group: &str, stream: bool, started: Instant) -> Self {
        Self {
            call_id: call_id.to_string(),
            model_group: model_group.to_string(),
            deployment: String::new(),
            attempts: 0,
            status: 0,
            stream,
            prompt_tokens: 0,
            completion_tokens: 0,
            outcome: "ok",
            started,
        }
    }
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        tracing::info!(
            target: "switchyard::request",
            call_id = %self.call_id,
            model_group = %self.model_group,
            deployment = %self.deployment,
            attempts = self.attempts,
            status = self.status,
            stream = self.stream,
            outcome = self.outcome,
            // Rounded to the microsecond: `0.432`, not `0.43162300000000003`.
            latency_ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
            prompt_tokens = self.prompt_tokens,
            completion_tokens = self.completion_tokens,
            "request"
        );
    }
}
