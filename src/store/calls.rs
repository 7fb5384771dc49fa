//! Call rows: one per carrier call, found or created by its first
//! callback and held against the call's other callbacks (dial result,
//! status, voicemail) while a transaction decides about it.
//!
//! Apart from `store/mod.rs` so that the store's plumbing (connecting,
//! transactions, dialects) is not mixed with the queries of one table.

use super::db::{self, query};
use super::rows::FromDbRow;
use super::{Dialect, Result, Store, Tx};
use crate::clock::to_ms;
use crate::domain::Call;
use chrono::{DateTime, Utc};

impl Store {
    pub async fn calls_for_lead(&self, lead_id: i64) -> Result<Vec<Call>> {
        let rows = query("SELECT * FROM calls WHERE lead_id = $1 ORDER BY id")
            .bind(lead_id)
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(Call::from_row).collect()
    }

    pub async fn call(&self, call_sid: &str) -> Result<Option<Call>> {
        let row = query("SELECT * FROM calls WHERE call_sid = $1")
            .bind(call_sid)
            .fetch_optional(self.r().await.target())
            .await?;
        row.map(|r| Call::from_row(&r)).transpose()
    }
}

impl Tx {
    /// Finds or creates the call row; the upsert also locks it, so the dial
    /// result, status and voicemail callbacks of one call are serialised.
    pub async fn upsert_call(
        &mut self,
        call_sid: &str,
        business_id: &str,
        caller: &str,
        tracking_number: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<Call> {
        let row = query(
            "INSERT INTO calls (call_sid, business_id, caller, tracking_number, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (call_sid) DO UPDATE SET updated_at = excluded.updated_at
             RETURNING *",
        )
        .bind(call_sid)
        .bind(business_id)
        .bind(caller)
        .bind(tracking_number)
        .bind(status)
        .bind(to_ms(now))
        .fetch_one(self.conn())
        .await?;
        Call::from_row(&row)
    }

    /// The call row a missed call works on, held against the call's other
    /// callbacks (dial result, status, voicemail) until the transaction
    /// ends; write the outcome with [`Tx::save_missed_call`].
    ///
    /// PostgreSQL: [`Tx::upsert_call`], whose row lock serialises them (and
    /// is taken before the contact lock, as every call callback does).
    /// SQLite: a plain read, or a new row not yet written, because the one
    /// writer already runs each transaction alone: the row is then written
    /// once instead of inserted and updated.
    pub async fn call_for_missed(
        &mut self,
        call_sid: &str,
        business_id: &str,
        caller: &str,
        tracking_number: &str,
        now: DateTime<Utc>,
    ) -> Result<Call> {
        if self.dialect == Dialect::Postgres {
            return self
                .upsert_call(
                    call_sid,
                    business_id,
                    caller,
                    tracking_number,
                    "missed",
                    now,
                )
                .await;
        }
        if let Some(call) = self.call(call_sid).await? {
            return Ok(call);
        }
        Ok(Call {
            id: 0,
            call_sid: call_sid.to_string(),
            business_id: business_id.to_string(),
            lead_id: None,
            caller: caller.to_string(),
            tracking_number: tracking_number.to_string(),
            status: "missed".into(),
            missed_trigger: None,
            screen_accepted: false,
            answered_seconds: None,
            recording_url: None,
            transcript: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Writes what a missed call decided about its call row (from
    /// [`Tx::call_for_missed`]): the whole row back if it exists (this
    /// transaction holds it), else a new row (id 0, SQLite only: on
    /// PostgreSQL `call_for_missed` has already upserted it).
    pub async fn save_missed_call(&mut self, call: &Call, now: DateTime<Utc>) -> Result<()> {
        if call.id != 0 {
            return self.update_call(call, now).await;
        }
        let q = query(
            "INSERT INTO calls (call_sid, business_id, caller, tracking_number, lead_id, status,
                 missed_trigger, screen_accepted, answered_seconds, recording_url, transcript,
                 updated_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(&call.call_sid)
        .bind(&call.business_id)
        .bind(&call.caller)
        .bind(&call.tracking_number);
        bind_call_state(q, call, now).execute(self.conn()).await?;
        Ok(())
    }

    pub async fn update_call(&mut self, call: &Call, now: DateTime<Utc>) -> Result<()> {
        let q = query(
            "UPDATE calls SET lead_id = $2, status = $3, missed_trigger = $4, screen_accepted = $5,
                 answered_seconds = $6, recording_url = $7, transcript = $8, updated_at = $9
             WHERE id = $1",
        )
        .bind(call.id);
        bind_call_state(q, call, now).execute(self.conn()).await?;
        Ok(())
    }

    pub async fn call(&mut self, call_sid: &str) -> Result<Option<Call>> {
        let row = query("SELECT * FROM calls WHERE call_sid = $1")
            .bind(call_sid)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| Call::from_row(&r)).transpose()
    }
}

/// Binds what a call's callbacks change, in this order: lead, status,
/// missed trigger, screened, answered seconds, recording, transcript, and
/// `now` as the update time.
fn bind_call_state<'q>(q: db::Query<'q>, call: &Call, now: DateTime<Utc>) -> db::Query<'q> {
    q.bind(call.lead_id)
        .bind(&call.status)
        .bind(call.missed_trigger.clone())
        .bind(call.screen_accepted as i64)
        .bind(call.answered_seconds)
        .bind(call.recording_url.clone())
        .bind(call.transcript.clone())
        .bind(to_ms(now))
}
