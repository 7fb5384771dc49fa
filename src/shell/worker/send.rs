//! Sending texts: the far side of the door. Every text passes the
//! compliance gate here, at send time, and is begun atomically with the
//! checks that must hold at that instant (`Store::begin_send_batch`: the
//! fence, the consent ledger, the cap, the lead still wanting it).
//!
//! Sends claimed together are gated and begun in one transaction, sent
//! concurrently, and their outcomes recorded by one recorder task that
//! commits whatever has finished since its last commit. Anything unusual (a
//! hold, a refusal, an in-doubt text) takes the one-text path, which makes
//! the same checks one at a time.

use super::{Held, Worker};
use crate::core::compliance::{self, Outgoing, Verdict};
use crate::core::retry::retry_delay;
use crate::domain::{mask, mask_numbers, Message, MessageKind, MessageStatus};
use crate::provider::{OutboundSms, SendError};
use crate::store::{BeginSend, Claimed, SentRecord};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

/// A finished send waiting for the recorder; its permit is released once
/// the outcome is committed.
pub(super) struct ToRecord {
    record: SentRecord,
    kind: MessageKind,
    to: String,
    permit: OwnedSemaphorePermit,
}

impl Worker {
    /// Gates and begins a claimed batch of sends together, then sends each
    /// on its own task; anything unusual takes the one-text path.
    pub(super) async fn start_sends(
        &self,
        sends: Vec<Held>,
        record_tx: &mpsc::UnboundedSender<ToRecord>,
    ) {
        if sends.is_empty() {
            return;
        }
        let mut ready: Vec<(Claimed, i64, OwnedSemaphorePermit)> = Vec::with_capacity(sends.len());
        for (job, permit) in sends {
            match job.job() {
                Ok(crate::core::jobs::Job::SendText { message_id }) => {
                    ready.push((job, message_id, permit))
                }
                _ => self.spawn_single(job, permit),
            }
        }
        let ids: Vec<i64> = ready.iter().map(|(_, id, _)| *id).collect();
        let mut msgs: HashMap<i64, Message> = match self.store.messages_by_ids(&ids).await {
            Ok(rows) => rows.into_iter().map(|m| (m.id, m)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot load a batch of messages; sending one by one");
                for (job, _, permit) in ready {
                    self.spawn_single(job, permit);
                }
                return;
            }
        };
        // The compliance gate is pure: run it now, and let holds, refusals
        // and missing messages take the one-text path (which re-checks).
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
        let mut go: Vec<(Claimed, Message, OwnedSemaphorePermit)> = Vec::with_capacity(ready.len());
        for (job, message_id, permit) in ready {
            let Some(msg) = msgs.remove(&message_id) else {
                self.spawn_single(job, permit);
                continue;
            };
            let verdict = match &caps {
                Some(caps) => {
                    let key = (msg.business_id.clone(), msg.to.clone());
                    self.gate_counted(&msg, now, caps.get(&key).copied().unwrap_or((0, None)))
                }
                None => {
                    self.spawn_single(job, permit);
                    continue;
                }
            };
            match verdict {
                Verdict::Allow => {
                    self.observe_line_wait(&job, &msg, now);
                    go.push((job, msg, permit))
                }
                _ => self.spawn_single(job, permit),
            }
        }
        while !go.is_empty() {
            let rest = go.split_off(go.len().min(self.store.send_batch()));
            let chunk = std::mem::replace(&mut go, rest);
            let items: Vec<(&Claimed, &Message)> = chunk.iter().map(|(j, m, _)| (j, m)).collect();
            let begun = self
                .store
                .begin_send_batch(&items, self.policy.rules.daily_cap, self.clock.now())
                .await;
            match begun {
                Ok(results) => {
                    for ((job, msg, permit), begin) in chunk.into_iter().zip(results) {
                        let w = self.clone();
                        let record_tx = record_tx.clone();
                        self.spawn(async move {
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

    /// What follows a batched `begin_send`: the provider call, then the
    /// outcome goes to the recorder (success) or is recorded here (anything
    /// else, rare).
    async fn after_begin(
        &self,
        job: &Claimed,
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
            // Rare: reconcile on the one-text path (it holds the permit).
            return self.send_after_begin(job, msg, true).await;
        }
        let result = self.send_timed(&self.outbound(msg)).await;
        let now = self.clock.now();
        match result {
            Ok(receipt) => {
                self.observe_delay(msg, now);
                let record = SentRecord::new(
                    job,
                    msg,
                    self.provider.carrier_of(&msg.from),
                    &receipt.provider_sid,
                    now,
                );
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
    pub(super) async fn record_loop(self, mut rx: mpsc::UnboundedReceiver<ToRecord>) {
        let mut buf: Vec<ToRecord> = Vec::new();
        while rx.recv_many(&mut buf, self.store.send_batch()).await > 0 {
            let records: Vec<SentRecord> = buf.iter().map(|t| t.record.clone()).collect();
            let held = match self.store.record_sent_batch(&records).await {
                Ok(held) => held.into_iter().map(Some).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, n = buf.len(), "batched send record failed; recording one by one");
                    let mut held = Vec::with_capacity(buf.len());
                    for r in &records {
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

    /// One text, start to finish (the one-text path).
    pub(super) async fn send_text(
        &self,
        job: &Claimed,
        message_id: i64,
    ) -> crate::store::Result<()> {
        let now = self.clock.now();
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
            Verdict::Allow => self.observe_line_wait(job, &msg, now),
            Verdict::Hold { until, reason } => {
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "held")]);
                self.metrics.observe_with(
                    "ringback_text_hold_seconds",
                    &[("reason", reason), ("class", msg.kind.class().as_str())],
                    (until - now).num_milliseconds().max(0) as f64 / 1000.0,
                );
                tracing::info!(message_id = msg.id, reason, until = %until, "text held by the compliance gate");
                self.store
                    .retry_job(job, until, Some(reason), false, now)
                    .await?;
                return Ok(());
            }
            Verdict::Refuse(reason) => {
                tracing::warn!(message_id = msg.id, kind = %msg.kind, to = %mask(&msg.to), reason, "text refused by the compliance gate");
                if reason != "sender_not_registered" {
                    self.suppress(job, msg.id, reason).await?;
                    return Ok(());
                }
                // The refusal and the owner's alert commit together: the
                // job is done once the refusal is recorded, so an alert
                // left for a second transaction could be lost to a crash.
                let mut tx = self.store.begin().await?;
                let first = tx.suppress_message(job, msg.id, reason, now).await?;
                let alerted = crate::shell::alerts::sender_refused(
                    &mut tx,
                    &self.config,
                    &self.metrics,
                    &msg,
                    now,
                )
                .await?;
                tx.commit().await?;
                if first {
                    self.count_suppressed(reason);
                }
                if alerted {
                    self.wake.notify_one();
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
        job: &Claimed,
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
            BeginSend::Suppressed(reason) => {
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "suppressed")]);
                self.metrics
                    .inc("ringback_suppressed_total", &[("reason", reason)]);
                tracing::info!(message_id = msg.id, to = %mask(&msg.to), reason, "text suppressed at send time");
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
            reference: Some(format!("rb-{}", msg.id)),
        }
    }

    /// The provider call and its outcome, one text at a time. An in-doubt
    /// text (an earlier attempt may have reached the carrier) is looked for
    /// at the carrier first, never sent blindly again.
    async fn send_after_begin(
        &self,
        job: &Claimed,
        msg: &Message,
        in_doubt: bool,
    ) -> crate::store::Result<()> {
        let sms = self.outbound(msg);
        if in_doubt {
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
                            self.provider.carrier_of(&msg.from),
                            &receipt.provider_sid,
                            now,
                        ))
                        .await?;
                    self.metrics
                        .inc("ringback_texts_total", &[("outcome", "reconciled")]);
                    return Ok(());
                }
                Ok(None) => {
                    // Not found may only mean "not searchable yet": the
                    // record of the latest attempt (whose unknown outcome
                    // was recorded at `updated_at`, as loaded before this
                    // attempt began) must have had time to appear.
                    let now = self.clock.now();
                    let last_attempt = since.max(msg.updated_at);
                    let believed_at = last_attempt + self.provider.record_lag(&msg.from);
                    if now < believed_at {
                        tracing::info!(message_id = msg.id, look_again_in_s = (believed_at - now).num_seconds(), "in-doubt send not found at the carrier yet; looking again before sending");
                        self.store
                            .look_again_later(job, msg.id, believed_at, now)
                            .await?;
                        return Ok(());
                    }
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
                        self.provider.carrier_of(&msg.from),
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

    async fn suppress(
        &self,
        job: &Claimed,
        message_id: i64,
        reason: &str,
    ) -> crate::store::Result<()> {
        // Count each message once, even if a reclaimed job gets here twice.
        if self
            .store
            .suppress_message(job, message_id, reason, self.clock.now())
            .await?
        {
            self.count_suppressed(reason);
        }
        Ok(())
    }

    fn count_suppressed(&self, reason: &str) {
        self.metrics
            .inc("ringback_texts_total", &[("outcome", "suppressed")]);
        self.metrics
            .inc("ringback_suppressed_total", &[("reason", reason)]);
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
        compliance::check(&Outgoing {
            kind: msg.kind,
            to: &msg.to,
            from: &msg.from,
            business: self.config.business(&msg.business_id),
            own_number: self.config.is_own_number(&msg.to),
            now,
            sent_last_24h,
            cap_frees_at: oldest.map(|t| t + compliance::CAP_WINDOW),
            rules: &self.policy.rules,
        })
    }

    /// How long a text waited in its number's line once it was due (behind
    /// the number's pace and the texts ahead of it).
    fn observe_line_wait(&self, job: &Claimed, msg: &Message, now: DateTime<Utc>) {
        self.metrics.observe_with(
            "ringback_text_hold_seconds",
            &[("reason", "line"), ("class", msg.kind.class().as_str())],
            (now - job.due_at).num_milliseconds().max(0) as f64 / 1000.0,
        );
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
        job: &Claimed,
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
                let Some(tries) = self
                    .store
                    .record_send_error(job, message_id, !still_in_doubt, None, &message, now)
                    .await?
                else {
                    tracing::warn!(job = job.id, message_id, error = %mask_numbers(&message), "send failed after this worker's lease ran out; the job's new owner decides");
                    return Ok(());
                };
                // Counted in tries at the carrier, not in claims of the job: a
                // claim lost to a crash before the carrier was asked must not
                // use up an acknowledged caller's text.
                if tries >= job.max_attempts {
                    tracing::error!(message_id = message_id, attempts = tries, error = %mask_numbers(&message), "giving up on a text after its last attempt");
                    self.store
                        .record_send_failed(job, message_id, "retries_exhausted", &message, now)
                        .await?;
                    self.metrics
                        .inc("ringback_texts_total", &[("outcome", "failed")]);
                    return Ok(());
                }
                let delay = retry_delay(tries, retry_after, rand::random::<f64>());
                tracing::warn!(message_id = message_id, attempt = tries, retry_in_ms = delay.num_milliseconds(), error = %mask_numbers(&message), "send failed; will retry");
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "retried")]);
                self.store
                    .retry_job(job, now + delay, Some(&message), true, now)
                    .await?;
            }
            SendError::Permanent { code, message } => {
                tracing::error!(message_id = message_id, code = %code, error = %mask_numbers(&message), "carrier refused a text for good; not retrying");
                // The failure and what it teaches about the number or the
                // sender commit together (see `Tx::record_send_failed`).
                let mut tx = self.store.begin().await?;
                let failed = tx
                    .record_send_failed(job, message_id, &code, &message, now)
                    .await?;
                let alerted = match failed {
                    Some(msg) => {
                        crate::shell::carrier::learn_from_carrier_error(
                            &mut tx,
                            &self.config,
                            &self.metrics,
                            &msg,
                            &code,
                            now,
                        )
                        .await?
                    }
                    None => false,
                };
                tx.commit().await?;
                if alerted {
                    self.wake.notify_one();
                }
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "failed")]);
            }
        }
        Ok(())
    }
}
