//! Prometheus metrics under LiteLLM's names, types, labels and buckets (see
//! `litellm-reference.md` beside this file), so existing dashboards and alerts work unchanged;
//! plus `switchyard_*` gauges LiteLLM lacks. Every request's settlement records into its
//! worker's own series (a lock no other worker takes, except a scrape); a scrape merges them.
//! One process, no multiprocess directory: counters never jump between scrapes.

pub mod exposition;
pub mod process;
pub mod redis_ops;

use std::collections::BTreeMap;

// Every request looks up four names and its series here: SipHash (std's default) cost more
// than the lookups' other work. foldhash is seeded per process, which keeps client-chosen
// names (user agents) from being aimed at one bucket.
use foldhash::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use exposition::{header, labels, sample};
use switchyard_actors::gate::Gate;

use crate::settings::Deployment;

/// LiteLLM's latency buckets (seconds).
pub const LATENCY_BUCKETS: [f64; 17] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 420.0,
    600.0,
];

/// What LiteLLM writes for a label it has no value for.
const NONE: &str = "None";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Family {
    ProxyFailed,
    ProxyTotal,
    RequestTotalLatency,
    LlmApiLatency,
    TimeToFirstToken,
    TotalTokens,
    InputTokens,
    OutputTokens,
    RemainingRequests,
    RemainingTokens,
    OverheadLatency,
    DeploymentState,
    TpmLimit,
    RpmLimit,
    CooledDown,
    DeploymentSuccess,
    DeploymentFailure,
    DeploymentTotal,
    SuccessfulFallbacks,
    FailedFallbacks,
    CacheHits,
    CacheMisses,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Family {
    /// LiteLLM's registration order (the order families appear in its output).
    const ALL: [Family; 22] = [
        Family::ProxyFailed,
        Family::ProxyTotal,
        Family::RequestTotalLatency,
        Family::LlmApiLatency,
        Family::TimeToFirstToken,
        Family::TotalTokens,
        Family::InputTokens,
        Family::OutputTokens,
        Family::RemainingRequests,
        Family::RemainingTokens,
        Family::OverheadLatency,
        Family::DeploymentState,
        Family::TpmLimit,
        Family::RpmLimit,
        Family::CooledDown,
        Family::DeploymentSuccess,
        Family::DeploymentFailure,
        Family::DeploymentTotal,
        Family::SuccessfulFallbacks,
        Family::FailedFallbacks,
        Family::CacheHits,
        Family::CacheMisses,
    ];

    fn spec(self) -> (&'static str, Kind, &'static str) {
        match self {
            Self::ProxyFailed => ("litellm_proxy_failed_requests_metric", Kind::Counter, "Total number of failed responses from proxy - the client did not get a success response from litellm proxy"),
            Self::ProxyTotal => ("litellm_proxy_total_requests_metric", Kind::Counter, "Total number of requests made to the proxy server - track number of client side requests"),
            Self::RequestTotalLatency => ("litellm_request_total_latency_metric", Kind::Histogram, "End-to-end latency (seconds) for a request to LiteLLM Proxy Server, from the moment the request reached the proxy through the end of processing -- includes authentication, pre-call hooks, the LLM API call, and post-call processing"),
            Self::LlmApiLatency => ("litellm_llm_api_latency_metric", Kind::Histogram, "Total latency (seconds) for a models LLM API call"),
            Self::TimeToFirstToken => ("litellm_llm_api_time_to_first_token_metric", Kind::Histogram, "Time to first token for a models LLM API call"),
            Self::TotalTokens => ("litellm_total_tokens_metric", Kind::Counter, "Total number of input + output tokens from LLM requests"),
            Self::InputTokens => ("litellm_input_tokens_metric", Kind::Counter, "Total number of input tokens from LLM requests"),
            Self::OutputTokens => ("litellm_output_tokens_metric", Kind::Counter, "Total number of output tokens from LLM requests"),
            Self::RemainingRequests => ("litellm_remaining_requests_metric", Kind::Gauge, "LLM Deployment Analytics - remaining requests for model, returned from LLM API Provider"),
            Self::RemainingTokens => ("litellm_remaining_tokens_metric", Kind::Gauge, "remaining tokens for model, returned from LLM API Provider"),
            Self::TpmLimit => ("litellm_deployment_tpm_limit", Kind::Gauge, "Deployment TPM limit found in config"),
            Self::RpmLimit => ("litellm_deployment_rpm_limit", Kind::Gauge, "Deployment RPM limit found in config"),
            Self::CooledDown => ("litellm_deployment_cooled_down", Kind::Counter, "LLM Deployment Analytics - Number of times a deployment has been cooled down by LiteLLM load balancing logic. exception_status is the status of the exception that caused the deployment to be cooled down"),
            Self::SuccessfulFallbacks => ("litellm_deployment_successful_fallbacks", Kind::Counter, "LLM Deployment Analytics - Number of successful fallback requests from primary model -> fallback model"),
            Self::FailedFallbacks => ("litellm_deployment_failed_fallbacks", Kind::Counter, "LLM Deployment Analytics - Number of failed fallback requests from primary model -> fallback model"),
            Self::OverheadLatency => ("litellm_overhead_latency_metric", Kind::Histogram, "Latency overhead (milliseconds) added by LiteLLM processing"),
            Self::DeploymentState => ("litellm_deployment_state", Kind::Gauge, "LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage"),
            Self::DeploymentSuccess => ("litellm_deployment_success_responses", Kind::Counter, "LLM Deployment Analytics - Total number of successful LLM API calls via litellm"),
            Self::DeploymentFailure => ("litellm_deployment_failure_responses", Kind::Counter, "LLM Deployment Analytics - Total number of failed LLM API calls for a specific LLM deploymeny. exception_status is the status of the exception from the llm api"),
            Self::DeploymentTotal => ("litellm_deployment_total_requests", Kind::Counter, "LLM Deployment Analytics - Total number of LLM API calls via litellm - success + failure"),
            Self::CacheHits => ("litellm_cache_hits_metric", Kind::Counter, "Total number of LiteLLM cache hits"),
            Self::CacheMisses => ("litellm_cache_misses_metric", Kind::Counter, "Total number of LiteLLM cache misses"),
        }
    }
}

#[derive(Clone, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative), the last one for `+Inf`.
    counts: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let at = LATENCY_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        if let Some(c) = self.counts.get_mut(at) {
            *c += 1;
        }
        self.sum += seconds;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.sum += other.sum;
    }
}

/// Strings a worker has seen (routes, model names, user agents, exception classes), by id:
/// series keys hold ids, so recording a request hashes a few short strings and no label set.
#[derive(Default)]
struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(s.to_string(), id);
        self.names.push(s.to_string());
        id
    }

    fn name(&self, id: u32) -> &str {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.names.get(i))
            .map_or("", String::as_str)
    }
}

const NO_DEPLOYMENT: u32 = u32::MAX;

/// What one request's series are told apart by.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct RequestKey {
    route: u32,
    requested: u32,
    group: u32,
    deployment: u32,
    status: u16,
    /// The exception class's name id, for a failed request.
    failure: Option<u32>,
    cache_hit: bool,
    ip: Option<IpAddr>,
    user_agent: u32,
}

#[derive(Default)]
struct RequestStats {
    count: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    total: Histogram,
    upstream: Histogram,
    first_token: Histogram,
    overhead: Histogram,
}

/// A failed attempt's series key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct AttemptKey {
    deployment: u32,
    requested: u32,
    group: u32,
    status: u16,
    class: u32,
    ip: Option<IpAddr>,
    user_agent: u32,
}

/// One worker's series.
#[derive(Default)]
struct Series {
    names: Names,
    requests: HashMap<RequestKey, RequestStats>,
    failed_attempts: HashMap<AttemptKey, u64>,
    /// Each deployment's state (0 healthy, 1 partial outage) and when it was set.
    states: HashMap<u32, (f64, u64)>,
    /// Cache lookups that found nothing, by requested model.
    cache_misses: HashMap<u32, u64>,
    /// The latest `x-ratelimit-remaining-requests` / `-tokens` per deployment and group.
    remaining: HashMap<(u32, u32), Remaining>,
    fallbacks: HashMap<FallbackKey, u64>,
}

/// The latest remaining requests and tokens an upstream reported, and when.
type Remaining = (Option<f64>, Option<f64>, u64);

/// A fallback's series key: from the group asked for to the one tried, and why.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FallbackKey {
    requested: u32,
    fallback: u32,
    status: u16,
    class: u32,
    succeeded: bool,
}

/// A fallback target that answered or failed, and the failure that led to it.
pub struct Fallback<'a> {
    pub requested_model: &'a str,
    pub fallback_model: &'a str,
    /// The original failure: its status and LiteLLM's class name (`Openai.RateLimitError`).
    pub status: u16,
    pub class: &'a str,
    pub succeeded: bool,
}

/// Orders state changes across workers: the latest one wins at a scrape.
static STATE_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// What a deployment's series are labelled with, as LiteLLM labels them.
#[derive(Clone, Debug)]
pub struct DeploymentLabels {
    /// `litellm_params.model` without the provider prefix.
    pub litellm_model_name: String,
    pub model_id: String,
    pub api_base: String,
    /// The provider prefix (`openai`, `hosted_vllm`, `anthropic`, ...).
    pub api_provider: String,
    /// Its model group, and the rpm/tpm limits the config gives it.
    pub model_group: String,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
}

/// How a request ended, as the metrics see it.
pub struct Record<'a> {
    /// The route the client called (`/v1/chat/completions`).
    pub route: &'a str,
    /// The model the client asked for (`""` when refused before one was known).
    pub requested_model: &'a str,
    /// The group that answered or failed last, and its deployment's series slot.
    pub model_group: &'a str,
    pub deployment: Option<u32>,
    pub status: u16,
    /// `Some` for a failure: LiteLLM's exception class name (`Openai.RateLimitError`).
    pub exception_class: Option<&'a str>,
    pub cache_hit: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total: Duration,
    /// The answering upstream call, and its first token (streams).
    pub upstream: Option<Duration>,
    pub first_token: Option<Duration>,
    pub client_ip: Option<IpAddr>,
    pub user_agent: &'a str,
}

/// A failed attempt on a deployment.
pub struct FailedAttempt<'a> {
    /// The deployment's series slot, and its provider prefix (`openai`).
    pub deployment: u32,
    pub provider: &'a str,
    pub requested_model: &'a str,
    pub model_group: &'a str,
    pub status: u16,
    /// The error's class name (`RateLimitError`).
    pub class: &'a str,
    pub client_ip: Option<IpAddr>,
    pub user_agent: &'a str,
}

/// `openai` → `Openai`, as LiteLLM names a provider in exception classes.
pub fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Milliseconds as seconds (durations bounded far below 2^53 ms, where f64 is exact).
pub fn millis_as_seconds(ms: u64) -> f64 {
    u64_f(ms) / 1000.0
}

pub(crate) fn u64_f(n: u64) -> f64 {
    // Counts stay far below 2^53, where f64 is exact.
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    f
}

fn deployment_id(d: Option<u32>) -> u32 {
    d.unwrap_or(NO_DEPLOYMENT)
}

/// A worker's handle: records settlements into its own series.
#[derive(Clone)]
pub struct WorkerMetrics {
    series: Arc<Mutex<Series>>,
    /// `litellm_settings.callbacks: ["prometheus"]`: otherwise nothing is recorded.
    enabled: bool,
}

impl WorkerMetrics {
    fn with(&self, f: impl FnOnce(&mut Series)) {
        if !self.enabled {
            return;
        }
        let mut s = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut s);
    }

    pub fn record(&self, r: &Record<'_>) {
        self.with(|s| {
            let key = RequestKey {
                route: s.names.id(r.route),
                requested: s.names.id(r.requested_model),
                group: s.names.id(r.model_group),
                deployment: deployment_id(r.deployment),
                status: r.status,
                failure: r.exception_class.map(|c| s.names.id(c)),
                cache_hit: r.cache_hit,
                ip: r.client_ip,
                user_agent: s.names.id(r.user_agent),
            };
            let stats = s.requests.entry(key).or_default();
            stats.count += 1;
            if r.exception_class.is_some() {
                return;
            }
            stats.prompt_tokens += r.prompt_tokens;
            stats.completion_tokens += r.completion_tokens;
            stats.total.observe(r.total.as_secs_f64());
            if let Some(up) = r.upstream {
                stats.upstream.observe(up.as_secs_f64());
                stats
                    .overhead
                    .observe(r.total.saturating_sub(up).as_secs_f64());
            }
            if let Some(first) = r.first_token {
                stats.first_token.observe(first.as_secs_f64());
            }
            if let Some(d) = r.deployment {
                let seq = STATE_SEQUENCE.fetch_add(1, Ordering::Relaxed);
                s.states.insert(d, (0.0, seq));
            }
        });
    }

    /// An attempt on a deployment failed (each failed attempt counts, where LiteLLM counts the
    /// first of a request only); the deployment is in partial outage (1) until it next answers.
    pub fn attempt_failed(&self, a: &FailedAttempt<'_>) {
        let class = format!("{}.{}", capitalized(a.provider), a.class);
        self.with(|s| {
            let key = AttemptKey {
                deployment: a.deployment,
                requested: s.names.id(a.requested_model),
                group: s.names.id(a.model_group),
                status: a.status,
                class: s.names.id(&class),
                ip: a.client_ip,
                user_agent: s.names.id(a.user_agent),
            };
            *s.failed_attempts.entry(key).or_default() += 1;
            let seq = STATE_SEQUENCE.fetch_add(1, Ordering::Relaxed);
            s.states.insert(a.deployment, (1.0, seq));
        });
    }

    /// The upstream's `x-ratelimit-remaining-*` on an answer from this deployment.
    pub fn remaining(
        &self,
        deployment: u32,
        group: &str,
        requests: Option<f64>,
        tokens: Option<f64>,
    ) {
        if requests.is_none() && tokens.is_none() {
            return;
        }
        self.with(|s| {
            let g = s.names.id(group);
            let seq = STATE_SEQUENCE.fetch_add(1, Ordering::Relaxed);
            let slot = s
                .remaining
                .entry((deployment, g))
                .or_insert((None, None, seq));
            slot.0 = requests.or(slot.0);
            slot.1 = tokens.or(slot.1);
            slot.2 = seq;
        });
    }

    pub fn fallback(&self, f: &Fallback<'_>) {
        self.with(|s| {
            let key = FallbackKey {
                requested: s.names.id(f.requested_model),
                fallback: s.names.id(f.fallback_model),
                status: f.status,
                class: s.names.id(f.class),
                succeeded: f.succeeded,
            };
            *s.fallbacks.entry(key).or_default() += 1;
        });
    }

    /// A cache lookup that found nothing (the request went upstream).
    pub fn cache_miss(&self, requested_model: &str) {
        self.with(|s| {
            let id = s.names.id(requested_model);
            *s.cache_misses.entry(id).or_default() += 1;
        });
    }
}

/// Every worker's series, for a scrape.
pub struct Registry {
    workers: Mutex<Vec<WorkerMetrics>>,
    /// Every deployment any generation had, by series slot (a reload adds, never renumbers:
    /// series recorded under a deployment that left keep their labels).
    deployments: Mutex<Slots>,
    pub enabled: bool,
}

#[derive(Default)]
struct Slots {
    labels: Vec<DeploymentLabels>,
    by_key: HashMap<String, u32>,
}

impl DeploymentLabels {
    pub fn of(d: &Deployment) -> Self {
        Self {
            litellm_model_name: d.upstream.model.clone(),
            model_id: d.id.clone(),
            api_base: d.public_api_base().to_string(),
            api_provider: d.kind.name().to_string(),
            model_group: d.group_name.clone(),
            rpm: d.spec.rpm,
            tpm: d.spec.tpm,
        }
    }

    /// What tells two deployments' series apart (limits are not labels).
    fn key(&self) -> String {
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.model_id,
            self.model_group,
            self.litellm_model_name,
            self.api_base,
            self.api_provider
        )
    }
}

fn deployment(all: &[DeploymentLabels], id: u32) -> Option<&DeploymentLabels> {
    if id == NO_DEPLOYMENT {
        return None;
    }
    all.get(usize::try_from(id).ok()?)
}

/// Series of one family merged across workers, by rendered label set.
#[derive(Default)]
struct Merged {
    values: BTreeMap<(Family, String), f64>,
    histograms: BTreeMap<(Family, String), Histogram>,
    states: BTreeMap<String, (f64, u64)>,
    /// Gauges where the latest value across workers wins.
    latest: BTreeMap<(Family, String), (f64, u64)>,
}

impl Merged {
    fn add(&mut self, f: Family, l: String, by: f64) {
        *self.values.entry((f, l)).or_insert(0.0) += by;
    }

    fn hist(&mut self, f: Family, l: String, h: &Histogram) {
        if h.counts.iter().any(|c| *c > 0) {
            self.histograms.entry((f, l)).or_default().merge(h);
        }
    }
}

impl Registry {
    /// `enabled`: record settlements (`switchyard_settings.metrics`, on by default).
    pub fn new(enabled: bool) -> Self {
        Self {
            workers: Mutex::default(),
            deployments: Mutex::default(),
            enabled,
        }
    }

    /// The series slot of each of a generation's deployments, new ones added.
    pub fn slots(&self, labels: &[DeploymentLabels]) -> Vec<u32> {
        let mut slots = self
            .deployments
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        labels
            .iter()
            .map(|l| {
                let next = u32::try_from(slots.labels.len()).unwrap_or(NO_DEPLOYMENT);
                let slot = *slots.by_key.entry(l.key()).or_insert(next);
                if slot == next {
                    slots.labels.push(l.clone());
                }
                slot
            })
            .collect()
    }

    /// A new worker's handle, registered for scrapes.
    pub fn worker(&self) -> WorkerMetrics {
        let w = WorkerMetrics {
            series: Arc::default(),
            enabled: self.enabled,
        };
        self.workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(w.clone());
        w
    }

    fn each_worker(&self, mut f: impl FnMut(&Series)) {
        let workers = self
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for w in &workers {
            f(&w.series.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// Requests settled so far, and how many of them failed (the proxy counters' sums).
    pub fn request_totals(&self) -> (u64, u64) {
        let (mut total, mut failed) = (0, 0);
        self.each_worker(|s| {
            for (k, st) in &s.requests {
                total += st.count;
                if k.failure.is_some() {
                    failed += st.count;
                }
            }
        });
        (total, failed)
    }

    /// Fallbacks taken, from the group asked for to the one tried: (from, to, succeeded,
    /// failed), sorted.
    pub fn fallback_totals(&self) -> Vec<(String, String, u64, u64)> {
        let mut by_pair: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        self.each_worker(|s| {
            for (k, n) in &s.fallbacks {
                let pair = (
                    s.names.name(k.requested).to_string(),
                    s.names.name(k.fallback).to_string(),
                );
                let slot = by_pair.entry(pair).or_default();
                if k.succeeded {
                    slot.0 += n;
                } else {
                    slot.1 += n;
                }
            }
        });
        by_pair
            .into_iter()
            .map(|((from, to), (ok, failed))| (from, to, ok, failed))
            .collect()
    }

    /// One worker's series projected onto LiteLLM's label sets.
    fn project(all: &[DeploymentLabels], s: &Series, m: &mut Merged) {
        let n = |id: u32| s.names.name(id);
        let keys = [
            ("api_key_alias", NONE),
            ("end_user", NONE),
            ("hashed_api_key", NONE),
            ("team", NONE),
            ("team_alias", NONE),
        ];
        for (k, st) in &s.requests {
            let d = deployment(all, k.deployment);
            let model_id = d.map_or(NONE, |d| d.model_id.as_str());
            let provider = d.map_or(NONE, |d| d.api_provider.as_str());
            let model = d.map_or(NONE, |d| d.litellm_model_name.as_str());
            let ip = k.ip.map(|ip| ip.to_string()).unwrap_or_default();
            let status = k.status.to_string();
            let client = [("client_ip", ip.as_str()), ("user_agent", n(k.user_agent))];
            let person = [
                ("user", NONE),
                ("user_email", NONE),
                ("org_id", NONE),
                ("org_alias", NONE),
            ];
            let mut proxy: Vec<(&str, &str)> =
                keys.iter().chain(&person).chain(&client).copied().collect();
            proxy.extend([
                ("api_provider", provider),
                ("model_id", model_id),
                ("requested_model", n(k.requested)),
                ("route", n(k.route)),
            ]);
            let count = u64_f(st.count);
            if let Some(class) = k.failure {
                let mut l = proxy.clone();
                l.extend([
                    ("exception_status", status.as_str()),
                    ("exception_class", n(class)),
                ]);
                m.add(Family::ProxyFailed, labels(&mut l), count);
            }
            proxy.push(("status_code", status.as_str()));
            m.add(Family::ProxyTotal, labels(&mut proxy), count);
            if k.failure.is_some() {
                continue;
            }
            let mut latency: Vec<(&str, &str)> = keys
                .iter()
                .chain(person.iter().filter(|(k, _)| *k != "user_email"))
                .copied()
                .collect();
            latency.extend([
                ("api_provider", provider),
                ("model", model),
                ("model_group", n(k.group)),
                ("model_id", model_id),
                ("requested_model", n(k.requested)),
                ("service_tier", NONE),
            ]);
            let latency = labels(&mut latency);
            m.hist(Family::RequestTotalLatency, latency.clone(), &st.total);
            m.hist(Family::LlmApiLatency, latency.clone(), &st.upstream);
            m.hist(Family::TimeToFirstToken, latency, &st.first_token);
            let mut tokens: Vec<(&str, &str)> = keys.iter().chain(&person).copied().collect();
            tokens.extend([
                ("api_provider", provider),
                ("model", model),
                ("model_id", model_id),
                ("requested_model", n(k.requested)),
            ]);
            let tokens = labels(&mut tokens);
            let total = st.prompt_tokens.saturating_add(st.completion_tokens);
            m.add(Family::TotalTokens, tokens.clone(), u64_f(total));
            m.add(Family::InputTokens, tokens.clone(), u64_f(st.prompt_tokens));
            m.add(Family::OutputTokens, tokens, u64_f(st.completion_tokens));
            if k.cache_hit {
                let mut cache: Vec<(&str, &str)> = keys.to_vec();
                cache.extend([
                    ("user", NONE),
                    ("model", n(k.requested)),
                    ("model_id", NONE),
                    ("api_provider", NONE),
                ]);
                m.add(Family::CacheHits, labels(&mut cache), count);
            }
            if let Some(d) = d {
                let mut l = vec![
                    ("model_group", n(k.group)),
                    ("api_provider", provider),
                    ("api_base", d.api_base.as_str()),
                    ("litellm_model_name", model),
                    ("hashed_api_key", NONE),
                    ("api_key_alias", NONE),
                    ("model_id", model_id),
                ];
                m.hist(Family::OverheadLatency, labels(&mut l), &st.overhead);
                let mut l = deployment_labels(d, n(k.group), n(k.requested), &client);
                let l = labels(&mut l);
                m.add(Family::DeploymentSuccess, l.clone(), count);
                m.add(Family::DeploymentTotal, l, count);
            }
        }
        for (k, count) in &s.failed_attempts {
            let Some(d) = deployment(all, k.deployment) else {
                continue;
            };
            let ip = k.ip.map(|ip| ip.to_string()).unwrap_or_default();
            let client = [("client_ip", ip.as_str()), ("user_agent", n(k.user_agent))];
            let mut l = deployment_labels(d, n(k.group), n(k.requested), &client);
            m.add(Family::DeploymentTotal, labels(&mut l), u64_f(*count));
            let status = k.status.to_string();
            l.extend([
                ("exception_status", status.as_str()),
                ("exception_class", n(k.class)),
            ]);
            m.add(Family::DeploymentFailure, labels(&mut l), u64_f(*count));
        }
        for (id, count) in &s.cache_misses {
            let mut cache: Vec<(&str, &str)> = keys.to_vec();
            cache.extend([
                ("user", NONE),
                ("model", n(*id)),
                ("model_id", NONE),
                ("api_provider", NONE),
            ]);
            m.add(Family::CacheMisses, labels(&mut cache), u64_f(*count));
        }
        for ((d, g), (requests, tokens, seq)) in &s.remaining {
            let Some(d) = deployment(all, *d) else {
                continue;
            };
            let l = labels(&mut [
                ("model_group", n(*g)),
                ("api_provider", d.api_provider.as_str()),
                ("api_base", d.api_base.as_str()),
                ("litellm_model_name", d.litellm_model_name.as_str()),
                ("hashed_api_key", NONE),
                ("api_key_alias", NONE),
                ("model_id", d.model_id.as_str()),
            ]);
            for (f, v) in [
                (Family::RemainingRequests, requests),
                (Family::RemainingTokens, tokens),
            ] {
                if let Some(v) = v {
                    let slot = m.latest.entry((f, l.clone())).or_insert((*v, *seq));
                    if *seq >= slot.1 {
                        *slot = (*v, *seq);
                    }
                }
            }
        }
        for (k, count) in &s.fallbacks {
            let status = match k.status {
                0 => NONE.to_string(),
                s => s.to_string(),
            };
            let mut l = vec![
                ("requested_model", n(k.requested)),
                ("fallback_model", n(k.fallback)),
                ("hashed_api_key", NONE),
                ("api_key_alias", NONE),
                ("team", NONE),
                ("team_alias", NONE),
                ("exception_status", status.as_str()),
                ("exception_class", n(k.class)),
                ("model_id", NONE),
            ];
            let f = if k.succeeded {
                Family::SuccessfulFallbacks
            } else {
                Family::FailedFallbacks
            };
            m.add(f, labels(&mut l), u64_f(*count));
        }
        for (id, (value, seq)) in &s.states {
            let Some(d) = deployment(all, *id) else {
                continue;
            };
            let l = labels(&mut [
                ("litellm_model_name", d.litellm_model_name.as_str()),
                ("model_id", d.model_id.as_str()),
                ("api_base", d.api_base.as_str()),
                ("api_provider", d.api_provider.as_str()),
            ]);
            let slot = m.states.entry(l).or_insert((*value, *seq));
            if *seq >= slot.1 {
                *slot = (*value, *seq);
            }
        }
    }

    /// The LiteLLM families in the text format, every worker's series summed; cooldowns and
    /// limits are those of the generation in service (its deployments' labels and gates).
    pub fn render(
        &self,
        current: &[DeploymentLabels],
        gates: &[Arc<Gate>],
        now_ms: u64,
        out: &mut String,
    ) {
        let all = self
            .deployments
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .labels
            .clone();
        let mut merged = Merged::default();
        self.each_worker(|s| Self::project(&all, s, &mut merged));
        for (l, (value, _)) in std::mem::take(&mut merged.states) {
            merged.values.insert((Family::DeploymentState, l), value);
        }
        for (k, (value, _)) in std::mem::take(&mut merged.latest) {
            merged.values.insert(k, value);
        }
        // Cooldowns: LiteLLM labels them with the model group's name; a deployment cooling
        // down now is in complete outage (2), and goes back to its last state after.
        for (d, gate) in current.iter().zip(gates) {
            let state = labels(&mut [
                ("litellm_model_name", d.litellm_model_name.as_str()),
                ("model_id", d.model_id.as_str()),
                ("api_base", d.api_base.as_str()),
                ("api_provider", d.api_provider.as_str()),
            ]);
            if gate.cooling_until(now_ms).is_some() {
                merged.values.insert((Family::DeploymentState, state), 2.0);
            }
            for (class, n) in gate.cooldowns() {
                let status = class.client_status().to_string();
                let l = labels(&mut [
                    ("litellm_model_name", d.model_group.as_str()),
                    ("model_id", d.model_id.as_str()),
                    ("api_base", d.api_base.as_str()),
                    ("api_provider", d.api_provider.as_str()),
                    ("exception_status", status.as_str()),
                ]);
                merged.values.insert((Family::CooledDown, l), u64_f(n));
            }
        }
        // The limits the config gives each deployment.
        for d in current {
            let l = labels(&mut [
                ("model_group", d.model_group.as_str()),
                ("litellm_model_name", d.litellm_model_name.as_str()),
                ("model_id", d.model_id.as_str()),
                ("api_base", d.api_base.as_str()),
                ("api_provider", d.api_provider.as_str()),
            ]);
            if let Some(tpm) = d.tpm {
                merged
                    .values
                    .insert((Family::TpmLimit, l.clone()), u64_f(tpm));
            }
            if let Some(rpm) = d.rpm {
                merged.values.insert((Family::RpmLimit, l), u64_f(rpm));
            }
        }
        for f in Family::ALL {
            let (name, kind, help) = f.spec();
            match kind {
                Kind::Counter | Kind::Gauge => {
                    let (shown, kind) = if kind == Kind::Counter {
                        (format!("{name}_total"), "counter")
                    } else {
                        (name.to_string(), "gauge")
                    };
                    header(out, &shown, kind, help);
                    for ((g, l), v) in &merged.values {
                        if *g == f {
                            sample(out, &shown, l, None, *v);
                        }
                    }
                }
                Kind::Histogram => {
                    header(out, name, "histogram", help);
                    for ((g, l), h) in &merged.histograms {
                        if *g != f {
                            continue;
                        }
                        let bucket = format!("{name}_bucket");
                        let mut cumulative = 0u64;
                        for (i, c) in h.counts.iter().enumerate() {
                            cumulative += c;
                            let le = LATENCY_BUCKETS
                                .get(i)
                                .map_or_else(|| "+Inf".to_string(), |b| exposition::number(*b));
                            sample(out, &bucket, l, Some(("le", &le)), u64_f(cumulative));
                        }
                        sample(out, &format!("{name}_count"), l, None, u64_f(cumulative));
                        sample(out, &format!("{name}_sum"), l, None, h.sum);
                    }
                }
            }
        }
    }
}

fn deployment_labels<'a>(
    d: &'a DeploymentLabels,
    group: &'a str,
    requested: &'a str,
    client: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut l = vec![
        ("api_key_alias", NONE),
        ("hashed_api_key", NONE),
        ("team", NONE),
        ("team_alias", NONE),
    ];
    l.extend(client.iter().copied());
    l.extend([
        ("model_group", group),
        ("requested_model", requested),
        ("litellm_model_name", d.litellm_model_name.as_str()),
        ("model_id", d.model_id.as_str()),
        ("api_base", d.api_base.as_str()),
        ("api_provider", d.api_provider.as_str()),
    ]);
    l
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn labels() -> Vec<DeploymentLabels> {
        vec![DeploymentLabels {
            litellm_model_name: "gpt-4o".into(),
            model_id: "d1".into(),
            api_base: "http://u/v1".into(),
            api_provider: "openai".into(),
            model_group: "g".into(),
            rpm: None,
            tpm: Some(1000),
        }]
    }

    #[test]
    fn remaining_limits_and_state_take_the_latest_value() {
        let r = Registry::new(true);
        let w = r.worker();
        let current = labels();
        let d = r.slots(&current)[0];
        assert_eq!(r.slots(&current), vec![d], "a deployment keeps its slot");
        w.remaining(d, "g", Some(99.0), None);
        w.remaining(d, "g", Some(98.0), Some(5000.0));
        let other = r.worker();
        other.attempt_failed(&FailedAttempt {
            deployment: d,
            provider: "openai",
            requested_model: "g",
            model_group: "g",
            status: 429,
            class: "RateLimitError",
            client_ip: None,
            user_agent: "",
        });
        let mut out = String::new();
        r.render(&current, &[], 0, &mut out);
        assert!(out.contains("litellm_remaining_requests_metric{api_base=\"http://u/v1\",api_key_alias=\"None\",api_provider=\"openai\",hashed_api_key=\"None\",litellm_model_name=\"gpt-4o\",model_group=\"g\",model_id=\"d1\"} 98.0"), "{out}");
        assert!(
            out.contains("litellm_remaining_tokens_metric{") && out.contains("} 5000.0"),
            "{out}"
        );
        assert!(out.contains("litellm_deployment_tpm_limit{api_base=\"http://u/v1\",api_provider=\"openai\",litellm_model_name=\"gpt-4o\",model_group=\"g\",model_id=\"d1\"} 1000.0"), "{out}");
        assert!(out.contains("litellm_deployment_state{api_base=\"http://u/v1\",api_provider=\"openai\",litellm_model_name=\"gpt-4o\",model_id=\"d1\"} 1.0"), "{out}");
        assert!(
            out.contains("exception_class=\"Openai.RateLimitError\""),
            "{out}"
        );
        assert!(!out.contains("litellm_deployment_rpm_limit{"), "{out}");
    }
}
