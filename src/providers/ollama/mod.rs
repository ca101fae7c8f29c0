//! Ollama's native API: `ollama_chat/` on `/api/chat`, `ollama/` on `/api/generate` (a prompt
//! built from the messages, as LiteLLM's `ollama_pt` does), embeddings on `/api/embed` for
//! both, streams as JSON lines. Default `api_base` `http://localhost:11434`.

mod endpoint;
mod errors;
mod request;
mod response;
mod stream;

use switchyard_actors::plan::AttemptError;

use super::contract::{Call, Provider, StreamTranslator, UpstreamFailure, UpstreamRequest};
use super::framing::Framing;
use super::params::check_params;
use super::upstream::Upstream;
use super::ProviderKind;
use crate::openai::{Endpoint, Usage};

/// Which Ollama API a deployment's chat requests go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Chat,
    Generate,
}

/// OpenAI parameters Ollama has no equivalent for (LiteLLM's `get_supported_openai_params`).
const UNSUPPORTED: &[&str] = &[
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "n>1",
    "modalities",
    "audio",
    "prediction",
];

#[derive(Debug)]
pub struct Ollama {
    kind: ProviderKind,
    api: Api,
}

impl Ollama {
    pub fn new(kind: ProviderKind) -> Self {
        let api = if kind == ProviderKind::OllamaChat {
            Api::Chat
        } else {
            Api::Generate
        };
        Self { kind, api }
    }
}

impl Provider for Ollama {
    /// Ollama takes images only as base64.
    fn wants_inline_images(&self) -> bool {
        true
    }

    fn request(&self, call: &Call<'_>) -> Result<UpstreamRequest, AttemptError> {
        let d = call.upstream;
        if call.endpoint != Endpoint::Embeddings {
            check_params(self.kind, call.body, UNSUPPORTED, call.drop_params)?;
        }
        let (route, body) = match (call.endpoint, self.api) {
            (Endpoint::Embeddings, _) => ("api/embed", request::embed(d, call.body)?),
            (Endpoint::Chat, Api::Chat) => ("api/chat", request::chat(d, call.body, call.stream)),
            (Endpoint::Completions, Api::Chat) => (
                "api/chat",
                request::chat_from_prompt(d, call.body, call.stream),
            ),
            (endpoint, Api::Generate) => (
                "api/generate",
                request::generate(d, call.body, endpoint, call.stream),
            ),
        };
        Ok(UpstreamRequest {
            url: endpoint::url(d, route),
            headers: endpoint::headers(d),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        })
    }

    fn answer(&self, call: &Call<'_>, body: &[u8]) -> Result<(Vec<u8>, Usage), AttemptError> {
        match call.endpoint {
            Endpoint::Embeddings => response::embeddings(self.kind, body, call.label()),
            endpoint => response::answer(self.kind, body, call.label(), endpoint),
        }
    }

    fn stream(&self, call: &Call<'_>) -> Box<dyn StreamTranslator> {
        Box::new(stream::OllamaStream::new(
            self.kind,
            call.label(),
            call.endpoint,
        ))
    }

    fn framing(&self) -> Framing {
        Framing::JsonLines
    }

    fn classify(&self, upstream: &Upstream, failure: &UpstreamFailure<'_>) -> AttemptError {
        errors::classify(upstream, failure)
    }
}
