//! The gateway's configuration: LiteLLM's `config.yaml`, loaded unchanged, validated once at
//! start-up into typed settings so the request path never meets an invalid state.

pub mod cache;
pub mod deployment;
pub mod limits;
pub mod load;
pub mod notes;
pub mod report;
pub mod router;
pub mod shared_state;
pub mod value;

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};
use switchyard_actors::seconds::Seconds;
use switchyard_actors::spec::{GroupSpec, RouterSpec};
use switchyard_actors::{DeploymentIdx, GroupIdx};

pub use deployment::Deployment;
use notes::Notes;
use router::{GroupNames, ROUTER_KEYS, ROUTER_KEYS_NOT_USED};
pub use value::ConfigError;
use value::{as_map, err, Field, Node, Problems, Result};

use crate::secret::Secret;

/// The quick-start config built into the binary: mock models, no key, no Redis.
pub const QUICKSTART_YAML: &str = include_str!("../../config/quickstart.yaml");

const TOP_KEYS: &[&str] = &[
    "model_list",
    "litellm_settings",
    "router_settings",
    "general_settings",
    "environment_variables",
    "cache_params",
    "switchyard_settings",
];
const TOP_KEYS_NOT_USED: &[&str] = &[
    "guardrails",
    "credential_list",
    "mcp_servers",
    "mcp_tools",
    "assistant_settings",
    "finetune_settings",
    "files_settings",
    "callback_settings",
    "prompts",
    "vector_store_registry",
];
const LITELLM_KEYS: &[&str] = &[
    "callbacks",
    "success_callback",
    "num_retries",
    "request_timeout",
    "drop_params",
    "json_logs",
    "set_verbose",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "default_fallbacks",
    "allowed_fails",
    "max_fallbacks",
    "cache",
    "cache_params",
];
const LITELLM_KEYS_NOT_USED: &[&str] = &[
    "modify_params",
    "failure_callback",
    "service_callback",
    "num_retries_per_request",
    "enable_caching_on_provider_specific_optional_params",
    "telemetry",
    "turn_off_message_logging",
    "redact_user_api_key_info",
    "redact_messages_in_exceptions",
    "request_timeout_seconds",
    "force_ipv4",
    "enable_preview_features",
    "max_budget",
    "budget_duration",
    "default_team_settings",
    "cache_responses",
    "require_auth_for_metrics_endpoint",
];
const GENERAL_KEYS: &[&str] = &[
    "master_key",
    "max_request_size_mb",
    "stream_keepalive_seconds",
];
const GENERAL_KEYS_NOT_USED: &[&str] = &[
    "database_url",
    "background_health_checks",
    "health_check_interval",
    "health_check_details",
    "custom_auth",
    "alerting",
    "alerting_threshold",
    "disable_spend_logs",
    "store_model_in_db",
    "proxy_batch_write_at",
    "use_shared_health_check",
    "health_check_concurrency",
    "enable_health_check_routing",
    "health_check_staleness_threshold",
    "allowed_ips",
    "enable_jwt_auth",
    "litellm_jwtauth",
    "coordination_redis",
    "user_api_key_cache_ttl",
    "database_connection_pool_limit",
    "dangerously_permit_weak_or_unset_master_key",
    "max_response_size_mb",
    "disable_master_key_return",
    "ui_access_mode",
    "public_routes",
    "allowed_routes",
    "infer_model_from_keys",
];

/// A name clients may use for a group (`router_settings.model_group_alias`).
#[derive(Clone, Debug)]
pub struct Alias {
    pub name: String,
    pub group: GroupIdx,
    pub hidden: bool,
}

#[derive(Debug)]
pub struct GatewayConfig {
    pub source: String,
    pub deployments: Vec<Deployment>,
    pub groups: Vec<GroupSpec>,
    pub group_index: HashMap<String, GroupIdx>,
    pub aliases: Vec<Alias>,
    pub router: RouterSpec,
    pub router_timeout: Option<Seconds>,
    pub router_stream_timeout: Option<Seconds>,
    pub request_timeout: Option<Seconds>,
    pub drop_params: bool,
    /// `litellm_settings.callbacks` (or `success_callback`) names `prometheus`: `/metrics` on.
    pub prometheus: bool,
    /// `litellm_settings.callbacks` (or `success_callback`) names `otel`: traces exported over
    /// OTLP/HTTP to `OTEL_EXPORTER_OTLP_*`.
    pub otel: bool,
    pub json_logs: bool,
    pub verbose: bool,
    pub master_key: Option<Secret>,
    pub max_request_bytes: usize,
    /// `general_settings.stream_keepalive_seconds` (default 15, 0 off): SSE comments while a
    /// stream waits for its answer to begin.
    pub stream_keepalive: Option<std::time::Duration>,
    pub limits: limits::Limits,
    pub cache: Option<cache::CacheSettings>,
    /// Redis through which instances share cooldowns and rpm/tpm usage.
    pub shared_state: Option<shared_state::SharedStateSettings>,
    pub notes: Vec<notes::Note>,
}

impl GatewayConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let tree = load::read_tree(path)?;
        Self::from_tree(tree, &path.display().to_string())
    }

    pub fn quickstart() -> Result<Self> {
        Self::from_tree(Self::quickstart_tree()?, "built-in quick-start config")
    }

    /// The built-in quick-start config's tree, before validation.
    pub fn quickstart_tree() -> Result<Value> {
        let tree: Value = serde_json::to_value(
            config::Config::builder()
                .add_source(config::File::from_str(
                    QUICKSTART_YAML,
                    config::FileFormat::Yaml,
                ))
                .build()
                .and_then(|c| c.try_deserialize::<Value>())
                .map_err(|e| {
                    value::ConfigError::new("built-in quick-start config", e.to_string())
                })?,
        )
        .unwrap_or_default();
        Ok(tree)
    }

    pub fn from_tree(mut tree: Value, source: &str) -> Result<Self> {
        let env = load::EnvLookup::from_tree(&tree);
        // Each independent part is checked even when another is wrong: one run of
        // check-config names every problem in the file.
        let mut problems = Problems::default();
        load::resolve_env(&mut tree, "", &env, &mut problems);
        let root = as_map(Node {
            value: &tree,
            path: "",
        })?;
        let mut notes = Notes::default();
        notes.check_keys(root, "", TOP_KEYS, TOP_KEYS_NOT_USED);
        for n in notes.0.iter_mut() {
            n.path = n.path.trim_start_matches('.').to_string();
        }
        let empty = Map::new();
        let mut section = |key: &str| -> &Map<String, Value> {
            problems
                .keep(Field::of(root, "", key).map())
                .flatten()
                .unwrap_or(&empty)
        };
        let litellm = section("litellm_settings");
        let router = section("router_settings");
        let general = section("general_settings");
        notes.check_keys(
            litellm,
            "litellm_settings",
            LITELLM_KEYS,
            LITELLM_KEYS_NOT_USED,
        );
        notes.check_keys(router, "router_settings", ROUTER_KEYS, ROUTER_KEYS_NOT_USED);
        notes.check_keys(
            general,
            "general_settings",
            GENERAL_KEYS,
            GENERAL_KEYS_NOT_USED,
        );
        let cache = problems
            .keep(cache::cache_settings(root, litellm, &env, &mut notes))
            .flatten();
        let shared_state = problems
            .keep(shared_state::shared_state(router, cache.as_ref()))
            .flatten();

        let list = match problems.keep(Field::of(root, "", "model_list").list()) {
            Some(Some(list)) if !list.is_empty() => list.as_slice(),
            Some(Some(_)) => {
                problems.push(ConfigError::new(
                    "model_list",
                    "must name at least one deployment",
                ));
                &[]
            }
            Some(None) => {
                problems.push(ConfigError::new(
                    "model_list",
                    "required: a list of deployments",
                ));
                &[]
            }
            None => &[],
        };
        let mut deployments: Vec<Deployment> = Vec::with_capacity(list.len());
        let mut groups: Vec<GroupSpec> = Vec::new();
        let mut group_index: HashMap<String, GroupIdx> = HashMap::new();
        // Entry of each deployment id: a scan per entry made 10,000 entries take 0.2 s.
        let mut entry_of_id: HashMap<String, usize> = HashMap::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let path = format!("model_list[{i}]");
            let name = entry
                .get("model_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let Ok(next) = u32::try_from(groups.len()).map(GroupIdx) else {
                return err("model_list", "too many model groups");
            };
            let group = *group_index.entry(name.clone()).or_insert(next);
            if group == next {
                groups.push(GroupSpec {
                    name,
                    deployments: Vec::new(),
                });
            }
            let Some(mut d) = problems.keep(deployment::parse_deployment(
                Node {
                    value: entry,
                    path: &path,
                },
                group,
                &mut notes,
            )) else {
                continue;
            };
            if let Some(&prev) = entry_of_id.get(&d.id) {
                let explicit = entry
                    .pointer("/model_info/id")
                    .is_some_and(|v| !v.is_null());
                if explicit {
                    problems.push(ConfigError::new(
                        format!("{path}.model_info.id"),
                        format!(
                            "duplicate deployment id \"{}\" (also model_list[{prev}])",
                            d.id
                        ),
                    ));
                    continue;
                }
                // Two identical entries hash alike; a suffix keeps ids unique and still the same
                // on every instance that loads this config.
                d.id = format!("{}-{i}", d.id);
                d.spec.id = d.id.clone();
                d.upstream.id = d.id.clone();
                notes.differs(
                    &path,
                    &format!("same parameters as model_list[{prev}]: its id gets the suffix -{i}"),
                );
            }
            let Ok(idx) = u32::try_from(deployments.len()).map(DeploymentIdx) else {
                return err("model_list", "too many deployments");
            };
            if let Some(g) = groups.get_mut(group.0 as usize) {
                g.deployments.push(idx);
            }
            entry_of_id.entry(d.id.clone()).or_insert(i);
            deployments.push(d);
        }

        let mut alias_index = HashMap::new();
        let mut aliases = Vec::new();
        let alias_map = problems
            .keep(Field::of(router, "router_settings", "model_group_alias").map())
            .flatten();
        for (alias, target) in alias_map.into_iter().flatten() {
            let path = format!("router_settings.model_group_alias.{alias}");
            let (name, hidden) = match target {
                Value::String(s) => (s.clone(), false),
                Value::Object(m) => (
                    problems
                        .keep(Field::of(m, &path, "model").string())
                        .flatten()
                        .unwrap_or_default(),
                    problems
                        .keep(Field::of(m, &path, "hidden").bool())
                        .flatten()
                        .unwrap_or(false),
                ),
                _ => {
                    problems.push(ConfigError::new(
                        &path,
                        "expected a group name or {model, hidden}",
                    ));
                    continue;
                }
            };
            match group_index.get(&name) {
                Some(g) => {
                    alias_index.insert(alias.clone(), *g);
                    aliases.push(Alias {
                        name: alias.clone(),
                        group: *g,
                        hidden,
                    });
                }
                None => notes.unknown(
                    &path,
                    &format!("alias target `{name}` is not a model group: ignored"),
                ),
            }
        }
        let names = GroupNames {
            index: &group_index,
            aliases: &alias_index,
        };
        let router_spec = problems.keep(router::router_spec(router, litellm, &names, &mut notes));
        let max_request_bytes = problems
            .keep(
                Field::of(general, "general_settings", "max_request_size_mb")
                    .megabytes(limits::MAX_REQUEST_SIZE_MB),
            )
            .map(|mb| mb.unwrap_or(32 * 1024 * 1024));
        let limits = problems.keep(limits::limits(root, &mut notes));
        let stream_keepalive = problems
            .keep(
                Field::of(general, "general_settings", "stream_keepalive_seconds")
                    .seconds(limits::MAX_TIMEOUT),
            )
            .map(|s| match s {
                None => Some(std::time::Duration::from_secs(15)),
                Some(s) => Some(s.duration()).filter(|d| !d.is_zero()),
            });
        let master_key = problems
            .keep(Field::of(general, "general_settings", "master_key").string())
            .flatten()
            .or_else(|| std::env::var("LITELLM_MASTER_KEY").ok())
            .filter(|k| !k.is_empty())
            .map(Secret::new);
        let l = |key: &str| Field::of(litellm, "litellm_settings", key);
        let r = |key: &str| Field::of(router, "router_settings", key);
        let router_timeout = problems.keep(r("timeout").seconds(limits::MAX_TIMEOUT));
        let router_stream_timeout = problems.keep(r("stream_timeout").seconds(limits::MAX_TIMEOUT));
        let request_timeout = problems.keep(l("request_timeout").seconds(limits::MAX_TIMEOUT));
        let drop_params = problems.keep(l("drop_params").bool());
        let json_logs = problems.keep(l("json_logs").bool());
        let verbose = problems.keep(l("set_verbose").bool());
        let callbacks = problems.keep(l("callbacks").strings());
        let success_callbacks = problems.keep(l("success_callback").strings());
        if let Some(e) = problems.into_error() {
            return Err(e);
        }
        let (
            Some(router_spec),
            Some(max_request_bytes),
            Some(stream_keepalive),
            Some(limits),
            Some(router_timeout),
            Some(router_stream_timeout),
            Some(request_timeout),
            Some(drop_params),
            Some(json_logs),
            Some(verbose),
            Some(callbacks),
            Some(success_callbacks),
        ) = (
            router_spec,
            max_request_bytes,
            stream_keepalive,
            limits,
            router_timeout,
            router_stream_timeout,
            request_timeout,
            drop_params,
            json_logs,
            verbose,
            callbacks,
            success_callbacks,
        )
        else {
            return err("", "the config could not be read");
        };
        let named = |name: &str| {
            callbacks
                .iter()
                .chain(success_callbacks.iter())
                .flatten()
                .any(|c| c == name)
        };
        Ok(Self {
            prometheus: named("prometheus"),
            otel: named("otel"),
            source: source.to_string(),
            deployments,
            groups,
            group_index,
            aliases,
            router: router_spec,
            router_timeout,
            router_stream_timeout,
            request_timeout,
            drop_params: drop_params.unwrap_or(false),
            json_logs: json_logs.unwrap_or(false),
            verbose: verbose.unwrap_or(false),
            master_key,
            max_request_bytes,
            stream_keepalive,
            limits,
            cache,
            shared_state,
            notes: notes.0,
        })
    }

    /// Every secret in this config, for `secret::register`: what must never reach a client or
    /// a log.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.master_key.as_ref().map(|k| k.expose().to_string()));
        for d in &self.deployments {
            out.extend(d.upstream.api_key.as_ref().map(|k| k.expose().to_string()));
            out.extend(d.provider.secrets());
            if let Some(p) = d
                .upstream
                .api_base
                .as_deref()
                .and_then(crate::secret::url_password)
            {
                out.push(p.to_string());
            }
        }
        let redis = [
            self.cache.as_ref().and_then(|c| match &c.backend {
                cache::CacheBackend::Redis(t) => Some(&t.url),
                cache::CacheBackend::Local { .. } => None,
            }),
            self.shared_state.as_ref().map(|s| &s.target.url),
        ];
        for url in redis.into_iter().flatten() {
            out.push(url.expose().to_string());
            if let Some(p) = crate::secret::url_password(url.expose()) {
                out.push(p.to_string());
            }
        }
        out
    }

    /// The group a client's `model` names: a group, an alias, or a deployment id.
    pub fn resolve_model(&self, model: &str) -> Option<GroupIdx> {
        if let Some(g) = self.group_index.get(model) {
            return Some(*g);
        }
        if let Some(a) = self.aliases.iter().find(|a| a.name == model) {
            return Some(a.group);
        }
        self.deployments
            .iter()
            .find(|d| d.id == model)
            .map(|d| d.spec.group)
    }

    pub fn group_name(&self, g: GroupIdx) -> &str {
        g.of(&self.groups).map_or("", |g| g.name.as_str())
    }

    /// The group's deployments, in config order.
    pub fn group_deployments(&self, g: GroupIdx) -> impl Iterator<Item = &Deployment> {
        g.of(&self.groups)
            .into_iter()
            .flat_map(|g| g.deployments.iter().map(|&d| self.deployment(d)))
    }

    /// Whether a deployment of the group takes requests in `api` as they are.
    pub fn group_speaks(&self, g: GroupIdx, api: crate::providers::native::NativeApi) -> bool {
        self.group_deployments(g)
            .any(|d| d.provider.speaks(&d.upstream, api))
    }

    // Indices are made by `from_tree` from this same, never-changing table: one out of range
    // would be a loader bug, not an input.
    #[allow(clippy::indexing_slicing)]
    pub fn deployment(&self, d: DeploymentIdx) -> &Deployment {
        &self.deployments[d.0 as usize]
    }

    /// Names clients may use, as `/v1/models` lists them: visible aliases, then groups.
    pub fn public_model_names(&self) -> Vec<&str> {
        self.aliases
            .iter()
            .filter(|a| !a.hidden)
            .map(|a| a.name.as_str())
            .chain(self.groups.iter().map(|g| g.name.as_str()))
            .collect()
    }
}
