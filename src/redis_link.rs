//! One worker thread's Redis connection (for the response cache, or the shared router state):
//! multiplexed (every request of the worker shares it, pipelined), bounded by the configured
//! timeouts, dropped on the first error and re-opened once the backend's watch actor has seen
//! Redis answer again. While Redis is down, calls are skipped outright, so an outage costs
//! requests nothing.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchyard_actors::clock::saturating_millis;

use actix::Addr;
use futures_util::future::{LocalBoxFuture, Shared};
use futures_util::FutureExt;
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;
use switchyard_actors::backend_watch::{BackendFailed, BackendHealth, BackendWatch, Probe};

use crate::metrics::redis_ops::{self, RedisCall, RedisFailure};

/// Least time between two connection attempts of one worker.
const RECONNECT_SPACING: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct RedisEndpoint {
    client: redis::Client,
    config: AsyncConnectionConfig,
}

impl RedisEndpoint {
    pub fn new(url: &str, op_timeout: Duration, connect_timeout: Duration) -> Result<Self, String> {
        // The URL holds the password: describe the failure without it.
        let client = redis::Client::open(url)
            .map_err(|e| format!("invalid Redis address: {}", describe(e)))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(op_timeout));
        Ok(Self { client, config })
    }

    pub async fn connect(&self) -> Result<MultiplexedConnection, String> {
        self.client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await
            .map_err(describe)
    }
}

/// A Redis error as logs may show it: its kind and detail, never the connection URL.
pub fn describe(e: redis::RedisError) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    if e.is_connection_refusal() {
        return "connection refused".into();
    }
    match e.detail() {
        Some(d) => format!("{:?}: {d}", e.kind()),
        None => format!("{:?}", e.kind()),
    }
}

/// A connection attempt every caller of the moment waits on (one attempt, not one each).
type Connecting = Shared<LocalBoxFuture<'static, Result<MultiplexedConnection, String>>>;

#[derive(Default)]
struct LinkState {
    conn: Option<MultiplexedConnection>,
    /// The actor's recovery count when `conn` was opened; a newer one means it may be stale.
    opened_at_recovery: u64,
    connecting: Option<Connecting>,
    last_attempt: Option<Instant>,
}

pub struct RedisLink {
    endpoint: RedisEndpoint,
    health: Arc<BackendHealth>,
    watch: Addr<BackendWatch>,
    state: RefCell<LinkState>,
}

impl RedisLink {
    pub fn new(
        endpoint: RedisEndpoint,
        health: Arc<BackendHealth>,
        watch: Addr<BackendWatch>,
    ) -> Self {
        Self {
            endpoint,
            health,
            watch,
            state: RefCell::default(),
        }
    }

    async fn connection(&self, call: RedisCall) -> Option<MultiplexedConnection> {
        if self.health.degraded() {
            return None;
        }
        let recoveries = self.health.recoveries();
        let attempt = {
            let mut s = self.state.borrow_mut();
            if s.conn.is_some() && s.opened_at_recovery != recoveries {
                s.conn = None;
            }
            if let Some(c) = &s.conn {
                return Some(c.clone());
            }
            match &s.connecting {
                // Requests arriving while the connection opens wait for it: skipping them would
                // leave them uncounted (rpm) or uncached.
                Some(pending) => pending.clone(),
                None => {
                    let recent = s
                        .last_attempt
                        .is_some_and(|t| t.elapsed() < RECONNECT_SPACING);
                    if recent {
                        return None;
                    }
                    let endpoint = self.endpoint.clone();
                    let pending = async move { endpoint.connect().await }
                        .boxed_local()
                        .shared();
                    s.connecting = Some(pending.clone());
                    s.last_attempt = Some(Instant::now());
                    pending
                }
            }
        };
        let result = attempt.await;
        let mut s = self.state.borrow_mut();
        s.connecting = None;
        match result {
            Ok(conn) => {
                if s.conn.is_none() {
                    s.conn = Some(conn.clone());
                    s.opened_at_recovery = recoveries;
                }
                Some(conn)
            }
            Err(e) => {
                drop(s);
                redis_ops::failed(call, RedisFailure::Connection);
                self.failed(e);
                None
            }
        }
    }

    fn failed(&self, error: String) {
        self.state.borrow_mut().conn = None;
        self.watch.do_send(BackendFailed { error });
    }

    /// `Ok(None)` on a miss; `Err` when Redis could not answer (skipped, failed or timed out).
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ()> {
        let Some(mut conn) = self.connection(RedisCall::Get).await else {
            return Err(());
        };
        let started = Instant::now();
        let reply: redis::RedisResult<Option<Vec<u8>>> =
            redis::cmd("GET").arg(key).query_async(&mut conn).await;
        redis_ops::observe(RedisCall::Get, started.elapsed(), &reply);
        reply.map_err(|e| self.failed(describe(e)))
    }

    /// Several values in one round trip.
    pub async fn mget(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, ()> {
        let Some(mut conn) = self.connection(RedisCall::BatchGet).await else {
            return Err(());
        };
        let started = Instant::now();
        let reply: redis::RedisResult<Vec<Option<Vec<u8>>>> =
            redis::cmd("MGET").arg(keys).query_async(&mut conn).await;
        redis_ops::observe(RedisCall::BatchGet, started.elapsed(), &reply);
        reply.map_err(|e| self.failed(describe(e)))
    }

    /// Counts one more in a fixed window: INCRBY and PEXPIRE in one round trip; the new count.
    pub async fn incr_window(&self, key: &str, by: u64, ttl: Duration) -> Result<u64, ()> {
        let Some(mut conn) = self.connection(RedisCall::Increment).await else {
            return Err(());
        };
        let started = Instant::now();
        let reply: redis::RedisResult<(u64, i64)> = redis::pipe()
            .cmd("INCRBY")
            .arg(key)
            .arg(by)
            .cmd("PEXPIRE")
            .arg(key)
            .arg(saturating_millis(ttl))
            .query_async(&mut conn)
            .await;
        redis_ops::observe(RedisCall::Increment, started.elapsed(), &reply);
        reply.map(|(n, _)| n).map_err(|e| self.failed(describe(e)))
    }

    pub async fn del(&self, key: &str) -> Result<(), ()> {
        let Some(mut conn) = self.connection(RedisCall::Delete).await else {
            return Err(());
        };
        let started = Instant::now();
        let reply: redis::RedisResult<()> = redis::cmd("DEL").arg(key).query_async(&mut conn).await;
        redis_ops::observe(RedisCall::Delete, started.elapsed(), &reply);
        reply.map_err(|e| self.failed(describe(e)))
    }

    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), ()> {
        let Some(mut conn) = self.connection(RedisCall::Set).await else {
            return Err(());
        };
        let started = Instant::now();
        let ms = saturating_millis(ttl).max(1);
        let reply: redis::RedisResult<()> = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("PX")
            .arg(ms)
            .query_async(&mut conn)
            .await;
        redis_ops::observe(RedisCall::Set, started.elapsed(), &reply);
        reply.map_err(|e| self.failed(describe(e)))
    }
}

/// The cache actor's own connection, used only to PING.
pub struct RedisProbe {
    endpoint: RedisEndpoint,
    conn: Rc<RefCell<Option<MultiplexedConnection>>>,
}

impl RedisProbe {
    pub fn new(endpoint: RedisEndpoint) -> Self {
        Self {
            endpoint,
            conn: Rc::default(),
        }
    }
}

impl Probe for RedisProbe {
    fn ping(&self) -> Pin<Box<dyn Future<Output = Result<(), String>>>> {
        let endpoint = self.endpoint.clone();
        let slot = self.conn.clone();
        Box::pin(async move {
            let existing = slot.borrow().clone();
            let mut conn = match existing {
                Some(c) => c,
                None => endpoint.connect().await?,
            };
            let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
            match pong {
                Ok(_) => {
                    *slot.borrow_mut() = Some(conn);
                    Ok(())
                }
                Err(e) => {
                    *slot.borrow_mut() = None;
                    Err(describe(e))
                }
            }
        })
    }
}
