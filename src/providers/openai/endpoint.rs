//! Where an OpenAI-compatible deployment is called and how it is authenticated.

use crate::openai::Endpoint;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

/// Azure's data-plane API version when the config names none.
const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

/// The configured api_base, else the provider's.
fn base(d: &Upstream) -> &str {
    d.api_base
        .as_deref()
        .or(d.kind.default_api_base())
        .unwrap_or("")
}

pub fn url(d: &Upstream, endpoint: Endpoint) -> String {
    let base = base(d);
    match d.kind {
        ProviderKind::Azure => format!(
            "{base}/openai/deployments/{}/{}?api-version={}",
            d.model,
            endpoint.path(),
            d.api_version
                .as_deref()
                .unwrap_or(AZURE_DEFAULT_API_VERSION)
        ),
        _ => format!("{base}/{}", endpoint.path()),
    }
}

/// Azure's first API version with the Responses API, when the config names none.
const AZURE_RESPONSES_API_VERSION: &str = "2025-04-01-preview";

/// Where the Responses API is: `{base}/responses`; Azure's is one per resource.
pub fn responses_url(d: &Upstream) -> String {
    let base = base(d);
    match d.kind {
        ProviderKind::Azure => format!(
            "{base}/openai/responses?api-version={}",
            d.api_version
                .as_deref()
                .unwrap_or(AZURE_RESPONSES_API_VERSION)
        ),
        _ => format!("{base}/responses"),
    }
}

/// Auth and extra headers for the upstream call. vLLM servers started with `--api-key` need one
/// even when the config gives none, so LiteLLM sends `fake-api-key`; we do the same.
pub fn headers(d: &Upstream) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(2 + d.extra_headers.len());
    let key = d.api_key.as_ref().map(|k| k.expose().to_string());
    match d.kind {
        ProviderKind::Azure => {
            if let Some(k) = key {
                out.push(("api-key".into(), k));
            }
        }
        _ => {
            if let Some(k) = key.as_deref().or(d.kind.spec().placeholder_key) {
                out.push(("authorization".into(), format!("Bearer {k}")));
            }
        }
    }
    if d.kind == ProviderKind::OpenRouter {
        // OpenRouter's app attribution, from the variables LiteLLM reads (only when set).
        for (header, var) in [("http-referer", "OR_SITE_URL"), ("x-title", "OR_APP_NAME")] {
            if let Ok(v) = std::env::var(var) {
                out.push((header.into(), v));
            }
        }
    }
    if let Some(org) = &d.organization {
        out.push(("openai-organization".into(), org.clone()));
    }
    out.extend(d.extra_headers.iter().cloned());
    out
}
