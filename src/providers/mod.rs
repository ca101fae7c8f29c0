//! Upstream providers, one folder each behind one contract (`contract::Provider`): endpoint
//! and auth, request, answer, stream translator with an explicit end, and one `classify`.
//! They know nothing of routing, retries or the cache. A deployment's provider is resolved
//! once, when the config is loaded.

pub mod anthropic;
pub mod bedrock;
pub mod classify;
pub mod cohere;
pub mod contract;
pub mod framing;
pub mod gemini;
pub mod http_date;
mod kind;
pub mod mock;
pub mod native;
pub mod ollama;
pub mod openai;
pub mod params;
pub mod sse;
pub mod text_completion;
pub mod upstream;
pub mod vertex;

use std::sync::Arc;

use contract::Provider;
pub use kind::ProviderKind;

#[cfg(test)]
mod fixture_tests;

/// A `litellm_params` value a provider cannot use: the key and what is wrong.
#[derive(Debug)]
pub struct ParamError {
    pub key: &'static str,
    pub reason: String,
}

impl ParamError {
    pub fn new(key: &'static str, reason: impl Into<String>) -> Self {
        Self {
            key,
            reason: reason.into(),
        }
    }
}

/// Whether a deployment is sent Responses API requests as they are (LiteLLM 1.108.7: `openai/`,
/// `azure/` and `hosted_vllm/`, unless `use_chat_completions_api: true` or the
/// `openai/chat_completions/<model>` prefix says the server has only chat completions).
fn responses_api(kind: ProviderKind, params: &serde_json::Map<String, serde_json::Value>) -> bool {
    let chat_only = params
        .get("use_chat_completions_api")
        .and_then(serde_json::Value::as_bool)
        == Some(true)
        || params
            .get("model")
            .and_then(serde_json::Value::as_str)
            .and_then(|m| m.strip_prefix("openai/"))
            .is_some_and(|m| m.starts_with(kind::CHAT_COMPLETIONS_ONLY));
    matches!(
        kind,
        ProviderKind::OpenAi | ProviderKind::Azure | ProviderKind::HostedVllm
    ) && !chat_only
}

/// The provider implementation for a deployment of this kind, with the provider-specific
/// `litellm_params` (AWS credentials, Vertex project) it reads once, here.
pub fn resolve(
    kind: ProviderKind,
    model: &str,
    params: &serde_json::Map<String, serde_json::Value>,
) -> Result<Arc<dyn Provider>, ParamError> {
    Ok(match kind {
        ProviderKind::Anthropic => Arc::new(anthropic::Anthropic),
        ProviderKind::Gemini => Arc::new(gemini::Gemini),
        ProviderKind::TextCompletionOpenAi => Arc::new(text_completion::TextCompletionOpenAi),
        ProviderKind::Ollama | ProviderKind::OllamaChat => Arc::new(ollama::Ollama::new(kind)),
        ProviderKind::Bedrock => Arc::new(bedrock::Bedrock::new(bedrock::config::from_params(
            params, model,
        )?)),
        ProviderKind::Cohere => Arc::new(cohere::Cohere),
        ProviderKind::VertexAi => {
            Arc::new(vertex::Vertex::new(vertex::config::from_params(params)?))
        }
        // Every other provider speaks the OpenAI API, each with its own dialect.
        _ => Arc::new(openai::OpenAiCompatible::new(
            kind,
            responses_api(kind, params),
        )),
    })
}
