//! Claiming work: due timers, and each sending number's line of texts at
//! the number's pace.
//!
//! A send job names its sending number (`sender`) and class (`priority`).
//! A claim serves each number's line in order — class first, then first in
//! first out — taking only as many texts as the number's budget allows now
//! ([`Pace::take`], the rule of [`crate::core::compliance::pacing`]), and
//! moves the number's `sender_pace.next_at_us` on by what it took, in the
//! same transaction. On PostgreSQL the number's pace row is locked
//! (`FOR UPDATE SKIP LOCKED`): instances share one budget per number, and
//! while one claims for a number the others skip it. A text that waits in
//! its line holds no lease: the worker sleeps until the number may send
//! again ([`Store::next_due`]) and claims it then.

use super::db::query;
use super::{get, Claimed, Dialect, Result, Store, Tx};
use crate::clock::{from_ms, to_ms};
use crate::core::compliance::pacing::Pace;
use crate::domain::SendClass;
use chrono::{DateTime, Utc};

/// What a claim returns for each job.
const RETURNING: &str =
    "RETURNING id, kind, lead_id, unique_key, payload, attempts, max_attempts, lease_token, due_at";

/// How many texts wait in one line of one class, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDepth {
    pub sender: String,
    pub class: SendClass,
    pub waiting: i64,
    /// When the longest-waiting of them was due.
    pub oldest_due: DateTime<Utc>,
}

impl Tx {
    /// Makes sure `number` has a line (its pace row), so that texts queued
    /// from it are claimed. Idempotent.
    pub async fn ensure_line(&mut self, number: &str) -> Result<()> {
        query("INSERT INTO sender_pace (number, next_at_us) VALUES ($1, 0) ON CONFLICT (number) DO NOTHING")
            .bind(number)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Claims up to `limit` jobs in one transaction: due timers (including
    /// ones whose lease expired), then from each line with due texts as many
    /// as its number's pace allows. Each claimed job's `run_at` becomes its
    /// lease's end and its fencing token moves on.
    pub async fn claim_jobs(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        pace: &(dyn Fn(&str) -> Pace + Sync),
    ) -> Result<Vec<Claimed>> {
        let mut tx = self.begin().await?;
        let skip_locked = match self.dialect {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let claim = |which: &str| {
            format!(
                "UPDATE jobs SET status = 'running', run_at = $1, lease_token = lease_token + 1,
                     attempts = attempts + 1, updated_at = $2
                 WHERE id IN (SELECT id FROM jobs WHERE {which}{skip_locked}) {RETURNING}"
            )
        };
        let timers = claim(
            "status IN ('pending', 'running') AND run_at <= $2 AND sender IS NULL
             ORDER BY run_at LIMIT $3",
        );
        let rows = query(&timers)
            .bind(to_ms(lease_until))
            .bind(to_ms(now))
            .bind(limit)
            .fetch_all(tx.conn())
            .await?;
        let mut out = rows
            .iter()
            .map(|r| claimed(r, lease_until))
            .collect::<Result<Vec<_>>>()?;
        let lines_sql = format!(
            "SELECT number, next_at_us FROM sender_pace p WHERE EXISTS (
                 SELECT 1 FROM jobs j WHERE j.sender = p.number
                   AND j.status IN ('pending', 'running') AND j.run_at <= $1)
             ORDER BY next_at_us{skip_locked}"
        );
        let lines = query(&lines_sql)
            .bind(to_ms(now))
            .fetch_all(tx.conn())
            .await?;
        let now_us = now.timestamp_micros();
        let from_line = claim(
            "sender = $3 AND status IN ('pending', 'running') AND run_at <= $2
             ORDER BY priority, run_at, id LIMIT $4",
        );
        for line in &lines {
            let left = limit - out.len() as i64;
            if left <= 0 {
                break;
            }
            let number: String = get(line, "number")?;
            let next_us: i64 = get(line, "next_at_us")?;
            let pace = pace(&number);
            let (allowed, _) = pace.take(next_us, now_us, left);
            if allowed == 0 {
                continue;
            }
            let rows = query(&from_line)
                .bind(to_ms(lease_until))
                .bind(to_ms(now))
                .bind(&number)
                .bind(allowed)
                .fetch_all(tx.conn())
                .await?;
            let (_, next_us) = pace.take(next_us, now_us, rows.len() as i64);
            query("UPDATE sender_pace SET next_at_us = $2 WHERE number = $1")
                .bind(&number)
                .bind(next_us)
                .execute(tx.conn())
                .await?;
            for r in &rows {
                out.push(claimed(r, lease_until)?);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// When the next job falls due: a timer, a lease that expires, or the
    /// moment a line's first text is due and its number may send.
    pub async fn next_due(
        &self,
        pace: &(dyn Fn(&str) -> Pace + Sync),
    ) -> Result<Option<DateTime<Utc>>> {
        let mut reader = self.r().await;
        let timer: Option<i64> = query(
            "SELECT MIN(run_at) AS t FROM jobs WHERE status IN ('pending', 'running') AND sender IS NULL",
        )
        .fetch_one(reader.target())
        .await?
        .try_get("t")?;
        let lines = query(
            "SELECT j.sender AS sender, MIN(j.run_at) AS first, MIN(p.next_at_us) AS next_at_us
             FROM jobs j LEFT JOIN sender_pace p ON p.number = j.sender
             WHERE j.status IN ('pending', 'running') AND j.sender IS NOT NULL
             GROUP BY j.sender",
        )
        .fetch_all(reader.target())
        .await?;
        let mut due = timer.map(from_ms);
        for line in &lines {
            let sender: String = get(line, "sender")?;
            let first = from_ms(get::<i64>(line, "first")?);
            let next_us: Option<i64> = get(line, "next_at_us")?;
            let ready = next_us
                .map(|n| pace(&sender).ready_at_us(n))
                .and_then(DateTime::from_timestamp_micros)
                .unwrap_or(first);
            let at = first.max(ready);
            due = Some(due.map_or(at, |d| d.min(at)));
        }
        Ok(due)
    }

    /// Texts due and waiting in each line, by class, as of `now`.
    pub async fn line_depths(&self, now: DateTime<Utc>) -> Result<Vec<LineDepth>> {
        let rows = query(
            "SELECT sender, priority, COUNT(*) AS n, MIN(due_at) AS oldest FROM jobs
             WHERE status = 'pending' AND sender IS NOT NULL AND run_at <= $1
             GROUP BY sender, priority ORDER BY sender, priority",
        )
        .bind(to_ms(now))
        .fetch_all(self.r().await.target())
        .await?;
        rows.iter()
            .map(|r| {
                let rank: i64 = get(r, "priority")?;
                Ok(LineDepth {
                    sender: get(r, "sender")?,
                    class: SendClass::ALL
                        .into_iter()
                        .find(|c| c.rank() == rank)
                        .unwrap_or(SendClass::Background),
                    waiting: get(r, "n")?,
                    oldest_due: from_ms(get(r, "oldest")?),
                })
            })
            .collect()
    }
}

fn claimed(r: &super::db::Row, lease_until: DateTime<Utc>) -> Result<Claimed> {
    Ok(Claimed {
        id: get(r, "id")?,
        kind: get(r, "kind")?,
        lead_id: get(r, "lead_id")?,
        unique_key: get(r, "unique_key")?,
        payload: get(r, "payload")?,
        attempts: get(r, "attempts")?,
        max_attempts: get(r, "max_attempts")?,
        lease_token: get(r, "lease_token")?,
        due_at: from_ms(get(r, "due_at")?),
        lease_until,
    })
}
