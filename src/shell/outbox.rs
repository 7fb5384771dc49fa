//! The one way a text is queued: an outbound message row and its send job,
//! written in the caller's transaction. The worker sends it later, through
//! the compliance gate ("one door out").

use crate::domain::{MessageKind, MessageStatus};
use crate::store::{NewMessage, StoreError, Tx};
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
    /// Whether the send job is one of the lead's jobs, canceled with them
    /// when the recipient opts out. Texts to staff (office notices, pages)
    /// and the opt-out confirmation must not be.
    pub cancel_with_lead: bool,
    /// When what it answers happened (for the text-delay figure), if not now.
    pub trigger_at: Option<DateTime<Utc>>,
}

/// Queues `t`; returns the message id.
pub async fn queue(
    tx: &mut Tx,
    t: Text<'_>,
    max_attempts: i64,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id = tx
        .insert_message(&NewMessage {
            business_id: t.business_id.to_string(),
            lead_id: t.lead_id,
            direction: "outbound",
            kind: t.kind,
            to: t.to.to_string(),
            from: t.from.to_string(),
            body: t.body,
            status: MessageStatus::Queued,
            suppress_reason: None,
            provider: None,
            provider_sid: None,
            trigger_at: t.trigger_at.unwrap_or(now),
            created_at: now,
        })
        .await?;
    let job_lead = if t.cancel_with_lead { t.lead_id } else { None };
    tx.enqueue(
        &crate::shell::worker::send_job(id, job_lead, now, max_attempts),
        now,
    )
    .await?;
    Ok(id)
}
