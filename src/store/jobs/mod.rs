//! Durable jobs: the queue behind every send and every timer.
//!
//! A job is claimed by one `UPDATE … RETURNING` that bumps its fencing token
//! and sets `run_at` to the lease expiry. Every later write about the job
//! names the token it was claimed with; if another worker has since
//! reclaimed the job (our lease ran out), the write matches no row and we
//! know to stop. Failed jobs are kept with their last error, never deleted.
//!
//! This file holds the queue itself: job rows, enqueueing, and a claimed
//! job's outcome (done, failed, retried). Starting and recording sends,
//! which also touch messages, contacts and leads, are `sends.rs`; the
//! tests are `tests.rs`.

mod sends;

pub use sends::{BeginSend, SentRecord, SEND_BATCH};

use super::db::{query, Target};
use super::{get, Dialect, Result, Store, StoreError, Tx};
use crate::clock::to_ms;
use crate::config::ServiceConfig;
use crate::core::jobs::Scheduled;
use crate::domain::SendClass;
use chrono::{DateTime, Utc};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Running,
    Done,
    Failed,
    Canceled,
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "pending" => JobStatus::Pending,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            "canceled" => JobStatus::Canceled,
            o => return Err(format!("unknown job status {o:?}")),
        })
    }
}

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub lead_id: Option<i64>,
    pub unique_key: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_token: i64,
    /// When the job was due (before the claim moved run_at to the lease end).
    pub due_at: DateTime<Utc>,
    /// When this claim's lease ends: another worker may claim the job then.
    pub lease_until: DateTime<Utc>,
}

impl Claimed {
    /// The job this row holds; an error says why it cannot be read (an
    /// unknown kind, a damaged payload): such a job is failed and kept.
    pub fn job(&self) -> std::result::Result<crate::core::jobs::Job, String> {
        crate::core::jobs::Job::decode(&self.kind, &self.payload, self.lead_id)
    }
}

/// A job row to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub lead_id: Option<i64>,
    pub unique_key: String,
    pub payload: String,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i64,
    /// A send's sending number (its line), and its class's rank there.
    pub sender: Option<String>,
    pub priority: i64,
}

impl NewJob {
    /// The row of a scheduled job.
    pub fn new(s: &Scheduled, service: &ServiceConfig) -> NewJob {
        NewJob {
            kind: s.job.kind(),
            lead_id: s.lead_id,
            unique_key: s.job.unique_key(s.at),
            payload: s.job.payload(),
            run_at: s.at,
            max_attempts: s.job.max_attempts(service),
            sender: s.line.as_ref().map(|(n, _)| n.clone()),
            priority: s
                .line
                .as_ref()
                .map_or(SendClass::Background.rank(), |(_, c)| c.rank()),
        }
    }
}

/// Enqueues one job (see [`enqueue_many`]); false if a job with its
/// unique key exists.
async fn enqueue(tx: &mut Tx, job: &NewJob, now: DateTime<Utc>) -> Result<bool> {
    Ok(enqueue_many(tx, std::slice::from_ref(job), now).await? == 1)
}

/// Enqueues jobs in one statement (a missed call's send, follow-up and cold
/// check); a job whose unique key exists is skipped. Returns how many were
/// new. On PostgreSQL, if any was enqueued, the workers of every instance
/// are woken: `NOTIFY` is delivered at commit, only if the transaction
/// commits, and repeats within one transaction fold into one.
async fn enqueue_many(tx: &mut Tx, jobs: &[NewJob], now: DateTime<Utc>) -> Result<u64> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let sql = enqueue_sql(jobs.len());
    let mut q = query(&sql);
    for job in jobs {
        q = q
            .bind(job.kind)
            .bind(job.lead_id)
            .bind(&job.unique_key)
            .bind(&job.payload)
            .bind(to_ms(job.run_at))
            .bind(job.max_attempts)
            .bind(to_ms(now))
            .bind(job.sender.as_deref())
            .bind(job.priority);
    }
    let inserted = q.execute(tx.conn()).await?;
    if inserted > 0 && tx.dialect() == Dialect::Postgres {
        query("SELECT pg_notify($1, '')")
            .bind(JOBS_CHANNEL)
            .execute(tx.conn())
            .await?;
    }
    Ok(inserted)
}

/// The INSERT for `n` jobs (a missed call enqueues up to three).
fn enqueue_sql(n: usize) -> std::borrow::Cow<'static, str> {
    static SQL: [std::sync::OnceLock<String>; 4] = [const { std::sync::OnceLock::new() }; 4];
    super::db::sql_for_rows(&SQL, n, |n| {
        let rows: Vec<String> = (0..n)
            .map(|i| {
                let p = super::db::placeholders(i, 9);
                format!(
                    "({}, {}, {}, {}, 'pending', {}, {}, 0, {}, {}, {}, {}, {})",
                    p[0], p[1], p[2], p[3], p[4], p[4], p[5], p[6], p[6], p[7], p[8]
                )
            })
            .collect();
        format!(
            "INSERT INTO jobs (kind, lead_id, unique_key, payload, status, run_at, due_at, attempts, max_attempts, created_at, updated_at, sender, priority)
             VALUES {} ON CONFLICT (unique_key) DO NOTHING",
            rows.join(", ")
        )
    })
}

/// The PostgreSQL `NOTIFY` channel on which enqueues announce themselves.
pub const JOBS_CHANNEL: &str = "ringback_jobs";

impl Store {
    /// Jobs that are due or running (the backlog), and jobs scheduled for
    /// later (follow-ups, cold checks...), as of `now`.
    pub async fn queue_depth(&self, now: DateTime<Utc>) -> Result<(i64, i64)> {
        let row = query(
            "SELECT COALESCE(SUM(CASE WHEN status = 'running' OR run_at <= $1 THEN 1 ELSE 0 END), 0) AS due,
                    COALESCE(SUM(CASE WHEN status = 'pending' AND run_at > $1 THEN 1 ELSE 0 END), 0) AS later
             FROM jobs WHERE status IN ('pending', 'running')",
        )
        .bind(to_ms(now))
        .fetch_one(self.r().await.target())
        .await?;
        Ok((get::<i64>(&row, "due")?, get::<i64>(&row, "later")?))
    }

    pub async fn job_status(
        &self,
        unique_key: &str,
    ) -> Result<Option<(JobStatus, i64, Option<String>)>> {
        let row = query("SELECT status, attempts, last_error FROM jobs WHERE unique_key = $1")
            .bind(unique_key)
            .fetch_optional(self.r().await.target())
            .await?;
        row.map(|r| {
            let s: String = r.try_get("status")?;
            Ok((
                JobStatus::from_str(&s).map_err(StoreError::Corrupt)?,
                r.try_get("attempts")?,
                r.try_get("last_error")?,
            ))
        })
        .transpose()
    }

    /// Marks a job done, if we still hold it.
    pub async fn complete_job(&self, job: &Claimed, now: DateTime<Utc>) -> Result<bool> {
        let mut one = self.one().await?;
        let held = finish(one.target(), job, "done", None, now).await?;
        one.done().await?;
        Ok(held)
    }

    /// Marks a job failed for good (kept, with its error), if we still hold it.
    pub async fn fail_job(&self, job: &Claimed, error: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut one = self.one().await?;
        let held = finish(one.target(), job, "failed", Some(error), now).await?;
        one.done().await?;
        Ok(held)
    }

    /// Puts a job back to run at `run_at`. `count_attempt = false` is for
    /// holds that were not failures (quiet hours, rate limits).
    pub async fn retry_job(
        &self,
        job: &Claimed,
        run_at: DateTime<Utc>,
        error: Option<&str>,
        count_attempt: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut one = self.one().await?;
        let r = query(
            "UPDATE jobs SET status = 'pending', run_at = $3, last_error = COALESCE($4, last_error),
                 attempts = attempts - $5, updated_at = $6,
                 due_at = CASE WHEN $5 = 1 THEN $3 ELSE due_at END
             WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        )
        .bind(job.id)
        .bind(job.lease_token)
        .bind(to_ms(run_at))
        .bind(error.map(str::to_string))
        .bind(if count_attempt { 0i64 } else { 1i64 })
        .bind(to_ms(now))
        .execute(one.target())
        .await?;
        one.done().await?;
        Ok(r == 1)
    }

    /// A connection listening on [`JOBS_CHANNEL`] (PostgreSQL only; `None`
    /// for SQLite, where every writer is in this process). Once this
    /// returns, every later committed enqueue, from any instance, arrives.
    pub async fn job_listener(&self) -> Result<Option<sqlx::postgres::PgListener>> {
        if self.dialect != Dialect::Postgres {
            return Ok(None);
        }
        let mut l = sqlx::postgres::PgListener::connect(&self.url).await?;
        l.listen(JOBS_CHANNEL).await?;
        Ok(Some(l))
    }
}

impl Tx {
    /// Enqueues a job; a job with the same unique key is not enqueued twice.
    /// Returns false if the key already existed.
    pub async fn enqueue(&mut self, job: &NewJob, now: DateTime<Utc>) -> Result<bool> {
        enqueue(self, job, now).await
    }

    /// Enqueues several jobs in one statement, skipping any whose unique
    /// key exists. Returns how many were new.
    pub async fn enqueue_many(&mut self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<u64> {
        enqueue_many(self, jobs, now).await
    }

    /// Cancels a lead's pending jobs of the given kinds.
    pub async fn cancel_lead_jobs(
        &mut self,
        lead_id: i64,
        kinds: &[&str],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let mut n = 0;
        for kind in kinds {
            n += query("UPDATE jobs SET status = 'canceled', last_error = $3, updated_at = $4 WHERE lead_id = $1 AND kind = $2 AND status = 'pending'")
                .bind(lead_id)
                .bind(*kind)
                .bind(reason)
                .bind(to_ms(now))
                .execute(self.conn())
                .await?;
        }
        Ok(n)
    }

    /// Marks a job done (or `failed`, with `error`) inside this
    /// transaction, so a timer's effects and its completion commit together:
    /// a crash in between re-runs the whole step, never half of it.
    /// Returns false if we no longer hold the job (lease lost).
    pub async fn finish_job(
        &mut self,
        job: &Claimed,
        failed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let status = if failed.is_some() { "failed" } else { "done" };
        finish(self.conn(), job, status, failed, now).await
    }
}

async fn finish(
    pool: Target<'_>,
    job: &Claimed,
    status: &str,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = query(
        "UPDATE jobs SET status = $3, last_error = COALESCE($4, last_error), updated_at = $5
         WHERE id = $1 AND lease_token = $2 AND status = 'running'",
    )
    .bind(job.id)
    .bind(job.lease_token)
    .bind(status)
    .bind(error.map(str::to_string))
    .bind(to_ms(now))
    .execute(pool)
    .await?;
    Ok(r == 1)
}

#[cfg(test)]
mod tests;
