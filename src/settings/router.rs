//! `router_settings` (and the `litellm_settings` globals the router falls back to).

use switchyard_actors::seconds::Seconds;

use super::limits::{MAX_COOLDOWN, MAX_FALLBACKS, MAX_RETRIES, MAX_RETRY_BACKOFF};
use std::collections::HashMap;

use serde_json::{Map, Value};
use switchyard_actors::policy::{AllowedFailsKey, AllowedFailsPolicy, RetryKey, RetryPolicy};
use switchyard_actors::spec::{FallbackTable, RouterSpec, Strategy};
use switchyard_actors::GroupIdx;

use super::notes::Notes;
use super::value::{err, Field, Result};

pub const ROUTER_KEYS: &[&str] = &[
    "routing_strategy",
    "routing_strategy_args",
    "num_retries",
    "retry_after",
    "retry_policy",
    "model_group_retry_policy",
    "allowed_fails",
    "allowed_fails_policy",
    "cooldown_time",
    "disable_cooldowns",
    "timeout",
    "stream_timeout",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "default_fallbacks",
    "max_fallbacks",
    "default_max_parallel_requests",
    "model_group_alias",
    "redis_host",
    "redis_port",
    "redis_password",
    "redis_url",
];

pub const ROUTER_KEYS_NOT_USED: &[&str] = &[
    "enable_pre_call_checks",
    "optional_pre_call_checks",
    "cache_kwargs",
    "cache_responses",
    "caching_groups",
    "enable_tag_filtering",
    "tag_filtering_match_any",
    "routing_groups",
    "enable_weighted_failover",
    "fallback_on_unsupported_params",
    "set_verbose",
    "debug_level",
    "client_ttl",
    "polling_interval",
    "provider_budget_config",
    "model_group_affinity_config",
    "health_check_interval",
    "health_check_concurrency",
];

pub fn strategy(name: &str, path: &str) -> Result<Strategy> {
    Ok(match name {
        "simple-shuffle" => Strategy::SimpleShuffle,
        "least-busy" => Strategy::LeastBusy,
        "usage-based-routing" | "usage-based-routing-v2" => Strategy::UsageBased,
        "latency-based-routing" => Strategy::LatencyBased,
        "cost-based-routing" => Strategy::CostBased,
        other => {
            return err(
                path,
                format!(
                    "unknown routing strategy \"{other}\" (simple-shuffle, least-busy, usage-based-routing, \
                     usage-based-routing-v2, latency-based-routing, cost-based-routing)"
                ),
            )
        }
    })
}

pub fn retry_policy(
    map: &Map<String, Value>,
    path: &str,
    notes: &mut Notes,
) -> Result<RetryPolicy> {
    let mut policy = RetryPolicy::default();
    let names: Vec<&str> = RetryKey::ALL.iter().map(|k| k.config_name()).collect();
    notes.check_keys(map, path, &names, &[]);
    for key in RetryKey::ALL {
        if let Some(n) = Field::of(map, path, key.config_name()).u32_at_most(MAX_RETRIES)? {
            policy.set(key, n);
        }
    }
    Ok(policy)
}

pub fn allowed_fails_policy(
    map: &Map<String, Value>,
    path: &str,
    notes: &mut Notes,
) -> Result<AllowedFailsPolicy> {
    let mut policy = AllowedFailsPolicy::default();
    let names: Vec<&str> = AllowedFailsKey::ALL
        .iter()
        .map(|k| k.config_name())
        .collect();
    notes.check_keys(map, path, &names, &[]);
    for key in AllowedFailsKey::ALL {
        if let Some(n) = Field::of(map, path, key.config_name()).u32()? {
            policy.set(key, n);
        }
    }
    Ok(policy)
}

/// Resolves group names (and aliases) to indexes for fallback tables.
pub struct GroupNames<'a> {
    pub index: &'a HashMap<String, GroupIdx>,
    pub aliases: &'a HashMap<String, GroupIdx>,
}

impl GroupNames<'_> {
    pub fn resolve(&self, name: &str) -> Option<GroupIdx> {
        self.index
            .get(name)
            .or_else(|| self.aliases.get(name))
            .copied()
    }
}

/// A fallbacks-shaped setting: a list of one-key mappings `{group: [targets]}` (LiteLLM's
/// shape), a target given as one string (`- small: big`, which LiteLLM reads character by
/// character), or one mapping of all groups.
pub fn fallback_table(
    field: &Field,
    names: &GroupNames,
    notes: &mut Notes,
) -> Result<Option<FallbackTable>> {
    let mut entries: Vec<(String, &Value, String)> = Vec::new();
    match field.value {
        None => return Ok(None),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{}[{i}]", field.path);
                let Value::Object(map) = item else {
                    return err(
                        &item_path,
                        "expected a mapping like `gpt-4o: [claude-3-5-sonnet]`",
                    );
                };
                for (group, targets) in map {
                    entries.push((group.clone(), targets, format!("{item_path}.{group}")));
                }
            }
        }
        Some(Value::Object(map)) => {
            for (group, targets) in map {
                entries.push((group.clone(), targets, format!("{}.{group}", field.path)));
            }
        }
        Some(_) => {
            return err(
                &field.path,
                "expected a list of `group: [fallback groups]` mappings",
            )
        }
    }
    let mut table = FallbackTable::default();
    for (group, targets, path) in entries {
        let target_names: Vec<String> = match targets {
            Value::String(s) => {
                notes.differs(
                    &path,
                    "a single fallback group written as a string: read as a one-item list",
                );
                vec![s.clone()]
            }
            Value::Array(list) => {
                let mut out = Vec::new();
                for (j, t) in list.iter().enumerate() {
                    match t {
                        Value::String(s) => out.push(s.clone()),
                        Value::Object(m) => match m.get("model").and_then(Value::as_str) {
                            Some(s) => {
                                notes.not_used(
                                    &format!("{path}[{j}]"),
                                    "per-fallback parameter overrides are ignored",
                                );
                                out.push(s.to_string());
                            }
                            None => {
                                return err(&format!("{path}[{j}]"), "expected a model group name")
                            }
                        },
                        _ => return err(&format!("{path}[{j}]"), "expected a model group name"),
                    }
                }
                out
            }
            _ => return err(&path, "expected a list of model group names"),
        };
        let mut resolved = Vec::new();
        for name in target_names {
            match names.resolve(&name) {
                Some(g) => resolved.push(g),
                None => notes.unknown(
                    &path,
                    &format!("fallback target `{name}` is not a model group: ignored"),
                ),
            }
        }
        if group == "*" {
            table.wildcard.extend(resolved);
        } else {
            match names.resolve(&group) {
                Some(g) => table.by_group.entry(g).or_default().extend(resolved),
                None => notes.unknown(
                    &path,
                    &format!("`{group}` is not a model group: entry ignored"),
                ),
            }
        }
    }
    Ok(Some(table))
}

/// Builds the router spec from `router_settings`, falling back to `litellm_settings` globals.
pub fn router_spec(
    router: &Map<String, Value>,
    litellm: &Map<String, Value>,
    names: &GroupNames,
    notes: &mut Notes,
) -> Result<RouterSpec> {
    let r = |key: &str| Field::of(router, "router_settings", key);
    let l = |key: &str| Field::of(litellm, "litellm_settings", key);
    let either = |key: &str| if r(key).present() { r(key) } else { l(key) };
    let mut spec = RouterSpec::default();
    if let Some(name) = r("routing_strategy").string()? {
        spec.strategy = strategy(&name, &r("routing_strategy").path)?;
    }
    if let Some(args) = r("routing_strategy_args").map()? {
        let path = r("routing_strategy_args").path;
        spec.lowest_latency_buffer = Field::of(args, &path, "lowest_latency_buffer")
            .non_negative()?
            .unwrap_or(0.0);
        notes.check_keys(
            args,
            &path,
            &["lowest_latency_buffer"],
            &["ttl", "max_latency_list_size", "ttft_percentile"],
        );
    }
    spec.num_retries = either("num_retries").u32_at_most(MAX_RETRIES)?.unwrap_or(2);
    spec.retry_after = r("retry_after")
        .seconds(MAX_RETRY_BACKOFF)?
        .unwrap_or(Seconds::ZERO);
    if let Some(map) = r("retry_policy").map()? {
        spec.retry_policy = Some(retry_policy(map, &r("retry_policy").path, notes)?);
    }
    if let Some(map) = r("model_group_retry_policy").map()? {
        let base = r("model_group_retry_policy").path;
        for (group, policy) in map {
            let path = format!("{base}.{group}");
            let Value::Object(policy) = policy else {
                return err(&path, "expected a retry policy mapping");
            };
            match names.resolve(group) {
                Some(g) => {
                    spec.group_retry_policy
                        .insert(g, retry_policy(policy, &path, notes)?);
                }
                None => notes.unknown(&path, "not a model group: ignored"),
            }
        }
    }
    spec.allowed_fails = either("allowed_fails").u32()?;
    if spec.allowed_fails == Some(3) {
        notes.differs(
            &either("allowed_fails").path,
            "counts as 3 allowed failures per minute (LiteLLM treats exactly 3 as unset)",
        );
    }
    if let Some(map) = r("allowed_fails_policy").map()? {
        spec.allowed_fails_policy = Some(allowed_fails_policy(
            map,
            &r("allowed_fails_policy").path,
            notes,
        )?);
    }
    spec.cooldown_time = r("cooldown_time")
        .seconds(MAX_COOLDOWN)?
        .unwrap_or(Seconds::whole(5));
    spec.disable_cooldowns = r("disable_cooldowns").bool()?.unwrap_or(false);
    spec.fallbacks = fallback_table(&either("fallbacks"), names, notes)?.unwrap_or_default();
    if let Some(list) = either("default_fallbacks").strings()? {
        for name in list {
            match names.resolve(&name) {
                Some(g) => spec.fallbacks.wildcard.push(g),
                None => notes.unknown(
                    &either("default_fallbacks").path,
                    &format!("`{name}` is not a model group: ignored"),
                ),
            }
        }
    }
    let non_empty =
        |t: Option<FallbackTable>| t.filter(|t| !t.by_group.is_empty() || !t.wildcard.is_empty());
    spec.context_window_fallbacks = non_empty(fallback_table(
        &either("context_window_fallbacks"),
        names,
        notes,
    )?);
    spec.content_policy_fallbacks = non_empty(fallback_table(
        &either("content_policy_fallbacks"),
        names,
        notes,
    )?);
    spec.max_fallbacks = either("max_fallbacks")
        .u32_at_most(MAX_FALLBACKS)?
        .unwrap_or(5);
    spec.default_max_parallel_requests = r("default_max_parallel_requests").u32()?;
    Ok(spec)
}
