//! Every bound on a value from outside (client, config, upstream) and on what one request may
//! hold, in one place. README's "Limits and security" lists the same table; the configurable
//! ones are read from the optional `switchyard_settings` section (LiteLLM has no such keys).

use serde_json::{Map, Value};
use switchyard_actors::seconds::Seconds;

use super::notes::Notes;
use super::value::{Field, Result};

/// `timeout`, `request_timeout`, `stream_timeout` and the `x-litellm-*-timeout` headers a client
/// sends, and every timeout in the config: more than a day is a mistake, not a wish.
pub const MAX_TIMEOUT: Seconds = Seconds::whole(86_400);
/// `cooldown_time` in the config.
pub const MAX_COOLDOWN: Seconds = Seconds::whole(86_400);
/// `router_settings.retry_after` (the minimum backoff between retries).
pub const MAX_RETRY_BACKOFF: Seconds = Seconds::whole(3_600);
/// Cache lifetimes (`ttl`, `s-maxage`, per request or configured).
pub const MAX_CACHE_TTL: Seconds = Seconds::MAX;
/// Every retry count (body `num_retries`, `x-litellm-num-retries`, config, retry policies).
pub const MAX_RETRIES: u32 = 20;
/// `weight` of a deployment (simple-shuffle): weights are relative, so a bound costs nothing and
/// keeps their sum finite.
pub const MAX_WEIGHT: f64 = 1e9;
/// `max_fallbacks`: how many fallback groups one request may walk through.
pub const MAX_FALLBACKS: u32 = 20;
/// `general_settings.max_request_size_mb` may not go above this.
pub const MAX_REQUEST_SIZE_MB: u32 = 1024;

const KEYS: &[&str] = &[
    "max_retry_after_seconds",
    "client_header_timeout_seconds",
    "client_body_timeout_seconds",
    "max_buffered_request_mb",
    "image_fetch",
    "metrics",
];
const IMAGE_KEYS: &[&str] = &[
    "max_images",
    "max_total_mb",
    "timeout_seconds",
    "allow_private_hosts",
];

/// What `switchyard_settings` configures, with the documented defaults.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Upstream `Retry-After` longer than this is cut to it (with a warning): one `86400` must
    /// not cool a deployment down for a day.
    pub max_retry_after: Seconds,
    /// How long a client may take to send a request's headers (nginx `client_header_timeout`).
    pub client_header_timeout: Seconds,
    /// Longest pause between two pieces of a request body (nginx `client_body_timeout`).
    pub client_body_timeout: Seconds,
    /// Request bodies being read or parsed at once, across every connection; past it new
    /// requests get 503 with `retry-after`.
    pub max_buffered_request_bytes: usize,
    pub images: ImageFetchLimits,
    /// Each request's settlement is recorded for `/metrics` and `/ui` (`metrics: false` turns
    /// the recording off: a few atomic increments and one uncontended lock per request).
    pub record_metrics: bool,
}

/// Image URLs the gateway fetches itself (Gemini cannot fetch them).
#[derive(Clone, Debug)]
pub struct ImageFetchLimits {
    pub max_images: usize,
    pub max_total_bytes: usize,
    /// Bound on fetching all of a request's images, inside the attempt's own deadline.
    pub timeout: Seconds,
    /// Hosts (names or IP addresses) that may resolve to private addresses: an internal image
    /// server. Everything else must resolve to public addresses.
    pub allow_private_hosts: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_retry_after: Seconds::whole(3_600),
            client_header_timeout: Seconds::whole(10),
            client_body_timeout: Seconds::whole(30),
            max_buffered_request_bytes: 512 * 1024 * 1024,
            record_metrics: true,
            images: ImageFetchLimits {
                max_images: 16,
                max_total_bytes: 20 * 1024 * 1024,
                timeout: Seconds::whole(30),
                allow_private_hosts: Vec::new(),
            },
        }
    }
}

pub fn limits(root: &Map<String, Value>, notes: &mut Notes) -> Result<Limits> {
    let mut out = Limits::default();
    let Some(section) = Field::of(root, "", "switchyard_settings").map()? else {
        return Ok(out);
    };
    let path = "switchyard_settings";
    notes.check_keys(section, path, KEYS, &[]);
    let f = |key: &str| Field::of(section, path, key);
    if let Some(s) = f("max_retry_after_seconds").positive_seconds(MAX_COOLDOWN)? {
        out.max_retry_after = s;
    }
    if let Some(s) = f("client_header_timeout_seconds").positive_seconds(MAX_TIMEOUT)? {
        out.client_header_timeout = s;
    }
    if let Some(s) = f("client_body_timeout_seconds").positive_seconds(MAX_TIMEOUT)? {
        out.client_body_timeout = s;
    }
    if let Some(b) = f("max_buffered_request_mb").megabytes(64 * 1024)? {
        out.max_buffered_request_bytes = b;
    }
    if let Some(on) = f("metrics").bool()? {
        out.record_metrics = on;
    }
    let image = f("image_fetch");
    if let Some(map) = image.map()? {
        let ipath = image.path.as_str();
        notes.check_keys(map, ipath, IMAGE_KEYS, &[]);
        let g = |key: &str| Field::of(map, ipath, key);
        if let Some(n) = g("max_images").u32_at_most(1024)? {
            out.images.max_images = n as usize;
        }
        if let Some(b) = g("max_total_mb").megabytes(1024)? {
            out.images.max_total_bytes = b;
        }
        if let Some(s) = g("timeout_seconds").positive_seconds(MAX_TIMEOUT)? {
            out.images.timeout = s;
        }
        if let Some(hosts) = g("allow_private_hosts").strings()? {
            out.images.allow_private_hosts = hosts
                .into_iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(v: Value) -> Result<Limits> {
        limits(v.as_object().unwrap(), &mut Notes::default())
    }

    #[test]
    fn defaults_and_overrides() {
        let l = load(json!({})).unwrap();
        assert_eq!(l.max_retry_after, Seconds::whole(3600));
        let l = load(
            json!({"switchyard_settings": {"max_retry_after_seconds": 60,
            "image_fetch": {"max_images": 2, "allow_private_hosts": ["Images.Internal"]}}}),
        )
        .unwrap();
        assert_eq!(l.max_retry_after, Seconds::whole(60));
        assert_eq!(l.images.max_images, 2);
        assert_eq!(l.images.allow_private_hosts, vec!["images.internal"]);
    }

    #[test]
    fn out_of_range_names_the_field() {
        for (bad, path) in [
            (
                json!({"switchyard_settings": {"max_retry_after_seconds": 1e300}}),
                "switchyard_settings.max_retry_after_seconds",
            ),
            (
                json!({"switchyard_settings": {"client_body_timeout_seconds": 0}}),
                "switchyard_settings.client_body_timeout_seconds",
            ),
            (
                json!({"switchyard_settings": {"image_fetch": {"max_total_mb": -1}}}),
                "switchyard_settings.image_fetch.max_total_mb",
            ),
        ] {
            assert_eq!(load(bad).unwrap_err().path, path);
        }
    }
}
