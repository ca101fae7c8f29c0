//! One attempt: one call to one deployment, answered or classified as a failure.

use bytes::Bytes;
use futures_util::stream::LocalBoxStream;
use futures_util::StreamExt;
use switchyard_actors::plan::AttemptError;
use switchyard_actors::seconds::Seconds;

use serde_json::{Map, Value};

use super::inline_images::inline_remote_images;
use super::relay::{Relay, StreamEnd};
use super::Prepared;
use crate::openai::Usage;
use crate::providers::classify::{connection_error, timeout_error};
use crate::providers::contract::{Call, UpstreamFailure, UpstreamRequest};
use crate::providers::mock;
use crate::providers::native::{self, NativeApi, NativeBody};
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
    /// The answer is in the client's own API (`Prepared::native`), not OpenAI's.
    pub native: bool,
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
    if p.stream && p.endpoint.streams() {
        let events = mock::stream(p.endpoint, text, model, &p.body, p.include_usage);
        return Answer::Stream(Box::new(move |end: StreamEnd| {
            futures_util::stream::iter(events.into_iter().map(Ok))
                .chain(futures_util::stream::once(async move {
                    drop(end);
                    Ok(Bytes::new())
                }))
                .boxed_local()
        }));
    }
    let (body, usage) = mock::answer(p.endpoint, text, model, &p.body);
    Answer::Json {
        body: Bytes::from(body),
        usage,
    }
}

/// The client's body as this deployment's provider needs it: remote images inlined for a
/// provider that cannot fetch them (fetched once per request: a retry or another such
/// deployment reuses them).
async fn body_for<'p>(
    cfg: &GatewayConfig,
    worker: &Worker,
    d: &Deployment,
    p: &'p Prepared,
    budget: std::time::Duration,
) -> Result<&'p serde_json::Map<String, serde_json::Value>, AttemptError> {
    if !d.provider.wants_inline_images() {
        return Ok(&p.body);
    }
    if p.inlined_images.get().is_none() {
        let fetched =
            inline_remote_images(&worker.images, &p.body, &cfg.limits.images, budget).await;
        let _ = p.inlined_images.set(fetched);
    }
    match p.inlined_images.get() {
        Some(Ok(Some(body))) => Ok(body),
        Some(Err(e)) => Err(e.clone()),
        Some(Ok(None)) | None => Ok(&p.body),
    }
}

pub async fn call(
    cfg: &GatewayConfig,
    worker: &Worker,
    d: &Deployment,
    p: &Prepared,
    answer_model: Option<String>,
    traceparent: Option<&str>,
) -> Result<Answered, AttemptError> {
    if let Some(text) = p.mock_response.as_ref().or(d.mock_response.as_ref()) {
        let label = answer_model.as_deref().unwrap_or(&d.upstream.model);
        return Ok(Answered {
            answer: mock_answer(p, text, label),
            native: false,
            headers: Vec::new(),
        });
    }
    let seconds = attempt_timeout(cfg, d, p);
    let budget = seconds.duration();
    let deadline = tokio::time::Instant::now() + budget;
    let wants_stream = p.stream && p.endpoint.streams();
    // A credential minted for the call (an OAuth token), shared and refreshed by the provider.
    let credential = match d.provider.credential(&worker.client) {
        Some(fetch) => Some(fetch.await?),
        None => None,
    };
    let call = Call {
        upstream: &d.upstream,
        endpoint: p.endpoint,
        body: body_for(cfg, worker, d, p, budget).await?,
        stream: wants_stream,
        drop_params: p.drop_params.or(d.drop_params).unwrap_or(cfg.drop_params),
        answer_model: answer_model.as_deref(),
        credential: credential.as_deref(),
    };
    let exchange = Exchange {
        cfg,
        worker,
        d,
        seconds,
        deadline,
        traceparent,
    };
    if let Some(native) = &p.native {
        if let Some(request) = d.provider.native(&call, native) {
            match exchange.native(request?, native.api, wants_stream).await {
                // An older server without `/responses`: bridged now and from now on (LiteLLM
                // cools the deployment down and fails instead).
                Err(e) if e.status == 404 && native.api == NativeApi::Responses => {
                    tracing::info!(deployment = %d.id, "no /responses on this server; bridging the Responses API through chat completions from now on");
                    d.provider.native_missing(native.api);
                }
                answered => return answered,
            }
        }
    }
    if let Some(parts) = split_inputs(&call, d.provider.inputs_per_request(&call)) {
        return exchange.in_parts(call, &parts).await;
    }
    let (resp, headers) = exchange.send(d.provider.request(&call)?, false).await?;
    if wants_stream {
        // Usage the client did not ask for (the gateway asks for it, or the provider always
        // sends it) is counted but not shown.
        let relay = Relay::new(
            resp,
            budget,
            p.collect_stream,
            !p.include_usage,
            d.provider.stream(&call),
            d.provider.framing(),
        );
        return exchange.stream(relay, headers, false).await;
    }
    let body = exchange.read(resp).await?;
    let (body, usage) = d.provider.answer(&call, &body)?;
    Ok(Answered {
        answer: Answer::Json {
            body: Bytes::from(body),
            usage,
        },
        native: false,
        headers,
    })
}

/// A native answer in OpenAI's chat form, for the cache (which keeps chat answers).
pub fn chat_form(
    d: &Deployment,
    p: &Prepared,
    native: &[u8],
    answer_model: Option<&str>,
) -> Option<Vec<u8>> {
    let call = Call {
        upstream: &d.upstream,
        endpoint: p.endpoint,
        body: &p.body,
        stream: false,
        drop_params: true,
        answer_model,
        credential: None,
    };
    d.provider.answer(&call, native).ok().map(|(body, _)| body)
}

type UpstreamResponse = awc::ClientResponse<actix_http::BoxedPayloadStream>;

/// One upstream exchange of an attempt, within its deadline.
struct Exchange<'a> {
    cfg: &'a GatewayConfig,
    worker: &'a Worker,
    d: &'a Deployment,
    seconds: Seconds,
    deadline: tokio::time::Instant,
    /// The attempt's W3C trace context, sent upstream so the server's own spans join.
    traceparent: Option<&'a str>,
}

impl Exchange<'_> {
    /// Sends the request; a non-2xx answer comes back classified, with the upstream's own
    /// status when `keep_status`.
    async fn send(
        &self,
        upstream: UpstreamRequest,
        keep_status: bool,
    ) -> Result<(UpstreamResponse, Vec<(String, String)>), AttemptError> {
        let d = self.d;
        let mut req = self
            .worker
            .client
            .post(upstream.url)
            .timeout(self.seconds.duration())
            .insert_header(("content-type", "application/json"));
        for (k, v) in upstream.headers {
            req = req.insert_header((k, v));
        }
        if let Some(tp) = self.traceparent {
            req = req.insert_header(("traceparent", tp));
        }
        let sent = tokio::time::timeout_at(self.deadline, req.send_body(upstream.body)).await;
        let mut resp = match sent {
            Err(_) | Ok(Err(awc::error::SendRequestError::Timeout)) => {
                return Err(timeout_error(&d.upstream, self.seconds))
            }
            Ok(Err(e)) => return Err(connection_error(&d.upstream, &e.to_string())),
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
            let body = tokio::time::timeout_at(self.deadline, resp.body().limit(MAX_ERROR_BODY))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            let mut err = d.provider.classify(
                &d.upstream,
                &UpstreamFailure {
                    status,
                    headers: resp.headers(),
                    body: &body,
                    max_retry_after: self.cfg.limits.max_retry_after,
                },
            );
            if keep_status {
                err.status = status;
            }
            return Err(err);
        }
        Ok((resp, headers))
    }

    /// A request in the client's own API, answered or streamed back as it comes.
    async fn native(
        &self,
        request: UpstreamRequest,
        api: NativeApi,
        stream: bool,
    ) -> Result<Answered, AttemptError> {
        let d = self.d;
        // The client speaks the upstream's API: it sees the upstream's own status (Anthropic's
        // 529 stays 529, where LiteLLM turns it into a 500).
        let (resp, headers) = self.send(request, true).await?;
        if stream {
            let relay = Relay::new(
                resp,
                self.seconds.duration(),
                false,
                false,
                d.provider.native_stream(api),
                d.provider.framing(),
            );
            return self.stream(relay, headers, true).await;
        }
        let body = self.read(resp).await?;
        let usage = native::answer_usage(api, &body)?;
        Ok(Answered {
            answer: Answer::Json { body, usage },
            native: true,
            headers,
        })
    }

    /// A 2xx stream, answered once its first event is there (until then a failure can still
    /// be retried or fall back).
    async fn stream(
        &self,
        mut relay: Relay<UpstreamResponse>,
        headers: Vec<(String, String)>,
        native: bool,
    ) -> Result<Answered, AttemptError> {
        let left = self
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        relay
            .first_event(left, timeout_error(&self.d.upstream, self.seconds))
            .await?;
        Ok(Answered {
            answer: Answer::Stream(Box::new(move |end| relay.into_stream(end).boxed_local())),
            native,
            headers,
        })
    }

    /// Reads a 2xx answer, within the deadline and the size limit.
    async fn read(&self, mut resp: UpstreamResponse) -> Result<Bytes, AttemptError> {
        let d = self.d;
        let read = tokio::time::timeout_at(self.deadline, resp.body().limit(MAX_UPSTREAM_BODY));
        let body = match read.await {
            Err(_) => return Err(timeout_error(&d.upstream, self.seconds)),
            Ok(Err(e)) => {
                return Err(connection_error(
                    &d.upstream,
                    &format!("reading the response failed: {e}"),
                ))
            }
            Ok(Ok(b)) => b,
        };
        Ok(body)
    }

    /// An embeddings batch larger than the provider takes at once: one request per part, in
    /// order, merged into one answer.
    async fn in_parts(
        &self,
        call: Call<'_>,
        parts: &[Map<String, Value>],
    ) -> Result<Answered, AttemptError> {
        let mut answers = Vec::with_capacity(parts.len());
        let mut headers = Vec::new();
        for body in parts {
            let part = Call { body, ..call };
            let (resp, h) = self.send(self.d.provider.request(&part)?, false).await?;
            headers = h;
            let body = self.read(resp).await?;
            answers.push(self.d.provider.answer(&part, &body)?);
        }
        let (body, usage) = crate::openai::embeddings::merge(&answers).ok_or_else(|| {
            AttemptError::new(
                switchyard_actors::ErrorClass::InternalServer,
                500,
                "InternalServerError: the parts of an embeddings batch could not be merged",
            )
        })?;
        Ok(Answered {
            answer: Answer::Json {
                body: Bytes::from(body),
                usage,
            },
            native: false,
            headers,
        })
    }
}

/// The request bodies of an embeddings batch split to the provider's limit, or `None` when
/// it fits in one request.
fn split_inputs(call: &Call<'_>, limit: Option<usize>) -> Option<Vec<Map<String, Value>>> {
    let limit = limit?.max(1);
    let items = call.body.get("input")?.as_array()?;
    if items.len() <= limit {
        return None;
    }
    Some(
        items
            .chunks(limit)
            .map(|chunk| {
                let mut body = call.body.clone();
                body.insert("input".into(), Value::Array(chunk.to_vec()));
                body
            })
            .collect(),
    )
}

/// The longest a deployment's token counter is waited for.
const COUNT_TIMEOUT: Seconds = Seconds::whole(30);

/// The deployment's own count of a request's input tokens (Anthropic's counter for Claude on
/// Anthropic, Vertex and Bedrock); `None` when it has no counter.
pub async fn count_tokens(
    cfg: &GatewayConfig,
    worker: &Worker,
    d: &Deployment,
    native: &NativeBody,
    chat: &Map<String, Value>,
) -> Option<Result<u64, AttemptError>> {
    let credential = match d.provider.credential(&worker.client) {
        Some(fetch) => match fetch.await {
            Ok(token) => Some(token),
            Err(e) => return Some(Err(e)),
        },
        None => None,
    };
    let call = Call {
        upstream: &d.upstream,
        endpoint: crate::openai::Endpoint::Chat,
        body: chat,
        stream: false,
        drop_params: true,
        answer_model: None,
        credential: credential.as_deref(),
    };
    let request = d.provider.native(&call, native)?;
    let seconds = d.timeout.map_or(COUNT_TIMEOUT, |t| t.min(COUNT_TIMEOUT));
    let exchange = Exchange {
        cfg,
        worker,
        d,
        seconds,
        deadline: tokio::time::Instant::now() + seconds.duration(),
        traceparent: None,
    };
    let counted = async {
        let (resp, _) = exchange.send(request?, true).await?;
        let body = exchange.read(resp).await?;
        native::answer_usage(native.api, &body).map(|u| u.prompt_tokens)
    };
    Some(counted.await)
}
