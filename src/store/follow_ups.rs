//! Ending a lead's follow-up sequence: its pending follow-up timers and
//! the follow-up texts already queued but held.
//!
//! Apart from messages and jobs because it spans both: one customer answer
//! stops the timers and the held texts together.

use super::db::query;
use super::{Result, Tx};
use crate::clock::to_ms;
use chrono::{DateTime, Utc};

impl Tx {
    /// Ends a lead's follow-up sequence: its pending follow-up timers
    /// (`reason` is kept on the jobs) and any follow-up text already queued
    /// but held (quiet hours, the cap; `code` is kept on the messages).
    pub async fn stop_follow_ups(
        &mut self,
        lead_id: i64,
        reason: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let follow_up = crate::core::jobs::Job::FollowUp { lead_id, step: 0 }.kind();
        self.cancel_lead_jobs(lead_id, &[follow_up], reason, now)
            .await?;
        self.cancel_queued_follow_ups(lead_id, code, now).await?;
        Ok(())
    }

    /// Cancels a lead's follow-up texts that were queued but have not left
    /// (held by quiet hours or the cap): the customer has answered.
    pub async fn cancel_queued_follow_ups(
        &mut self,
        lead_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        query(
            "UPDATE messages SET status = 'canceled', suppress_reason = $2, updated_at = $3
             WHERE lead_id = $1 AND kind = 'follow_up' AND status = 'queued'",
        )
        .bind(lead_id)
        .bind(reason)
        .bind(to_ms(now))
        .execute(self.conn())
        .await
    }
}
