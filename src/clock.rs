//! Time comes from a [`Clock`], so tests can move it instead of sleeping.
//!
//! The worker asks the clock what time it is and waits with
//! [`Clock::changed`] as well as a real timer: when a test advances a
//! [`ManualClock`], every waiter wakes at once and re-reads the time.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Resolves when the clock jumps (never, for the system clock).
    fn changed(&self) -> Option<Arc<Notify>> {
        None
    }
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Used by tests and by the benchmark
/// of timer accuracy.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    notify: Arc<Notify>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
            notify: Arc::new(Notify::new()),
        }
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += by;
        self.notify.notify_waiters();
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap() = to;
        self.notify.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }
    fn changed(&self) -> Option<Arc<Notify>> {
        Some(self.notify.clone())
    }
}

/// Milliseconds since the Unix epoch: how the store keeps time, identically
/// in SQLite and PostgreSQL.
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
