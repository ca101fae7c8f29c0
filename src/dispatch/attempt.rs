//! One attempt: one call to one deployment, answered or classified as a failure.

use bytes::Bytes;
use futures_util::stream::LocalBoxStream;
use futures_util::StreamExt;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::seconds::Seconds;
use switchyard_actors::ErrorClass;

use super::inline_images::inline_remote_images;
use super::relay::{Relay, StreamEnd};
use super::usage::Usage;
use super::Prepared;
use crate::providers::anthropic::{self, AnthropicStream};
use crate::providers::gemini::{self, GeminiStream};
use crate::providers::translate::{StreamTranslator, UpstreamCall};
use crate::providers::{mock, rewrite, ProviderKind};

use crate::providers::openai::{self, Endpoint};
use crate::settings::{Deployment, GatewayConfig};
use crate::state::Worker;

/// LiteLLM's default request timeout.
const DEFAULT_TIMEOUT: Seconds = Seconds::whole(6000);
/// Largest non-streamed upstream body accepted (embeddings of big batches are large).
const MAX_UPSTREAM_BODY: usize = 256 * 1024 * 1024;
/// Largest upstream error body read.
const MAX_ERROR_BODY: usize = 1024 * 1024;

pub type ClientStream = LocalBoxStream<'static, Result<Bytes, actix_web::Error>>;

pub enum Answer {
    Json {
        body: Bytes,
        usage: Usage,
    },
    /// A stream whose first event has arrived; the closure starts relaying the rest.
    Stream(Box<dyn FnOnce(StreamEnd) -> ClientStream>),
}

pub struct Answered {
    pub answer: Answer,
    /// Upstream rate-limit headers, passed on as LiteLLM does.
    pub headers: Vec<(String, String)>,
}

fn forwardable(name: &str) -> bool {
    name.starts_with("x-ratelimit-")
}

/// The per-attempt timeout, in LiteLLM's precedence (reference 3.6).
pub fn attempt_timeout(cfg: &GatewayConfig, d: &Deployment, p: &Prepared) -> Seconds {
    let streaming = if p.stream {
        p.stream_timeout
            .or(d.stream_timeout)
            .or(cfg.router_stream_timeout)
            .or(cfg.request_timeout)
    } else {
        None
    };
    streaming
        .or(p.timeout)
        .or(d.timeout)
        .or(d.request_timeout)
        .or(cfg.request_timeout)
        .or(cfg.router_timeout)
        .unwrap_or(DEFAULT_TIMEOUT)
}

fn mock_answer(p: &Prepared, text: &str, model: &str) -> Answer {
    if p.stream && p.endpoint == Endpoint::Chat {
        let events = mock::chat_stream(text, model, &p.body, p.include_usage);
        return Answer::Stream(Box::new(move |end: StreamEnd| {
            futures_util::stream::iter(events.into_iter().map(Ok))
                .chain(futures_util::stream::once(async move {
                    drop(end);
                    Ok(Bytes::new())
                }))
                .boxed_local()
        }));
    }
    let v = mock::answer(p.endpoint, text, model, &p.body);
    let usage = Usage::from_response(&v).unwrap_or_default();
    Answer::Json {
        body: Bytes::from(v.to_string()),
        usage,
    }
}

pub async fn call(
    cfg: &GatewayConfig,
    worker: &Worker,
    d: &Deployment,
    p: &Prepared,
    rewrite_model: Option<String>,
) -> Result<Answered, AttemptError> {
    let label = rewrite_model
        .clone()
        .unwrap_or_else(|| d.upstream_model.clone());
    if let Some(text) = p.mock_response.as_ref().or(d.mock_response.as_ref()) {
        return Ok(Answered {
            answer: mock_answer(p, text, &label),
            headers: Vec::new(),
        });
    }
    let seconds = attempt_timeout(cfg, d, p);
    let budget = seconds.duration();
    let deadline = tokio::time::Instant::now() + budget;
    let drop_params = p.drop_params.or(d.drop_params).unwrap_or(cfg.drop_params);
    let wants_stream = p.stream && p.endpoint == Endpoint::Chat;
    let translated = match d.provider {
        ProviderKind::Anthropic => Some(anthropic::call(
            d,
            p.endpoint,
            &p.body,
            wants_stream,
            drop_params,
        )?),
        ProviderKind::Gemini => {
            // Fetched once per request: a retry or another Gemini deployment reuses them.
            if p.inlined_images.get().is_none() {
                let fetched =
                    inline_remote_images(&worker.images, &p.body, &cfg.limits.images, budget).await;
                let _ = p.inlined_images.set(fetched);
            }
            let inlined = match p.inlined_images.get() {
                Some(Ok(body)) => body.as_ref(),
                Some(Err(e)) => return Err(e.clone()),
                None => None,
            };
            Some(gemini::call(
                d,
                p.endpoint,
                inlined.unwrap_or(&p.body),
                wants_stream,
                drop_params,
            )?)
        }
        ProviderKind::OpenAi | ProviderKind::HostedVllm | ProviderKind::Azure => None,
    };
    let (url, upstream_headers, bytes) = match translated {
        Some(UpstreamCall { url, headers, body }) => (url, headers, body),
        None => {
            let body = openai::body(d, p.endpoint, &p.body, drop_params);
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            (openai::url(d, p.endpoint), openai::headers(d), bytes)
        }
    };
    let mut req = worker
        .client
        .post(url)
        .timeout(budget)
        .insert_header(("content-type", "application/json"));
    for (k, v) in upstream_headers {
        req = req.insert_header((k, v));
    }
    let sent = tokio::time::timeout_at(deadline, req.send_body(bytes)).await;
    let mut resp = match sent {
        Err(_) | Ok(Err(awc::error::SendRequestError::Timeout)) => {
            return Err(openai::timeout_error(d, seconds))
        }
        Ok(Err(e)) => return Err(openai::connection_error(d, &e.to_string())),
        Ok(Ok(r)) => r,
    };
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter(|(k, _)| forwardable(k.as_str()))
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    if !(200..300).contains(&status) {
        let retry_after =
            openai::retry_after_seconds(resp.headers(), cfg.limits.max_retry_after, &d.id);
        let body = tokio::time::timeout_at(deadline, resp.body().limit(MAX_ERROR_BODY))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        return Err(openai::classify(d, status, &body, retry_after));
    }
    if wants_stream {
        // Translated streams are built with the right model name and always carry usage.
        let (translator, rewrite_model, hide_usage): (Option<Box<dyn StreamTranslator>>, _, _) =
            match d.provider {
                ProviderKind::Anthropic => (
                    Some(Box::new(AnthropicStream::new(
                        &label,
                        anthropic::json_mode(&p.body),
                    ))),
                    None,
                    !p.include_usage,
                ),
                ProviderKind::Gemini => (
                    Some(Box::new(GeminiStream::new(&label))),
                    None,
                    !p.include_usage,
                ),
                _ => (None, rewrite_model, p.collect_stream && !p.include_usage),
            };
        let mut relay = Relay::new(
            resp,
            budget,
            rewrite_model,
            p.collect_stream,
            hide_usage,
            translator,
        );
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        relay
            .first_event(left, openai::timeout_error(d, seconds))
            .await?;
        return Ok(Answered {
            answer: Answer::Stream(Box::new(move |end| relay.into_stream(end).boxed_local())),
            headers,
        });
    }
    let body = match tokio::time::timeout_at(deadline, resp.body().limit(MAX_UPSTREAM_BODY)).await {
        Err(_) => return Err(openai::timeout_error(d, seconds)),
        Ok(Err(e)) => {
            return Err(openai::connection_error(
                d,
                &format!("reading the response failed: {e}"),
            ))
        }
        Ok(Ok(b)) => b,
    };
    let answer = match (d.provider, p.endpoint) {
        (ProviderKind::Anthropic, _) => Some(anthropic::response(
            &body,
            &label,
            anthropic::json_mode(&p.body),
        )?),
        (ProviderKind::Gemini, Endpoint::Chat) => {
            let (v, usage) = gemini::response(&body, &label)?;
            Some((v.to_string().into_bytes(), usage))
        }
        (ProviderKind::Gemini, Endpoint::Embeddings) => {
            let (v, usage) = gemini::embeddings_response(&body, &label)?;
            Some((v.to_string().into_bytes(), usage))
        }
        _ => None,
    };
    if let Some((bytes, usage)) = answer {
        return Ok(Answered {
            answer: Answer::Json {
                body: Bytes::from(bytes),
                usage,
            },
            headers,
        });
    }
    let Some((body, usage)) = rewrite::rewrite(&body, rewrite_model.as_deref()) else {
        return Err(AttemptError::new(
            ErrorClass::InternalServer,
            500,
            format!(
                "InternalServerError: {} - upstream answered something other than a JSON object",
                d.provider.exception_label()
            ),
        ));
    };
    Ok(Answered {
        answer: Answer::Json {
            body: Bytes::from(body),
            usage,
        },
        headers,
    })
}
