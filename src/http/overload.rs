//! Overload stays bounded: a cap on webhooks in flight and a bounded line
//! of waiting ones; anything beyond is answered 503 at once.
//!
//! Policy: at most `max_inflight_webhooks` webhook requests are handled at
//! once; up to `max_queued_webhooks` more wait for a turn, each at most
//! `queue_wait`. A request that finds the line full, or waits out its
//! turn, is answered `503` with `Retry-After: 1` without its body being
//! read: Twilio retries a 5xx webhook, and meanwhile the ones accepted are
//! served at the speed of an unloaded instance instead of all of them
//! slowing until the carrier gives up (15 s) on every one. Memory and
//! tasks are bounded by the two caps, whatever the offered rate; when the
//! burst passes, nothing is left over (the line empties, the 503s stop).
//!
//! Jobs are not held in memory: they are rows, and the worker claims at
//! most `worker_concurrency` of them at a time, so a burst of accepted
//! webhooks grows the jobs table, not the process.
//!
//! The ops endpoints and the admin API are not limited: `/readyz` and
//! `/metrics` must answer during a burst, to show it.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub struct Overload {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    wait: Duration,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Overload {
    pub fn new(
        http: &crate::config::HttpConfig,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Arc<Overload> {
        Arc::new(Overload {
            turns: Arc::new(Semaphore::new(http.max_inflight_webhooks)),
            waiting: AtomicUsize::new(0),
            max_waiting: http.max_queued_webhooks,
            wait: http.queue_wait,
            metrics,
        })
    }

    fn shed(&self, why: &'static str) -> Response {
        self.metrics
            .inc("ringback_webhooks_shed_total", &[("reason", why)]);
        super::error::try_again_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded: too many webhooks at once; retry",
            1,
        )
    }
}

/// Decrements the line's count however the wait ends.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The middleware (applies to `/webhooks/…` only).
pub async fn webhooks(State(o): State<Arc<Overload>>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/webhooks/") {
        return next.run(req).await;
    }
    let turn = match o.turns.clone().try_acquire_owned() {
        Ok(t) => t,
        Err(_) => {
            // Join the line if there is room in it.
            if o.waiting.fetch_add(1, Ordering::SeqCst) >= o.max_waiting {
                o.waiting.fetch_sub(1, Ordering::SeqCst);
                return o.shed("queue_full");
            }
            let _in_line = InLine(&o.waiting);
            match tokio::time::timeout(o.wait, o.turns.clone().acquire_owned()).await {
                Ok(Ok(t)) => t,
                _ => return o.shed("waited_too_long"),
            }
        }
    };
    let resp = next.run(req).await;
    drop(turn);
    resp
}

impl Overload {
    /// Webhooks being handled now and waiting for a turn (`/metrics`).
    pub fn load(&self, max_inflight: usize) -> (usize, usize) {
        (
            max_inflight - self.turns.available_permits(),
            self.waiting.load(Ordering::SeqCst),
        )
    }
}
