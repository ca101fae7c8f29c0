//! The deployment actor: one per `model_list` entry. It owns the failure accrual and the
//! published gate, and alone decides cooldowns, from the failures reported to it and the
//! success counters on its gate. It never performs I/O for a request.

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

impl Handler<RecordFailure> for DeploymentActor {
    type Result = Option<u64>;

    fn handle(&mut self, msg: RecordFailure, _: &mut Self::Context) -> Option<u64> {
        let successes = self.gate.successes_this_minute(msg.now_ms);
        if let Some(ms) = self.accrual.on_failure(msg.now_ms, msg.facts, successes) {
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
