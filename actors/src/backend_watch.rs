//! The actor that owns a shared backend's health: the response cache's Redis (it is the cache
//! actor) or the Redis holding shared router state. Workers talk to the backend directly
//! (lookups and stores are bytes, and must not queue behind one mailbox); they report failures
//! here. The actor alone decides when an outage begins and ends: it logs one warning per outage,
//! probes the backend until it answers again, and publishes the state that readiness reports and
//! that tells workers when to reconnect.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;

/// Answers whether the backend is reachable (for Redis: a PING on the actor's own connection).
pub trait Probe: 'static {
    fn ping(&self) -> Pin<Box<dyn Future<Output = Result<(), String>>>>;
}

/// Hit/miss/error counters, bumped by the workers on the request path.
#[derive(Default, Debug)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub stores: AtomicU64,
    pub errors: AtomicU64,
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub hits: u64,
    pub misses: u64,
    pub stores: u64,
    pub errors: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl CacheStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            hits: get(&self.hits),
            misses: get(&self.misses),
            stores: get(&self.stores),
            errors: get(&self.errors),
            bytes_read: get(&self.bytes_read),
            bytes_written: get(&self.bytes_written),
        }
    }
}

/// The backend's published health.
#[derive(Default, Debug)]
pub struct BackendHealth {
    degraded: AtomicBool,
    /// Bumped at the end of each outage, so workers know to reconnect.
    recoveries: AtomicU64,
    outages: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl BackendHealth {
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Acquire)
    }

    pub fn recoveries(&self) -> u64 {
        self.recoveries.load(Ordering::Acquire)
    }

    pub fn outages(&self) -> u64 {
        self.outages.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub struct BackendWatch {
    health: Arc<BackendHealth>,
    probe: Box<dyn Probe>,
    /// What logs may name: the backend without credentials.
    backend: String,
    /// What the backend is for, in log lines ("response cache", "shared router state").
    role: &'static str,
    down_since: Option<Instant>,
    probing: bool,
    ticks: u64,
}

/// How often a degraded backend is probed; a healthy one is probed every `HEALTHY_EVERY` ticks.
const TICK: Duration = Duration::from_millis(500);
const HEALTHY_EVERY: u64 = 10;

impl BackendWatch {
    pub fn new(
        health: Arc<BackendHealth>,
        probe: Box<dyn Probe>,
        backend: String,
        role: &'static str,
    ) -> Self {
        Self {
            health,
            probe,
            backend,
            role,
            down_since: None,
            probing: false,
            ticks: 0,
        }
    }

    fn went_down(&mut self, error: String) {
        if let Ok(mut last) = self.health.last_error.lock() {
            *last = Some(error.clone());
        }
        if self.down_since.is_some() {
            return;
        }
        self.down_since = Some(Instant::now());
        self.health.outages.fetch_add(1, Ordering::Relaxed);
        self.health.degraded.store(true, Ordering::Release);
        let consequence = match self.role {
            "response cache" => "requests go upstream uncached until it is back",
            _ => "this instance uses its own state until it is back",
        };
        tracing::warn!(
            backend = %self.backend,
            error = %error,
            "{} unreachable: {consequence}",
            self.role
        );
    }

    fn came_back(&mut self) {
        let Some(since) = self.down_since.take() else {
            return;
        };
        self.health.recoveries.fetch_add(1, Ordering::AcqRel);
        self.health.degraded.store(false, Ordering::Release);
        tracing::info!(
            backend = %self.backend,
            outage_s = since.elapsed().as_secs_f64(),
            "{} reachable again",
            self.role
        );
    }

    fn probe(&mut self, ctx: &mut Context<Self>) {
        if self.probing {
            return;
        }
        self.probing = true;
        let fut = self.probe.ping();
        ctx.spawn(fut.into_actor(self).map(|result, actor, _| {
            actor.probing = false;
            match result {
                Ok(()) => actor.came_back(),
                Err(e) => actor.went_down(e),
            }
        }));
    }
}

impl Actor for BackendWatch {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(crate::MAILBOX_CAPACITY);
        self.probe(ctx);
        ctx.run_interval(TICK, |actor, ctx| {
            actor.ticks += 1;
            if actor.down_since.is_some() || actor.ticks % HEALTHY_EVERY == 0 {
                actor.probe(ctx);
            }
        });
    }
}

/// A worker's lookup or store failed (error or timeout).
#[derive(Message)]
#[rtype(result = "()")]
pub struct BackendFailed {
    pub error: String,
}

impl Handler<BackendFailed> for BackendWatch {
    type Result = ();

    fn handle(&mut self, msg: BackendFailed, ctx: &mut Self::Context) {
        let was_down = self.down_since.is_some();
        self.went_down(msg.error);
        if !was_down {
            // Confirm at once: a lone timeout under load should not keep the cache off for long.
            self.probe(ctx);
        }
    }
}
