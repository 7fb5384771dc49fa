//! The office's timers, applied: a new lead's late-lead reminders, a
//! promised callback, the follow-ups a disposition starts, and what a
//! person does with a due follow-up (send it, edited or not, or drop it).
//!
//! Every timer is a durable job (`sla_reminder`, `task_due`) queued in the
//! transaction that made it (what a person does to an item is
//! `shell::office::tasks`); the worker's handlers ask
//! [`crate::core::reminders`] whether it is still wanted when it fires.
//! Every text leaves through the one door: reminders are staff texts,
//! follow-ups customer texts, each checked by the gate at send time.

use crate::config::{Business, Config};
use crate::core::jobs::{Job, Scheduled};
use crate::core::reminders::{self, Late, TaskKind};
use crate::domain::Lead;
use crate::store::{NewTask, StoreError, Tx};
use chrono::{DateTime, Utc};

/// A new lead's reminders (none when nobody is to be reminded).
pub fn timers_for_new_lead(b: &Business, lead_id: i64, missed_at: DateTime<Utc>) -> Vec<Scheduled> {
    reminders::reminders_for(b, missed_at)
        .into_iter()
        .map(|(late, at)| Scheduled::for_lead(Job::SlaReminder { lead_id, late }, lead_id, at))
        .collect()
}

/// Cancels a lead's pending reminders of these kinds (a claim, a call).
pub async fn cancel(
    tx: &mut Tx,
    lead_id: i64,
    which: &[Late],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for &late in which {
        let key = Job::SlaReminder { lead_id, late }.unique_key(now);
        tx.cancel_job(&key, "the office got to the lead", now)
            .await?;
    }
    Ok(())
}

/// Adds a queue item and its timer in `tx`.
pub(crate) async fn add_task(
    tx: &mut Tx,
    config: &Config,
    t: &NewTask<'_>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let task_id = tx.insert_task(t, now).await?;
    let timer = Scheduled::for_lead(Job::TaskDue { task_id }, t.lead_id, t.due_at);
    crate::shell::schedule(tx, config, &[timer], now).await?;
    let label = TaskKind::parse(t.kind).map_or(t.kind, |k| k.label());
    tx.lead_event(
        t.lead_id,
        &format!("task:{}", t.kind),
        &format!("{label} due {}", t.due_at.to_rfc3339()),
        now,
    )
    .await?;
    Ok(task_id)
}

/// A new queue item of `lead`.
pub(crate) fn item<'a>(
    lead: &'a Lead,
    kind: TaskKind,
    due_at: DateTime<Utc>,
    body: Option<&'a str>,
    by: Option<&'a str>,
) -> NewTask<'a> {
    NewTask {
        lead_id: lead.id,
        business_id: &lead.business_id,
        kind: kind.as_str(),
        due_at,
        body,
        created_by: by,
    }
}

/// A disposition that starts a follow-up (booked / job done, quoted)
/// schedules it, drafted from the owner's template.
pub async fn on_disposition(
    tx: &mut Tx,
    config: &Config,
    b: &Business,
    lead: &Lead,
    disposition: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some((kind, due_at)) = reminders::task_for_disposition(b, disposition, now) else {
        return Ok(());
    };
    let template = match kind {
        TaskKind::QuoteFollowUp => &b.sla.quote_template,
        _ => &b.sla.review_template,
    };
    let body = template.render(&b.vars(&lead.tracking_number));
    add_task(
        tx,
        config,
        &item(lead, kind, due_at, Some(&body), None),
        now,
    )
    .await?;
    Ok(())
}
