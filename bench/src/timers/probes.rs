//! What a timer run reads besides the database: the wall clock mapped
//! onto the mock's instants, the service's CPU time and CPU wait
//! (schedstat), the load average, and the lateness histogram.
//!
//! Apart from `mod.rs` because these read the machine, not the service,
//! and the run only samples them.

use super::*;

/// Lateness in microseconds, 1 µs to 1 h.
pub(super) fn lateness_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Maps the mock's `Instant`s onto milliseconds since the epoch.
pub(super) struct ClockAnchor {
    instant: Instant,
    epoch_ms: f64,
}

impl ClockAnchor {
    pub(super) fn now() -> Self {
        let instant = Instant::now();
        let epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs_f64()
            * 1000.0;
        Self { instant, epoch_ms }
    }

    pub(super) fn epoch_ms(&self, t: Instant) -> f64 {
        if t <= self.instant {
            self.epoch_ms - (self.instant - t).as_secs_f64() * 1000.0
        } else {
            self.epoch_ms + (t - self.instant).as_secs_f64() * 1000.0
        }
    }
}

/// Summed over the threads of `pid`: nanoseconds on a CPU and nanoseconds
/// runnable but waiting for one (`/proc/<pid>/task/*/schedstat`). Threads
/// that exit take their share with them, so this is a lower bound.
pub(super) fn sched_totals(pid: u32) -> Option<(u64, u64)> {
    let mut totals = (0u64, 0u64);
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(text) = std::fs::read_to_string(task.ok()?.path().join("schedstat")) else {
            continue;
        };
        let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
        if let (Some(Some(cpu)), Some(Some(wait))) = (fields.next(), fields.next()) {
            totals.0 += cpu;
            totals.1 += wait;
        }
    }
    Some(totals)
}

/// The 1-minute load average (0 if unreadable).
pub(super) fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}
