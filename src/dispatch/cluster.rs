//! The shared router state's part of a request: the cluster-wide rpm count before the call,
//! the tokens after it.

use switchyard_actors::clock::local_end_of_unix_minute;
use switchyard_actors::DeploymentIdx;

use crate::generation::Generation;
use crate::settings::Deployment;
use crate::state::Worker;

/// With shared state, counts the request in the deployment's cluster-wide rpm window; false
/// (and the deployment refused here until the minute ends) when the cluster spent it.
pub async fn within_rpm(gen: &Generation, worker: &Worker, deployment: DeploymentIdx) -> bool {
    let d = gen.config.deployment(deployment);
    let (Some(ws), Some(rpm)) = (&worker.shared, d.spec.rpm) else {
        return true;
    };
    match ws.count_request(&d.id).await {
        Some(n) if n > rpm => {
            if let Some(gate) = gen.gate(deployment) {
                gate.block_rpm_until(local_end_of_unix_minute());
            }
            tracing::info!(deployment = %d.id, rpm, "cluster-wide rpm limit reached for this minute");
            false
        }
        _ => true,
    }
}

/// Where a stream's token count goes when it ends: the cluster-wide tpm window.
pub fn tokens_sink(worker: &Worker, d: &Deployment) -> Option<Box<dyn FnOnce(u64)>> {
    let ws = worker.shared.clone()?;
    d.spec.tpm?;
    let id = d.id.clone();
    Some(Box::new(move |tokens| ws.add_tokens(&id, tokens)))
}
