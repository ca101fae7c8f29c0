//! The body sent to an OpenAI-compatible server: the client's, with the deployment's model
//! name and defaults, minus what `drop_params` drops. Serialised straight from the client's
//! values (no copy), so the passthrough costs one serialisation.

use serde_json::{Map, Value};

use super::dialect;
use crate::openai::Endpoint;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

const CHAT_PARAMS: &[&str] = &[
    "messages",
    "model",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "presence_penalty",
    "response_format",
    "seed",
    "service_tier",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "functions",
    "function_call",
    "modalities",
    "audio",
    "prediction",
    "reasoning_effort",
    "store",
    "web_search_options",
    "verbosity",
    "prompt_cache_key",
    "safety_identifier",
];

/// Sampling and template extras vLLM and SGLang accept on their OpenAI-compatible endpoints.
const VLLM_EXTRA_PARAMS: &[&str] = &[
    "top_k",
    "min_p",
    "repetition_penalty",
    "chat_template_kwargs",
    "guided_json",
    "guided_regex",
    "guided_choice",
    "guided_grammar",
    "structured_outputs",
    "skip_special_tokens",
    "include_stop_str_in_output",
    "ignore_eos",
    "min_tokens",
    "best_of",
    "use_beam_search",
    "length_penalty",
    "stop_token_ids",
    "spaces_between_special_tokens",
    "truncate_prompt_tokens",
    "add_generation_prompt",
    "continue_final_message",
    "separate_reasoning",
    "return_hidden_states",
    "chat_template",
    "priority",
    "regex",
    "ebnf",
    "json_schema",
    "no_stop_trim",
];

const EMBEDDING_PARAMS: &[&str] = &["input", "model", "encoding_format", "dimensions", "user"];

const COMPLETION_PARAMS: &[&str] = &[
    "prompt",
    "model",
    "best_of",
    "echo",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "max_tokens",
    "n",
    "presence_penalty",
    "seed",
    "stop",
    "stream",
    "stream_options",
    "suffix",
    "temperature",
    "top_p",
    "user",
];

fn supported(d: &Upstream, endpoint: Endpoint, key: &str) -> bool {
    match endpoint {
        Endpoint::Chat => {
            CHAT_PARAMS.contains(&key)
                || (d.kind == ProviderKind::HostedVllm && VLLM_EXTRA_PARAMS.contains(&key))
        }
        Endpoint::Completions => {
            COMPLETION_PARAMS.contains(&key)
                || (d.kind == ProviderKind::HostedVllm && VLLM_EXTRA_PARAMS.contains(&key))
        }
        Endpoint::Embeddings => {
            EMBEDDING_PARAMS.contains(&key)
                || (d.kind == ProviderKind::HostedVllm && VLLM_EXTRA_PARAMS.contains(&key))
        }
    }
}

/// The body sent upstream: the client's (router-only fields already removed), the deployment's
/// model name and default params, minus what `drop_params` / `additional_drop_params` drop.
/// It borrows the client's values: a retry or fallback re-serialises, never deep-copies.
pub struct UpstreamBody<'a> {
    d: &'a Upstream,
    endpoint: Endpoint,
    client: &'a Map<String, Value>,
    drop_params: bool,
}

impl UpstreamBody<'_> {
    fn keep(&self, key: &str) -> bool {
        let supported_here = !self.drop_params
            || (supported(self.d, self.endpoint, key)
                && !dialect::of(self.d.kind).unsupported.contains(&key));
        key != "model" && supported_here && !self.d.additional_drop_params.iter().any(|p| p == key)
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        let client = self.client.iter().filter(|(k, _)| self.keep(k));
        let defaults = self
            .d
            .default_params
            .iter()
            .filter(|(k, _)| !self.client.contains_key(*k) && self.keep(k));
        client.chain(defaults).map(|(k, v)| (k.as_str(), v))
    }
}

impl serde::Serialize for UpstreamBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let dialect = dialect::of(self.d.kind);
        let has_max_completion_tokens = self.client.contains_key("max_completion_tokens");
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.entries() {
            if let Some(name) = dialect.name(k, has_max_completion_tokens) {
                map.serialize_entry(name, &dialect.value(k, v))?;
            }
        }
        if dialect.ask_usage && !self.client.contains_key("usage") {
            map.serialize_entry("usage", &serde_json::json!({"include": true}))?;
        }
        map.serialize_entry("model", &self.d.model)?;
        map.end()
    }
}

pub fn body<'a>(
    d: &'a Upstream,
    endpoint: Endpoint,
    client: &'a Map<String, Value>,
    drop_params: bool,
) -> UpstreamBody<'a> {
    UpstreamBody {
        d,
        endpoint,
        client,
        drop_params,
    }
}
