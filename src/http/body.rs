//! Reading a request body within bounds: its size (`max_request_size_mb`), the pause between two
//! of its pieces and its total time (a body shorter than its `Content-Length`, or sent a byte at
//! a time, must not hold a connection forever), and a budget for all bodies held at once (forty
//! 31 MB bodies must not take the process to 1.3 GB).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest};
use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, StreamExt};

use crate::error::GatewayError;
use crate::settings::GatewayConfig;

/// A body may take at most this many client body timeouts in all.
const TOTAL_TIMEOUTS: u32 = 10;
/// What a client is told to wait before trying again when the budget is spent.
const BUSY_RETRY_AFTER_S: u64 = 1;

/// Bytes of request bodies held by requests in flight, across every worker.
#[derive(Default)]
pub struct BodyBudget {
    held: AtomicUsize,
}

/// A request's share of the budget, returned when the request is done.
pub struct BodyPermit {
    budget: Arc<BodyBudget>,
    bytes: usize,
}

impl BodyBudget {
    /// Takes `more` bytes for `permit` when they fit under `limit`.
    fn grow(permit: &mut BodyPermit, more: usize, limit: usize) -> Result<(), GatewayError> {
        let held = &permit.budget.held;
        let mut now = held.load(Ordering::Relaxed);
        loop {
            let next = now.saturating_add(more);
            if next > limit {
                return Err(GatewayError::Overloaded {
                    message: "the gateway is holding as many request bodies as it may \
                              (switchyard_settings.max_buffered_request_mb); try again shortly"
                        .into(),
                    retry_after: BUSY_RETRY_AFTER_S,
                });
            }
            match held.compare_exchange_weak(now, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => {
                    permit.bytes += more;
                    return Ok(());
                }
                Err(actual) => now = actual,
            }
        }
    }

    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

impl Drop for BodyPermit {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Reads the body within every bound; the permit holds its bytes in the budget until dropped.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    cfg: &GatewayConfig,
    budget: &Arc<BodyBudget>,
) -> Result<(Bytes, BodyPermit), GatewayError> {
    let limit = cfg.max_request_bytes;
    let budget_limit = cfg.limits.max_buffered_request_bytes;
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    let mut permit = BodyPermit {
        budget: budget.clone(),
        bytes: 0,
    };
    // A declared length is reserved whole, up front: the bytes are coming.
    if let Some(n) = declared {
        BodyBudget::grow(&mut permit, n, budget_limit)?;
    }
    let idle = cfg.limits.client_body_timeout.duration();
    // The total bound starts at the first wait: most bodies never wait.
    let mut deadline = None;
    let mut body = BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    loop {
        // Most bodies are already in the first read: no timer for a piece that is there.
        let ready = payload.next().now_or_never();
        let next = match ready {
            Some(item) => item,
            None => {
                let now = tokio::time::Instant::now();
                let until =
                    *deadline.get_or_insert_with(|| now + idle.saturating_mul(TOTAL_TIMEOUTS));
                let wait = idle.min(until.saturating_duration_since(now));
                match tokio::time::timeout(wait, payload.next()).await {
                    Err(_) => return Err(body_timeout(idle)),
                    Ok(item) => item,
                }
            }
        };
        let Some(next) = next else {
            break;
        };
        let chunk =
            next.map_err(|e| GatewayError::InvalidJson(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(GatewayError::PayloadTooLarge { limit });
        }
        let beyond = (body.len() + chunk.len()).saturating_sub(permit.bytes);
        if beyond > 0 {
            BodyBudget::grow(&mut permit, beyond, budget_limit)?;
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), permit))
}

fn body_timeout(idle: Duration) -> GatewayError {
    GatewayError::RequestTimeout(format!(
        "the request body did not arrive in time (more than {}s without data, or more than {}s in all; \
         switchyard_settings.client_body_timeout_seconds)",
        idle.as_secs_f64(),
        idle.saturating_mul(TOTAL_TIMEOUTS).as_secs_f64()
    ))
}
