//! SQLite's connections: one writer, a couple of readers.
//!
//! SQLite allows one writer. The store keeps one writer connection behind
//! an async mutex and a couple of readers for plain reads (WAL lets them
//! run alongside the writer). Statements run directly on the task holding
//! the connection: they take microseconds, and a transaction runs start to
//! finish without yielding to another transaction, so the writer is never
//! held idle while a task waits to be polled. (`sqlx`'s SQLite driver runs
//! each statement on a thread of its own: the hand-offs cost more than the
//! statements.)
//!
//! A transaction is `BEGIN IMMEDIATE` … `COMMIT` on the writer; `commit()`
//! returns once SQLite has committed, so nothing is acknowledged (a webhook
//! answered) before it is in the WAL: durable against a crash of the
//! process, and against power loss as far as `synchronous = NORMAL` in WAL
//! mode goes. A transaction dropped without committing rolls back.
//!
//! A background thread checkpoints the WAL, so no request's commit carries
//! a checkpoint's `fsync`s.

use super::{Result, StoreError};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How often the background checkpointer folds the WAL into the database
/// while writes come in; with no new writes it backs off to
/// [`CHECKPOINT_IDLE`].
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
const CHECKPOINT_IDLE: Duration = Duration::from_secs(1);

/// The writer checkpoints by itself only past this many WAL pages, i.e.
/// only if the background checkpointer cannot keep up.
pub(super) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 20_000;

pub(super) struct Lite {
    writer: Arc<Mutex<rusqlite::Connection>>,
    /// Folds the WAL back into the database off the writer's path.
    _checkpointer: Option<Checkpointer>,
    /// Waits for the writer and the time they took, in nanoseconds
    /// (`/metrics`): every write waits its turn for the one writer, so a
    /// rising mean wait is the first sign that it is saturated — before
    /// webhooks start answering 503 at the acquire timeout.
    writer_waits: AtomicU64,
    writer_wait_nanos: AtomicU64,
    acquire_timeout: Duration,
    pub(super) readers: Vec<Arc<Mutex<rusqlite::Connection>>>,
    pub(super) next_reader: AtomicUsize,
}

impl Lite {
    /// `checkpoint`: a connection for the background checkpointer.
    pub(super) fn new(
        writer: rusqlite::Connection,
        readers: Vec<rusqlite::Connection>,
        checkpoint: Option<rusqlite::Connection>,
        acquire_timeout: Duration,
    ) -> Lite {
        Lite {
            writer: Arc::new(Mutex::new(writer)),
            _checkpointer: checkpoint.map(Checkpointer::start),
            writer_waits: AtomicU64::new(0),
            writer_wait_nanos: AtomicU64::new(0),
            acquire_timeout,
            readers: readers
                .into_iter()
                .map(|c| Arc::new(Mutex::new(c)))
                .collect(),
            next_reader: AtomicUsize::new(0),
        }
    }

    /// Waits for the writer. Gives up after the configured acquire timeout,
    /// as a pool would: a webhook then answers 503 and is retried, `/readyz`
    /// fails, rather than everything hanging.
    async fn lock_writer(&self) -> Result<OwnedMutexGuard<rusqlite::Connection>> {
        self.lock_writer_within(self.acquire_timeout).await
    }

    /// Waits for the writer at most `limit` (what is left of the acquire
    /// timeout after the gate of `line.rs`).
    async fn lock_writer_within(
        &self,
        limit: Duration,
    ) -> Result<OwnedMutexGuard<rusqlite::Connection>> {
        let start = std::time::Instant::now();
        let got = tokio::time::timeout(limit, self.writer.clone().lock_owned()).await;
        self.writer_waits.fetch_add(1, Ordering::Relaxed);
        let waited = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.writer_wait_nanos.fetch_add(waited, Ordering::Relaxed);
        got.map_err(|_| StoreError::WriterBusy(self.acquire_timeout))
    }

    /// How many times a transaction waited for the writer, and for how
    /// long in all (see `writer_waits`).
    pub(super) fn writer_waited(&self) -> (u64, Duration) {
        (
            self.writer_waits.load(Ordering::Relaxed),
            Duration::from_nanos(self.writer_wait_nanos.load(Ordering::Relaxed)),
        )
    }

    /// Is the writer free within the acquire timeout? (`/readyz`.)
    pub(super) async fn writer_answers(&self) -> Result<()> {
        self.lock_writer().await.map(drop)
    }

    /// Checkpoints the WAL into the database file (shutdown). Best effort.
    pub(super) async fn close(&self) {
        let Ok(w) = self.lock_writer().await else {
            tracing::warn!("closing the store while the writer is still busy");
            return;
        };
        let _ = w.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// A thread that checkpoints the WAL every [`CHECKPOINT_EVERY`]
/// (`PASSIVE`: it never blocks the writer or readers). Left to the writer,
/// a checkpoint runs inside some request's `COMMIT`, holding the writer
/// through its `fsync`s.
struct Checkpointer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(conn: rusqlite::Connection) -> Checkpointer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut wait = CHECKPOINT_EVERY;
                let mut last = (-1, -1);
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(wait);
                    // (frames in the WAL, frames checkpointed)
                    let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    });
                    match r {
                        Ok(now) if now == last => wait = (wait * 2).min(CHECKPOINT_IDLE),
                        Ok(now) => {
                            last = now;
                            wait = CHECKPOINT_EVERY;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
                            wait = CHECKPOINT_IDLE;
                        }
                    }
                }
            })
            .ok();
        Checkpointer { stop, thread }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// One transaction on the writer.
pub(super) struct LiteTx {
    /// `None` once committed or rolled back.
    guard: Option<OwnedMutexGuard<rusqlite::Connection>>,
}

impl LiteTx {
    /// Waits at most `limit` for the writer.
    pub(super) async fn begin(lite: &Arc<Lite>, limit: Duration) -> Result<LiteTx> {
        let guard = lite.lock_writer_within(limit).await?;
        if !guard.is_autocommit() {
            // A transaction a failed COMMIT left behind.
            let _ = guard.execute_batch("ROLLBACK");
        }
        guard.execute_batch("BEGIN IMMEDIATE")?;
        Ok(LiteTx { guard: Some(guard) })
    }

    pub(super) fn conn(&mut self) -> &mut rusqlite::Connection {
        self.guard.as_mut().expect("transaction still open")
    }

    /// Commits; returns once the commit is in the WAL.
    pub(super) async fn commit(mut self) -> Result<()> {
        let guard = self.guard.take().expect("transaction still open");
        let result = guard.execute_batch("COMMIT");
        if result.is_err() && !guard.is_autocommit() {
            let _ = guard.execute_batch("ROLLBACK");
        }
        Ok(result?)
    }
}

impl Drop for LiteTx {
    /// Not committed (an error, a panic, a canceled request): undone.
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            if !guard.is_autocommit() {
                let _ = guard.execute_batch("ROLLBACK");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lite(dir: &tempfile::TempDir, checkpoint: bool) -> Arc<Lite> {
        let path = dir.path().join("t.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")
            .unwrap();
        let r = rusqlite::Connection::open(&path).unwrap();
        let cp = checkpoint.then(|| rusqlite::Connection::open(&path).unwrap());
        Arc::new(Lite::new(c, vec![r], cp, Duration::from_secs(5)))
    }

    fn count(l: &Lite) -> i64 {
        let r = l.readers[0].try_lock().unwrap();
        r.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// A commit that returned is visible to another connection at once;
    /// concurrent transactions each commit whole.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_returned_commit_is_visible_and_concurrent_ones_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir, false);
        let mut tasks = Vec::new();
        for v in 0..50 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = LiteTx::begin(&l, Duration::from_secs(5)).await.unwrap();
                tx.conn()
                    .execute("INSERT INTO t (v) VALUES (?1)", [v])
                    .unwrap();
                tx.commit().await.unwrap();
                let r = l.readers[0].lock().await;
                let seen: i64 = r
                    .query_row("SELECT COUNT(*) FROM t WHERE v = ?1", [v], |r| r.get(0))
                    .unwrap();
                assert_eq!(seen, 1, "{v} visible once its commit returned");
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(count(&l), 50);
    }

    /// A transaction dropped without committing leaves nothing behind, and
    /// the writer is free for the next.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_transaction_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir, false);
        {
            let mut tx = LiteTx::begin(&l, Duration::from_secs(5)).await.unwrap();
            tx.conn()
                .execute("INSERT INTO t (v) VALUES (1)", [])
                .unwrap();
        }
        let mut tx = LiteTx::begin(&l, Duration::from_secs(5)).await.unwrap();
        tx.conn()
            .execute("INSERT INTO t (v) VALUES (2)", [])
            .unwrap();
        tx.commit().await.unwrap();
        let r = l.readers[0].lock().await;
        let vs: Vec<i64> = r
            .prepare("SELECT v FROM t")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|v| v.unwrap())
            .collect();
        assert_eq!(vs, [2]);
    }

    /// The checkpointer folds the WAL into the database file, so a reader
    /// of the file alone (no WAL) sees what was committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_keeps_the_database_file_current() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir, true);
        let mut tx = LiteTx::begin(&l, Duration::from_secs(5)).await.unwrap();
        tx.conn()
            .execute("INSERT INTO t (v) VALUES (7)", [])
            .unwrap();
        tx.commit().await.unwrap();
        let wal = dir.path().join("t.db-wal");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            // Checkpointed frames are copied to the file: read it without
            // the WAL (immutable mode ignores it).
            let uri = format!("file:{}?immutable=1", dir.path().join("t.db").display());
            let c = rusqlite::Connection::open_with_flags(
                uri,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )
            .unwrap();
            let n: i64 = c
                .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                .unwrap_or(0);
            if n == 1 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never checkpointed (WAL {} bytes)",
                std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A writer held past the acquire timeout is an error the caller can
    /// answer (503), not a hang.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_busy_past_the_acquire_timeout_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")
            .unwrap();
        let l = Arc::new(Lite::new(c, vec![], None, Duration::from_millis(100)));
        let held = LiteTx::begin(&l, Duration::from_secs(5)).await.unwrap();
        let err = LiteTx::begin(&l, Duration::from_millis(100))
            .await
            .err()
            .expect("busy");
        assert!(matches!(err, StoreError::WriterBusy(_)), "{err}");
        drop(held);
        assert!(LiteTx::begin(&l, Duration::from_secs(5)).await.is_ok());
    }
}
