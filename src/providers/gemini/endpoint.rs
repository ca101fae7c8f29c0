//! `{api_base}/models/{model}:generateContent` (`:streamGenerateContent?alt=sse`,
//! `:batchEmbedContents`), key in `x-goog-api-key` (never in the URL, where logs would keep it).

use crate::openai::Endpoint;
use crate::providers::upstream::Upstream;
use crate::providers::ProviderKind;

pub fn url(d: &Upstream, endpoint: Endpoint, stream: bool) -> String {
    let base = d
        .api_base
        .as_deref()
        .or(ProviderKind::Gemini.default_api_base())
        .unwrap_or_default()
        .trim_end_matches('/');
    let model = model_name(d);
    let method = match endpoint {
        Endpoint::Embeddings => "batchEmbedContents",
        _ if stream => "streamGenerateContent?alt=sse",
        _ => "generateContent",
    };
    format!("{base}/models/{model}:{method}")
}

/// The model id without the `models/` prefix some configs write.
pub fn model_name(d: &Upstream) -> &str {
    d.model.trim_start_matches("models/")
}

pub fn headers(d: &Upstream) -> Vec<(String, String)> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(k) = &d.api_key {
        headers.push(("x-goog-api-key".into(), k.expose().to_string()));
    }
    headers.extend(d.extra_headers.iter().cloned());
    headers
}
