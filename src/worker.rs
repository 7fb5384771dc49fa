//! The worker: claims due jobs and runs them. It is the only code that calls
//! a provider's send API ("one door out").
//!
//! It does not poll on a fixed beat. After each batch it asks the store when
//! the next job falls due and sleeps until then — or until something is
//! enqueued (`wake`), the test clock jumps, or shutdown is requested.
//!
//! A send goes: load the message → compliance gate → `begin_send` (fence,
//! consent and status checked atomically, message marked `sending`) →
//! provider call outside any transaction → record the outcome. A crash after
//! the carrier accepted the text but before we recorded it leaves the message
//! `sending`; the next attempt first looks for it in the carrier's list.

use crate::clock::Clock;
use crate::compliance::{self, Outgoing, Verdict};
use crate::config::Config;
use crate::domain::{mask, ConsentAction};
use crate::engine::retry_delay;
use crate::metrics::Metrics;
use crate::provider::{twilio::codes, OutboundSms, Provider, SendError};
use crate::store::{BeginSend, Job, Store};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{watch, Notify, Semaphore};

pub const SEND_MESSAGE: &str = "send_message";

/// Payload of a `send_message` job.
#[derive(Debug, Serialize, Deserialize)]
pub struct SendMessage {
    pub message_id: i64,
}

/// Everything the worker needs.
#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    pub provider: Arc<dyn Provider>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Poked whenever a job is enqueued.
    pub wake: Arc<Notify>,
    /// Where carriers should post delivery updates.
    pub status_callback: Option<String>,
}

impl Worker {
    /// Runs until `shutdown` turns true, then lets in-flight jobs finish.
    /// Jobs not finished by then keep their lease, which simply expires:
    /// another worker (or this one after a restart) picks them up.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let limit = self.config.service.worker_concurrency;
        let permits = Arc::new(Semaphore::new(limit));
        let mut failures = 0u32;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let free = permits.available_permits();
            if free == 0 {
                // Wait for one job to finish before claiming more.
                tokio::select! {
                    p = permits.clone().acquire_owned() => drop(p),
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let now = self.clock.now();
            let claimed = self.store.claim_jobs(now, now + self.config.service.lease, free as i64).await;
            match claimed {
                Err(e) => {
                    failures += 1;
                    let backoff = std::time::Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                    tracing::error!(error = %e, retry_in_ms = backoff.as_millis() as u64, "worker cannot claim jobs; backing off");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Ok(jobs) if jobs.is_empty() => {
                    failures = 0;
                    self.wait_for_work(&mut shutdown).await;
                }
                Ok(jobs) => {
                    failures = 0;
                    for job in jobs {
                        let permit = permits.clone().acquire_owned().await.expect("semaphore is never closed");
                        let w = self.clone();
                        tokio::spawn(async move {
                            w.run_job(job).await;
                            drop(permit);
                        });
                    }
                }
            }
        }
        // Graceful: wait for in-flight jobs (bounded by the provider timeout).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(20), permits.acquire_many(limit as u32)).await;
        tracing::info!("worker stopped");
    }

    async fn wait_for_work(&self, shutdown: &mut watch::Receiver<bool>) {
        // Register for a clock jump *before* reading the time, so a jump
        // between the read and the wait is not missed.
        let jump = self.clock.changed();
        let jumped = async {
            match &jump {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(jumped);
        if let Some(n) = &jump {
            // Polling once enables the `notified()` future inside.
            let _ = futures::poll!(jumped.as_mut());
            let _ = n;
        }
        let max_nap = std::time::Duration::from_secs(30);
        let nap = match self.store.next_due().await {
            Ok(Some(due)) => (due - self.clock.now()).to_std().unwrap_or_default().min(max_nap),
            Ok(None) => max_nap,
            Err(_) => std::time::Duration::from_secs(1),
        };
        if nap.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = self.wake.notified() => {}
            _ = &mut jumped => {}
            _ = shutdown.changed() => {}
        }
    }

    /// Runs one claimed job. Errors are recorded on the job, never lost.
    pub async fn run_job(&self, job: Job) {
        let result = match job.kind.as_str() {
            SEND_MESSAGE => self.send_message(&job).await,
            other => {
                let now = self.clock.now();
                let _ = self.store.fail_job(&job, &format!("unknown job kind {other:?}"), now).await;
                Ok(())
            }
        };
        if let Err(e) = result {
            // A store error mid-job: leave the lease to expire; the job will
            // be claimed again and every step is idempotent.
            tracing::error!(job = job.id, kind = %job.kind, error = %e, "job interrupted by a store error; it will be retried");
        }
    }

    async fn send_message(&self, job: &Job) -> crate::store::Result<()> {
        let now = self.clock.now();
        let Ok(SendMessage { message_id }) = serde_json::from_str(&job.payload) else {
            self.store.fail_job(job, "unreadable payload", now).await?;
            return Ok(());
        };
        let Some(msg) = self.store.message(message_id).await? else {
            self.store.fail_job(job, "message not found", now).await?;
            return Ok(());
        };
        let business = self.config.business(&msg.business_id);
        match compliance::check(&Outgoing { kind: msg.kind, to: &msg.to, from: &msg.from, business, now }) {
            Verdict::Allow => {}
            Verdict::Hold { until, reason } => {
                self.metrics.inc("ringback_texts_total", &[("outcome", "held")]);
                tracing::info!(message_id = msg.id, reason, until = %until, "text held by the compliance gate");
                self.store.retry_job(job, until, Some(reason), false, now).await?;
                return Ok(());
            }
            Verdict::Refuse(reason) => {
                tracing::warn!(message_id = msg.id, to = %mask(&msg.to), reason, "text refused by the compliance gate");
                self.suppress(job, msg.id, reason).await?;
                return Ok(());
            }
        }
        let (begin, _) = self.store.begin_send(job, message_id, now).await?;
        let in_doubt = match begin {
            BeginSend::Go { in_doubt } => in_doubt,
            BeginSend::LostLease => {
                tracing::warn!(job = job.id, "lease lost before sending; another worker owns this job");
                return Ok(());
            }
            BeginSend::NotSendable(status) => {
                tracing::debug!(message_id = msg.id, %status, "message no longer wants sending");
                self.store.complete_job(job, now).await?;
                return Ok(());
            }
            BeginSend::OptedOut => {
                self.metrics.inc("ringback_texts_total", &[("outcome", "suppressed")]);
                self.metrics.inc("ringback_suppressed_total", &[("reason", "opted_out")]);
                tracing::info!(message_id = msg.id, to = %mask(&msg.to), "recipient opted out; text suppressed at send time");
                self.store.complete_job(job, now).await?;
                return Ok(());
            }
        };
        let sms = OutboundSms {
            to: msg.to.clone(),
            from: msg.from.clone(),
            body: msg.body.clone(),
            status_callback: self.status_callback.clone(),
        };
        if in_doubt {
            // An earlier attempt may have reached the carrier. Look before
            // sending again.
            let since = msg.send_started_at.unwrap_or(msg.created_at);
            match self.provider.find_sent(&sms, since).await {
                Ok(Some(receipt)) => {
                    tracing::info!(message_id = msg.id, sid = %receipt.provider_sid, "in-doubt send found at the carrier; not sending again");
                    self.store.record_sent(job, msg.id, self.provider.name(), &receipt.provider_sid, self.clock.now()).await?;
                    self.metrics.inc("ringback_texts_total", &[("outcome", "reconciled")]);
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => return self.after_error(job, msg.id, e, true).await,
            }
        }
        let started = std::time::Instant::now();
        let result = self.provider.send_sms(&sms).await;
        self.metrics.observe("ringback_send_duration_seconds", started.elapsed().as_secs_f64());
        let now = self.clock.now();
        match result {
            Ok(receipt) => {
                self.store.record_sent(job, msg.id, self.provider.name(), &receipt.provider_sid, now).await?;
                self.metrics.inc("ringback_texts_total", &[("outcome", "sent")]);
                let delay = (now - msg.trigger_at).num_milliseconds().max(0) as f64 / 1000.0;
                self.metrics.observe("ringback_text_delay_seconds", delay);
                tracing::info!(message_id = msg.id, kind = %msg.kind, to = %mask(&msg.to), sid = %receipt.provider_sid, "text sent");
                Ok(())
            }
            Err(e) => self.after_error(job, msg.id, e, in_doubt).await,
        }
    }

    async fn suppress(&self, job: &Job, message_id: i64, reason: &str) -> crate::store::Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let changed = sqlx::query("UPDATE messages SET status = 'suppressed', suppress_reason = $2, updated_at = $3 WHERE id = $1 AND status IN ('queued', 'sending')")
            .bind(message_id)
            .bind(reason)
            .bind(crate::clock::to_ms(now))
            .execute(tx.conn())
            .await?
            .rows_affected();
        tx.commit().await?;
        self.store.complete_job(job, now).await?;
        // Count each message once, even if a reclaimed job gets here twice.
        if changed == 1 {
            self.metrics.inc("ringback_texts_total", &[("outcome", "suppressed")]);
            self.metrics.inc("ringback_suppressed_total", &[("reason", reason)]);
        }
        Ok(())
    }

    async fn after_error(&self, job: &Job, message_id: i64, err: SendError, was_in_doubt: bool) -> crate::store::Result<()> {
        let now = self.clock.now();
        match err {
            SendError::Retryable { message, retry_after, in_doubt } => {
                let still_in_doubt = in_doubt || was_in_doubt;
                self.store.record_send_error(message_id, !still_in_doubt, None, &message, now).await?;
                if job.attempts >= job.max_attempts {
                    tracing::error!(message_id = message_id, attempts = job.attempts, error = %message, "giving up on a text after its last attempt");
                    self.store.record_send_failed(job, message_id, "retries_exhausted", &message, now).await?;
                    self.metrics.inc("ringback_texts_total", &[("outcome", "failed")]);
                    return Ok(());
                }
                let delay = retry_delay(job.attempts, retry_after, rand::random::<f64>());
                tracing::warn!(message_id = message_id, attempt = job.attempts, retry_in_ms = delay.num_milliseconds(), error = %message, "send failed; will retry");
                self.metrics.inc("ringback_texts_total", &[("outcome", "retried")]);
                self.store.retry_job(job, now + delay, Some(&message), true, now).await?;
            }
            SendError::Permanent { code, message } => {
                tracing::error!(message_id = message_id, code = %code, error = %message, "carrier refused a text for good; not retrying");
                self.store.record_send_failed(job, message_id, &code, &message, now).await?;
                self.metrics.inc("ringback_texts_total", &[("outcome", "failed")]);
                self.on_permanent_error(message_id, &code).await?;
            }
        }
        Ok(())
    }

    /// What a permanent carrier error teaches us about the number or sender.
    async fn on_permanent_error(&self, message_id: i64, code: &str) -> crate::store::Result<()> {
        let Some(msg) = self.store.message(message_id).await? else { return Ok(()) };
        let now = self.clock.now();
        match code {
            codes::UNSUBSCRIBED => {
                let mut tx = self.store.begin().await?;
                tx.record_consent(&msg.business_id, &msg.to, ConsentAction::OptOut, "carrier_21610", None, now).await?;
                tx.commit().await?;
                tracing::warn!(to = %mask(&msg.to), "carrier says the number unsubscribed (21610); recorded as opted out");
            }
            codes::INVALID_TO | codes::NOT_MOBILE | codes::LANDLINE | codes::LANDLINE_UNREACHABLE => {
                let mut tx = self.store.begin().await?;
                tx.mark_unreachable(&msg.business_id, &msg.to, code, now).await?;
                tx.commit().await?;
            }
            codes::UNREGISTERED_SENDER | codes::FILTERED | codes::TOLL_FREE_UNVERIFIED => {
                self.metrics.inc("ringback_sender_at_risk_total", &[("sender", &msg.from), ("code", code)]);
                tracing::error!(sender = %msg.from, code, "sending number is at risk: check its A2P 10DLC / toll-free registration");
            }
            _ => {}
        }
        Ok(())
    }
}

/// The status-callback URL for outbound texts, if we know our public URL.
pub fn status_callback_url(public_url: Option<&str>) -> Option<String> {
    public_url.map(|u| format!("{u}/webhooks/twilio/sms/status"))
}

/// A send job for a freshly inserted outbound message.
pub fn send_job(message_id: i64, lead_id: Option<i64>, run_at: chrono::DateTime<chrono::Utc>, max_attempts: i64) -> crate::store::NewJob {
    crate::store::NewJob {
        kind: SEND_MESSAGE,
        lead_id,
        unique_key: format!("send:{message_id}"),
        payload: serde_json::to_string(&SendMessage { message_id }).expect("serialises"),
        run_at,
        max_attempts,
    }
}
