//! Config generations. A config (the file, and later the deployments added over the API) is
//! validated into a `Generation`: the typed config, the router's plan, and every deployment's
//! gate and actor. A reload builds the next generation and swaps it in at once; a request keeps
//! the generation it was prepared under until it ends (streams too). A deployment whose id is
//! still there keeps its actor and gate, so its cooldown, failure counts, rate-limit windows and
//! latency statistics carry over; one that left is dropped once its last request ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use actix::{Actor, Addr, Arbiter, ArbiterHandle};
use switchyard_actors::accrual::AccrualSettings;
use switchyard_actors::deployment::{DeploymentActor, NewSettings};
use switchyard_actors::gate::Gate;
use switchyard_actors::plan::Planner;
use switchyard_actors::DeploymentIdx;

use crate::metrics::DeploymentLabels;
use crate::settings::{Deployment, GatewayConfig};
use crate::shared_state::sync::{Track, Tracked};
use crate::shared_state::SharedState;

/// One config, ready to serve.
pub struct Generation {
    /// 1 for the config read at start, then one more per reload.
    pub number: u64,
    /// When it was loaded (Unix seconds).
    pub loaded_at: f64,
    pub config: Arc<GatewayConfig>,
    pub planner: Arc<Planner>,
    /// Each deployment's gate and actor, by `DeploymentIdx`.
    pub gates: Arc<[Arc<Gate>]>,
    pub actors: Arc<[Addr<DeploymentActor>]>,
    /// Each deployment's metrics labels and its series slot in the registry (stable across
    /// generations), by `DeploymentIdx`.
    pub labels: Arc<[DeploymentLabels]>,
    pub slots: Arc<[u32]>,
}

impl Generation {
    pub fn labels(&self, d: DeploymentIdx) -> Option<&DeploymentLabels> {
        self.labels.get(usize::try_from(d.0).ok()?)
    }

    pub fn slot(&self, d: DeploymentIdx) -> Option<u32> {
        self.slots.get(usize::try_from(d.0).ok()?).copied()
    }

    pub fn gate(&self, d: DeploymentIdx) -> Option<&Arc<Gate>> {
        self.gates.get(usize::try_from(d.0).ok()?)
    }
}

#[cfg(test)]
impl Generation {
    /// A config alone, without deployment actors (for tests that only prepare requests).
    pub fn bare(config: GatewayConfig) -> Arc<Self> {
        let planner = Planner::new(config.router.clone(), config.groups.clone(), Vec::new());
        Arc::new(Self {
            number: 1,
            loaded_at: 0.0,
            config: Arc::new(config),
            planner: Arc::new(planner),
            gates: Vec::new().into(),
            actors: Vec::new().into(),
            labels: Vec::new().into(),
            slots: Vec::new().into(),
        })
    }
}

/// What makes a gate: a deployment whose limits changed gets a new one.
type GateParams = (Option<u64>, Option<u64>, u32);

struct Kept {
    params: GateParams,
    settings: AccrualSettings,
    gate: Arc<Gate>,
    actor: Addr<DeploymentActor>,
}

/// The generation in service, and what the next one may keep.
pub struct Generations {
    current: RwLock<Arc<Generation>>,
    /// The deployments of the generation in service, by id (taken only by a reload).
    kept: Mutex<HashMap<String, Kept>>,
    arbiter: ArbiterHandle,
    shared: Option<Arc<SharedState>>,
    metrics: Arc<crate::metrics::Registry>,
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn accrual_settings(cfg: &GatewayConfig, d: &Deployment) -> AccrualSettings {
    let router = &cfg.router;
    let spec = &d.spec;
    let single = spec
        .group
        .of(&cfg.groups)
        .is_some_and(|g| g.deployments.len() == 1);
    AccrualSettings {
        disable_cooldowns: router.disable_cooldowns,
        deployment_cooldown: spec.cooldown_time,
        router_cooldown: router.cooldown_time,
        allowed_fails: spec.allowed_fails.or(router.allowed_fails),
        router_policy: router.allowed_fails_policy.clone(),
        deployment_policy: spec.allowed_fails_policy.clone(),
        single,
        lone: single && !router.fallbacks.has_entry(spec.group),
    }
}

impl Generations {
    /// The first generation; the deployment actors run on one arbiter of their own (they only
    /// see failures).
    pub fn start(
        cfg: GatewayConfig,
        shared: Option<Arc<SharedState>>,
        metrics: Arc<crate::metrics::Registry>,
    ) -> Self {
        let arbiter = Arbiter::new().handle();
        let mut kept = HashMap::new();
        let first = Arc::new(build(
            cfg,
            1,
            &mut kept,
            &arbiter,
            shared.as_deref(),
            &metrics,
        ));
        Self {
            current: RwLock::new(first),
            kept: Mutex::new(kept),
            arbiter,
            shared,
            metrics,
        }
    }

    pub fn current(&self) -> Arc<Generation> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts a validated config in service; requests already prepared keep theirs.
    pub fn install(&self, cfg: GatewayConfig) -> Arc<Generation> {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        // `kept` is held: no other install runs, so the number is the next one.
        let number = self.current().number + 1;
        let next = Arc::new(build(
            cfg,
            number,
            &mut kept,
            &self.arbiter,
            self.shared.as_deref(),
            &self.metrics,
        ));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = next.clone();
        next
    }
}

/// The generation for `cfg`: deployments in `kept` with the same id and gate are reused, the
/// others started; `kept` is left holding exactly this generation's deployments.
fn build(
    cfg: GatewayConfig,
    number: u64,
    kept: &mut HashMap<String, Kept>,
    arbiter: &ArbiterHandle,
    shared: Option<&SharedState>,
    metrics: &crate::metrics::Registry,
) -> Generation {
    let router = &cfg.router;
    let mut previous = std::mem::take(kept);
    let mut gates = Vec::with_capacity(cfg.deployments.len());
    let mut actors = Vec::with_capacity(cfg.deployments.len());
    for d in &cfg.deployments {
        let spec = &d.spec;
        let params = (
            spec.rpm,
            spec.tpm,
            spec.max_in_flight(router.default_max_parallel_requests),
        );
        let settings = accrual_settings(&cfg, d);
        let entry = match previous.remove(&d.id) {
            Some(k) if k.params == params => {
                if k.settings != settings {
                    k.actor.do_send(NewSettings(settings.clone()));
                }
                Kept { settings, ..k }
            }
            _ => {
                let gate = Arc::new(Gate::new(params.0, params.1, params.2));
                let (id, actor_gate, s) = (d.id.clone(), gate.clone(), settings.clone());
                let publisher = shared.map(SharedState::publisher);
                let actor = DeploymentActor::start_in_arbiter(arbiter, move |_| {
                    DeploymentActor::new(id, actor_gate, s, publisher)
                });
                Kept {
                    params,
                    settings,
                    gate,
                    actor,
                }
            }
        };
        gates.push(entry.gate.clone());
        actors.push(entry.actor.clone());
        // Two deployments with one id: the first keeps the state (the config check warns).
        kept.entry(d.id.clone()).or_insert(entry);
    }
    if let Some(s) = shared {
        let tracked = cfg
            .deployments
            .iter()
            .zip(&actors)
            .map(|(d, a)| Tracked {
                id: d.id.clone(),
                actor: a.clone(),
                tpm: d.spec.tpm.is_some(),
            })
            .collect();
        s.sync.do_send(Track(tracked));
    }
    let planner = Planner::new(
        router.clone(),
        cfg.groups.clone(),
        cfg.deployments.iter().map(|d| d.spec.clone()).collect(),
    );
    let labels: Vec<DeploymentLabels> = cfg.deployments.iter().map(DeploymentLabels::of).collect();
    let slots = metrics.slots(&labels);
    Generation {
        number,
        loaded_at: unix_now(),
        config: Arc::new(cfg),
        planner: Arc::new(planner),
        gates: gates.into(),
        actors: actors.into(),
        labels: labels.into(),
        slots: slots.into(),
    }
}
