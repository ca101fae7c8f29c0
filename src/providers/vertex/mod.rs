//! Google Vertex AI: Gemini models (`generateContent`, `streamGenerateContent`), Anthropic
//! models on Vertex (`rawPredict`, `streamRawPredict`; a `claude...` model name) and text
//! embeddings (`predict`), at `{location}-aiplatform.googleapis.com`, authenticated with an
//! OAuth access token minted from a service account. The wire formats are Gemini's and
//! Anthropic's, so their translators serve here too.

pub mod config;
pub mod token;

use futures_util::future::LocalBoxFuture;
use serde_json::{json, Value};
use switchyard_actors::plan::AttemptError;

use super::classify::{malformed, no_such_api};
use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::native::{messages, NativeApi, NativeBody};
use super::upstream::Upstream;
use super::{anthropic, gemini, ProviderKind};
use crate::openai::embeddings;
use crate::openai::{Endpoint, Usage};
use config::VertexConfig;
use token::TokenCache;

const KIND: ProviderKind = ProviderKind::VertexAi;
/// The Messages API version Anthropic models on Vertex take (in the body, not a header).
const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

#[derive(Debug)]
pub struct Vertex {
    config: VertexConfig,
    tokens: std::sync::Arc<TokenCache>,
}

impl Vertex {
    pub fn new(config: VertexConfig) -> Self {
        Self {
            tokens: token::shared_cache(&config.account),
            config,
        }
    }

    /// `https://{location}-aiplatform.googleapis.com` (no prefix for `global`), or `api_base`.
    fn host(&self, d: &Upstream) -> String {
        match &d.api_base {
            Some(base) => base.trim_end_matches('/').to_string(),
            None if self.config.location == "global" => "https://aiplatform.googleapis.com".into(),
            None => format!("https://{}-aiplatform.googleapis.com", self.config.location),
        }
    }

    fn url(&self, d: &Upstream, publisher: &str, method: &str) -> String {
        self.model_url(d, publisher, &d.model, method)
    }

    fn model_url(&self, d: &Upstream, publisher: &str, model: &str, method: &str) -> String {
        format!(
            "{}/v1/projects/{}/locations/{}/publishers/{publisher}/models/{model}:{method}",
            self.host(d),
            self.config.project,
            self.config.location,
        )
    }
}

impl Vertex {
    fn headers(&self, call: &Call<'_>) -> Vec<(String, String)> {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(token) = call.credential {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        headers.extend(call.upstream.extra_headers.iter().cloned());
        headers
    }
}

fn is_claude(d: &Upstream) -> bool {
    d.model.starts_with("claude")
}

impl Provider for Vertex {
    fn wants_inline_images(&self) -> bool {
        true
    }

    fn credential<'a>(
        &'a self,
        client: &'a awc::Client,
    ) -> Option<LocalBoxFuture<'a, Result<String, AttemptError>>> {
        Some(Box::pin(self.tokens.token(&self.config.account, client)))
    }

    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError> {
        let d = call.upstream;
        let (url, body) = match call.endpoint {
            Endpoint::Chat if is_claude(d) => {
                let mut body =
                    anthropic::request_body(&d.model, call.body, call.stream, call.drop_params)?;
                if let Some(o) = body.as_object_mut() {
                    o.remove("model");
                    o.insert("anthropic_version".into(), json!(ANTHROPIC_VERSION));
                }
                let method = if call.stream {
                    "streamRawPredict"
                } else {
                    "rawPredict"
                };
                (self.url(d, "anthropic", method), body)
            }
            Endpoint::Chat => {
                let method = if call.stream {
                    "streamGenerateContent?alt=sse"
                } else {
                    "generateContent"
                };
                (
                    self.url(d, "google", method),
                    gemini::request_body(call.body, call.drop_params)?,
                )
            }
            Endpoint::Embeddings => (
                self.url(d, "google", "predict"),
                embeddings_body(call.body)?,
            ),
            Endpoint::Completions => return Err(no_such_api(KIND, call.endpoint)),
        };
        Ok(UpstreamRequest {
            url,
            headers: self.headers(call),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }

    fn speaks(&self, upstream: &Upstream, api: NativeApi) -> bool {
        api != NativeApi::Responses && is_claude(upstream)
    }

    fn native(
        &self,
        call: &Call<'_>,
        native: &NativeBody,
    ) -> Option<Result<UpstreamRequest, AttemptError>> {
        let d = call.upstream;
        if !self.speaks(d, native.api) {
            return None;
        }
        let (url, body) = match native.api {
            NativeApi::Responses => return None,
            NativeApi::Messages => {
                let method = if call.stream {
                    "streamRawPredict"
                } else {
                    "rawPredict"
                };
                (
                    self.url(d, "anthropic", method),
                    messages::body_for(&native.body, None, Some(ANTHROPIC_VERSION), call.stream),
                )
            }
            // One counter for every Claude model; the model goes in the body.
            NativeApi::CountTokens => (
                self.model_url(d, "anthropic", "count-tokens", "rawPredict"),
                serde_json::to_vec(&messages::count_body(&native.body, Some(&d.model)))
                    .unwrap_or_default(),
            ),
        };
        Some(Ok(UpstreamRequest {
            url,
            headers: self.headers(call),
            body,
        }))
    }

    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError> {
        match call.endpoint {
            Endpoint::Embeddings => embeddings_answer(body, call.label()),
            _ if is_claude(call.upstream) => {
                anthropic::answer(body, call.label(), anthropic::json_mode(call.body))
            }
            _ => gemini::answer(body, call.label()),
        }
    }

    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator> {
        if is_claude(call.upstream) {
            Box::new(anthropic::AnthropicStream::new(
                call.label(),
                anthropic::json_mode(call.body),
            ))
        } else {
            Box::new(gemini::GeminiStream::new(call.label()))
        }
    }

    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError {
        // Vertex's own errors are Google's shape; Anthropic's models answer in Anthropic's.
        if is_claude(upstream) {
            anthropic::classify(upstream, failure)
        } else {
            gemini::classify(upstream, failure)
        }
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.config.account.private_key_pem.clone()]
    }
}

/// `predict` for text embedding models: one instance per input.
fn embeddings_body(body: &serde_json::Map<String, Value>) -> Result<Value, AttemptError> {
    let texts = super::params::text_inputs(KIND, body)?;
    let instances: Vec<Value> = texts.iter().map(|t| json!({"content": t})).collect();
    let mut out = json!({"instances": instances});
    if let Some(d) = body.get("dimensions").filter(|d| d.is_u64()) {
        crate::json::set(&mut out, "parameters", json!({"outputDimensionality": d}));
    }
    Ok(out)
}

fn embeddings_answer(body: &[u8], model: &str) -> Result<(Vec<u8>, Usage), AttemptError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed(KIND, "not a predict answer"))?;
    let predictions = v
        .get("predictions")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(KIND, "no predictions"))?;
    let mut tokens = 0u64;
    let mut vectors = Vec::with_capacity(predictions.len());
    for p in predictions {
        let values = p
            .pointer("/embeddings/values")
            .cloned()
            .ok_or_else(|| malformed(KIND, "a prediction without embeddings"))?;
        tokens = tokens.saturating_add(
            p.pointer("/embeddings/statistics/token_count")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        );
        vectors.push(values);
    }
    Ok(embeddings::answer(vectors, model, tokens))
}
