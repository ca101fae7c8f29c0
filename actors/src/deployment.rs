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
    /// Where cooldowns it decides are published for the other instances (shared state).
    publisher: Option<Recipient<CooldownDecided>>,
}

impl DeploymentActor {
    pub fn new(
        id: String,
        gate: Arc<Gate>,
        settings: AccrualSettings,
        publisher: Option<Recipient<CooldownDecided>>,
    ) -> Self {
        Self {
            id,
            gate,
            accrual: FailureAccrual::new(settings),
            publisher,
        }
    }
}

/// A cooldown this instance decided, for the other instances to apply.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct CooldownDecided {
    pub deployment_id: String,
    pub until_ms: u64,
}

/// What the shared state says of this deployment: a cooldown another instance decided, and
/// the tokens every instance used in the current shared minute (with when, on this process's
/// clock, that minute ends). Times are already on this process's clock.
#[derive(Message, Clone, Copy, Debug, Default)]
#[rtype(result = "()")]
pub struct ClusterState {
    pub cooldown_until_ms: Option<u64>,
    pub tokens: Option<(u64, u64)>,
    pub now_ms: u64,
}

impl Handler<ClusterState> for DeploymentActor {
    type Result = ();

    fn handle(&mut self, msg: ClusterState, _: &mut Self::Context) {
        if let Some(until) = msg.cooldown_until_ms {
            let known = self.gate.cooling_until(msg.now_ms).unwrap_or(0);
            if until > msg.now_ms && until > known + 1000 {
                self.gate.set_cooldown_until(until);
                self.gate.cooled_down_elsewhere();
                tracing::warn!(
                    deployment = %self.id,
                    cooldown_s = (until - msg.now_ms) as f64 / 1000.0,
                    "deployment cooling down (decided by another instance)"
                );
            }
        }
        if let Some((until_ms, used)) = msg.tokens {
            self.gate.set_cluster_tokens(until_ms, used);
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

/// A reloaded config kept this deployment (same id): its new accrual settings.
#[derive(Message)]
#[rtype(result = "()")]
pub struct NewSettings(pub AccrualSettings);

impl Handler<NewSettings> for DeploymentActor {
    type Result = ();

    fn handle(&mut self, msg: NewSettings, _: &mut Self::Context) {
        self.accrual.set_settings(msg.0);
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
        self.gate.count_failure(msg.now_ms, msg.facts.class);
        let successes = self.gate.successes_this_minute(msg.now_ms);
        if let Some(ms) = self.accrual.on_failure(msg.now_ms, msg.facts, successes) {
            self.gate.set_cooldown_until(msg.now_ms + ms);
            self.gate.count_cooldown(msg.facts.class);
            if let Some(p) = &self.publisher {
                p.do_send(CooldownDecided {
                    deployment_id: self.id.clone(),
                    until_ms: msg.now_ms + ms,
                });
            }
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
