//! The deployment actor: one per `model_list` entry. It owns the failure accrual and the
//! published gate (cooldown deadline, usage, latency) and decides cooldowns from outcomes.
//! It never performs I/O for a request.

use std::sync::Arc;

use actix::prelude::*;

use crate::accrual::{AccrualSettings, FailureAccrual, FailureFacts};
use crate::gate::Gate;

pub struct DeploymentActor {
    id: String,
    gate: Arc<Gate>,
    accrual: FailureAccrual,
}

impl DeploymentActor {
    pub fn new(id: String, gate: Arc<Gate>, settings: AccrualSettings) -> Self {
        Self {
            id,
            gate,
            accrual: FailureAccrual::new(settings),
        }
    }
}

impl Actor for DeploymentActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Outcomes arrive from every worker at once; never make a handler wait for room.
        ctx.set_mailbox_capacity(crate::MAILBOX_CAPACITY);
    }
}

/// A failed attempt; answers with the cooldown deadline when the deployment is now cooling down.
#[derive(Message)]
#[rtype(result = "Option<u64>")]
pub struct RecordFailure {
    pub facts: FailureFacts,
    pub now_ms: u64,
}

/// A successful attempt.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RecordSuccess {
    pub now_ms: u64,
    pub latency_us: u64,
    pub total_tokens: u64,
}

impl Handler<RecordFailure> for DeploymentActor {
    type Result = Option<u64>;

    fn handle(&mut self, msg: RecordFailure, _: &mut Self::Context) -> Option<u64> {
        if let Some(ms) = self.accrual.on_failure(msg.now_ms, msg.facts) {
            self.gate.set_cooldown_until(msg.now_ms + ms);
            tracing::warn!(
                deployment = %self.id,
                error = msg.facts.class.name(),
                cooldown_s = ms as f64 / 1000.0,
                "deployment cooling down"
            );
        }
        self.gate.cooling_until(msg.now_ms)
    }
}

impl Handler<RecordSuccess> for DeploymentActor {
    type Result = ();

    fn handle(&mut self, msg: RecordSuccess, _: &mut Self::Context) {
        self.accrual.on_success(msg.now_ms);
        self.gate.record_latency(msg.latency_us);
        if msg.total_tokens > 0 {
            self.gate.add_tokens(msg.now_ms, msg.total_tokens);
        }
    }
}
