//! The state-sync actor: publishes the cooldowns this instance's deployment actors decide, and
//! every 250 ms reads every deployment's shared cooldown and token count and hands them to the
//! deployment actors, which alone apply them to their gates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use redis::aio::MultiplexedConnection;
use switchyard_actors::backend_watch::{BackendFailed, BackendHealth, BackendWatch};
use switchyard_actors::clock::{
    local_end_of_unix_minute, local_from_unix, now_ms, unix_from_local, unix_ms,
};
use switchyard_actors::deployment::{ClusterState, CooldownDecided, DeploymentActor};

use super::{cooldown_key, tpm_key};
use crate::metrics::redis_ops::{self, RedisCall};
use crate::redis_link::{describe, RedisEndpoint};

const TICK: Duration = Duration::from_millis(250);

/// A deployment the sync reports on.
pub struct Tracked {
    pub id: String,
    pub actor: Addr<DeploymentActor>,
    pub tpm: bool,
}

pub struct StateSync {
    endpoint: RedisEndpoint,
    watch: Addr<BackendWatch>,
    health: Arc<BackendHealth>,
    conn: Option<MultiplexedConnection>,
    connecting: bool,
    reading: bool,
    tracked: Arc<Vec<Tracked>>,
    /// Cooldowns decided while there was no connection yet, published once there is one.
    pending: Vec<CooldownDecided>,
    /// When (`now_ms`) the last read of the shared state answered; 0 before the first.
    last_read_ms: Arc<AtomicU64>,
    /// The version of the deployments added over the API, read with the rest.
    deployments_version: tokio::sync::watch::Sender<u64>,
}

/// Cooldowns kept while Redis is unreachable; older ones are dropped.
const MAX_PENDING: usize = 1024;

impl StateSync {
    pub fn new(
        endpoint: RedisEndpoint,
        watch: Addr<BackendWatch>,
        health: Arc<BackendHealth>,
        last_read_ms: Arc<AtomicU64>,
        deployments_version: tokio::sync::watch::Sender<u64>,
    ) -> Self {
        Self {
            last_read_ms,
            deployments_version,
            endpoint,
            watch,
            health,
            conn: None,
            connecting: false,
            reading: false,
            tracked: Arc::new(Vec::new()),
            pending: Vec::new(),
        }
    }

    fn failed(&mut self, error: String) {
        self.conn = None;
        self.watch.do_send(BackendFailed { error });
    }

    /// The connection, opening it in the background when there is none (then `None` for now).
    fn connection(&mut self, ctx: &mut Context<Self>) -> Option<MultiplexedConnection> {
        if let Some(c) = &self.conn {
            return Some(c.clone());
        }
        if !self.connecting && !self.health.degraded() {
            self.connecting = true;
            let endpoint = self.endpoint.clone();
            ctx.spawn(
                async move { endpoint.connect().await }
                    .into_actor(self)
                    .map(|result, act, ctx| {
                        act.connecting = false;
                        match result {
                            Ok(c) => {
                                act.conn = Some(c);
                                for msg in std::mem::take(&mut act.pending) {
                                    act.publish(msg, ctx);
                                }
                            }
                            Err(e) => act.failed(e),
                        }
                    }),
            );
        }
        None
    }

    fn read(&mut self, ctx: &mut Context<Self>) {
        if self.reading {
            return;
        }
        if self.health.degraded() {
            // The watch actor probes; reconnect once it has seen Redis answer.
            self.conn = None;
            return;
        }
        let Some(mut conn) = self.connection(ctx) else {
            return;
        };
        let now = now_ms();
        let minute = unix_ms() / 60_000;
        let minute_ends = local_end_of_unix_minute();
        let mut keys = Vec::with_capacity(self.tracked.len() * 2 + 1);
        keys.push(super::DEPLOYMENTS_VERSION_KEY.to_string());
        for t in self.tracked.iter() {
            keys.push(cooldown_key(&t.id));
            if t.tpm {
                keys.push(tpm_key(&t.id, minute));
            }
        }
        self.reading = true;
        let tracked = self.tracked.clone();
        ctx.spawn(
            async move {
                let started = Instant::now();
                let mut cmd = redis::cmd("MGET");
                cmd.arg(&keys);
                let reply: redis::RedisResult<Vec<Option<u64>>> = cmd.query_async(&mut conn).await;
                redis_ops::observe(RedisCall::SyncRead, started.elapsed(), &reply);
                reply
            }
            .into_actor(self)
            .map(move |reply, act, _| {
                act.reading = false;
                let values = match reply {
                    Ok(v) => v,
                    Err(e) => return act.failed(describe(e)),
                };
                act.last_read_ms.store(now_ms(), Ordering::Release);
                let mut it = values.into_iter();
                let version = it.next().flatten().unwrap_or(0);
                act.deployments_version.send_if_modified(|v| {
                    let changed = *v != version;
                    *v = version;
                    changed
                });
                for t in tracked.iter() {
                    let cooldown = it.next().flatten().map(local_from_unix);
                    let tokens = if t.tpm { it.next().flatten() } else { None };
                    if cooldown.is_some() || tokens.is_some() {
                        t.actor.do_send(ClusterState {
                            cooldown_until_ms: cooldown,
                            tokens: tokens.map(|n| (minute_ends, n)),
                            now_ms: now,
                        });
                    }
                }
            }),
        );
    }
}

impl Actor for StateSync {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(switchyard_actors::MAILBOX_CAPACITY);
        ctx.run_interval(TICK, |act, ctx| act.read(ctx));
    }
}

/// The deployments to report on, once their actors exist.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Track(pub Vec<Tracked>);

impl Handler<Track> for StateSync {
    type Result = ();

    fn handle(&mut self, msg: Track, ctx: &mut Self::Context) {
        self.tracked = Arc::new(msg.0);
        self.read(ctx);
    }
}

impl Handler<CooldownDecided> for StateSync {
    type Result = ();

    fn handle(&mut self, msg: CooldownDecided, ctx: &mut Self::Context) {
        self.publish(msg, ctx);
    }
}

impl StateSync {
    fn publish(&mut self, msg: CooldownDecided, ctx: &mut Context<Self>) {
        let Some(mut conn) = self.connection(ctx) else {
            if self.pending.len() >= MAX_PENDING {
                // The oldest goes: the length was just checked to be positive.
                #[allow(clippy::disallowed_methods)]
                self.pending.remove(0);
            }
            self.pending.push(msg);
            return;
        };
        let ttl = msg.until_ms.saturating_sub(now_ms()).max(1);
        // Other instances read the deadline on their own clocks: share it as wall-clock time.
        let until_unix = unix_from_local(msg.until_ms);
        ctx.spawn(
            async move {
                let started = Instant::now();
                let reply: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(cooldown_key(&msg.deployment_id))
                    .arg(until_unix)
                    .arg("PX")
                    .arg(ttl)
                    .query_async(&mut conn)
                    .await;
                redis_ops::observe(RedisCall::SyncWrite, started.elapsed(), &reply);
                reply
            }
            .into_actor(self)
            .map(|reply, act, _| {
                if let Err(e) = reply {
                    act.failed(describe(e));
                }
            }),
        );
    }
}
