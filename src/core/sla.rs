//! The office's promise to a missed caller, as a clock: a person tries to
//! call back within 15 minutes of the missed call (stretch goal: 5),
//! counted in the business's open hours. A call missed at 17:58 with the
//! office closing at 18:00 has 2 minutes today and 13 from opening
//! tomorrow; one missed at night is due 15 minutes after opening.
//!
//! Pure: the queue and the lead page show it, the reminders are timed by
//! it, the scorecard measures against it.

use crate::domain::BusinessHours;
use chrono::{DateTime, Duration, Timelike, Utc};
use chrono_tz::Tz;

/// The first human attempt is due this long (open time) after the call.
pub const FIRST_ATTEMPT: Duration = Duration::minutes(15);
/// The stretch goal the office aims for.
pub const STRETCH: Duration = Duration::minutes(5);

/// The moment `budget` of open time has passed since `from`. `None` when
/// the business is never open (no hours configured).
pub fn due_at(
    hours: &BusinessHours,
    tz: Tz,
    from: DateTime<Utc>,
    budget: Duration,
) -> Option<DateTime<Utc>> {
    let mut t = from;
    let mut left = budget;
    // Hours are whole minutes: within one minute the business is either
    // open or closed, so the clock runs a minute (or what is left of it)
    // at a time and jumps over closed stretches. Bounded: a budget of N
    // minutes takes at most N + 1 steps and a jump between each.
    let mut guard = 0;
    while left > Duration::zero() {
        guard += 1;
        if guard > 10_000 {
            return None;
        }
        if !hours.is_open(tz, t) {
            t = hours.next_open(tz, t)?;
            continue;
        }
        let into_minute = Duration::seconds(t.second() as i64)
            + Duration::nanoseconds(t.nanosecond() as i64 % 1_000_000_000);
        let step = (Duration::minutes(1) - into_minute).min(left);
        t += step;
        left -= step;
    }
    Some(t)
}

/// Where a lead stands against the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sla {
    /// No attempt yet; `left` until the stretch goal, then until due.
    Running {
        due: DateTime<Utc>,
        stretch: DateTime<Utc>,
    },
    /// No attempt and the 15 minutes are gone.
    Overdue { due: DateTime<Utc> },
    /// A person tried; `on_time` says whether within the 15 minutes.
    Met { on_time: bool },
    /// Closed, or the business has no hours: no clock.
    None,
}

/// The clock of one lead at `now`.
pub fn clock(
    hours: &BusinessHours,
    tz: Tz,
    missed_at: DateTime<Utc>,
    first_attempt_at: Option<DateTime<Utc>>,
    open: bool,
    now: DateTime<Utc>,
) -> Sla {
    let Some(due) = due_at(hours, tz, missed_at, FIRST_ATTEMPT) else {
        return Sla::None;
    };
    if let Some(at) = first_attempt_at {
        return Sla::Met { on_time: at <= due };
    }
    if !open {
        return Sla::None;
    }
    if now >= due {
        return Sla::Overdue { due };
    }
    let stretch = due_at(hours, tz, missed_at, STRETCH).unwrap_or(due);
    Sla::Running { due, stretch }
}

/// "12 min", "1 h 5 min", "2 d 3 h": how a clock reads on a phone.
pub fn short(d: Duration) -> String {
    let m = d.num_minutes().max(0);
    match m {
        0..=59 => format!("{m} min"),
        60..=1439 => match m % 60 {
            0 => format!("{} h", m / 60),
            r => format!("{} h {r} min", m / 60),
        },
        _ => format!("{} d {} h", m / 1440, (m % 1440) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::collections::BTreeMap;

    fn weekdays_7_to_18() -> BusinessHours {
        let m: BTreeMap<String, String> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| (d.to_string(), "07:00-18:00".to_string()))
            .collect();
        BusinessHours::parse(&m).unwrap()
    }

    fn chicago() -> Tz {
        "America/Chicago".parse().unwrap()
    }

    /// Tuesday 2026-11-24 at local `h:m:s` (CST = UTC-6).
    fn tue(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).unwrap()
            + Duration::seconds(i64::from(h * 3600 + m * 60 + s))
    }

    #[test]
    fn inside_open_hours_the_clock_is_wall_time() {
        let due = due_at(
            &weekdays_7_to_18(),
            chicago(),
            tue(10, 0, 30),
            FIRST_ATTEMPT,
        );
        assert_eq!(due, Some(tue(10, 15, 30)));
    }

    #[test]
    fn a_call_just_before_closing_carries_over_to_the_next_opening() {
        // 17:58:00: 2 minutes today, 13 from 07:00 Wednesday.
        let due = due_at(
            &weekdays_7_to_18(),
            chicago(),
            tue(17, 58, 0),
            FIRST_ATTEMPT,
        );
        assert_eq!(due, Some(tue(7, 13, 0) + Duration::days(1)));
    }

    #[test]
    fn a_night_call_is_due_after_opening_and_a_friday_night_one_on_monday() {
        let h = weekdays_7_to_18();
        assert_eq!(
            due_at(&h, chicago(), tue(22, 0, 0), FIRST_ATTEMPT),
            Some(tue(7, 15, 0) + Duration::days(1))
        );
        // Friday 2026-11-27 21:00 → Monday 2026-11-30 07:15.
        let fri_night = tue(21, 0, 0) + Duration::days(3);
        assert_eq!(
            due_at(&h, chicago(), fri_night, FIRST_ATTEMPT),
            Some(tue(7, 15, 0) + Duration::days(6))
        );
    }

    #[test]
    fn never_open_means_no_clock() {
        let h = BusinessHours::default();
        assert_eq!(due_at(&h, chicago(), tue(10, 0, 0), FIRST_ATTEMPT), None);
        assert_eq!(
            clock(&h, chicago(), tue(10, 0, 0), None, true, tue(11, 0, 0)),
            Sla::None
        );
    }

    #[test]
    fn the_clock_runs_then_is_overdue_or_met() {
        let h = weekdays_7_to_18();
        let missed = tue(10, 0, 0);
        assert_eq!(
            clock(&h, chicago(), missed, None, true, tue(10, 3, 0)),
            Sla::Running {
                due: tue(10, 15, 0),
                stretch: tue(10, 5, 0)
            }
        );
        assert_eq!(
            clock(&h, chicago(), missed, None, true, tue(10, 15, 0)),
            Sla::Overdue {
                due: tue(10, 15, 0)
            }
        );
        assert_eq!(
            clock(
                &h,
                chicago(),
                missed,
                Some(tue(10, 14, 59)),
                true,
                tue(11, 0, 0)
            ),
            Sla::Met { on_time: true }
        );
        assert_eq!(
            clock(
                &h,
                chicago(),
                missed,
                Some(tue(10, 16, 0)),
                false,
                tue(11, 0, 0)
            ),
            Sla::Met { on_time: false }
        );
        assert_eq!(
            clock(&h, chicago(), missed, None, false, tue(11, 0, 0)),
            Sla::None
        );
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(short(Duration::seconds(59)), "0 min");
        assert_eq!(short(Duration::minutes(12)), "12 min");
        assert_eq!(short(Duration::minutes(65)), "1 h 5 min");
        assert_eq!(short(Duration::minutes(120)), "2 h");
        assert_eq!(short(Duration::minutes(1440 * 2 + 180)), "2 d 3 h");
        assert_eq!(short(Duration::minutes(-5)), "0 min");
    }
}
