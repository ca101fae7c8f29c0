//! Router state shared by every instance through Redis: cooldowns and rpm/tpm usage, so
//! instances behind nginx or in a SLURM array behave as one gateway.
//!
//! Redis operations:
//! - per request to a deployment with `rpm`: one round trip (INCRBY + PEXPIRE, pipelined) to
//!   count it in the cluster-wide minute window; over the limit, the deployment is refused on
//!   this instance until the minute ends and the router picks another;
//! - per answer from a deployment with `tpm`: one fire-and-forget INCRBY + PEXPIRE of its tokens;
//! - per cooldown decided: one SET with the deadline (PX = its length);
//!
//! Everything shared is in wall-clock time (minute windows, cooldown deadlines), converted to
//! and from each process's monotonic clock at the edge.
//! - per instance, every 250 ms: one MGET of every deployment's cooldown (and tpm) key, applied
//!   by the deployment actors.
//!
//! Deployments without `rpm`/`tpm` cost no Redis operation per request. If Redis is down, each
//! instance falls back to its own state (and logs it once).

pub mod sync;

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, Arbiter, Recipient};
use serde_json::{json, Value};
use switchyard_actors::backend_watch::{BackendHealth, BackendWatch};
use switchyard_actors::clock::unix_ms;
use switchyard_actors::deployment::CooldownDecided;

use crate::redis_link::{RedisEndpoint, RedisLink, RedisProbe};
use crate::settings::shared_state::SharedStateSettings;
use sync::StateSync;

pub const KEY_PREFIX: &str = "switchyard:";

pub fn cooldown_key(id: &str) -> String {
    format!("{KEY_PREFIX}cooldown:{id}")
}

pub fn rpm_key(id: &str, minute: u64) -> String {
    format!("{KEY_PREFIX}rpm:{id}:{minute}")
}

pub fn tpm_key(id: &str, minute: u64) -> String {
    format!("{KEY_PREFIX}tpm:{id}:{minute}")
}

/// Deployments added over the API (`/model/new`): id -> `{"seq": .., "entry": ..}`; the version
/// key changes with every change, which each instance's sync reads every 250 ms.
pub const DEPLOYMENTS_KEY: &str = "switchyard:deployments";
pub const DEPLOYMENTS_VERSION_KEY: &str = "switchyard:deployments:version";

/// Window keys outlive their minute a little, so late readers still see them.
const WINDOW_TTL: Duration = Duration::from_secs(120);

pub struct SharedState {
    pub settings: SharedStateSettings,
    pub health: Arc<BackendHealth>,
    endpoint: RedisEndpoint,
    watch: Addr<BackendWatch>,
    pub sync: Addr<StateSync>,
    /// When (`now_ms`) the sync last read the shared state; 0 before the first read.
    last_read_ms: Arc<AtomicU64>,
    /// The version of the deployments added over the API, as the sync last read it.
    pub deployments_version: tokio::sync::watch::Receiver<u64>,
}

impl SharedState {
    /// Starts the watch and sync actors on an arbiter of their own.
    pub fn start(settings: SharedStateSettings) -> Result<Arc<Self>, String> {
        let endpoint = RedisEndpoint::new(
            settings.target.url.expose(),
            settings.op_timeout,
            settings.connect_timeout,
        )?;
        let health = Arc::new(BackendHealth::default());
        let arbiter = Arbiter::new().handle();
        let (probe, h, display) = (
            endpoint.clone(),
            health.clone(),
            settings.target.display.clone(),
        );
        let watch = BackendWatch::start_in_arbiter(&arbiter, move |_| {
            BackendWatch::new(
                h,
                Box::new(RedisProbe::new(probe)),
                display,
                "shared router state",
            )
        });
        let last_read_ms = Arc::new(AtomicU64::new(0));
        let (version_tx, deployments_version) = tokio::sync::watch::channel(0);
        let (e, w, h, l) = (
            endpoint.clone(),
            watch.clone(),
            health.clone(),
            last_read_ms.clone(),
        );
        let sync =
            StateSync::start_in_arbiter(&arbiter, move |_| StateSync::new(e, w, h, l, version_tx));
        Ok(Arc::new(Self {
            settings,
            health,
            endpoint,
            watch,
            sync,
            last_read_ms,
            deployments_version,
        }))
    }

    pub fn publisher(&self) -> Recipient<CooldownDecided> {
        self.sync.clone().recipient()
    }

    /// Stores (or replaces) a deployment added over the API, for every instance.
    pub async fn save_deployment(&self, id: &str, entry: &Value) -> Result<(), String> {
        let record = json!({"seq": unix_ms(), "entry": entry}).to_string();
        let mut change = redis::cmd("HSET");
        change.arg(DEPLOYMENTS_KEY).arg(id).arg(record);
        self.change_deployments(change).await
    }

    pub async fn delete_deployment(&self, id: &str) -> Result<(), String> {
        let mut change = redis::cmd("HDEL");
        change.arg(DEPLOYMENTS_KEY).arg(id);
        self.change_deployments(change).await
    }

    /// A change to the deployments' hash and a new version, in one transaction (the version
    /// is what the other instances watch).
    async fn change_deployments(&self, change: redis::Cmd) -> Result<(), String> {
        let mut conn = self.endpoint.connect().await?;
        let reply: redis::RedisResult<()> = redis::pipe()
            .atomic()
            .add_command(change)
            .ignore()
            .cmd("INCR")
            .arg(DEPLOYMENTS_VERSION_KEY)
            .ignore()
            .query_async(&mut conn)
            .await;
        reply.map_err(crate::redis_link::describe)
    }

    /// Every deployment added over the API, in the order they were added: (id, entry).
    /// Records that do not parse are skipped (and logged).
    pub async fn deployments(&self) -> Result<Vec<(String, Value)>, String> {
        let mut conn = self.endpoint.connect().await?;
        let reply: redis::RedisResult<Vec<(String, String)>> = redis::cmd("HGETALL")
            .arg(DEPLOYMENTS_KEY)
            .query_async(&mut conn)
            .await;
        let mut records: Vec<(u64, String, Value)> = reply
            .map_err(crate::redis_link::describe)?
            .into_iter()
            .filter_map(|(id, raw)| {
                let parsed = serde_json::from_str::<Value>(&raw).ok().and_then(|v| {
                    let seq = v.get("seq")?.as_u64()?;
                    Some((seq, v.get("entry")?.clone()))
                });
                if parsed.is_none() {
                    tracing::warn!(deployment = %id, "a shared deployment record is not readable: skipped");
                }
                parsed.map(|(seq, entry)| (seq, id, entry))
            })
            .collect();
        records.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        Ok(records.into_iter().map(|(_, id, e)| (id, e)).collect())
    }

    /// Seconds since the sync last read every deployment's shared state; `None` before the
    /// first read.
    pub fn sync_age_seconds(&self, now_ms: u64) -> Option<f64> {
        let at = self.last_read_ms.load(Ordering::Acquire);
        (at > 0).then(|| crate::metrics::millis_as_seconds(now_ms.saturating_sub(at)))
    }

    /// `detailed`: the Redis address too (only for callers with the master key).
    pub fn report(&self, detailed: bool) -> Value {
        let mut v = json!({
            "status": if self.health.degraded() { "degraded" } else { "healthy" },
        });
        if detailed {
            crate::json::set(&mut v, "redis", json!(self.settings.target.display));
        }
        v
    }
}

/// One worker's handle: its own Redis connection for the per-request counts.
#[derive(Clone)]
pub struct WorkerShared {
    link: Rc<RedisLink>,
}

impl WorkerShared {
    pub fn new(shared: &SharedState) -> Self {
        Self {
            link: Rc::new(RedisLink::new(
                shared.endpoint.clone(),
                shared.health.clone(),
                shared.watch.clone(),
            )),
        }
    }

    /// The worker's Redis connection, for other cluster-wide state (kept responses).
    pub fn link(&self) -> Rc<RedisLink> {
        self.link.clone()
    }

    /// Counts a request to a deployment in the cluster-wide (wall-clock) minute window; the
    /// count so far, or `None` when Redis could not say (then local limits alone apply).
    pub async fn count_request(&self, id: &str) -> Option<u64> {
        let key = rpm_key(id, unix_ms() / 60_000);
        self.link.incr_window(&key, 1, WINDOW_TTL).await.ok()
    }

    /// Adds an answer's tokens to the cluster-wide minute window, in the background.
    pub fn add_tokens(&self, id: &str, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let key = tpm_key(id, unix_ms() / 60_000);
        let link = self.link.clone();
        actix_web::rt::spawn(async move {
            let _ = link.incr_window(&key, tokens, WINDOW_TTL).await;
        });
    }
}
