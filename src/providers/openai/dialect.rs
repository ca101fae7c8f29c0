//! How each OpenAI-compatible API departs from OpenAI's, as LiteLLM translates for it: the
//! parameters it rejects, the names it spells differently, what it wants added. The body is
//! still written straight from the client's values; a dialect only renames or drops keys.

use serde_json::Value;

use crate::providers::ProviderKind;

#[derive(Debug, Default)]
pub struct Dialect {
    /// `max_completion_tokens` is sent as `max_tokens` (the API predates it).
    pub max_tokens_only: bool,
    /// `tool_choice: "required"` is spelled `"any"`.
    pub required_as_any: bool,
    /// `seed` is spelled `random_seed`.
    pub seed_as_random_seed: bool,
    /// OpenAI parameters the API rejects: a 400 naming them, or dropped with `drop_params`.
    pub unsupported: &'static [&'static str],
    /// Ask for usage in every answer (OpenRouter reports it only when asked).
    pub ask_usage: bool,
}

const OPENAI: Dialect = Dialect {
    max_tokens_only: false,
    required_as_any: false,
    seed_as_random_seed: false,
    unsupported: &[],
    ask_usage: false,
};

/// LiteLLM 1.110's `get_supported_openai_params` per provider, as the parameters it refuses.
pub fn of(kind: ProviderKind) -> &'static Dialect {
    use ProviderKind as K;
    static MISTRAL: Dialect = Dialect {
        max_tokens_only: true,
        required_as_any: true,
        seed_as_random_seed: true,
        unsupported: &[
            "n",
            "frequency_penalty",
            "presence_penalty",
            "logprobs",
            "top_logprobs",
            "logit_bias",
        ],
        ask_usage: false,
    };
    static FIREWORKS: Dialect = Dialect {
        max_tokens_only: true,
        required_as_any: true,
        ..OPENAI
    };
    static MAX_TOKENS_ONLY: Dialect = Dialect {
        max_tokens_only: true,
        ..OPENAI
    };
    static PERPLEXITY: Dialect = Dialect {
        max_tokens_only: true,
        unsupported: &[
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "stop",
            "n",
            "seed",
            "logprobs",
            "top_logprobs",
            "logit_bias",
            "functions",
            "function_call",
        ],
        ..OPENAI
    };
    static CEREBRAS: Dialect = Dialect {
        max_tokens_only: true,
        unsupported: &[
            "n",
            "frequency_penalty",
            "presence_penalty",
            "logprobs",
            "top_logprobs",
            "logit_bias",
            "parallel_tool_calls",
        ],
        ..OPENAI
    };
    static NVIDIA_NIM: Dialect = Dialect {
        max_tokens_only: true,
        unsupported: &["n", "logprobs", "top_logprobs"],
        ..OPENAI
    };
    static SAMBANOVA: Dialect = Dialect {
        max_tokens_only: true,
        unsupported: &[
            "n",
            "frequency_penalty",
            "presence_penalty",
            "logprobs",
            "top_logprobs",
            "logit_bias",
            "seed",
        ],
        ..OPENAI
    };
    static DEEPINFRA: Dialect = Dialect {
        max_tokens_only: true,
        unsupported: &["logprobs", "top_logprobs", "seed"],
        ..OPENAI
    };
    static OPENROUTER: Dialect = Dialect {
        ask_usage: true,
        ..OPENAI
    };
    match kind {
        K::Mistral => &MISTRAL,
        K::FireworksAi => &FIREWORKS,
        K::Xai | K::Github => &MAX_TOKENS_ONLY,
        K::Perplexity => &PERPLEXITY,
        K::Cerebras => &CEREBRAS,
        K::NvidiaNim => &NVIDIA_NIM,
        K::SambaNova => &SAMBANOVA,
        K::DeepInfra => &DEEPINFRA,
        K::OpenRouter => &OPENROUTER,
        _ => &OPENAI,
    }
}

impl Dialect {
    /// The name a client key is sent under, or `None` when the dialect leaves it out.
    pub fn name<'k>(&self, key: &'k str, has_max_completion_tokens: bool) -> Option<&'k str> {
        match key {
            // `max_completion_tokens` wins when both are sent (it is the newer name).
            "max_tokens" if self.max_tokens_only && has_max_completion_tokens => None,
            "max_completion_tokens" if self.max_tokens_only => Some("max_tokens"),
            "seed" if self.seed_as_random_seed => Some("random_seed"),
            _ => Some(key),
        }
    }

    /// A value as the dialect spells it.
    pub fn value<'v>(&self, key: &str, value: &'v Value) -> std::borrow::Cow<'v, Value> {
        if self.required_as_any && key == "tool_choice" && value.as_str() == Some("required") {
            return std::borrow::Cow::Owned(Value::String("any".into()));
        }
        std::borrow::Cow::Borrowed(value)
    }
}
