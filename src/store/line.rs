//! Who goes first to the database when it is the bottleneck: the worker.
//!
//! A webhook's transaction creates work (a missed call queues a text); the
//! worker's transactions finish it (claim, begin, record). When webhooks
//! arrive faster than the database takes them, a fair line would put each
//! of the worker's transactions behind every webhook already waiting, so
//! the worker's throughput would fall to its batch size per line length:
//! callers answered 200 at once, texted minutes later. Accepted work must
//! stay fast, so the worker is served first and webhooks get what is left;
//! when that is not enough they wait out their turn and are answered 503
//! (`http/overload.rs`), which the carrier retries.
//!
//! The worker runs its tasks inside [`first_in_line`]. Everyone else
//! passes the [`Line`]'s gate before the connection:
//! - SQLite: one writer. The gate lets one ordinary transaction at a time
//!   queue for it, so the worker's next transaction waits behind at most
//!   the one holding the writer and one more.
//! - PostgreSQL: a pool. Ordinary transactions may hold all but
//!   [`WORKER_RESERVE`] of its connections; those stay free for the
//!   worker. (Single statements outside a transaction are not counted.)

use std::future::Future;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

tokio::task_local! {
    static FIRST: ();
}

/// Runs `f` with its database transactions served before ordinary ones.
pub async fn first_in_line<F: Future>(f: F) -> F::Output {
    FIRST.scope((), f).await
}

/// Is the current task served first?
pub(super) fn is_first() -> bool {
    FIRST.try_with(|_| ()).is_ok()
}

/// PostgreSQL connections kept for the worker's transactions.
pub const WORKER_RESERVE: u32 = 4;

/// The gate ordinary transactions pass.
#[derive(Clone)]
pub(super) struct Line {
    gate: Arc<Semaphore>,
}

/// A place past the gate; for SQLite give it up once the writer is held,
/// for PostgreSQL keep it for the transaction's life.
pub(super) type Turn = Option<OwnedSemaphorePermit>;

impl Line {
    /// SQLite: one at a time to the writer.
    pub(super) fn one_writer() -> Line {
        Line {
            gate: Arc::new(Semaphore::new(1)),
        }
    }

    /// PostgreSQL: all but the worker's reserve of `connections` (at least
    /// one, so a pool of one still serves webhooks).
    pub(super) fn pool(connections: u32) -> Line {
        let ordinary = connections
            .saturating_sub(WORKER_RESERVE)
            .max(connections / 2)
            .max(1);
        Line {
            gate: Arc::new(Semaphore::new(ordinary as usize)),
        }
    }

    /// Waits for a place, unless the task is first in line.
    pub(super) async fn turn(&self) -> Turn {
        if is_first() {
            return None;
        }
        // The semaphore is never closed.
        self.gate.clone().acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// With ordinary transactions already waiting at the gate, the worker's
    /// goes next: it never waits at the gate at all.
    #[tokio::test]
    async fn the_worker_skips_the_line() {
        let line = Line::one_writer();
        let held = line.turn().await;
        assert!(held.is_some(), "an ordinary transaction takes a place");
        let waiting = {
            let line = line.clone();
            tokio::spawn(async move { line.turn().await })
        };
        tokio::task::yield_now().await;
        let worker = tokio::time::timeout(Duration::from_millis(200), first_in_line(line.turn()))
            .await
            .expect("the worker does not wait behind ordinary transactions");
        assert!(worker.is_none());
        assert!(!waiting.is_finished(), "the ordinary one still waits");
        drop(held);
        assert!(waiting.await.unwrap().is_some());
    }

    #[test]
    fn postgres_keeps_connections_for_the_worker() {
        assert_eq!(Line::pool(16).gate.available_permits(), 12);
        assert_eq!(Line::pool(6).gate.available_permits(), 3);
        assert_eq!(Line::pool(1).gate.available_permits(), 1);
    }
}
