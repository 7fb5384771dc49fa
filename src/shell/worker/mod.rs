//! The worker: claims due jobs and runs them. It is the only code that calls
//! a provider's send or call API ("one door out": texts and calls are
//! queued by [`crate::shell::outbox`], sent from here).
//!
//! It does not poll on a fixed beat. After each claim it asks the store when
//! the next job falls due — a timer, or the moment a sending number may send
//! the first text in its line ([`crate::store::Store::next_due`]) — and
//! sleeps until then, or until something is enqueued (`wake`), the test
//! clock jumps, or shutdown is requested. So a text held by its number's
//! pace leaves at its slot, not at the next poll.
//!
//! A send goes: load the message → compliance gate → `begin_send` (fence,
//! consent, cap and status checked atomically, message marked `sending`) →
//! provider call outside any transaction → record the outcome. A crash after
//! the carrier accepted the text but before we recorded it leaves the message
//! `sending`; the next attempt first looks for it in the carrier's list.
//! Sends claimed together are begun in one transaction and recorded in
//! batches ([`send`]); every other job runs on its own ([`jobs`]).

mod jobs;
mod send;

use crate::clock::Clock;
use crate::config::Config;
use crate::core::compliance::pacing::Pace;
use crate::core::Policy;
use crate::metrics::Metrics;
use crate::provider::Provider;
use crate::store::{Claimed, Dialect, Store};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, watch, Notify, OwnedSemaphorePermit, Semaphore};

/// Everything the worker needs.
#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    pub provider: Arc<dyn Provider>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    /// The compiled rules: the compliance gate's (quiet hours, caps).
    pub policy: Arc<Policy>,
    pub metrics: Arc<Metrics>,
    /// Poked whenever a job is enqueued.
    pub wake: Arc<Notify>,
    /// Where carriers should post delivery updates.
    pub status_callback: Option<String>,
    /// Our public base URL (page calls report keypresses to it).
    pub public_url: Option<String>,
    /// Turned on to stop the worker and everything it spawned at once, as
    /// a crash would (tests of what a crash leaves behind).
    pub kill_switch: watch::Sender<bool>,
}

/// While the worker is busy it claims once at least this many jobs have
/// finished (or [`CLAIM_FLOOR_WAIT`] has passed): each claim and each
/// batch begun is one transaction on the database's one writer, so
/// claiming one job per freed slot would spend the writer on claims.
const CLAIM_FLOOR: usize = 32;
const CLAIM_FLOOR_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

/// At most one claim per this long. The worker goes first to the database
/// (`store/line.rs`), so without a gap it would claim each job the moment
/// it is queued: one claim, one begin and one record transaction per text,
/// spent on the writer that webhooks need too. A text waits at most this
/// much longer; under load each claim takes everything due by then.
const CLAIM_GAP: std::time::Duration = std::time::Duration::from_millis(5);

/// A claimed job and its share of the worker's capacity, released when the
/// job's outcome is recorded.
type Held = (Claimed, OwnedSemaphorePermit);

impl Worker {
    /// The pace of sending number `number`, from its `mps` in the config.
    pub fn pace(&self, number: &str) -> Pace {
        crate::core::compliance::pacing::pace_of(&self.config, number)
    }

    /// Runs until `shutdown` turns true, then lets in-flight jobs finish.
    /// Jobs not finished by then keep their lease, which simply expires:
    /// another worker (or this one after a restart) picks them up.
    ///
    /// At most `worker_concurrency` jobs are held at once, from claim until
    /// their outcome is recorded: that bounds the calls to the carrier in
    /// flight, and a graceful stop waits for them.
    ///
    /// Its database transactions go before webhooks' (`store/line.rs`):
    /// under overload, work already accepted is finished first.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        crate::store::first_in_line(self.run_first_in_line(shutdown)).await
    }

    async fn run_first_in_line(self, mut shutdown: watch::Receiver<bool>) {
        let limit = self.config.service.worker_concurrency;
        let permits = Arc::new(Semaphore::new(limit));
        let (record_tx, record_rx) = mpsc::unbounded_channel::<send::ToRecord>();
        let (done_tx, recorder) = tokio::sync::oneshot::channel::<()>();
        let w = self.clone();
        self.spawn(async move {
            w.record_loop(record_rx).await;
            let _ = done_tx.send(());
        });
        // PostgreSQL: wake on enqueues made by any instance.
        let listening = Arc::new(AtomicBool::new(false));
        let listener = (self.store.dialect() == Dialect::Postgres).then(|| {
            tokio::spawn(listen_for_jobs(
                self.store.clone(),
                self.wake.clone(),
                listening.clone(),
                shutdown.clone(),
            ))
        });
        let mut failures = 0u32;
        let mut last_claim: Option<std::time::Instant> = None;
        loop {
            // A dropped sender (the `Running` handle gone without a
            // shutdown) is a shutdown too: every `changed()` below would
            // return at once and the loop would spin on the database.
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                break;
            }
            if let Some(wait) = last_claim.and_then(|t| CLAIM_GAP.checked_sub(t.elapsed())) {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => continue,
                }
            }
            let free = permits.available_permits();
            let floor = CLAIM_FLOOR.min(limit);
            if free < floor {
                // Busy: wait until a batch's worth of jobs has finished (or
                // a moment has passed) before claiming more, so a claim is
                // one transaction for many jobs, not one per freed slot.
                tokio::select! {
                    p = permits.clone().acquire_many_owned(floor as u32) => drop(p),
                    _ = tokio::time::sleep(CLAIM_FLOOR_WAIT), if free > 0 => {}
                    _ = shutdown.changed() => {}
                }
                if permits.available_permits() == 0 {
                    continue;
                }
            }
            let free = permits.available_permits();
            last_claim = Some(std::time::Instant::now());
            let now = self.clock.now();
            let lease_until = now + self.config.service.lease;
            let claimed = self
                .store
                .claim_jobs(now, lease_until, free as i64, &|n| self.pace(n))
                .await;
            match claimed {
                Err(e) => {
                    failures += 1;
                    let backoff = std::time::Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                    tracing::error!(error = %e, retry_in_ms = backoff.as_millis() as u64, "worker cannot claim jobs; backing off");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        // Something was just queued, so the database
                        // answers again: no need to sit out the backoff.
                        _ = self.wake.notified() => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Ok(jobs) if jobs.is_empty() => {
                    failures = 0;
                    self.wait_for_work(&mut shutdown, &listening).await;
                }
                Ok(jobs) => {
                    failures = 0;
                    let mut held = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        let permit = permits
                            .clone()
                            .acquire_owned()
                            .await
                            .expect("semaphore is never closed");
                        held.push((job, permit));
                    }
                    let (w, rtx) = (self.clone(), record_tx.clone());
                    self.spawn(async move { w.start(held, &rtx).await });
                }
            }
        }
        // Graceful: wait for in-flight jobs (bounded by the provider timeout)
        // and for their outcomes to be recorded.
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            permits.acquire_many(limit as u32),
        )
        .await;
        drop(record_tx);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), recorder).await;
        if let Some(l) = listener {
            l.abort();
        }
        tracing::info!("worker stopped");
    }

    /// Starts a claimed batch: its sends are gated and begun together
    /// ([`Worker::start_sends`]); every other job runs on a task of its own.
    async fn start(&self, held: Vec<Held>, record_tx: &mpsc::UnboundedSender<send::ToRecord>) {
        let (sends, others): (Vec<Held>, Vec<Held>) = held
            .into_iter()
            .partition(|(j, _)| j.kind == "send_message");
        for (job, permit) in others {
            self.spawn_single(job, permit);
        }
        self.start_sends(sends, record_tx).await;
    }

    fn spawn_single(&self, job: Claimed, permit: OwnedSemaphorePermit) {
        let w = self.clone();
        self.spawn(async move {
            w.run_job(job).await;
            drop(permit);
        });
    }

    /// Spawns a task of the worker's: first in line for the database, and
    /// it stops when the kill switch is turned on, wherever it is.
    fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut killed = self.kill_switch.subscribe();
        tokio::spawn(crate::store::first_in_line(async move {
            tokio::select! {
                _ = work => {}
                _ = killed.wait_for(|k| *k) => {}
            }
        }));
    }

    async fn wait_for_work(&self, shutdown: &mut watch::Receiver<bool>, listening: &AtomicBool) {
        // Register for a clock jump *before* reading the time, so a jump
        // between the read and the wait is not missed.
        let jump = self.clock.changed();
        let jumped = async {
            match &jump {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(jumped);
        if jump.is_some() {
            // Polling once enables the `notified()` future inside.
            let _ = futures::poll!(jumped.as_mut());
        }
        // Enqueues in this process poke `wake`; with PostgreSQL, those of
        // other instances arrive by NOTIFY. While that listener is down, nap
        // briefly so other instances' jobs still start within a second.
        let max_nap =
            if self.store.dialect() == Dialect::Postgres && !listening.load(Ordering::Acquire) {
                std::time::Duration::from_secs(1)
            } else {
                std::time::Duration::from_secs(30)
            };
        let nap = match self.store.next_due(&|n| self.pace(n)).await {
            Ok(Some(due)) => (due - self.clock.now())
                .to_std()
                .unwrap_or_default()
                .min(max_nap),
            Ok(None) => max_nap,
            Err(_) => std::time::Duration::from_secs(1),
        };
        if nap.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = self.wake.notified() => {}
            _ = &mut jumped => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Keeps a PostgreSQL `LISTEN ringback_jobs` connection open and pokes
/// `wake` on every notification, so a job enqueued by any instance starts
/// within milliseconds. When the connection drops it reconnects with
/// backoff; `listening` is false meanwhile (the worker then naps at most a
/// second), and the worker is woken after every (re)connect, since
/// notifications may have been missed while down.
pub async fn listen_for_jobs(
    store: Store,
    wake: Arc<Notify>,
    listening: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let connected = tokio::select! {
            r = store.job_listener() => r,
            _ = shutdown.changed() => return,
        };
        match connected {
            Ok(Some(mut listener)) => {
                failures = 0;
                listening.store(true, Ordering::Release);
                wake.notify_one();
                loop {
                    let got = tokio::select! {
                        r = listener.try_recv() => r,
                        _ = shutdown.changed() => return,
                    };
                    match got {
                        Ok(Some(_)) => wake.notify_one(),
                        Ok(None) => {
                            // The connection dropped; anything may have been missed.
                            tracing::warn!("job notification connection lost; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "job notification connection failed; reconnecting");
                            break;
                        }
                    }
                }
                listening.store(false, Ordering::Release);
                wake.notify_one();
            }
            Ok(None) => return,
            Err(e) => {
                listening.store(false, Ordering::Release);
                tracing::warn!(error = %e, "cannot listen for job notifications; retrying");
            }
        }
        failures += 1;
        let backoff = std::time::Duration::from_millis(100 * 2u64.pow(failures.min(6)));
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The status-callback URL for outbound texts, if we know our public URL.
pub fn status_callback_url(public_url: Option<&str>) -> Option<String> {
    public_url.map(|u| format!("{u}/webhooks/twilio/sms/status"))
}
