//! A deployment's published admission state. The deployment actor owns it and is the only
//! writer of its cooldown and usage figures; the supervisor reads it without a round trip, and
//! admission (in-flight slot, rpm token) is a lock-free check on it, as linkerd's failure-accrual
//! gate is read by its balancer.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::recent::{CooldownCause, Recent, RecentSnapshot};
use crate::ErrorClass;

pub struct Gate {
    cooldown_until_ms: AtomicU64,
    in_flight: AtomicU32,
    max_in_flight: u32,
    rpm: Option<DefaultDirectRateLimiter>,
    tpm: Option<u64>,
    tpm_minute: AtomicU64,
    tpm_used: AtomicU64,
    /// Exponentially weighted latency in microseconds; 0 until the first success.
    latency_us: AtomicU64,
    success_minute: AtomicU64,
    successes: AtomicU32,
    /// Set when the cluster-wide rpm count (shared state) is spent: refuse until then.
    rpm_blocked_until_ms: AtomicU64,
    /// Tokens every instance used in the current shared minute, as last read from the shared
    /// state, and until when (this process's clock) that figure holds.
    cluster_tpm_until_ms: AtomicU64,
    cluster_tpm_used: AtomicU64,
    /// Cooldowns this instance decided, by the class of the failure that caused each.
    cooldowns: [AtomicU64; ErrorClass::ALL.len()],
    /// The last few minutes, for the status page.
    recent: Recent,
}

/// Why a deployment refused a request right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    CoolingDown { until_ms: u64 },
    RateLimited { retry_after_ms: u64 },
    Busy,
}

/// An in-flight slot on a deployment; dropping it frees the slot, so a client that goes away
/// mid-stream can never leak capacity.
pub struct Admission {
    gate: Arc<Gate>,
}

impl Admission {
    /// Records a successful call on the deployment's counters, then frees the slot.
    pub fn succeed(self, now_ms: u64, latency_us: u64, total_tokens: u64) {
        let gate = &self.gate;
        let minute = now_ms / 60_000;
        if gate.success_minute.swap(minute, Ordering::AcqRel) != minute {
            gate.successes.store(1, Ordering::Release);
        } else {
            gate.successes.fetch_add(1, Ordering::AcqRel);
        }
        gate.record_latency(latency_us);
        gate.recent.succeeded(now_ms, latency_us);
        if total_tokens > 0 {
            gate.add_tokens(now_ms, total_tokens);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.gate.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    pub fn new(rpm: Option<u64>, tpm: Option<u64>, max_in_flight: u32) -> Self {
        let rpm = rpm.and_then(|r| NonZeroU32::new(u32::try_from(r).unwrap_or(u32::MAX)));
        Self {
            cooldown_until_ms: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            max_in_flight,
            rpm: rpm.map(|r| RateLimiter::direct(Quota::per_minute(r))),
            tpm,
            tpm_minute: AtomicU64::new(0),
            tpm_used: AtomicU64::new(0),
            latency_us: AtomicU64::new(0),
            success_minute: AtomicU64::new(0),
            successes: AtomicU32::new(0),
            rpm_blocked_until_ms: AtomicU64::new(0),
            cluster_tpm_until_ms: AtomicU64::new(0),
            cluster_tpm_used: AtomicU64::new(0),
            cooldowns: Default::default(),
            recent: Recent::default(),
        }
    }

    /// How many cooldowns this instance decided for the deployment, by cause.
    pub fn cooldowns(&self) -> impl Iterator<Item = (ErrorClass, u64)> + '_ {
        ErrorClass::ALL
            .iter()
            .zip(self.cooldowns.iter())
            .map(|(c, n)| (*c, n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
    }

    /// The cooldown deadline if the deployment is cooling down at `now_ms`.
    pub fn cooling_until(&self, now_ms: u64) -> Option<u64> {
        let until = self.cooldown_until_ms.load(Ordering::Acquire);
        (until > now_ms).then_some(until)
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Acquire)
    }

    pub fn latency_us(&self) -> u64 {
        self.latency_us.load(Ordering::Relaxed)
    }

    pub fn successes_this_minute(&self, now_ms: u64) -> u32 {
        if self.success_minute.load(Ordering::Acquire) == now_ms / 60_000 {
            self.successes.load(Ordering::Acquire)
        } else {
            0
        }
    }

    /// This minute's tokens: this instance's, or every instance's when shared state says more.
    pub fn tokens_this_minute(&self, now_ms: u64) -> u64 {
        let minute = now_ms / 60_000;
        let local = if self.tpm_minute.load(Ordering::Acquire) == minute {
            self.tpm_used.load(Ordering::Acquire)
        } else {
            0
        };
        let cluster = if self.cluster_tpm_until_ms.load(Ordering::Acquire) > now_ms {
            self.cluster_tpm_used.load(Ordering::Acquire)
        } else {
            0
        };
        local.max(cluster)
    }

    pub fn rpm(&self) -> bool {
        self.rpm.is_some()
    }

    pub fn tpm(&self) -> bool {
        self.tpm.is_some()
    }

    /// The cluster-wide rpm count for this minute is spent: refuse until `until_ms`.
    pub fn block_rpm_until(&self, until_ms: u64) {
        self.rpm_blocked_until_ms
            .fetch_max(until_ms, Ordering::AcqRel);
    }

    /// Every instance's token count in the current shared minute, which ends at `until_ms`.
    pub fn set_cluster_tokens(&self, until_ms: u64, used: u64) {
        self.cluster_tpm_used.store(used, Ordering::Release);
        self.cluster_tpm_until_ms.store(until_ms, Ordering::Release);
    }

    /// Takes an in-flight slot and an rpm token, or says why not.
    pub fn try_admit(self: &Arc<Self>, now_ms: u64) -> Result<Admission, Refusal> {
        if let Some(until_ms) = self.cooling_until(now_ms) {
            return Err(Refusal::CoolingDown { until_ms });
        }
        let blocked = self.rpm_blocked_until_ms.load(Ordering::Acquire);
        if blocked > now_ms {
            return Err(Refusal::RateLimited {
                retry_after_ms: blocked - now_ms,
            });
        }
        if let Some(tpm) = self.tpm {
            if self.tokens_this_minute(now_ms) >= tpm {
                let retry_after_ms = 60_000 - now_ms % 60_000;
                return Err(Refusal::RateLimited { retry_after_ms });
            }
        }
        let admitted = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (self.max_in_flight == 0 || n < self.max_in_flight).then_some(n + 1)
            });
        if admitted.is_err() {
            return Err(Refusal::Busy);
        }
        let admission = Admission { gate: self.clone() };
        if let Some(limiter) = &self.rpm {
            if let Err(not_until) = limiter.check() {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(Refusal::RateLimited {
                    retry_after_ms: crate::clock::saturating_millis(wait),
                });
            }
        }
        self.recent.admitted(now_ms);
        Ok(admission)
    }

    /// Requests admitted this minute, failures by class and latency over the last minutes.
    pub fn recent(&self, now_ms: u64) -> RecentSnapshot {
        self.recent.snapshot(now_ms)
    }

    /// Why the deployment last cooled down.
    pub fn cooldown_cause(&self) -> Option<CooldownCause> {
        self.recent.cooldown_cause()
    }

    // Writers below: the cooldown is set by the owning deployment actor only; usage figures by
    // `Admission::succeed`.

    pub(crate) fn set_cooldown_until(&self, until_ms: u64) {
        self.cooldown_until_ms.fetch_max(until_ms, Ordering::AcqRel);
    }

    pub(crate) fn count_cooldown(&self, cause: ErrorClass) {
        if let Some(n) = self.cooldowns.get(cause.index()) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        self.recent.cooled_down(CooldownCause::Failure(cause));
    }

    pub(crate) fn cooled_down_elsewhere(&self) {
        self.recent.cooled_down(CooldownCause::OtherInstance);
    }

    pub(crate) fn count_failure(&self, now_ms: u64, class: ErrorClass) {
        self.recent.failed(now_ms, class);
    }

    fn add_tokens(&self, now_ms: u64, tokens: u64) {
        let minute = now_ms / 60_000;
        if self.tpm_minute.swap(minute, Ordering::AcqRel) != minute {
            self.tpm_used.store(tokens, Ordering::Release);
        } else {
            self.tpm_used.fetch_add(tokens, Ordering::AcqRel);
        }
    }

    fn record_latency(&self, micros: u64) {
        let old = self.latency_us.load(Ordering::Relaxed);
        let new = if old == 0 {
            micros.max(1)
        } else {
            (old * 7 + micros) / 8
        };
        self.latency_us.store(new.max(1), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_cap_refuses_then_frees_on_drop() {
        let gate = Arc::new(Gate::new(None, None, 1));
        let first = gate.try_admit(1).unwrap();
        assert_eq!(gate.try_admit(1).err(), Some(Refusal::Busy));
        drop(first);
        assert!(gate.try_admit(1).is_ok());
        assert_eq!(gate.in_flight(), 0);
    }

    #[test]
    fn rpm_limit_refuses_the_request_over_quota() {
        let gate = Arc::new(Gate::new(Some(3), None, 0));
        for _ in 0..3 {
            assert!(gate.try_admit(1).is_ok());
        }
        match gate.try_admit(1) {
            Err(Refusal::RateLimited { retry_after_ms }) => assert!(retry_after_ms > 0),
            other => panic!("expected rate limit, got {:?}", other.err()),
        }
        assert_eq!(gate.in_flight(), 0, "a refused request holds no slot");
    }

    #[test]
    fn cooldown_refuses_until_deadline() {
        let gate = Arc::new(Gate::new(None, None, 0));
        gate.set_cooldown_until(1_000);
        assert_eq!(
            gate.try_admit(999).err(),
            Some(Refusal::CoolingDown { until_ms: 1_000 })
        );
        assert!(gate.try_admit(1_000).is_ok());
    }

    #[test]
    fn tpm_counts_per_minute() {
        let gate = Arc::new(Gate::new(None, Some(100), 0));
        gate.try_admit(1_000).unwrap().succeed(1_000, 10, 100);
        assert_eq!(gate.successes_this_minute(1_500), 1);
        assert!(matches!(
            gate.try_admit(2_000),
            Err(Refusal::RateLimited { .. })
        ));
        assert!(gate.try_admit(61_000).is_ok(), "a new minute resets usage");
    }
}
