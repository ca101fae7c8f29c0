//! Where every request ends: one typed `Outcome` and one `Settlement` per request, written once
//! (the log line now; metrics and traces read the same record). Every ending goes through
//! here: a JSON answer, a stream that completed, failed or was cut at shutdown, a cache hit, a
//! request the router gave up on, a client that went away, a request refused before routing.
//! Success bookkeeping for a deployment (its gate, the cluster-wide token count) is in one
//! function, and the `x-litellm-*` headers are built in one place.

use std::time::{Duration, Instant};

use actix_web::HttpResponseBuilder;
use switchyard_actors::clock::{now_ms, saturating_micros};
use switchyard_actors::gate::Admission;
use switchyard_actors::ErrorClass;

use crate::openai::Usage;

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An upstream answer: JSON, or a stream that completed.
    Answered,
    /// Answered from the response cache.
    CacheHit,
    /// A stream that began and then failed (upstream error, cut, idle timeout).
    StreamFailed(ErrorClass),
    /// The router gave up: every attempt and fallback failed (or the gateway could not route).
    Failed(ErrorClass),
    /// Refused before routing (bad request, authentication, limits).
    Rejected,
    /// The client went away before the answer was complete.
    ClientClosed,
    /// The shutdown grace period ended the stream.
    CutAtShutdown,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Answered => "ok",
            Self::CacheHit => "cache_hit",
            Self::StreamFailed(_) => "stream_error",
            Self::Failed(_) => "error",
            Self::Rejected => "rejected",
            Self::ClientClosed => "client_closed",
            Self::CutAtShutdown => "cut_at_shutdown",
        }
    }
}

/// One request's record, settled when it is dropped (for a stream: when the stream ends or
/// the client goes away).
pub struct Settlement {
    pub call_id: String,
    pub model_group: String,
    /// The deployment that answered (or failed mid-stream); `cache` for a hit.
    pub deployment: String,
    pub attempts: u32,
    pub status: u16,
    pub stream: bool,
    pub usage: Usage,
    pub outcome: Outcome,
    pub started: Instant,
}

impl Settlement {
    /// A request on its way: until an answer is chosen, dropping it means the client went
    /// away (nginx's 499).
    pub fn begin(call_id: &str, model_group: &str, stream: bool, started: Instant) -> Self {
        Self {
            call_id: call_id.to_string(),
            model_group: model_group.to_string(),
            deployment: String::new(),
            attempts: 0,
            status: 499,
            stream,
            usage: Usage::default(),
            outcome: Outcome::ClientClosed,
            started,
        }
    }

    pub fn end(&mut self, outcome: Outcome, status: u16) {
        self.outcome = outcome;
        self.status = status;
    }

    /// A request refused before routing: settled at once.
    pub fn rejected(call_id: &str, status: u16, reason: &dyn std::fmt::Display) {
        tracing::info!(
            target: "switchyard::request",
            call_id,
            status,
            outcome = Outcome::Rejected.name(),
            reason = %reason,
            "request"
        );
    }
}

impl Drop for Settlement {
    fn drop(&mut self) {
        tracing::info!(
            target: "switchyard::request",
            call_id = %self.call_id,
            model_group = %self.model_group,
            deployment = %self.deployment,
            attempts = self.attempts,
            status = self.status,
            stream = self.stream,
            outcome = self.outcome.name(),
            // Rounded to the microsecond: `0.432`, not `0.43162300000000003`.
            latency_ms = (self.started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
            prompt_tokens = self.usage.prompt_tokens,
            completion_tokens = self.usage.completion_tokens,
            "request"
        );
    }
}

/// A deployment answered in full: its gate learns the latency (time to first token for a
/// stream) and the tokens, the cluster-wide token window gets them, the record its usage.
pub fn succeed(
    admission: Admission,
    tokens_sink: Option<Box<dyn FnOnce(u64)>>,
    latency: Duration,
    usage: Usage,
    settlement: &mut Settlement,
) {
    if let Some(sink) = tokens_sink {
        sink(usage.total_tokens);
    }
    admission.succeed(now_ms(), saturating_micros(latency), usage.total_tokens);
    settlement.usage = usage;
    settlement.end(Outcome::Answered, 200);
}

/// What the `x-litellm-*` headers of an answer say.
pub struct AnswerHeaders<'a> {
    pub call_id: &'a str,
    pub model_group: &'a str,
    /// The deployment that answered and its public api_base; `None` for a cache hit.
    pub deployment: Option<(&'a str, &'a str)>,
    pub retries: u32,
    pub fallbacks: u32,
}

/// The `x-litellm-*` headers LiteLLM's clients read, on every answer.
pub fn answer_headers(b: &mut HttpResponseBuilder, h: &AnswerHeaders<'_>) {
    b.insert_header(("x-litellm-call-id", h.call_id))
        .insert_header(("x-litellm-model-group", h.model_group));
    if let Some((id, api_base)) = h.deployment {
        b.insert_header(("x-litellm-model-id", id))
            .insert_header(("x-litellm-model-api-base", api_base));
    }
    b.insert_header(("x-litellm-attempted-retries", h.retries.to_string()))
        .insert_header(("x-litellm-attempted-fallbacks", h.fallbacks.to_string()));
}

/// Total time and the gateway's own share of it, as LiteLLM reports them.
pub fn duration_headers(b: &mut HttpResponseBuilder, started: Instant, upstream: Option<Duration>) {
    let total = started.elapsed();
    b.insert_header((
        "x-litellm-response-duration-ms",
        format!("{:.3}", total.as_secs_f64() * 1000.0),
    ));
    if let Some(upstream) = upstream {
        b.insert_header((
            "x-litellm-overhead-duration-ms",
            format!(
                "{:.3}",
                total.saturating_sub(upstream).as_secs_f64() * 1000.0
            ),
        ));
    }
}
