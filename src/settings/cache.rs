//! `litellm_settings.cache` + `cache_params` (under `litellm_settings`, or at the top level as
//! the seed writes it; LiteLLM ignores the top-level one, Switchyard honours it).

use switchyard_actors::seconds::Seconds;

use super::limits::MAX_CACHE_TTL;
use std::time::Duration;

use serde_json::{Map, Value};

use super::load::EnvLookup;
use super::notes::Notes;
use super::value::{err, Field, Result};
use crate::secret::Secret;

const CACHE_PARAMS_KEYS: &[&str] = &[
    "type",
    "host",
    "port",
    "password",
    "username",
    "ssl",
    "db",
    "url",
    "redis_url",
    "ttl",
    "namespace",
    "supported_call_types",
    "mode",
    "max_messages",
    "socket_timeout",
    "socket_connect_timeout",
    "max_size_in_memory",
    "max_size_per_item",
    "default_in_memory_ttl",
    "default_redis_ttl",
];
const CACHE_PARAMS_NOT_USED: &[&str] = &[
    "redis_startup_nodes",
    "service_name",
    "sentinel_nodes",
    "sentinel_password",
    "max_connections",
    "health_check_interval",
    "similarity_threshold",
    "redis_semantic_cache_embedding_model",
    "redis_semantic_cache_index_name",
    "qdrant_api_base",
    "qdrant_api_key",
    "qdrant_collection_name",
    "qdrant_quantization_config",
    "qdrant_semantic_cache_embedding_model",
    "s3_bucket_name",
    "s3_region_name",
    "s3_api_version",
    "s3_path",
    "s3_endpoint_url",
    "s3_aws_access_key_id",
    "s3_aws_secret_access_key",
    "gcs_bucket_name",
    "gcs_path_service_account",
    "gcs_path",
    "azure_account_url",
    "azure_blob_container",
    "disk_cache_dir",
];

/// A Redis server to talk to. The URL carries the password, so it is a secret; `display` is
/// what logs and reports may show.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisTarget {
    pub url: Secret,
    pub display: String,
}

impl RedisTarget {
    pub fn from_url(url: &str, path: &str) -> Result<Self> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return err(path, "expected a redis://host:port URL");
        };
        if !matches!(scheme, "redis" | "rediss" | "valkey" | "valkeys" | "unix") {
            return err(path, format!("unsupported URL scheme `{scheme}`"));
        }
        let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        Ok(Self {
            url: Secret::new(url.to_string()),
            display: format!("{scheme}://{host}"),
        })
    }

    pub fn from_parts(
        host: &str,
        port: u16,
        username: Option<&str>,
        password: Option<&str>,
        ssl: bool,
        db: Option<u32>,
    ) -> Self {
        let scheme = if ssl { "rediss" } else { "redis" };
        let auth = match (username, password) {
            (None, None) => String::new(),
            (u, p) => format!(
                "{}:{}@",
                percent_encode(u.unwrap_or("")),
                percent_encode(p.unwrap_or(""))
            ),
        };
        let db = db.map(|d| format!("/{d}")).unwrap_or_default();
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        Self {
            url: Secret::new(format!("{scheme}://{auth}{host}:{port}{db}")),
            display: format!("{scheme}://{host}:{port}{db}"),
        }
    }
}

/// Userinfo may hold any byte; everything but unreserved characters is escaped.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
pub enum CacheBackend {
    Local {
        max_items: usize,
        max_item_bytes: usize,
    },
    Redis(RedisTarget),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CacheSettings {
    pub backend: CacheBackend,
    /// Seconds an entry lives (LiteLLM's defaults: Redis 60 s, local 600 s).
    pub ttl: Seconds,
    pub namespace: Option<String>,
    pub chat: bool,
    pub embeddings: bool,
    pub text_completion: bool,
    /// `mode: default_off` caches only requests that send `cache: {"use-cache": true}`.
    pub default_on: bool,
    /// Only when set explicitly: LiteLLM's silent default of 4 is not copied.
    pub max_messages: Option<usize>,
    /// Bound on every Redis lookup and store; past it the request goes upstream.
    pub op_timeout: Duration,
    pub connect_timeout: Duration,
}

impl CacheSettings {
    pub fn kind(&self) -> &'static str {
        match self.backend {
            CacheBackend::Local { .. } => "local",
            CacheBackend::Redis(_) => "redis",
        }
    }
}

/// A Redis socket timeout: at least a millisecond, at most a minute.
fn socket_timeout(f: Field<'_>, default_ms: u64) -> Result<Duration> {
    Ok(f.seconds(Seconds::whole(60))?
        .map_or(Duration::from_millis(default_ms), Seconds::duration)
        .max(Duration::from_millis(1)))
}

/// The cache settings, or `None` when `litellm_settings.cache` is not true.
pub fn cache_settings(
    root: &Map<String, Value>,
    litellm: &Map<String, Value>,
    env: &EnvLookup,
    notes: &mut Notes,
) -> Result<Option<CacheSettings>> {
    let enabled = Field::of(litellm, "litellm_settings", "cache")
        .bool()?
        .unwrap_or(false);
    let (params, path) = match (
        Field::of(litellm, "litellm_settings", "cache_params").map()?,
        Field::of(root, "", "cache_params").map()?,
    ) {
        (Some(p), _) => (Some(p), "litellm_settings.cache_params"),
        (None, Some(p)) => (Some(p), "cache_params"),
        (None, None) => (None, "litellm_settings.cache_params"),
    };
    let empty = Map::new();
    let params = params.unwrap_or(&empty);
    notes.check_keys(params, path, CACHE_PARAMS_KEYS, CACHE_PARAMS_NOT_USED);
    if path == "cache_params" && !params.is_empty() {
        notes.differs(
            "cache_params",
            "top-level cache_params is honoured (LiteLLM ignores it and uses REDIS_* env)",
        );
    }
    if !enabled {
        if !params.is_empty() {
            notes.not_used(path, "the cache is off: litellm_settings.cache is not true");
        }
        return Ok(None);
    }
    let p = |key: &str| Field::of(params, path, key);
    let kind = p("type").string()?;
    let redis = redis_target(params, path, env, kind.as_deref())?;
    let backend = match (kind.as_deref(), redis) {
        (Some("local"), _) | (None | Some("redis"), None) => {
            if kind.as_deref() == Some("redis") {
                notes.differs(
                    &format!("{path}.type"),
                    "type redis without host, url or REDIS_HOST/REDIS_URL: using the in-process cache",
                );
            }
            CacheBackend::Local {
                max_items: p("max_size_in_memory")
                    .u32_at_most(100_000_000)?
                    .unwrap_or(200)
                    .max(1) as usize,
                // LiteLLM gives this one in kilobytes.
                max_item_bytes: p("max_size_per_item")
                    .megabytes(1024 * 1024)?
                    .map_or(1024 * 1024, |b| b / 1024),
            }
        }
        (None | Some("redis"), Some(target)) => CacheBackend::Redis(target),
        (Some(other), _) => {
            notes.not_used(
                &format!("{path}.type"),
                &format!("cache type `{other}` is not implemented: using the in-process cache"),
            );
            CacheBackend::Local {
                max_items: 200,
                max_item_bytes: 1024 * 1024,
            }
        }
    };
    let default_ttl = match backend {
        CacheBackend::Local { .. } => p("default_in_memory_ttl")
            .seconds(MAX_CACHE_TTL)?
            .unwrap_or(Seconds::whole(600)),
        CacheBackend::Redis(_) => p("default_redis_ttl")
            .seconds(MAX_CACHE_TTL)?
            .unwrap_or(Seconds::whole(60)),
    };
    let ttl = p("ttl").seconds(MAX_CACHE_TTL)?.unwrap_or(default_ttl);
    let (chat, embeddings, text_completion) = match p("supported_call_types").list()? {
        None => (true, true, true),
        Some(items) => {
            let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            let has = |a: &str, b: &str| names.iter().any(|n| *n == a || *n == b);
            (
                has("completion", "acompletion"),
                has("embedding", "aembedding"),
                has("text_completion", "atext_completion"),
            )
        }
    };
    let default_on = match p("mode").string()?.as_deref() {
        None | Some("default_on") => true,
        Some("default_off") => false,
        Some(other) => {
            return err(
                &format!("{path}.mode"),
                format!("expected default_on or default_off, found `{other}`"),
            )
        }
    };
    Ok(Some(CacheSettings {
        backend,
        ttl,
        namespace: p("namespace").string()?.filter(|s| !s.is_empty()),
        chat,
        embeddings,
        text_completion,
        default_on,
        max_messages: p("max_messages").u32()?.map(|n| n as usize),
        op_timeout: socket_timeout(p("socket_timeout"), 250)?,
        connect_timeout: socket_timeout(p("socket_connect_timeout"), 1000)?,
    }))
}

/// Where Redis is: `url`/`redis_url`, else `host`/`port`/..., else (LiteLLM: only when
/// `cache_params` is empty) `REDIS_URL` or `REDIS_HOST`/`REDIS_PORT`/`REDIS_PASSWORD`.
fn redis_target(
    params: &Map<String, Value>,
    path: &str,
    env: &EnvLookup,
    kind: Option<&str>,
) -> Result<Option<RedisTarget>> {
    if kind == Some("local") {
        return Ok(None);
    }
    let p = |key: &str| Field::of(params, path, key);
    for key in ["url", "redis_url"] {
        if let Some(url) = p(key).string()? {
            return RedisTarget::from_url(&url, &format!("{path}.{key}")).map(Some);
        }
    }
    if let Some(host) = p("host").string()?.filter(|h| !h.is_empty()) {
        let port = p("port").port()?.unwrap_or(6379);
        let db = p("db").u32()?;
        return Ok(Some(RedisTarget::from_parts(
            &host,
            port,
            p("username").string()?.as_deref(),
            p("password").string()?.filter(|s| !s.is_empty()).as_deref(),
            p("ssl").bool()?.unwrap_or(false),
            db,
        )));
    }
    let only_type = params.keys().all(|k| k == "type");
    if !only_type {
        return Ok(None);
    }
    if let Some(url) = env.get("REDIS_URL").filter(|u| !u.is_empty()) {
        return RedisTarget::from_url(&url, "REDIS_URL").map(Some);
    }
    let Some(host) = env.get("REDIS_HOST").filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let port = match env.get("REDIS_PORT") {
        None => 6379,
        Some(p) => match p.trim().parse::<u16>() {
            Ok(p) => p,
            Err(_) => return err("REDIS_PORT", format!("`{p}` is not a port")),
        },
    };
    let password = env.get("REDIS_PASSWORD").filter(|s| !s.is_empty());
    Ok(Some(RedisTarget::from_parts(
        &host,
        port,
        None,
        password.as_deref(),
        false,
        None,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_escaped_and_never_displayed() {
        let t = RedisTarget::from_parts("cache", 6380, None, Some("p@ss:w/rd"), true, Some(2));
        assert_eq!(t.url.expose(), "rediss://:p%40ss%3Aw%2Frd@cache:6380/2");
        assert_eq!(t.display, "rediss://cache:6380/2");
        let u = RedisTarget::from_url("redis://:secret@10.0.0.1:6379", "x").unwrap();
        assert_eq!(u.display, "redis://10.0.0.1:6379");
        assert!(RedisTarget::from_url("http://x", "x").is_err());
    }
}
