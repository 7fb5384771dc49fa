//! The consent ledger: opt-outs and opt-ins, appended, never edited; an
//! opt-out cancels everything queued for that person in the same
//! transaction.
//!
//! Apart from `store/mod.rs` so that the store's plumbing (connecting,
//! transactions, dialects) is not mixed with the queries of one table.

use super::db::query;
use super::{Result, Store, StoreError, Tx};
use crate::clock::to_ms;
use crate::domain::ConsentAction;
use chrono::{DateTime, Utc};
use std::str::FromStr;

impl Store {
    /// The current consent state of a number at a business.
    pub async fn consent_state(
        &self,
        business_id: &str,
        phone: &str,
    ) -> Result<Option<ConsentAction>> {
        let mut tx = self.begin().await?;
        let s = tx.consent_state(business_id, phone).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Consent ledger rows for a number, oldest first.
    pub async fn consent_history(
        &self,
        business_id: &str,
        phone: &str,
    ) -> Result<Vec<(String, String, Option<String>, i64)>> {
        let rows = query("SELECT action, source, raw_text, at FROM consent_events WHERE business_id = $1 AND phone = $2 ORDER BY id")
            .bind(business_id)
            .bind(phone)
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("action")?,
                    r.try_get("source")?,
                    r.try_get("raw_text")?,
                    r.try_get("at")?,
                ))
            })
            .collect()
    }
}

impl Tx {
    /// The latest opt-out / opt-in in the ledger, if any.
    pub async fn consent_state(
        &mut self,
        business_id: &str,
        phone: &str,
    ) -> Result<Option<ConsentAction>> {
        let row = query(
            "SELECT action FROM consent_events WHERE business_id = $1 AND phone = $2
               AND action IN ('opt_out', 'opt_in') ORDER BY id DESC LIMIT 1",
        )
        .bind(business_id)
        .bind(phone)
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| {
            let s: String = r.try_get("action")?;
            ConsentAction::from_str(&s).map_err(StoreError::Corrupt)
        })
        .transpose()
    }

    /// Appends to the consent ledger. On opt-out, everything queued for that
    /// person at that business — texts and timers — is canceled in this same
    /// transaction. Returns how many messages were canceled.
    pub async fn record_consent(
        &mut self,
        business_id: &str,
        phone: &str,
        action: ConsentAction,
        source: &str,
        raw: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        self.lock_contact(business_id, phone, now).await?;
        query("INSERT INTO consent_events (business_id, phone, action, source, raw_text, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(business_id)
            .bind(phone)
            .bind(action.as_str())
            .bind(source)
            .bind(raw.map(str::to_string))
            .bind(to_ms(now))
            .execute(self.conn())
            .await?;
        if action != ConsentAction::OptOut {
            return Ok(0);
        }
        let canceled = query(
            "UPDATE messages SET status = 'canceled', suppress_reason = 'opted_out', updated_at = $3
             WHERE business_id = $1 AND to_number = $2 AND direction = 'outbound' AND status = 'queued'
               AND kind <> 'opt_out_confirmation'",
        )
        .bind(business_id)
        .bind(phone)
        .bind(to_ms(now))
        .execute(self.conn())
        .await?;
        query(
            "UPDATE jobs SET status = 'canceled', last_error = 'opted out', updated_at = $3
             WHERE status = 'pending' AND lead_id IN (SELECT id FROM leads WHERE business_id = $1 AND caller = $2)",
        )
        .bind(business_id)
        .bind(phone)
        .bind(to_ms(now))
        .execute(self.conn())
        .await?;
        Ok(canceled)
    }
}
