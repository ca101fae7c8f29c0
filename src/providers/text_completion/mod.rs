//! `text-completion-openai/`: OpenAI's legacy `/completions` API (instruct and base models).
//! `/v1/completions` requests pass through; chat requests are sent as one prompt and the
//! answer comes back as a chat completion (LiteLLM sends one prompt per message and gets one
//! choice per message back; a chat client expects one answer).

mod request;
mod response;
mod stream;

use switchyard_actors::plan::AttemptError;

use super::classify::no_such_api;
use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::openai::{self as compatible, OpenAiStream};
use super::upstream::Upstream;
use super::ProviderKind;
use crate::openai::{rewrite, Endpoint, Usage};

const KIND: ProviderKind = ProviderKind::TextCompletionOpenAi;

#[derive(Debug)]
pub struct TextCompletionOpenAi;

impl Provider for TextCompletionOpenAi {
    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError> {
        let d = call.upstream;
        let body = match call.endpoint {
            Endpoint::Completions => serde_json::to_vec(&compatible::body(
                d,
                Endpoint::Completions,
                call.body,
                call.drop_params,
            ))
            .unwrap_or_default(),
            Endpoint::Chat => request::from_chat(d, call.body, call.stream),
            Endpoint::Embeddings => return Err(no_such_api(KIND, call.endpoint)),
        };
        Ok(UpstreamRequest {
            url: compatible::url(d, Endpoint::Completions),
            headers: compatible::headers(d),
            body,
        })
    }

    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError> {
        match call.endpoint {
            Endpoint::Chat => response::as_chat(body, call.label()),
            _ => rewrite::rewrite(body, call.answer_model)
                .ok_or_else(|| super::classify::malformed(KIND, "not a JSON object")),
        }
    }

    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator> {
        match call.endpoint {
            Endpoint::Chat => Box::new(stream::AsChatStream::new(call.label())),
            _ => Box::new(OpenAiStream::new(
                KIND,
                call.answer_model.map(str::to_string),
            )),
        }
    }

    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError {
        compatible::classify(upstream, failure)
    }
}
