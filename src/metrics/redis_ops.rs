//! Every Redis call the gateway makes (cache, shared state, response store), counted as
//! LiteLLM's `prometheus_system` service metrics count them: `litellm_redis_latency` (successful
//! calls), `litellm_redis_total_requests_total`, `litellm_redis_failed_requests_total` by error
//! class and function. Process-wide atomics: a Redis call is already a network round trip, and
//! no worker takes a lock to count it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::exposition::{header, labels, number, sample};
use super::LATENCY_BUCKETS;

/// What a call did, under LiteLLM's `function_name` for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisCall {
    Get,
    BatchGet,
    Set,
    Increment,
    Delete,
    /// The shared-state sync's periodic read of cooldowns and token counts.
    SyncRead,
    /// The shared-state sync publishing a cooldown.
    SyncWrite,
}

impl RedisCall {
    const ALL: [RedisCall; 7] = [
        Self::Get,
        Self::BatchGet,
        Self::Set,
        Self::Increment,
        Self::Delete,
        Self::SyncRead,
        Self::SyncWrite,
    ];

    fn function_name(self) -> &'static str {
        match self {
            Self::Get => "async_get_cache",
            Self::BatchGet => "async_batch_get_cache",
            Self::Set => "async_set_cache",
            Self::Increment => "async_increment",
            Self::Delete => "async_delete_cache",
            Self::SyncRead => "async_batch_get_cache",
            Self::SyncWrite => "async_set_cache",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why a call failed, as the Python exception class LiteLLM would name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisFailure {
    Timeout,
    Connection,
    Response,
}

impl RedisFailure {
    const ALL: [RedisFailure; 3] = [Self::Timeout, Self::Connection, Self::Response];

    pub fn of(e: &redis::RedisError) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
            Self::Connection
        } else {
            Self::Response
        }
    }

    fn class_name(self) -> &'static str {
        match self {
            Self::Timeout => "TimeoutError",
            Self::Connection => "ConnectionError",
            Self::Response => "ResponseError",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

const CALLS: usize = RedisCall::ALL.len();
const FAILURES: usize = RedisFailure::ALL.len();

struct RedisOps {
    /// Successful calls per latency bucket (not cumulative), the last for `+Inf`.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_sum_us: AtomicU64,
    total: AtomicU64,
    failed: [[AtomicU64; FAILURES]; CALLS],
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO_ROW: [AtomicU64; FAILURES] = [ZERO; FAILURES];

static OPS: RedisOps = RedisOps {
    buckets: [ZERO; LATENCY_BUCKETS.len() + 1],
    latency_sum_us: ZERO,
    total: ZERO,
    failed: [ZERO_ROW; CALLS],
};

/// A call answered after `took`.
pub fn succeeded(took: Duration) {
    let seconds = took.as_secs_f64();
    let at = LATENCY_BUCKETS
        .iter()
        .position(|b| seconds <= *b)
        .unwrap_or(LATENCY_BUCKETS.len());
    if let Some(b) = OPS.buckets.get(at) {
        b.fetch_add(1, Ordering::Relaxed);
    }
    let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    OPS.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    OPS.total.fetch_add(1, Ordering::Relaxed);
}

/// A call failed (or could not get a connection).
pub fn failed(call: RedisCall, why: RedisFailure) {
    OPS.total.fetch_add(1, Ordering::Relaxed);
    if let Some(n) = OPS
        .failed
        .get(call.index())
        .and_then(|row| row.get(why.index()))
    {
        n.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts a call's result.
pub fn observe<T>(call: RedisCall, took: Duration, result: &redis::RedisResult<T>) {
    match result {
        Ok(_) => succeeded(took),
        Err(e) => failed(call, RedisFailure::of(e)),
    }
}

fn as_f64(n: u64) -> f64 {
    // Counts stay far below 2^53, where f64 is exact.
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    f
}

/// The three families, once any Redis is configured.
pub fn render(out: &mut String) {
    let redis = labels(&mut [("redis", "redis")]);
    header(
        out,
        "litellm_redis_latency",
        "histogram",
        "Latency for redis service",
    );
    let mut cumulative = 0u64;
    for (i, b) in OPS.buckets.iter().enumerate() {
        cumulative += b.load(Ordering::Relaxed);
        let le = LATENCY_BUCKETS
            .get(i)
            .map_or_else(|| "+Inf".to_string(), |b| number(*b));
        sample(
            out,
            "litellm_redis_latency_bucket",
            &redis,
            Some(("le", &le)),
            as_f64(cumulative),
        );
    }
    sample(
        out,
        "litellm_redis_latency_count",
        &redis,
        None,
        as_f64(cumulative),
    );
    let sum = as_f64(OPS.latency_sum_us.load(Ordering::Relaxed)) / 1e6;
    sample(out, "litellm_redis_latency_sum", &redis, None, sum);
    header(
        out,
        "litellm_redis_total_requests_total",
        "counter",
        "Total total_requests for redis service",
    );
    sample(
        out,
        "litellm_redis_total_requests_total",
        &redis,
        None,
        as_f64(OPS.total.load(Ordering::Relaxed)),
    );
    header(
        out,
        "litellm_redis_failed_requests_total",
        "counter",
        "Total failed_requests for redis service",
    );
    // Two calls share a LiteLLM function name: sum them under it.
    let mut rows: std::collections::BTreeMap<String, u64> = Default::default();
    for call in RedisCall::ALL {
        for why in RedisFailure::ALL {
            let n = OPS
                .failed
                .get(call.index())
                .and_then(|row| row.get(why.index()))
                .map_or(0, |n| n.load(Ordering::Relaxed));
            if n == 0 {
                continue;
            }
            let l = labels(&mut [
                ("redis", "redis"),
                ("error_class", why.class_name()),
                ("function_name", call.function_name()),
            ]);
            *rows.entry(l).or_default() += n;
        }
    }
    for (l, n) in rows {
        sample(
            out,
            "litellm_redis_failed_requests_total",
            &l,
            None,
            as_f64(n),
        );
    }
}
