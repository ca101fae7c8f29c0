//! Google Gemini (AI Studio) behind the OpenAI API. Unlike LiteLLM, system messages always
//! become `systemInstruction`, and a stream keeps one id.

mod endpoint;
mod errors;
mod request;
mod response;
mod stream;

use switchyard_actors::plan::AttemptError;

pub use errors::classify;
pub use request::{embeddings_body, request_body};
pub use response::answer;
pub use stream::GeminiStream;

use super::classify::no_such_api;
use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::ProviderKind;
use crate::openai::{Endpoint, Usage};
use crate::providers::upstream::Upstream;

#[derive(Debug)]
pub struct Gemini;

impl Provider for Gemini {
    /// Gemini reads images only inline or from Google's own storage.
    fn wants_inline_images(&self) -> bool {
        true
    }

    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError> {
        let d = call.upstream;
        let body = match call.endpoint {
            Endpoint::Embeddings => embeddings_body(endpoint::model_name(d), call.body)?,
            Endpoint::Chat => request_body(call.body, call.drop_params)?,
            Endpoint::Completions => return Err(no_such_api(ProviderKind::Gemini, call.endpoint)),
        };
        Ok(UpstreamRequest {
            url: endpoint::url(d, call.endpoint, call.stream),
            headers: endpoint::headers(d),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }

    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError> {
        match call.endpoint {
            Endpoint::Embeddings => response::embeddings(body, call.label()),
            _ => response::answer(body, call.label()),
        }
    }

    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator> {
        Box::new(GeminiStream::new(call.label()))
    }

    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError {
        classify(upstream, failure)
    }
}
