//! Durable jobs: the queue behind every send and every timer.
//!
//! A job is claimed by one `UPDATE … RETURNING` that bumps its fencing token
//! and sets `run_at` to the lease expiry. Every later write about the job
//! names the token it was claimed with; if another worker has since
//! reclaimed the job (our lease ran out), the write matches no row and we
//! know to stop. Failed jobs are kept with their last error, never deleted.

use super::db::{query, Target};
use super::{get, Dialect, Result, Store, StoreError, Tx};
use crate::clock::to_ms;
use crate::config::ServiceConfig;
use crate::core::compliance::{
    self,
    at_send::{AtSend, Start},
};
use crate::core::jobs::Scheduled;
use crate::domain::SendClass;
use crate::domain::{LeadStatus, MessageKind, MessageStatus};
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
pub(super) async fn enqueue(tx: &mut Tx, job: &NewJob, now: DateTime<Utc>) -> Result<bool> {
    Ok(enqueue_many(tx, std::slice::from_ref(job), now).await? == 1)
}

/// Enqueues jobs in one statement (a missed call's send, follow-up and cold
/// check); a job whose unique key exists is skipped. Returns how many were
/// new. On PostgreSQL, if any was enqueued, the workers of every instance
/// are woken: `NOTIFY` is delivered at commit, only if the transaction
/// commits, and repeats within one transaction fold into one.
pub(super) async fn enqueue_many(tx: &mut Tx, jobs: &[NewJob], now: DateTime<Utc>) -> Result<u64> {
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

/// Largest chunk [`Store::record_sent_batch`] records with one statement.
const RECORD_CHUNK: usize = 64;

/// Records one chunk of accepted sends (its length a power of two up to
/// [`RECORD_CHUNK`]); returns the ids of the jobs we still held.
async fn record_chunk(tx: &mut Tx, chunk: &[SentRecord]) -> Result<Vec<i64>> {
    // Held leases are matched back by job id; a job is claimed once, so it
    // is in a batch at most once.
    debug_assert!(
        chunk
            .iter()
            .map(|it| it.job.id)
            .collect::<std::collections::HashSet<_>>()
            .len()
            == chunk.len(),
        "a job twice in one record chunk"
    );
    let shape = chunk.len().ilog2() as usize;
    let mut q = query(record_sql(RecordStatement::Jobs, shape));
    for it in chunk {
        q = q
            .bind(it.job.id)
            .bind(it.job.lease_token)
            .bind(to_ms(it.at));
    }
    let done = q
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| get::<i64>(r, "id"))
        .collect::<Result<Vec<_>>>()?;
    let mut q = query(record_sql(RecordStatement::Messages, shape));
    for it in chunk {
        q = q
            .bind(it.message_id)
            .bind(&it.provider)
            .bind(&it.sid)
            .bind(to_ms(it.at));
    }
    q.execute(tx.conn()).await?;
    // A lead's first text moves it to `texted`; a chunk with none (replies,
    // follow-ups) skips the statement.
    if chunk.iter().any(|it| it.texted_lead.is_some()) {
        let mut q = query(record_sql(RecordStatement::Leads, shape));
        for it in chunk {
            // A send with no lead to move binds a lead id that matches none.
            q = q.bind(it.texted_lead.unwrap_or(0)).bind(to_ms(it.at));
        }
        q.execute(tx.conn()).await?;
    }
    Ok(done)
}

#[derive(Clone, Copy)]
enum RecordStatement {
    Jobs,
    Messages,
    Leads,
}

/// The statement of [`record_chunk`] for a chunk of `1 << shape` sends,
/// built once per shape. `VALUES` columns are `column1…` on both engines.
fn record_sql(which: RecordStatement, shape: usize) -> &'static str {
    use std::sync::OnceLock;
    const SHAPES: usize = RECORD_CHUNK.ilog2() as usize + 1;
    static SQL: [[OnceLock<String>; SHAPES]; 3] =
        [const { [const { OnceLock::new() }; SHAPES] }; 3];
    let (slot, width, head, tail) = match which {
        RecordStatement::Jobs => (
            0,
            3,
            "UPDATE jobs SET status = 'done', updated_at = v.column3 FROM (VALUES ",
            ") AS v WHERE jobs.id = v.column1 AND jobs.lease_token = v.column2
               AND jobs.status = 'running' RETURNING jobs.id AS id",
        ),
        RecordStatement::Messages => (
            1,
            4,
            "UPDATE messages SET status = 'sent', provider = v.column2, provider_sid = v.column3,
                 sent_at = v.column4, updated_at = v.column4, error_code = NULL, error_message = NULL
             FROM (VALUES ",
            ") AS v WHERE messages.id = v.column1 AND messages.status IN ('queued', 'sending')",
        ),
        RecordStatement::Leads => (
            2,
            2,
            "UPDATE leads SET status = 'texted', updated_at = v.column2 FROM (VALUES ",
            ") AS v WHERE leads.id = v.column1 AND leads.status = 'new'",
        ),
    };
    SQL[slot][shape].get_or_init(|| {
        let rows: Vec<String> = (0..1usize << shape)
            .map(|i| format!("({})", super::db::placeholders(i, width).join(", ")))
            .collect();
        format!("{head}{}{tail}", rows.join(", "))
    })
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

/// Largest batch [`Store::begin_send_batch`] handles in one transaction on
/// PostgreSQL, which holds every contact lock of the batch meanwhile.
pub const SEND_BATCH: usize = 32;

/// The same on SQLite, which holds its one writer for any transaction: one
/// acquisition for a whole claim beats several, each queued behind the
/// webhooks waiting for the writer.
pub const SEND_BATCH_SQLITE: usize = 256;

/// A send the carrier accepted, to record with [`Store::record_sent_batch`].
#[derive(Debug, Clone)]
pub struct SentRecord {
    pub job: Claimed,
    pub message_id: i64,
    /// The message's lead, if its first text should move the lead to `texted`.
    pub texted_lead: Option<i64>,
    pub provider: String,
    pub sid: String,
    pub at: DateTime<Utc>,
}

impl SentRecord {
    /// The record of `msg`, sent for `job`, accepted by `provider` as `sid`.
    pub fn new(
        job: &Claimed,
        msg: &crate::domain::Message,
        provider: &str,
        sid: &str,
        at: DateTime<Utc>,
    ) -> SentRecord {
        SentRecord {
            job: job.clone(),
            message_id: msg.id,
            texted_lead: msg
                .lead_id
                .filter(|_| matches!(msg.kind, MessageKind::Instant | MessageKind::FollowUp)),
            provider: provider.to_string(),
            sid: sid.to_string(),
            at,
        }
    }
}

/// What happened when the worker tried to start a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeginSend {
    /// Marked `sending`; go ahead and call the provider.
    Go { in_doubt: bool },
    /// The message no longer wants sending (sent, canceled, suppressed...).
    NotSendable(MessageStatus),
    /// Not sent, and now suppressed for this reason (the recipient opted
    /// out, the number does not take texts).
    Suppressed(&'static str),
    /// The recipient already has `cap` capped texts in the last 24 hours
    /// (counting sends in flight); a slot frees at `frees_at`.
    Capped { frees_at: Option<DateTime<Utc>> },
    /// Another worker holds the job now.
    LostLease,
}

impl Store {
    /// How many sends to begin (or record) in one transaction.
    pub fn send_batch(&self) -> usize {
        match self.dialect {
            Dialect::Sqlite => SEND_BATCH_SQLITE,
            Dialect::Postgres => SEND_BATCH,
        }
    }

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

    /// Messages by id, in no particular order (missing ids are left out).
    /// A plain read, outside any transaction: callers re-check whatever can
    /// change (status, consent) under the contact lock in `begin_send*`.
    pub async fn messages_by_ids(&self, ids: &[i64]) -> Result<Vec<crate::domain::Message>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT * FROM messages WHERE id IN ({})", params.join(", "));
            let mut q = query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(self.r().await.target()).await? {
                out.push(<crate::domain::Message as super::rows::FromDbRow>::from_row(&r)?);
            }
        }
        Ok(out)
    }

    /// Starts sends for many jobs in ONE transaction (at most [`SEND_BATCH`]
    /// at a time is sensible), each atomically with the checks that must
    /// hold at that instant: its recipient's contact row is locked first,
    /// then the fence (we still hold the job), the message's current status
    /// (an opt-out may have canceled it) and the recipient's consent are
    /// read under that lock. So an opt-out either commits before this (and
    /// we see it) or after (and the send had already begun). Contacts are locked in a fixed
    /// order so that two workers' batches cannot deadlock. `msg` must be the
    /// job's message (its id, kind, business and recipient never change).
    /// Results are in the order of `items`.
    pub async fn begin_send_batch(
        &self,
        items: &[(&Claimed, &crate::domain::Message)],
        daily_cap: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<BeginSend>> {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|&a, &b| {
            let (ma, mb) = (items[a].1, items[b].1);
            (&ma.business_id, &ma.to, ma.id).cmp(&(&mb.business_id, &mb.to, mb.id))
        });
        let mut out = vec![BeginSend::LostLease; items.len()];
        let mut tx = self.begin().await?;
        let now_ms = to_ms(now);
        for i in order {
            let (job, msg) = items[i];
            // PostgreSQL: the row lock that serialises this check against an
            // opt-out committing at the same instant. SQLite: this
            // transaction already holds the one writer, which serialises it
            // against every other change; taking the lock would only
            // rewrite the contact's row.
            if tx.dialect() == Dialect::Postgres {
                tx.lock_contact(&msg.business_id, &msg.to, now).await?;
            }
            let row = query(
                "SELECT j.lease_token AS lease_token, j.status AS job_status, m.status AS msg_status
                 FROM jobs j, messages m WHERE j.id = $1 AND m.id = $2",
            )
            .bind(job.id)
            .bind(msg.id)
            .fetch_optional(tx.conn())
            .await?;
            let Some(row) = row else {
                return Err(StoreError::Corrupt(format!(
                    "job {} or its message {} is missing",
                    job.id, msg.id
                )));
            };
            if get::<i64>(&row, "lease_token")? != job.lease_token
                || get::<String>(&row, "job_status")? != "running"
            {
                out[i] = BeginSend::LostLease;
                continue;
            }
            let status = MessageStatus::from_str(&get::<String>(&row, "msg_status")?)
                .map_err(StoreError::Corrupt)?;
            let start = if matches!(status, MessageStatus::Queued | MessageStatus::Sending) {
                let facts = AtSend {
                    kind: msg.kind,
                    status,
                    consent: tx.consent_state(&msg.business_id, &msg.to).await?,
                    unreachable: tx.unreachable(&msg.business_id, &msg.to).await?,
                    capped: if compliance::counts_toward_cap(msg.kind) {
                        capped_in_flight(&mut tx, msg, now).await?
                    } else {
                        (0, None)
                    },
                    daily_cap,
                    lead: match (msg.kind, msg.lead_id) {
                        (MessageKind::FollowUp, Some(lead_id)) => {
                            lead_now(&mut tx, lead_id).await?
                        }
                        _ => None,
                    },
                };
                compliance::at_send::at_send(&facts)
            } else {
                Start::NotSendable(status)
            };
            out[i] = match start {
                Start::Go { in_doubt } => {
                    query(
                        "UPDATE messages SET status = 'sending', attempts = attempts + 1,
                             send_started_at = COALESCE(send_started_at, $2), updated_at = $2 WHERE id = $1",
                    )
                    .bind(msg.id)
                    .bind(now_ms)
                    .execute(tx.conn())
                    .await?;
                    BeginSend::Go { in_doubt }
                }
                Start::NotSendable(status) => BeginSend::NotSendable(status),
                Start::Suppress(reason) => {
                    query("UPDATE messages SET status = 'suppressed', suppress_reason = $2, updated_at = $3 WHERE id = $1")
                        .bind(msg.id)
                        .bind(reason)
                        .bind(now_ms)
                        .execute(tx.conn())
                        .await?;
                    BeginSend::Suppressed(reason)
                }
                Start::Cancel(reason) => {
                    query("UPDATE messages SET status = 'canceled', suppress_reason = $2, updated_at = $3 WHERE id = $1")
                        .bind(msg.id)
                        .bind(reason)
                        .bind(now_ms)
                        .execute(tx.conn())
                        .await?;
                    BeginSend::NotSendable(MessageStatus::Canceled)
                }
                Start::Capped { frees_at } => BeginSend::Capped { frees_at },
            };
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records accepted sends and completes their jobs in one transaction;
    /// a lead's first text moves it to `texted`. Returns, per item, whether
    /// we still held its job (a stale holder's
    /// job is left alone; its message is recorded as sent either way,
    /// because the carrier accepted it).
    ///
    /// Each of the three changes is one statement per chunk of the batch
    /// (a `VALUES` list joined to the table), not one per send: on SQLite's
    /// single writer the per-statement cost of three statements a send was
    /// a good part of the worker's share. Chunks are powers of two (at most
    /// [`RECORD_CHUNK`]), so a handful of statement shapes stay prepared.
    pub async fn record_sent_batch(&self, items: &[SentRecord]) -> Result<Vec<bool>> {
        let mut held = vec![false; items.len()];
        let mut tx = self.begin().await?;
        let mut start = 0;
        while start < items.len() {
            let left = items.len() - start;
            let n = RECORD_CHUNK.min(1 << left.ilog2());
            let chunk = &items[start..start + n];
            let done = record_chunk(&mut tx, chunk).await?;
            for (i, it) in chunk.iter().enumerate() {
                held[start + i] = done.contains(&it.job.id);
            }
            start += n;
        }
        tx.commit().await?;
        Ok(held)
    }

    /// Starts one send: [`Store::begin_send_batch`] with a batch of one, so
    /// the single and batched paths make exactly the same checks.
    pub async fn begin_send(
        &self,
        job: &Claimed,
        msg: &crate::domain::Message,
        daily_cap: i64,
        now: DateTime<Utc>,
    ) -> Result<BeginSend> {
        let mut out = self.begin_send_batch(&[(job, msg)], daily_cap, now).await?;
        Ok(out.pop().expect("one result per item"))
    }

    /// Records one accepted send: [`Store::record_sent_batch`] with a batch
    /// of one. Returns whether we still held the job.
    pub async fn record_sent(&self, record: &SentRecord) -> Result<bool> {
        let mut out = self.record_sent_batch(std::slice::from_ref(record)).await?;
        Ok(out.pop().expect("one result per item"))
    }

    /// Marks a message suppressed by the compliance gate and completes its
    /// job, in one transaction. Returns false if the message had already
    /// left `queued`/`sending` (a reclaimed job getting here twice).
    pub async fn suppress_message(
        &self,
        job: &Claimed,
        message_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let changed = query(
            "UPDATE messages SET status = 'suppressed', suppress_reason = $2, updated_at = $3
             WHERE id = $1 AND status IN ('queued', 'sending')",
        )
        .bind(message_id)
        .bind(reason)
        .bind(to_ms(now))
        .execute(tx.conn())
        .await?;
        query("UPDATE jobs SET status = 'done', updated_at = $3 WHERE id = $1 AND lease_token = $2 AND status = 'running'")
            .bind(job.id)
            .bind(job.lease_token)
            .bind(to_ms(now))
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Records a send that did not happen this time. `definitely_not_sent`
    /// puts the message back to queued; otherwise it stays `sending` (in
    /// doubt) so the next attempt reconciles first.
    ///
    /// Fenced like every other outcome: a worker whose lease ran out must
    /// not touch the message, or its "definitely not sent" could wipe the
    /// in-doubt mark of the attempt the job's new owner has in flight, and
    /// the next attempt would send without looking first.
    pub async fn record_send_error(
        &self,
        job: &Claimed,
        message_id: i64,
        definitely_not_sent: bool,
        code: Option<&str>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut one = self.one().await?;
        let n = query(
            "UPDATE messages SET status = CASE WHEN $2 = 1 AND status = 'sending' THEN 'queued' ELSE status END,
                 error_code = $3, error_message = $4, updated_at = $5
             WHERE id = $1
               AND EXISTS (SELECT 1 FROM jobs WHERE id = $6 AND lease_token = $7 AND status = 'running')",
        )
        .bind(message_id)
        .bind(definitely_not_sent as i64)
        .bind(code.map(str::to_string))
        .bind(error)
        .bind(to_ms(now))
        .bind(job.id)
        .bind(job.lease_token)
        .execute(one.target())
        .await?;
        one.done().await?;
        Ok(n == 1)
    }

    /// A permanent failure: the message failed, the job failed (kept).
    pub async fn record_send_failed(
        &self,
        job: &Claimed,
        message_id: i64,
        code: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        query(
            "UPDATE messages SET status = 'failed', error_code = $2, error_message = $3, updated_at = $4
             WHERE id = $1 AND status IN ('queued', 'sending')",
        )
        .bind(message_id)
        .bind(code)
        .bind(error)
        .bind(to_ms(now))
        .execute(tx.conn())
        .await?;
        query("UPDATE jobs SET status = 'failed', last_error = $3, updated_at = $4 WHERE id = $1 AND lease_token = $2")
            .bind(job.id)
            .bind(job.lease_token)
            .bind(format!("{code}: {error}"))
            .bind(to_ms(now))
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A recipient's capped texts in the last day, counting sends already
/// begun (read under their lock, so two texts claimed at once cannot both
/// take the last slot), and when the oldest left.
async fn capped_in_flight(
    tx: &mut Tx,
    msg: &crate::domain::Message,
    now: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>)> {
    let sql = format!(
        "SELECT COUNT(*) AS n, MIN(COALESCE(sent_at, send_started_at)) AS oldest FROM messages
         WHERE business_id = $1 AND to_number = $2 AND direction = 'outbound' AND id <> $3
           AND kind IN ({})
           AND status IN ('sending', 'sent', 'delivered', 'undelivered')
           AND COALESCE(sent_at, send_started_at) > $4",
        compliance::capped_kinds_sql()
    );
    let row = query(&sql)
        .bind(&msg.business_id)
        .bind(&msg.to)
        .bind(msg.id)
        .bind(to_ms(now - compliance::CAP_WINDOW))
        .fetch_one(tx.conn())
        .await?;
    let oldest: Option<i64> = get(&row, "oldest")?;
    Ok((
        get(&row, "n")?,
        oldest.and_then(DateTime::from_timestamp_millis),
    ))
}

/// A lead's status, and whether a newer lead of the same caller took over.
async fn lead_now(tx: &mut Tx, lead_id: i64) -> Result<Option<(LeadStatus, bool)>> {
    let row = query(
        "SELECT l.status,
                (SELECT COUNT(*) FROM leads n WHERE n.business_id = l.business_id
                 AND n.caller = l.caller AND n.id > l.id) AS newer
         FROM leads l WHERE l.id = $1",
    )
    .bind(lead_id)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        let status =
            LeadStatus::from_str(&get::<String>(&r, "status")?).map_err(StoreError::Corrupt)?;
        Ok((status, get::<i64>(&r, "newer")? > 0))
    })
    .transpose()
}

pub(super) async fn finish(
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
mod tests {
    use super::*;
    use crate::domain::{MessageKind, MessageStatus};
    use crate::store::NewMessage;

    /// Runs `case` on a fresh SQLite file, then on a fresh PostgreSQL
    /// database when RINGBACK_TEST_POSTGRES_URL is set.
    async fn on_both_stores<F, Fut>(name: &str, case: F)
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let dir = tempfile::tempdir().unwrap();
        case(format!("sqlite://{}", dir.path().join("t.db").display())).await;
        if let Some(pg) = crate::store::fresh_postgres_database(name).await {
            case(pg).await;
        }
    }

    /// An instant text from business "b" to `to`.
    fn instant(
        lead_id: Option<i64>,
        to: String,
        status: MessageStatus,
        now: DateTime<Utc>,
    ) -> NewMessage {
        NewMessage {
            business_id: "b".into(),
            lead_id,
            direction: "outbound",
            kind: MessageKind::Instant,
            to,
            from: "+15125550100".into(),
            body: "hi".into(),
            status,
            suppress_reason: None,
            provider: None,
            provider_sid: None,
            trigger_at: now,
            created_at: now,
        }
    }

    /// Several jobs in one statement: the new ones are counted, a key
    /// already queued is skipped (not an error), and all land as pending.
    #[tokio::test]
    async fn enqueue_many_skips_existing_keys_and_counts_the_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("j.db").display());
        let store = Store::connect(&url, &Default::default()).await.unwrap();
        store.migrate().await.unwrap();
        let now = Utc::now();
        let job = |k: &str| NewJob {
            kind: "test",
            lead_id: None,
            unique_key: k.into(),
            payload: "{}".into(),
            run_at: now,
            max_attempts: 3,
            sender: None,
            priority: 3,
        };
        let mut tx = store.begin().await.unwrap();
        assert!(tx.enqueue(&job("a"), now).await.unwrap());
        let new = tx
            .enqueue_many(&[job("a"), job("b"), job("c")], now)
            .await
            .unwrap();
        assert_eq!(new, 2, "a was already queued");
        assert!(!tx.enqueue(&job("b"), now).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(store.count("jobs").await.unwrap(), 3);
        for k in ["a", "b", "c"] {
            let (status, attempts, _) = store.job_status(k).await.unwrap().unwrap();
            assert_eq!((status, attempts), (JobStatus::Pending, 0), "{k}");
        }
    }

    /// A worker whose lease was taken over cannot put the message back to
    /// `queued`: that would erase the in-doubt mark of the new owner's
    /// attempt. On PostgreSQL too when RINGBACK_TEST_POSTGRES_URL is set.
    #[tokio::test]
    async fn a_send_error_after_a_lost_lease_leaves_the_message_alone() {
        on_both_stores("a_send_error_after_a_lost_lease", send_error_case).await;
    }

    async fn send_error_case(url: String) {
        let url = url.as_str();
        let store = Store::connect(url, &Default::default()).await.unwrap();
        store.migrate().await.unwrap();
        let now = Utc::now();
        let mut tx = store.begin().await.unwrap();
        let message = tx
            .insert_message(&instant(
                None,
                "+15125550123".into(),
                MessageStatus::Sending,
                now,
            ))
            .await
            .unwrap();
        let job = NewJob {
            kind: "send_message",
            lead_id: None,
            unique_key: format!("send:{message}"),
            payload: "{}".into(),
            run_at: now,
            max_attempts: 3,
            sender: None,
            priority: 3,
        };
        assert!(tx.enqueue(&job, now).await.unwrap());
        tx.commit().await.unwrap();
        let held = store
            .claim_jobs(now, now + chrono::Duration::minutes(5), 1, &|_| {
                crate::core::compliance::pacing::Pace::of(1.0)
            })
            .await
            .unwrap()
            .remove(0);
        let mut stale = held.clone();
        stale.lease_token -= 1;
        let status = || async { store.message(message).await.unwrap().unwrap().status };
        assert!(!store
            .record_send_error(&stale, message, true, None, "429", now)
            .await
            .unwrap());
        assert_eq!(status().await, MessageStatus::Sending, "still in doubt");
        assert!(store
            .record_send_error(&held, message, true, None, "429", now)
            .await
            .unwrap());
        assert_eq!(status().await, MessageStatus::Queued);
    }

    /// Recording a batch whose size is not a power of two (71 sends: chunks
    /// of 64, 4, 2 and 1): every message is recorded with its own sid, each lead's
    /// first text moves it to `texted`, and a job whose lease was taken
    /// over is reported as not held and left running. On PostgreSQL too
    /// when RINGBACK_TEST_POSTGRES_URL is set.
    #[tokio::test]
    async fn record_sent_batch_records_every_send_and_reports_lost_leases() {
        on_both_stores(
            "record_sent_batch_records_every_send",
            record_sent_batch_case,
        )
        .await;
    }

    async fn record_sent_batch_case(url: String) {
        let url = url.as_str();
        use crate::domain::LeadStatus;
        use crate::store::NewLead;
        let store = Store::connect(url, &Default::default()).await.unwrap();
        store.migrate().await.unwrap();
        let now = Utc::now();
        let mut tx = store.begin().await.unwrap();
        let mut sends = Vec::new();
        for i in 0..71 {
            let caller = format!("+1512555{i:04}");
            let lead = tx
                .insert_lead(&NewLead {
                    business_id: "b".into(),
                    caller: caller.clone(),
                    tracking_number: "+15125550100".into(),
                    status: LeadStatus::New,
                    call_count: 1,
                    at: now,
                    window_ends_at: now + chrono::Duration::hours(24),
                    suppressed_reason: None,
                })
                .await
                .unwrap();
            let message = tx
                .insert_message(&instant(Some(lead), caller, MessageStatus::Queued, now))
                .await
                .unwrap();
            let job = NewJob {
                kind: "send_message",
                lead_id: Some(lead),
                unique_key: format!("send:{message}"),
                payload: "{}".into(),
                run_at: now,
                max_attempts: 3,
                sender: None,
                priority: 3,
            };
            assert!(tx.enqueue(&job, now).await.unwrap());
            sends.push((lead, message));
        }
        tx.commit().await.unwrap();
        let later = now + chrono::Duration::seconds(1);
        let mut jobs = store
            .claim_jobs(later, later + chrono::Duration::minutes(5), 100, &|_| {
                crate::core::compliance::pacing::Pace::of(1.0)
            })
            .await
            .unwrap();
        assert_eq!(jobs.len(), 71);
        jobs.sort_by_key(|j| j.id);
        // Two leases were taken over (their tokens moved on): one in the
        // first chunk, one in the chunk of four.
        let lost = [4, 66];
        for i in lost {
            jobs[i].lease_token -= 1;
        }
        let records: Vec<SentRecord> = jobs
            .iter()
            .zip(&sends)
            .enumerate()
            .map(|(i, (job, (lead, message)))| SentRecord {
                job: job.clone(),
                message_id: *message,
                // The last send is not a lead's first text.
                texted_lead: (i < 70).then_some(*lead),
                provider: "twilio".into(),
                sid: format!("SM{i:032}"),
                at: later,
            })
            .collect();
        let held = store.record_sent_batch(&records).await.unwrap();
        let want: Vec<bool> = (0..71).map(|i| !lost.contains(&i)).collect();
        assert_eq!(held, want);
        for (i, (lead, message)) in sends.iter().enumerate() {
            let m = store.message(*message).await.unwrap().unwrap();
            assert_eq!(m.status, MessageStatus::Sent, "message {i}");
            assert_eq!(
                m.provider_sid.as_deref(),
                Some(format!("SM{i:032}").as_str())
            );
            let l = store.lead(*lead).await.unwrap().unwrap();
            let want = if i < 70 {
                LeadStatus::Texted
            } else {
                LeadStatus::New
            };
            assert_eq!(l.status, want, "lead {i}");
            let (status, _, _) = store
                .job_status(&format!("send:{message}"))
                .await
                .unwrap()
                .unwrap();
            let want = if lost.contains(&i) {
                JobStatus::Running
            } else {
                JobStatus::Done
            };
            assert_eq!(status, want, "job {i}");
        }
    }

    /// A job enqueued through one store wakes a listener connected through
    /// another (two instances), via NOTIFY at commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn enqueue_notifies_listeners_on_postgres() {
        let Some(url) =
            crate::store::fresh_postgres_database("enqueue_notifies_listeners_on_postgres").await
        else {
            return;
        };
        let a = Store::connect(&url, &Default::default()).await.unwrap();
        a.migrate().await.unwrap();
        let b = Store::connect(&url, &Default::default()).await.unwrap();
        let mut listener = b.job_listener().await.unwrap().expect("postgres listens");
        let now = Utc::now();
        let job = NewJob {
            kind: "test",
            lead_id: None,
            unique_key: "k1".into(),
            payload: "{}".into(),
            run_at: now,
            max_attempts: 3,
            sender: None,
            priority: 3,
        };
        let mut tx = a.begin().await.unwrap();
        assert!(tx.enqueue(&job, now).await.unwrap());
        tx.commit().await.unwrap();
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
            .await
            .expect("notified")
            .unwrap();
        assert_eq!(n.channel(), JOBS_CHANNEL);
        // A duplicate key enqueues nothing and announces nothing.
        let mut tx = a.begin().await.unwrap();
        assert!(!tx.enqueue(&job, now).await.unwrap());
        tx.commit().await.unwrap();
        assert!(listener.next_buffered().is_none());
    }
}
