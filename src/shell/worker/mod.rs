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
use crate::config::Config;
use crate::core::compliance::{self, Outgoing, Verdict};
use crate::core::conversation::retry_delay;
use crate::domain::Message;
use crate::domain::{mask, MessageKind, MessageStatus};
use crate::metrics::Metrics;
use crate::provider::{OutboundSms, Provider, SendError};
use crate::store::{BeginSend, Dialect, Job, SentRecord, Store};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};

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
    /// Our public base URL (page calls report keypresses to it).
    pub public_url: Option<String>,
    /// The compiled rules: the compliance gate's (quiet hours, caps).
    pub policy: Arc<crate::core::Policy>,
    /// Per-sender throughput (messages per second, per instance).
    pub rates: Arc<crate::shell::worker::pacing::SenderRates>,
    /// Where the batch transactions run (claim, start, record), if not on
    /// the worker's own runtime: see [`Worker::in_writer_runtime`].
    pub writer_runtime: Option<tokio::runtime::Handle>,
    /// Calls to the carrier's send API in flight at once, across the
    /// worker (`worker_concurrency`): see [`Worker::send_slots`].
    pub send_slots: Arc<Semaphore>,
}

/// On SQLite, how many jobs the worker carries at once, claimed but not yet
/// recorded, per send slot (`worker_concurrency`). A job spends most of
/// that time waiting for SQLite's one writer (its claim, its start, its
/// record, each committed with other transactions), not in the carrier's
/// API; when one permit covered both, the permits ran out while the sends
/// themselves were far below `worker_concurrency`, and the texts fell
/// behind the calls (measured 2026-11-26, 5,000 calls/s for 60 s, the
/// webhooks' group commits held open 2 ms: 4,658–4,882 texts/s with four
/// jobs per send slot against 4,023–4,522 with one, drains of 5–13 s). On
/// PostgreSQL, one: its transactions run side by side on pooled
/// connections, and the jobs that are not sends (timers) each take a
/// connection, which more jobs at once would only queue for.
pub const JOBS_PER_SEND_SLOT_SQLITE: usize = 4;

impl Worker {
    /// The send slots for `worker_concurrency` sends in flight.
    pub fn send_slots(config: &Config) -> Arc<Semaphore> {
        Arc::new(Semaphore::new(config.service.worker_concurrency))
    }

    /// Runs one of the worker's batch transactions on `writer_runtime` (the
    /// runtime that serves webhooks) when the worker has a thread of its own
    /// (SQLite), and waits for it there.
    ///
    /// Why: SQLite's writer passes from one transaction to the next by
    /// waking the next in line, and a wake that crosses threads is slow
    /// when both cores are busy: the woken thread waits for the operating
    /// system to schedule it, and a task woken from outside a runtime waits
    /// for one of its threads to look at its queue from outside. Measured
    /// (2026-11-26, 5,000 calls/s offered, a build timing the writer's
    /// lock): the writer stood idle between holders for 9.9–11.8 s of each
    /// 150,000-call run when the worker's transactions ran on its own thread
    /// (handovers to and from it took 190–370 µs on average, against ~13 µs
    /// between webhooks), and 4.9–7.0 s when they ran here. Calls taken and
    /// texted rose 7–11 % in alternating 30 s runs of clean builds (README,
    /// "Measured"). The sends themselves stay on the worker's thread.
    ///
    /// Dropping the returned future (the worker killed) aborts the
    /// transaction too, so nothing of a stopped worker runs on.
    async fn in_writer_runtime<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = crate::store::Result<T>> + Send + 'static,
    ) -> crate::store::Result<T> {
        run_on(self.writer_runtime.as_ref(), work).await
    }

    /// Runs until `shutdown` turns true, then lets in-flight jobs finish.
    /// Jobs not finished by then keep their lease, which simply expires:
    /// another worker (or this one after a restart) picks them up.
    ///
    /// Sends are batched: the jobs of one claim are started with one
    /// transaction per [`Store::send_batch`] (`Store::begin_send_batch`), sent
    /// concurrently, and their outcomes recorded by one recorder task that
    /// commits whatever has finished since its last commit in one
    /// transaction. A job's permit is held until its outcome is recorded, so
    /// the jobs in flight stay bounded (`worker_concurrency`, times
    /// [`JOBS_PER_SEND_SLOT_SQLITE`] on SQLite) and shutdown still drains
    /// them; each call to the carrier takes one of the `worker_concurrency`
    /// send slots.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let limit = self.config.service.worker_concurrency
            * match self.store.dialect() {
                Dialect::Sqlite => JOBS_PER_SEND_SLOT_SQLITE,
                Dialect::Postgres => 1,
            };
        let permits = Arc::new(Semaphore::new(limit));
        let (record_tx, record_rx) = mpsc::unbounded_channel::<ToRecord>();
        let recorder = tokio::spawn(self.clone().record_loop(record_rx));
        // PostgreSQL: wake on enqueues made by any instance.
        let listening = Arc::new(AtomicBool::new(false));
        let listener = (self.store.dialect() == Dialect::Postgres).then(|| {
            tokio::spawn(listen_for_jobs(
                self.store.clone(),
                self.wake.clone(),
                listening.clone(),
                shutdown.clone(),
            ))
        });
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
            let (store, lease_until) = (self.store.clone(), now + self.config.service.lease);
            let claimed = self
                .in_writer_runtime(
                    async move { store.claim_jobs(now, lease_until, free as i64).await },
                )
                .await;
            match claimed {
                Err(e) => {
                    failures += 1;
                    let backoff = std::time::Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                    tracing::error!(error = %e, retry_in_ms = backoff.as_millis() as u64, "worker cannot claim jobs; backing off");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        // Something was just queued, so the database
                        // answers again: no need to sit out the backoff.
                        _ = self.wake.notified() => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Ok(jobs) if jobs.is_empty() => {
                    failures = 0;
                    self.wait_for_work(&mut shutdown, &listening).await;
                }
                Ok(jobs) => {
                    failures = 0;
                    let mut held = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        let permit = permits
                            .clone()
                            .acquire_owned()
                            .await
                            .expect("semaphore is never closed");
                        held.push((job, permit));
                    }
                    // Started on their own task, so the next claim does not
                    // wait for this batch's reads and begin transaction:
                    // each waits its turn for SQLite's writer, and the two
                    // turns overlap. The permits still bound the work.
                    let (w, rtx) = (self.clone(), record_tx.clone());
                    tokio::spawn(async move { w.start_jobs(held, &rtx).await });
                }
            }
        }
        // Graceful: wait for in-flight jobs (bounded by the provider timeout)
        // and for their outcomes to be recorded.
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            permits.acquire_many(limit as u32),
        )
        .await;
        drop(record_tx);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), recorder).await;
        if let Some(l) = listener {
            l.abort();
        }
        tracing::info!("worker stopped");
    }

    /// Starts a claimed batch: send jobs are gated and begun together, then
    /// each is sent on its own task; anything unusual takes the one-job path.
    async fn start_jobs(
        &self,
        jobs: Vec<(Job, OwnedSemaphorePermit)>,
        record_tx: &mpsc::UnboundedSender<ToRecord>,
    ) {
        let mut sends: Vec<(Job, i64, OwnedSemaphorePermit)> = Vec::with_capacity(jobs.len());
        for (job, permit) in jobs {
            match (
                job.kind.as_str(),
                serde_json::from_str::<SendMessage>(&job.payload),
            ) {
                (SEND_MESSAGE, Ok(SendMessage { message_id })) => {
                    sends.push((job, message_id, permit))
                }
                _ => self.spawn_single(job, permit),
            }
        }
        if sends.is_empty() {
            return;
        }
        let ids: Vec<i64> = sends.iter().map(|(_, id, _)| *id).collect();
        let mut msgs: HashMap<i64, Message> = match self.store.messages_by_ids(&ids).await {
            Ok(rows) => rows.into_iter().map(|m| (m.id, m)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot load a batch of messages; sending one by one");
                for (job, _, permit) in sends {
                    self.spawn_single(job, permit);
                }
                return;
            }
        };
        // The compliance gate is pure: run it now, and let holds, refusals
        // and missing messages take the one-job path (which re-checks).
        let now = self.clock.now();
        let recipients: Vec<(&str, &str)> = msgs
            .values()
            .filter(|m| compliance::counts_toward_cap(m.kind))
            .map(|m| (m.business_id.as_str(), m.to.as_str()))
            .collect();
        let caps = match self
            .store
            .capped_texts_since_many(&recipients, now - compliance::CAP_WINDOW)
            .await
        {
            Ok(caps) => Some(caps),
            Err(e) => {
                tracing::warn!(error = %e, "cannot count a batch's capped texts; gating one by one");
                None
            }
        };
        let mut ready: Vec<(Job, Message, OwnedSemaphorePermit)> = Vec::with_capacity(sends.len());
        for (job, message_id, permit) in sends {
            let Some(msg) = msgs.remove(&message_id) else {
                self.spawn_single(job, permit);
                continue;
            };
            let verdict = match &caps {
                Some(caps) => {
                    let key = (msg.business_id.clone(), msg.to.clone());
                    Ok(self.gate_counted(&msg, now, caps.get(&key).copied().unwrap_or((0, None))))
                }
                None => self.gate(&msg, now).await,
            };
            match verdict {
                Ok(Verdict::Allow) => ready.push((job, msg, permit)),
                _ => self.spawn_single(job, permit),
            }
        }
        while !ready.is_empty() {
            let rest = ready.split_off(ready.len().min(self.store.send_batch()));
            let chunk = std::mem::replace(&mut ready, rest);
            let begun = {
                let owned: Vec<(Job, Message)> = chunk
                    .iter()
                    .map(|(j, m, _)| (j.clone(), m.clone()))
                    .collect();
                let (store, cap, now) = (
                    self.store.clone(),
                    self.policy.rules.daily_cap,
                    self.clock.now(),
                );
                self.in_writer_runtime(async move {
                    let items: Vec<(&Job, &Message)> = owned.iter().map(|(j, m)| (j, m)).collect();
                    store.begin_send_batch(&items, cap, now).await
                })
                .await
            };
            match begun {
                Ok(results) => {
                    for ((job, msg, permit), begin) in chunk.into_iter().zip(results) {
                        let w = self.clone();
                        let record_tx = record_tx.clone();
                        tokio::spawn(async move {
                            if let Err(e) =
                                w.after_begin(&job, &msg, begin, permit, &record_tx).await
                            {
                                tracing::error!(job = job.id, error = %e, "job interrupted by a store error; it will be retried");
                            }
                        });
                    }
                }
                Err(e) => {
                    // A deadlock, a timeout...: nothing was marked. Fall back
                    // to one transaction per job.
                    tracing::warn!(error = %e, jobs = chunk.len(), "batched send start failed; starting one by one");
                    for (job, _, permit) in chunk {
                        self.spawn_single(job, permit);
                    }
                }
            }
        }
    }

    fn spawn_single(&self, job: Job, permit: OwnedSemaphorePermit) {
        let w = self.clone();
        tokio::spawn(async move {
            w.run_job(job).await;
            drop(permit);
        });
    }

    /// What follows a batched `begin_send`: the provider call, then the
    /// outcome goes to the recorder (success) or is recorded here (anything
    /// else, rare).
    async fn after_begin(
        &self,
        job: &Job,
        msg: &Message,
        begin: BeginSend,
        permit: OwnedSemaphorePermit,
        record_tx: &mpsc::UnboundedSender<ToRecord>,
    ) -> crate::store::Result<()> {
        let in_doubt = match self.handle_begin(job, msg, begin).await? {
            Some(in_doubt) => in_doubt,
            None => return Ok(()),
        };
        if in_doubt {
            // Rare: reconcile on the one-job path (it holds the permit).
            return self.send_after_begin(job, msg, true).await;
        }
        let Some(_slot) = self.send_slot(job).await else {
            return self.no_send_slot(job, msg.id, false).await;
        };
        let result = self.send_timed(&self.outbound(msg)).await;
        let now = self.clock.now();
        match result {
            Ok(receipt) => {
                self.observe_delay(msg, now);
                let record =
                    SentRecord::new(job, msg, self.provider.name(), &receipt.provider_sid, now);
                if let Err(mpsc::error::SendError(t)) = record_tx.send(ToRecord {
                    record,
                    kind: msg.kind,
                    to: msg.to.clone(),
                    permit,
                }) {
                    // The recorder is gone (shutting down): record it here.
                    self.store.record_sent(&t.record).await?;
                    self.metrics
                        .inc("ringback_texts_total", &[("outcome", "sent")]);
                }
                Ok(())
            }
            Err(e) => self.after_error(job, msg.id, e, false).await,
        }
    }

    /// Commits finished sends: whatever has arrived since the last commit,
    /// in one transaction. No timer: while one commit runs, the next batch
    /// gathers by itself.
    async fn record_loop(self, mut rx: mpsc::UnboundedReceiver<ToRecord>) {
        let mut buf: Vec<ToRecord> = Vec::new();
        while rx.recv_many(&mut buf, self.store.send_batch()).await > 0 {
            // One copy, moved to the transaction's task; the one-by-one
            // fallback reads the records from `buf`.
            let records: Vec<SentRecord> = buf.iter().map(|t| t.record.clone()).collect();
            let store = self.store.clone();
            let recorded = self
                .in_writer_runtime(async move { store.record_sent_batch(&records).await })
                .await;
            let held = match recorded {
                Ok(held) => held.into_iter().map(Some).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, n = buf.len(), "batched send record failed; recording one by one");
                    let mut held = Vec::with_capacity(buf.len());
                    for r in buf.iter().map(|t| &t.record) {
                        match self.store.record_sent(r).await {
                            Ok(h) => held.push(Some(h)),
                            Err(e) => {
                                // Left `sending`: the job's lease expires and
                                // the retry reconciles with the carrier.
                                tracing::error!(message_id = r.message_id, error = %e, "cannot record a sent text; it will be reconciled");
                                held.push(None);
                            }
                        }
                    }
                    held
                }
            };
            for (t, held) in buf.drain(..).zip(held) {
                let Some(held) = held else { continue };
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "sent")]);
                if !held {
                    tracing::warn!(
                        job = t.record.job.id,
                        "text sent, but the job's lease had passed to another worker"
                    );
                }
                tracing::info!(message_id = t.record.message_id, kind = %t.kind, to = %mask(&t.to), sid = %t.record.sid, "text sent");
                drop(t.permit);
            }
        }
    }

    async fn wait_for_work(&self, shutdown: &mut watch::Receiver<bool>, listening: &AtomicBool) {
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
        if jump.is_some() {
            // Polling once enables the `notified()` future inside.
            let _ = futures::poll!(jumped.as_mut());
        }
        // Enqueues in this process poke `wake`; with PostgreSQL, those of
        // other instances arrive by NOTIFY. While that listener is down, nap
        // briefly so other instances' jobs still start within a second.
        let max_nap =
            if self.store.dialect() == Dialect::Postgres && !listening.load(Ordering::Acquire) {
                std::time::Duration::from_secs(1)
            } else {
                std::time::Duration::from_secs(30)
            };
        let nap = match self.store.next_due().await {
            Ok(Some(due)) => (due - self.clock.now())
                .to_std()
                .unwrap_or_default()
                .min(max_nap),
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
            crate::shell::worker::timers::FOLLOW_UP | crate::shell::worker::timers::COLD_CHECK => {
                self.run_timer(&job).await
            }
            crate::shell::emergency::ACK_TIMEOUT => self.ack_timeout(&job).await,
            crate::shell::emergency::PAGE_CALL => self.page_call(&job).await,
            crate::shell::inbound::LATE_RECEIPT => self.late_receipt(&job).await,
            other => {
                let now = self.clock.now();
                let _ = self
                    .store
                    .fail_job(&job, &format!("unknown job kind {other:?}"), now)
                    .await;
                Ok(())
            }
        };
        if let Err(e) = result {
            // A store error mid-job: leave the lease to expire; the job will
            // be claimed again and every step is idempotent.
            tracing::error!(job = job.id, kind = %job.kind, error = %e, "job interrupted by a store error; it will be retried");
        }
    }

    /// A delivery receipt that arrived before its message was recorded:
    /// applied once the message is known, or dropped (logged) after
    /// [`crate::shell::inbound::LATE_RECEIPT_TRIES`] looks, when it was most likely
    /// for a message some other system sent from the same number.
    async fn late_receipt(&self, job: &Job) -> crate::store::Result<()> {
        use crate::shell::inbound::{
            apply_receipt, log_healthy_again, LateReceipt, LATE_RECEIPT_EVERY,
        };
        let now = self.clock.now();
        let parsed = serde_json::from_str::<LateReceipt>(&job.payload)
            .ok()
            .and_then(|p| Some((p.status.parse::<MessageStatus>().ok()?, p)));
        let Some((status, p)) = parsed else {
            self.store.fail_job(job, "unreadable payload", now).await?;
            return Ok(());
        };
        let mut tx = self.store.begin().await?;
        let applied = apply_receipt(
            &mut tx,
            &self.metrics,
            &p.sid,
            status,
            p.error_code.as_deref(),
            now,
            self.config.service.cold_after,
        )
        .await?;
        if applied.is_some() {
            if tx.finish_job(job, None, now).await? {
                tx.commit().await?;
                log_healthy_again(applied.as_ref());
                tracing::info!(sid = %p.sid, status = %status, "early delivery receipt applied");
            }
            return Ok(());
        }
        drop(tx);
        if job.attempts >= job.max_attempts {
            tracing::info!(sid = %p.sid, status = %status, "delivery receipt for a message ringback never recorded (another system's?); dropped");
            self.store.complete_job(job, now).await?;
        } else {
            self.store
                .retry_job(
                    job,
                    now + LATE_RECEIPT_EVERY,
                    Some("message not recorded yet"),
                    true,
                    now,
                )
                .await?;
        }
        Ok(())
    }

    /// How late a timer fired (claimed − due), for the timer-accuracy figure.
    fn observe_lateness(&self, job: &Job, now: DateTime<Utc>) {
        self.metrics.observe(
            "ringback_timer_lateness_seconds",
            (now - job.due_at).num_milliseconds().max(0) as f64 / 1000.0,
        );
    }

    /// A conversation timer (follow-up step, cold check); see [`crate::shell::worker::timers`].
    async fn run_timer(&self, job: &Job) -> crate::store::Result<()> {
        use crate::shell::worker::timers::{self, Fired};
        let now = self.clock.now();
        self.observe_lateness(job, now);
        let fired = if job.kind == timers::FOLLOW_UP {
            timers::run_follow_up(&self.store, &self.config, &self.policy.rules, job, now).await?
        } else {
            timers::run_cold_check(&self.store, &self.config, job, now).await?
        };
        match fired {
            Fired::Queued => self.wake.notify_one(),
            Fired::LostLease => {
                tracing::warn!(
                    job = job.id,
                    "lease lost before the timer committed; another worker owns it"
                )
            }
            Fired::Nothing => {}
        }
        Ok(())
    }

    /// Nobody acknowledged a page in time: the engine pages the next person.
    async fn ack_timeout(&self, job: &Job) -> crate::store::Result<()> {
        use crate::shell::emergency::{self, TimeoutPayload};
        let now = self.clock.now();
        let Ok(p) = serde_json::from_str::<TimeoutPayload>(&job.payload) else {
            self.store.fail_job(job, "unreadable payload", now).await?;
            return Ok(());
        };
        self.observe_lateness(job, now);
        emergency::handle(
            &self.store,
            &self.config,
            &self.metrics,
            p.escalation_id,
            crate::core::escalation::Event::AckTimeout { step: p.step },
            now,
        )
        .await?;
        self.store.complete_job(job, now).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Calls an on-call tech: the call reads the packet and asks them to
    /// press 1 (reported to `/webhooks/twilio/voice/page`). A page for an
    /// emergency someone already took is not placed.
    async fn page_call(&self, job: &Job) -> crate::store::Result<()> {
        let now = self.clock.now();
        let p = match crate::shell::emergency::page_call_payload(job) {
            Ok(p) => p,
            Err(e) => {
                self.store.fail_job(job, &e, now).await?;
                return Ok(());
            }
        };
        let Some((business_id, esc)) = self.store.escalation(p.escalation_id).await? else {
            self.store
                .fail_job(job, "escalation not found", now)
                .await?;
            return Ok(());
        };
        // Only for the page in flight: a retried call must not ring someone
        // after the chain has moved on, or after somebody took it.
        if esc.status != crate::core::escalation::Status::Paging || esc.step != p.step {
            self.store.complete_job(job, now).await?;
            return Ok(());
        }
        let from = self
            .store
            .lead(esc.lead_id)
            .await?
            .map(|l| l.tracking_number)
            .or_else(|| {
                self.config
                    .business(&business_id)
                    .and_then(|b| b.numbers.first().map(|n| n.to_string()))
            })
            .unwrap_or_default();
        let action = format!(
            "{}/webhooks/twilio/voice/page?escalation={}&step={}",
            self.public_url.as_deref().unwrap_or(""),
            p.escalation_id,
            p.step
        );
        let call = crate::provider::OutboundCall {
            to: p.to.clone(),
            from,
            twiml: crate::provider::twilio::twiml::page_call(&esc.page.script, &action),
            timeout_secs: 30,
        };
        match self.provider.place_call(&call).await {
            Ok(r) => {
                tracing::info!(escalation = p.escalation_id, to = %mask(&p.to), sid = %r.provider_sid, "page call placed");
                self.store.complete_job(job, now).await?;
            }
            Err(SendError::Permanent { code, message }) => {
                tracing::error!(escalation = p.escalation_id, to = %mask(&p.to), code, message, "page call refused; the SMS page and the chain carry on");
                self.store
                    .fail_job(job, &format!("{code}: {message}"), now)
                    .await?;
            }
            Err(e) => {
                let (retry_after, attempt) = match &e {
                    SendError::Retryable { retry_after, .. } => (*retry_after, job.attempts),
                    _ => (None, job.attempts),
                };
                let at = now + retry_delay(attempt, retry_after, rand::random::<f64>());
                self.store
                    .retry_job(job, at, Some(&e.to_string()), true, now)
                    .await?;
            }
        }
        Ok(())
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
        if !matches!(msg.status, MessageStatus::Queued | MessageStatus::Sending) {
            // Canceled (the customer replied), suppressed or sent already:
            // nothing to gate or hold.
            self.store.complete_job(job, now).await?;
            return Ok(());
        }
        match self.gate(&msg, now).await? {
            Verdict::Allow => {}
            Verdict::Hold { until, reason } => {
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "held")]);
                tracing::info!(message_id = msg.id, reason, until = %until, "text held by the compliance gate");
                self.store
                    .retry_job(job, until, Some(reason), false, now)
                    .await?;
                return Ok(());
            }
            Verdict::Refuse(reason) => {
                tracing::warn!(message_id = msg.id, to = %mask(&msg.to), reason, "text refused by the compliance gate");
                self.suppress(job, msg.id, reason).await?;
                if reason == "sender_not_registered" {
                    let (s, c, m, w) = (&self.store, &self.config, &self.metrics, &self.wake);
                    crate::shell::alerts::sender_refused(s, c, m, w, &msg, now).await?;
                }
                return Ok(());
            }
        }
        let begin = self
            .store
            .begin_send(job, &msg, self.policy.rules.daily_cap, now)
            .await?;
        let Some(in_doubt) = self.handle_begin(job, &msg, begin).await? else {
            return Ok(());
        };
        self.send_after_begin(job, &msg, in_doubt).await
    }

    /// Acts on a `begin_send` verdict; `Some(in_doubt)` means go and send.
    async fn handle_begin(
        &self,
        job: &Job,
        msg: &Message,
        begin: BeginSend,
    ) -> crate::store::Result<Option<bool>> {
        let now = self.clock.now();
        match begin {
            BeginSend::Go { in_doubt } => Ok(Some(in_doubt)),
            BeginSend::LostLease => {
                tracing::warn!(
                    job = job.id,
                    "lease lost before sending; another worker owns this job"
                );
                Ok(None)
            }
            BeginSend::NotSendable(status) => {
                tracing::debug!(message_id = msg.id, %status, "message no longer wants sending");
                self.store.complete_job(job, now).await?;
                Ok(None)
            }
            BeginSend::Capped { frees_at } => {
                match (msg.kind, frees_at) {
                    (MessageKind::FollowUp, Some(at)) => {
                        self.metrics
                            .inc("ringback_texts_total", &[("outcome", "held")]);
                        self.store
                            .retry_job(job, at, Some("daily_cap"), false, now)
                            .await?;
                    }
                    _ => self.suppress(job, msg.id, "daily_cap").await?,
                }
                Ok(None)
            }
            BeginSend::OptedOut => {
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "suppressed")]);
                self.metrics
                    .inc("ringback_suppressed_total", &[("reason", "opted_out")]);
                tracing::info!(message_id = msg.id, to = %mask(&msg.to), "recipient opted out; text suppressed at send time");
                self.store.complete_job(job, now).await?;
                Ok(None)
            }
        }
    }

    fn outbound(&self, msg: &Message) -> OutboundSms {
        OutboundSms {
            to: msg.to.clone(),
            from: msg.from.clone(),
            body: msg.body.clone(),
            status_callback: self.status_callback.clone(),
        }
    }

    /// The provider call and its outcome, one job at a time.
    async fn send_after_begin(
        &self,
        job: &Job,
        msg: &Message,
        in_doubt: bool,
    ) -> crate::store::Result<()> {
        // One slot for the look-up and the send.
        let Some(_slot) = self.send_slot(job).await else {
            return self.no_send_slot(job, msg.id, in_doubt).await;
        };
        let sms = self.outbound(msg);
        if in_doubt {
            // An earlier attempt may have reached the carrier. Look before
            // sending again.
            let since = msg.send_started_at.unwrap_or(msg.created_at);
            // One send timeout for the whole look-up, however many pages:
            // the look-up and the send must both fit in the job's lease.
            let timeout = self.config.service.send_timeout;
            let found = tokio::time::timeout(timeout, self.provider.find_sent(&sms, since))
                .await
                .unwrap_or_else(|_| {
                    Err(SendError::Retryable {
                        message: format!("message list look-up took over {timeout:?}"),
                        retry_after: None,
                        in_doubt: true,
                    })
                });
            match found {
                Ok(Some(receipt)) => {
                    tracing::info!(message_id = msg.id, sid = %receipt.provider_sid, "in-doubt send found at the carrier; not sending again");
                    let now = self.clock.now();
                    self.store
                        .record_sent(&SentRecord::new(
                            job,
                            msg,
                            self.provider.name(),
                            &receipt.provider_sid,
                            now,
                        ))
                        .await?;
                    self.metrics
                        .inc("ringback_texts_total", &[("outcome", "reconciled")]);
                    return Ok(());
                }
                Ok(None) => {
                    // The look-up took a round trip to the carrier (up to a
                    // send timeout) after the gate: a STOP committed in the
                    // meantime must still win.
                    if compliance::stopped_by_opt_out(
                        msg.kind,
                        self.store.consent_state(&msg.business_id, &msg.to).await?,
                    ) {
                        tracing::info!(message_id = msg.id, to = %mask(&msg.to), "recipient opted out while an in-doubt text was looked up; not sending");
                        return self.suppress(job, msg.id, "opted_out").await;
                    }
                }
                Err(e) => return self.after_error(job, msg.id, e, true).await,
            }
        }
        let result = self.send_timed(&sms).await;
        let now = self.clock.now();
        match result {
            Ok(receipt) => {
                self.store
                    .record_sent(&SentRecord::new(
                        job,
                        msg,
                        self.provider.name(),
                        &receipt.provider_sid,
                        now,
                    ))
                    .await?;
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "sent")]);
                self.observe_delay(msg, now);
                tracing::info!(message_id = msg.id, kind = %msg.kind, to = %mask(&msg.to), sid = %receipt.provider_sid, "text sent");
                Ok(())
            }
            Err(e) => self.after_error(job, msg.id, e, in_doubt).await,
        }
    }

    async fn suppress(&self, job: &Job, message_id: i64, reason: &str) -> crate::store::Result<()> {
        // Count each message once, even if a reclaimed job gets here twice.
        if self
            .store
            .suppress_message(job, message_id, reason, self.clock.now())
            .await?
        {
            self.metrics
                .inc("ringback_texts_total", &[("outcome", "suppressed")]);
            self.metrics
                .inc("ringback_suppressed_total", &[("reason", reason)]);
        }
        Ok(())
    }

    /// The compliance gate for `msg` at `now`, with the facts it needs.
    async fn gate(&self, msg: &Message, now: DateTime<Utc>) -> crate::store::Result<Verdict> {
        let counted = if compliance::counts_toward_cap(msg.kind) {
            self.store
                .capped_texts_since(&msg.business_id, &msg.to, now - compliance::CAP_WINDOW)
                .await?
        } else {
            (0, None)
        };
        Ok(self.gate_counted(msg, now, counted))
    }

    /// The gate, given the recipient's capped texts in the last 24 hours
    /// and when the oldest of them left.
    fn gate_counted(
        &self,
        msg: &Message,
        now: DateTime<Utc>,
        (sent_last_24h, oldest): (i64, Option<DateTime<Utc>>),
    ) -> Verdict {
        let verdict = compliance::check(&Outgoing {
            kind: msg.kind,
            to: &msg.to,
            from: &msg.from,
            business: self.config.business(&msg.business_id),
            own_number: self.config.is_own_number(&msg.to),
            now,
            sent_last_24h,
            cap_frees_at: oldest.map(|t| t + compliance::CAP_WINDOW),
            rules: &self.policy.rules,
        });
        // Last, so that only a text that would go now uses up a send slot.
        match verdict {
            Verdict::Allow => self.rates.gate(&msg.from, msg.id),
            other => other,
        }
    }

    /// A send slot for `job`'s calls to the carrier, or `None` if none
    /// frees up while a look-up and a send (a send timeout each) could
    /// still finish inside the job's lease. A send must never start so late
    /// that the lease ends first: the job's next owner would look for the
    /// text at the carrier, not find it (not sent yet), and send it too.
    async fn send_slot(&self, job: &Job) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let calls = chrono::Duration::from_std(self.config.service.send_timeout * 2)
            .unwrap_or(chrono::Duration::MAX);
        let wait = (job.lease_until - self.clock.now() - calls)
            .to_std()
            .unwrap_or_default();
        // (A slot free now is taken even with no time to wait.)
        match tokio::time::timeout(wait, self.send_slots.acquire()).await {
            Ok(Ok(slot)) => Some(slot),
            _ => None,
        }
    }

    /// No send slot in time (a slow carrier, every slot busy): nothing went
    /// out, so the text goes back to the queue as it was (in doubt only if
    /// it already was) and its job is due again now, not counted as an
    /// attempt.
    async fn no_send_slot(
        &self,
        job: &Job,
        message_id: i64,
        in_doubt: bool,
    ) -> crate::store::Result<()> {
        let now = self.clock.now();
        const WHY: &str = "no send slot in time (every send in flight; the carrier is slow?)";
        tracing::warn!(job = job.id, message_id, "{WHY}; back to the queue");
        self.metrics
            .inc("ringback_texts_total", &[("outcome", "no_send_slot")]);
        if self
            .store
            .record_send_error(job, message_id, !in_doubt, None, WHY, now)
            .await?
        {
            self.store
                .retry_job(job, now, Some(WHY), false, now)
                .await?;
        }
        Ok(())
    }

    /// Calls the carrier's send API, timing the call.
    async fn send_timed(
        &self,
        sms: &OutboundSms,
    ) -> Result<crate::provider::SendReceipt, SendError> {
        let started = std::time::Instant::now();
        let result = self.provider.send_sms(sms).await;
        self.metrics.observe(
            "ringback_send_duration_seconds",
            started.elapsed().as_secs_f64(),
        );
        result
    }

    /// From the event that caused `msg` to the carrier accepting it.
    fn observe_delay(&self, msg: &Message, now: DateTime<Utc>) {
        let delay = (now - msg.trigger_at).num_milliseconds().max(0) as f64 / 1000.0;
        self.metrics.observe("ringback_text_delay_seconds", delay);
    }

    async fn after_error(
        &self,
        job: &Job,
        message_id: i64,
        err: SendError,
        was_in_doubt: bool,
    ) -> crate::store::Result<()> {
        let now = self.clock.now();
        match err {
            SendError::Retryable {
                message,
                retry_after,
                in_doubt,
            } => {
                let still_in_doubt = in_doubt || was_in_doubt;
                let ours = self
                    .store
                    .record_send_error(job, message_id, !still_in_doubt, None, &message, now)
                    .await?;
                if !ours {
                    tracing::warn!(job = job.id, message_id, error = %message, "send failed after this worker's lease ran out; the job's new owner decides");
                    return Ok(());
                }
                if job.attempts >= job.max_attempts {
                    tracing::error!(message_id = message_id, attempts = job.attempts, error = %message, "giving up on a text after its last attempt");
                    self.store
                        .record_send_failed(job, message_id, "retries_exhausted", &message, now)
                        .await?;
                    self.metrics
                        .inc("ringback_texts_total", &[("outcome", "failed")]);
                    return Ok(());
                }
                let delay = retry_delay(job.attempts, retry_after, rand::random::<f64>());
                tracing::warn!(message_id = message_id, attempt = job.attempts, retry_in_ms = delay.num_milliseconds(), error = %message, "send failed; will retry");
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "retried")]);
                self.store
                    .retry_job(job, now + delay, Some(&message), true, now)
                    .await?;
            }
            SendError::Permanent { code, message } => {
                tracing::error!(message_id = message_id, code = %code, error = %message, "carrier refused a text for good; not retrying");
                self.store
                    .record_send_failed(job, message_id, &code, &message, now)
                    .await?;
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "failed")]);
                self.on_permanent_error(message_id, &code).await?;
            }
        }
        Ok(())
    }

    /// What a permanent carrier error teaches us about the number or sender.
    async fn on_permanent_error(&self, message_id: i64, code: &str) -> crate::store::Result<()> {
        let Some(msg) = self.store.message(message_id).await? else {
            return Ok(());
        };
        let mut tx = self.store.begin().await?;
        crate::shell::inbound::learn_from_carrier_error(
            &mut tx,
            &self.metrics,
            &msg,
            code,
            self.clock.now(),
            self.config.service.cold_after,
        )
        .await?;
        tx.commit().await
    }
}

/// A finished send waiting for the recorder; its permit is released once
/// the outcome is committed.
struct ToRecord {
    record: SentRecord,
    kind: MessageKind,
    to: String,
    permit: OwnedSemaphorePermit,
}

/// Keeps a PostgreSQL `LISTEN ringback_jobs` connection open and pokes
/// `wake` on every notification, so a job enqueued by any instance starts
/// within milliseconds. When the connection drops it reconnects with
/// backoff; `listening` is false meanwhile (the worker then naps at most a
/// second), and the worker is woken after every (re)connect, since
/// notifications may have been missed while down.
pub async fn listen_for_jobs(
    store: Store,
    wake: Arc<Notify>,
    listening: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let connected = tokio::select! {
            r = store.job_listener() => r,
            _ = shutdown.changed() => return,
        };
        match connected {
            Ok(Some(mut listener)) => {
                failures = 0;
                listening.store(true, Ordering::Release);
                wake.notify_one();
                loop {
                    let got = tokio::select! {
                        r = listener.try_recv() => r,
                        _ = shutdown.changed() => return,
                    };
                    match got {
                        Ok(Some(_)) => wake.notify_one(),
                        Ok(None) => {
                            // The connection dropped; anything may have been missed.
                            tracing::warn!("job notification connection lost; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "job notification connection failed; reconnecting");
                            break;
                        }
                    }
                }
                listening.store(false, Ordering::Release);
                wake.notify_one();
            }
            Ok(None) => return,
            Err(e) => {
                listening.store(false, Ordering::Release);
                tracing::warn!(error = %e, "cannot listen for job notifications; retrying");
            }
        }
        failures += 1;
        let backoff = std::time::Duration::from_millis(100 * 2u64.pow(failures.min(6)));
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The status-callback URL for outbound texts, if we know our public URL.
pub fn status_callback_url(public_url: Option<&str>) -> Option<String> {
    public_url.map(|u| format!("{u}/webhooks/twilio/sms/status"))
}

/// A send job for a freshly inserted outbound message.
pub fn send_job(
    message_id: i64,
    lead_id: Option<i64>,
    run_at: chrono::DateTime<chrono::Utc>,
    max_attempts: i64,
) -> crate::store::NewJob {
    crate::store::NewJob {
        kind: SEND_MESSAGE,
        lead_id,
        unique_key: format!("send:{message_id}"),
        payload: serde_json::to_string(&SendMessage { message_id }).expect("serialises"),
        run_at,
        max_attempts,
    }
}

/// Runs `work` as a task on `runtime` and waits for it (or in place, with
/// none). Dropping the returned future aborts the task.
async fn run_on<T: Send + 'static>(
    runtime: Option<&tokio::runtime::Handle>,
    work: impl std::future::Future<Output = crate::store::Result<T>> + Send + 'static,
) -> crate::store::Result<T> {
    let Some(runtime) = runtime else {
        return work.await;
    };
    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let task = runtime.spawn(work);
    let _abort = AbortOnDrop(task.abort_handle());
    match task.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(crate::store::StoreError::Commit(
            "the runtime serving webhooks stopped".into(),
        )),
    }
}

#[cfg(test)]
mod run_on_tests {
    use super::run_on;

    /// The worker's transactions run on the webhooks' runtime, and stop
    /// when the worker does: a killed worker must not go on claiming jobs.
    #[test]
    fn work_runs_on_the_other_runtime_and_stops_with_its_waiter() {
        let webhooks = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("webhooks")
            .enable_all()
            .build()
            .unwrap();
        let worker = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let handle = webhooks.handle().clone();

        let ran_on = worker
            .block_on(run_on(Some(&handle), async {
                Ok(std::thread::current().name().map(str::to_string))
            }))
            .unwrap();
        assert_eq!(ran_on.as_deref(), Some("webhooks"));

        // Dropped while waiting (the worker's runtime shut down): the work
        // is aborted, not left running.
        let (dropped_tx, dropped_rx) = std::sync::mpsc::channel::<()>();
        struct Signal(std::sync::mpsc::Sender<()>);
        impl Drop for Signal {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        worker.block_on(async {
            let waiting = run_on(Some(&handle), async move {
                let _signal = Signal(dropped_tx);
                let _ = started_tx.send(());
                std::future::pending::<()>().await;
                Ok(())
            });
            tokio::select! {
                _ = waiting => panic!("the work never finishes"),
                _ = started_rx => {}
            }
        });
        dropped_rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the work was aborted when its waiter went away");

        // In place when there is no other runtime.
        let here = worker
            .block_on(run_on(None, async { Ok(std::thread::current().id()) }))
            .unwrap();
        assert_eq!(here, std::thread::current().id());
    }
}
pub mod pacing;
pub mod timers;
