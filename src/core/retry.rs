//! The one retry policy: how long a failed job waits before its next
//! attempt, whatever failed (a carrier's 5xx or 429, a timeout, a store
//! error). Attempts per job kind are in [`crate::core::jobs`].

use chrono::Duration;

/// The longest a failed send waits before its next try.
pub const MAX_RETRY_WAIT: Duration = Duration::minutes(15);

/// Delay before retry number `attempt` (1-based): exponential from 2 s,
/// capped at [`MAX_RETRY_WAIT`], with jitter in [50%, 100%] so a burst of
/// failures does not retry in lock-step. A carrier's Retry-After wins if
/// longer.
pub fn retry_delay(
    attempt: i64,
    retry_after: Option<std::time::Duration>,
    jitter: f64,
) -> Duration {
    const CAP_MS: i64 = MAX_RETRY_WAIT.num_milliseconds();
    let exp = 2_000i64.saturating_mul(1i64 << (attempt.clamp(1, 20) - 1));
    let capped = exp.min(CAP_MS);
    let jittered = (capped as f64 * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as i64;
    // Retry-After is honoured up to the same cap: a carrier that says an
    // hour (or a garbled 99999999999999) must not park an instant text
    // for longer, nor overflow the clock arithmetic.
    let floor = retry_after
        .map(|d| d.as_millis().min(CAP_MS as u128) as i64)
        .unwrap_or(0);
    Duration::milliseconds(jittered.max(floor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_grows_caps_and_honours_retry_after() {
        assert_eq!(retry_delay(1, None, 1.0), Duration::seconds(2));
        assert_eq!(retry_delay(3, None, 1.0), Duration::seconds(8));
        assert_eq!(retry_delay(3, None, 0.0), Duration::seconds(4));
        assert_eq!(retry_delay(30, None, 1.0), Duration::minutes(15));
        assert_eq!(
            retry_delay(1, Some(std::time::Duration::from_secs(30)), 1.0),
            Duration::seconds(30)
        );
        assert_eq!(
            retry_delay(1, Some(std::time::Duration::from_secs(3600)), 1.0),
            Duration::minutes(15),
            "an hour's Retry-After waits the cap, not the hour"
        );
        let absurd = retry_delay(
            1,
            Some(std::time::Duration::from_secs(99_999_999_999_999)),
            0.5,
        );
        assert_eq!(absurd, Duration::minutes(15));
        let _no_overflow = chrono::Utc::now() + absurd;
    }
}
