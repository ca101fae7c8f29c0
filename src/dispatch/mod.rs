//! The request lifecycle after parsing: ask the supervisor for a deployment, call it, report,
//! and repeat until an answer or a final error. Bytes never go through the actors.

pub mod attempt;
pub mod cache_step;
pub mod cached;
pub mod cluster;
pub mod inline_images;
pub mod relay;
pub mod settle;

use std::time::Instant;

use actix_web::HttpResponse;
use serde_json::{Map, Value};
use switchyard_actors::clock::saturating_millis;

use switchyard_actors::plan::{
    AttemptError, AttemptFailure, FinalError, RequestOverrides, RequestProgress,
};
use switchyard_actors::seconds::Seconds;
use switchyard_actors::supervisor::{Grant, NextStep, Step};
use switchyard_actors::{ErrorClass, GroupIdx};

use crate::cache::control::CacheControl;
use crate::cache::entry::has_output;
use crate::error::GatewayError;
use crate::metrics::FailedAttempt;
use crate::openai::Endpoint;
use crate::providers::native::NativeBody;
use crate::state::{AppState, Worker};

use attempt::{Answer, Answered};
use cache_step::CacheStep;
use relay::{PendingStore, StreamEnd};
use settle::{AnswerHeaders, Outcome, Settlement};

/// A validated client request, ready to route.
pub struct Prepared {
    pub endpoint: Endpoint,
    pub group: GroupIdx,
    /// The `model` the client sent (a group, an alias or a deployment id).
    pub requested_model: String,
    /// The client's body without the router-only fields.
    pub body: Map<String, Value>,
    pub stream: bool,
    pub include_usage: bool,
    pub overrides: RequestOverrides,
    pub timeout: Option<Seconds>,
    pub stream_timeout: Option<Seconds>,
    pub mock_response: Option<String>,
    pub drop_params: Option<bool>,
    pub cache_control: CacheControl,
    /// Set when a streamed answer must be assembled for the cache as it is relayed.
    pub collect_stream: bool,
    pub call_id: String,
    pub started: Instant,
    /// Who called and where, for the metrics' `route`, `client_ip` and `user_agent` labels.
    pub client: ClientFacts,
    /// Remote images fetched for an inline-only provider (Gemini), once per request.
    pub inlined_images: ImagesOnce,
    /// The answer is translated into another API before the client sees it (which names the
    /// model itself): the upstream's chat answer is not rewritten on the way.
    pub answer_translated: bool,
    /// The client's body in its own API (Anthropic's Messages), for deployments that speak it;
    /// `body` is its chat translation, for the others and for the cache.
    pub native: Option<NativeBody>,
    /// The config generation the request was prepared under, which it keeps to the end.
    pub gen: std::sync::Arc<crate::generation::Generation>,
}

/// The route the client called and who it is, as LiteLLM's metrics label them.
#[derive(Clone, Debug, Default)]
pub struct ClientFacts {
    pub route: String,
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: String,
    /// The client's W3C `traceparent`, read only when tracing is on (boxed: rare, and large).
    pub traceparent: Option<Box<opentelemetry::trace::SpanContext>>,
}

impl ClientFacts {
    pub fn of(req: &actix_web::HttpRequest) -> Self {
        Self {
            route: req.path().to_string(),
            ip: req.peer_addr().map(|a| a.ip()),
            user_agent: req
                .headers()
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            traceparent: crate::traces::enabled()
                .then(|| req.headers().get("traceparent")?.to_str().ok())
                .flatten()
                .and_then(crate::traces::parse_traceparent)
                .map(Box::new),
        }
    }
}

/// Marks a response whose body is already in the client's own API (see `Prepared::native`).
#[derive(Clone, Copy, Debug)]
pub struct NativeAnswer;

pub type ImagesOnce = std::cell::OnceCell<Result<Option<Map<String, Value>>, AttemptError>>;

fn final_error(p: &Prepared, fe: FinalError) -> GatewayError {
    let e = fe.error;
    let mut message = e.message;
    if !fe.fallback_errors.is_empty() {
        let hops: Vec<String> = fe
            .fallback_errors
            .iter()
            .map(|(g, err)| format!("{}: {}", p.gen.config.group_name(*g), err.message))
            .collect();
        message.push_str(&format!(
            "\n\nSwitchyard: model group '{}' failed with the error above. Fallbacks also failed: {}",
            p.gen.config.group_name(p.group),
            hops.join(" | ")
        ));
    }
    GatewayError::Upstream {
        status: e.status,
        error_type: e
            .error_type
            .unwrap_or_else(|| e.class.error_type())
            .to_string(),
        message,
        retry_after: e.retry_after.map(|s| s.ceil_secs(1)),
    }
}

pub async fn serve(state: &AppState, worker: &Worker, mut p: Prepared) -> HttpResponse {
    let (plan, item_hits) = match cache_step::before(state, worker, &mut p).await {
        Ok(CacheStep { plan, item_hits }) => (plan, item_hits),
        Err(answered) => return answered,
    };
    // Only an answer from the requested group is stored: a fallback's answer is a stand-in.
    let store_plan = |served: GroupIdx| {
        plan.as_ref()
            .filter(|pl| pl.store && served == p.group)
            .zip(worker.cache.as_ref())
    };
    // Until an answer is chosen: if this future is dropped, the client went away.
    let mut log = Settlement::of(&p, &worker.metrics, p.stream);
    log.cache_looked_up = plan.is_some();
    let mut progress = RequestProgress::new(p.group, p.overrides.clone());
    let mut trail = settle::FallbackTrail::default();
    let gen = p.gen.clone();
    let cfg = &gen.config;
    let supervisor = worker.supervisor(&gen);
    let requested_group = cfg.group_name(p.group);
    let mut failure: Option<AttemptFailure> = None;
    loop {
        let asked = supervisor
            .send(NextStep {
                progress,
                failure: failure.take(),
            })
            .await;
        let step = match asked {
            Ok(step) => step,
            Err(e) => {
                let err = GatewayError::Internal(format!("router unavailable: {e}"));
                log.end(Outcome::Failed(ErrorClass::InternalServer), 500);
                return err.response(&p.call_id);
            }
        };
        match step {
            Step::GiveUp(fe) => {
                let class = fe.error.class;
                let err = final_error(&p, fe);
                log.failed_with(class);
                log.end(Outcome::Failed(class), err.status().as_u16());
                trail.end(&worker.metrics, requested_group, None);
                return err.response(&p.call_id);
            }
            Step::Wait {
                progress: next,
                delay,
            } => {
                progress = next;
                tracing::info!(call_id = %p.call_id, delay_ms = saturating_millis(delay), "retry: backing off");
                actix_web::rt::time::sleep(delay).await;
            }
            Step::Call(grant) => {
                let Grant {
                    progress: next,
                    deployment,
                    admission,
                    reporter,
                } = grant;
                let d = cfg.deployment(deployment);
                if !cluster::within_rpm(&gen, worker, deployment).await {
                    // Its gate now refuses it until the minute ends; the router picks another.
                    drop(admission);
                    progress = next;
                    continue;
                }
                log.attempts += 1;
                let group_name = cfg.group_name(next.group());
                log.tried(deployment, group_name);
                trail.attempt_in(&worker.metrics, requested_group, group_name);
                // LiteLLM reports the requested name on a direct answer, the upstream's after a fallback.
                let rewrite = (next.group() == p.group && !p.answer_translated)
                    .then(|| p.requested_model.clone());
                let traceparent = log.trace.as_mut().map(|t| {
                    t.attempt(
                        &crate::traces::AttemptTarget {
                            deployment_id: &d.id,
                            model_group: group_name,
                            provider: d.kind.name(),
                            model: &d.upstream.model,
                            api_base: d.public_api_base(),
                        },
                        log.attempts,
                    )
                });
                let attempt_started = Instant::now();
                let called = attempt::call(cfg, worker, d, &p, rewrite, traceparent.as_deref());
                match called.await {
                    Ok(Answered {
                        answer,
                        native,
                        headers,
                    }) => {
                        log.deployment = d.id.clone();
                        let mut resp = HttpResponse::Ok();
                        settle::answer_headers(
                            &mut resp,
                            &AnswerHeaders {
                                call_id: &p.call_id,
                                model_group: cfg.group_name(next.group()),
                                deployment: Some((&d.id, d.public_api_base())),
                                retries: next.retries(),
                                fallbacks: next.fallbacks(),
                            },
                        );
                        if plan.is_some() {
                            let partial = item_hits
                                .as_ref()
                                .is_some_and(|h| h.iter().any(Option::is_some));
                            resp.insert_header((
                                "x-switchyard-cache",
                                if partial { "partial" } else { "miss" },
                            ));
                        }
                        let remaining = |name: &str| {
                            headers
                                .iter()
                                .find(|(k, _)| k == name)
                                .and_then(|(_, v)| v.trim().parse::<f64>().ok())
                                .filter(|v| v.is_finite())
                        };
                        worker.metrics.remaining(
                            gen.slot(deployment).unwrap_or(u32::MAX),
                            group_name,
                            remaining("x-ratelimit-remaining-requests"),
                            remaining("x-ratelimit-remaining-tokens"),
                        );
                        let fallback = (next.group() != p.group).then_some(group_name);
                        trail.end(&worker.metrics, requested_group, fallback);
                        for (k, v) in headers {
                            resp.insert_header((k, v));
                        }
                        if native {
                            resp.extensions_mut().insert(NativeAnswer);
                        }
                        return match answer {
                            Answer::Json { mut body, usage } => {
                                if let Some(hits) = &item_hits {
                                    match cache_step::merge_items(
                                        &p,
                                        &body,
                                        hits,
                                        store_plan(next.group()),
                                    ) {
                                        Ok(Some(merged)) => body = merged,
                                        Ok(None) => {}
                                        Err(err) => {
                                            log.end(
                                                Outcome::Failed(ErrorClass::InternalServer),
                                                err.status().as_u16(),
                                            );
                                            return err.response(&p.call_id);
                                        }
                                    }
                                } else if let Some((pl, cache)) = store_plan(next.group()) {
                                    if native {
                                        let model = (next.group() == p.group)
                                            .then_some(p.requested_model.as_str());
                                        if let Some(chat) = attempt::chat_form(d, &p, &body, model)
                                        {
                                            cache.store(pl.key.clone(), &chat, pl.ttl);
                                        }
                                    } else if has_output(p.endpoint, &body) {
                                        cache.store(pl.key.clone(), &body, pl.ttl);
                                    }
                                }
                                let upstream = attempt_started.elapsed();
                                log.upstream = Some(upstream);
                                settle::succeed(
                                    admission,
                                    cluster::tokens_sink(worker, d),
                                    upstream,
                                    usage,
                                    &mut log,
                                );
                                if let Some(t) = log.trace.as_mut() {
                                    t.attempt_answered(
                                        usage.prompt_tokens,
                                        usage.completion_tokens,
                                    );
                                }
                                settle::duration_headers(&mut resp, p.started, Some(upstream));
                                resp.content_type("application/json").body(body)
                            }
                            Answer::Stream(start) => {
                                let end = StreamEnd {
                                    admission,
                                    reporter,
                                    log,
                                    attempt_started,
                                    client_timeout: p.overrides.client_timeout,
                                    tokens_sink: cluster::tokens_sink(worker, d),
                                    shutdown: state.shutdown.clone(),
                                    store: store_plan(next.group()).map(|(pl, cache)| {
                                        PendingStore {
                                            cache: cache.clone(),
                                            key: pl.key.clone(),
                                            ttl: pl.ttl,
                                        }
                                    }),
                                };
                                resp.insert_header((
                                    "content-type",
                                    "text/event-stream; charset=utf-8",
                                ))
                                .insert_header(("cache-control", "no-cache"))
                                .insert_header(("x-accel-buffering", "no"))
                                .streaming(
                                    crate::panics::PanicSafeStream::new(start(end), &p.call_id),
                                )
                            }
                        };
                    }
                    Err(error) => {
                        drop(admission);
                        if let Some(t) = log.trace.as_mut() {
                            t.attempt_failed(error.status, error.class, &error.message);
                        }
                        trail.failed(
                            &worker.metrics,
                            requested_group,
                            group_name,
                            error.status,
                            settle::exception_class(Some(d.kind.name()), error.class),
                        );
                        worker.metrics.attempt_failed(&FailedAttempt {
                            deployment: gen.slot(deployment).unwrap_or(u32::MAX),
                            provider: d.kind.name(),
                            requested_model: &p.requested_model,
                            model_group: cfg.group_name(next.group()),
                            status: error.status,
                            class: error.class.name(),
                            client_ip: p.client.ip,
                            user_agent: &p.client.user_agent,
                        });
                        tracing::warn!(
                            call_id = %p.call_id,
                            deployment = %d.id,
                            error = error.class.name(),
                            status = error.status,
                            "attempt failed; asking the router what next (retry or fallback)"
                        );
                        failure = Some(AttemptFailure { deployment, error });
                        progress = next;
                    }
                }
            }
        }
    }
}
