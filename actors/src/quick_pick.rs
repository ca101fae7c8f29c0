//! simple-shuffle's first pick in a group without looking at every deployment.
//!
//! The full pick filters the group by tier, health and earlier failures before it draws, which
//! costs time in the size of the group on every request. On a request's first attempt in a
//! one-tier group, drawing from the whole group first (weights summed once, at load) and checking
//! only the drawn deployment gives the same distribution: a draw that lands on a deployment in
//! cooldown or at its limit falls back to the full pick, which draws again among the rest.

use crate::routing::shuffle_weights;
use crate::spec::{DeploymentIdx, DeploymentSpec, GroupIdx, GroupSpec, Strategy};

struct Group {
    /// Running sums of the members' weights; empty when the draw is uniform.
    cumulative: Vec<f64>,
    /// The `order` every member shares; `None` when the members are in several tiers.
    tier: Option<i64>,
}

pub struct QuickPicks {
    /// Per group, by `GroupIdx`; empty unless the strategy is simple-shuffle.
    groups: Vec<Group>,
}

impl QuickPicks {
    pub fn new(
        strategy: Strategy,
        groups: &[GroupSpec],
        deployments: &[DeploymentSpec],
        order_key: fn(&DeploymentSpec) -> i64,
    ) -> Self {
        if strategy != Strategy::SimpleShuffle {
            return Self { groups: Vec::new() };
        }
        let spec = |d: &DeploymentIdx| deployments.get(usize::try_from(d.0).ok()?);
        let groups = groups
            .iter()
            .map(|g| {
                let specs: Option<Vec<&DeploymentSpec>> = g.deployments.iter().map(spec).collect();
                let Some(specs) = specs.filter(|s| !s.is_empty()) else {
                    return Group {
                        cumulative: Vec::new(),
                        tier: None,
                    };
                };
                let first = specs.first().map_or(i64::MAX, |s| order_key(s));
                let one_tier = specs.iter().all(|s| order_key(s) == first);
                let cumulative = shuffle_weights(specs.iter().copied())
                    .map(|w| {
                        w.iter()
                            .scan(0.0, |sum, w| {
                                *sum += w;
                                Some(*sum)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Group {
                    cumulative,
                    tier: one_tier.then_some(first),
                }
            })
            .collect();
        Self { groups }
    }

    /// A member of the group drawn by its weight, and its tier, when the quick draw applies:
    /// a one-tier group whose tier the request may still use.
    pub fn draw(
        &self,
        g: GroupIdx,
        members: &[DeploymentIdx],
        min_order: i64,
    ) -> Option<(DeploymentIdx, i64)> {
        let group = self.groups.get(usize::try_from(g.0).ok()?)?;
        let tier = group.tier.filter(|t| *t >= min_order)?;
        let i = match group.cumulative.last() {
            None => fastrand::usize(..members.len().max(1)),
            Some(total) => {
                let point = fastrand::f64() * total;
                group.cumulative.partition_point(|sum| *sum <= point)
            }
        };
        Some((*members.get(i)?, tier))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(weight: Option<f64>, rpm: Option<u64>, order: Option<i64>) -> DeploymentSpec {
        DeploymentSpec {
            weight,
            rpm,
            order,
            ..DeploymentSpec::default()
        }
    }

    fn table(specs: &[DeploymentSpec]) -> (QuickPicks, Vec<DeploymentIdx>) {
        let members: Vec<DeploymentIdx> = (0..specs.len())
            .map(|i| DeploymentIdx(u32::try_from(i).unwrap()))
            .collect();
        let groups = [GroupSpec {
            name: "g".into(),
            deployments: members.clone(),
        }];
        let key = |s: &DeploymentSpec| s.order.unwrap_or(i64::MAX);
        (
            QuickPicks::new(Strategy::SimpleShuffle, &groups, specs, key),
            members,
        )
    }

    fn counts(specs: &[DeploymentSpec]) -> Vec<usize> {
        let (quick, members) = table(specs);
        let mut counts = vec![0; specs.len()];
        for _ in 0..20_000 {
            let (d, _) = quick.draw(GroupIdx(0), &members, i64::MIN).unwrap();
            counts[d.0 as usize] += 1;
        }
        counts
    }

    #[test]
    fn draws_by_weight_like_the_full_pick() {
        let c = counts(&[
            spec(Some(3.0), None, None),
            spec(Some(1.0), None, None),
            spec(Some(0.0), None, None),
        ]);
        assert_eq!(c[2], 0, "a zero weight is never drawn");
        let share = c[0] as f64 / 20_000.0;
        assert!((0.72..0.78).contains(&share), "3:1 weights drew {c:?}");
    }

    #[test]
    fn rpm_is_the_weight_and_a_missing_rpm_counts_as_the_largest() {
        let c = counts(&[spec(None, Some(100), None), spec(None, None, None)]);
        let share = c[0] as f64 / 20_000.0;
        assert!((0.47..0.53).contains(&share), "{c:?}");
    }

    #[test]
    fn no_quick_draw_across_tiers_or_below_the_request_tier() {
        let (quick, members) = table(&[spec(None, None, Some(1)), spec(None, None, Some(2))]);
        assert!(quick.draw(GroupIdx(0), &members, i64::MIN).is_none());
        let (quick, members) = table(&[spec(None, None, Some(1)), spec(None, None, Some(1))]);
        assert_eq!(
            quick.draw(GroupIdx(0), &members, i64::MIN).map(|d| d.1),
            Some(1)
        );
        assert!(quick.draw(GroupIdx(0), &members, 2).is_none());
    }
}
