//! Per-sender throughput: at most `mps` texts per second leave each sending
//! number (a carrier limit: every text counts, opt-out confirmations and
//! HELP replies included).
//!
//! A text over the rate is never dropped and never failed: the gate answers
//! [`SenderRates::admit`] → "not before T", and the worker puts the job back
//! in the queue (`run_at = T`, not counted as an attempt). So the backlog of
//! one number waits in the database, holds no worker permit and no lease,
//! and the texts of every other number keep leaving at their own pace.
//! Held texts are spread one rate-slot apart, so that a burst of 1,000 does
//! not come due all at once and re-queue 999 times.
//!
//! The limiter is `governor`'s GCRA, one per number, driven by the
//! service's [`Clock`] (not governor's own): tests move time and watch the
//! queue drain deterministically, and the hold times written to the
//! database are in the same time the worker claims jobs by. The burst is a
//! tenth of a second's worth (`ceil(mps / 10)`, at least 1): texts leave
//! evenly spaced, and no one-second window holds more than `mps` plus that
//! small burst.
//!
//! PER INSTANCE: each running ringback process has its own limiters. With
//! several instances sending from the same number, the number's total rate
//! is up to `instances × mps`; divide `mps` in the config by the number of
//! instances (see README) if the carrier's limit must hold exactly.

use crate::clock::Clock;
use crate::config::Config;
use chrono::{DateTime, Utc};
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The service clock as a governor clock: time since the Unix epoch.
#[derive(Clone)]
pub struct ServiceClock(pub Arc<dyn Clock>);

impl GovernorClock for ServiceClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        to_epoch(self.0.now())
    }
}

fn to_epoch(t: DateTime<Utc>) -> Duration {
    // Before 1970 cannot happen with a sane clock; saturate rather than panic.
    t.signed_duration_since(DateTime::UNIX_EPOCH)
        .to_std()
        .unwrap_or_default()
}

fn from_epoch(d: Duration) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + chrono::Duration::from_std(d).unwrap_or_default()
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, ServiceClock, NoOpMiddleware<Duration>>;

struct Lane {
    limiter: Limiter,
    /// One text's share of a second.
    period: Duration,
    /// The last slot handed out: the next held text is due one period later.
    last_hold: Duration,
    /// Held texts (by message id) and the slot each was given. Asking again
    /// before the slot gets the same answer; at the slot, the text is first
    /// in line.
    held: HashMap<i64, Duration>,
    /// Prune `held` when it grows past this (doubling: amortised O(1)).
    prune_at: usize,
}

/// What the limiter says about one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Send now (this text has been counted).
    Now,
    /// Over the rate: queue it until then.
    NotBefore(DateTime<Utc>),
}

impl Admit {
    pub fn is_now(&self) -> bool {
        *self == Admit::Now
    }
}

/// The limiters of every sending number in the config.
pub struct SenderRates {
    clock: ServiceClock,
    lanes: Mutex<HashMap<String, Lane>>,
    /// Rates by number, from the config (numbers without a declared sender
    /// are refused by the gate before they get here; they default to 1).
    mps: HashMap<String, f64>,
}

const PRUNE_AT: usize = 4096;

/// The default for a long code without a declared rate.
pub const DEFAULT_MPS: f64 = 1.0;

impl SenderRates {
    pub fn from_config(config: &Config, clock: Arc<dyn Clock>) -> SenderRates {
        let mps = config
            .businesses
            .iter()
            .flat_map(|b| b.senders.values())
            .map(|s| (s.number.clone(), s.mps))
            .collect();
        SenderRates {
            clock: ServiceClock(clock),
            lanes: Mutex::new(HashMap::new()),
            mps,
        }
    }

    /// The configured rate of `number`.
    pub fn mps(&self, number: &str) -> f64 {
        self.mps.get(number).copied().unwrap_or(DEFAULT_MPS)
    }

    /// Counts text `message_id` from `number` if the rate allows it now;
    /// otherwise gives it a slot in the number's queue and says when that
    /// is (nothing is counted then). Texts wait their turn in order: while
    /// some are held, a newcomer queues behind them rather than taking the
    /// next free moment.
    pub fn admit(&self, number: &str, message_id: i64) -> Admit {
        let now = self.clock.now();
        let mut lanes = self.lanes.lock().unwrap();
        if !lanes.contains_key(number) {
            let lane = new_lane(self.mps(number), self.clock.clone());
            lanes.insert(number.to_string(), lane);
        }
        let lane = lanes.get_mut(number).expect("just ensured");
        let earliest = match lane.held.get(&message_id) {
            Some(&slot) if now < slot => return not_before(slot),
            Some(_) => match lane.limiter.check() {
                Ok(()) => {
                    lane.held.remove(&message_id);
                    return Admit::Now;
                }
                Err(not_until) => not_until.earliest_possible(),
            },
            None if lane.last_hold > now => now,
            None => match lane.limiter.check() {
                Ok(()) => return Admit::Now,
                Err(not_until) => not_until.earliest_possible(),
            },
        };
        let slot = earliest.max(lane.last_hold + lane.period);
        lane.last_hold = slot;
        lane.held.insert(message_id, slot);
        if lane.held.len() > lane.prune_at {
            // Texts canceled while held never come back for their slot.
            let stale = now.saturating_sub(Duration::from_secs(300));
            lane.held.retain(|_, s| *s > stale);
            lane.prune_at = (lane.held.len() * 2).max(PRUNE_AT);
        }
        not_before(slot)
    }

    /// [`SenderRates::admit`] as the gate's verdict: over the rate is a hold.
    pub fn gate(&self, number: &str, message_id: i64) -> crate::core::compliance::Verdict {
        match self.admit(number, message_id) {
            Admit::Now => crate::core::compliance::Verdict::Allow,
            Admit::NotBefore(until) => crate::core::compliance::Verdict::Hold {
                until,
                reason: "sender_rate",
            },
        }
    }
}

/// Stored times are whole milliseconds: round up, so a held job is never
/// due a fraction of a millisecond before its slot.
fn not_before(slot: Duration) -> Admit {
    let ms = slot.as_nanos().div_ceil(1_000_000) as u64;
    Admit::NotBefore(from_epoch(Duration::from_millis(ms)))
}

fn new_lane(mps: f64, clock: ServiceClock) -> Lane {
    let mps = if mps.is_finite() && mps > 0.0 {
        mps
    } else {
        DEFAULT_MPS
    };
    let period = Duration::from_secs_f64(1.0 / mps).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new(((mps / 10.0).ceil() as u32).max(1)).expect("at least one");
    let quota = Quota::with_period(period)
        .expect("period is positive")
        .allow_burst(burst);
    Lane {
        limiter: RateLimiter::direct_with_clock(quota, clock),
        period,
        last_hold: Duration::ZERO,
        held: HashMap::new(),
        prune_at: PRUNE_AT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use chrono::TimeZone;

    fn rates(mps: f64, clock: &ManualClock) -> SenderRates {
        let mut r = SenderRates::from_config(
            &crate::core::conversation::tests_support::config(),
            Arc::new(clock.clone()),
        );
        r.mps.insert("+15125550100".into(), mps);
        r.mps.insert("+15125550101".into(), 1.0);
        r
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap()
    }

    #[test]
    fn one_per_second_queues_the_rest_one_second_apart() {
        let clock = ManualClock::new(start());
        let r = rates(1.0, &clock);
        let n = "+15125550100";
        assert_eq!(r.admit(n, 1), Admit::Now);
        let at = |s| Admit::NotBefore(start() + chrono::Duration::seconds(s));
        let holds: Vec<_> = (2..=4).map(|id| r.admit(n, id)).collect();
        assert_eq!(
            holds,
            vec![at(1), at(2), at(3)],
            "held texts are spread one period apart, never dropped"
        );
        // Asking again (the worker's second look) keeps the same slot.
        assert_eq!(r.admit(n, 3), at(2));
        // Another number is not held back by this one's backlog.
        assert_eq!(r.admit("+15125550101", 9), Admit::Now);
        // A newcomer queues behind the held texts, even at a free moment.
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(r.admit(n, 5), at(4));
        // Each held text goes at its slot, in order.
        assert_eq!(r.admit(n, 2), Admit::Now);
        assert_eq!(r.admit(n, 3), at(2));
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(r.admit(n, 3), Admit::Now);
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(r.admit(n, 4), Admit::Now);
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(r.admit(n, 5), Admit::Now);
        assert_eq!(r.admit(n, 6), at(5));
    }

    /// Texts that arrive faster than the rate, each retried at its slot
    /// like the worker does: how many leave in each second.
    fn drain(mps: f64, arrivals_per_tick: usize, ticks: usize) -> Vec<u32> {
        let clock = ManualClock::new(start());
        let r = rates(mps, &clock);
        let mut waiting: Vec<(i64, DateTime<Utc>)> = Vec::new();
        let mut next_id = 0;
        let mut per_second = vec![0u32; ticks / 100 + 1];
        for tick in 0..ticks {
            let now = start() + chrono::Duration::milliseconds(10 * tick as i64);
            clock.set(now);
            for _ in 0..arrivals_per_tick {
                next_id += 1;
                waiting.push((next_id, now));
            }
            let mut still = Vec::new();
            for (id, due) in waiting.drain(..) {
                if due > now {
                    still.push((id, due));
                    continue;
                }
                match r.admit("+15125550100", id) {
                    Admit::Now => per_second[tick / 100] += 1,
                    Admit::NotBefore(t) => still.push((id, t)),
                }
            }
            waiting = still;
        }
        per_second
    }

    #[test]
    fn every_second_carries_mps_and_no_more() {
        // Demand far above the rate (3 new texts every 10 ms).
        let per_second = drain(10.0, 3, 500);
        assert_eq!(&per_second[..5], &[10, 10, 10, 10, 10], "{per_second:?}");
        // At 50 MPS the burst is 5 (a tenth of a second's worth): the first
        // second carries 5 + 49, the rest exactly 50.
        let per_second = drain(50.0, 3, 500);
        assert_eq!(&per_second[..5], &[54, 50, 50, 50, 50], "{per_second:?}");
    }

    #[test]
    fn a_burst_drains_at_the_rate_with_nothing_lost() {
        // 100 texts at once at 20 MPS: 2 at once (a tenth of a second's
        // worth), then one every 50 ms.
        let clock = ManualClock::new(start());
        let r = rates(20.0, &clock);
        let mut sent = 0;
        let mut last = start();
        for id in 0..100 {
            match r.admit("+15125550100", id) {
                Admit::Now => sent += 1,
                Admit::NotBefore(t) => {
                    assert!(t > last, "slots are increasing");
                    last = t;
                }
            }
        }
        assert_eq!(sent, 2);
        // The last of the 98 held ones is due 98 periods (4.9 s) later.
        assert_eq!(last, start() + chrono::Duration::milliseconds(4900));
    }

    #[test]
    fn fractional_rates_and_the_default() {
        let clock = ManualClock::new(start());
        let r = rates(0.2, &clock);
        assert_eq!(r.admit("+15125550100", 1), Admit::Now);
        assert_eq!(
            r.admit("+15125550100", 2),
            Admit::NotBefore(start() + chrono::Duration::seconds(5))
        );
        assert_eq!(r.mps("+19995550000"), DEFAULT_MPS);
    }
}
