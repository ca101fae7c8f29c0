//! Gemini cannot fetch arbitrary image URLs (its `fileData` wants uploaded files): like
//! LiteLLM, the gateway fetches `http(s)` images itself and sends them inline. The URLs come
//! from the client, so the fetch is bounded every way: public addresses only (see
//! `outbound_guard`), at most `max_images` images and `max_total_bytes` bytes per request, all
//! of them within the attempt's deadline and `image_fetch.timeout_seconds`, no redirects, and
//! once per request (a retry reuses them). A failure says only "could not fetch the image":
//! telling a closed port from an HTTP status would map the network behind the gateway.

use std::time::Duration;

use serde_json::{Map, Value};
use switchyard_actors::plan::AttemptError;
use switchyard_actors::ErrorClass;

use crate::providers::params::{base64, mime_from_url};
use crate::settings::limits::ImageFetchLimits;

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

/// The URL as it may be shown: no query string (signed URLs carry credentials), no userinfo.
fn shown(url: &str) -> String {
    let no_query = url.split(['?', '#']).next().unwrap_or("");
    crate::secret::redact(no_query).into_owned()
}

fn refused(message: String) -> AttemptError {
    AttemptError::new(
        ErrorClass::BadRequest,
        400,
        format!("BadRequestError: {message}"),
    )
}

fn could_not_fetch(url: &str, why: &str) -> AttemptError {
    // The reason goes to the operator's log only.
    tracing::info!(image = %shown(url), reason = %crate::secret::redact(why), "image fetch failed");
    refused(format!(
        "could not fetch the image {} to send it inline",
        shown(url)
    ))
}

async fn fetch(
    client: &awc::Client,
    url: &str,
    deadline: tokio::time::Instant,
    max_bytes: usize,
) -> Result<(String, usize), AttemptError> {
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let send = client.get(url).timeout(left).send();
    let mut resp = match tokio::time::timeout_at(deadline, send).await {
        Err(_) => return Err(could_not_fetch(url, "timed out")),
        Ok(Err(e)) => return Err(could_not_fetch(url, &e.to_string())),
        Ok(Ok(r)) => r,
    };
    if !resp.status().is_success() {
        return Err(could_not_fetch(
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
    let bytes = match tokio::time::timeout_at(deadline, resp.body().limit(max_bytes)).await {
        Err(_) => return Err(could_not_fetch(url, "timed out reading the body")),
        Ok(Err(awc::error::PayloadError::Overflow)) => {
            return Err(refused(format!(
                "the images of this request are larger than {max_bytes} bytes in all \
                 (switchyard_settings.image_fetch.max_total_mb)"
            )))
        }
        Ok(Err(e)) => return Err(could_not_fetch(url, &e.to_string())),
        Ok(Ok(b)) => b,
    };
    Ok((
        format!("data:{mime};base64,{}", base64(&bytes)),
        bytes.len(),
    ))
}

/// The body with every remote image replaced by a `data:` URL; `None` when it has none.
pub async fn inline_remote_images(
    client: &awc::Client,
    body: &Map<String, Value>,
    limits: &ImageFetchLimits,
    attempt_budget: Duration,
) -> Result<Option<Map<String, Value>>, AttemptError> {
    let urls = remote_urls(body);
    if urls.is_empty() {
        return Ok(None);
    }
    if urls.len() > limits.max_images {
        return Err(refused(format!(
            "this request names {} image URLs; the gateway fetches at most {} per request \
             (switchyard_settings.image_fetch.max_images)",
            urls.len(),
            limits.max_images
        )));
    }
    let deadline = tokio::time::Instant::now() + attempt_budget.min(limits.timeout.duration());
    let mut left = limits.max_total_bytes;
    let mut inlined = Vec::with_capacity(urls.len());
    for url in &urls {
        let (data, size) = fetch(client, url, deadline, left).await?;
        left = left.saturating_sub(size);
        inlined.push((url.clone(), data));
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
