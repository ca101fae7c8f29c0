//! A deployment's last few minutes, for the status page: requests admitted per minute, errors
//! by class, and a latency histogram fine enough for p50/p95. One slot per minute, reused in a
//! ring; every figure is an atomic, so writers (each worker, the deployment actor) never wait.
//! A slot is cleared by the first writer of its new minute; an increment racing that clear may
//! be lost, which a dashboard can afford and a lock on the request path could not.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use crate::ErrorClass;

/// Minutes the window spans.
pub const WINDOW_MINUTES: u64 = 5;
const SLOTS: usize = 5;
/// Latency buckets: upper bounds from 250 us, each √2 times the one before (up to ~92 s); the
/// last bucket holds everything slower.
const LATENCY_BUCKETS: usize = 40;
const FIRST_BOUND_US: f64 = 250.0;
const CLASSES: usize = ErrorClass::ALL.len();

struct Slot {
    minute: AtomicU64,
    requests: AtomicU32,
    errors: [AtomicU32; CLASSES],
    latency: [AtomicU32; LATENCY_BUCKETS],
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            // No minute yet: a fresh slot must not pass for minute 0.
            minute: AtomicU64::new(u64::MAX),
            requests: AtomicU32::new(0),
            errors: std::array::from_fn(|_| AtomicU32::new(0)),
            latency: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

impl Slot {
    fn clear(&self) {
        self.requests.store(0, Ordering::Relaxed);
        for n in self.errors.iter().chain(self.latency.iter()) {
            n.store(0, Ordering::Relaxed);
        }
    }
}

/// The cause of the latest cooldown: `0` none, `1 + class index`, or `FROM_ELSEWHERE`.
const FROM_ELSEWHERE: u8 = u8::MAX;

#[derive(Default)]
pub struct Recent {
    slots: [Slot; SLOTS],
    cooldown_cause: AtomicU8,
    /// When the last attempt failed and the last one succeeded (`now_ms`; 0 never).
    last_failure_ms: AtomicU64,
    last_success_ms: AtomicU64,
}

/// Why a deployment is (or was last) cooling down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CooldownCause {
    Failure(ErrorClass),
    /// Another instance decided it (shared state) and did not say why.
    OtherInstance,
}

/// What the window holds now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecentSnapshot {
    pub requests_this_minute: u64,
    /// Failed attempts in the window, by class (classes with none left out).
    pub errors: Vec<(ErrorClass, u64)>,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    /// Its last attempt failed (within the window) and none has succeeded since: LiteLLM's
    /// "partial outage".
    pub failing: bool,
}

fn bucket_of(micros: u64) -> usize {
    let us = u32::try_from(micros).map_or(f64::from(u32::MAX), f64::from);
    let mut bound = FIRST_BOUND_US;
    let mut i = 0;
    while us > bound && i + 1 < LATENCY_BUCKETS {
        bound *= std::f64::consts::SQRT_2;
        i += 1;
    }
    i
}

/// Bucket `i`'s lower and upper bounds, in milliseconds.
fn bucket_bounds_ms(i: usize) -> (f64, f64) {
    let mut upper = FIRST_BOUND_US;
    for _ in 0..i {
        upper *= std::f64::consts::SQRT_2;
    }
    let lower = if i == 0 {
        0.0
    } else {
        upper / std::f64::consts::SQRT_2
    };
    (lower / 1000.0, upper / 1000.0)
}

impl Recent {
    fn slot(&self, now_ms: u64) -> Option<&Slot> {
        let minute = now_ms / 60_000;
        let slot = self
            .slots
            .get(usize::try_from(minute % WINDOW_MINUTES).ok()?)?;
        if slot.minute.load(Ordering::Acquire) != minute
            && slot.minute.swap(minute, Ordering::AcqRel) != minute
        {
            slot.clear();
        }
        Some(slot)
    }

    pub fn admitted(&self, now_ms: u64) {
        if let Some(s) = self.slot(now_ms) {
            s.requests.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn succeeded(&self, now_ms: u64, latency_us: u64) {
        self.last_success_ms.fetch_max(now_ms, Ordering::Relaxed);
        if let Some(n) = self
            .slot(now_ms)
            .and_then(|s| s.latency.get(bucket_of(latency_us)))
        {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn failed(&self, now_ms: u64, class: ErrorClass) {
        self.last_failure_ms.fetch_max(now_ms, Ordering::Relaxed);
        if let Some(n) = self.slot(now_ms).and_then(|s| s.errors.get(class.index())) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn cooled_down(&self, cause: CooldownCause) {
        let code = match cause {
            CooldownCause::Failure(c) => u8::try_from(c.index() + 1).unwrap_or(0),
            CooldownCause::OtherInstance => FROM_ELSEWHERE,
        };
        self.cooldown_cause.store(code, Ordering::Release);
    }

    pub fn cooldown_cause(&self) -> Option<CooldownCause> {
        match self.cooldown_cause.load(Ordering::Acquire) {
            0 => None,
            FROM_ELSEWHERE => Some(CooldownCause::OtherInstance),
            n => ErrorClass::ALL
                .get(usize::from(n - 1))
                .map(|c| CooldownCause::Failure(*c)),
        }
    }

    pub fn snapshot(&self, now_ms: u64) -> RecentSnapshot {
        let minute = now_ms / 60_000;
        let live = |s: &&Slot| {
            let m = s.minute.load(Ordering::Acquire);
            m <= minute && minute - m < WINDOW_MINUTES
        };
        let mut errors = [0u64; CLASSES];
        let mut latency = [0u64; LATENCY_BUCKETS];
        let mut requests_this_minute = 0;
        for s in self.slots.iter().filter(live) {
            if s.minute.load(Ordering::Acquire) == minute {
                requests_this_minute = u64::from(s.requests.load(Ordering::Relaxed));
            }
            for (sum, n) in errors.iter_mut().zip(s.errors.iter()) {
                *sum += u64::from(n.load(Ordering::Relaxed));
            }
            for (sum, n) in latency.iter_mut().zip(s.latency.iter()) {
                *sum += u64::from(n.load(Ordering::Relaxed));
            }
        }
        RecentSnapshot {
            requests_this_minute,
            errors: ErrorClass::ALL
                .iter()
                .zip(errors)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| (*c, n))
                .collect(),
            latency_p50_ms: quantile(&latency, 0.50),
            latency_p95_ms: quantile(&latency, 0.95),
            failing: {
                let failed = self.last_failure_ms.load(Ordering::Relaxed);
                failed > self.last_success_ms.load(Ordering::Relaxed)
                    && now_ms.saturating_sub(failed) < WINDOW_MINUTES * 60_000
            },
        }
    }
}

/// The `q` quantile of a bucketed histogram, interpolated linearly inside its bucket.
fn quantile(counts: &[u64; LATENCY_BUCKETS], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let as_f = |n: u64| f64::from(u32::try_from(n).unwrap_or(u32::MAX));
    let rank = q * as_f(total);
    let mut below = 0u64;
    for (i, n) in counts.iter().enumerate() {
        if *n > 0 && as_f(below + n) >= rank {
            let (lo, hi) = bucket_bounds_ms(i);
            let within = ((rank - as_f(below)) / as_f(*n)).clamp(0.0, 1.0);
            return Some(lo + (hi - lo) * within);
        }
        below += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_fall_inside_the_observed_buckets() {
        let r = Recent::default();
        for _ in 0..90 {
            r.succeeded(1_000, 10_000);
        }
        for _ in 0..10 {
            r.succeeded(1_000, 200_000);
        }
        let s = r.snapshot(2_000);
        let p50 = s.latency_p50_ms.unwrap();
        let p95 = s.latency_p95_ms.unwrap();
        assert!((8.0..=11.4).contains(&p50), "{p50}");
        assert!((181.0..=256.0).contains(&p95), "{p95}");
    }

    #[test]
    fn errors_leave_the_window_after_five_minutes() {
        let r = Recent::default();
        r.failed(0, ErrorClass::RateLimit);
        r.failed(60_000, ErrorClass::RateLimit);
        r.failed(60_000, ErrorClass::Timeout);
        let s = r.snapshot(120_000);
        assert_eq!(
            s.errors,
            vec![(ErrorClass::Timeout, 1), (ErrorClass::RateLimit, 2)]
        );
        let later = r.snapshot(5 * 60_000 + 1);
        assert_eq!(
            later.errors,
            vec![(ErrorClass::Timeout, 1), (ErrorClass::RateLimit, 1)]
        );
        // A new minute reusing the oldest slot clears it first.
        r.admitted(5 * 60_000 + 1);
        assert_eq!(r.snapshot(5 * 60_000 + 2).requests_this_minute, 1);
        let fresh = Recent::default();
        fresh.admitted(1);
        fresh.admitted(2);
        assert_eq!(fresh.snapshot(3).requests_this_minute, 2);
        assert!(r.snapshot(11 * 60_000).errors.is_empty());
    }

    #[test]
    fn failing_until_the_next_success() {
        let r = Recent::default();
        assert!(!r.snapshot(1).failing);
        r.failed(10, ErrorClass::RateLimit);
        assert!(r.snapshot(11).failing);
        r.succeeded(20, 1_000);
        assert!(
            !r.snapshot(21).failing,
            "errors stay counted, the state recovers"
        );
        assert_eq!(r.snapshot(21).errors, vec![(ErrorClass::RateLimit, 1)]);
        r.failed(30, ErrorClass::Timeout);
        assert!(
            !r.snapshot(30 + 5 * 60_000).failing,
            "an old failure is forgotten"
        );
    }

    #[test]
    fn cooldown_cause_round_trips() {
        let r = Recent::default();
        assert_eq!(r.cooldown_cause(), None);
        r.cooled_down(CooldownCause::Failure(ErrorClass::ServiceUnavailable));
        assert_eq!(
            r.cooldown_cause(),
            Some(CooldownCause::Failure(ErrorClass::ServiceUnavailable))
        );
        r.cooled_down(CooldownCause::OtherInstance);
        assert_eq!(r.cooldown_cause(), Some(CooldownCause::OtherInstance));
    }
}
