//! Gemini cannot fetch arbitrary image URLs (its `fileData` wants uploaded files): like
//! LiteLLM, the gateway fetches `http(s)` images itself and sends them inline.

use std::time::Duration;

use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::providers::translate::{base64, mime_from_url};

/// Largest image fetched for inlining.
const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// Longest wait for one image, within the attempt's own budget.
const MAX_FETCH: Duration = Duration::from_secs(30);

fn remote_urls(body: &Map<String, Value>) -> Vec<String> {
    let mut urls = Vec::new();
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for part in m
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let url = part
                .get("image_url")
                .and_then(|v| v.as_str().or_else(|| v.get("url")?.as_str()));
            if let Some(u) = url.filter(|u| u.starts_with("http://") || u.starts_with("https://")) {
                if !urls.iter().any(|x| x == u) {
                    urls.push(u.to_string());
                }
            }
        }
    }
    urls
}

fn bad_image(url: &str, why: &str) -> AttemptError {
    // The URL can carry signed-query credentials: name the host and path only.
    let shown = url.split('?').next().unwrap_or(url);
    AttemptError::new(
        ErrorClass::BadRequest,
        400,
        format!("BadRequestError: could not fetch the image {shown} to send it inline: {why}"),
    )
}

async fn fetch(client: &awc::Client, url: &str, budget: Duration) -> Result<String, AttemptError> {
    let timeout = budget.min(MAX_FETCH);
    let mut resp = client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| bad_image(url, &e.to_string()))?;
    if !resp.status().is_success() {
        return Err(bad_image(
            url,
            &format!("status {}", resp.status().as_u16()),
        ));
    }
    let mime = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .filter(|m| m.starts_with("image/") || m == "application/pdf")
        .unwrap_or_else(|| mime_from_url(url).to_string());
    let bytes = resp
        .body()
        .limit(MAX_IMAGE_BYTES)
        .await
        .map_err(|e| bad_image(url, &e.to_string()))?;
    Ok(format!("data:{mime};base64,{}", base64(&bytes)))
}

/// The body with every remote image replaced by a `data:` URL; `None` when it has none.
pub async fn inline_remote_images(
    client: &awc::Client,
    body: &Map<String, Value>,
    budget: Duration,
) -> Result<Option<Map<String, Value>>, AttemptError> {
    let urls = remote_urls(body);
    if urls.is_empty() {
        return Ok(None);
    }
    let mut inlined = Vec::with_capacity(urls.len());
    for url in &urls {
        inlined.push((url.clone(), fetch(client, url, budget).await?));
    }
    let mut out = body.clone();
    for m in out
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        for part in m
            .get_mut("content")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Some(slot) = part.get_mut("image_url") else {
                continue;
            };
            let target = if slot.is_string() {
                Some(&mut *slot)
            } else {
                slot.get_mut("url")
            };
            if let Some(v) = target {
                if let Some((_, data)) = inlined.iter().find(|(u, _)| v.as_str() == Some(u)) {
                    *v = Value::String(data.clone());
                }
            }
        }
    }
    Ok(Some(out))
}
