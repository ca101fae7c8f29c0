//! Upstream providers, one folder each behind one contract (`contract::Provider`): endpoint
//! and auth, request, answer, stream translator with an explicit end, and one `classify`.
//! They know nothing of routing, retries or the cache. A deployment's provider is resolved
//! once, when the config is loaded.

pub mod anthropic;
pub mod classify;
pub mod contract;
pub mod framing;
pub mod gemini;
pub mod http_date;
mod kind;
pub mod mock;
pub mod ollama;
pub mod openai;
pub mod params;
pub mod sse;
pub mod text_completion;
pub mod upstream;

use std::sync::Arc;

use contract::Provider;
pub use kind::ProviderKind;

#[cfg(test)]
mod fixture_tests;

/// The provider implementation for a deployment of this kind.
pub fn resolve(kind: ProviderKind) -> Arc<dyn Provider> {
    match kind {
        ProviderKind::Anthropic => Arc::new(anthropic::Anthropic),
        ProviderKind::Gemini => Arc::new(gemini::Gemini),
        ProviderKind::TextCompletionOpenAi => Arc::new(text_completion::TextCompletionOpenAi),
        ProviderKind::Ollama | ProviderKind::OllamaChat => Arc::new(ollama::Ollama::new(kind)),
        // Every other provider speaks the OpenAI API, each with its own dialect.
        _ => Arc::new(openai::OpenAiCompatible::new(kind)),
    }
}
