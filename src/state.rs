//! What every handler shares, built once at start-up.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use std::cell::RefCell;

use actix::{Actor, Addr};
use switchyard_actors::supervisor::Supervisor;

use crate::cache::{SharedCache, WorkerCache};
use crate::generation::{Generation, Generations};
use crate::shared_state::{SharedState, WorkerShared};

pub struct AppState {
    /// The config in service and its deployments (a reload swaps it; a request keeps the one
    /// it was prepared under).
    pub generations: Generations,
    /// Set on SIGTERM: readiness turns 503 while in-flight requests finish.
    pub draining: Arc<AtomicBool>,
    /// Names this instance in `x-switchyard-instance`, so clients see which one answered.
    pub instance_id: String,
    pub cache: Option<Arc<SharedCache>>,
    pub shared_state: Option<Arc<SharedState>>,
    /// Turns true when the grace period after SIGTERM is over: open streams end with an
    /// error event.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Every worker's metrics, for `/metrics`.
    pub metrics: Arc<crate::metrics::Registry>,
    /// The config file and the deployments added over the API, that a generation is built
    /// from.
    pub sources: crate::config_sources::ConfigSources,
    /// When the gateway started, for the status page's uptime.
    pub started: std::time::Instant,
    /// Request bodies held at once, under `switchyard_settings.max_buffered_request_mb`.
    pub body_budget: Arc<crate::http::body::BodyBudget>,
}

impl AppState {
    /// The generation in service.
    pub fn current(&self) -> Arc<Generation> {
        self.generations.current()
    }
}

/// What one worker thread owns: its upstream client (connection pool) and its supervisor.
pub struct Worker {
    pub client: awc::Client,
    /// For URLs a client named (images Gemini cannot fetch): public addresses only.
    pub images: awc::Client,
    /// This worker's supervisor for the newest generation it has seen.
    pub supervisor: RefCell<Option<(u64, Addr<Supervisor>)>>,
    pub cache: Option<WorkerCache>,
    /// This worker's connection for cluster-wide rpm/tpm counts.
    pub shared: Option<WorkerShared>,
    /// This worker's series of the metrics.
    pub metrics: crate::metrics::WorkerMetrics,
    /// Bridged Responses API answers, for `previous_response_id`, GET and DELETE.
    pub responses: crate::inbound::responses::store::ResponseStore,
}

impl Worker {
    /// The supervisor that routes with `gen`'s plan, started on this worker's thread the first
    /// time the worker sees the generation (a request prepared under an older one, rare, gets
    /// one of its own).
    pub fn supervisor(&self, gen: &Generation) -> Addr<Supervisor> {
        let start =
            || Supervisor::new(gen.planner.clone(), gen.gates.clone(), gen.actors.clone()).start();
        let mut slot = self.supervisor.borrow_mut();
        match &*slot {
            Some((n, addr)) if *n == gen.number => addr.clone(),
            Some((n, _)) if *n > gen.number => start(),
            _ => {
                let addr = start();
                *slot = Some((gen.number, addr.clone()));
                addr
            }
        }
    }
}
