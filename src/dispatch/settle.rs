//! Where every request ends: one typed `Outcome` and one `Settlement` per request, written once
//! (the log line now; metrics and traces read the same record). Every ending goes through
//! here: a JSON answer, a stream that completed, failed or was cut at shutdown, a cache hit, a
//! request the router gave up on, a client that went away, a request refused before routing.
//! Success bookkeeping for a deployment (its gate, the cluster-wide token count) is in one
//! function, and the `x-litellm-*` headers are built in one place.

use std::time::{Duration, Instant};

use actix_web::http::header::HeaderName;
use actix_web::HttpResponseBuilder;
use switchyard_actors::clock::{now_ms, saturating_micros};
use switchyard_actors::gate::Admission;
use switchyard_actors::ErrorClass;

use switchyard_actors::DeploymentIdx;

use super::{ClientFacts, Prepared};
use crate::metrics::{capitalized, FailedAttempt, Fallback, Record, WorkerMetrics};
use crate::openai::Usage;
use crate::traces::{Ending, RequestTrace};

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
    /// The worker's metrics and who called: set for requests that are routed.
    pub metrics: Option<(WorkerMetrics, ClientFacts)>,
    /// The deployment tried last (its index) and its group.
    pub deployment_idx: Option<DeploymentIdx>,
    pub served_group: String,
    /// The upstream call that answered, and its first token (streams).
    pub upstream: Option<Duration>,
    pub first_token: Option<Duration>,
    /// LiteLLM's name for the failure (`Openai.RateLimitError`).
    pub exception_class: Option<String>,
    /// The request's spans, when tracing is on (boxed: a Settlement lives in every request's
    /// future, and the spans are large).
    pub trace: Option<Box<RequestTrace>>,
    /// The generation the request was prepared under (its deployments' labels).
    pub gen: Option<std::sync::Arc<crate::generation::Generation>>,
    /// The response cache was asked (a miss unless the outcome is a hit).
    pub cache_looked_up: bool,
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
            metrics: None,
            deployment_idx: None,
            served_group: model_group.to_string(),
            upstream: None,
            first_token: None,
            exception_class: None,
            trace: None,
            gen: None,
            cache_looked_up: false,
        }
    }

    /// The labels of the deployment tried last.
    fn labels(&self) -> Option<&crate::metrics::DeploymentLabels> {
        self.gen.as_ref()?.labels(self.deployment_idx?)
    }

    /// A routed request's record: its metrics handle and, when tracing is on, its span.
    pub fn of(p: &Prepared, metrics: &WorkerMetrics, stream: bool) -> Self {
        let mut s = Self::begin(&p.call_id, &p.requested_model, stream, p.started);
        s.trace = RequestTrace::begin(
            p.endpoint.operation(),
            &p.requested_model,
            &p.client.route,
            &p.call_id,
            stream,
            p.client.traceparent.as_deref(),
            p.started,
        )
        .map(Box::new);
        s.metrics = Some((metrics.clone(), p.client.clone()));
        s.gen = Some(p.gen.clone());
        s
    }

    /// An attempt goes to this deployment of this group.
    pub fn tried(&mut self, deployment: DeploymentIdx, group: &str) {
        self.deployment_idx = Some(deployment);
        if self.served_group != group {
            self.served_group = group.to_string();
        }
    }

    /// The request failed with this class (on the deployment tried last, when there was one).
    pub fn failed_with(&mut self, class: ErrorClass) {
        let provider = self.labels().map(|l| l.api_provider.as_str());
        self.exception_class = Some(exception_class(provider, class));
    }

    pub fn end(&mut self, outcome: Outcome, status: u16) {
        self.outcome = outcome;
        self.status = status;
    }

    /// A request refused before routing: settled at once (log line and metrics).
    pub fn rejected(
        metrics: &WorkerMetrics,
        req: &actix_web::HttpRequest,
        call_id: &str,
        reason: &crate::error::GatewayError,
    ) {
        let status = reason.status().as_u16();
        let client = ClientFacts::of(req);
        metrics.record(&Record {
            route: &client.route,
            requested_model: "",
            model_group: "",
            deployment: None,
            status,
            exception_class: Some("ProxyException"),
            cache_hit: false,
            prompt_tokens: 0,
            completion_tokens: 0,
            total: Duration::ZERO,
            upstream: None,
            first_token: None,
            client_ip: client.ip,
            user_agent: &client.user_agent,
        });
        crate::traces::rejected(
            &client.route,
            call_id,
            client.traceparent.as_deref(),
            status,
            &reason.to_string(),
        );
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

/// LiteLLM's exception class label: the provider, capitalised, and the error's class name.
pub fn exception_class(provider: Option<&str>, class: ErrorClass) -> String {
    match provider {
        Some(p) => format!("{}.{}", capitalized(p), class.name()),
        None => class.name().to_string(),
    }
}

impl Settlement {
    fn record_metrics(&self) {
        let Some((m, client)) = &self.metrics else {
            return;
        };
        let exception_class = match self.outcome {
            Outcome::Answered | Outcome::CacheHit => None,
            // The client went away: LiteLLM's proxy counts it as a failed request too.
            Outcome::ClientClosed | Outcome::CutAtShutdown | Outcome::Rejected => {
                Some(self.exception_class.as_deref().unwrap_or("ProxyException"))
            }
            Outcome::StreamFailed(_) | Outcome::Failed(_) => self.exception_class.as_deref(),
        };
        let slot = self
            .gen
            .as_ref()
            .zip(self.deployment_idx)
            .and_then(|(g, d)| g.slot(d));
        if let (Outcome::StreamFailed(class), Some(d), Some(l)) =
            (self.outcome, slot, self.labels())
        {
            // The deployment failed after it began answering: a failed attempt too.
            m.attempt_failed(&FailedAttempt {
                deployment: d,
                provider: &l.api_provider,
                requested_model: &self.model_group,
                model_group: &self.served_group,
                status: class.client_status(),
                class: class.name(),
                client_ip: client.ip,
                user_agent: &client.user_agent,
            });
        }
        m.record(&Record {
            route: &client.route,
            requested_model: &self.model_group,
            model_group: &self.served_group,
            deployment: slot,
            status: self.status,
            exception_class,
            cache_hit: self.outcome == Outcome::CacheHit,
            prompt_tokens: self.usage.prompt_tokens,
            completion_tokens: self.usage.completion_tokens,
            total: self.started.elapsed(),
            upstream: self.upstream,
            first_token: self.first_token,
            client_ip: client.ip,
            user_agent: &client.user_agent,
        });
    }
}

impl Settlement {
    fn finish_trace(&mut self) {
        let Some(trace) = self.trace.take() else {
            return;
        };
        let labels = self.labels();
        let error = match self.outcome {
            Outcome::Answered | Outcome::CacheHit => None,
            Outcome::Rejected | Outcome::ClientClosed | Outcome::CutAtShutdown => {
                Some(self.exception_class.as_deref().unwrap_or("ProxyException"))
            }
            Outcome::StreamFailed(c) | Outcome::Failed(c) => {
                Some(self.exception_class.as_deref().unwrap_or(c.name()))
            }
        };
        let cache = match (self.outcome, self.cache_looked_up) {
            (Outcome::CacheHit, _) => "hit",
            (_, true) => "miss",
            (_, false) => "off",
        };
        let answered_by = (self.outcome != Outcome::CacheHit)
            .then_some(labels)
            .flatten();
        trace.finish(&Ending {
            status: self.status,
            outcome: self.outcome.name(),
            error,
            cache,
            attempts: self.attempts,
            deployment_id: answered_by.map(|l| l.model_id.as_str()),
            model_group: &self.served_group,
            response_model: answered_by.map(|l| l.litellm_model_name.as_str()),
            provider: answered_by.map(|l| l.api_provider.as_str()),
            input_tokens: self.usage.prompt_tokens,
            output_tokens: self.usage.completion_tokens,
        });
    }
}

impl Drop for Settlement {
    fn drop(&mut self) {
        self.record_metrics();
        self.finish_trace();
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

// Header names as constants: a `&str` name is parsed and validated on every insert (a few
// hundred instructions each, eight of them on every answer).
const CALL_ID: HeaderName = HeaderName::from_static("x-litellm-call-id");
const MODEL_GROUP: HeaderName = HeaderName::from_static("x-litellm-model-group");
const MODEL_ID: HeaderName = HeaderName::from_static("x-litellm-model-id");
const MODEL_API_BASE: HeaderName = HeaderName::from_static("x-litellm-model-api-base");
const RETRIES: HeaderName = HeaderName::from_static("x-litellm-attempted-retries");
const FALLBACKS: HeaderName = HeaderName::from_static("x-litellm-attempted-fallbacks");
const RESPONSE_DURATION: HeaderName = HeaderName::from_static("x-litellm-response-duration-ms");
const OVERHEAD_DURATION: HeaderName = HeaderName::from_static("x-litellm-overhead-duration-ms");

/// The `x-litellm-*` headers LiteLLM's clients read, on every answer.
pub fn answer_headers(b: &mut HttpResponseBuilder, h: &AnswerHeaders<'_>) {
    b.insert_header((CALL_ID, h.call_id))
        .insert_header((MODEL_GROUP, h.model_group));
    if let Some((id, api_base)) = h.deployment {
        b.insert_header((MODEL_ID, id))
            .insert_header((MODEL_API_BASE, api_base));
    }
    b.insert_header((RETRIES, h.retries.to_string()))
        .insert_header((FALLBACKS, h.fallbacks.to_string()));
}

/// Total time and the gateway's own share of it, as LiteLLM reports them.
pub fn duration_headers(b: &mut HttpResponseBuilder, started: Instant, upstream: Option<Duration>) {
    let total = started.elapsed();
    b.insert_header((
        RESPONSE_DURATION,
        format!("{:.3}", total.as_secs_f64() * 1000.0),
    ));
    if let Some(upstream) = upstream {
        b.insert_header((
            OVERHEAD_DURATION,
            format!(
                "{:.3}",
                total.saturating_sub(upstream).as_secs_f64() * 1000.0
            ),
        ));
    }
}

/// The fallbacks of one request, for LiteLLM's fallback counters: the failure that started
/// them, and the fallback group that is failing now.
#[derive(Default)]
pub struct FallbackTrail {
    original: Option<(u16, String)>,
    failing: Option<String>,
}

impl FallbackTrail {
    /// An attempt in `group` failed (`original`: the group the client asked for, `requested`).
    pub fn failed(
        &mut self,
        metrics: &WorkerMetrics,
        requested: &str,
        group: &str,
        status: u16,
        class: String,
    ) {
        if group == requested {
            self.original.get_or_insert((status, class));
        } else if self.failing.as_deref() != Some(group) {
            self.close(metrics, requested, None);
            self.failing = Some(group.to_string());
        }
    }

    /// The next attempt goes to `group`: a fallback group left behind failed.
    pub fn attempt_in(&mut self, metrics: &WorkerMetrics, requested: &str, group: &str) {
        if self.failing.as_deref().is_some_and(|g| g != group) {
            self.close(metrics, requested, None);
        }
    }

    /// The request ended; `answered_by`: the fallback group that answered, if one did.
    pub fn end(&mut self, metrics: &WorkerMetrics, requested: &str, answered_by: Option<&str>) {
        if answered_by.is_some_and(|g| self.failing.as_deref() == Some(g)) {
            self.failing = None;
        }
        self.close(metrics, requested, None);
        if let Some(group) = answered_by {
            self.close(metrics, requested, Some(group));
        }
    }

    fn close(&mut self, metrics: &WorkerMetrics, requested: &str, succeeded: Option<&str>) {
        let target = match succeeded {
            Some(g) => Some(g.to_string()),
            None => self.failing.take(),
        };
        let Some(target) = target else {
            return;
        };
        let (status, class) = self
            .original
            .as_ref()
            .map_or((0, "None"), |(s, c)| (*s, c.as_str()));
        metrics.fallback(&Fallback {
            requested_model: requested,
            fallback_model: &target,
            status,
            class,
            succeeded: succeeded.is_some(),
        });
    }
}
