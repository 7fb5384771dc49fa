//! The store: SQLite (default, embedded, WAL) or PostgreSQL, one contract.
//!
//! Every statement is written once, with `$1` parameters and times as
//! integer milliseconds, and runs on either engine through [`db`]: SQLite
//! via `rusqlite` on the calling task, PostgreSQL via `sqlx`. Where the two
//! must differ — claiming jobs with `FOR UPDATE SKIP LOCKED` — the
//! [`Dialect`] says so.
//!
//! Rules every caller keeps:
//! - a transaction never spans an HTTP call to a carrier;
//! - every change to one person's conversation first takes their lock
//!   ([`Tx::lock_contact`]: their `contacts` row on PostgreSQL; on SQLite the
//!   one writer), so two webhooks, two workers or two instances touching the
//!   same caller are serialised by the database, not by in-process locks.

mod caps;
mod db;
mod escalations;
mod jobs;
mod lines;
mod lite;
pub(crate) mod rows;
// Sender health (migration 0002): carrier errors per number, owner alerts.
mod health;

pub use caps::CapCounts;
pub use health::SenderHealthRow;
pub use jobs::{BeginSend, Claimed, JobStatus, NewJob, SentRecord, JOBS_CHANNEL, SEND_BATCH};
pub use lines::LineDepth;
use rows::FromDbRow;
pub use rows::{NewLead, NewMessage};

use crate::clock::to_ms;
use crate::config::DatabaseConfig;
use crate::domain::{Call, ConsentAction, Lead, LeadEvent, LeadStatus, Message, MessageStatus};
use chrono::{DateTime, Utc};
use db::{query, FromDb, Row, Target};
use lite::{Lite, LiteTx};
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A store error. Callers map it to "try again" (HTTP 503 for webhooks, a
/// retry for jobs); it never reaches a customer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A commit failed: nothing of this transaction was kept.
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// SQLite's one writer stayed busy past the acquire timeout.
    #[error("the database writer stayed busy for {0:?}")]
    WriterBusy(Duration),
    /// `DATABASE_URL` names no database ringback can use.
    #[error("{0}")]
    Url(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    /// PostgreSQL: the pool every statement runs on. SQLite: a lazily
    /// opened `sqlx` pool used only to run migrations (and by tests for
    /// ad-hoc queries); the store's own statements run on [`Lite`].
    pool: AnyPool,
    /// SQLite's connections (`None` for PostgreSQL).
    lite: Option<Arc<Lite>>,
    dialect: Dialect,
    /// Where we connected (for a PostgreSQL `LISTEN` connection).
    url: Arc<str>,
    /// PostgreSQL `statement_timeout` of pooled connections, in ms.
    statement_timeout_ms: u128,
}

/// A writer for one statement outside a caller's transaction.
enum One<'a> {
    Pool(&'a AnyPool),
    Tx(Tx),
}

impl One<'_> {
    fn target(&mut self) -> Target<'_> {
        match self {
            One::Pool(p) => Target::Pool(p),
            One::Tx(tx) => tx.conn(),
        }
    }

    async fn done(self) -> Result<()> {
        match self {
            One::Pool(_) => Ok(()),
            One::Tx(tx) => tx.commit().await,
        }
    }
}

/// A reader held for one statement.
enum Held<'a> {
    Pool(&'a AnyPool),
    Lite(OwnedMutexGuard<rusqlite::Connection>),
}

impl Held<'_> {
    fn target(&mut self) -> Target<'_> {
        match self {
            Held::Pool(p) => Target::Pool(p),
            Held::Lite(c) => Target::Lite(c),
        }
    }
}

static DRIVERS: Once = Once::new();

/// How many SQLite reader connections a store opens.
const SQLITE_READERS: usize = 2;

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). A SQLite file is
    /// created if missing.
    pub async fn connect(url: &str, opts: &DatabaseConfig) -> Result<Store> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        };
        let (pool, lite) = match dialect {
            Dialect::Sqlite => {
                let path = sqlite_path(url)?;
                let busy = opts.acquire_timeout;
                let writer = open_sqlite(&path, false, busy)?;
                let mut readers = Vec::new();
                for _ in 0..SQLITE_READERS {
                    readers.push(open_sqlite(&path, true, busy)?);
                }
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(opts.acquire_timeout)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout = 5000").await?;
                            Ok(())
                        })
                    })
                    .connect_lazy(&sqlite_url_with_create(url))?;
                let checkpoint = open_sqlite(&path, false, busy)?;
                (
                    pool,
                    Some(Arc::new(Lite::new(
                        writer,
                        readers,
                        Some(checkpoint),
                        opts.acquire_timeout,
                    ))),
                )
            }
            Dialect::Postgres => {
                let ms = opts.statement_timeout.as_millis();
                let pool = AnyPoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(opts.acquire_timeout)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute(format!("SET statement_timeout = {ms}").as_str())
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                (pool, None)
            }
        };
        Ok(Store {
            pool,
            lite,
            dialect,
            url: url.into(),
            statement_timeout_ms: opts.statement_timeout.as_millis(),
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The `sqlx` pool: PostgreSQL's own; for SQLite one that opens a
    /// separate connection to the same file (for ad-hoc queries in tests
    /// and tools; the store itself does not use it).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For one statement that writes, outside a caller's transaction:
    /// PostgreSQL runs it on the pool (autocommit); SQLite in a transaction
    /// of its own. Finish with
    /// [`One::done`].
    async fn one(&self) -> Result<One<'_>> {
        Ok(match &self.lite {
            Some(_) => One::Tx(self.begin().await?),
            None => One::Pool(&self.pool),
        })
    }

    /// A reader, for a plain read that must not queue behind writes
    /// (PostgreSQL: the pool).
    async fn r(&self) -> Held<'_> {
        match &self.lite {
            Some(l) => {
                let i = l.next_reader.fetch_add(1, Ordering::Relaxed) % l.readers.len();
                Held::Lite(l.readers[i].clone().lock_owned().await)
            }
            None => Held::Pool(&self.pool),
        }
    }

    /// Applies pending migrations for this dialect. On PostgreSQL they run
    /// without the statement timeout: building an index on a big table may
    /// rightly take longer than any request should.
    pub async fn migrate(&self) -> Result<()> {
        match self.dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.pool).await?,
            Dialect::Postgres => {
                let mut conn = self.pool.acquire().await?;
                conn.execute("SET statement_timeout = 0").await?;
                let result = sqlx::migrate!("migrations/postgres").run(&mut *conn).await;
                // Back to the pool's setting before the connection is reused.
                conn.execute(
                    format!("SET statement_timeout = {}", self.statement_timeout_ms).as_str(),
                )
                .await?;
                result?
            }
        }
        Ok(())
    }

    /// SQLite only: how many times a transaction waited for the one writer,
    /// and for how long in all, since start (`/metrics`). `None` on
    /// PostgreSQL, whose pool has no single writer.
    pub fn writer_waited(&self) -> Option<(u64, Duration)> {
        self.lite.as_ref().map(|l| l.writer_waited())
    }

    /// Is the database answering?
    /// (SQLite: also that the one writer can be had within the acquire
    /// timeout, since every webhook needs it.)
    pub async fn ping(&self) -> Result<()> {
        query("SELECT 1 AS one")
            .fetch_one(self.r().await.target())
            .await?;
        if let Some(l) = &self.lite {
            l.writer_answers().await?;
        }
        Ok(())
    }

    /// Starts a transaction. On SQLite it holds the one writer until it is
    /// committed or dropped (see `store/lite.rs`).
    pub async fn begin(&self) -> Result<Tx> {
        let conn = match &self.lite {
            Some(l) => TxConn::Lite(LiteTx::begin(l).await?),
            None => TxConn::Pg(self.pool.begin().await?),
        };
        Ok(Tx {
            conn,
            dialect: self.dialect,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(l) = &self.lite {
            l.close().await;
        }
    }

    // -- reads for the API, metrics and tests -------------------------------

    pub async fn lead(&self, id: i64) -> Result<Option<Lead>> {
        let row = query("SELECT * FROM leads WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r().await.target())
            .await?;
        row.map(|r| Lead::from_row(&r)).transpose()
    }

    /// Leads, newest first, filtered. Every filter is optional; values are
    /// bound, never spliced into the SQL.
    pub async fn leads(&self, filter: &LeadFilter) -> Result<Vec<Lead>> {
        let mut sql = String::from("SELECT * FROM leads WHERE 1 = 1");
        let mut texts: Vec<String> = Vec::new();
        let mut cond = |sql: &mut String, col: &str, v: &Option<String>| {
            if let Some(v) = v {
                texts.push(v.clone());
                sql.push_str(&format!(" AND {col} = ${}", texts.len()));
            }
        };
        cond(&mut sql, "business_id", &filter.business_id);
        cond(
            &mut sql,
            "status",
            &filter.status.map(|s| s.as_str().to_string()),
        );
        cond(&mut sql, "caller", &filter.caller);
        cond(&mut sql, "intent", &filter.intent);
        cond(&mut sql, "owner", &filter.owner);
        if let Some(numbers) = &filter.tracking_numbers {
            if numbers.is_empty() {
                return Ok(Vec::new());
            }
            let mut ph = Vec::new();
            for n in numbers {
                texts.push(n.clone());
                ph.push(format!("${}", texts.len()));
            }
            sql.push_str(&format!(" AND tracking_number IN ({})", ph.join(", ")));
        }
        let n = texts.len();
        sql.push_str(&format!(
            " AND first_call_at >= ${} AND first_call_at <= ${} AND id < ${} ORDER BY id DESC LIMIT ${}",
            n + 1,
            n + 2,
            n + 3,
            n + 4
        ));
        let mut q = query(&sql);
        for t in &texts {
            q = q.bind(t.clone());
        }
        let rows = q
            .bind(filter.since.map(to_ms).unwrap_or(0))
            .bind(filter.until.map(to_ms).unwrap_or(i64::MAX))
            .bind(filter.before_id.unwrap_or(i64::MAX))
            .bind(filter.limit.unwrap_or(100).clamp(1, 1000))
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(Lead::from_row).collect()
    }

    /// What the caller said to this lead (see [`Tx::what_they_said`]).
    pub async fn what_they_said(&self, lead_id: i64) -> Result<(Vec<String>, Vec<String>)> {
        what_they_said(self.r().await.target(), lead_id).await
    }

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

    pub async fn messages_for_lead(&self, lead_id: i64) -> Result<Vec<Message>> {
        let rows = query("SELECT * FROM messages WHERE lead_id = $1 ORDER BY id")
            .bind(lead_id)
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(Message::from_row).collect()
    }

    pub async fn lead_events(&self, lead_id: i64) -> Result<Vec<LeadEvent>> {
        let rows = query("SELECT * FROM lead_events WHERE lead_id = $1 ORDER BY id")
            .bind(lead_id)
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(LeadEvent::from_row).collect()
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

    /// Counts rows of a table (tests and metrics). `table` must be a literal
    /// from our own code.
    pub async fn count(&self, table: &'static str) -> Result<i64> {
        let row = query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(self.r().await.target())
            .await?;
        row.try_get::<i64>("n")
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

/// Turns `sqlite://x.db` into a URL that creates the file if missing.
fn sqlite_url_with_create(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The file a `sqlite://path` (or `sqlite:path`) URL names. The store keeps
/// a writer and readers on one database, so it must be a file: an
/// in-memory database would be a different, empty one per connection.
fn sqlite_path(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| {
            StoreError::Url(format!(
                "DATABASE_URL {:?} is neither sqlite://PATH nor postgres://…",
                crate::config::redact_url(url)
            ))
        })?;
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || params.contains("mode=memory") {
        return Err(StoreError::Url(format!(
            "DATABASE_URL {url:?}: ringback needs a SQLite file (e.g. sqlite://ringback.db), \
             not an in-memory database"
        )));
    }
    Ok(path.to_string())
}

/// Page size of a new SQLite database (see `open_sqlite`).
const SQLITE_PAGE_SIZE: u32 = 2048;

/// Opens one SQLite connection with the settings every connection shares.
/// WAL with `synchronous = NORMAL`: a commit is durable against a crash of
/// the process, and against power loss up to the last checkpoint.
fn open_sqlite(path: &str, reader: bool, busy: Duration) -> Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path)?;
    c.busy_timeout(busy)?;
    c.set_prepared_statement_cache_capacity(256);
    if reader {
        c.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -16000;")?;
    } else {
        // A new database gets 2 KiB pages instead of SQLite's 4 KiB. Most
        // of what a missed call writes lands at random places in indexes
        // keyed by call SID, caller and message SID, one page per insert,
        // and every page written goes to the WAL and then to the database
        // file: at 5,000 calls/s for 60 s, 2 KiB pages wrote 44 KB per call
        // against 58 KB, with the same CPU, and kept up better (4,826–4,999
        // texts/s against 4,684–4,855, alternating runs); 1 KiB pages cost
        // more CPU than they saved. Ignored for an existing database, which
        // keeps the page size it was created with.
        c.execute_batch(&format!("PRAGMA page_size = {SQLITE_PAGE_SIZE};"))?;
        // journal_mode answers with a row, so it is read, not executed.
        let mode: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode; readers will wait for the writer");
        }
        c.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32000;
             PRAGMA wal_autocheckpoint = {};",
            lite::WRITER_AUTOCHECKPOINT_PAGES
        ))?;
    }
    Ok(c)
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

/// Filters for [`Store::leads`].
#[derive(Debug, Default, Clone)]
pub struct LeadFilter {
    pub business_id: Option<String>,
    pub status: Option<LeadStatus>,
    pub caller: Option<String>,
    /// Any of these tracking numbers (a number, or a campaign's numbers).
    pub tracking_numbers: Option<Vec<String>>,
    pub intent: Option<String>,
    pub owner: Option<String>,
    /// First call at or after (the lead is at most this old).
    pub since: Option<DateTime<Utc>>,
    /// First call at or before (the lead is at least this old).
    pub until: Option<DateTime<Utc>>,
    /// Only leads older than this one (ids below it): the next page.
    pub before_id: Option<i64>,
    pub limit: Option<i64>,
}

/// A transaction. Dropping it without [`Tx::commit`] rolls back.
pub struct Tx {
    conn: TxConn,
    dialect: Dialect,
}

enum TxConn {
    Pg(Transaction<'static, Any>),
    Lite(LiteTx),
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self.conn {
            TxConn::Pg(tx) => tx.commit().await?,
            TxConn::Lite(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

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

    /// Takes the per-person lock and returns why the person cannot be
    /// texted, if a carrier said so.
    ///
    /// PostgreSQL: locks the contact's row, creating it on first sight, so
    /// that transactions touching one person from several connections or
    /// instances run one after another. SQLite: a plain read, because its
    /// one writer already runs every transaction alone; writing the row
    /// would only add a write at a random place in the contacts index to
    /// every missed call.
    pub async fn lock_contact(
        &mut self,
        business_id: &str,
        phone: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let q = match self.dialect {
            Dialect::Postgres => query(
                "INSERT INTO contacts (business_id, phone, last_seen_at) VALUES ($1, $2, $3)
                 ON CONFLICT (business_id, phone) DO UPDATE SET last_seen_at = excluded.last_seen_at
                 RETURNING unreachable",
            )
            .bind(business_id)
            .bind(phone)
            .bind(to_ms(now)),
            Dialect::Sqlite => {
                query("SELECT unreachable FROM contacts WHERE business_id = $1 AND phone = $2")
                    .bind(business_id)
                    .bind(phone)
            }
        };
        let row = q.fetch_optional(self.conn()).await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<String>>("unreachable")?,
            None => None,
        })
    }

    /// Do carriers say texts cannot reach `phone`?
    pub async fn unreachable(&mut self, business_id: &str, phone: &str) -> Result<bool> {
        let row = query("SELECT unreachable FROM contacts WHERE business_id = $1 AND phone = $2")
            .bind(business_id)
            .bind(phone)
            .fetch_optional(self.conn())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<String>>("unreachable")?.is_some(),
            None => false,
        })
    }

    /// `phone` just texted us: whatever carriers said, it takes texts.
    pub async fn clear_unreachable(&mut self, business_id: &str, phone: &str) -> Result<()> {
        query("UPDATE contacts SET unreachable = NULL WHERE business_id = $1 AND phone = $2 AND unreachable IS NOT NULL")
            .bind(business_id)
            .bind(phone)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn mark_unreachable(
        &mut self,
        business_id: &str,
        phone: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        query(
            "INSERT INTO contacts (business_id, phone, last_seen_at, unreachable) VALUES ($1, $2, $3, $4)
             ON CONFLICT (business_id, phone) DO UPDATE SET last_seen_at = excluded.last_seen_at,
                 unreachable = excluded.unreachable",
        )
        .bind(business_id)
        .bind(phone)
        .bind(to_ms(now))
        .bind(reason)
        .execute(self.conn())
        .await?;
        Ok(())
    }

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

    /// The caller's most recent lead at this business.
    pub async fn latest_lead(&mut self, business_id: &str, caller: &str) -> Result<Option<Lead>> {
        let row = query("SELECT * FROM leads WHERE business_id = $1 AND caller = $2 ORDER BY first_call_at DESC, id DESC LIMIT 1")
            .bind(business_id)
            .bind(caller)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| Lead::from_row(&r)).transpose()
    }

    pub async fn lead(&mut self, id: i64) -> Result<Option<Lead>> {
        let row = query("SELECT * FROM leads WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| Lead::from_row(&r)).transpose()
    }

    pub async fn insert_lead(&mut self, l: &NewLead) -> Result<i64> {
        let row = query(
            "INSERT INTO leads (business_id, caller, tracking_number, status, call_count, first_call_at,
                 window_ends_at, last_activity_at, suppressed_reason, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8, $6, $6) RETURNING id",
        )
        .bind(&l.business_id)
        .bind(&l.caller)
        .bind(&l.tracking_number)
        .bind(l.status.as_str())
        .bind(l.call_count)
        .bind(to_ms(l.at))
        .bind(to_ms(l.window_ends_at))
        .bind(l.suppressed_reason.map(|r| r.as_str().to_string()))
        .insert_id(self.conn())
        .await?;
        row.ok_or_else(|| StoreError::Corrupt("a lead insert inserted nothing".into()))
    }

    /// Writes back the mutable parts of a lead.
    pub async fn update_lead(&mut self, l: &Lead, now: DateTime<Utc>) -> Result<()> {
        query(
            // `new` is only ever a lead's first status. The recorder moves a
            // lead to `texted` without the contact lock (it only touches the
            // status), so a full-row write from a transaction that read the
            // lead earlier must not move it back (a lost update that once
            // left leads `new` and their follow-ups waiting forever).
            "UPDATE leads SET status = CASE WHEN $2 = 'new' THEN status ELSE $2 END, call_count = $3, last_activity_at = $4, suppressed_reason = $5,
                 closed_reason = $6, updated_at = $7, intent = $8, hazard = $9, questions_asked = $10,
                 awaiting_answer = $11, acknowledged = $12, follow_ups_sent = $13, owner = $14,
                 disposition = $15, disposition_reason = $16, note = $17, call_attempts = $18
             WHERE id = $1",
        )
        .bind(l.id)
        .bind(l.status.as_str())
        .bind(l.call_count)
        .bind(to_ms(l.last_activity_at))
        .bind(l.suppressed_reason.clone())
        .bind(l.closed_reason.clone())
        .bind(to_ms(now))
        .bind(l.intent.clone())
        .bind(l.hazard.clone())
        .bind(l.questions_asked)
        .bind(l.awaiting_answer as i64)
        .bind(l.acknowledged as i64)
        .bind(l.follow_ups_sent)
        .bind(l.owner.clone())
        .bind(l.disposition.clone())
        .bind(l.disposition_reason.clone())
        .bind(l.note.clone())
        .bind(l.call_attempts)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn lead_event(
        &mut self,
        lead_id: i64,
        kind: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.lead_events(&[(lead_id, kind, detail)], now).await
    }

    /// Appends several events (lead, kind, detail) in one statement, in
    /// order.
    pub async fn lead_events(
        &mut self,
        events: &[(i64, &str, &str)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        // A missed call appends two at once.
        static SQL: [std::sync::OnceLock<String>; 4] = [const { std::sync::OnceLock::new() }; 4];
        let sql = db::sql_for_rows(&SQL, events.len(), |n| {
            let rows: Vec<String> = (0..n)
                .map(|i| format!("({})", db::placeholders(i, 4).join(", ")))
                .collect();
            format!(
                "INSERT INTO lead_events (lead_id, kind, detail, at) VALUES {}",
                rows.join(", ")
            )
        });
        let mut q = query(&sql);
        for (lead_id, kind, detail) in events {
            q = q.bind(*lead_id).bind(*kind).bind(*detail).bind(to_ms(now));
        }
        q.execute(self.conn()).await?;
        Ok(())
    }

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

    /// Enqueues a job; a job with the same unique key is not enqueued twice.
    /// Returns false if the key already existed.
    pub async fn enqueue(&mut self, job: &NewJob, now: DateTime<Utc>) -> Result<bool> {
        jobs::enqueue(self, job, now).await
    }

    /// Enqueues several jobs in one statement, skipping any whose unique
    /// key exists. Returns how many were new.
    pub async fn enqueue_many(&mut self, jobs: &[NewJob], now: DateTime<Utc>) -> Result<u64> {
        jobs::enqueue_many(self, jobs, now).await
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

    /// Loads a lead and takes its caller's contact lock, then reads the
    /// lead again: what the caller decides on is what holds under the lock
    /// (an inbound text or an opt-out for the same person either committed
    /// first, and is seen, or waits). Also returns why the number is
    /// unreachable, if it is.
    pub async fn lead_locked(
        &mut self,
        lead_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<(Lead, Option<String>)>> {
        let Some(lead) = self.lead(lead_id).await? else {
            return Ok(None);
        };
        let unreachable = self
            .lock_contact(&lead.business_id, &lead.caller, now)
            .await?;
        Ok(self.lead(lead_id).await?.map(|l| (l, unreachable)))
    }

    pub async fn call(&mut self, call_sid: &str) -> Result<Option<Call>> {
        let row = query("SELECT * FROM calls WHERE call_sid = $1")
            .bind(call_sid)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| Call::from_row(&r)).transpose()
    }

    /// Ends a lead's follow-up sequence: its pending follow-up timers
    /// (`reason` is kept on the jobs) and any follow-up text already queued
    /// but held (quiet hours, the cap; `code` is kept on the messages).
    pub async fn stop_follow_ups(
        &mut self,
        lead_id: i64,
        reason: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let follow_up = crate::core::jobs::Job::FollowUp { lead_id, step: 0 }.kind();
        self.cancel_lead_jobs(lead_id, &[follow_up], reason, now)
            .await?;
        self.cancel_queued_follow_ups(lead_id, code, now).await?;
        Ok(())
    }

    /// Cancels a lead's follow-up texts that were queued but have not left
    /// (held by quiet hours or the cap): the customer has answered.
    pub async fn cancel_queued_follow_ups(
        &mut self,
        lead_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        query(
            "UPDATE messages SET status = 'canceled', suppress_reason = $2, updated_at = $3
             WHERE lead_id = $1 AND kind = 'follow_up' AND status = 'queued'",
        )
        .bind(lead_id)
        .bind(reason)
        .bind(to_ms(now))
        .execute(self.conn())
        .await
    }

    /// What the caller said to this lead: voicemail transcripts and their
    /// texts, each oldest first.
    pub async fn what_they_said(&mut self, lead_id: i64) -> Result<(Vec<String>, Vec<String>)> {
        what_they_said(self.conn(), lead_id).await
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
        jobs::finish(self.conn(), job, status, failed, now).await
    }

    /// Where this transaction's statements run.
    pub(crate) fn conn(&mut self) -> Target<'_> {
        match &mut self.conn {
            TxConn::Pg(tx) => Target::Conn(tx),
            TxConn::Lite(tx) => Target::Lite(tx.conn()),
        }
    }
}

async fn what_they_said(exec: Target<'_>, lead_id: i64) -> Result<(Vec<String>, Vec<String>)> {
    // One round trip: transcripts first, then texts, each in order.
    let rows = query(
        "SELECT CAST(0 AS BIGINT) AS src, id, transcript AS body FROM calls WHERE lead_id = $1 AND transcript IS NOT NULL
         UNION ALL
         SELECT CAST(1 AS BIGINT) AS src, id, body FROM messages WHERE lead_id = $1 AND direction = 'inbound'
         ORDER BY src, id",
    )
    .bind(lead_id)
    .fetch_all(exec)
    .await?;
    let (mut transcripts, mut texts) = (Vec::new(), Vec::new());
    for r in &rows {
        let body: String = get(r, "body")?;
        if get::<i64>(r, "src")? == 0 {
            transcripts.push(body);
        } else {
            texts.push(body);
        }
    }
    Ok((transcripts, texts))
}

pub(crate) fn get<T: FromDb>(r: &Row, col: &str) -> Result<T> {
    r.try_get(col)
}

/// A new, empty PostgreSQL database on the server in
/// `RINGBACK_TEST_POSTGRES_URL`, for one store test; `None` (and a line
/// saying `test` skipped) when that variable is not set.
#[cfg(test)]
pub(crate) async fn fresh_postgres_database(test: &str) -> Option<String> {
    use sqlx::Connection;
    let Some(base) = std::env::var("RINGBACK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: {test} (set RINGBACK_TEST_POSTGRES_URL)");
        return None;
    };
    let base = base.trim_end_matches('/');
    let name = format!("ringback_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    Some(format!("{base}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row as _;

    /// SQLite URLs name a file; an in-memory database (which the writer
    /// and readers could not share) is refused with the fix.
    #[test]
    fn sqlite_urls_name_a_file_and_memory_is_refused_with_the_fix() {
        assert_eq!(sqlite_path("sqlite://ringback.db").unwrap(), "ringback.db");
        assert_eq!(
            sqlite_path("sqlite:///data/r.db?mode=rwc").unwrap(),
            "/data/r.db"
        );
        assert_eq!(sqlite_path("sqlite:r.db").unwrap(), "r.db");
        for bad in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory",
            "sqlite://",
        ] {
            let e = sqlite_path(bad).unwrap_err().to_string();
            assert!(e.contains("sqlite://ringback.db"), "{bad}: {e}");
        }
        let e = sqlite_path("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("neither") && !e.contains("secret"), "{e}");
    }

    /// A database made by an earlier version (4 KiB pages) opens, migrates
    /// and keeps its data and page size; a new one gets the smaller pages.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_existing_database_keeps_its_page_size_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.db");
        {
            let c = rusqlite::Connection::open(&old).unwrap();
            c.execute_batch(
                "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;
                 CREATE TABLE kept (v TEXT); INSERT INTO kept VALUES ('before the upgrade');",
            )
            .unwrap();
        }
        let page_size = |path: &std::path::Path| -> i64 {
            let c = rusqlite::Connection::open(path).unwrap();
            c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap()
        };
        let opts = DatabaseConfig::default();
        let url = format!("sqlite://{}", old.display());
        let store = Store::connect(&url, &opts).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.count("leads").await.unwrap(), 0);
        store.close().await;
        drop(store);
        assert_eq!(page_size(&old), 4096);
        let c = rusqlite::Connection::open(&old).unwrap();
        let v: String = c.query_row("SELECT v FROM kept", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "before the upgrade");

        let new = dir.path().join("new.db");
        let store = Store::connect(&format!("sqlite://{}", new.display()), &opts)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        drop(store);
        assert_eq!(page_size(&new), i64::from(SQLITE_PAGE_SIZE));
    }

    /// Every pooled PostgreSQL connection carries the configured statement
    /// timeout — including the one migrations ran on without it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_pool_connections_carry_the_statement_timeout() {
        let Some(url) =
            fresh_postgres_database("postgres_pool_connections_carry_the_statement_timeout").await
        else {
            return;
        };
        let opts = DatabaseConfig {
            max_connections: 3,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_millis(1234),
        };
        let store = Store::connect(&url, &opts).await.unwrap();
        store.migrate().await.unwrap();
        // Hold all three at once, so each is a distinct connection.
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(store.pool().acquire().await.unwrap());
        }
        for conn in &mut held {
            let row = sqlx::query("SELECT current_setting('statement_timeout') AS t")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            assert_eq!(row.get::<String, _>("t"), "1234ms");
        }
        drop(held);
        store.close().await;
    }
}
