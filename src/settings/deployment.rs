//! One `model_list` entry: the upstream it names and its routing facts.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use switchyard_actors::policy::AllowedFailsPolicy;
use switchyard_actors::seconds::Seconds;
use switchyard_actors::spec::DeploymentSpec;
use switchyard_actors::GroupIdx;

use super::limits::{MAX_COOLDOWN, MAX_RETRIES, MAX_TIMEOUT, MAX_WEIGHT};
use super::notes::Notes;
use super::router::allowed_fails_policy;
use super::value::{as_map, err, Field, Node, Result};
use crate::providers::contract::Provider;
use crate::providers::params::first_env;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;
use crate::secret::Secret;

/// `litellm_params` keys Switchyard reads; any other key is a default request parameter
/// (LiteLLM merges extra `litellm_params` into every call, e.g. `temperature: 0`).
const PARAM_KEYS: &[&str] = &[
    "model",
    "api_key",
    "api_base",
    "base_url",
    "api_version",
    "organization",
    "timeout",
    "stream_timeout",
    "request_timeout",
    "max_retries",
    "num_retries",
    "rpm",
    "tpm",
    "weight",
    "order",
    "mock_response",
    "max_parallel_requests",
    "cooldown_time",
    "input_cost_per_token",
    "output_cost_per_token",
    "drop_params",
    "additional_drop_params",
    "extra_headers",
    // Read by the provider (openai/, azure/, hosted_vllm/): bridge /v1/responses to chat.
    "use_chat_completions_api",
    // Read by the provider they belong to (bedrock/, vertex_ai/).
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region_name",
    "aws_bedrock_runtime_endpoint",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
    "vertex_ai_project",
    "vertex_ai_location",
    "vertex_ai_credentials",
];

/// Keys LiteLLM accepts in `litellm_params` that change nothing here yet.
const PARAM_KEYS_NOT_USED: &[&str] = &[
    "tags",
    "region_name",
    "base_model",
    "custom_llm_provider",
    "use_in_pass_through",
    "merge_reasoning_content_in_choices",
    "litellm_credential_name",
    "configurable_clientside_auth_params",
    "api_type",
    "allowed_openai_params",
    "model_info",
];

#[derive(Clone, Debug)]
pub struct Deployment {
    pub id: String,
    pub group_name: String,
    pub kind: ProviderKind,
    /// The wire format it speaks, resolved once here.
    pub provider: std::sync::Arc<dyn Provider>,
    /// Where and how it is called: all a provider sees of it.
    pub upstream: Upstream,
    /// `litellm_params.model` as written.
    pub model: String,
    pub timeout: Option<Seconds>,
    pub stream_timeout: Option<Seconds>,
    pub request_timeout: Option<Seconds>,
    pub mock_response: Option<String>,
    pub drop_params: Option<bool>,
    /// `model_info.mode`: chat, embedding, completion, ...
    pub mode: Option<String>,
    pub health_check_max_tokens: Option<u64>,
    pub health_check_timeout: Option<Seconds>,
    pub spec: DeploymentSpec,
    public_base: String,
}

/// `base` without query string, fragment or userinfo.
fn public_base(base: &str) -> String {
    let base = base.split(['?', '#']).next().unwrap_or("");
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest
                .split_at_checked(rest.find('/').unwrap_or(rest.len()))
                .unwrap_or((rest, ""));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => base.to_string(),
    }
}

impl Deployment {
    /// The api_base users see in headers, /model/info, /health and check-config: no query
    /// string, no `user:password@` (built once at load: every answer carries it).
    pub fn public_api_base(&self) -> &str {
        &self.public_base
    }

    pub fn is_embedding(&self) -> bool {
        match self.mode.as_deref() {
            Some(mode) => mode == "embedding",
            None => self.upstream.model.contains("embed"),
        }
    }
}

/// LiteLLM's deterministic id: sha256 of the group name and each `litellm_params` key and value
/// (after `os.environ/` resolution), so every instance derives the same ids.
fn derived_id(group: &str, params: &Map<String, Value>) -> String {
    let mut text = group.to_string();
    for (k, v) in params {
        text.push_str(k);
        text.push_str(&python_str(v));
    }
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `str()` of a YAML value, as LiteLLM's id hashing sees it.
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => format!("'{s}'"),
                    other => python_str(other),
                })
                .collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(_) => v.to_string(),
    }
}

pub fn parse_deployment(node: Node, group: GroupIdx, notes: &mut Notes) -> Result<Deployment> {
    let entry = as_map(node)?;
    let path = node.path;
    let group_name = match Field::of(entry, path, "model_name").string()? {
        Some(name) if !name.trim().is_empty() => name,
        _ => {
            return err(
                &format!("{path}.model_name"),
                "required: the model group clients ask for",
            )
        }
    };
    let params_path = format!("{path}.litellm_params");
    let Some(params) = Field::of(entry, path, "litellm_params").map()? else {
        return err(&params_path, "required: a mapping with at least `model`");
    };
    let info_path = format!("{path}.model_info");
    let empty = Map::new();
    let info = Field::of(entry, path, "model_info")
        .map()?
        .unwrap_or(&empty);
    let p = |key: &str| Field::of(params, &params_path, key);
    let i = |key: &str| Field::of(info, &info_path, key);

    let model = match p("model").string()? {
        Some(m) if !m.trim().is_empty() => m,
        _ => {
            return err(
                &format!("{params_path}.model"),
                "required: provider/model, e.g. openai/gpt-4o",
            )
        }
    };
    let (provider, upstream_model) = match model.split_once('/') {
        Some((prefix, rest)) => match ProviderKind::from_prefix(prefix) {
            Some(kind) => (kind, kind.upstream_model(rest)),
            None => match ProviderKind::infer(&model) {
                Some(kind) if !prefix.is_empty() => (kind, model.clone()),
                _ => {
                    return err(
                        &format!("{params_path}.model"),
                        format!("unknown provider \"{prefix}\" in \"{model}\" (supported: {})", ProviderKind::names()),
                    )
                }
            },
        },
        None => match ProviderKind::infer(&model) {
            Some(kind) => (kind, model.clone()),
            None => {
                return err(
                    &format!("{params_path}.model"),
                    format!("no provider prefix in \"{model}\" and none can be inferred; write e.g. openai/{model}"),
                )
            }
        },
    };
    // As LiteLLM does, the provider's environment variables stand in for what the entry omits.
    let api_base = match p("api_base")
        .string()?
        .or(p("base_url").string()?)
        .or(p("aws_bedrock_runtime_endpoint").string()?)
    {
        Some(base) => Some(base),
        None => first_env(provider.spec().base_env),
    };
    if let Some(base) = &api_base {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return err(
                &format!("{params_path}.api_base"),
                format!("expected an http(s) URL, found \"{base}\""),
            );
        }
    }
    if provider == ProviderKind::Azure && api_base.is_none() && p("mock_response").value.is_none() {
        return err(
            &format!("{params_path}.api_base"),
            "required for azure/ deployments",
        );
    }
    if provider == ProviderKind::HostedVllm
        && api_base.is_none()
        && p("mock_response").value.is_none()
    {
        return err(
            &format!("{params_path}.api_base"),
            "required for hosted_vllm/ deployments",
        );
    }

    let mut default_params = Map::new();
    for (key, value) in params {
        if PARAM_KEYS.contains(&key.as_str()) || value.is_null() {
            continue;
        }
        if PARAM_KEYS_NOT_USED.contains(&key.as_str()) {
            notes.not_used(
                &format!("{params_path}.{key}"),
                "accepted, has no effect in Switchyard",
            );
        } else {
            default_params.insert(key.clone(), value.clone());
        }
    }
    if p("max_retries").present() && !p("num_retries").present() {
        notes.differs(
            &format!("{params_path}.max_retries"),
            "honoured as this deployment's retry count (LiteLLM's router ignores it)",
        );
    }
    p("use_chat_completions_api").bool()?;
    let extra_headers = match p("extra_headers").map()? {
        None => Vec::new(),
        Some(map) => map
            .iter()
            .map(|(k, v)| {
                let text = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                (k.clone(), text)
            })
            .collect(),
    };
    let policy_field = i("allowed_fails_policy");
    let deployment_policy: Option<AllowedFailsPolicy> = match policy_field.map()? {
        Some(map) => Some(allowed_fails_policy(map, &policy_field.path, notes)?),
        None => None,
    };
    let id = match i("id").string()? {
        Some(id) if !id.is_empty() => id,
        _ => derived_id(&group_name, params),
    };
    let spec = DeploymentSpec {
        id: id.clone(),
        group,
        weight: match p("weight").non_negative()? {
            Some(w) if w > MAX_WEIGHT => {
                return err(
                    &p("weight").path,
                    format!("{w} is more than the limit of {MAX_WEIGHT}"),
                )
            }
            w => w,
        },
        rpm: p("rpm").u64()?.or(i("rpm").u64()?),
        tpm: p("tpm").u64()?.or(i("tpm").u64()?),
        order: p("order").i64()?.or(i("order").i64()?),
        max_parallel_requests: p("max_parallel_requests").u32()?,
        num_retries: p("num_retries").u32_at_most(MAX_RETRIES)?,
        max_retries: p("max_retries").u32_at_most(MAX_RETRIES)?,
        cooldown_time: i("cooldown_time")
            .seconds(MAX_COOLDOWN)?
            .or(p("cooldown_time").seconds(MAX_COOLDOWN)?),
        allowed_fails: i("allowed_fails").u32()?,
        allowed_fails_policy: deployment_policy,
        input_cost_per_token: p("input_cost_per_token")
            .non_negative()?
            .or(i("input_cost_per_token").non_negative()?),
        output_cost_per_token: p("output_cost_per_token")
            .non_negative()?
            .or(i("output_cost_per_token").non_negative()?),
    };
    let api_base = api_base.map(|b| b.trim_end_matches('/').to_string());
    let public_base = public_base(
        api_base
            .as_deref()
            .or(provider.default_api_base())
            .unwrap_or(""),
    );
    Ok(Deployment {
        public_base,
        id,
        group_name,
        kind: provider,
        provider: match crate::providers::resolve(provider, &upstream_model, params) {
            Ok(p) => p,
            Err(e) => return err(&format!("{params_path}.{}", e.key), e.reason),
        },
        upstream: Upstream {
            id: spec.id.clone(),
            kind: provider,
            model: upstream_model,
            api_base,
            api_key: p("api_key")
                .string()?
                .filter(|k| !k.is_empty())
                .or_else(|| first_env(provider.spec().key_env))
                .map(Secret::new),
            api_version: p("api_version").string()?,
            organization: p("organization").string()?,
            additional_drop_params: p("additional_drop_params").strings()?.unwrap_or_default(),
            extra_headers,
            default_params,
        },
        model,
        timeout: p("timeout").seconds(MAX_TIMEOUT)?,
        stream_timeout: p("stream_timeout").seconds(MAX_TIMEOUT)?,
        request_timeout: p("request_timeout").seconds(MAX_TIMEOUT)?,
        mock_response: p("mock_response").string()?,
        drop_params: p("drop_params").bool()?,
        mode: i("mode").string()?,
        health_check_max_tokens: i("health_check_max_tokens").u64()?,
        health_check_timeout: i("health_check_timeout").seconds(MAX_TIMEOUT)?,
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a: Map<String, Value> =
            serde_json::from_str(r#"{"model":"openai/gpt-4o","api_key":"k1","timeout":120}"#)
                .unwrap();
        let b: Map<String, Value> =
            serde_json::from_str(r#"{"model":"openai/gpt-4o","api_key":"k2","timeout":120}"#)
                .unwrap();
        assert_eq!(derived_id("gpt-4o", &a), derived_id("gpt-4o", &a));
        assert_ne!(derived_id("gpt-4o", &a), derived_id("gpt-4o", &b));
        assert_eq!(derived_id("gpt-4o", &a).len(), 64);
    }

    #[test]
    fn python_str_matches_python() {
        let v: Value = serde_json::from_str(r#"[true, null, "a", 1.5]"#).unwrap();
        assert_eq!(python_str(&v), "[True, None, 'a', 1.5]");
    }
}
