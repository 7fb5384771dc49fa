//! The imperative shell: loads the facts, asks the core, applies its answer
//! in one transaction. Inbound events (calls, texts, receipts), the office's
//! actions, the escalation's bookkeeping, and the worker — the only code that
//! sends — live here. Everything that decides lives in [`crate::core`].

pub mod alerts;
pub mod carrier;
pub mod emergency;
pub mod inbound;
pub mod office;
pub mod outbox;
pub mod people;
pub mod reminders;
pub mod worker;

use crate::clock::Clock;
use crate::config::Config;
use crate::core::jobs::Scheduled;
use crate::metrics::Metrics;
use crate::store::{NewJob, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Notify;

/// The shell's handles on the running service: what inbound events, the
/// office and the worker need to load facts and apply the core's answers.
#[derive(Clone)]
pub struct Shell {
    pub config: Arc<Config>,
    /// The compiled rules: the classifier, the compliance gate's.
    pub policy: Arc<crate::core::Policy>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// Wakes the worker when a job is enqueued.
    pub wake: Arc<Notify>,
}

/// Schedules timers (follow-ups, cold checks, ack timeouts...) in `tx`.
/// Texts and calls are queued through [`outbox::queue`] instead.
pub async fn schedule(
    tx: &mut Tx,
    config: &Config,
    timers: &[Scheduled],
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let rows: Vec<NewJob> = timers
        .iter()
        .map(|s| NewJob::new(s, &config.service))
        .collect();
    tx.enqueue_many(&rows, now).await
}
