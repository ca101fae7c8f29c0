//! Upstream providers, one folder each behind one contract (`contract::Provider`): endpoint
//! and auth, request, answer, stream translator with an explicit end, and one `classify`.
//! They know nothing of routing, retries or the cache. A deployment's provider is resolved
//! once, when the config is loaded.

pub mod anthropic;
pub mod classify;
pub mod contract;
pub mod gemini;
pub mod http_date;
pub mod mock;
pub mod openai;
pub mod params;
pub mod sse;
pub mod upstream;

use std::sync::Arc;

use contract::Provider;

#[cfg(test)]
mod fixture_tests;

/// The provider named by the prefix of `litellm_params.model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    OpenAi,
    HostedVllm,
    Azure,
    Anthropic,
    Gemini,
}

impl ProviderKind {
    pub const NAMES: &'static str = "openai, hosted_vllm, azure, anthropic, gemini";

    pub fn from_prefix(prefix: &str) -> Option<Self> {
        Some(match prefix {
            "openai" | "custom_openai" | "openai_like" => Self::OpenAi,
            "hosted_vllm" | "vllm" | "sglang" => Self::HostedVllm,
            "azure" => Self::Azure,
            "anthropic" => Self::Anthropic,
            "gemini" => Self::Gemini,
            _ => return None,
        })
    }

    /// A bare model name (no prefix), as LiteLLM's model map would resolve it.
    pub fn infer(model: &str) -> Option<Self> {
        let m = model.to_ascii_lowercase();
        if m.starts_with("gpt-")
            || m.starts_with("o1")
            || m.starts_with("o3")
            || m.starts_with("o4")
            || m.starts_with("text-embedding-")
            || m.starts_with("chatgpt-")
        {
            Some(Self::OpenAi)
        } else if m.starts_with("claude") {
            Some(Self::Anthropic)
        } else if m.starts_with("gemini") {
            Some(Self::Gemini)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::HostedVllm => "hosted_vllm",
            Self::Azure => "azure",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }

    /// The label LiteLLM puts in error messages ("OpenAIException - ...").
    pub fn exception_label(self) -> &'static str {
        match self {
            Self::OpenAi => "OpenAIException",
            Self::HostedVllm => "Hosted_vllmException",
            Self::Azure => "AzureException",
            Self::Anthropic => "AnthropicException",
            Self::Gemini => "GeminiException",
        }
    }

    pub fn default_api_base(self) -> Option<&'static str> {
        match self {
            Self::OpenAi => Some("https://api.openai.com/v1"),
            Self::Anthropic => Some("https://api.anthropic.com"),
            Self::Gemini => Some("https://generativelanguage.googleapis.com/v1beta"),
            Self::HostedVllm | Self::Azure => None,
        }
    }
}

/// The provider implementation for a deployment of this kind.
pub fn resolve(kind: ProviderKind) -> Arc<dyn Provider> {
    match kind {
        ProviderKind::OpenAi | ProviderKind::HostedVllm | ProviderKind::Azure => {
            Arc::new(openai::OpenAiCompatible::new(kind))
        }
        ProviderKind::Anthropic => Arc::new(anthropic::Anthropic),
        ProviderKind::Gemini => Arc::new(gemini::Gemini),
    }
}
