//! Escalation rows: the engine's [`Escalation`] value per emergency lead,
//! read and written under a row lock so two events for one escalation (an
//! ACK by text and a timer, say) are applied one after the other.

use super::db::{query, Row};
use super::{get, Dialect, Result, Store, StoreError, Tx};
use crate::clock::to_ms;
use crate::core::escalation::{Escalation, Status};
use chrono::{DateTime, Utc};

fn status_str(s: Status) -> &'static str {
    match s {
        Status::Pending => "pending",
        Status::Paging => "paging",
        Status::Acked => "acked",
        Status::Exhausted => "exhausted",
        Status::Cancelled => "cancelled",
    }
}

/// A row's `business_id` and decoded `state`.
fn business_and_state(r: &Row) -> Result<(String, Escalation)> {
    Ok((get(r, "business_id")?, decode(&get::<String>(r, "state")?)?))
}

fn decode(state: &str) -> Result<Escalation> {
    serde_json::from_str(state)
        .map_err(|e| StoreError::Corrupt(format!("escalation state unreadable: {e}")))
}

impl Tx {
    fn for_update(&self) -> &'static str {
        // SQLite has one writer: a write transaction is already exclusive.
        match self.dialect {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }

    /// Records a new escalation for `lead_id`; `None` if the lead has one
    /// paging right now (a second emergency text while the chain is being
    /// paged pages nobody twice). After an ACK or an exhausted chain, a new
    /// emergency starts a new escalation.
    pub async fn insert_escalation(
        &mut self,
        business_id: &str,
        e: &Escalation,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let row = query(
            "INSERT INTO escalations (business_id, lead_id, status, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (lead_id) WHERE status IN ('pending', 'paging') DO NOTHING RETURNING id",
        )
        .bind(business_id)
        .bind(e.lead_id)
        .bind(status_str(e.status))
        .bind(serde_json::to_string(e).expect("serialises"))
        .bind(to_ms(now))
        .fetch_optional(self.conn())
        .await?;
        row.map(|r| get::<i64>(&r, "id")).transpose()
    }

    /// One escalation, locked for this transaction.
    pub async fn escalation_locked(&mut self, id: i64) -> Result<Option<(String, Escalation)>> {
        let sql = format!(
            "SELECT business_id, state FROM escalations WHERE id = $1{}",
            self.for_update()
        );
        let row = query(&sql).bind(id).fetch_optional(self.conn()).await?;
        row.as_ref().map(business_and_state).transpose()
    }

    /// A business's escalations an ACK may still be for: paging, or run
    /// out of people since `exhausted_since` (an ACK hours later is for
    /// something newer). Oldest first, locked for this transaction.
    pub async fn open_escalations_locked(
        &mut self,
        business_id: &str,
        exhausted_since: DateTime<Utc>,
    ) -> Result<Vec<(i64, Escalation)>> {
        let sql = format!(
            "SELECT id, state FROM escalations WHERE business_id = $1
               AND (status = 'paging' OR (status = 'exhausted' AND updated_at >= $2)) ORDER BY id{}",
            self.for_update()
        );
        let rows = query(&sql)
            .bind(business_id)
            .bind(to_ms(exhausted_since))
            .fetch_all(self.conn())
            .await?;
        rows.iter()
            .map(|r| Ok((get(r, "id")?, decode(&get::<String>(r, "state")?)?)))
            .collect()
    }

    pub async fn save_escalation(
        &mut self,
        id: i64,
        e: &Escalation,
        now: DateTime<Utc>,
    ) -> Result<()> {
        query("UPDATE escalations SET status = $2, state = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(status_str(e.status))
            .bind(serde_json::to_string(e).expect("serialises"))
            .bind(to_ms(now))
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Tx {
    /// The lead's newest escalation, whatever its state, locked for this
    /// transaction: a later report merged into it writes the whole state
    /// back, and without the lock an ACK or an ack timeout committed in
    /// between would be undone (the chain stalled, or a taken emergency
    /// paged again).
    pub async fn latest_escalation(&mut self, lead_id: i64) -> Result<Option<(i64, Escalation)>> {
        let sql = format!(
            "SELECT id, state FROM escalations WHERE lead_id = $1 ORDER BY id DESC LIMIT 1{}",
            self.for_update()
        );
        let row = query(&sql)
            .bind(lead_id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| Ok((get(&r, "id")?, decode(&get::<String>(&r, "state")?)?)))
            .transpose()
    }

    /// Was `to` sent a page whose text contains `marker` since `since`?
    pub async fn paged_with_since(
        &mut self,
        business_id: &str,
        to: &str,
        marker: &str,
        since: DateTime<Utc>,
    ) -> Result<bool> {
        let row = query(
            "SELECT COUNT(*) AS n FROM messages
             WHERE business_id = $1 AND to_number = $2 AND kind = 'page'
               AND created_at > $3 AND body LIKE $4",
        )
        .bind(business_id)
        .bind(to)
        .bind(to_ms(since))
        .bind(format!("%{marker}%"))
        .fetch_one(self.conn())
        .await?;
        Ok(get::<i64>(&row, "n")? > 0)
    }

    pub async fn open_escalation_for_lead(&mut self, lead_id: i64) -> Result<Option<i64>> {
        let sql = format!(
            "SELECT id FROM escalations WHERE lead_id = $1 AND status IN ('paging', 'exhausted') ORDER BY id DESC{}",
            self.for_update()
        );
        let row = query(&sql)
            .bind(lead_id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| get::<i64>(&r, "id")).transpose()
    }
}

impl Store {
    /// One escalation and its business (a plain read).
    pub async fn escalation(&self, id: i64) -> Result<Option<(String, Escalation)>> {
        let row = query("SELECT business_id, state FROM escalations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r().await.target())
            .await?;
        row.as_ref().map(business_and_state).transpose()
    }

    /// The escalation of a lead, if it had an emergency.
    pub async fn escalation_for_lead(&self, lead_id: i64) -> Result<Option<(i64, Escalation)>> {
        let row =
            query("SELECT id, state FROM escalations WHERE lead_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(lead_id)
                .fetch_optional(self.r().await.target())
                .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((
                get(&r, "id")?,
                decode(&get::<String>(&r, "state")?)?,
            ))),
        }
    }
}
