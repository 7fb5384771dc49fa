//! Starting and recording sends: the checks that must hold at the instant
//! a text starts (fence, message status, consent, reachability, the daily
//! cap) taken under the recipient's contact lock, and recording what the
//! carrier accepted or refused.
//!
//! Apart from the queue (`jobs/mod.rs`) because these write messages,
//! contacts and leads as well as jobs, and batch them for the worker.

use super::super::db::query;
use super::super::{get, Dialect, Result, Store, StoreError, Tx};
use super::Claimed;
use crate::clock::to_ms;
use crate::core::compliance::{
    self,
    at_send::{AtSend, Start},
};
use crate::domain::{LeadStatus, MessageKind, MessageStatus};
use crate::store::rows::FromDbRow;
use chrono::{DateTime, Utc};
use std::str::FromStr;

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
            .map(|i| format!("({})", super::super::db::placeholders(i, width).join(", ")))
            .collect();
        format!("{head}{}{tail}", rows.join(", "))
    })
}

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
                out.push(<crate::domain::Message as super::super::rows::FromDbRow>::from_row(&r)?);
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
        let changed = tx.suppress_message(job, message_id, reason, now).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Records a send that did not happen this time. `definitely_not_sent`
    /// puts the message back to queued; otherwise it stays `sending` (in
    /// doubt) so the next attempt reconciles first.
    ///
    /// Fenced like every other outcome: a worker whose lease ran out must
    /// not touch the message, or its "definitely not sent" could wipe the
    /// in-doubt mark of the attempt the job's new owner has in flight, and
    /// the next attempt would send without looking first.
    ///
    /// Returns the text's tries at the carrier so far when this worker still
    /// owned it (`None` when its lease had run out). Tries, not claims: a
    /// claim lost to a crash before the carrier was asked is no failed send.
    pub async fn record_send_error(
        &self,
        job: &Claimed,
        message_id: i64,
        definitely_not_sent: bool,
        code: Option<&str>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
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
        let tries = if n == 1 {
            let r = query("SELECT attempts FROM messages WHERE id = $1")
                .bind(message_id)
                .fetch_one(one.target())
                .await?;
            Some(get(&r, "attempts")?)
        } else {
            None
        };
        one.done().await?;
        Ok(tries)
    }

    /// An in-doubt text not found at the carrier yet: its job goes back to
    /// run at `at` to look again, and the try `begin_send` counted is given
    /// back, since the carrier was not asked to send. `false` if the lease
    /// was lost (the job's new owner decides).
    pub async fn look_again_later(
        &self,
        job: &Claimed,
        message_id: i64,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let held = query(
            "UPDATE jobs SET status = 'pending', run_at = $3, updated_at = $4, attempts = attempts - 1,
                 last_error = 'in doubt: the carrier has no record of it yet'
             WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        )
        .bind(job.id)
        .bind(job.lease_token)
        .bind(to_ms(at))
        .bind(to_ms(now))
        .execute(tx.conn())
        .await?;
        if held != 1 {
            return Ok(false);
        }
        query("UPDATE messages SET attempts = attempts - 1 WHERE id = $1 AND attempts > 0")
            .bind(message_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(true)
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
        tx.record_send_failed(job, message_id, code, error, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Tx {
    /// [`Store::suppress_message`] inside a transaction the caller commits
    /// (with the owner's alert, when the refusal is the sender's).
    pub async fn suppress_message(
        &mut self,
        job: &Claimed,
        message_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let changed = query(
            "UPDATE messages SET status = 'suppressed', suppress_reason = $2, updated_at = $3
             WHERE id = $1 AND status IN ('queued', 'sending')",
        )
        .bind(message_id)
        .bind(reason)
        .bind(to_ms(now))
        .execute(self.conn())
        .await?;
        query("UPDATE jobs SET status = 'done', updated_at = $3 WHERE id = $1 AND lease_token = $2 AND status = 'running'")
            .bind(job.id)
            .bind(job.lease_token)
            .bind(to_ms(now))
            .execute(self.conn())
            .await?;
        Ok(changed == 1)
    }

    /// [`Store::record_send_failed`] inside a transaction the caller
    /// commits, so what the refusal teaches (opted out, cannot take texts)
    /// is written with it or not at all: a crash between the two would
    /// leave a failed text whose lesson nobody learns, and the next call
    /// from that number texted again. Returns the failed message.
    pub async fn record_send_failed(
        &mut self,
        job: &Claimed,
        message_id: i64,
        code: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::domain::Message>> {
        query(
            "UPDATE messages SET status = 'failed', error_code = $2, error_message = $3, updated_at = $4
             WHERE id = $1 AND status IN ('queued', 'sending')",
        )
        .bind(message_id)
        .bind(code)
        .bind(error)
        .bind(to_ms(now))
        .execute(self.conn())
        .await?;
        query("UPDATE jobs SET status = 'failed', last_error = $3, updated_at = $4 WHERE id = $1 AND lease_token = $2")
            .bind(job.id)
            .bind(job.lease_token)
            .bind(format!("{code}: {error}"))
            .bind(to_ms(now))
            .execute(self.conn())
            .await?;
        // Read back whatever its status: the refusal's lesson holds even
        // if a late receipt already moved the message on.
        let row = query("SELECT * FROM messages WHERE id = $1")
            .bind(message_id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| crate::domain::Message::from_row(&r))
            .transpose()
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
