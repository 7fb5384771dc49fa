//! The conversation's timers: follow-up steps and the cold check. Each is a
//! durable job (a row with `run_at`), so a restart — or a process that was
//! down when one came due — still runs each exactly once, late rather than
//! twice: a timer's effects and its completion commit in one transaction,
//! fenced by the job's lease.
//!
//! While a lead waits on the customer, its next follow-up step carries its
//! cold check: the check is queued (for `cold_after` past the lead's last
//! activity) only when the sequence ends — the last step went, a step found
//! nothing to do, or something stopped it (`Tx::stop_follow_ups`) — or
//! when the next step would come after the lead goes cold. A business
//! without follow-ups gets the check at the missed call. So a missed call
//! usually writes two job rows (the text and one timer), not three.
//!
//! Firing a follow-up never sends anything itself. It queues an outbound
//! message, which the worker's send path takes through the compliance gate
//! like any other text (quiet hours, caps, the consent ledger — and the
//! lead's status again, in case the customer replied in between).

use crate::config::Config;
use crate::core::conversation::{self, ColdCheck, FollowUpDecision, FollowUpDue};
use crate::domain::Lead;
use crate::domain::MessageKind;
use crate::store::{Job, NewJob, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub const FOLLOW_UP: &str = "follow_up";
pub const COLD_CHECK: &str = "cold_check";

#[derive(Debug, Serialize, Deserialize)]
struct FollowUpPayload {
    lead_id: i64,
    step: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct ColdPayload {
    lead_id: i64,
}

/// The timer for follow-up `step` of a lead. One per (lead, step): the
/// unique key makes scheduling it twice a no-op.
pub fn follow_up_job(lead_id: i64, step: usize, at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: FOLLOW_UP,
        lead_id: Some(lead_id),
        unique_key: format!("follow_up:{lead_id}:{step}"),
        payload: serde_json::to_string(&FollowUpPayload { lead_id, step }).expect("serialises"),
        run_at: at,
        max_attempts: 5,
    }
}

/// The cold check of a lead at `at` (one per lead and time).
pub fn cold_job(lead_id: i64, at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: COLD_CHECK,
        lead_id: Some(lead_id),
        unique_key: format!("cold:{lead_id}:{}", at.timestamp_millis()),
        payload: serde_json::to_string(&ColdPayload { lead_id }).expect("serialises"),
        run_at: at,
        max_attempts: 5,
    }
}

/// What a timer did, for the worker's log and wake-up.
#[derive(Debug, PartialEq, Eq)]
pub enum Fired {
    /// A text was queued: wake the sender.
    Queued,
    Nothing,
    /// Another worker holds the job now; nothing was changed.
    LostLease,
}

/// Runs a due follow-up step.
pub async fn run_follow_up(
    store: &Store,
    config: &Config,
    rules: &crate::core::compliance::Rules,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<Fired, StoreError> {
    let Ok(p) = serde_json::from_str::<FollowUpPayload>(&job.payload) else {
        // The sequence cannot go on, but the lead (also kept on the job row)
        // must still go cold in time: this step may have carried its check.
        let mut tx = store.begin().await?;
        if !tx.finish_job(job, Some("unreadable payload"), now).await? {
            return Ok(Fired::LostLease);
        }
        if let Some(lead_id) = job.lead_id {
            if let Some((lead, _)) = tx.lead_locked(lead_id, now).await? {
                queue_cold_check(&mut tx, &lead, config.service.cold_after, now).await?;
            }
        }
        tx.commit().await?;
        tracing::error!(job = job.id, "follow-up step with an unreadable payload: failed; the lead's later steps are lost, its cold check kept");
        return Ok(Fired::Nothing);
    };
    let mut tx = store.begin().await?;
    let Some((mut lead, unreachable)) = tx.lead_locked(p.lead_id, now).await? else {
        tx.finish_job(job, Some("lead not found"), now).await?;
        tx.commit().await?;
        return Ok(Fired::Nothing);
    };
    let consent = tx.consent_state(&lead.business_id, &lead.caller).await?;
    let Some(b) = config.business(&lead.business_id) else {
        tx.finish_job(job, Some("business no longer configured"), now)
            .await?;
        queue_cold_check(&mut tx, &lead, config.service.cold_after, now).await?;
        tx.commit().await?;
        return Ok(Fired::Nothing);
    };
    let decision = conversation::on_follow_up_due(&FollowUpDue {
        business: b,
        lead: &lead,
        step: p.step,
        consent,
        unreachable: unreachable.is_some(),
        now,
    });
    // When the recipient's quiet hours end, if they are on now.
    let quiet_until = rules
        .quiet_hours
        .check(&lead.caller, b.time_zone, now)
        .err();
    let mut fired = Fired::Nothing;
    match decision {
        FollowUpDecision::Wait(until) => {
            let reason = "instant text not sent yet";
            return put_off(store, tx, job, &lead, config, until, reason, now).await;
        }
        FollowUpDecision::Stop(why) => {
            if !tx.finish_job(job, None, now).await? {
                return Ok(Fired::LostLease);
            }
            tx.lead_event(lead.id, "follow_ups_stopped", why, now)
                .await?;
            // The sequence ends here: the lead's cold check takes over.
            queue_cold_check(&mut tx, &lead, config.service.cold_after, now).await?;
        }
        FollowUpDecision::Send { .. } if quiet_until.is_some() => {
            // Inside the recipient's quiet hours: the step itself waits for
            // the morning (rather than queueing a text the gate would hold),
            // so the next step is spaced from when this one really goes and
            // two follow-ups never leave together at 08:00.
            let until = quiet_until.unwrap_or(now);
            return put_off(store, tx, job, &lead, config, until, "quiet_hours", now).await;
        }
        FollowUpDecision::Send { body, next } => {
            if !tx.finish_job(job, None, now).await? {
                return Ok(Fired::LostLease);
            }
            crate::shell::outbox::queue(
                &mut tx,
                crate::shell::outbox::Text {
                    business_id: &lead.business_id,
                    lead_id: Some(lead.id),
                    kind: MessageKind::FollowUp,
                    to: &lead.caller,
                    from: &lead.tracking_number,
                    body,
                    cancel_with_lead: true,
                    trigger_at: Some(job.due_at),
                },
                config.service.max_attempts,
                now,
            )
            .await?;
            lead.follow_ups_sent += 1;
            tx.update_lead(&lead, now).await?;
            if let Some(at) = next {
                tx.enqueue(&follow_up_job(lead.id, p.step + 1, at), now)
                    .await?;
            }
            // The last step, or the next one comes after the lead would go
            // cold: the cold check is queued now (the sequence goes on).
            if lead_carries_no_cold_check(next, &lead, config) {
                queue_cold_check(&mut tx, &lead, config.service.cold_after, now).await?;
            }
            tx.lead_event(
                lead.id,
                "follow_up_queued",
                &format!("follow-up {} of {}", p.step + 1, b.follow_ups.len()),
                now,
            )
            .await?;
            fired = Fired::Queued;
        }
    }
    tx.commit().await?;
    Ok(fired)
}

/// Whether a lead's follow-up step running next at `next` (`None`: no
/// more steps) can no longer carry its cold check, due at `cold_at`: none
/// is left, or it runs after the lead goes cold (or too close before to
/// queue the check then with [`crate::store::COLD_CHECK_NOTICE`]).
pub fn carries_no_cold_check(next: Option<DateTime<Utc>>, cold_at: DateTime<Utc>) -> bool {
    next.is_none_or(|at| at + crate::store::COLD_CHECK_NOTICE > cold_at)
}

/// Queues `lead`'s cold check if it is open: `cold_after` past its last
/// activity, at least [`crate::store::COLD_CHECK_NOTICE`] from now (so
/// nobody need wake the worker for it). Used where a follow-up sequence
/// stops carrying the check (see the module doc).
pub async fn queue_cold_check(
    tx: &mut Tx,
    lead: &Lead,
    cold_after: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = match conversation::cold_check(lead, now, cold_after) {
        ColdCheck::Done => return Ok(()),
        ColdCheck::GoCold => now,
        ColdCheck::CheckAt(at) => at,
    };
    let at = at.max(now + crate::store::COLD_CHECK_NOTICE);
    tx.enqueue(&cold_job(lead.id, at), now).await?;
    Ok(())
}

/// [`carries_no_cold_check`] for `lead`, going cold `cold_after` past its
/// last activity.
fn lead_carries_no_cold_check(next: Option<DateTime<Utc>>, lead: &Lead, config: &Config) -> bool {
    carries_no_cold_check(next, lead.last_activity_at + config.service.cold_after)
}

/// Puts a follow-up step off until `until` (quiet hours, or the instant
/// text not sent yet). If that is past the time the lead goes cold, the
/// step can no longer carry the lead's cold check: it is queued now.
#[allow(clippy::too_many_arguments)]
async fn put_off(
    store: &Store,
    mut tx: Tx,
    job: &Job,
    lead: &Lead,
    config: &Config,
    until: DateTime<Utc>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Fired, StoreError> {
    if lead_carries_no_cold_check(Some(until), lead, config) {
        queue_cold_check(&mut tx, lead, config.service.cold_after, now).await?;
        tx.commit().await?;
    } else {
        drop(tx);
    }
    store
        .retry_job(job, until, Some(reason), false, now)
        .await?;
    Ok(Fired::Nothing)
}

/// Runs a lead's cold check.
pub async fn run_cold_check(
    store: &Store,
    config: &Config,
    job: &Job,
    now: DateTime<Utc>,
) -> Result<Fired, StoreError> {
    // The payload only repeats the job row's lead id: a damaged one does
    // not stop the lead going cold.
    let lead_id = match serde_json::from_str::<ColdPayload>(&job.payload) {
        Ok(p) => p.lead_id,
        Err(_) => match job.lead_id {
            Some(id) => {
                tracing::warn!(
                    job = job.id,
                    "cold check with an unreadable payload; using the job row's lead"
                );
                id
            }
            None => {
                store.fail_job(job, "unreadable payload", now).await?;
                return Ok(Fired::Nothing);
            }
        },
    };
    let mut tx = store.begin().await?;
    let Some((mut lead, _)) = tx.lead_locked(lead_id, now).await? else {
        tx.finish_job(job, Some("lead not found"), now).await?;
        tx.commit().await?;
        return Ok(Fired::Nothing);
    };
    if !tx.finish_job(job, None, now).await? {
        return Ok(Fired::LostLease);
    }
    match conversation::cold_check(&lead, now, config.service.cold_after) {
        ColdCheck::GoCold => {
            lead.status = crate::domain::LeadStatus::Cold;
            // Follow-ups already scheduled still go: "cold" is the
            // office's queue, and the sequence is what might warm it up.
            tx.update_lead(&lead, now).await?;
            tx.lead_event(
                lead.id,
                "cold",
                &format!(
                    "no progress for {} h",
                    config.service.cold_after.num_hours()
                ),
                now,
            )
            .await?;
        }
        ColdCheck::CheckAt(at) => {
            tx.enqueue(&cold_job(lead.id, at), now).await?;
        }
        ColdCheck::Done => {}
    }
    tx.commit().await?;
    Ok(Fired::Nothing)
}
