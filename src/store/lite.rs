//! SQLite's connections, and group commit.
//!
//! SQLite allows one writer. The store keeps one writer connection behind
//! an async mutex and a couple of readers for plain reads (WAL lets them
//! run alongside the writer). Statements run directly on the task holding
//! the connection: they take microseconds, and a transaction runs start to
//! finish without yielding, so the writer is never held idle while a task
//! waits to be polled.
//!
//! **Group commit.** Each commit writes every page the transaction touched
//! to the WAL. Under load many transactions touch the same pages (the tail
//! of `jobs`, `messages`, `lead_events`...), so committing them one by one
//! writes those pages over and over. Instead, a [`LiteTx`] is a `SAVEPOINT`
//! inside an outer transaction that stays open while other transactions are
//! queued for the writer: each joins it in turn, and the one that finds
//! nobody waiting (or the group full) commits the lot and tells the others.
//! Before it does, it lets the tasks that are ready to run have one turn
//! with the writer free, so that those about to write join the group
//! rather than start one of their own; and once a group of webhooks is
//! busy, one of them holds it open a moment longer ([`GROUP_HOLD`]).
//! `commit()` returns only once the outer `COMMIT` has happened, so a caller
//! never acts on (or answers a webhook for) work that is not yet committed
//! (durable against a crash of the process; against power loss as far as
//! `synchronous = NORMAL` in WAL mode goes); if
//! that `COMMIT` fails, every member's `commit()` fails and nothing of the
//! group is kept. A member whose transaction fails rolls back to its own
//! savepoint without touching the others.
//!
//! **Two lanes.** Transactions wait for the writer in one of two [`Lane`]s,
//! each a queue of its own, and only the head of each lane waits on the
//! writer itself: when both lanes are busy, the writer alternates between
//! them. The worker's transactions (claiming jobs, starting and recording
//! sends) have one lane, everyone else's (webhooks, the queue API) the
//! other. With one queue for all, a flood of webhooks put hundreds of
//! transactions ahead of each of the worker's three per batch, and the
//! texts, the point of the service, fell ever further behind the calls
//! taken (measured 2026-11-26 on a slow host: webhooks taken at 4,140/s,
//! texts at 1,199/s, missed call -> text p50 72 s). Alternating, neither
//! lane can starve the other: a burst of the worker's retries still leaves
//! webhooks every other turn.

use super::{Result, StoreError};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

/// Most transactions committed together; bounds how long the first of them
/// waits for the group's `COMMIT`.
const MAX_GROUP: usize = 64;

/// Under load, how long a group stays open for more webhooks to join it
/// (from its start), once it has [`HOLD_FROM_MEMBERS`] members. Every
/// `COMMIT` writes the pages its transactions touched, and the tails of the
/// tables (`calls`, `leads`, `messages`, `jobs`, `lead_events`...) are
/// touched by every one of them: the more transactions share a `COMMIT`,
/// the fewer times those pages are written per call. Measured (2026-11-26,
/// 5,000 calls/s offered for 60 s, alternating runs, with the worker's
/// `JOBS_PER_SEND_SLOT_SQLITE`): calls taken and texted at 4,845–4,937/s
/// with a 2 ms hold against 4,544–4,845/s without. Smaller groups (a quiet
/// hour, one call at a time) commit at once: the hold costs latency only
/// when calls come together (at 1,000 calls/s, webhook p99 5.0–6.5 ms
/// against 3.3–4.9 ms).
const GROUP_HOLD: Duration = Duration::from_millis(2);
const HOLD_FROM_MEMBERS: usize = 4;

/// How long a member waits for someone else to commit its group before it
/// does so itself (only needed if a queued transaction was canceled while
/// waiting for the writer, so nobody after it will).
const GROUP_STALL: Duration = Duration::from_millis(20);

/// How often the background checkpointer folds the WAL into the database
/// while writes come in. Longer means fewer checkpoints, each copying a
/// page the writer keeps rewriting (a table's last leaf, an index's upper
/// levels) once instead of several times; shorter means smaller bursts of
/// copying and `fsync`, which the webhooks feel. Measured (2026-11-26,
/// alternating runs): service CPU per call at 4,000 calls/s fell from
/// 283–293 µs at 20 ms to 272–275 µs at 50 ms (260–270 µs at 250–1,000 ms),
/// while the webhook p99 at 1,000/s rose from 3.4–4.0 ms to 4.8–5.7 ms
/// (13–15 ms at 250 ms, past the 10 ms target). With no new writes it backs
/// off to [`CHECKPOINT_IDLE`].
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);
const CHECKPOINT_IDLE: Duration = Duration::from_secs(1);

/// The writer checkpoints by itself only past this many WAL pages (80 MB),
/// i.e. only if the background checkpointer cannot keep up.
pub(super) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 20_000;

/// Which queue a transaction waits in for the writer (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Webhooks, the queue API, the command line: first come, first served.
    Standard,
    /// The worker's transactions, in a queue of their own: the one at its
    /// head waits for at most one webhook, however many are queued, so texts
    /// keep pace with the calls taken when the writer is saturated.
    Worker,
}

pub(super) struct Lite {
    writer: Arc<Mutex<Writer>>,
    /// The lanes' queues: a task waits in its lane first, so that at most
    /// one task of each lane at a time is queued on `writer` itself.
    standard_lane: Mutex<()>,
    worker_lane: Mutex<()>,
    /// Folds the WAL back into the database off the writer's path.
    _checkpointer: Option<Checkpointer>,
    /// Tasks queued for the writer: a committing transaction leaves the
    /// group open only if someone will come after it.
    waiting: AtomicUsize,
    /// Outer transactions begun (tests count them).
    groups_begun: AtomicU64,
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

pub(super) struct Writer {
    pub(super) conn: rusqlite::Connection,
    /// The open outer transaction, if any.
    group: Option<Group>,
}

struct Group {
    /// Savepoints released into the group so far.
    members: usize,
    /// The outer `COMMIT`'s result, for the members waiting on it.
    done: watch::Sender<Option<std::result::Result<(), String>>>,
    /// A watchdog is set to commit the group should nobody else.
    watched: bool,
    /// When its first member began, for [`GROUP_HOLD`].
    started: tokio::time::Instant,
    /// A member is holding it open (sleeping until the hold ends, then
    /// committing it); the others just wait for the `COMMIT`.
    held: bool,
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
            writer: Arc::new(Mutex::new(Writer {
                conn: writer,
                group: None,
            })),
            standard_lane: Mutex::new(()),
            worker_lane: Mutex::new(()),
            _checkpointer: checkpoint.map(Checkpointer::start),
            waiting: AtomicUsize::new(0),
            groups_begun: AtomicU64::new(0),
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

    /// Waits for the writer, counted in `waiting` meanwhile (also if this
    /// future is dropped while it waits). Gives up after the configured
    /// acquire timeout, as a pool would: a webhook then answers 503 and is
    /// retried, `/readyz` fails, rather than everything hanging.
    async fn lock_writer(&self, lane: Lane) -> Result<OwnedMutexGuard<Writer>> {
        struct Queued<'a>(&'a AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _queued = Queued(&self.waiting);
        let start = std::time::Instant::now();
        let lane = match lane {
            Lane::Standard => &self.standard_lane,
            Lane::Worker => &self.worker_lane,
        };
        let acquire = async {
            // Let go of the lane once holding the writer, so the next in the
            // lane queues on the writer meanwhile.
            let _turn = lane.lock().await;
            self.writer.clone().lock_owned().await
        };
        let got = tokio::time::timeout(self.acquire_timeout, acquire).await;
        // Counted whether it got the writer or gave up (a wait abandoned
        // because its caller went away is not).
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
        // The standard lane: what a webhook would wait.
        let guard = self.lock_writer(Lane::Standard).await?;
        leave(self, guard);
        Ok(())
    }

    /// Commits whatever group is open (shutdown), then checkpoints the WAL
    /// into the database file. Best effort.
    pub(super) async fn close(&self) {
        let Ok(mut w) = self.lock_writer(Lane::Worker).await else {
            tracing::warn!("closing the store while the writer is still busy");
            return;
        };
        let _ = flush(&mut w);
        let _ = w
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// A thread that checkpoints the WAL every [`CHECKPOINT_EVERY`]
/// (`PASSIVE`: it never blocks the writer or readers). Left to the writer,
/// a checkpoint runs inside some request's `COMMIT`, every 1,000 pages,
/// holding the writer through its `fsync`s: at 5,000 calls/s that capped
/// texts sent at 3,300/s, with the machine a third idle.
struct Checkpointer {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(conn: rusqlite::Connection) -> Checkpointer {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
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

/// One transaction: a savepoint in the writer's open group.
pub(super) struct LiteTx {
    lite: Arc<Lite>,
    /// The lane it waited in, and waits in again to commit its group.
    lane: Lane,
    /// `None` once committed or rolled back.
    guard: Option<OwnedMutexGuard<Writer>>,
}

impl LiteTx {
    pub(super) async fn begin(lite: &Arc<Lite>, lane: Lane) -> Result<LiteTx> {
        let mut guard = lite.lock_writer(lane).await?;
        if guard.group.is_some() && guard.conn.is_autocommit() {
            // SQLite itself rolled the group's transaction back (a full
            // disk, an I/O error): its members' work is gone, so they must
            // hear so, and this transaction must not slip into autocommit.
            fail_group(
                &mut guard,
                "SQLite rolled back the transaction this one was grouped with",
            );
        }
        if guard.group.is_none() {
            if !guard.conn.is_autocommit() {
                // A transaction a failed COMMIT left behind.
                let _ = guard.conn.execute_batch("ROLLBACK");
            }
            guard.conn.execute_batch("BEGIN IMMEDIATE")?;
            let (done, _) = watch::channel(None);
            lite.groups_begun.fetch_add(1, Ordering::Relaxed);
            guard.group = Some(Group {
                members: 0,
                done,
                watched: false,
                started: tokio::time::Instant::now(),
                held: false,
            });
        }
        if let Err(e) = guard.conn.execute_batch("SAVEPOINT tx") {
            leave(lite, guard);
            return Err(e.into());
        }
        Ok(LiteTx {
            lite: lite.clone(),
            lane,
            guard: Some(guard),
        })
    }

    pub(super) fn conn(&mut self) -> &mut rusqlite::Connection {
        &mut self.guard.as_mut().expect("transaction still open").conn
    }

    /// Releases the savepoint into the group, then waits for the group's
    /// `COMMIT` (made by whoever finds nobody queued behind them, after
    /// giving the tasks ready to run one turn to join).
    pub(super) async fn commit(mut self) -> Result<()> {
        let mut guard = self.guard.take().expect("transaction still open");
        if let Err(e) = guard.conn.execute_batch("RELEASE tx") {
            undo(&self.lite, guard);
            return Err(e.into());
        }
        let group = guard.group.as_mut().expect("a savepoint lives in a group");
        group.members += 1;
        let (members, done) = (group.members, group.done.subscribe());
        if members < MAX_GROUP {
            // The group stays open for more members; should they all be
            // canceled, or this task while it waits, its watchdog commits it.
            if !group.watched {
                group.watched = true;
                watchdog(self.lite.clone(), done.clone());
            }
            let queued = self.lite.waiting.load(Ordering::SeqCst) > 0;
            drop(guard);
            if !queued {
                // Nobody is queued yet, but tasks that are ready to run
                // (webhooks just read off the wire) may be about to. Let them
                // run once with the writer free, so that they join this group
                // instead of each paying for a COMMIT of its own, then commit
                // whatever is open unless one of them already has. Each COMMIT
                // rewrites the pages every transaction touches (the tails of
                // the tables): at 5,000 calls/s groups grew from ~3.3 to ~9
                // transactions, 9 % fewer bytes written per call, and texts
                // kept up better in 3 of 4 alternating 60 s runs. At low load
                // nobody is ready and this costs one trip through the
                // scheduler. (When someone is queued, they join, and the last
                // one in commits.)
                tokio::task::yield_now().await;
                // (Should the writer stay busy past the acquire timeout,
                // whoever holds it commits the group, or the watchdog does.)
                while let Ok(mut guard) = self.lite.lock_writer(self.lane).await {
                    if done.borrow().is_some() {
                        // A later group may be open, with a member waiting
                        // for it: left open on purpose, for the next
                        // transactions to join (its watchdog commits it
                        // should none come). Letting go through `leave`
                        // instead, which commits it when nobody is queued,
                        // measured worse at 5,000 calls/s (30 s runs:
                        // 4,409-4,995 texts/s against 4,786-4,998).
                        break;
                    }
                    // The open group is ours: groups close only by
                    // committing or failing, and either tells their members.
                    match self.hold_until(&guard) {
                        Some(at) => {
                            // Calls are coming together: let more of them
                            // join. One member holds the group and commits
                            // it when the hold ends; the rest wait for that
                            // `COMMIT` (all of them waking at once to queue
                            // for the writer would leave a transaction
                            // arriving among them waiting for the
                            // watchdog). A worker's transaction joining
                            // meanwhile commits it at once.
                            let group = guard.group.as_mut().expect("open");
                            if group.held {
                                break;
                            }
                            group.held = true;
                            drop(guard);
                            tokio::time::sleep_until(at).await;
                        }
                        None => {
                            let _ = flush(&mut guard);
                            break;
                        }
                    }
                }
            }
            return committed(&self.lite, self.lane, done).await;
        }
        flush(&mut guard)
    }

    /// Holding the writer, with this member's group open: until when the
    /// group should stay open for more webhooks ([`GROUP_HOLD`]), if at all.
    /// Only webhooks (and the queue API) hold a group open: the worker's
    /// transactions are a pipeline whose every stage waits for its commit,
    /// and holding them too held the texts back (5,000 calls/s for 60 s,
    /// alternating runs: 4,065–4,619 texts/s, drains of 5–14 s).
    fn hold_until(&self, w: &Writer) -> Option<tokio::time::Instant> {
        let g = w.group.as_ref()?;
        let until = g.started + GROUP_HOLD;
        (self.lane == Lane::Standard
            && g.members >= HOLD_FROM_MEMBERS
            && tokio::time::Instant::now() < until)
            .then_some(until)
    }
}

/// Waits for the `COMMIT` of the group a member released into, and returns
/// its result.
async fn committed(
    lite: &Lite,
    lane: Lane,
    mut done: watch::Receiver<Option<std::result::Result<(), String>>>,
) -> Result<()> {
    loop {
        // Copied out at once: the watch's guard must not be held across the
        // await below.
        let outcome = tokio::time::timeout(GROUP_STALL, done.wait_for(Option::is_some))
            .await
            .map(|r| r.map(|v| v.clone().expect("is_some")));
        match outcome {
            Ok(Ok(result)) => return result.map_err(StoreError::Commit),
            Ok(Err(_)) => return Err(StoreError::Commit("the writer closed".into())),
            // Belt and braces should the watchdog not have run.
            Err(_stalled) => match lite.lock_writer(lane).await {
                Ok(guard) => commit_if_open(lite, &done, guard),
                // Still busy: whoever holds the writer commits the group.
                // Not an error if that has happened meanwhile.
                Err(busy) => {
                    let outcome = done.borrow().clone();
                    return match outcome {
                        Some(result) => result.map_err(StoreError::Commit),
                        None => Err(busy),
                    };
                }
            },
        }
    }
}

/// Holding the writer: commits the member's group if it is still open
/// (then the open group is necessarily that one: groups close only by
/// committing or failing, and either tells their members), else lets the
/// writer go as anyone else would, committing a later group nobody is
/// queued to commit. The outcome is read from `done`.
fn commit_if_open(
    lite: &Lite,
    done: &watch::Receiver<Option<std::result::Result<(), String>>>,
    mut guard: OwnedMutexGuard<Writer>,
) {
    if done.borrow().is_none() {
        let _ = flush(&mut guard);
    } else {
        leave(lite, guard);
    }
}

impl Drop for LiteTx {
    /// Not committed (an error, a panic, a canceled request): undo this
    /// transaction only; the rest of its group stands.
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            undo(&self.lite, guard);
        }
    }
}

/// Rolls back the current member's savepoint. If even that fails while the
/// outer transaction lives on, the member's partial writes would ride along
/// with the group's `COMMIT`: the whole group is rolled back instead, and
/// its members told.
fn undo(lite: &Lite, mut guard: OwnedMutexGuard<Writer>) {
    if guard
        .conn
        .execute_batch("ROLLBACK TO tx; RELEASE tx")
        .is_err()
        && !guard.conn.is_autocommit()
    {
        let _ = guard.conn.execute_batch("ROLLBACK");
        fail_group(
            &mut guard,
            "a transaction in its group could not be undone alone",
        );
    }
    leave(lite, guard);
}

/// Gives up the writer without joining the group: commits the group first
/// if nobody is queued to do it. (Whoever holds the writer last commits.)
fn leave(lite: &Lite, mut guard: OwnedMutexGuard<Writer>) {
    if lite.waiting.load(Ordering::SeqCst) == 0 {
        let _ = flush(&mut guard);
    }
}

/// After [`GROUP_STALL`], commits a group still open: its members expected
/// someone queued to do it, but a task queued for the writer can be
/// canceled (a client hung up) and then nobody comes.
fn watchdog(lite: Arc<Lite>, done: watch::Receiver<Option<std::result::Result<(), String>>>) {
    tokio::spawn(async move {
        tokio::time::sleep(GROUP_STALL).await;
        if done.borrow().is_some() {
            return;
        }
        // Holding the writer, nobody is inside a transaction: whatever
        // group is open (ours, or a later one) can be committed now. (In
        // the worker's lane: its members are waiting.)
        if let Ok(mut guard) = lite.lock_writer(Lane::Worker).await {
            let _ = flush(&mut guard);
        }
    });
}

/// Drops the open group, telling its members their work is lost.
fn fail_group(w: &mut Writer, why: &str) {
    if let Some(lost) = w.group.take() {
        lost.done.send_replace(Some(Err(why.to_string())));
    }
}

/// Commits the open group, if any, and tells its members how it went.
fn flush(w: &mut Writer) -> Result<()> {
    let Some(group) = w.group.take() else {
        return Ok(());
    };
    let result = w.conn.execute_batch("COMMIT");
    if result.is_err() && !w.conn.is_autocommit() {
        let _ = w.conn.execute_batch("ROLLBACK");
    }
    group
        .done
        .send_replace(Some(result.as_ref().map(|_| ()).map_err(|e| e.to_string())));
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lite(dir: &tempfile::TempDir) -> Arc<Lite> {
        let path = dir.path().join("t.db");
        crate::store::lite_config::configure();
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        c.execute_batch("CREATE TABLE t (v INTEGER NOT NULL)")
            .unwrap();
        let r = rusqlite::Connection::open(&path).unwrap();
        Arc::new(Lite::new(c, vec![r], None, Duration::from_secs(5)))
    }

    fn count(l: &Lite) -> i64 {
        let r = l.readers[0].try_lock().unwrap();
        r.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    async fn insert(l: &Arc<Lite>, v: i64) -> Result<()> {
        let mut tx = LiteTx::begin(l, Lane::Standard).await?;
        tx.conn().execute("INSERT INTO t (v) VALUES (?1)", [v])?;
        tx.commit().await
    }

    /// Spawns a transaction in `lane` that notes `v` in `order` once it has
    /// the writer, then inserts it; returns once `queued` tasks are waiting
    /// for the writer, so the order of queuing is known.
    async fn queue_in_lane(
        l: &Arc<Lite>,
        order: &Arc<std::sync::Mutex<Vec<i64>>>,
        lane: Lane,
        v: i64,
        queued: usize,
    ) -> tokio::task::JoinHandle<Result<()>> {
        let (l2, order) = (l.clone(), order.clone());
        let task = tokio::spawn(async move {
            let mut tx = LiteTx::begin(&l2, lane).await.unwrap();
            order.lock().unwrap().push(v);
            tx.conn().execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            tx.commit().await
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while l.waiting.load(Ordering::SeqCst) < queued {
            assert!(std::time::Instant::now() < deadline, "never queued");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        task
    }

    /// Spawns `n` tasks, each inserting one value and checking, the moment
    /// its commit returns, that another connection sees it; returns how
    /// many outer transactions (COMMITs) the `n` took.
    async fn insert_each_durable_on_return(l: &Arc<Lite>, n: i64) -> u64 {
        let mut tasks = Vec::new();
        for v in 0..n {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                insert(&l, v).await.unwrap();
                let r = l.readers[0].lock().await;
                let seen: i64 = r
                    .query_row("SELECT COUNT(*) FROM t WHERE v = ?1", [v], |r| r.get(0))
                    .unwrap();
                assert_eq!(seen, 1, "value {v} committed");
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(count(l), n);
        let w = tokio::time::timeout(Duration::from_secs(5), l.writer.lock())
            .await
            .expect("the writer is let go");
        assert!(w.group.is_none(), "nothing left open");
        l.groups_begun.load(Ordering::Relaxed)
    }

    /// Many transactions queued at once: every commit that returns Ok is
    /// visible to another connection at that moment, and they share fewer
    /// outer commits than there were transactions.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_transactions_commit_together_and_are_durable_when_commit_returns() {
        let dir = tempfile::tempdir().unwrap();
        let groups = insert_each_durable_on_return(&lite(&dir), 200).await;
        assert!(groups < 200, "{groups} outer commits for 200 transactions");
    }

    /// Transactions of tasks that become ready one after another, none of
    /// them queued for the writer when the one before commits (one thread,
    /// so nothing runs in parallel), still share COMMITs: each committer
    /// lets the ready tasks run before committing. Every commit that
    /// returns is durable at that moment.
    #[tokio::test(flavor = "current_thread")]
    async fn transactions_of_tasks_ready_together_share_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let groups = insert_each_durable_on_return(&lite(&dir), 100).await;
        assert!(groups <= 10, "{groups} outer commits for 100 transactions");
    }

    /// Webhooks arriving together: once a group has [`HOLD_FROM_MEMBERS`]
    /// members it waits up to [`GROUP_HOLD`] (from its start) for more, so
    /// one arriving within that time shares its COMMIT and one arriving
    /// after it does not; a transaction alone commits at once. (Paused
    /// time: the runtime moves the clock only when every task waits.)
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_busy_group_waits_briefly_for_more_and_a_lone_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir);

        // Alone: committed without waiting for anyone.
        let t0 = tokio::time::Instant::now();
        insert(&l, 0).await.unwrap();
        assert_eq!(
            tokio::time::Instant::now(),
            t0,
            "a lone commit does not wait"
        );
        assert_eq!(l.groups_begun.load(Ordering::Relaxed), 1);

        // Four together, a fifth half a hold later, a sixth after the hold.
        let start = tokio::time::Instant::now();
        let after = |d: Duration, v: i64| {
            let l = l.clone();
            tokio::spawn(async move {
                tokio::time::sleep(d).await;
                insert(&l, v).await.unwrap();
                tokio::time::Instant::now()
            })
        };
        let together: Vec<_> = (1..=4).map(|v| after(Duration::ZERO, v)).collect();
        let late = after(GROUP_HOLD / 2, 5);
        let too_late = after(GROUP_HOLD * 2, 6);
        // (The timer wheel counts whole milliseconds.)
        let about = |took: Duration, want: Duration| {
            assert!(
                took >= want && took <= want + Duration::from_millis(1),
                "took {took:?}, not about {want:?}"
            )
        };
        for t in together {
            about(t.await.unwrap() - start, GROUP_HOLD);
        }
        about(late.await.unwrap() - start, GROUP_HOLD);
        // The sixth came to a closed group and, alone, committed at once.
        about(too_late.await.unwrap() - start, GROUP_HOLD * 2);
        assert_eq!(count(&l), 7);
        assert_eq!(
            l.groups_begun.load(Ordering::Relaxed),
            3,
            "the lone one, the five, the sixth"
        );
    }

    /// A member that fails rolls back alone; the group's others commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_member_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir);
        let mut tasks = Vec::new();
        for v in 0..100i64 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = LiteTx::begin(&l, Lane::Standard).await.unwrap();
                tx.conn()
                    .execute("INSERT INTO t (v) VALUES (?1)", [v])
                    .unwrap();
                if v % 3 == 0 {
                    // NOT NULL violation: the caller gives up, dropping tx.
                    let bad = tx.conn().execute("INSERT INTO t (v) VALUES (NULL)", []);
                    assert!(bad.is_err());
                    drop(tx);
                    false
                } else {
                    tx.commit().await.unwrap();
                    true
                }
            }));
        }
        let mut kept = 0;
        for t in tasks {
            kept += t.await.unwrap() as i64;
        }
        assert_eq!(count(&l), kept);
        let r = l.readers[0].try_lock().unwrap();
        let multiples_of_three: i64 = r
            .query_row("SELECT COUNT(*) FROM t WHERE v % 3 = 0", [], |r| r.get(0))
            .unwrap();
        assert_eq!(multiples_of_three, 0, "rolled-back members left nothing");
    }

    /// A group left open by a member that expected someone to follow (who
    /// was then canceled while queued) is still committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_whose_follower_never_came_is_still_committed() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir);
        let mut tx = LiteTx::begin(&l, Lane::Standard).await.unwrap();
        tx.conn()
            .execute("INSERT INTO t (v) VALUES (1)", [])
            .unwrap();
        // Someone appears to be queued, so the commit leaves the group open
        // for them; they never take the writer.
        l.waiting.fetch_add(1, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(5), tx.commit())
            .await
            .expect("commit returns")
            .unwrap();
        l.waiting.fetch_sub(1, Ordering::SeqCst);
        assert_eq!(count(&l), 1, "committed by the member that waited");
        // (Whoever committed may still be letting go of the writer: wait
        // for it rather than try_lock, which failed CI on a busy machine.)
        let w = tokio::time::timeout(Duration::from_secs(5), l.writer.lock())
            .await
            .expect("the writer is let go");
        assert!(w.group.is_none());
    }

    /// The checkpointer folds the WAL into the database file by itself
    /// (the writer's own autocheckpoint is set far above this test's WAL).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_keeps_the_database_file_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let open = || {
            crate::store::lite_config::configure();
            let c = rusqlite::Connection::open(&path).unwrap();
            c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .unwrap();
            c.execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}"
            ))
            .unwrap();
            c
        };
        let w = open();
        w.execute_batch("CREATE TABLE t (v TEXT NOT NULL)").unwrap();
        let l = Arc::new(Lite::new(
            w,
            vec![open()],
            Some(open()),
            Duration::from_secs(5),
        ));
        let before = std::fs::metadata(&path).unwrap().len();
        for _ in 0..20 {
            let mut tx = LiteTx::begin(&l, Lane::Standard).await.unwrap();
            for _ in 0..25 {
                tx.conn()
                    .execute("INSERT INTO t (v) VALUES (?1)", ["x".repeat(4000)])
                    .unwrap();
            }
            tx.commit().await.unwrap();
        }
        // 2 MB written; the checkpointer copies it into the file.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let len = std::fs::metadata(&path).unwrap().len();
            if len > before + 1_000_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "database file still {len} bytes (was {before})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(l); // stops and joins the checkpointer thread
    }

    /// When SQLite itself rolls back the whole transaction (here an
    /// `INSERT OR ROLLBACK` conflict; in life a full disk), the members
    /// already released into the group are told their commit failed, and
    /// the next transaction starts a fresh group instead of slipping into
    /// autocommit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_sqlite_rolled_back_fails_its_members_and_the_next_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir);
        {
            let mut tx = LiteTx::begin(&l, Lane::Standard).await.unwrap();
            tx.conn()
                .execute_batch("CREATE TABLE u (k INTEGER PRIMARY KEY); INSERT INTO u VALUES (1);")
                .unwrap();
            tx.commit().await.unwrap();
        }
        // A pretend follower keeps each commit waiting for the group.
        l.waiting.fetch_add(1, Ordering::SeqCst);
        let mut a = LiteTx::begin(&l, Lane::Standard).await.unwrap();
        a.conn()
            .execute("INSERT INTO t (v) VALUES (1)", [])
            .unwrap();
        let a_commit = tokio::spawn(a.commit());
        let mut b = LiteTx::begin(&l, Lane::Standard).await.unwrap();
        let e = b
            .conn()
            .execute("INSERT OR ROLLBACK INTO u (k) VALUES (1)", []);
        assert!(e.is_err());
        drop(b);
        let mut c = LiteTx::begin(&l, Lane::Standard).await.unwrap();
        c.conn()
            .execute("INSERT INTO t (v) VALUES (3)", [])
            .unwrap();
        let c_result = tokio::time::timeout(Duration::from_secs(5), c.commit()).await;
        l.waiting.fetch_sub(1, Ordering::SeqCst);
        c_result
            .expect("commit returns")
            .expect("a fresh group commits");
        let a_result = tokio::time::timeout(Duration::from_secs(5), a_commit)
            .await
            .expect("commit returns")
            .unwrap();
        assert!(a_result.is_err(), "A's work was rolled back: {a_result:?}");
        let r = l.readers[0].try_lock().unwrap();
        let vs: Vec<i64> = r
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|v| v.unwrap())
            .collect();
        assert_eq!(vs, vec![3]);
    }

    /// Every member of an open group canceled while waiting for its
    /// COMMIT (clients hung up), nobody else coming: the group's watchdog
    /// still commits it, and the writer is not left inside a transaction.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_whose_members_all_hung_up_is_committed_by_its_watchdog() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir);
        l.waiting.fetch_add(1, Ordering::SeqCst);
        let mut a = LiteTx::begin(&l, Lane::Standard).await.unwrap();
        a.conn()
            .execute("INSERT INTO t (v) VALUES (7)", [])
            .unwrap();
        let committing = tokio::spawn(a.commit());
        // Wait until A has released into the group and left it open.
        loop {
            if let Ok(w) = l.writer.try_lock() {
                if w.group.as_ref().is_some_and(|g| g.watched) {
                    break;
                }
            }
            tokio::task::yield_now().await;
        }
        committing.abort();
        l.waiting.fetch_sub(1, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while count(&l) == 0 {
            assert!(std::time::Instant::now() < deadline, "never committed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(l.writer.lock().await.group.is_none());
    }

    /// With webhooks queued for the writer, a worker's transaction goes
    /// ahead of all but (at most) the one at the head of their lane; the
    /// webhooks then follow in their order, none lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_workers_lane_goes_ahead_of_queued_webhooks() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = LiteTx::begin(&l, Lane::Standard).await.unwrap();
        let mut tasks = Vec::new();
        for v in 1..=5 {
            // One at a time, so their order in the lane is known.
            tasks.push(queue_in_lane(&l, &order, Lane::Standard, v, v as usize).await);
        }
        tasks.push(queue_in_lane(&l, &order, Lane::Worker, 100, 6).await);
        drop(held);
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let order = order.lock().unwrap().clone();
        let worker_at = order.iter().position(|&v| v == 100).unwrap();
        assert!(
            worker_at <= 1,
            "the worker's transaction ran at {worker_at}: {order:?}"
        );
        let webhooks: Vec<i64> = order.iter().copied().filter(|&v| v != 100).collect();
        assert_eq!(webhooks, vec![1, 2, 3, 4, 5], "webhooks keep their order");
        assert_eq!(count(&l), 6);
    }

    /// A burst of the worker's transactions queued ahead of a webhook does
    /// not make it wait for all of them: the writer alternates between the
    /// lanes, and each lane keeps its order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_in_the_workers_lane_leaves_webhooks_every_other_turn() {
        let dir = tempfile::tempdir().unwrap();
        let l = lite(&dir);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let held = LiteTx::begin(&l, Lane::Standard).await.unwrap();
        let mut tasks = Vec::new();
        let lanes = [Lane::Worker; 4].into_iter().chain([Lane::Standard; 2]);
        for (i, lane) in lanes.enumerate() {
            let v = if lane == Lane::Worker {
                100 + i as i64
            } else {
                i as i64
            };
            // One at a time, so their order in each lane is known.
            tasks.push(queue_in_lane(&l, &order, lane, v, i + 1).await);
        }
        drop(held);
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let order = order.lock().unwrap().clone();
        let webhook_at = order.iter().position(|&v| v < 100).unwrap();
        assert!(
            webhook_at <= 1,
            "the first webhook waited for {webhook_at} of the worker's: {order:?}"
        );
        let worker: Vec<i64> = order.iter().copied().filter(|&v| v >= 100).collect();
        assert_eq!(
            worker,
            vec![100, 101, 102, 103],
            "the worker's keep their order"
        );
        let webhooks: Vec<i64> = order.iter().copied().filter(|&v| v < 100).collect();
        assert_eq!(webhooks, vec![4, 5], "webhooks keep their order");
        assert_eq!(count(&l), 6);
    }

    /// A writer held too long makes the next transaction fail with a clear
    /// error (a 503 for a webhook) instead of waiting forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_busy_past_the_acquire_timeout_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.db");
        crate::store::lite_config::configure();
        let c = rusqlite::Connection::open(&path).unwrap();
        let l = Arc::new(Lite::new(c, vec![], None, Duration::from_millis(100)));
        let held = LiteTx::begin(&l, Lane::Standard).await.unwrap();
        let (waits, waited) = l.writer_waited();
        assert_eq!(waits, 1, "the first begin took the free writer");
        assert!(waited < Duration::from_millis(100), "{waited:?}");
        let e = LiteTx::begin(&l, Lane::Standard).await.err().expect("busy");
        assert!(matches!(e, StoreError::WriterBusy(_)), "{e}");
        let (waits, waited) = l.writer_waited();
        assert_eq!(waits, 2, "a wait that gave up counts too");
        assert!(waited >= Duration::from_millis(100), "{waited:?}");
        assert!(l.writer_answers().await.is_err());
        drop(held);
        l.writer_answers().await.unwrap();
        LiteTx::begin(&l, Lane::Standard)
            .await
            .unwrap()
            .commit()
            .await
            .unwrap();
    }
}
