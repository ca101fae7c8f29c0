//! `{api_base}/api/chat` (or generate, embed), `Authorization: Bearer` only when a key is set
//! (Ollama behind an authenticating proxy, or ollama.com).

use crate::providers::upstream::Upstream;

/// The route under the base, unless the base already ends with it (LiteLLM's
/// `ensure_api_route`).
pub fn url(d: &Upstream, route: &str) -> String {
    let base = d
        .api_base
        .as_deref()
        .or(d.kind.default_api_base())
        .unwrap_or_default()
        .trim_end_matches('/');
    if base.ends_with(route) {
        base.to_string()
    } else {
        format!("{base}/{route}")
    }
}

pub fn headers(d: &Upstream) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(1 + d.extra_headers.len());
    if let Some(k) = &d.api_key {
        out.push(("authorization".into(), format!("Bearer {}", k.expose())));
    }
    out.extend(d.extra_headers.iter().cloned());
    out
}
