//! Every provider prefix a `litellm_params.model` may carry, and what LiteLLM does for each
//! when the config is silent: the default `api_base`, the environment variables it reads for
//! the base and the key, and the label its error messages carry. One table, so adding a
//! provider is one row (plus a dialect or a translator when it is not plain OpenAI).

/// The provider named by the prefix of `litellm_params.model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    OpenAi,
    HostedVllm,
    Azure,
    Anthropic,
    Gemini,
    Groq,
    Mistral,
    Deepseek,
    OpenRouter,
    TogetherAi,
    FireworksAi,
    Xai,
    Perplexity,
    Cerebras,
    DeepInfra,
    NvidiaNim,
    SambaNova,
    LmStudio,
    Llamafile,
    Github,
    TextCompletionOpenAi,
    Ollama,
    OllamaChat,
    Bedrock,
    VertexAi,
    Cohere,
}

pub struct Spec {
    pub kind: ProviderKind,
    /// The prefixes that name it; the first is its name.
    pub prefixes: &'static [&'static str],
    /// LiteLLM's exception label ("GroqException - ...").
    pub label: &'static str,
    pub default_base: Option<&'static str>,
    /// Read, in order, when the config gives no `api_base`.
    pub base_env: &'static [&'static str],
    /// Read, in order, when the config gives no `api_key`.
    pub key_env: &'static [&'static str],
    /// Sent when no key is configured: local servers started with `--api-key` want one.
    pub placeholder_key: Option<&'static str>,
}

const fn spec(
    kind: ProviderKind,
    prefixes: &'static [&'static str],
    label: &'static str,
    default_base: Option<&'static str>,
    base_env: &'static [&'static str],
    key_env: &'static [&'static str],
) -> Spec {
    Spec {
        kind,
        prefixes,
        label,
        default_base,
        base_env,
        key_env,
        placeholder_key: None,
    }
}

use ProviderKind as K;

/// LiteLLM 1.110's defaults (`get_llm_provider_logic.py` and each provider's transformation).
/// Where LiteLLM falls back to `OPENAI_API_KEY` for a third-party host, Switchyard does not:
/// an OpenAI key is never sent to another company.
pub static SPECS: &[Spec] = &[
    spec(
        K::OpenAi,
        &["openai", "custom_openai", "openai_like"],
        "OpenAIException",
        Some("https://api.openai.com/v1"),
        &["OPENAI_BASE_URL", "OPENAI_API_BASE"],
        &["OPENAI_API_KEY"],
    ),
    Spec {
        placeholder_key: Some("fake-api-key"),
        ..spec(
            K::HostedVllm,
            &["hosted_vllm", "vllm", "sglang"],
            "Hosted_vllmException",
            None,
            &["HOSTED_VLLM_API_BASE"],
            &["HOSTED_VLLM_API_KEY"],
        )
    },
    spec(
        K::Azure,
        &["azure"],
        "AzureException",
        None,
        &["AZURE_API_BASE"],
        &["AZURE_API_KEY", "AZURE_OPENAI_API_KEY"],
    ),
    spec(
        K::Anthropic,
        &["anthropic"],
        "AnthropicException",
        Some("https://api.anthropic.com"),
        &["ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"],
        &["ANTHROPIC_API_KEY"],
    ),
    spec(
        K::Gemini,
        &["gemini"],
        "GeminiException",
        Some("https://generativelanguage.googleapis.com/v1beta"),
        &["GEMINI_API_BASE"],
        &["GEMINI_API_KEY"],
    ),
    spec(
        K::Groq,
        &["groq"],
        "GroqException",
        Some("https://api.groq.com/openai/v1"),
        &["GROQ_API_BASE"],
        &["GROQ_API_KEY"],
    ),
    spec(
        K::Mistral,
        &["mistral"],
        "MistralException",
        Some("https://api.mistral.ai/v1"),
        &["MISTRAL_AZURE_API_BASE", "MISTRAL_API_BASE"],
        &["MISTRAL_AZURE_API_KEY", "MISTRAL_API_KEY"],
    ),
    spec(
        K::Deepseek,
        &["deepseek"],
        "DeepseekException",
        Some("https://api.deepseek.com/beta"),
        &["DEEPSEEK_API_BASE"],
        &["DEEPSEEK_API_KEY"],
    ),
    spec(
        K::OpenRouter,
        &["openrouter"],
        "OpenrouterException",
        Some("https://openrouter.ai/api/v1"),
        &["OPENROUTER_API_BASE"],
        &["OPENROUTER_API_KEY", "OR_API_KEY"],
    ),
    spec(
        K::TogetherAi,
        &["together_ai"],
        "Together_aiException",
        Some("https://api.together.ai/v1"),
        &["TOGETHER_AI_API_BASE"],
        &[
            "TOGETHER_API_KEY",
            "TOGETHER_AI_API_KEY",
            "TOGETHERAI_API_KEY",
            "TOGETHER_AI_TOKEN",
        ],
    ),
    spec(
        K::FireworksAi,
        &["fireworks_ai"],
        "Fireworks_aiException",
        Some("https://api.fireworks.ai/inference/v1"),
        &["FIREWORKS_API_BASE"],
        &[
            "FIREWORKS_API_KEY",
            "FIREWORKS_AI_API_KEY",
            "FIREWORKSAI_API_KEY",
            "FIREWORKS_AI_TOKEN",
        ],
    ),
    spec(
        K::Xai,
        &["xai"],
        "XaiException",
        Some("https://api.x.ai/v1"),
        &["XAI_API_BASE"],
        &["XAI_API_KEY"],
    ),
    spec(
        K::Perplexity,
        &["perplexity"],
        "PerplexityException",
        Some("https://api.perplexity.ai"),
        &["PERPLEXITY_API_BASE"],
        &["PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"],
    ),
    spec(
        K::Cerebras,
        &["cerebras"],
        "CerebrasException",
        Some("https://api.cerebras.ai/v1"),
        &["CEREBRAS_API_BASE"],
        &["CEREBRAS_API_KEY"],
    ),
    spec(
        K::DeepInfra,
        &["deepinfra"],
        "DeepinfraException",
        Some("https://api.deepinfra.com/v1/openai"),
        &["DEEPINFRA_API_BASE"],
        &["DEEPINFRA_API_KEY"],
    ),
    spec(
        K::NvidiaNim,
        &["nvidia_nim"],
        "Nvidia_nimException",
        Some("https://integrate.api.nvidia.com/v1"),
        &["NVIDIA_NIM_API_BASE"],
        &["NVIDIA_NIM_API_KEY"],
    ),
    spec(
        K::SambaNova,
        &["sambanova"],
        "SambanovaException",
        Some("https://api.sambanova.ai/v1"),
        &["SAMBANOVA_API_BASE"],
        &["SAMBANOVA_API_KEY"],
    ),
    // LiteLLM has no default and would send LM Studio's traffic to api.openai.com; LM Studio
    // serves on this address unless told otherwise.
    Spec {
        placeholder_key: Some("fake-api-key"),
        ..spec(
            K::LmStudio,
            &["lm_studio"],
            "Lm_studioException",
            Some("http://localhost:1234/v1"),
            &["LM_STUDIO_API_BASE"],
            &["LM_STUDIO_API_KEY"],
        )
    },
    Spec {
        placeholder_key: Some("fake-api-key"),
        ..spec(
            K::Llamafile,
            &["llamafile"],
            "LlamafileException",
            Some("http://127.0.0.1:8080/v1"),
            &["LLAMAFILE_API_BASE"],
            &["LLAMAFILE_API_KEY"],
        )
    },
    spec(
        K::Github,
        &["github"],
        "GithubException",
        Some("https://models.inference.ai.azure.com"),
        &["GITHUB_API_BASE"],
        &["GITHUB_API_KEY"],
    ),
    spec(
        K::TextCompletionOpenAi,
        &["text-completion-openai"],
        "Text-completion-openaiException",
        Some("https://api.openai.com/v1"),
        &["OPENAI_BASE_URL", "OPENAI_API_BASE"],
        &["OPENAI_API_KEY"],
    ),
    spec(
        K::Ollama,
        &["ollama"],
        "OllamaException",
        Some("http://localhost:11434"),
        &["OLLAMA_API_BASE"],
        &["OLLAMA_API_KEY"],
    ),
    spec(
        K::OllamaChat,
        &["ollama_chat"],
        "Ollama_chatException",
        Some("http://localhost:11434"),
        &["OLLAMA_API_BASE"],
        &["OLLAMA_API_KEY"],
    ),
    // The base defaults to the region's runtime endpoint; the key is a Bedrock API key (bearer),
    // the alternative to SigV4 credentials.
    spec(
        K::Bedrock,
        &["bedrock"],
        "BedrockException",
        None,
        &["AWS_BEDROCK_RUNTIME_ENDPOINT"],
        &["AWS_BEARER_TOKEN_BEDROCK"],
    ),
    // The base is per location; the credential is an OAuth token minted per deployment.
    spec(
        K::VertexAi,
        &["vertex_ai", "vertex_ai_beta"],
        "Vertex_aiException",
        None,
        &["VERTEXAI_API_BASE", "VERTEX_API_BASE"],
        &[],
    ),
    spec(
        K::Cohere,
        &["cohere", "cohere_chat"],
        "CohereException",
        Some("https://api.cohere.com"),
        &["COHERE_API_BASE"],
        &["COHERE_API_KEY", "CO_API_KEY"],
    ),
];

impl ProviderKind {
    pub fn from_prefix(prefix: &str) -> Option<Self> {
        SPECS
            .iter()
            .find(|s| s.prefixes.contains(&prefix))
            .map(|s| s.kind)
    }

    /// Every prefix, for error messages.
    pub fn names() -> String {
        SPECS
            .iter()
            .map(|s| s.prefixes.first().copied().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
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

    pub fn spec(self) -> &'static Spec {
        // Every kind has its row (a unit test walks them all); the first row is a safe stand-in.
        SPECS
            .iter()
            .find(|s| s.kind == self)
            .or_else(|| SPECS.first())
            .unwrap_or(&OPENAI_FALLBACK)
    }

    pub fn name(self) -> &'static str {
        self.spec().prefixes.first().copied().unwrap_or_default()
    }

    /// The label LiteLLM puts in error messages ("OpenAIException - ...").
    pub fn exception_label(self) -> &'static str {
        self.spec().label
    }

    pub fn default_api_base(self) -> Option<&'static str> {
        self.spec().default_base
    }

    /// The upstream model name for the name written after the prefix.
    pub fn upstream_model(self, given: &str) -> String {
        match self {
            Self::FireworksAi => fireworks_model(given),
            // `openai/chat_completions/<model>`: LiteLLM's way to say "no Responses API here".
            Self::OpenAi => given
                .strip_prefix(CHAT_COMPLETIONS_ONLY)
                .unwrap_or(given)
                .to_string(),
            _ => given.to_string(),
        }
    }
}

/// The model prefix that marks an `openai/` deployment as chat-completions only.
pub const CHAT_COMPLETIONS_ONLY: &str = "chat_completions/";

static OPENAI_FALLBACK: Spec = spec(K::OpenAi, &["openai"], "OpenAIException", None, &[], &[]);

/// Fireworks' resource names: a bare model is `accounts/fireworks/models/<m>`, a router
/// `accounts/fireworks/routers/<m>`; full resource names are kept (LiteLLM's rule).
fn fireworks_model(m: &str) -> String {
    if m.starts_with("accounts/") || m.starts_with("FW-") || m.contains('#') {
        m.to_string()
    } else if m.starts_with("routers/") || m.starts_with("models/") {
        format!("accounts/fireworks/{m}")
    } else if m.ends_with("-fast")
        || matches!(m, "firerouter" | "auto" | "auto-instant")
        || m.starts_with("firerouter/")
    {
        format!("accounts/fireworks/routers/{m}")
    } else {
        format!("accounts/fireworks/models/{m}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row_and_every_prefix_one_kind() {
        for s in SPECS {
            assert_eq!(s.kind.spec().kind, s.kind);
            assert_eq!(SPECS.iter().filter(|o| o.kind == s.kind).count(), 1);
            for p in s.prefixes {
                assert_eq!(ProviderKind::from_prefix(p), Some(s.kind), "{p}");
            }
        }
    }

    #[test]
    fn fireworks_names_follow_litellm() {
        assert_eq!(
            fireworks_model("llama-v3p1-8b-instruct"),
            "accounts/fireworks/models/llama-v3p1-8b-instruct"
        );
        assert_eq!(
            fireworks_model("accounts/me/models/x"),
            "accounts/me/models/x"
        );
        assert_eq!(
            fireworks_model("glm-4p5-fast"),
            "accounts/fireworks/routers/glm-4p5-fast"
        );
        assert_eq!(fireworks_model("models/x"), "accounts/fireworks/models/x");
    }
}
