//! Message rows: texts in and out, read for the API and metrics, inserted
//! and moved along by delivery status callbacks (never backwards).
//!
//! Apart from `store/mod.rs` so that the store's plumbing (connecting,
//! transactions, dialects) is not mixed with the queries of one table. The
//! send path's writes to messages are in `jobs/sends.rs`.

use super::db::query;
use super::rows::FromDbRow;
use super::{NewMessage, Result, Store, StoreError, Tx};
use crate::clock::to_ms;
use crate::domain::{Message, MessageStatus};
use chrono::{DateTime, Utc};

impl Store {
    pub async fn messages_for_lead(&self, lead_id: i64) -> Result<Vec<Message>> {
        let rows = query("SELECT * FROM messages WHERE lead_id = $1 ORDER BY id")
            .bind(lead_id)
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(Message::from_row).collect()
    }

    /// Every message, oldest first (tests and `simulate`).
    pub async fn messages(&self, limit: i64) -> Result<Vec<Message>> {
        let rows = query("SELECT * FROM messages ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(Message::from_row).collect()
    }

    pub async fn message(&self, id: i64) -> Result<Option<Message>> {
        let row = query("SELECT * FROM messages WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r().await.target())
            .await?;
        row.map(|r| Message::from_row(&r)).transpose()
    }

    /// Outbound messages by status, for `/metrics`.
    pub async fn outbound_by_status(&self) -> Result<Vec<(String, i64)>> {
        let rows = query("SELECT status, COUNT(*) AS n FROM messages WHERE direction = 'outbound' GROUP BY status")
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<String>("status")?, r.try_get::<i64>("n")?)))
            .collect()
    }
}

impl Tx {
    pub async fn insert_message(&mut self, m: &NewMessage) -> Result<i64> {
        let row = query(
            "INSERT INTO messages (business_id, lead_id, direction, kind, to_number, from_number, body, status,
                 suppress_reason, provider, provider_sid, trigger_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
        )
        .bind(&m.business_id)
        .bind(m.lead_id)
        .bind(m.direction)
        .bind(m.kind.as_str())
        .bind(&m.to)
        .bind(&m.from)
        .bind(&m.body)
        .bind(m.status.as_str())
        .bind(m.suppress_reason.map(|r| r.as_str().to_string()))
        .bind(m.provider.clone())
        .bind(m.provider_sid.clone())
        .bind(to_ms(m.trigger_at))
        .bind(to_ms(m.created_at))
        .insert_id(self.conn())
        .await?;
        row.ok_or_else(|| StoreError::Corrupt("a message insert inserted nothing".into()))
    }

    /// Applies a delivery status callback, never moving a message backwards.
    pub async fn update_delivery(
        &mut self,
        provider_sid: &str,
        status: MessageStatus,
        error_code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>> {
        let row = query("SELECT * FROM messages WHERE provider_sid = $1")
            .bind(provider_sid)
            .fetch_optional(self.conn())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let m = Message::from_row(&row)?;
        if status.rank() < m.status.rank()
            || (status.rank() == m.status.rank() && status.rank() == 3)
        {
            return Ok(Some(m));
        }
        query("UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), updated_at = $4 WHERE id = $1")
            .bind(m.id)
            .bind(status.as_str())
            .bind(error_code.map(str::to_string))
            .bind(to_ms(now))
            .execute(self.conn())
            .await?;
        Ok(Some(Message {
            status,
            error_code: error_code.map(str::to_string).or(m.error_code.clone()),
            ..m
        }))
    }
}
