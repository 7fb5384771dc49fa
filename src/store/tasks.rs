//! Timed queue items (migration 0010): promised callbacks, post-job and
//! quote follow-ups. Rows only; what each means and when it is wanted is
//! `core::reminders`'.

use super::db::{query, Row};
use super::{get, Result, Store, StoreError, Tx};
use crate::clock::{from_ms, to_ms};
use chrono::{DateTime, Utc};

/// A queue item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: i64,
    pub lead_id: i64,
    pub business_id: String,
    pub kind: String,
    /// `scheduled` (not yet due), `due` (waits for a person), `sent`,
    /// `done` or `dropped`.
    pub status: String,
    pub due_at: DateTime<Utc>,
    pub body: Option<String>,
    pub created_by: Option<String>,
    pub detail: Option<String>,
    pub message_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl TaskRow {
    fn from_row(r: &Row) -> Result<TaskRow> {
        Ok(TaskRow {
            id: get(r, "id")?,
            lead_id: get(r, "lead_id")?,
            business_id: get(r, "business_id")?,
            kind: get(r, "kind")?,
            status: get(r, "status")?,
            due_at: from_ms(get(r, "due_at")?),
            body: get(r, "body")?,
            created_by: get(r, "created_by")?,
            detail: get(r, "detail")?,
            message_id: get(r, "message_id")?,
            created_at: from_ms(get(r, "created_at")?),
        })
    }

    /// Still waiting: not yet due, or due and waiting for a person.
    pub fn is_open(&self) -> bool {
        self.status == "scheduled" || self.status == "due"
    }
}

/// A new queue item.
pub struct NewTask<'a> {
    pub lead_id: i64,
    pub business_id: &'a str,
    pub kind: &'a str,
    pub due_at: DateTime<Utc>,
    pub body: Option<&'a str>,
    pub created_by: Option<&'a str>,
}

impl Tx {
    pub async fn insert_task(&mut self, t: &NewTask<'_>, now: DateTime<Utc>) -> Result<i64> {
        query(
            "INSERT INTO office_tasks (lead_id, business_id, kind, status, due_at, body, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, 'scheduled', $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(t.lead_id)
        .bind(t.business_id)
        .bind(t.kind)
        .bind(to_ms(t.due_at))
        .bind(t.body.map(str::to_string))
        .bind(t.created_by.map(str::to_string))
        .bind(to_ms(now))
        .insert_id(self.conn())
        .await?
        .ok_or_else(|| StoreError::Corrupt("a task insert inserted nothing".into()))
    }

    pub async fn task(&mut self, id: i64) -> Result<Option<TaskRow>> {
        let row = query("SELECT * FROM office_tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| TaskRow::from_row(&r)).transpose()
    }

    /// Moves an item on (`due`, `sent`, `done`, `dropped`) if it is still
    /// open; false if it was not (someone else sent or dropped it first).
    pub async fn set_task_status(
        &mut self,
        id: i64,
        status: &str,
        detail: Option<&str>,
        message_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = query(
            "UPDATE office_tasks SET status = $2, detail = COALESCE($3, detail),
                 message_id = COALESCE($4, message_id), updated_at = $5
             WHERE id = $1 AND status IN ('scheduled', 'due')",
        )
        .bind(id)
        .bind(status)
        .bind(detail.map(str::to_string))
        .bind(message_id)
        .bind(to_ms(now))
        .execute(self.conn())
        .await?;
        Ok(n == 1)
    }

    /// A call-back was logged: the lead's promised callbacks are kept.
    pub async fn finish_callbacks(&mut self, lead_id: i64, now: DateTime<Utc>) -> Result<u64> {
        query(
            "UPDATE office_tasks SET status = 'done', detail = 'called back', updated_at = $2
             WHERE lead_id = $1 AND kind = 'callback' AND status IN ('scheduled', 'due')",
        )
        .bind(lead_id)
        .bind(to_ms(now))
        .execute(self.conn())
        .await
    }

    /// Cancels the pending job with this unique key, if there is one.
    pub async fn cancel_job(
        &mut self,
        unique_key: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = query(
            "UPDATE jobs SET status = 'canceled', last_error = $2, updated_at = $3
             WHERE unique_key = $1 AND status = 'pending'",
        )
        .bind(unique_key)
        .bind(reason)
        .bind(to_ms(now))
        .execute(self.conn())
        .await?;
        Ok(n == 1)
    }

    /// Did the customer text this lead after `since`?
    pub async fn answered_since(&mut self, lead_id: i64, since: DateTime<Utc>) -> Result<bool> {
        let row = query(
            "SELECT COUNT(*) AS n FROM messages
             WHERE lead_id = $1 AND direction = 'inbound' AND created_at > $2",
        )
        .bind(lead_id)
        .bind(to_ms(since))
        .fetch_one(self.conn())
        .await?;
        Ok(get::<i64>(&row, "n")? > 0)
    }
}

impl Store {
    pub async fn task(&self, id: i64) -> Result<Option<TaskRow>> {
        let row = query("SELECT * FROM office_tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r().await.target())
            .await?;
        row.map(|r| TaskRow::from_row(&r)).transpose()
    }

    /// The queue's timed items: every promised callback still open, and
    /// the follow-ups that are due and wait for a person; soonest first.
    pub async fn open_tasks(&self, limit: i64) -> Result<Vec<TaskRow>> {
        let rows = query(
            "SELECT * FROM office_tasks
             WHERE status = 'due' OR (status = 'scheduled' AND kind = 'callback')
             ORDER BY due_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.r().await.target())
        .await?;
        rows.iter().map(TaskRow::from_row).collect()
    }

    /// A lead's items, newest first (the lead page).
    pub async fn tasks_for_lead(&self, lead_id: i64) -> Result<Vec<TaskRow>> {
        let rows = query("SELECT * FROM office_tasks WHERE lead_id = $1 ORDER BY id DESC")
            .bind(lead_id)
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(TaskRow::from_row).collect()
    }
}
