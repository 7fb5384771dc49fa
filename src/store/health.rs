//! Sender health: what carriers said about each sending number, and when
//! its owner was last alerted about it (`sender_health`, migration 0002).

use super::db::query;
use super::{get, Result, Store, Tx};
use crate::clock::{from_ms, to_ms};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One sending number's record. Numbers nothing happened to have no row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SenderHealthRow {
    pub sender: String,
    pub business_id: String,
    pub at_risk: bool,
    pub last_error_code: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub error_count: i64,
    pub last_alert_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Every sender's record.
    pub async fn sender_health(&self) -> Result<Vec<SenderHealthRow>> {
        let rows = query("SELECT * FROM sender_health ORDER BY sender")
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SenderHealthRow {
                    sender: get(r, "sender")?,
                    business_id: get(r, "business_id")?,
                    at_risk: get::<i64>(r, "at_risk")? != 0,
                    last_error_code: get(r, "last_error_code")?,
                    last_error_at: get::<Option<i64>>(r, "last_error_at")?.map(from_ms),
                    error_count: get(r, "error_count")?,
                    last_alert_at: get::<Option<i64>>(r, "last_alert_at")?.map(from_ms),
                })
            })
            .collect()
    }
}

impl Tx {
    /// Records a carrier error that puts `sender` at risk.
    pub async fn mark_sender_at_risk(
        &mut self,
        business_id: &str,
        sender: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        query(
            "INSERT INTO sender_health (sender, business_id, at_risk, last_error_code, last_error_at, error_count)
             VALUES ($1, $2, 1, $3, $4, 1)
             ON CONFLICT (sender) DO UPDATE SET at_risk = 1, business_id = excluded.business_id,
                 last_error_code = excluded.last_error_code, last_error_at = excluded.last_error_at,
                 error_count = sender_health.error_count + 1",
        )
        .bind(sender)
        .bind(business_id)
        .bind(code)
        .bind(to_ms(now))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A text from `sender`, sent at `sent_at`, reached its recipient: if
    /// the number was flagged at risk by an error from before that send,
    /// the flag comes down (the owner fixed the registration, or the
    /// carrier's block was lifted). The error's code, time and count stay
    /// as history. A delivery of a text sent before the error proves
    /// nothing and clears nothing. Returns whether the flag came down.
    pub async fn clear_sender_at_risk(
        &mut self,
        sender: &str,
        sent_at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = query(
            "UPDATE sender_health SET at_risk = 0
             WHERE sender = $1 AND at_risk = 1 AND (last_error_at IS NULL OR last_error_at < $2)",
        )
        .bind(sender)
        .bind(to_ms(sent_at))
        .execute(self.conn())
        .await?;
        Ok(n > 0)
    }

    /// Takes the right to alert the owner about `sender` now, if nobody did
    /// within `every`. Atomic across workers and instances: of two callers
    /// at once, one gets true.
    pub async fn claim_sender_alert(
        &mut self,
        business_id: &str,
        sender: &str,
        now: DateTime<Utc>,
        every: chrono::Duration,
    ) -> Result<bool> {
        let row = query(
            "INSERT INTO sender_health (sender, business_id, last_alert_at) VALUES ($1, $2, $3)
             ON CONFLICT (sender) DO UPDATE SET last_alert_at = excluded.last_alert_at
             WHERE sender_health.last_alert_at IS NULL OR sender_health.last_alert_at <= $4
             RETURNING sender",
        )
        .bind(sender)
        .bind(business_id)
        .bind(to_ms(now))
        .bind(to_ms(now - every))
        .fetch_optional(self.conn())
        .await?;
        Ok(row.is_some())
    }
}
