//! The one door out: every outbound text and call is queued here, in the
//! caller's transaction, and nowhere else. The worker sends it later, through
//! the compliance gate, at the time the sending number's line reaches it.
//!
//! A text is a `messages` row plus a send job in its sending number's line
//! (class and first-in-first-out order: see [`crate::domain::SendClass`]).
//! A page call is a job of its own (calls are not paced like texts).

use crate::config::Config;
use crate::core::jobs::{Job, Scheduled};
use crate::domain::{MessageKind, MessageStatus, SuppressReason};
use crate::store::{NewJob, NewMessage, StoreError, Tx};
use chrono::{DateTime, Utc};

/// A text to queue.
pub struct Text<'a> {
    pub business_id: &'a str,
    /// The lead it belongs to (its timeline), if any.
    pub lead_id: Option<i64>,
    pub kind: MessageKind,
    pub to: &'a str,
    pub from: &'a str,
    pub body: String,
    /// When what it answers happened (for the text-delay figure), if not now.
    pub trigger_at: Option<DateTime<Utc>>,
}

/// A call to place: an on-call person paged for step `step` of an
/// escalation. The worker renders what the call says when it dials.
pub struct Call<'a> {
    pub escalation_id: i64,
    pub step: u32,
    pub to: &'a str,
}

/// Something to send.
pub enum Outbound<'a> {
    Text(Text<'a>),
    Call(Call<'a>),
}

/// What was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// The text's message id.
    Text(i64),
    Call,
}

/// Queues `out` in `tx`. Jobs are idempotent: the same call queued twice
/// (a carrier's retry replayed) is one job.
pub async fn queue(
    tx: &mut Tx,
    config: &Config,
    out: Outbound<'_>,
    now: DateTime<Utc>,
) -> Result<Queued, StoreError> {
    match out {
        Outbound::Text(t) => {
            let id = insert(tx, &t, MessageStatus::Queued, None, now).await?;
            tx.ensure_line(t.from).await?;
            let send = Scheduled {
                job: Job::SendText { message_id: id },
                at: now,
                lead_id: t.lead_id.filter(|_| t.kind.canceled_with_lead()),
                line: Some((t.from.to_string(), t.kind.class())),
            };
            tx.enqueue(&NewJob::new(&send, &config.service), now)
                .await?;
            Ok(Queued::Text(id))
        }
        Outbound::Call(c) => {
            let call = Scheduled::at(
                Job::PageCall {
                    escalation_id: c.escalation_id,
                    step: c.step,
                    to: c.to.to_string(),
                },
                now,
            );
            tx.enqueue(&NewJob::new(&call, &config.service), now)
                .await?;
            Ok(Queued::Call)
        }
    }
}

/// Records a text that was decided against before it was queued (the
/// instant text to a withheld or opted-out number), so the timeline shows
/// why nobody was texted. Nothing is sent.
pub async fn record_withheld(
    tx: &mut Tx,
    t: Text<'_>,
    reason: SuppressReason,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    insert(tx, &t, MessageStatus::Suppressed, Some(reason), now).await
}

async fn insert(
    tx: &mut Tx,
    t: &Text<'_>,
    status: MessageStatus,
    reason: Option<SuppressReason>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    tx.insert_message(&NewMessage {
        business_id: t.business_id.to_string(),
        lead_id: t.lead_id,
        direction: "outbound",
        kind: t.kind,
        to: t.to.to_string(),
        from: t.from.to_string(),
        body: t.body.clone(),
        status,
        suppress_reason: reason,
        provider: None,
        provider_sid: None,
        trigger_at: t.trigger_at.unwrap_or(now),
        created_at: now,
    })
    .await
}
