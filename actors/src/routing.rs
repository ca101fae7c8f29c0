//! Routing strategies: which deployment of a group takes the next attempt.

use crate::gate::Gate;
use crate::spec::{DeploymentSpec, Strategy};

/// A deployment that may take the attempt.
pub struct Candidate<'a> {
    pub spec: &'a DeploymentSpec,
    pub gate: &'a Gate,
}

/// LiteLLM's cost default when a deployment names no price.
const DEFAULT_COST_PER_TOKEN: f64 = 5.0;

/// Index into `candidates` of the deployment to try; `candidates` must not be empty.
pub fn pick(
    strategy: Strategy,
    candidates: &[Candidate],
    now_ms: u64,
    latency_buffer: f64,
) -> usize {
    debug_assert!(!candidates.is_empty());
    if candidates.len() == 1 {
        return 0;
    }
    match strategy {
        Strategy::SimpleShuffle => weighted_shuffle(candidates),
        Strategy::LeastBusy => min_by_key_first(candidates, |c| c.gate.in_flight() as f64),
        Strategy::UsageBased => min_random_tie(
            candidates,
            |c| c.gate.tokens_this_minute(now_ms) as f64,
            0.0,
        ),
        Strategy::LatencyBased => {
            min_random_tie(candidates, |c| c.gate.latency_us() as f64, latency_buffer)
        }
        Strategy::CostBased => min_random_tie(
            candidates,
            |c| {
                c.spec
                    .input_cost_per_token
                    .unwrap_or(DEFAULT_COST_PER_TOKEN)
                    + c.spec
                        .output_cost_per_token
                        .unwrap_or(DEFAULT_COST_PER_TOKEN)
            },
            0.0,
        ),
    }
}

/// simple-shuffle: weights from `weight`, else `rpm`, else `tpm`, else uniform. Unlike LiteLLM, a
/// deployment missing the field is not starved: it gets weight 1 (for `weight`) or the largest
/// sibling's value (for rpm/tpm, where "no limit" means "at least as much capacity").
fn weighted_shuffle(candidates: &[Candidate]) -> usize {
    match shuffle_weights(candidates.iter().map(|c| c.spec)) {
        Some(weights) => draw(&weights).unwrap_or(0),
        None => fastrand::usize(..candidates.len().max(1)),
    }
}

/// The simple-shuffle weights of these deployments, in order; `None` when the draw is uniform.
pub fn shuffle_weights<'a>(
    specs: impl Iterator<Item = &'a DeploymentSpec> + Clone,
) -> Option<Vec<f64>> {
    let weights: Vec<f64> = if specs.clone().any(|s| s.weight.is_some()) {
        specs.map(|s| s.weight.unwrap_or(1.0).max(0.0)).collect()
    } else if let Some(w) = capacity_weights(specs.clone(), |s| s.rpm) {
        w
    } else {
        capacity_weights(specs, |s| s.tpm)?
    };
    let total: f64 = weights.iter().sum();
    (total > 0.0).then_some(weights)
}

/// A weighted draw: the index of the chosen weight (`None` when they sum to nothing).
pub fn draw(weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mut point = fastrand::f64() * total;
    for (i, w) in weights.iter().enumerate() {
        if point < *w {
            return Some(i);
        }
        point -= w;
    }
    Some(weights.len().saturating_sub(1))
}

fn capacity_weights<'a>(
    specs: impl Iterator<Item = &'a DeploymentSpec> + Clone,
    field: fn(&DeploymentSpec) -> Option<u64>,
) -> Option<Vec<f64>> {
    let max = specs.clone().filter_map(field).max()?;
    Some(specs.map(|s| field(s).unwrap_or(max) as f64).collect())
}

fn min_by_key_first(candidates: &[Candidate], key: impl Fn(&Candidate) -> f64) -> usize {
    let mut best = (0, f64::INFINITY);
    for (i, c) in candidates.iter().enumerate() {
        let k = key(c);
        if i == 0 || k < best.1 {
            best = (i, k);
        }
    }
    best.0
}

/// The lowest key, ties (within `buffer` of the lowest, relatively) broken at random.
fn min_random_tie(candidates: &[Candidate], key: impl Fn(&Candidate) -> f64, buffer: f64) -> usize {
    let keys: Vec<f64> = candidates.iter().map(&key).collect();
    let lowest = keys.iter().cloned().fold(f64::INFINITY, f64::min);
    let limit = lowest * (1.0 + buffer.max(0.0));
    let near: Vec<usize> = keys
        .iter()
        .enumerate()
        .filter(|(_, k)| **k <= limit)
        .map(|(i, _)| i)
        .collect();
    fastrand::choice(near).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(weight: Option<f64>, rpm: Option<u64>) -> DeploymentSpec {
        DeploymentSpec {
            weight,
            rpm,
            ..DeploymentSpec::default()
        }
    }

    fn count_picks(specs: &[DeploymentSpec], n: usize) -> Vec<usize> {
        let gates: Vec<Gate> = specs.iter().map(|_| Gate::new(None, None, 0)).collect();
        let cands: Vec<Candidate> = specs
            .iter()
            .zip(&gates)
            .map(|(spec, gate)| Candidate { spec, gate })
            .collect();
        let mut counts = vec![0; specs.len()];
        for _ in 0..n {
            counts[pick(Strategy::SimpleShuffle, &cands, 1, 0.0)] += 1;
        }
        counts
    }

    #[test]
    fn weights_three_to_one() {
        let c = count_picks(&[spec(Some(3.0), None), spec(Some(1.0), None)], 4000);
        assert!(c[0] > 2700 && c[0] < 3300, "{c:?}");
    }

    #[test]
    fn missing_weight_counts_as_one() {
        let c = count_picks(&[spec(Some(1.0), None), spec(None, None)], 4000);
        assert!(c[1] > 1700, "{c:?}");
    }

    #[test]
    fn rpm_is_a_weight_when_no_weight_is_set() {
        let c = count_picks(&[spec(None, Some(900)), spec(None, Some(100))], 4000);
        assert!(c[0] > 3400, "{c:?}");
    }
}
