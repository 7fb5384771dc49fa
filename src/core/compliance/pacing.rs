//! How fast a sending number may send: carriers allow each number a rate
//! (a 10DLC number 1-3 messages a second, a sole proprietor's 1), and every
//! text counts, opt-out confirmations and HELP replies included.
//!
//! The rule is GCRA (a leaky bucket): a number may send again once its
//! "next" time has come, and each text moves it on by one period; a tenth of
//! a second's worth of texts may leave together (`burst`), so a fast number
//! is not held to one text per claim. A number's pace is kept in the
//! database (`sender_pace`), so every instance shares one budget.

/// A sending number's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Microseconds between two texts.
    pub period_us: i64,
    /// Texts that may leave at once after a quiet spell.
    pub burst: i64,
}

/// The rate of a number that does not say (a long code's usual 1/s).
pub const DEFAULT_MPS: f64 = 1.0;

impl Pace {
    /// The pace of a number allowed `mps` messages per second.
    pub fn of(mps: f64) -> Pace {
        let mps = if mps.is_finite() && mps > 0.0 {
            mps
        } else {
            DEFAULT_MPS
        };
        Pace {
            period_us: ((1_000_000.0 / mps).round() as i64).max(1),
            burst: ((mps / 10.0).ceil() as i64).max(1),
        }
    }

    /// How far ahead of now a number's next time may be while it still
    /// sends: the burst's slack.
    pub fn slack_us(&self) -> i64 {
        (self.burst - 1) * self.period_us
    }

    /// Takes up to `wanted` texts' worth of budget from a number whose
    /// next time is `next_us`, at `now_us`: how many may go now, and the
    /// number's next time after them.
    pub fn take(&self, next_us: i64, now_us: i64, wanted: i64) -> (i64, i64) {
        let mut next = next_us;
        let mut n = 0;
        while n < wanted && next <= now_us + self.slack_us() {
            next = next.max(now_us) + self.period_us;
            n += 1;
        }
        (n, next)
    }

    /// When a number whose next time is `next_us` may send again.
    pub fn ready_at_us(&self, next_us: i64) -> i64 {
        next_us - self.slack_us()
    }
}

/// The pace of sending number `number` in `config` (1/s if it declares
/// none).
pub fn pace_of(config: &crate::config::Config, number: &str) -> Pace {
    let mps = config
        .business_for(number)
        .and_then(|b| b.sender(number))
        .map_or(DEFAULT_MPS, |s| s.mps);
    Pace::of(mps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_a_second_sends_one_then_waits_a_second() {
        let p = Pace::of(1.0);
        assert_eq!(
            p,
            Pace {
                period_us: 1_000_000,
                burst: 1
            }
        );
        // A quiet number sends at once, one text.
        assert_eq!(p.take(0, 5_000_000, 8), (1, 6_000_000));
        // Then nothing until its next time.
        assert_eq!(p.take(6_000_000, 5_500_000, 8), (0, 6_000_000));
        assert_eq!(p.ready_at_us(6_000_000), 6_000_000);
        assert_eq!(p.take(6_000_000, 6_000_000, 8), (1, 7_000_000));
    }

    #[test]
    fn a_fast_number_sends_a_tenth_of_a_second_at_once_and_keeps_its_rate() {
        let p = Pace::of(50.0);
        assert_eq!(
            p,
            Pace {
                period_us: 20_000,
                burst: 5
            }
        );
        // 5 at once after a quiet spell.
        assert_eq!(p.take(0, 1_000_000, 100), (5, 1_100_000));
        // Over a second of asking every millisecond: 50 more, no more.
        let (mut next, mut sent) = (1_100_000, 0);
        for ms in 1..=1000 {
            let (n, after) = p.take(next, 1_000_000 + ms * 1000, 100);
            sent += n;
            next = after;
        }
        assert_eq!(sent, 50);
    }

    #[test]
    fn nonsense_rates_fall_back_to_one_a_second() {
        for mps in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert_eq!(Pace::of(mps), Pace::of(DEFAULT_MPS), "{mps}");
        }
        assert_eq!(Pace::of(0.2).period_us, 5_000_000);
    }
}
