//! The imperative shell around the engine for inbound events: each function
//! records one webhook, loads the facts, asks [`crate::core::conversation`] what to do
//! and applies the answer — all in one transaction, committed before the
//! carrier gets its 200. Texts are only ever queued here; the worker sends.

use crate::config::Business;
use crate::core::conversation::{self, InstantText, MissedCall, MissedCallDecision};
use crate::domain::{mask, LeadStatus, MessageKind, MessageStatus, MissedTrigger, SuppressReason};
use crate::metrics::Metrics;
use crate::shell::worker::send_job;
use crate::shell::worker::timers;
use crate::shell::Shell;
use crate::store::{NewJob, NewLead, NewMessage, StoreError, Tx};
use chrono::{DateTime, Utc};

/// The webhook as received, for the audit log and for dedup.
#[derive(Debug, Clone)]
pub struct Received<'a> {
    /// Unique per carrier request: a retry of the same request has the same key.
    pub dedup_key: String,
    pub kind: &'static str,
    pub payload: &'a str,
}

/// What became of a missed-call report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissedOutcome {
    /// The same webhook was already processed.
    Duplicate,
    /// Another report of the same call was already counted.
    AlreadyCounted {
        lead_id: Option<i64>,
    },
    RepeatCall {
        lead_id: i64,
    },
    NewLead {
        lead_id: i64,
        queued_text: bool,
        suppressed: Option<SuppressReason>,
    },
}

/// Who reported a call answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSource {
    /// The `<Dial action>` result of a call ringback fronts: the seconds
    /// are the talk with whoever picked up.
    Dial,
    /// A call status callback (numbers ringback does not front): the
    /// seconds are the whole call's.
    StatusCallback,
}

/// A call was reported answered.
#[derive(Clone, Copy)]
pub struct AnsweredCall<'a> {
    pub business: &'a Business,
    pub call_sid: &'a str,
    pub caller: &'a str,
    pub to: &'a str,
    /// How long it lasted, as `source` counts it.
    pub seconds: i64,
    pub source: AnswerSource,
}

/// A call was reported missed (dial result, status callback, voicemail...).
pub struct MissedReport<'a> {
    pub business: &'a Business,
    pub call_sid: &'a str,
    pub caller: &'a str,
    pub tracking_number: &'a str,
    pub trigger: MissedTrigger,
    pub recording_url: Option<&'a str>,
    pub transcript: Option<&'a str>,
}

impl Shell {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Starts the transaction that handles a webhook, recording the webhook
    /// in it once. `None`: this webhook was handled already (a carrier
    /// retry), and the caller changes nothing.
    async fn begin_webhook(
        &self,
        rx: &Received<'_>,
        business_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Tx>, StoreError> {
        let mut tx = self.store.begin().await?;
        if tx
            .record_webhook(&rx.dedup_key, rx.kind, business_id, rx.payload, now)
            .await?
        {
            Ok(Some(tx))
        } else {
            tx.commit().await?;
            Ok(None)
        }
    }

    /// Records that a call came in (we are about to ring the business).
    pub async fn call_started(
        &self,
        business: &Business,
        call_sid: &str,
        caller: &str,
        to: &str,
        rx: &Received<'_>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        if let Some(mut tx) = self.begin_webhook(rx, Some(&business.id), now).await? {
            tx.upsert_call(call_sid, &business.id, caller, to, "ringing", now)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The person who picked up pressed 1 at the screening prompt.
    pub async fn screen_accepted(
        &self,
        business: &Business,
        call_sid: &str,
        caller: &str,
        to: &str,
        rx: &Received<'_>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        if let Some(mut tx) = self.begin_webhook(rx, Some(&business.id), now).await? {
            let mut call = tx
                .upsert_call(call_sid, &business.id, caller, to, "ringing", now)
                .await?;
            call.screen_accepted = true;
            tx.update_call(&call, now).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Was the forwarded leg of this call accepted at the screening prompt?
    pub async fn was_screen_accepted(&self, call_sid: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .call(call_sid)
            .await?
            .is_some_and(|c| c.screen_accepted))
    }

    /// A missed call: exactly one lead per caller per window, exactly one
    /// instant text per lead.
    pub async fn missed_call(
        &self,
        r: &MissedReport<'_>,
        rx: &Received<'_>,
    ) -> Result<MissedOutcome, StoreError> {
        let now = self.now();
        let b = r.business;
        let Some(mut tx) = self.begin_webhook(rx, Some(&b.id), now).await? else {
            return Ok(MissedOutcome::Duplicate);
        };
        let mut call = tx
            .call_for_missed(r.call_sid, &b.id, r.caller, r.tracking_number, now)
            .await?;
        if let Some(url) = r.recording_url {
            call.recording_url = Some(url.to_string());
        }
        if let Some(t) = r.transcript {
            call.transcript = Some(t.to_string());
        }
        let unreachable = tx.lock_contact(&b.id, r.caller, now).await?;
        let latest = tx.latest_lead(&b.id, r.caller).await?;
        let consent = tx.consent_state(&b.id, r.caller).await?;
        let facts = MissedCall {
            business: b,
            caller: r.caller,
            tracking_number: r.tracking_number,
            trigger: r.trigger,
            call_already_counted: call.missed_trigger.is_some(),
            latest_lead: latest.as_ref(),
            consent,
            unreachable: unreachable.as_deref(),
            is_own_number: self.config.business_for(r.caller).is_some(),
            now,
            window: self.config.service.instant_text_window,
        };
        let decision = conversation::on_missed_call(&facts);
        let outcome = match decision {
            MissedCallDecision::AlreadyCounted => {
                call.status = "missed".into();
                tx.save_missed_call(&call, now).await?;
                if let (Some(lead_id), Some(t)) = (call.lead_id, r.transcript) {
                    tx.lead_event(lead_id, "voicemail_transcript", t, now)
                        .await?;
                }
                MissedOutcome::AlreadyCounted {
                    lead_id: call.lead_id,
                }
            }
            MissedCallDecision::RepeatCall { lead_id } => {
                let mut lead = latest.expect("a repeat call has a lead");
                lead.call_count += 1;
                lead.last_activity_at = now;
                tx.update_lead(&lead, now).await?;
                call.lead_id = Some(lead_id);
                call.status = "missed".into();
                call.missed_trigger = Some(r.trigger.as_str().into());
                tx.save_missed_call(&call, now).await?;
                tx.lead_event(
                    lead_id,
                    "repeat_call",
                    &format!(
                        "missed again ({}); call {} of this lead, no new text",
                        r.trigger, lead.call_count
                    ),
                    now,
                )
                .await?;
                MissedOutcome::RepeatCall { lead_id }
            }
            MissedCallDecision::NewLead {
                status,
                suppressed,
                text,
            } => {
                let lead_id = tx
                    .insert_lead(&NewLead {
                        business_id: b.id.clone(),
                        caller: r.caller.to_string(),
                        tracking_number: r.tracking_number.to_string(),
                        status,
                        call_count: 1,
                        at: now,
                        window_ends_at: now + self.config.service.instant_text_window,
                        suppressed_reason: suppressed,
                    })
                    .await?;
                call.lead_id = Some(lead_id);
                call.status = "missed".into();
                call.missed_trigger = Some(r.trigger.as_str().into());
                tx.save_missed_call(&call, now).await?;
                if let Some(old) = latest.as_ref() {
                    // The caller's earlier lead (its window has passed) must
                    // not keep texting them beside this one: a reply or an
                    // answered call will only reach the newest lead.
                    tx.stop_follow_ups(
                        old.id,
                        "the caller called again: the new lead's follow-ups take over",
                        "superseded",
                        now,
                        self.config.service.cold_after,
                    )
                    .await?;
                }
                // The two events in one statement, and the send and the
                // first follow-up (or the cold check) in another.
                let (send, (kind, detail)) = self
                    .queue_instant(&mut tx, b, lead_id, r, &text, now)
                    .await?;
                tx.lead_events(
                    &[
                        (
                            lead_id,
                            "missed_call",
                            &format!("missed call ({})", r.trigger),
                        ),
                        (lead_id, kind, detail),
                    ],
                    now,
                )
                .await?;
                let mut jobs = Vec::with_capacity(2);
                let queued = send.is_some();
                jobs.extend(send);
                let follow_up = queued
                    .then(|| conversation::follow_up_due_at(b, 0, now))
                    .flatten();
                if let Some(at) = follow_up {
                    jobs.push(timers::follow_up_job(lead_id, 0, at));
                }
                // A first follow-up inside the cold window carries the cold
                // check on (see `timers`): one job row fewer per call on
                // the busiest path.
                let cold_at = now + self.config.service.cold_after;
                if status == LeadStatus::New && timers::carries_no_cold_check(follow_up, cold_at) {
                    jobs.push(timers::cold_job(lead_id, cold_at));
                }
                tx.enqueue_many(&jobs, now).await?;
                MissedOutcome::NewLead {
                    lead_id,
                    queued_text: queued,
                    suppressed,
                }
            }
        };
        // A voicemail that reports an emergency ("water's coming through the
        // ceiling") is escalated like an emergency text.
        let mut escalated = false;
        if let Some(t) = r.transcript {
            let lead_id = match &outcome {
                MissedOutcome::NewLead { lead_id, .. } | MissedOutcome::RepeatCall { lead_id } => {
                    Some(*lead_id)
                }
                MissedOutcome::AlreadyCounted { lead_id } => *lead_id,
                MissedOutcome::Duplicate => None,
            };
            if let Some(lead_id) = lead_id {
                escalated = self
                    .escalate_if_emergency(&mut tx, b, lead_id, t, now)
                    .await?;
            }
        }
        tx.commit().await?;
        if escalated {
            // Pages, safety advice, the office's text: the worker must not
            // sleep until its next timer (up to 30 s) before sending them.
            self.wake.notify_one();
        }
        match &outcome {
            MissedOutcome::NewLead {
                queued_text: true, ..
            } => {
                self.wake.notify_one();
            }
            MissedOutcome::NewLead {
                suppressed: Some(reason),
                ..
            } => {
                self.metrics
                    .inc("ringback_texts_total", &[("outcome", "suppressed")]);
                self.metrics
                    .inc("ringback_suppressed_total", &[("reason", reason.as_str())]);
                tracing::info!(caller = %mask(r.caller), reason = %reason, "instant text suppressed");
            }
            _ => {}
        }
        Ok(outcome)
    }

    async fn queue_instant(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead_id: i64,
        r: &MissedReport<'_>,
        text: &InstantText,
        now: DateTime<Utc>,
    ) -> Result<(Option<NewJob>, (&'static str, &'static str)), StoreError> {
        let (body, status, reason) = match text {
            InstantText::Send { body, .. } => (body.clone(), MessageStatus::Queued, None),
            InstantText::Suppress(reason) => {
                (String::new(), MessageStatus::Suppressed, Some(*reason))
            }
        };
        let message_id = tx
            .insert_message(&NewMessage {
                business_id: b.id.clone(),
                lead_id: Some(lead_id),
                direction: "outbound",
                kind: MessageKind::Instant,
                to: r.caller.to_string(),
                from: r.tracking_number.to_string(),
                body,
                status,
                suppress_reason: reason,
                provider: None,
                provider_sid: None,
                trigger_at: now,
                created_at: now,
            })
            .await?;
        // The lead event to record with the missed call's own.
        Ok(match reason {
            None => (
                Some(send_job(
                    message_id,
                    Some(lead_id),
                    now,
                    self.config.service.max_attempts,
                )),
                ("instant_text_queued", "instant text queued"),
            ),
            Some(reason) => (None, ("instant_text_suppressed", reason.as_str())),
        })
    }

    /// A call to the business was answered and lasted `seconds`. More than
    /// 30 seconds of talk resolves the caller's open lead.
    pub async fn call_answered(
        &self,
        a: &AnsweredCall<'_>,
        rx: &Received<'_>,
    ) -> Result<Option<i64>, StoreError> {
        let AnsweredCall {
            business,
            call_sid,
            caller,
            to,
            seconds,
            source,
        } = *a;
        let now = self.now();
        let Some(mut tx) = self.begin_webhook(rx, Some(&business.id), now).await? else {
            return Ok(None);
        };
        let mut call = tx
            .upsert_call(call_sid, &business.id, caller, to, "answered", now)
            .await?;
        // Did ringback know this call already: it fronted it (the row is
        // "ringing" from /voice, or has the dial result), or counted it
        // missed? Only a row this callback just created has none of that.
        let known = call.status != "answered"
            || call.answered_seconds.is_some()
            || call.missed_trigger.is_some();
        if source == AnswerSource::StatusCallback && known {
            // For a call ringback fronts, only the dial result says whether
            // a person picked up; the call's own status callback (set as
            // well by mistake) counts the voicemail and the ringing too.
            tx.commit().await?;
            tracing::info!(business = %business.id, call_sid, "status callback for a call ringback fronts: the dial result decides, not this");
            return Ok(None);
        }
        call.answered_seconds = Some(seconds);
        if call.missed_trigger.is_none() {
            call.status = "answered".into();
        }
        tx.lock_contact(&business.id, caller, now).await?;
        let latest = tx.latest_lead(&business.id, caller).await?;
        // A call that was missed (and then went to voicemail) also ends
        // "completed" with a long duration: talking to a machine is not
        // reaching a person.
        let resolved = if call.missed_trigger.is_some() {
            None
        } else {
            conversation::answered_call_resolves(latest.as_ref(), seconds)
        };
        if let (Some(lead_id), Some(mut lead)) = (resolved, latest) {
            lead.status = LeadStatus::Resolved;
            lead.closed_reason = Some("talked_on_phone".into());
            lead.last_activity_at = now;
            tx.update_lead(&lead, now).await?;
            tx.stop_follow_ups(
                lead_id,
                "caller reached a person",
                "talked_on_phone",
                now,
                self.config.service.cold_after,
            )
            .await?;
            crate::shell::emergency::cancel_for_lead(
                &mut tx,
                &self.config,
                &self.metrics,
                lead_id,
                now,
            )
            .await?;
            tx.lead_event(
                lead_id,
                "resolved",
                &format!("answered call of {seconds}s"),
                now,
            )
            .await?;
            call.lead_id = Some(lead_id);
        }
        tx.update_call(&call, now).await?;
        tx.commit().await?;
        Ok(resolved)
    }

    /// A carrier's delivery receipt for one of our texts: the status moves
    /// forward only, a carrier error teaches us about the number (see
    /// [`learn_from_carrier_error`]), and a delivered text clears its
    /// sender's at-risk flag if it was sent after the error.
    pub async fn delivery_status(
        &self,
        business_id: &str,
        sid: &str,
        status: MessageStatus,
        error_code: Option<&str>,
        rx: &Received<'_>,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let Some(mut tx) = self.begin_webhook(rx, Some(business_id), now).await? else {
            return Ok(false);
        };
        let applied = apply_receipt(
            &mut tx,
            &self.metrics,
            sid,
            status,
            error_code,
            now,
            self.config.service.cold_after,
        )
        .await?;
        if applied.is_none() {
            // Not recorded yet, perhaps: the send's outcome is committed a
            // moment after the carrier accepts it (a batch, or an in-doubt
            // send reconciled on its retry), and the receipt can win that
            // race. It gets a second look, so an early "failed" with its
            // error code is not lost.
            let payload = serde_json::to_string(&LateReceipt {
                sid: sid.to_string(),
                status: status.as_str().to_string(),
                error_code: error_code.map(str::to_string),
            })
            .expect("serializable");
            tx.enqueue(
                &NewJob {
                    kind: LATE_RECEIPT,
                    lead_id: None,
                    unique_key: format!("late_receipt:{sid}:{}", status.as_str()),
                    payload,
                    run_at: now + LATE_RECEIPT_EVERY,
                    max_attempts: LATE_RECEIPT_TRIES,
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        if applied.is_none() {
            self.wake.notify_one();
        }
        log_healthy_again(applied.as_ref());
        Ok(applied.is_some())
    }
}

/// A job: a delivery receipt that came before its message was recorded.
pub const LATE_RECEIPT: &str = "late_receipt";
/// How long a late receipt waits between looks, and how many it gets.
pub const LATE_RECEIPT_EVERY: chrono::Duration = chrono::Duration::seconds(15);
pub const LATE_RECEIPT_TRIES: i64 = 4;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct LateReceipt {
    pub sid: String,
    pub status: String,
    pub error_code: Option<String>,
}

/// A delivery receipt applied in `tx`: the message's status moves forward
/// only; a carrier error teaches us about the number; a delivered text
/// clears its sender's at-risk flag if it was sent after the error.
/// `None` if no message has this provider id. `Some((message, healthy
/// again))` otherwise.
pub(crate) async fn apply_receipt(
    tx: &mut Tx,
    metrics: &Metrics,
    sid: &str,
    status: MessageStatus,
    error_code: Option<&str>,
    now: DateTime<Utc>,
    cold_after: chrono::Duration,
) -> Result<Option<(crate::domain::Message, bool)>, StoreError> {
    let Some(m) = tx.update_delivery(sid, status, error_code, now).await? else {
        return Ok(None);
    };
    if let Some(code) = error_code {
        learn_from_carrier_error(tx, metrics, &m, code, now, cold_after).await?;
    }
    let mut healthy_again = false;
    if status == MessageStatus::Delivered {
        let sent_at = m.sent_at.or(m.send_started_at).unwrap_or(m.created_at);
        healthy_again = tx.clear_sender_at_risk(&m.from, sent_at).await?;
    }
    Ok(Some((m, healthy_again)))
}

/// After the commit that cleared it.
pub(crate) fn log_healthy_again(applied: Option<&(crate::domain::Message, bool)>) {
    if let Some((m, true)) = applied {
        tracing::info!(
            business = %m.business_id,
            sender = %m.from,
            "sending number delivers again: no longer at risk"
        );
    }
}

/// What a carrier error code teaches us about the recipient or the sender,
/// applied in `tx`. The same codes arrive two ways — synchronously from the
/// send API (the worker) and later in a delivery status callback — and
/// mean the same thing either way.
pub(crate) async fn learn_from_carrier_error(
    tx: &mut Tx,
    metrics: &Metrics,
    m: &crate::domain::Message,
    code: &str,
    now: DateTime<Utc>,
    cold_after: chrono::Duration,
) -> Result<(), StoreError> {
    use crate::provider::twilio::codes;
    match code {
        codes::INVALID_TO | codes::NOT_MOBILE | codes::LANDLINE | codes::LANDLINE_UNREACHABLE => {
            tx.mark_unreachable(&m.business_id, &m.to, code, now)
                .await?;
            if let Some(lead_id) = m.lead_id {
                tx.stop_follow_ups(
                    lead_id,
                    "number cannot receive texts",
                    "unreachable",
                    now,
                    cold_after,
                )
                .await?;
                tx.lead_event(
                    lead_id,
                    "unreachable",
                    &format!("carrier error {code}: call them instead"),
                    now,
                )
                .await?;
            }
        }
        codes::UNSUBSCRIBED => {
            tx.record_consent(
                &m.business_id,
                &m.to,
                crate::domain::ConsentAction::OptOut,
                "carrier_21610",
                None,
                now,
            )
            .await?;
            tracing::warn!(to = %mask(&m.to), "carrier says the number unsubscribed (21610); recorded as opted out");
        }
        c if crate::shell::alerts::sender_risk(c).is_some() => {
            crate::shell::alerts::sender_at_risk(tx, metrics, m, code, now).await?;
        }
        _ => {}
    }
    Ok(())
}

/// What became of an inbound text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    Duplicate,
    OptedOut {
        confirmation_queued: bool,
    },
    OptedIn {
        confirmation_queued: bool,
    },
    Help,
    /// From on-call staff: an ACK to a page (or a note left for a person).
    Staff {
        acked: bool,
    },
    Message {
        lead_id: i64,
        intent: crate::core::classify::Intent,
    },
}

/// An inbound text.
pub struct InboundSms<'a> {
    pub business: &'a Business,
    pub message_sid: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub body: &'a str,
}

impl Shell {
    /// A customer texted us. STOP/START/HELP are handled here, atomically
    /// with the consent ledger; anything else engages the lead.
    pub async fn inbound_sms(
        &self,
        m: &InboundSms<'_>,
        rx: &Received<'_>,
    ) -> Result<InboundOutcome, StoreError> {
        use crate::core::classify::{keyword, Intent, Keyword};
        use crate::domain::ConsentAction;
        let now = self.now();
        let b = m.business;
        let Some(mut tx) = self.begin_webhook(rx, Some(&b.id), now).await? else {
            return Ok(InboundOutcome::Duplicate);
        };
        // An on-call tech answering a page is staff, not a lead.
        if let (Some(roster), Ok(from), None) = (
            &b.roster,
            crate::domain::PhoneNumber::parse(m.from),
            keyword(m.body),
        ) {
            if roster.person_by_phone(&from).is_some() {
                let acked = crate::shell::emergency::staff_text(
                    &mut tx,
                    &self.config,
                    &self.metrics,
                    b,
                    &from,
                    m.body,
                    now,
                )
                .await?;
                tx.commit().await?;
                self.wake.notify_one();
                return Ok(InboundOutcome::Staff { acked });
            }
        }
        tx.lock_contact(&b.id, m.from, now).await?;
        let consent = tx.consent_state(&b.id, m.from).await?;
        let lead = match tx.latest_lead(&b.id, m.from).await? {
            Some(l)
                if l.status.is_open()
                    || now < l.first_call_at + self.config.service.instant_text_window =>
            {
                l
            }
            _ => {
                // Someone texted first: a new lead.
                let id = tx
                    .insert_lead(&NewLead {
                        business_id: b.id.clone(),
                        caller: m.from.to_string(),
                        tracking_number: m.to.to_string(),
                        status: LeadStatus::Engaged,
                        call_count: 0,
                        at: now,
                        window_ends_at: now + self.config.service.instant_text_window,
                        suppressed_reason: None,
                    })
                    .await?;
                tx.lead_event(
                    id,
                    "texted_first",
                    "the customer texted before calling",
                    now,
                )
                .await?;
                tx.lead(id).await?.expect("just inserted")
            }
        };
        tx.insert_message(&NewMessage {
            business_id: b.id.clone(),
            lead_id: Some(lead.id),
            direction: "inbound",
            kind: MessageKind::Inbound,
            to: m.to.to_string(),
            from: m.from.to_string(),
            body: m.body.to_string(),
            status: MessageStatus::Received,
            suppress_reason: None,
            provider: Some("twilio".into()),
            provider_sid: Some(m.message_sid.to_string()),
            trigger_at: now,
            created_at: now,
        })
        .await?;
        let vars = b.vars(m.to);
        // The one text back, if any: (kind, body).
        let mut queued: Option<(MessageKind, String)> = None;
        // Carrier keywords first; then plain language ("please stop texting
        // me", "ALTO") read by the owner's rules. When in doubt the rules
        // lean to opt-out: any reasonable means of revoking consent counts.
        let classification = self.policy.classifier.classify(m.body);
        let (intent, source) = match keyword(m.body) {
            Some(k) => (Some(k), "keyword"),
            None => (
                match classification.intent {
                    Intent::OptOut => Some(Keyword::Stop),
                    Intent::OptIn => Some(Keyword::Start),
                    Intent::Help => Some(Keyword::Help),
                    _ => None,
                },
                "plain_language",
            ),
        };
        let outcome = match intent {
            Some(Keyword::Stop) => {
                let was_out = consent == Some(ConsentAction::OptOut);
                tx.record_consent(
                    &b.id,
                    m.from,
                    ConsentAction::OptOut,
                    source,
                    Some(m.body),
                    now,
                )
                .await?;
                tx.lead_event(lead.id, "opted_out", m.body, now).await?;
                if !was_out {
                    queued = Some((
                        MessageKind::OptOutConfirmation,
                        b.templates.opt_out_confirmation.render(&vars),
                    ));
                }
                InboundOutcome::OptedOut {
                    confirmation_queued: !was_out,
                }
            }
            Some(Keyword::Start) => {
                let was_out = consent == Some(ConsentAction::OptOut);
                tx.record_consent(
                    &b.id,
                    m.from,
                    ConsentAction::OptIn,
                    source,
                    Some(m.body),
                    now,
                )
                .await?;
                tx.lead_event(lead.id, "opted_in", m.body, now).await?;
                if was_out {
                    queued = Some((
                        MessageKind::OptInConfirmation,
                        b.templates.opt_in_confirmation.render(&vars),
                    ));
                }
                InboundOutcome::OptedIn {
                    confirmation_queued: was_out,
                }
            }
            Some(Keyword::Help) => {
                tx.record_consent(
                    &b.id,
                    m.from,
                    ConsentAction::Help,
                    source,
                    Some(m.body),
                    now,
                )
                .await?;
                if consent != Some(ConsentAction::OptOut) {
                    queued = Some((MessageKind::HelpReply, b.templates.help_reply.render(&vars)));
                }
                InboundOutcome::Help
            }
            None => {
                let plan = self
                    .route_reply(&mut tx, b, &lead, m, &classification, now)
                    .await?;
                if let Some(text) = plan.reply {
                    queued = Some((MessageKind::Reply, text));
                }
                InboundOutcome::Message {
                    lead_id: lead.id,
                    intent: classification.intent,
                }
            }
        };
        if matches!(intent, Some(Keyword::Help | Keyword::Start)) {
            // Any text from them ends the follow-up sequence: they are
            // talking to us now (STOP already canceled everything).
            let mut l = lead.clone();
            if matches!(l.status, LeadStatus::New | LeadStatus::Texted) {
                l.status = LeadStatus::Engaged;
            }
            l.last_activity_at = now;
            tx.update_lead(&l, now).await?;
            tx.stop_follow_ups(
                l.id,
                "the customer replied",
                "customer_replied",
                now,
                self.config.service.cold_after,
            )
            .await?;
        }
        if let Some((kind, body)) = queued {
            crate::shell::outbox::queue(
                &mut tx,
                crate::shell::outbox::Text {
                    business_id: &b.id,
                    lead_id: Some(lead.id),
                    kind,
                    to: m.from,
                    from: m.to,
                    body,
                    // The opt-out confirmation must survive a second STOP
                    // (which cancels the lead's jobs): it is the one text
                    // still owed.
                    cancel_with_lead: kind != MessageKind::OptOutConfirmation,
                    trigger_at: None,
                },
                self.config.service.max_attempts,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.wake.notify_one();
        Ok(outcome)
    }
}

/// How long after an emergency was taken (or, with no on-call chain, after
/// the last word in the conversation) a caller's texts still go to the
/// office instead of getting template replies.
const EMERGENCY_LIVE: chrono::Duration = chrono::Duration::hours(12);

impl Shell {
    /// A reply that is not a carrier keyword: route it by intent (see
    /// [`conversation::on_reply`]) and apply the plan in `tx` — the lead, the end
    /// of its follow-ups, the office notice. The text back to the customer,
    /// if any, is returned in the plan for the caller to queue.
    async fn route_reply(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead: &crate::domain::Lead,
        m: &InboundSms<'_>,
        classification: &crate::core::classify::Classification,
        now: DateTime<Utc>,
    ) -> Result<conversation::ReplyPlan, StoreError> {
        let (transcripts, texts) = tx.what_they_said(lead.id).await?;
        let details = crate::core::packet::details(&transcripts, &texts);
        let emergency_live = match &lead.hazard {
            None => false,
            Some(_) => {
                use crate::core::escalation::Status;
                match tx.latest_escalation(lead.id).await? {
                    Some((_, e)) => {
                        matches!(e.status, Status::Paging | Status::Exhausted)
                            || (e.status == Status::Acked
                                && e.acked_at.is_some_and(|t| now - t < EMERGENCY_LIVE))
                    }
                    // No roster, so no chain: the office has it while the
                    // conversation is going.
                    None => now - lead.last_activity_at < EMERGENCY_LIVE,
                }
            }
        };
        let mut plan = conversation::on_reply(&conversation::Reply {
            business: b,
            lead,
            intent: classification.intent,
            hazard: classification.hazard,
            details: &details,
            tracking_number: m.to,
            emergency_live,
        });
        plan.lead.last_activity_at = now;
        tx.update_lead(&plan.lead, now).await?;
        // Any reply ends the follow-up sequence, and restarts the clock
        // after which a quiet lead goes cold.
        tx.stop_follow_ups(
            lead.id,
            "the customer replied",
            "customer_replied",
            now,
            self.config.service.cold_after,
        )
        .await?;
        tx.enqueue(
            &timers::cold_job(lead.id, now + self.config.service.cold_after),
            now,
        )
        .await?;
        if !plan.lead.status.is_open() {
            crate::shell::emergency::cancel_for_lead(tx, &self.config, &self.metrics, lead.id, now)
                .await?;
        }
        tx.lead_event(
            lead.id,
            &format!("reply:{}", classification.intent.as_str()),
            m.body,
            now,
        )
        .await?;
        if plan.event != "handed_to_office" {
            tx.lead_event(lead.id, &plan.event, "", now).await?;
        }
        if let Some(notice) = plan.notify {
            let packet = crate::core::packet::Packet::build(&crate::core::packet::PacketInput {
                business: b,
                lead: &plan.lead,
                transcripts: &transcripts,
                texts: &texts,
                unreachable: false,
            });
            self.notify_office(tx, b, &plan.lead, notice, &packet, now)
                .await?;
            if notice == conversation::OfficeNotice::Emergency {
                crate::shell::emergency::start(
                    tx,
                    &self.config,
                    &self.metrics,
                    b,
                    &plan.lead,
                    classification
                        .hazard
                        .unwrap_or(crate::core::classify::Hazard::Other),
                    m.body,
                    packet.location.as_deref(),
                    now,
                )
                .await?;
            }
        }
        Ok(plan)
    }

    /// Tells the office: the packet goes on the lead's timeline (the admin
    /// API shows it) and, if the business has an office phone, as a text.
    pub(crate) async fn notify_office(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead: &crate::domain::Lead,
        notice: conversation::OfficeNotice,
        packet: &crate::core::packet::Packet,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = packet.summary(notice.headline());
        tx.lead_event(lead.id, "office_notice", &body, now).await?;
        let Some(office) = b.office_phone() else {
            return Ok(());
        };
        crate::shell::outbox::queue(
            tx,
            crate::shell::outbox::Text {
                business_id: &b.id,
                lead_id: Some(lead.id),
                kind: MessageKind::OfficeNotice,
                to: office.as_str(),
                from: &lead.tracking_number,
                body,
                // The caller opting out must not stop the office hearing
                // about them.
                cancel_with_lead: false,
                trigger_at: None,
            },
            self.config.service.max_attempts,
            now,
        )
        .await?;
        tracing::info!(lead = lead.id, notice = notice.headline(), packet = %packet.log_line(), "office notified");
        Ok(())
    }
}

impl Shell {
    /// Reads a voicemail transcript with the owner's rules; an emergency
    /// tells the office at once and pages the on-call chain.
    async fn escalate_if_emergency(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead_id: i64,
        transcript: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let c = self.policy.classifier.classify(transcript);
        if c.intent != crate::core::classify::Intent::Emergency {
            return Ok(false);
        }
        let hazard = c.hazard.unwrap_or(crate::core::classify::Hazard::Other);
        self.escalate_lead(
            tx,
            b,
            lead_id,
            hazard,
            transcript,
            "voicemail:emergency",
            now,
        )
        .await?;
        Ok(true)
    }

    /// Marks a lead as an emergency, tells the office and pages the chain.
    #[allow(clippy::too_many_arguments)]
    async fn escalate_lead(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead_id: i64,
        hazard: crate::core::classify::Hazard,
        said: &str,
        event: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(mut lead) = tx.lead(lead_id).await? else {
            return Ok(());
        };
        lead.hazard = Some(hazard.as_str().to_string());
        lead.intent = Some("emergency".into());
        if matches!(
            lead.status,
            LeadStatus::New | LeadStatus::Texted | LeadStatus::Cold
        ) {
            lead.status = LeadStatus::Engaged;
        }
        tx.update_lead(&lead, now).await?;
        // "Still need a hand?" must never follow an emergency.
        tx.stop_follow_ups(
            lead.id,
            "emergency",
            "emergency",
            now,
            self.config.service.cold_after,
        )
        .await?;
        tx.lead_event(lead.id, event, said, now).await?;
        let (transcripts, texts) = tx.what_they_said(lead.id).await?;
        let packet = crate::core::packet::Packet::build(&crate::core::packet::PacketInput {
            business: b,
            lead: &lead,
            transcripts: &transcripts,
            texts: &texts,
            unreachable: false,
        });
        let started = crate::shell::emergency::start(
            tx,
            &self.config,
            &self.metrics,
            b,
            &lead,
            hazard,
            said,
            packet.location.as_deref(),
            now,
        )
        .await?;
        // Already being paged (the menu, then the voicemail): one notice.
        if started != crate::shell::emergency::Started::AlreadyPaging {
            self.notify_office(
                tx,
                b,
                &lead,
                conversation::OfficeNotice::Emergency,
                &packet,
                now,
            )
            .await?;
        }
        Ok(())
    }
}

impl Shell {
    /// After hours, the caller pressed 1 for an emergency and the on-call
    /// tech did not pick up the connected call: an emergency lead, paged.
    pub async fn ivr_emergency_unanswered(
        &self,
        b: &Business,
        call_sid: &str,
        rx: &Received<'_>,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let Some(mut tx) = self.begin_webhook(rx, Some(&b.id), now).await? else {
            return Ok(false);
        };
        let Some(call) = tx.call(call_sid).await? else {
            tx.commit().await?;
            return Ok(false);
        };
        let Some(lead_id) = call.lead_id else {
            tx.commit().await?;
            return Ok(false);
        };
        tx.lock_contact(&b.id, &call.caller, now).await?;
        self.escalate_lead(
            &mut tx,
            b,
            lead_id,
            crate::core::classify::Hazard::Other,
            "pressed 1 for an emergency after hours; the on-call tech did not pick up",
            "ivr:emergency",
            now,
        )
        .await?;
        tx.commit().await?;
        self.wake.notify_one();
        Ok(true)
    }

    /// After hours, the caller pressed 1 and the on-call tech took the call
    /// (accepted at the screen): they have it. No follow-ups, no paging.
    pub async fn ivr_emergency_connected(
        &self,
        b: &Business,
        call_sid: &str,
        seconds: i64,
        rx: &Received<'_>,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let Some(mut tx) = self.begin_webhook(rx, Some(&b.id), now).await? else {
            return Ok(());
        };
        let lead_id = tx.call(call_sid).await?.and_then(|c| c.lead_id);
        let locked = match lead_id {
            Some(id) => tx.lead_locked(id, now).await?,
            None => None,
        };
        if let Some((mut lead, _)) = locked {
            lead.hazard = Some(crate::core::classify::Hazard::Other.as_str().to_string());
            lead.intent = Some("emergency".into());
            if matches!(
                lead.status,
                LeadStatus::New | LeadStatus::Texted | LeadStatus::Cold
            ) {
                lead.status = LeadStatus::Engaged;
            }
            lead.last_activity_at = now;
            tx.update_lead(&lead, now).await?;
            tx.stop_follow_ups(
                lead.id,
                "the on-call tech took the call",
                "on_call_connected",
                now,
                self.config.service.cold_after,
            )
            .await?;
            tx.lead_event(
                lead.id,
                "ivr:connected",
                &format!("after-hours emergency: the on-call tech took the call ({seconds} s)"),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A key pressed on a page call; "1" accepts the emergency. Returns the
    /// caller's number to read back when it was accepted.
    pub async fn page_keypress(
        &self,
        escalation_id: i64,
        tech: &str,
        digits: &str,
        rx: &Received<'_>,
    ) -> Result<Option<String>, StoreError> {
        let now = self.now();
        let Ok(phone) = crate::domain::PhoneNumber::parse(tech) else {
            return Ok(None);
        };
        let Some(mut tx) = self.begin_webhook(rx, None, now).await? else {
            return Ok(None);
        };
        let after = crate::shell::emergency::handle_in(
            &mut tx,
            &self.config,
            &self.metrics,
            escalation_id,
            crate::core::escalation::Event::KeyPressed {
                from: phone.clone(),
                digits: digits.to_string(),
            },
            now,
        )
        .await?;
        let caller = match &after {
            Some(e) if e.acked_by.as_ref().is_some_and(|a| a.phone == phone) => {
                tx.lead(e.lead_id).await?.map(|l| l.caller)
            }
            _ => None,
        };
        tx.commit().await?;
        self.wake.notify_one();
        Ok(caller)
    }
}
