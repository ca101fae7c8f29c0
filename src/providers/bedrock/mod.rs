//! AWS Bedrock: chat through the Converse and ConverseStream APIs (event-stream framed),
//! embeddings through InvokeModel (Titan, Cohere), requests signed with SigV4 (or a Bedrock
//! API key as a bearer token). Cross-region inference profile ids (`us.anthropic...`) and ARNs
//! are model ids like any other.

pub mod config;
mod embeddings;
mod errors;
pub mod eventstream;
mod native;
mod request;
mod response;
pub mod sigv4;
mod stream;

use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use super::classify::no_such_api;
use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::framing::Framing;
use super::native::{messages, NativeApi, NativeBody};
use super::params::check_params;
use super::upstream::Upstream;
use super::ProviderKind;
use crate::openai::request::ResponseFormat;
use crate::openai::{Endpoint, Usage};
use config::BedrockConfig;

const KIND: ProviderKind = ProviderKind::Bedrock;
/// The Messages API version Anthropic models on Bedrock take (in the body).
const ANTHROPIC_VERSION: &str = "bedrock-2023-05-31";

#[derive(Debug)]
pub struct Bedrock {
    config: BedrockConfig,
}

impl Bedrock {
    pub fn new(config: BedrockConfig) -> Self {
        Self { config }
    }

    /// A POST to `/model/{id}/{action}`, signed (SigV4) or with the Bedrock API key.
    fn signed(
        &self,
        d: &Upstream,
        action: &str,
        body: Vec<u8>,
    ) -> Result<UpstreamRequest, AttemptError> {
        let model = config::model_id(&d.model);
        let endpoint = d
            .api_base
            .clone()
            .unwrap_or_else(|| config::default_endpoint(&self.config.region));
        let (base, host) = split_endpoint(&endpoint);
        let path = format!("/model/{}/{action}", sigv4::uri_encode(model));
        let mut headers = vec![("accept".to_string(), "application/json".to_string())];
        match (&d.api_key, &self.config.credentials) {
            (Some(key), _) => headers.push(("authorization".into(), format!("Bearer {}", key.expose()))),
            (None, Some(creds)) => headers.extend(sigv4::sign(
                &sigv4::Signable {
                    host,
                    path: &path,
                    body: &body,
                    region: &self.config.region,
                    service: "bedrock",
                    unix_time: unix_now(),
                },
                creds,
            )),
            (None, None) => {
                return Err(AttemptError::new(
                    ErrorClass::Authentication,
                    401,
                    "AuthenticationError: BedrockException - no AWS credentials: set aws_access_key_id and aws_secret_access_key (litellm_params or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or a Bedrock API key (api_key or AWS_BEARER_TOKEN_BEDROCK)",
                ))
            }
        }
        headers.extend(d.extra_headers.iter().cloned());
        Ok(UpstreamRequest {
            url: format!("{base}{path}"),
            headers,
            body,
        })
    }
}

fn json_mode(call: &Call<'_>) -> bool {
    ResponseFormat::read(call.body.get("response_format")).is_json()
}

/// `(scheme://authority, authority)` of an endpoint URL, for the request and its signature.
fn split_endpoint(endpoint: &str) -> (&str, &str) {
    let base = endpoint.trim_end_matches('/');
    let authority = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest.split('/').next().unwrap_or(rest));
    (base, authority)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Provider for Bedrock {
    /// Converse takes images only as bytes.
    fn wants_inline_images(&self) -> bool {
        true
    }

    /// Titan embeds one text per call (LiteLLM loops the same way); Cohere takes a batch.
    fn inputs_per_request(&self, call: &Call<'_>) -> Option<usize> {
        (call.endpoint == Endpoint::Embeddings
            && !config::model_id(&call.upstream.model).contains("cohere."))
        .then_some(1)
    }

    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError> {
        let d = call.upstream;
        let model = config::model_id(&d.model);
        let (action, body) = match call.endpoint {
            Endpoint::Chat => {
                check_params(KIND, call.body, request::UNSUPPORTED, call.drop_params)?;
                let action = if call.stream {
                    "converse-stream"
                } else {
                    "converse"
                };
                (action, request::converse(call.body, &d.default_params))
            }
            Endpoint::Embeddings => ("invoke", embeddings::request(model, call.body)?),
            Endpoint::Completions => return Err(no_such_api(KIND, call.endpoint)),
        };
        self.signed(d, action, serde_json::to_vec(&body).unwrap_or_default())
    }

    fn speaks(&self, upstream: &Upstream, api: NativeApi) -> bool {
        api != NativeApi::Responses && config::model_id(&upstream.model).contains("anthropic.")
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
        // InvokeModel takes no `stream` field: the action says it.
        let body = messages::body_for(&native.body, None, Some(ANTHROPIC_VERSION), false);
        let (action, body) = match native.api {
            NativeApi::Responses => return None,
            NativeApi::Messages if call.stream => ("invoke-with-response-stream", body),
            NativeApi::Messages => ("invoke", body),
            // CountTokens counts an InvokeModel body (which needs a max_tokens), as a string.
            NativeApi::CountTokens => {
                let mut counted = messages::count_body(&native.body, None);
                counted.insert("anthropic_version".into(), ANTHROPIC_VERSION.into());
                counted.entry("max_tokens").or_insert(1.into());
                let invoke = serde_json::to_string(&counted).unwrap_or_default();
                (
                    "count-tokens",
                    serde_json::to_vec(
                        &serde_json::json!({"input": {"invokeModel": {"body": invoke}}}),
                    )
                    .unwrap_or_default(),
                )
            }
        };
        Some(self.signed(d, action, body))
    }

    fn native_stream(&self, _api: NativeApi) -> Box<dyn StreamTranslator> {
        Box::new(native::InvokeStream::default())
    }

    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError> {
        match call.endpoint {
            Endpoint::Embeddings => {
                embeddings::answer(body, call.label(), config::model_id(&call.upstream.model))
            }
            _ => response::answer(body, call.label(), json_mode(call)),
        }
    }

    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator> {
        Box::new(stream::BedrockStream::new(call.label(), json_mode(call)))
    }

    fn framing(&self) -> Framing {
        Framing::AwsEventStream
    }

    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError {
        errors::classify(upstream, failure)
    }

    fn secrets(&self) -> Vec<String> {
        self.config
            .credentials
            .iter()
            .flat_map(|c| {
                std::iter::once(c.secret_access_key.expose().to_string())
                    .chain(c.session_token.as_ref().map(|t| t.expose().to_string()))
            })
            .collect()
    }
}
