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
//!
//! This file holds the store itself: connecting, migrating, transactions
//! and the dialect plumbing. The queries live next to it, one file per
//! table or concern (`leads.rs`, `calls.rs`, `messages.rs`, `contacts.rs`,
//! `consent.rs`, `webhooks.rs`, `follow_ups.rs`, `jobs/`...), as `impl
//! Store` / `impl Tx` blocks.

mod calls;
mod caps;
mod checks;
mod consent;
mod contacts;
mod db;
mod escalations;
mod follow_ups;
mod jobs;
mod leads;
mod line;
mod lines;
mod lite;
mod messages;
mod queue;
pub(crate) mod rows;
mod scorecard;
mod tasks;
mod users;
mod webhooks;
// Sender health (migration 0002): carrier errors per number, owner alerts.
mod health;
pub use line::{first_in_line, WORKER_RESERVE};

pub use caps::CapCounts;
pub use health::SenderHealthRow;
pub use jobs::{BeginSend, Claimed, JobStatus, NewJob, SentRecord, JOBS_CHANNEL, SEND_BATCH};
pub use leads::LeadFilter;
pub use lines::LineDepth;
pub use queue::{QueueFilter, Tab};
pub use rows::{NewLead, NewMessage};
pub use scorecard::Voicemail;
pub use tasks::{NewTask, TaskRow};
pub use users::UserRow;

use crate::config::DatabaseConfig;
use db::{query, FromDb, Row, Target};
use lite::{Lite, LiteTx};
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Executor, Transaction};
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
    /// SQLite's one writer (or, for PostgreSQL, every connection an
    /// ordinary transaction may use) stayed busy past the acquire timeout.
    #[error("the database writer stayed busy for {0:?}")]
    WriterBusy(Duration),
    /// `DATABASE_URL` names no database ringback can use.
    #[error("{0}")]
    Url(String),
    /// The database cannot serve: read-only, or a schema not ours (see
    /// `store/checks.rs`). The message says the cause and the fix.
    #[error("{0}")]
    Unusable(String),
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
    /// The worker's transactions go first (`line.rs`).
    line: line::Line,
    acquire_timeout: Duration,
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
                let ro = sqlite_read_only(url);
                let busy = opts.acquire_timeout;
                let writer = open_sqlite(&path, ro, false, busy)?;
                let mut readers = Vec::new();
                for _ in 0..SQLITE_READERS {
                    readers.push(open_sqlite(&path, ro, true, busy)?);
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
                let checkpoint = open_sqlite(&path, ro, false, busy)?;
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
        let line = match dialect {
            Dialect::Sqlite => line::Line::one_writer(),
            Dialect::Postgres => line::Line::pool(opts.max_connections),
        };
        Ok(Store {
            pool,
            lite,
            dialect,
            url: url.into(),
            statement_timeout_ms: opts.statement_timeout.as_millis(),
            line,
            acquire_timeout: opts.acquire_timeout,
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
    /// committed or dropped (see `store/lite.rs`). The worker's go first
    /// (see `store/line.rs`).
    pub async fn begin(&self) -> Result<Tx> {
        let start = tokio::time::Instant::now();
        let turn = tokio::time::timeout(self.acquire_timeout, self.line.turn())
            .await
            .map_err(|_| StoreError::WriterBusy(self.acquire_timeout))?;
        // The gate's wait counts toward the acquire timeout too.
        let left = self.acquire_timeout.saturating_sub(start.elapsed());
        let (conn, turn) = match &self.lite {
            // Past the gate and holding the writer: the next one may queue
            // for it, so the place is given up at once.
            Some(l) => (TxConn::Lite(LiteTx::begin(l, left).await?), None),
            None => {
                let tx = tokio::time::timeout(left, self.pool.begin())
                    .await
                    .map_err(|_| StoreError::WriterBusy(self.acquire_timeout))??;
                (TxConn::Pg(tx), turn)
            }
        };
        Ok(Tx {
            conn,
            dialect: self.dialect,
            _turn: turn,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(l) = &self.lite {
            l.close().await;
        }
    }

    /// Counts rows of a table (tests and metrics). `table` must be a literal
    /// from our own code.
    pub async fn count(&self, table: &'static str) -> Result<i64> {
        let row = query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(self.r().await.target())
            .await?;
        row.try_get::<i64>("n")
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
    let memory = path.is_empty()
        || path == ":memory:"
        || params
            .split('&')
            .any(|p| p == "mode=memory" || p == "vfs=memdb");
    if memory {
        return Err(StoreError::Url(format!(
            "DATABASE_URL {url:?} is an in-memory database: nothing would survive a restart \
             (every lead, opt-out and queued text would be lost); ringback needs a SQLite file, \
             e.g. sqlite://ringback.db"
        )));
    }
    Ok(path.to_string())
}

/// Does the URL ask for the database read-only (`mode=ro`)? It is then
/// opened so, and refused by the write check with the reason.
fn sqlite_read_only(url: &str) -> bool {
    url.split_once('?')
        .is_some_and(|(_, params)| params.split('&').any(|p| p == "mode=ro"))
}

/// Page size of a new SQLite database (see `open_sqlite`).
const SQLITE_PAGE_SIZE: u32 = 2048;

/// Opens one SQLite connection with the settings every connection shares.
/// WAL with `synchronous = NORMAL`: a commit is durable against a crash of
/// the process, and against power loss up to the last checkpoint.
fn open_sqlite(
    path: &str,
    read_only: bool,
    reader: bool,
    busy: Duration,
) -> Result<rusqlite::Connection> {
    if read_only {
        let c = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(busy)?;
        return Ok(c);
    }
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
        // file: smaller pages write fewer bytes per call for the same CPU
        // (docs/benchmarks.md, "Known trade-offs"); 1 KiB pages cost more CPU
        // than they save. Ignored for an existing database, which keeps the
        // page size it was created with.
        c.execute_batch(&format!("PRAGMA page_size = {SQLITE_PAGE_SIZE};"))?;
        // journal_mode answers with a row, so it is read, not executed.
        let mode: String = c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode; readers will wait for the writer");
        }
        // The writer's page cache is small on purpose: SQLite walks the
        // whole cache's hash table at the end of every write transaction
        // (pcache1Truncate), so its cost per COMMIT grows with the cache,
        // while the pages a missed call touches are few and hot. Readers
        // keep a large cache; they never commit.
        c.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -4000;
             PRAGMA wal_autocheckpoint = {};",
            lite::WRITER_AUTOCHECKPOINT_PAGES
        ))?;
    }
    Ok(c)
}

/// A transaction. Dropping it without [`Tx::commit`] rolls back.
pub struct Tx {
    conn: TxConn,
    dialect: Dialect,
    /// PostgreSQL: this transaction's place among those the gate lets
    /// hold a connection (`line.rs`).
    _turn: line::Turn,
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

    /// Where this transaction's statements run.
    pub(crate) fn conn(&mut self) -> Target<'_> {
        match &mut self.conn {
            TxConn::Pg(tx) => Target::Conn(tx),
            TxConn::Lite(tx) => Target::Lite(tx.conn()),
        }
    }
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
            "sqlite://x.db?vfs=memdb",
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
