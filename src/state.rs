//! What every handler shares, built once at start-up.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix::Addr;
use switchyard_actors::gate::Gate;
use switchyard_actors::supervisor::Supervisor;

use crate::settings::GatewayConfig;

pub struct AppState {
    pub config: Arc<GatewayConfig>,
    pub supervisor: Addr<Supervisor>,
    /// Each deployment's published state, read for readiness reports.
    pub gates: Vec<Arc<Gate>>,
    /// Set on SIGTERM: readiness turns 503 while in-flight requests finish.
    pub draining: Arc<AtomicBool>,
    /// Names this instance in `x-switchyard-instance`, so clients see which one answered.
    pub instance_id: String,
}
