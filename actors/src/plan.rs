//! The retry and fallback planner: given a request's progress and its last failure, what next?
//! LiteLLM's router semantics (reference sections 2-5), with its surprises fixed: a retry never
//! returns to a deployment that just failed while another is healthy, and there is no sleep
//! after the last attempt.

use std::sync::Arc;
use std::time::Duration;

use crate::class::ErrorClass;
use crate::gate::{Admission, Gate, Refusal};
use crate::quick_pick::QuickPicks;
use crate::routing::{pick, Candidate};
use crate::seconds::Seconds;
use crate::spec::{DeploymentIdx, DeploymentSpec, FallbackTable, GroupIdx, GroupSpec, RouterSpec};

/// A failed attempt as the client would see it.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptError {
    pub class: ErrorClass,
    pub status: u16,
    pub message: String,
    /// From the upstream's `Retry-After` (clamped) or our own limiter.
    pub retry_after: Option<Seconds>,
    /// Overrides the class's `error.type` (e.g. `all_deployments_in_cooldown`).
    pub error_type: Option<&'static str>,
}

impl AttemptError {
    pub fn new(class: ErrorClass, status: u16, message: impl Into<String>) -> Self {
        Self {
            class,
            status,
            message: message.into(),
            retry_after: None,
            error_type: None,
        }
    }
}

/// Per-request settings sent by the client (body fields or `x-litellm-*` headers).
#[derive(Clone, Debug, Default)]
pub struct RequestOverrides {
    pub num_retries: Option<u32>,
    pub disable_fallbacks: bool,
    pub fallbacks: Option<Vec<GroupIdx>>,
    pub context_window_fallbacks: Option<Vec<GroupIdx>>,
    pub content_policy_fallbacks: Option<Vec<GroupIdx>>,
    /// The client set its own timeout: its expiry is not the deployment's fault.
    pub client_timeout: bool,
}

/// Where one request stands: travels with the request, by value, between handler and supervisor.
#[derive(Clone, Debug)]
pub struct RequestProgress {
    requested: GroupIdx,
    group: GroupIdx,
    overrides: RequestOverrides,
    retries_in_group: u32,
    fallback_depth: u32,
    min_order: i64,
    current_order: i64,
    failed_in_group: Vec<DeploymentIdx>,
    attempted_groups: Vec<GroupIdx>,
    pending: Vec<(GroupIdx, u32)>,
    last_error: Option<AttemptError>,
    first_error: Option<AttemptError>,
    fallback_errors: Vec<(GroupIdx, AttemptError)>,
}

impl RequestProgress {
    pub fn new(group: GroupIdx, overrides: RequestOverrides) -> Self {
        Self {
            requested: group,
            group,
            overrides,
            retries_in_group: 0,
            fallback_depth: 0,
            min_order: i64::MIN,
            current_order: i64::MIN,
            failed_in_group: Vec::new(),
            attempted_groups: vec![group],
            pending: Vec::new(),
            last_error: None,
            first_error: None,
            fallback_errors: Vec::new(),
        }
    }

    /// The group the next (or current) attempt belongs to.
    pub fn group(&self) -> GroupIdx {
        self.group
    }

    /// Retries spent in the current group (`x-litellm-attempted-retries`).
    pub fn retries(&self) -> u32 {
        self.retries_in_group
    }

    /// Fallback hops taken (`x-litellm-attempted-fallbacks`).
    pub fn fallbacks(&self) -> u32 {
        self.fallback_depth
    }

    pub fn overrides(&self) -> &RequestOverrides {
        &self.overrides
    }
}

/// A failed attempt reported back to the planner.
#[derive(Clone, Debug)]
pub struct AttemptFailure {
    pub deployment: DeploymentIdx,
    pub error: AttemptError,
}

/// The request's final error: the requested group's error, plus what each fallback hop met.
#[derive(Clone, Debug)]
pub struct FinalError {
    pub error: AttemptError,
    pub fallback_errors: Vec<(GroupIdx, AttemptError)>,
}

pub enum Decision {
    Call {
        deployment: DeploymentIdx,
        admission: Admission,
    },
    Wait(Duration),
    GiveUp(FinalError),
}

pub struct Planner {
    router: RouterSpec,
    groups: Vec<GroupSpec>,
    deployments: Vec<DeploymentSpec>,
    quick: QuickPicks,
}

fn order_key(spec: &DeploymentSpec) -> i64 {
    // LiteLLM drops deployments without `order` while any sibling has one: they sort last.
    spec.order.unwrap_or(i64::MAX)
}

impl Planner {
    pub fn new(
        router: RouterSpec,
        groups: Vec<GroupSpec>,
        deployments: Vec<DeploymentSpec>,
    ) -> Self {
        let quick = QuickPicks::new(router.strategy, &groups, &deployments, order_key);
        Self {
            router,
            groups,
            deployments,
            quick,
        }
    }

    // Indices are made by the config loader from these same tables, which never change
    // afterwards: an index out of range would be a loader bug, not an input.
    #[allow(clippy::indexing_slicing)]
    fn spec(&self, d: DeploymentIdx) -> &DeploymentSpec {
        &self.deployments[d.0 as usize]
    }

    #[allow(clippy::indexing_slicing)]
    fn group(&self, g: GroupIdx) -> &GroupSpec {
        &self.groups[g.0 as usize]
    }

    fn healthy(
        &self,
        g: GroupIdx,
        gates: &[Arc<Gate>],
        now_ms: u64,
    ) -> impl Iterator<Item = DeploymentIdx> + '_ {
        let gates: Vec<bool> = self
            .group(g)
            .deployments
            .iter()
            .map(|d| {
                d.of(gates)
                    .is_some_and(|g| g.cooling_until(now_ms).is_none())
            })
            .collect();
        self.group(g)
            .deployments
            .iter()
            .zip(gates)
            .filter_map(|(d, ok)| ok.then_some(*d))
    }

    /// What to do next for a request, after `failure` (if any) was recorded by its deployment.
    pub fn decide(
        &self,
        p: &mut RequestProgress,
        failure: Option<AttemptFailure>,
        gates: &[Arc<Gate>],
        now_ms: u64,
    ) -> Decision {
        if let Some(f) = failure {
            let class = f.error.class;
            let retry_after = f.error.retry_after;
            p.failed_in_group.push(f.deployment);
            p.last_error = Some(f.error);
            if self.should_retry(p, f.deployment, class, gates, now_ms) {
                p.retries_in_group += 1;
                let delay = self.backoff(p, retry_after, gates, now_ms);
                if !delay.is_zero() {
                    return Decision::Wait(delay);
                }
            } else if !self.advance(p, class, gates, now_ms) {
                return Decision::GiveUp(Self::final_error(p));
            }
        }
        loop {
            match self.admit(p, gates, now_ms) {
                Ok((deployment, admission)) => {
                    return Decision::Call {
                        deployment,
                        admission,
                    }
                }
                Err(error) => {
                    let class = error.class;
                    p.last_error = Some(error);
                    if !self.advance(p, class, gates, now_ms) {
                        return Decision::GiveUp(Self::final_error(p));
                    }
                }
            }
        }
    }

    fn should_retry(
        &self,
        p: &RequestProgress,
        failed: DeploymentIdx,
        class: ErrorClass,
        gates: &[Arc<Gate>],
        now_ms: u64,
    ) -> bool {
        let healthy = self.healthy(p.group, gates, now_ms).count();
        if healthy == 0 || p.overrides.num_retries == Some(0) {
            return false;
        }
        let policy = self
            .router
            .group_retry_policy
            .get(&p.group)
            .or(self.router.retry_policy.as_ref());
        if let Some(n) = policy.and_then(|pol| pol.retries_for(class)) {
            return p.retries_in_group < n;
        }
        let spec = self.spec(failed);
        let allowed = p
            .overrides
            .num_retries
            .or(spec.num_retries)
            .or(spec.max_retries)
            .unwrap_or(self.router.num_retries);
        if p.retries_in_group >= allowed {
            return false;
        }
        if class == ErrorClass::RateLimit && healthy == 0 && self.has_fallbacks(p, class) {
            return false;
        }
        class.retryable(self.group(p.group).deployments.len())
    }

    /// No wait when another healthy deployment that has not failed this request can take the
    /// retry; otherwise the upstream's Retry-After (1-60 s), else exponential backoff from
    /// 0.5 s, floored at `retry_after` and capped at 8 s, plus jitter (LiteLLM's formula).
    fn backoff(
        &self,
        p: &RequestProgress,
        retry_after: Option<Seconds>,
        gates: &[Arc<Gate>],
        now_ms: u64,
    ) -> Duration {
        let fresh = self
            .healthy(p.group, gates, now_ms)
            .any(|d| !p.failed_in_group.contains(&d));
        if fresh {
            return Duration::ZERO;
        }
        let jitter = fastrand::f64() * 0.75;
        let seconds = match retry_after {
            Some(s) if (1.0..=60.0).contains(&s.get()) => s.get() + jitter,
            _ => {
                let k = p.retries_in_group.saturating_sub(1).min(10);
                (0.5 * 2f64.powi(k.try_into().unwrap_or(10)))
                    .max(self.router.retry_after.get())
                    .min(8.0)
                    + jitter
            }
        };
        Seconds::clamped(seconds, Seconds::whole(61)).map_or(Duration::ZERO, Seconds::duration)
    }

    fn has_fallbacks(&self, p: &RequestProgress, class: ErrorClass) -> bool {
        !self.fallback_targets(p, class).is_empty()
    }

    fn fallback_targets(&self, p: &RequestProgress, class: ErrorClass) -> Vec<GroupIdx> {
        let first = p.group == p.requested && p.fallback_depth == 0;
        let o = &p.overrides;
        let table = |special: &Option<FallbackTable>, client: &Option<Vec<GroupIdx>>| {
            if let (true, Some(list)) = (first, client) {
                return Some(list.clone());
            }
            special.as_ref().map(|t| t.targets(p.group).to_vec())
        };
        let special = match class {
            ErrorClass::ContextWindowExceeded => table(
                &self.router.context_window_fallbacks,
                &o.context_window_fallbacks,
            ),
            ErrorClass::ContentPolicyViolation => table(
                &self.router.content_policy_fallbacks,
                &o.content_policy_fallbacks,
            ),
            _ => None,
        };
        if let Some(list) = special {
            return list;
        }
        match (first, &o.fallbacks) {
            (true, Some(list)) => list.clone(),
            _ => self.router.fallbacks.targets(p.group).to_vec(),
        }
    }

    /// The current group is exhausted: move to the next order tier or fallback group.
    fn advance(
        &self,
        p: &mut RequestProgress,
        class: ErrorClass,
        gates: &[Arc<Gate>],
        now_ms: u64,
    ) -> bool {
        if let Some(err) = p.last_error.take() {
            if p.first_error.is_none() {
                p.first_error = Some(err);
            } else {
                p.fallback_errors.push((p.group, err));
            }
        }
        if p.overrides.disable_fallbacks {
            return false;
        }
        let max = self.router.max_fallbacks;
        let special = matches!(
            class,
            ErrorClass::ContextWindowExceeded | ErrorClass::ContentPolicyViolation
        );
        if !special && p.fallback_depth < max {
            let next_tier = self
                .healthy(p.group, gates, now_ms)
                .map(|d| order_key(self.spec(d)))
                .filter(|o| *o > p.current_order)
                .min();
            if let Some(tier) = next_tier {
                p.min_order = tier;
                p.fallback_depth += 1;
                p.retries_in_group = 0;
                p.failed_in_group.clear();
                return true;
            }
        }
        let depth = p.fallback_depth + 1;
        for target in self.fallback_targets(p, class).into_iter().rev() {
            p.pending.push((target, depth));
        }
        while let Some((group, depth)) = p.pending.pop() {
            if depth > max || p.attempted_groups.contains(&group) {
                continue;
            }
            p.group = group;
            p.fallback_depth = depth;
            p.attempted_groups.push(group);
            p.retries_in_group = 0;
            p.failed_in_group.clear();
            p.min_order = i64::MIN;
            p.current_order = i64::MIN;
            return true;
        }
        false
    }

    fn final_error(p: &mut RequestProgress) -> FinalError {
        let error = p
            .first_error
            .take()
            .or_else(|| p.last_error.take())
            .unwrap_or_else(|| {
                AttemptError::new(ErrorClass::InternalServer, 500, "no attempt was made")
            });
        FinalError {
            error,
            fallback_errors: std::mem::take(&mut p.fallback_errors),
        }
    }

    /// Picks and admits a deployment of the current group, or explains why none can take it.
    fn admit(
        &self,
        p: &mut RequestProgress,
        gates: &[Arc<Gate>],
        now_ms: u64,
    ) -> Result<(DeploymentIdx, Admission), AttemptError> {
        let group = self.group(p.group);
        if p.failed_in_group.is_empty() {
            if let Some((d, tier)) = self.quick.draw(p.group, &group.deployments, p.min_order) {
                let admitted = d
                    .of(gates)
                    .filter(|g| g.cooling_until(now_ms).is_none())
                    .and_then(|g| g.try_admit(now_ms).ok());
                if let Some(admission) = admitted {
                    p.current_order = tier;
                    return Ok((d, admission));
                }
            }
        }
        let in_tiers: Vec<DeploymentIdx> = group
            .deployments
            .iter()
            .copied()
            .filter(|d| order_key(self.spec(*d)) >= p.min_order)
            .collect();
        let healthy: Vec<DeploymentIdx> = in_tiers
            .iter()
            .copied()
            .filter(|d| {
                d.of(gates)
                    .is_some_and(|g| g.cooling_until(now_ms).is_none())
            })
            .collect();
        if healthy.is_empty() {
            return Err(self.all_cooling(group, &in_tiers, gates, now_ms));
        }
        let tier = healthy
            .iter()
            .map(|d| order_key(self.spec(*d)))
            .min()
            .unwrap_or(i64::MAX);
        let tiered = healthy
            .into_iter()
            .filter(|d| order_key(self.spec(*d)) == tier);
        let (fresh, failed): (Vec<_>, Vec<_>) =
            tiered.partition(|d| !p.failed_in_group.contains(d));
        let mut soonest_ms: Option<u64> = None;
        for mut pool in [fresh, failed] {
            while !pool.is_empty() {
                let cands: Vec<Candidate> = pool
                    .iter()
                    .filter_map(|d| {
                        Some(Candidate {
                            spec: self.spec(*d),
                            gate: d.of(gates)?,
                        })
                    })
                    .collect();
                if cands.len() != pool.len() {
                    break;
                }
                let i = pick(
                    self.router.strategy,
                    &cands,
                    now_ms,
                    self.router.lowest_latency_buffer,
                );
                if i >= pool.len() {
                    break;
                }
                #[allow(clippy::disallowed_methods)] // in range: checked just above
                let d = pool.swap_remove(i);
                let Some(gate) = d.of(gates) else { continue };
                match gate.try_admit(now_ms) {
                    Ok(admission) => {
                        p.current_order = tier;
                        return Ok((d, admission));
                    }
                    Err(Refusal::RateLimited { retry_after_ms }) => {
                        soonest_ms =
                            Some(soonest_ms.map_or(retry_after_ms, |s| s.min(retry_after_ms)));
                    }
                    Err(_) => {}
                }
            }
        }
        p.current_order = tier;
        let wait = soonest_ms.unwrap_or(1000).div_ceil(1000).max(1);
        let mut err = AttemptError::new(
            ErrorClass::RateLimit,
            429,
            format!(
                "No deployments available for selected model, Try again in {wait} seconds. Passed model={}. \
                 Every deployment is at its rpm, tpm or max_parallel_requests limit.",
                group.name
            ),
        );
        err.retry_after = Seconds::clamped(wait as f64, Seconds::MAX);
        err.error_type = Some("rate_limit_error");
        Err(err)
    }

    fn all_cooling(
        &self,
        group: &GroupSpec,
        members: &[DeploymentIdx],
        gates: &[Arc<Gate>],
        now_ms: u64,
    ) -> AttemptError {
        let soonest = members
            .iter()
            .filter_map(|d| d.of(gates)?.cooling_until(now_ms))
            .min()
            .unwrap_or(now_ms.saturating_add(1000));
        let wait = soonest.saturating_sub(now_ms).div_ceil(1000).max(1);
        let ids: Vec<&str> = members.iter().map(|d| self.spec(*d).id.as_str()).collect();
        let mut err = AttemptError::new(
            ErrorClass::RateLimit,
            429,
            format!(
                "No deployments available for selected model, Try again in {wait} seconds. \
                 All deployments for selected model are in cooldown. Passed model={}. cooldown_list={ids:?}",
                group.name
            ),
        );
        err.retry_after = Seconds::clamped(wait as f64, Seconds::MAX);
        err.error_type = Some("all_deployments_in_cooldown");
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{RetryKey, RetryPolicy};

    /// Groups given as (name, deployment count); deployment i of the whole table is `d{i}`.
    fn planner(groups: &[(&str, usize)], router: RouterSpec) -> (Planner, Vec<Arc<Gate>>) {
        let mut deployments = Vec::new();
        let mut specs = Vec::new();
        for (g, (name, n)) in groups.iter().enumerate() {
            let mut members = Vec::new();
            for _ in 0..*n {
                members.push(DeploymentIdx(u32::try_from(deployments.len()).unwrap()));
                deployments.push(DeploymentSpec {
                    id: format!("d{}", deployments.len()),
                    group: GroupIdx(u32::try_from(g).unwrap()),
                    ..DeploymentSpec::default()
                });
            }
            specs.push(GroupSpec {
                name: name.to_string(),
                deployments: members,
            });
        }
        let gates = deployments
            .iter()
            .map(|_| Arc::new(Gate::new(None, None, 0)))
            .collect();
        (Planner::new(router, specs, deployments), gates)
    }

    fn fail(d: DeploymentIdx, class: ErrorClass) -> Option<AttemptFailure> {
        Some(AttemptFailure {
            deployment: d,
            error: AttemptError::new(class, class.client_status(), "boom"),
        })
    }

    fn called(decision: Decision) -> DeploymentIdx {
        match decision {
            Decision::Call { deployment, .. } => deployment,
            Decision::Wait(d) => panic!("expected a call, got a wait of {d:?}"),
            Decision::GiveUp(e) => panic!("expected a call, gave up: {:?}", e.error),
        }
    }

    fn fallbacks(pairs: &[(u32, &[u32])]) -> FallbackTable {
        let mut t = FallbackTable::default();
        for (g, targets) in pairs {
            t.by_group
                .insert(GroupIdx(*g), targets.iter().map(|x| GroupIdx(*x)).collect());
        }
        t
    }

    #[test]
    fn retry_goes_to_the_other_deployment_at_once() {
        let (pl, gates) = planner(&[("g", 2)], RouterSpec::default());
        for _ in 0..50 {
            let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
            let first = called(pl.decide(&mut p, None, &gates, 1));
            let second =
                called(pl.decide(&mut p, fail(first, ErrorClass::InternalServer), &gates, 1));
            assert_ne!(first, second);
            assert_eq!(p.retries(), 1);
        }
    }

    #[test]
    fn single_deployment_backs_off_then_gives_up_without_a_last_sleep() {
        let (pl, gates) = planner(
            &[("g", 1)],
            RouterSpec {
                num_retries: 2,
                ..RouterSpec::default()
            },
        );
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        let d = called(pl.decide(&mut p, None, &gates, 1));
        for expected_floor in [0.5, 1.0] {
            match pl.decide(&mut p, fail(d, ErrorClass::InternalServer), &gates, 1) {
                Decision::Wait(w) => assert!(
                    w.as_secs_f64() >= expected_floor && w.as_secs_f64() < expected_floor + 0.76
                ),
                _ => panic!("expected a backoff"),
            }
            assert_eq!(called(pl.decide(&mut p, None, &gates, 1)), d);
        }
        assert!(matches!(
            pl.decide(&mut p, fail(d, ErrorClass::InternalServer), &gates, 1),
            Decision::GiveUp(_)
        ));
    }

    #[test]
    fn bad_request_is_not_retried_but_falls_back() {
        let router = RouterSpec {
            fallbacks: fallbacks(&[(0, &[1])]),
            ..RouterSpec::default()
        };
        let (pl, gates) = planner(&[("a", 2), ("b", 1)], router);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        let d = called(pl.decide(&mut p, None, &gates, 1));
        let next = called(pl.decide(&mut p, fail(d, ErrorClass::BadRequest), &gates, 1));
        assert_eq!(next, DeploymentIdx(2));
        assert_eq!((p.group(), p.fallbacks(), p.retries()), (GroupIdx(1), 1, 0));
    }

    #[test]
    fn retry_policy_replaces_num_retries_even_for_bad_requests() {
        let mut policy = RetryPolicy::default();
        policy.set(RetryKey::BadRequest, 1);
        let (pl, gates) = planner(
            &[("g", 2)],
            RouterSpec {
                retry_policy: Some(policy),
                ..RouterSpec::default()
            },
        );
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        let d = called(pl.decide(&mut p, None, &gates, 1));
        let d2 = called(pl.decide(&mut p, fail(d, ErrorClass::BadRequest), &gates, 1));
        assert!(matches!(
            pl.decide(&mut p, fail(d2, ErrorClass::BadRequest), &gates, 1),
            Decision::GiveUp(_)
        ));
    }

    #[test]
    fn request_num_retries_zero_means_one_attempt() {
        let (pl, gates) = planner(&[("g", 2)], RouterSpec::default());
        let o = RequestOverrides {
            num_retries: Some(0),
            ..RequestOverrides::default()
        };
        let mut p = RequestProgress::new(GroupIdx(0), o);
        let d = called(pl.decide(&mut p, None, &gates, 1));
        assert!(matches!(
            pl.decide(&mut p, fail(d, ErrorClass::InternalServer), &gates, 1),
            Decision::GiveUp(_)
        ));
    }

    #[test]
    fn context_window_errors_use_their_own_fallbacks() {
        let router = RouterSpec {
            fallbacks: fallbacks(&[(0, &[1])]),
            context_window_fallbacks: Some(fallbacks(&[(0, &[2])])),
            ..RouterSpec::default()
        };
        let (pl, gates) = planner(&[("small", 1), ("other", 1), ("big", 1)], router);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        let d = called(pl.decide(&mut p, None, &gates, 1));
        assert_eq!(
            called(pl.decide(
                &mut p,
                fail(d, ErrorClass::ContextWindowExceeded),
                &gates,
                1
            )),
            DeploymentIdx(2)
        );
    }

    #[test]
    fn context_window_fallbacks_without_an_entry_give_the_original_error() {
        let router = RouterSpec {
            fallbacks: fallbacks(&[(0, &[1])]),
            context_window_fallbacks: Some(fallbacks(&[(1, &[0])])),
            ..RouterSpec::default()
        };
        let (pl, gates) = planner(&[("small", 1), ("big", 1)], router);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        let d = called(pl.decide(&mut p, None, &gates, 1));
        match pl.decide(
            &mut p,
            fail(d, ErrorClass::ContextWindowExceeded),
            &gates,
            1,
        ) {
            Decision::GiveUp(e) => assert_eq!(e.error.class, ErrorClass::ContextWindowExceeded),
            _ => panic!("expected the original error"),
        }
    }

    #[test]
    fn fallback_chains_follow_each_groups_entry_without_cycles() {
        let router = RouterSpec {
            num_retries: 0,
            fallbacks: fallbacks(&[(0, &[1]), (1, &[2, 0]), (2, &[0, 1])]),
            ..RouterSpec::default()
        };
        let (pl, gates) = planner(&[("a", 1), ("b", 1), ("c", 1)], router);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        let mut seen = vec![called(pl.decide(&mut p, None, &gates, 1))];
        loop {
            match pl.decide(
                &mut p,
                fail(*seen.last().unwrap(), ErrorClass::ServiceUnavailable),
                &gates,
                1,
            ) {
                Decision::Call { deployment, .. } => seen.push(deployment),
                Decision::GiveUp(e) => {
                    assert_eq!(e.fallback_errors.len(), 2);
                    break;
                }
                Decision::Wait(_) => panic!("no waits expected"),
            }
        }
        assert_eq!(
            seen,
            vec![DeploymentIdx(0), DeploymentIdx(1), DeploymentIdx(2)]
        );
    }

    #[test]
    fn max_fallbacks_bounds_the_hops() {
        let router = RouterSpec {
            num_retries: 0,
            max_fallbacks: 1,
            fallbacks: fallbacks(&[(0, &[1]), (1, &[2])]),
            ..RouterSpec::default()
        };
        let (pl, gates) = planner(&[("a", 1), ("b", 1), ("c", 1)], router);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        let d = called(pl.decide(&mut p, None, &gates, 1));
        let d = called(pl.decide(&mut p, fail(d, ErrorClass::InternalServer), &gates, 1));
        assert!(matches!(
            pl.decide(&mut p, fail(d, ErrorClass::InternalServer), &gates, 1),
            Decision::GiveUp(_)
        ));
    }

    #[test]
    fn all_cooling_is_a_429_with_retry_after_that_falls_back() {
        let router = RouterSpec {
            fallbacks: fallbacks(&[(0, &[1])]),
            ..RouterSpec::default()
        };
        let (pl, gates) = planner(&[("a", 2), ("b", 1)], router);
        gates[0].set_cooldown_until(5_000);
        gates[1].set_cooldown_until(3_000);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        assert_eq!(
            called(pl.decide(&mut p, None, &gates, 1_000)),
            DeploymentIdx(2)
        );
        let (pl, gates) = planner(&[("a", 2)], RouterSpec::default());
        gates[0].set_cooldown_until(5_000);
        gates[1].set_cooldown_until(3_000);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        match pl.decide(&mut p, None, &gates, 1_000) {
            Decision::GiveUp(e) => {
                assert_eq!(e.error.status, 429);
                assert_eq!(e.error.retry_after.map(Seconds::get), Some(2.0));
                assert_eq!(e.error.error_type, Some("all_deployments_in_cooldown"));
            }
            _ => panic!("expected a 429"),
        }
    }

    #[test]
    fn lower_order_tier_serves_first_and_the_next_tier_is_a_fallback_hop() {
        let (mut pl, gates) = planner(
            &[("g", 2)],
            RouterSpec {
                num_retries: 0,
                ..RouterSpec::default()
            },
        );
        pl.deployments[0].order = Some(2);
        pl.deployments[1].order = Some(1);
        let pl = Planner::new(pl.router, pl.groups, pl.deployments);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        for _ in 0..10 {
            let mut q = p.clone();
            assert_eq!(called(pl.decide(&mut q, None, &gates, 1)), DeploymentIdx(1));
        }
        let d = called(pl.decide(&mut p, None, &gates, 1));
        assert_eq!(
            called(pl.decide(&mut p, fail(d, ErrorClass::InternalServer), &gates, 1)),
            DeploymentIdx(0)
        );
        assert_eq!(p.fallbacks(), 1);
    }

    #[test]
    fn deployment_max_retries_is_its_own_retry_count() {
        let (mut pl, gates) = planner(
            &[("g", 2)],
            RouterSpec {
                num_retries: 5,
                ..RouterSpec::default()
            },
        );
        for d in &mut pl.deployments {
            d.max_retries = Some(1);
        }
        let pl = Planner::new(pl.router, pl.groups, pl.deployments);
        let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
        let d = called(pl.decide(&mut p, None, &gates, 1));
        let d = called(pl.decide(&mut p, fail(d, ErrorClass::InternalServer), &gates, 1));
        assert!(matches!(
            pl.decide(&mut p, fail(d, ErrorClass::InternalServer), &gates, 1),
            Decision::GiveUp(_)
        ));
    }

    #[test]
    fn rate_limited_deployments_are_skipped_for_one_with_room() {
        let (pl, _) = planner(&[("g", 2)], RouterSpec::default());
        let gates = vec![
            Arc::new(Gate::new(Some(1), None, 0)),
            Arc::new(Gate::new(None, None, 0)),
        ];
        let _held = gates[0].try_admit(1).unwrap();
        for _ in 0..10 {
            let mut p = RequestProgress::new(GroupIdx(0), RequestOverrides::default());
            assert_eq!(called(pl.decide(&mut p, None, &gates, 1)), DeploymentIdx(1));
        }
    }
}
