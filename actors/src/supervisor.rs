//! The supervisor actor: routes each attempt, and decides retries and fallbacks, by messaging
//! the deployment actors. It keeps no per-request state (a request's progress travels in its
//! messages) and reads the deployments' published gates, so the gateway runs one supervisor per
//! worker thread: routing is a same-thread message, never a queue shared by every core. The
//! deployment actors stay singletons and alone decide cooldowns.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::accrual::FailureFacts;
use crate::class::ErrorClass;
use crate::clock::now_ms;
use crate::deployment::{DeploymentActor, RecordFailure};
use crate::gate::{Admission, Gate};
use crate::plan::{AttemptError, AttemptFailure, Decision, FinalError, Planner, RequestProgress};
use crate::spec::DeploymentIdx;

pub struct Supervisor {
    planner: Arc<Planner>,
    gates: Arc<[Arc<Gate>]>,
    deployments: Arc<[Addr<DeploymentActor>]>,
}

impl Supervisor {
    pub fn new(
        planner: Arc<Planner>,
        gates: Arc<[Arc<Gate>]>,
        deployments: Arc<[Addr<DeploymentActor>]>,
    ) -> Self {
        Self {
            planner,
            gates,
            deployments,
        }
    }

    fn step(&self, mut progress: RequestProgress, failure: Option<AttemptFailure>) -> Step {
        match self
            .planner
            .decide(&mut progress, failure, &self.gates, now_ms())
        {
            Decision::Call {
                deployment,
                admission,
            } => match deployment.of(&self.deployments) {
                Some(reporter) => Step::Call(Grant {
                    progress,
                    deployment,
                    admission,
                    reporter: reporter.clone(),
                }),
                None => Step::GiveUp(FinalError {
                    error: AttemptError::new(
                        ErrorClass::InternalServer,
                        500,
                        "InternalServerError: the router named a deployment it does not have",
                    ),
                    fallback_errors: Vec::new(),
                }),
            },
            Decision::Wait(delay) => Step::Wait { progress, delay },
            Decision::GiveUp(error) => Step::GiveUp(error),
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(crate::MAILBOX_CAPACITY);
    }
}

/// Permission to call one deployment, with the request's progress to hand back on failure.
pub struct Grant {
    pub progress: RequestProgress,
    pub deployment: DeploymentIdx,
    pub admission: Admission,
    /// Where a failure after the first streamed byte is reported (earlier failures go back
    /// through the supervisor; successes are recorded on the admission).
    pub reporter: Addr<DeploymentActor>,
}

pub enum Step {
    Call(Grant),
    /// Back off, then ask again with no failure.
    Wait {
        progress: RequestProgress,
        delay: Duration,
    },
    GiveUp(FinalError),
}

/// Asks for the next attempt of a request, reporting the failure of the previous one.
#[derive(Message)]
#[rtype(result = "Step")]
pub struct NextStep {
    pub progress: RequestProgress,
    pub failure: Option<AttemptFailure>,
}

impl Handler<NextStep> for Supervisor {
    type Result = ResponseActFuture<Self, Step>;

    fn handle(&mut self, msg: NextStep, _: &mut Self::Context) -> Self::Result {
        let NextStep { progress, failure } = msg;
        let Some(failure) = failure else {
            return Box::pin(fut::ready(self.step(progress, None)));
        };
        // The deployment decides its cooldown first, so the next pick sees it.
        let record = RecordFailure {
            facts: FailureFacts {
                class: failure.error.class,
                retry_after: failure.error.retry_after,
                client_timeout: progress.overrides().client_timeout,
            },
            now_ms: now_ms(),
        };
        let Some(deployment) = failure.deployment.of(&self.deployments).cloned() else {
            return Box::pin(fut::ready(self.step(progress, Some(failure))));
        };
        Box::pin(
            async move { deployment.send(record).await.ok().flatten() }
                .into_actor(self)
                .map(move |_, act, _| act.step(progress, Some(failure))),
        )
    }
}
