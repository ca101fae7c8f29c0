//! What every handler shares, built once at start-up.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix::Addr;
use switchyard_actors::gate::Gate;
use switchyard_actors::supervisor::Supervisor;

use crate::cache::{SharedCache, WorkerCache};
use crate::settings::GatewayConfig;
use crate::shared_state::{SharedState, WorkerShared};

pub struct AppState {
    pub config: Arc<GatewayConfig>,
    /// Each deployment's published state, read for readiness reports.
    pub gates: Vec<Arc<Gate>>,
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
    /// When the gateway started, for the status page's uptime.
    pub started: std::time::Instant,
    /// Request bodies held at once, under `switchyard_settings.max_buffered_request_mb`.
    pub body_budget: Arc<crate::http::body::BodyBudget>,
}

/// What one worker thread owns: its upstream client (connection pool) and its supervisor.
pub struct Worker {
    pub client: awc::Client,
    /// For URLs a client named (images Gemini cannot fetch): public addresses only.
    pub images: awc::Client,
    pub supervisor: Addr<Supervisor>,
    pub cache: Option<WorkerCache>,
    /// This worker's connection for cluster-wide rpm/tpm counts.
    pub shared: Option<WorkerShared>,
    /// This worker's series of the metrics.
    pub metrics: crate::metrics::WorkerMetrics,
    /// Bridged Responses API answers, for `previous_response_id`, GET and DELETE.
    pub responses: crate::inbound::responses::store::ResponseStore,
}
