//! Turning an HTTP request into a `Prepared` one: auth, body limits, JSON, validation.

use std::sync::Arc;
use std::time::Instant;

use actix_web::HttpRequest;
use serde_json::{Map, Value};
use switchyard_actors::plan::RequestOverrides;
use switchyard_actors::seconds::Seconds;
use switchyard_actors::GroupIdx;

use crate::cache::control::CacheControl;
use crate::dispatch::Prepared;
use crate::error::GatewayError;
use crate::generation::Generation;
use crate::openai::Endpoint;
use crate::secret::same_secret;
use crate::settings::limits::{MAX_RETRIES, MAX_TIMEOUT};
use crate::settings::GatewayConfig;

/// Fields that steer the gateway itself (LiteLLM's request extensions); never sent upstream.
const ROUTER_ONLY_FIELDS: &[&str] = &[
    "num_retries",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "disable_fallbacks",
    "mock_response",
    "mock_testing_fallbacks",
    "mock_testing_context_fallbacks",
    "mock_testing_content_policy_fallbacks",
    "mock_testing_rate_limit_error",
    "mock_timeout",
    "metadata",
    "litellm_metadata",
    "cache",
    "caching",
    "timeout",
    "request_timeout",
    "stream_timeout",
    "tags",
    "api_key",
    "api_base",
    "base_url",
    "api_version",
    "drop_params",
    "additional_drop_params",
    "max_retries",
    "include_fallback_errors",
    "proxy_server_request",
    "secret_fields",
    "litellm_call_id",
    "litellm_logging_obj",
    "extra_body",
];

/// The request id: the client's `x-litellm-call-id` when it is sane, else a new UUID v4.
pub fn call_id(req: &HttpRequest) -> String {
    req.headers()
        .get("x-litellm-call-id")
        .and_then(|v| v.to_str().ok())
        .and_then(valid_call_id)
        .map_or_else(new_call_id, str::to_string)
}

/// A client-sent id the gateway may echo and log: short, printable, no spaces.
pub fn valid_call_id(v: &str) -> Option<&str> {
    (!v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic())).then_some(v)
}

pub fn new_call_id() -> String {
    let (a, b) = (fastrand::u64(..), fastrand::u64(..));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

const KEY_HEADERS: &[&str] = &[
    "x-api-key",
    "api-key",
    "x-litellm-api-key",
    "x-goog-api-key",
    "ocp-apim-subscription-key",
];

/// Checks the master key, when one is configured (Bearer token or the key headers LiteLLM reads).
pub fn authorize(req: &HttpRequest, cfg: &GatewayConfig) -> Result<(), GatewayError> {
    let Some(master) = &cfg.master_key else {
        return Ok(());
    };
    let headers = req.headers();
    let from_bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .map(|v| match v.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            // `Authorization: Bearer ` (trimmed to "Bearer"): no token at all.
            None if v.eq_ignore_ascii_case("bearer") => "",
            _ => v,
        });
    let key = from_bearer
        .filter(|k| !k.is_empty())
        .or_else(|| {
            KEY_HEADERS
                .iter()
                .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        })
        .map(str::trim)
        .filter(|k| !k.is_empty());
    match key {
        None => Err(GatewayError::MissingKey),
        Some(k) if same_secret(k, master.expose()) => Ok(()),
        Some(_) => Err(GatewayError::InvalidKey),
    }
}

pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(GatewayError::InvalidJson(
            "the request body is empty".into(),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(GatewayError::InvalidJson("expected a JSON object".into())),
        Err(e) => Err(GatewayError::InvalidJson(e.to_string())),
    }
}

/// A timeout the client sent, in `(0, MAX_TIMEOUT]`; anything else is a 400 naming the field.
fn timeout_seconds(x: Option<f64>, field: &str) -> Result<Seconds, GatewayError> {
    x.and_then(|x| Seconds::positive_within(x, MAX_TIMEOUT).ok())
        .ok_or_else(|| {
            let got = x.map_or_else(|| "something that is not a number".into(), |x| x.to_string());
            GatewayError::invalid(
                format!(
                    "`{field}` must be a number of seconds greater than 0 and at most {MAX_TIMEOUT}; got {got}"
                ),
                field,
            )
        })
}

fn header_seconds(req: &HttpRequest, name: &str) -> Result<Option<Seconds>, GatewayError> {
    let Some(v) = req.headers().get(name) else {
        return Ok(None);
    };
    let x = v.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok());
    timeout_seconds(x, name).map(Some)
}

fn body_seconds(body: &Map<String, Value>, key: &str) -> Result<Option<Seconds>, GatewayError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let x = v.as_f64().or_else(|| v.as_str()?.trim().parse().ok());
            timeout_seconds(x, key).map(Some)
        }
    }
}

/// `num_retries` (body) or `x-litellm-num-retries` (header), under the one retry cap.
fn num_retries(req: &HttpRequest, body: &Map<String, Value>) -> Result<Option<u32>, GatewayError> {
    let (value, field) = match body.get("num_retries") {
        None | Some(Value::Null) => match req.headers().get("x-litellm-num-retries") {
            None => return Ok(None),
            Some(h) => (
                h.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()),
                "x-litellm-num-retries",
            ),
        },
        Some(v) => (v.as_u64(), "num_retries"),
    };
    value
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= MAX_RETRIES)
        .map(Some)
        .ok_or_else(|| {
            GatewayError::invalid(
                format!("`{field}` must be a whole number from 0 to {MAX_RETRIES}"),
                field,
            )
        })
}

fn group_list(
    cfg: &GatewayConfig,
    body: &Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<GroupIdx>>, GatewayError> {
    let Some(v) = body.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Array(items) = v else {
        return Err(GatewayError::invalid(
            format!("`{key}` must be a list of model names"),
            key,
        ));
    };
    let mut out = Vec::new();
    for item in items {
        let name = item
            .as_str()
            .or_else(|| item.get("model").and_then(Value::as_str));
        let Some(name) = name else {
            return Err(GatewayError::invalid(
                format!("`{key}` must be a list of model names"),
                key,
            ));
        };
        match cfg.resolve_model(name) {
            Some(g) => out.push(g),
            None => {
                return Err(GatewayError::invalid(
                    format!("`{key}` names `{name}`, which is not a model on this gateway"),
                    key,
                ))
            }
        }
    }
    Ok(Some(out))
}

fn validate(endpoint: Endpoint, body: &Map<String, Value>) -> Result<(), GatewayError> {
    let route = endpoint.route();
    match endpoint {
        Endpoint::Chat => match body.get("messages") {
            None | Some(Value::Null) => Err(GatewayError::invalid(format!("{route}: Missing required parameter: 'messages'."), "messages")),
            Some(Value::Array(items)) if items.is_empty() => {
                Err(GatewayError::invalid(format!("{route}: 'messages' must contain at least one message."), "messages"))
            }
            Some(Value::Array(items)) => {
                for (i, m) in items.iter().enumerate() {
                    if m.get("role").and_then(Value::as_str).is_none() {
                        return Err(GatewayError::invalid(
                            format!("{route}: messages[{i}] must be an object with a string 'role'."),
                            "messages",
                        ));
                    }
                }
                Ok(())
            }
            Some(_) => Err(GatewayError::invalid(format!("{route}: 'messages' must be a list."), "messages")),
        },
        Endpoint::Embeddings => match body.get("input") {
            None | Some(Value::Null) => Err(GatewayError::invalid(format!("{route}: Missing required parameter: 'input'."), "input")),
            Some(Value::String(_)) => Ok(()),
            Some(Value::Array(items)) if !items.is_empty() => Ok(()),
            Some(_) => Err(GatewayError::invalid(
                format!("{route}: 'input' must be a string or a non-empty list of strings or token ids."),
                "input",
            )),
        },
        Endpoint::Completions => match body.get("prompt") {
            None | Some(Value::Null) => Err(GatewayError::invalid(format!("{route}: Missing required parameter: 'prompt'."), "prompt")),
            Some(Value::String(_)) => Ok(()),
            Some(Value::Array(items)) if !items.is_empty() => Ok(()),
            Some(_) => Err(GatewayError::invalid(
                format!("{route}: 'prompt' must be a string, or a non-empty list of strings or token ids."),
                "prompt",
            )),
        },
    }
}

/// Validates the body and resolves everything the router needs.
/// The model group a client's `model` names, or the error listing the names it could use.
pub fn resolve_group(cfg: &GatewayConfig, model: &str) -> Result<GroupIdx, GatewayError> {
    cfg.resolve_model(model)
        .ok_or_else(|| GatewayError::UnknownModel {
            model: model.to_string(),
            available: cfg
                .public_model_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })
}

/// Removes the fields only the router reads (retries, fallbacks, cache controls, mocks), except
/// those in `keep` (Anthropic's `metadata` is the upstream's own).
pub fn strip_router_fields(body: &mut Map<String, Value>, keep: &[&str]) {
    body.retain(|k, _| keep.contains(&k.as_str()) || !ROUTER_ONLY_FIELDS.contains(&k.as_str()));
}

pub fn prepare(
    gen: &Arc<Generation>,
    req: &HttpRequest,
    endpoint: Endpoint,
    mut body: Map<String, Value>,
    call_id: String,
    started: Instant,
) -> Result<Prepared, GatewayError> {
    let cfg: &GatewayConfig = &gen.config;
    let route = endpoint.route();
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(GatewayError::invalid(
                format!("{route}: Missing required parameter: 'model'."),
                "model",
            ))
        }
        Some(_) => {
            return Err(GatewayError::invalid(
                format!("{route}: 'model' must be a string."),
                "model",
            ))
        }
    };
    let group = resolve_group(cfg, &model)?;
    validate(endpoint, &body)?;
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(GatewayError::invalid(
                format!("{route}: 'stream' must be true or false."),
                "stream",
            ))
        }
    };
    let include_usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let num_retries = num_retries(req, &body)?;
    let timeout = body_seconds(&body, "timeout")?
        .or(body_seconds(&body, "request_timeout")?)
        .or(header_seconds(req, "x-litellm-timeout")?);
    let stream_timeout =
        body_seconds(&body, "stream_timeout")?.or(header_seconds(req, "x-litellm-stream-timeout")?);
    let overrides = RequestOverrides {
        num_retries,
        disable_fallbacks: body
            .get("disable_fallbacks")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        fallbacks: group_list(cfg, &body, "fallbacks")?,
        context_window_fallbacks: group_list(cfg, &body, "context_window_fallbacks")?,
        content_policy_fallbacks: group_list(cfg, &body, "content_policy_fallbacks")?,
        client_timeout: timeout.is_some() || stream_timeout.is_some(),
    };
    let mock_response = body
        .get("mock_response")
        .and_then(Value::as_str)
        .map(str::to_string);
    let drop_params = body.get("drop_params").and_then(Value::as_bool);
    if let Some(Value::Object(extra)) = body.remove("extra_body") {
        for (k, v) in extra {
            body.entry(k).or_insert(v);
        }
    }
    let cache_control = CacheControl::from_body(&body)?;
    body.retain(|k, _| !ROUTER_ONLY_FIELDS.contains(&k.as_str()));
    Ok(Prepared {
        endpoint,
        group,
        requested_model: model,
        body,
        stream: stream && endpoint.streams(),
        include_usage,
        overrides,
        timeout,
        stream_timeout,
        mock_response,
        drop_params,
        cache_control,
        collect_stream: false,
        call_id,
        started,
        inlined_images: Default::default(),
        native: None,
        answer_translated: false,
        client: crate::dispatch::ClientFacts::of(req),
        gen: gen.clone(),
    })
}
