//! `POST {api_base}/v1/messages`, `x-api-key`, `anthropic-version: 2023-06-01`.

use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

pub const API_VERSION: &str = "2023-06-01";

/// LiteLLM accepts an api_base with or without the path.
pub fn url(d: &Upstream) -> String {
    let base = d
        .api_base
        .as_deref()
        .or(ProviderKind::Anthropic.default_api_base())
        .unwrap_or_default()
        .trim_end_matches('/');
    if base.ends_with("/v1/messages") {
        base.to_string()
    } else if base.ends_with("/v1") {
        format!("{base}/messages")
    } else {
        format!("{base}/v1/messages")
    }
}

pub fn headers(d: &Upstream) -> Vec<(String, String)> {
    let mut headers = vec![
        ("anthropic-version".to_string(), API_VERSION.to_string()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    if let Some(k) = &d.api_key {
        headers.push(("x-api-key".into(), k.expose().to_string()));
    }
    headers.extend(d.extra_headers.iter().cloned());
    headers
}
