//! OpenAI and OpenAI-compatible servers (vLLM, SGLang, Azure OpenAI): URLs, headers, which
//! parameters they accept, and how their errors are classified.

use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::seconds::Seconds;
use switchyard_actors::ErrorClass;

use super::ProviderKind;
use crate::settings::Deployment;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Embeddings,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Self::Chat => "chat/completions",
            Self::Embeddings => "embeddings",
        }
    }
}

/// Azure's data-plane API version when the config names none.
const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

pub fn url(d: &Deployment, endpoint: Endpoint) -> String {
    let base = d
        .api_base
        .as_deref()
        .or(d.provider.default_api_base())
        .unwrap_or("");
    match d.provider {
        ProviderKind::Azure => format!(
            "{base}/openai/deployments/{}/{}?api-version={}",
            d.upstream_model,
            endpoint.path(),
            d.api_version
                .as_deref()
                .unwrap_or(AZURE_DEFAULT_API_VERSION)
        ),
        _ => format!("{base}/{}", endpoint.path()),
    }
}

/// Auth and extra headers for the upstream call. vLLM servers started with `--api-key` need one
/// even when the config gives none, so LiteLLM sends `fake-api-key`; we do the same.
pub fn headers(d: &Deployment) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(2 + d.extra_headers.len());
    let key = d.api_key.as_ref().map(|k| k.expose().to_string());
    match d.provider {
        ProviderKind::Azure => {
            if let Some(k) = key {
                out.push(("api-key".into(), k));
            }
        }
        ProviderKind::HostedVllm => {
            out.push((
                "authorization".into(),
                format!("Bearer {}", key.as_deref().unwrap_or("fake-api-key")),
            ));
        }
        _ => {
            if let Some(k) = key {
                out.push(("authorization".into(), format!("Bearer {k}")));
            }
        }
    }
    if let Some(org) = &d.organization {
        out.push(("openai-organization".into(), org.clone()));
    }
    out.extend(d.extra_headers.iter().cloned());
    out
}

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

fn supported(d: &Deployment, endpoint: Endpoint, key: &str) -> bool {
    match endpoint {
        Endpoint::Chat => {
            CHAT_PARAMS.contains(&key)
                || (d.provider == ProviderKind::HostedVllm && VLLM_EXTRA_PARAMS.contains(&key))
        }
        Endpoint::Embeddings => {
            EMBEDDING_PARAMS.contains(&key)
                || (d.provider == ProviderKind::HostedVllm && VLLM_EXTRA_PARAMS.contains(&key))
        }
    }
}

/// The body sent upstream: the client's (router-only fields already removed), the deployment's
/// model name and default params, minus what `drop_params` / `additional_drop_params` drop.
/// It borrows the client's values: a retry or fallback re-serialises, never deep-copies.
pub struct UpstreamBody<'a> {
    d: &'a Deployment,
    endpoint: Endpoint,
    client: &'a Map<String, Value>,
    drop_params: bool,
}

impl UpstreamBody<'_> {
    fn keep(&self, key: &str) -> bool {
        let supported_here = !self.drop_params || supported(self.d, self.endpoint, key);
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
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.entries() {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("model", &self.d.upstream_model)?;
        map.end()
    }
}

pub fn body<'a>(
    d: &'a Deployment,
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

/// Phrases OpenAI-compatible servers use for prompts over the context window
/// (OpenAI, vLLM, SGLang, llama.cpp, TGI wordings).
const CONTEXT_PHRASES: &[&str] = &[
    "maximum context length",
    "context_length_exceeded",
    "longer than the model's context length",
    "exceeds the available context size",
    "input tokens exceed the configured limit",
    "context window",
    "prompt is too long",
    "too many tokens",
    "reduce the length of the messages",
    "exceeds the maximum number of tokens allowed",
    "input token count",
];

const CONTENT_POLICY_PHRASES: &[&str] = &[
    "content_policy_violation",
    "content management policy",
    "content_filter",
];

/// The message an upstream error body carries, whatever shape the server uses.
pub fn error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let found = v
            .pointer("/error/message")
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .or_else(|| v.get("message"))
            .or_else(|| v.get("detail"));
        if let Some(m) = found {
            return m
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| m.to_string());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    text.chars().take(1000).collect()
}

/// Never let a key leak through an upstream's error text (some echo the key they received).
/// An upstream's error text as it may be shown: the deployment's own key and any other secret
/// masked (upstreams echo the key they were sent).
pub fn scrub(message: &str, d: &Deployment) -> String {
    let mut out = message.to_string();
    if let Some(key) = &d.api_key {
        if key.expose().len() >= 4 {
            out = out.replace(key.expose(), &key.masked());
        }
    }
    crate::secret::redact(&out).into_owned()
}

/// The upstream's `retry-after-ms` / `Retry-After` (seconds or an HTTP date), cut to `max`
/// with a warning: a deployment must not cool down for a day because one answer said so.
pub fn retry_after_seconds(
    headers: &awc::http::header::HeaderMap,
    max: Seconds,
    deployment: &str,
) -> Option<Seconds> {
    let asked = raw_retry_after(headers)?;
    let clamped = Seconds::clamped(asked, max)?;
    if asked > max.get() {
        tracing::warn!(
            deployment,
            retry_after_s = asked,
            max_s = max.get(),
            "upstream Retry-After is longer than switchyard_settings.max_retry_after_seconds: cut to it"
        );
    }
    Some(clamped)
}

fn raw_retry_after(headers: &awc::http::header::HeaderMap) -> Option<f64> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(ms / 1000.0);
    }
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    match value.parse::<f64>() {
        Ok(s) => Some(s),
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            super::http_date::seconds_until(value, now)
        }
    }
}

/// Classifies an upstream error once, into the router's error classes.
pub fn classify(
    d: &Deployment,
    status: u16,
    body: &[u8],
    retry_after: Option<Seconds>,
) -> AttemptError {
    let message = scrub(&error_message(body), d);
    // Servers put the telling word in the message, the code or the type, depending on who wrote them.
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").cloned())
        .map(|e| {
            // `status` is Gemini's (RESOURCE_EXHAUSTED, UNAVAILABLE, ...).
            format!(
                "{} {} {}",
                e.get("code").unwrap_or(&Value::Null),
                e.get("type").unwrap_or(&Value::Null),
                e.get("status").unwrap_or(&Value::Null)
            )
        })
        .unwrap_or_default();
    let lower = format!("{message} {code}").to_ascii_lowercase();

    let mut class = ErrorClass::from_status(status);
    if lower.contains("api key not valid") || lower.contains("api_key_invalid") {
        // Gemini answers a bad key with 400 INVALID_ARGUMENT.
        class = ErrorClass::Authentication;
    } else if lower.contains("resource_exhausted") || lower.contains("quota exceeded") {
        class = ErrorClass::RateLimit;
    } else if lower.contains("unavailable") && status == 503 {
        class = ErrorClass::ServiceUnavailable;
    }
    if class != ErrorClass::Authentication && class != ErrorClass::PermissionDenied {
        if CONTEXT_PHRASES.iter().any(|p| lower.contains(p)) && status < 500 {
            class = ErrorClass::ContextWindowExceeded;
        } else if CONTENT_POLICY_PHRASES.iter().any(|p| lower.contains(p)) {
            class = ErrorClass::ContentPolicyViolation;
        } else if lower.contains("rate limit") && status >= 400 {
            class = ErrorClass::RateLimit;
        }
    }
    let mut err = AttemptError::new(
        class,
        class.client_status(),
        format!(
            "{}: {} - {}",
            class.name(),
            d.provider.exception_label(),
            message
        ),
    );
    err.retry_after = retry_after;
    err
}

pub fn connection_error(d: &Deployment, detail: &str) -> AttemptError {
    AttemptError::new(
        ErrorClass::InternalServer,
        500,
        format!(
            "InternalServerError: {} - Connection error ({}).",
            d.provider.exception_label(),
            scrub(detail, d)
        ),
    )
}

pub fn timeout_error(d: &Deployment, seconds: Seconds) -> AttemptError {
    AttemptError::new(
        ErrorClass::Timeout,
        408,
        format!(
            "Timeout: {} - Request timed out after {seconds}s (deployment {}).",
            d.provider.exception_label(),
            d.id
        ),
    )
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::settings::GatewayConfig;

    fn deployment(model: &str, extra: &str) -> Deployment {
        let yaml = format!(
            "model_list:\n  - model_name: g\n    litellm_params:\n      model: {model}\n      api_key: sk-live-abcdefghijklmnopqrstuvwxyz\n      api_base: http://127.0.0.1:9/v1\n{extra}"
        );
        let tree: Value = config::Config::builder()
            .add_source(config::File::from_str(&yaml, config::FileFormat::Yaml))
            .build()
            .and_then(|c| c.try_deserialize())
            .unwrap();
        GatewayConfig::from_tree(tree, "test")
            .unwrap()
            .deployments
            .remove(0)
    }

    fn body_json(d: &Deployment, client: &str, drop: bool) -> Value {
        let client: Map<String, Value> = serde_json::from_str(client).unwrap();
        serde_json::to_value(body(d, Endpoint::Chat, &client, drop)).unwrap()
    }

    #[test]
    fn classifies_by_status_and_message() {
        let d = deployment("openai/gpt-4o", "");
        let ctx = classify(
            &d,
            400,
            br#"{"error":{"message":"This model's maximum context length is 8192 tokens"}}"#,
            None,
        );
        assert_eq!(ctx.class, ErrorClass::ContextWindowExceeded);
        let sglang = classify(&d, 400, br#"{"object":"error","message":"The input (9000 tokens) is longer than the model's context length (8192 tokens)."}"#, None);
        assert_eq!(sglang.class, ErrorClass::ContextWindowExceeded);
        assert_eq!(
            classify(
                &d,
                400,
                br#"{"error":{"code":"content_policy_violation","message":"x"}}"#,
                None
            )
            .class,
            ErrorClass::ContentPolicyViolation
        );
        assert_eq!(
            classify(&d, 429, b"slow down", Some(Seconds::whole(2))).retry_after,
            Some(Seconds::whole(2))
        );
        assert_eq!(
            classify(&d, 503, b"", None).class,
            ErrorClass::ServiceUnavailable
        );
        assert_eq!(
            classify(&d, 401, br#"{"error":{"message":"bad key"}}"#, None).class,
            ErrorClass::Authentication
        );
        assert_eq!(classify(&d, 422, b"{}", None).status, 400);
    }

    #[test]
    fn errors_never_carry_the_key() {
        let d = deployment("openai/gpt-4o", "");
        let e = classify(&d, 401, br#"{"error":{"message":"Incorrect API key provided: sk-live-abcdefghijklmnopqrstuvwxyz"}}"#, None);
        assert!(!e.message.contains("abcdefghijklmnop"), "{}", e.message);
        let other = scrub("leaked sk-proj-ZZZZZZZZZZZZZZZZZZZZZZZZ here", &d);
        assert!(!other.contains("ZZZZZZZZZZZZ"), "{other}");
    }

    #[test]
    fn drop_params_drops_only_unsupported_keys() {
        let d = deployment("openai/gpt-4o", "");
        let client = r#"{"model":"g","messages":[],"temperature":0.2,"top_k":5}"#;
        let kept = body_json(&d, client, false);
        assert_eq!(kept["top_k"], 5);
        assert_eq!(kept["model"], "gpt-4o");
        let dropped = body_json(&d, client, true);
        assert!(dropped.get("top_k").is_none());
        assert_eq!(dropped["temperature"], 0.2);
    }

    #[test]
    fn vllm_extras_survive_drop_params_and_defaults_apply() {
        let d = deployment(
            "hosted_vllm/Qwen/Qwen3-0.6B",
            "      temperature: 0\n      additional_drop_params: [user]\n",
        );
        let b = body_json(
            &d,
            r#"{"model":"g","messages":[],"top_k":5,"user":"u","chat_template_kwargs":{"enable_thinking":false}}"#,
            true,
        );
        assert_eq!(b["model"], "Qwen/Qwen3-0.6B");
        assert_eq!(b["top_k"], 5);
        assert_eq!(b["temperature"], 0);
        assert!(b.get("user").is_none());
        assert_eq!(b["chat_template_kwargs"]["enable_thinking"], false);
    }

    #[test]
    fn urls_and_headers_per_provider() {
        let d = deployment("openai/gpt-4o", "");
        assert_eq!(
            url(&d, Endpoint::Chat),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        assert_eq!(headers(&d)[0].0, "authorization");
        let az = deployment("azure/my-deploy", "      api_version: \"2024-10-21\"\n");
        assert_eq!(
            url(&az, Endpoint::Embeddings),
            "http://127.0.0.1:9/v1/openai/deployments/my-deploy/embeddings?api-version=2024-10-21"
        );
        assert_eq!(headers(&az)[0].0, "api-key");
    }
}
