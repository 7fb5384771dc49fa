//! Calls: one rang in, was answered, was missed (dial result, status
//! callback, voicemail), and the after-hours emergency menu and page-call
//! keypresses.

use super::Received;
use crate::config::Business;
use crate::core::conversation::{self, InstantText, MissedCall, MissedCallDecision};
use crate::core::jobs::{Job, Scheduled};
use crate::domain::{mask, LeadStatus, MessageKind, MissedTrigger, SuppressReason};
use crate::shell::outbox::{self, Outbound};
use crate::shell::Shell;
use crate::store::{NewLead, StoreError, Tx};
use chrono::{DateTime, Utc};

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
                    )
                    .await?;
                }
                let (queued, (kind, detail)) = self
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
                // The first follow-up (if the caller is texted at all), and
                // the check that turns the lead cold if nothing moves.
                let mut timers = Vec::with_capacity(4);
                if let Some(at) = queued
                    .then(|| conversation::follow_up_due_at(b, 0, now))
                    .flatten()
                {
                    timers.push(Scheduled::for_lead(
                        Job::FollowUp { lead_id, step: 0 },
                        lead_id,
                        at,
                    ));
                }
                if status == LeadStatus::New {
                    timers.push(Scheduled::for_lead(
                        Job::ColdCheck { lead_id },
                        lead_id,
                        now + self.config.service.cold_after,
                    ));
                    // The manager hears of it if nobody claims or calls it
                    // back in time (when the business names someone).
                    timers.extend(crate::shell::reminders::timers_for_new_lead(
                        b, lead_id, now,
                    ));
                }
                crate::shell::schedule(&mut tx, &self.config, &timers, now).await?;
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

    /// Queues the instant text (or records why there is none); returns
    /// whether one was queued, and the lead event to record.
    async fn queue_instant(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead_id: i64,
        r: &MissedReport<'_>,
        text: &InstantText,
        now: DateTime<Utc>,
    ) -> Result<(bool, (&'static str, &'static str)), StoreError> {
        let t = |body: String| outbox::Text {
            business_id: &b.id,
            lead_id: Some(lead_id),
            kind: MessageKind::Instant,
            to: r.caller,
            from: r.tracking_number,
            body,
            trigger_at: None,
        };
        Ok(match text {
            InstantText::Send { body, .. } => {
                outbox::queue(tx, &self.config, Outbound::Text(t(body.clone())), now).await?;
                (true, ("instant_text_queued", "instant text queued"))
            }
            InstantText::Suppress(reason) => {
                outbox::record_withheld(tx, t(String::new()), *reason, now).await?;
                (false, ("instant_text_suppressed", reason.as_str()))
            }
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
            tx.stop_follow_ups(lead_id, "caller reached a person", "talked_on_phone", now)
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
            crate::core::classify::Language::En,
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
