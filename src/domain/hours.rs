//! Business hours: when a business answers its phone, in its own time zone.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// Opening hours per weekday in the business's own time zone. A day missing
/// from the config is closed.
#[derive(Debug, Clone, Default)]
pub struct BusinessHours {
    /// Monday = 0. `(open, close)` minutes after midnight; close may be 1440.
    days: [Option<(u32, u32)>; 7],
}

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl BusinessHours {
    pub fn parse(raw: &BTreeMap<String, String>) -> Result<BusinessHours, (String, String)> {
        let mut days = [None; 7];
        for (k, v) in raw {
            let idx = DAY_KEYS.iter().position(|d| d == k).ok_or_else(|| {
                (
                    k.clone(),
                    format!("{k:?} is not a day; use mon, tue, wed, thu, fri, sat, sun"),
                )
            })?;
            let v = v.trim();
            if v.eq_ignore_ascii_case("closed") {
                continue;
            }
            let bad = || (k.clone(), format!("{v:?} is not a time range"));
            let (a, b) = v.split_once('-').ok_or_else(bad)?;
            let open = parse_hhmm(a.trim()).ok_or_else(bad)?;
            let close = parse_hhmm(b.trim()).ok_or_else(bad)?;
            if close <= open {
                return Err((k.clone(), format!("{v:?} closes before it opens")));
            }
            days[idx] = Some((open, close));
        }
        Ok(BusinessHours { days })
    }

    /// Open around the clock, every day (tests and the benchmark).
    pub fn always() -> BusinessHours {
        BusinessHours {
            days: [Some((0, 1440)); 7],
        }
    }

    /// Is the business open at `at`?
    pub fn is_open(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&tz);
        let minute = local.time().hour_min();
        match self.days[local.weekday().num_days_from_monday() as usize] {
            Some((open, close)) => minute >= open && minute < close,
            None => false,
        }
    }

    /// The next moment the business opens after `at` (None if never open).
    pub fn next_open(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&tz);
        for offset in 0..8 {
            let date = local.date_naive() + Duration::days(offset);
            let Some((open, _)) = self.days[date.weekday().num_days_from_monday() as usize] else {
                continue;
            };
            let t = NaiveTime::from_hms_opt(open / 60, open % 60, 0)?;
            // A time that does not exist (spring-forward gap) opens at the
            // first instant that does.
            let candidate = tz
                .from_local_datetime(&date.and_time(t))
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(date.and_time(t) + Duration::hours(1)))
                        .earliest()
                })?
                .with_timezone(&Utc);
            if candidate > at {
                return Some(candidate);
            }
        }
        None
    }

    /// Each weekday (Monday first) with its hours, "07:00-18:00" or
    /// "closed": how the owner's settings page shows them.
    pub fn week(&self) -> [(&'static str, String); 7] {
        let hhmm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        std::array::from_fn(|i| {
            (
                DAY_KEYS[i],
                match self.days[i] {
                    Some((open, close)) => format!("{}-{}", hhmm(open), hhmm(close)),
                    None => "closed".into(),
                },
            )
        })
    }

    /// "7:00 AM today", "7:00 AM tomorrow", "8:00 AM Monday".
    pub fn describe_next_open(&self, tz: Tz, at: DateTime<Utc>) -> String {
        match self.next_open(tz, at) {
            None => "as soon as we can".into(),
            Some(t) => {
                let lt = t.with_timezone(&tz);
                let today = at.with_timezone(&tz).date_naive();
                let when = if lt.date_naive() == today {
                    "today".to_string()
                } else if lt.date_naive() == today + Duration::days(1) {
                    "tomorrow".to_string()
                } else {
                    weekday_name(lt.weekday()).to_string()
                };
                format!("{} {}", lt.format("%-I:%M %p"), when)
            }
        }
    }
}

trait HourMin {
    fn hour_min(&self) -> u32;
}
impl HourMin for NaiveTime {
    fn hour_min(&self) -> u32 {
        use chrono::Timelike;
        self.hour() * 60 + self.minute()
    }
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if (h < 24 && m < 60) || (h == 24 && m == 0) {
        Some(h * 60 + m)
    } else {
        None
    }
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(pairs: &[(&str, &str)]) -> BusinessHours {
        let m = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BusinessHours::parse(&m).unwrap()
    }

    #[test]
    fn business_hours_in_local_time() {
        let h = hours(&[("mon", "07:00-18:00"), ("sat", "closed")]);
        let tz: Tz = "America/Chicago".parse().unwrap();
        // Monday 2026-11-23 08:00 CST = 14:00 UTC
        let mon8 = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
        assert!(h.is_open(tz, mon8));
        // Monday 18:00 local is closed (end is exclusive)
        assert!(!h.is_open(tz, Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap()));
        // Monday 06:59 local
        assert!(!h.is_open(tz, Utc.with_ymd_and_hms(2026, 11, 23, 12, 59, 0).unwrap()));
        let next = h
            .next_open(tz, Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap())
            .unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 11, 30, 13, 0, 0).unwrap());
        assert_eq!(
            h.describe_next_open(tz, mon8 - Duration::hours(3)),
            "7:00 AM today"
        );
    }

    #[test]
    fn bad_hours_name_the_day() {
        let m = [("tue".to_string(), "9-5".to_string())]
            .into_iter()
            .collect();
        let (day, msg) = BusinessHours::parse(&m).unwrap_err();
        assert_eq!(day, "tue");
        assert!(msg.contains("9-5"));
        let m = [("funday".to_string(), "closed".to_string())]
            .into_iter()
            .collect();
        assert_eq!(BusinessHours::parse(&m).unwrap_err().0, "funday");
    }
}
