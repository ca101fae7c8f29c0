//! What the actors need to know about the configuration, already validated and typed.
//! The gateway's config loader builds these; the actors never see YAML.

use std::collections::HashMap;

use crate::policy::{AllowedFailsPolicy, RetryPolicy};
use crate::seconds::Seconds;

/// Index of a deployment (one `model_list` entry) in the gateway's deployment table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeploymentIdx(pub u32);

/// Index of a model group (a `model_name`) in the gateway's group table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupIdx(pub u32);

impl DeploymentIdx {
    /// This deployment's entry in a table built beside the deployment list (gates, actors).
    pub fn of<T>(self, table: &[T]) -> Option<&T> {
        table.get(self.0 as usize)
    }
}

impl GroupIdx {
    pub fn of<T>(self, table: &[T]) -> Option<&T> {
        table.get(self.0 as usize)
    }
}

/// Routing-relevant facts about one deployment.
#[derive(Clone, Debug, Default)]
pub struct DeploymentSpec {
    /// `model_info.id`, or LiteLLM's deterministic sha256 id.
    pub id: String,
    pub group: GroupIdx,
    pub weight: Option<f64>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub order: Option<i64>,
    pub max_parallel_requests: Option<u32>,
    /// `litellm_params.num_retries`: this deployment's own retry count.
    pub num_retries: Option<u32>,
    /// `litellm_params.max_retries`: LiteLLM ignores it behind the router; we honour it.
    pub max_retries: Option<u32>,
    pub cooldown_time: Option<Seconds>,
    pub allowed_fails: Option<u32>,
    pub allowed_fails_policy: Option<AllowedFailsPolicy>,
    pub input_cost_per_token: Option<f64>,
    pub output_cost_per_token: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct GroupSpec {
    pub name: String,
    pub deployments: Vec<DeploymentIdx>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    #[default]
    SimpleShuffle,
    LeastBusy,
    UsageBased,
    LatencyBased,
    CostBased,
}

/// `fallbacks`-shaped settings: per group an ordered list of groups, plus the `"*"` entry.
#[derive(Clone, Debug, Default)]
pub struct FallbackTable {
    pub by_group: HashMap<GroupIdx, Vec<GroupIdx>>,
    pub wildcard: Vec<GroupIdx>,
}

impl FallbackTable {
    pub fn targets(&self, group: GroupIdx) -> &[GroupIdx] {
        self.by_group
            .get(&group)
            .map(Vec::as_slice)
            .unwrap_or(&self.wildcard)
    }

    pub fn has_entry(&self, group: GroupIdx) -> bool {
        self.by_group.contains_key(&group) || !self.wildcard.is_empty()
    }
}

/// `router_settings` (with `litellm_settings` fallbacks already merged in).
#[derive(Clone, Debug)]
pub struct RouterSpec {
    pub strategy: Strategy,
    /// latency-based-routing: pick among deployments within this fraction of the fastest.
    pub lowest_latency_buffer: f64,
    pub num_retries: u32,
    /// Minimum backoff in seconds between retries on the same deployment.
    pub retry_after: Seconds,
    pub retry_policy: Option<RetryPolicy>,
    pub group_retry_policy: HashMap<GroupIdx, RetryPolicy>,
    pub allowed_fails: Option<u32>,
    pub allowed_fails_policy: Option<AllowedFailsPolicy>,
    pub cooldown_time: Seconds,
    pub disable_cooldowns: bool,
    pub fallbacks: FallbackTable,
    /// `None` when not configured anywhere: context-length errors then use `fallbacks`.
    pub context_window_fallbacks: Option<FallbackTable>,
    pub content_policy_fallbacks: Option<FallbackTable>,
    pub max_fallbacks: u32,
    pub default_max_parallel_requests: Option<u32>,
}

impl Default for RouterSpec {
    fn default() -> Self {
        Self {
            strategy: Strategy::SimpleShuffle,
            lowest_latency_buffer: 0.0,
            num_retries: 2,
            retry_after: Seconds::ZERO,
            retry_policy: None,
            group_retry_policy: HashMap::new(),
            allowed_fails: None,
            allowed_fails_policy: None,
            cooldown_time: Seconds::whole(5),
            disable_cooldowns: false,
            fallbacks: FallbackTable::default(),
            context_window_fallbacks: None,
            content_policy_fallbacks: None,
            max_fallbacks: 5,
            default_max_parallel_requests: None,
        }
    }
}

impl DeploymentSpec {
    /// LiteLLM's in-flight cap: `max_parallel_requests`, else rpm, else tpm/1000*6, else the
    /// router default; `0` means unlimited.
    pub fn max_in_flight(&self, router_default: Option<u32>) -> u32 {
        if let Some(n) = self.max_parallel_requests {
            return n;
        }
        if let Some(rpm) = self.rpm {
            return u32::try_from(rpm).unwrap_or(u32::MAX);
        }
        if let Some(tpm) = self.tpm {
            return u32::try_from((tpm / 1000).saturating_mul(6))
                .unwrap_or(u32::MAX)
                .max(1);
        }
        router_default.unwrap_or(0)
    }
}
