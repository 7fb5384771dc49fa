//! Webhook events: each carrier request recorded once by its dedup key,
//! so a carrier's retry changes nothing.
//!
//! Apart from `store/mod.rs` so that the store's plumbing (connecting,
//! transactions, dialects) is not mixed with the queries of one table.

use super::db::query;
use super::{Result, Tx};
use crate::clock::to_ms;
use chrono::{DateTime, Utc};

impl Tx {
    /// Records a webhook once. Returns false when the same dedup key was
    /// already recorded (a carrier retry): the caller then changes nothing.
    pub async fn record_webhook(
        &mut self,
        dedup_key: &str,
        kind: &str,
        business_id: Option<&str>,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let row = query(
            "INSERT INTO webhook_events (dedup_key, kind, business_id, payload, received_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
        )
        .bind(dedup_key)
        .bind(kind)
        .bind(business_id.map(str::to_string))
        .bind(payload)
        .bind(to_ms(now))
        .insert_id(self.conn())
        .await?;
        Ok(row.is_some())
    }
}
