//! Anthropic's Messages API behind the OpenAI chat API.

mod endpoint;
pub mod error_body;
mod errors;
mod request;
mod response;
mod stream;

use switchyard_actors::plan::AttemptError;

#[cfg(test)]
pub use endpoint::API_VERSION;
pub use errors::{classify, stream_error};
pub use request::{json_mode, request_body};
pub use response::answer;
pub use stream::AnthropicStream;

use super::classify::no_such_api;
use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::native::{messages, NativeApi, NativeBody};
use super::ProviderKind;
use crate::openai::{Endpoint, Usage};
use crate::providers::upstream::Upstream;

#[derive(Debug)]
pub struct Anthropic;

impl Provider for Anthropic {
    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError> {
        if call.endpoint != Endpoint::Chat {
            return Err(no_such_api(ProviderKind::Anthropic, call.endpoint));
        }
        let d = call.upstream;
        let body = request_body(&d.model, call.body, call.stream, call.drop_params)?;
        Ok(UpstreamRequest {
            url: endpoint::url(d),
            headers: endpoint::headers(d),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }

    fn speaks(&self, _upstream: &Upstream, api: NativeApi) -> bool {
        api != NativeApi::Responses
    }

    fn native(
        &self,
        call: &Call<'_>,
        native: &NativeBody,
    ) -> Option<Result<UpstreamRequest, AttemptError>> {
        let d = call.upstream;
        let (url, body) = match native.api {
            NativeApi::Responses => return None,
            NativeApi::Messages => (
                endpoint::url(d),
                messages::body_for(&native.body, Some(&d.model), None, call.stream),
            ),
            NativeApi::CountTokens => (
                format!("{}/count_tokens", endpoint::url(d)),
                serde_json::to_vec(&messages::count_body(&native.body, Some(&d.model)))
                    .unwrap_or_default(),
            ),
        };
        Some(Ok(UpstreamRequest {
            url,
            headers: endpoint::headers(d),
            body,
        }))
    }

    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError> {
        response::answer(body, call.label(), json_mode(call.body))
    }

    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator> {
        Box::new(AnthropicStream::new(call.label(), json_mode(call.body)))
    }

    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError {
        classify(upstream, failure)
    }
}
