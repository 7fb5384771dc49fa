//! Quiet hours: when may an automated, non-urgent text reach a recipient?
//!
//! # The rule
//!
//! Follow-ups, reminders and other non-urgent texts may only be sent inside a
//! daily window in the **recipient's** local time: 8:00–21:00 by default (the
//! federal TCPA window, 47 CFR 64.1200(c)(1)), narrowed per state where state
//! "mini-TCPA" laws are stricter (e.g. 8:00–20:00 in Florida). A message that
//! falls outside the window is *held* and goes out at the next allowed instant.
//! Deciding whether a message is urgent (and therefore exempt) is the caller's
//! job; this module only answers "may this go now, and if not, when?".
//!
//! # Where is the recipient?
//!
//! We only have a phone number, so the location comes from the NANP area code
//! ([`area_code_info`]). That is a proxy — numbers port, people move — so the
//! table picks, for every area code, the state and the time zone that cover
//! most of its subscribers. When the number is not a geographic NANP number
//! (toll-free, foreign, malformed) we fall back to the business's time zone
//! and the default window.
//!
//! # Time zones and DST
//!
//! All arithmetic happens on *local wall-clock* times which are then resolved
//! to UTC through `chrono-tz`, never by adding a fixed offset. That matters on
//! DST days: on 2026-03-08 in New York 08:00 local is 12:00 UTC, while on the
//! evening before 21:30 local was 02:30 UTC (UTC-5). If a window start does not
//! exist on a given day (it falls in the spring-forward gap) the message goes
//! out at the first valid instant after the gap; if it exists twice (fall-back)
//! the earlier instant is used.
//!
//! This file holds the rule ([`Window`], [`QuietHours`] and their parsing);
//! the area-code table is data and lives in `area_codes.rs`, the tests in
//! `tests.rs`.

mod area_codes;

pub use area_codes::area_code_info;
use area_codes::{known_region_codes, other_zones};

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// A daily sending window in local time: `start` inclusive, `end` exclusive.
///
/// The same hours apply every day except:
/// * days listed in `closed_days`, on which nothing may be sent at all, and
/// * days listed in `day_hours`, which have their own `(start, end)` hours
///   (Texas: noon–21:00 on Sunday; Rhode Island: 10:00–17:00 on Saturday).
///
/// `closed_days` wins over `day_hours`. A day whose hours are empty
/// (`start >= end`) counts as closed. Windows never span midnight.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// First allowed local time of the day (inclusive).
    pub start: NaiveTime,
    /// First local time of the day that is no longer allowed (exclusive).
    pub end: NaiveTime,
    /// Weekdays on which nothing may be sent.
    pub closed_days: Vec<Weekday>,
    /// Weekdays with their own hours, overriding `start`/`end` for that day.
    pub day_hours: Vec<(Weekday, NaiveTime, NaiveTime)>,
}

impl Window {
    /// A window open from `start_hour:00` to `end_hour:00` every day.
    ///
    /// # Panics
    /// If an hour is not in `0..24`; use [`Window::from_times`] for minutes.
    pub fn hours(start_hour: u32, end_hour: u32) -> Window {
        Window::from_times(hm(start_hour, 0), hm(end_hour, 0))
    }

    /// A window open from `start` to `end` (exclusive) every day.
    pub fn from_times(start: NaiveTime, end: NaiveTime) -> Window {
        Window {
            start,
            end,
            closed_days: Vec::new(),
            day_hours: Vec::new(),
        }
    }

    /// Builder: also forbid sending on `day`.
    pub fn closed_on(mut self, day: Weekday) -> Window {
        if !self.closed_days.contains(&day) {
            self.closed_days.push(day);
        }
        self
    }

    /// Builder: use `start..end` instead of the usual hours on `day`.
    pub fn with_day_hours(mut self, day: Weekday, start: NaiveTime, end: NaiveTime) -> Window {
        self.day_hours.retain(|(d, _, _)| *d != day);
        self.day_hours.push((day, start, end));
        self
    }

    /// The `(start, end)` hours on `day`, or `None` if the window is closed.
    pub fn hours_on(&self, day: Weekday) -> Option<(NaiveTime, NaiveTime)> {
        if self.closed_days.contains(&day) {
            return None;
        }
        let (start, end) = self
            .day_hours
            .iter()
            .find(|(d, _, _)| *d == day)
            .map(|&(_, s, e)| (s, e))
            .unwrap_or((self.start, self.end));
        (start < end).then_some((start, end))
    }

    /// True if the local wall-clock `time` on a `day` is inside the window.
    pub fn allows(&self, day: Weekday, time: NaiveTime) -> bool {
        self.hours_on(day)
            .is_some_and(|(start, end)| start <= time && time < end)
    }
}

/// The quiet-hours policy: a default window plus per-state overrides.
#[derive(Debug, Clone)]
pub struct QuietHours {
    /// Window for recipients whose state has no override (and for numbers
    /// whose location is unknown).
    pub default: Window,
    /// Overrides keyed by 2-letter state/province/territory code, e.g. `"FL"`.
    pub overrides: BTreeMap<String, Window>,
}

impl QuietHours {
    /// 8:00–21:00 everywhere, plus a built-in table of stricter state rules.
    ///
    /// **These state hours are compliance-vendor summaries** (referrizer.com,
    /// dropcowboy.com state table, foster.com, compliancepoint.com, collected in
    /// `providers.md` §5.4), not readings of the statutes. Have counsel check
    /// them; an owner can override any entry in config ([`QuietHours::from_config`]).
    /// State holidays (AL, LA, RI forbid them) are **not** modelled.
    ///
    /// | State | Window (recipient local time) |
    /// |---|---|
    /// | FL, OK, MD, NJ, WA, MA | 08:00–20:00 |
    /// | CT | 09:00–20:00 |
    /// | TX | 09:00–21:00 Mon–Sat, 12:00–21:00 Sun |
    /// | AL, LA, MS | 08:00–20:00, closed Sunday |
    /// | RI | 09:00–18:00 Mon–Fri, 10:00–17:00 Sat, closed Sunday |
    /// | KY | 10:00–21:00 |
    /// | MI, MN, NM | 09:00–21:00 |
    /// | NV | 09:00–20:00 |
    /// | PA | 08:00–21:00 Mon–Sat, 13:30–21:00 Sun |
    /// | Canada (AB BC MB NB NL NS NT ON QC SK) | 09:00–21:30 Mon–Fri, 10:00–18:00 Sat–Sun |
    /// | everyone else | 08:00–21:00 (federal) |
    ///
    /// Pennsylvania: `providers.md` says only "Sun limited"; the vendor
    /// tables it cites put Sunday calls after 13:30. Canada: the CRTC's
    /// Telemarketing Rules (Unsolicited Telecommunications Rules, Part III),
    /// the recipient's local time. Both are telemarketing rules, applied
    /// here to every automated text as the federal hours are.
    pub fn us_defaults() -> QuietHours {
        let mut overrides = BTreeMap::new();
        let mut set = |states: &[&str], window: Window| {
            for state in states {
                overrides.insert((*state).to_string(), window.clone());
            }
        };
        set(&["FL", "OK", "MD", "NJ", "WA", "MA"], Window::hours(8, 20));
        set(&["CT"], Window::hours(9, 20));
        set(
            &["TX"],
            Window::hours(9, 21).with_day_hours(Weekday::Sun, hm(12, 0), hm(21, 0)),
        );
        set(
            &["AL", "LA", "MS"],
            Window::hours(8, 20).closed_on(Weekday::Sun),
        );
        set(
            &["RI"],
            Window::hours(9, 18)
                .with_day_hours(Weekday::Sat, hm(10, 0), hm(17, 0))
                .closed_on(Weekday::Sun),
        );
        set(&["KY"], Window::hours(10, 21));
        set(&["MI", "MN", "NM"], Window::hours(9, 21));
        set(&["NV"], Window::hours(9, 20));
        set(
            &["PA"],
            Window::hours(8, 21).with_day_hours(Weekday::Sun, hm(13, 30), hm(21, 0)),
        );
        set(
            &["AB", "BC", "MB", "NB", "NL", "NS", "NT", "ON", "QC", "SK"],
            Window::from_times(hm(9, 0), hm(21, 30))
                .with_day_hours(Weekday::Sat, hm(10, 0), hm(18, 0))
                .with_day_hours(Weekday::Sun, hm(10, 0), hm(18, 0)),
        );
        QuietHours {
            default: Window::hours(8, 21),
            overrides,
        }
    }

    /// Builds the policy from a config table, starting from [`QuietHours::us_defaults`].
    ///
    /// Keys are `"default"` or a 2-letter state/province code (any case). Each
    /// value is `HH:MM-HH:MM` followed by optional space-separated modifiers:
    /// * `no-sunday` (or `no-sun`, `no-saturday`, …): closed that day;
    /// * `sun=12:00-21:00` (any weekday): different hours on that day.
    ///
    /// Example: `TX = "09:00-21:00 sun=12:00-21:00"`, `AL = "08:00-20:00 no-sunday"`.
    /// A key in config replaces the built-in entry for that key entirely.
    ///
    /// # Errors
    /// A message naming the offending key and saying how to fix it, for a
    /// malformed value, a window whose start is not before its end, a window
    /// closed every day, or a key that is neither `default` nor a known
    /// region code (e.g. `"Florida"` instead of `"FL"`).
    pub fn from_config(entries: &BTreeMap<String, String>) -> Result<QuietHours, String> {
        let mut quiet = QuietHours::us_defaults();
        for (raw_key, value) in entries {
            let key = raw_key.trim();
            let window = parse_window(value)
                .map_err(|why| format!("quiet hours entry \"{key}\" = {value:?}: {why}"))?;
            if key.eq_ignore_ascii_case("default") {
                quiet.default = window;
                continue;
            }
            let code = key.to_ascii_uppercase();
            if !known_region_codes().contains(code.as_str()) {
                return Err(format!(
                    "quiet hours entry \"{key}\": unknown key; use \"default\" or a 2-letter US state, \
                     territory or Canadian province code such as \"FL\" or \"ON\""
                ));
            }
            quiet.overrides.insert(code, window);
        }
        Ok(quiet)
    }

    /// The window that applies to a recipient in `region` (None = unknown).
    pub fn window_for(&self, region: Option<&str>) -> &Window {
        region
            .and_then(|r| self.overrides.get(r))
            .unwrap_or(&self.default)
    }

    /// `Ok(())` if a text may go to `recipient` (E.164) at `at`; otherwise
    /// `Err(next allowed instant)` in UTC.
    ///
    /// The recipient's time zone and state come from the area code when it is
    /// a known NANP geographic code; otherwise `fallback_tz` (the business's
    /// zone) and the default window are used.
    ///
    /// # Errors
    /// `Err(instant)` means "hold": the text may go out at `instant`, the first
    /// allowed minute in the recipient's local time.
    ///
    /// If the window can never open (closed every day) the error carries
    /// [`DateTime::<Utc>::MAX_UTC`]; [`QuietHours::from_config`] rejects such windows.
    pub fn check(
        &self,
        recipient: &str,
        fallback_tz: Tz,
        at: DateTime<Utc>,
    ) -> Result<(), DateTime<Utc>> {
        let (region, tz) = match area_code_info(recipient) {
            Some((region, tz)) => (Some(region), tz),
            None => (None, fallback_tz),
        };
        let window = self.window_for(region);
        // An area code that spans two zones: the text may go only when the
        // window is open in both (the strictest reading, as the rules ask
        // when the recipient's own zone is not known).
        let also = region.map_or(&[][..], |_| other_zones(recipient));
        let zones = std::iter::once(tz).chain(also.iter().copied());
        let mut t = at;
        for _ in 0..8 {
            let closed_until = zones
                .clone()
                .filter_map(|tz| {
                    let local = t.with_timezone(&tz);
                    (!window.allows(local.weekday(), local.time()))
                        .then(|| next_opening(window, tz, t).unwrap_or(DateTime::<Utc>::MAX_UTC))
                })
                .max();
            match closed_until {
                None if t == at => return Ok(()),
                None => return Err(t),
                // Never opens (a window closed every day).
                Some(next) if next == DateTime::<Utc>::MAX_UTC => return Err(next),
                Some(next) => t = next,
            }
        }
        Err(t)
    }
}

/// The first instant at or after `at` when `window` is open in `tz`, looking
/// at most a week ahead. Assumes `at` itself is outside the window.
fn next_opening(window: &Window, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = at.with_timezone(&tz);
    let today = local.date_naive();
    // Day 0 is today (we may be before today's opening); 7 more days covers
    // every weekday once even if today is closed.
    (0..=7).find_map(|offset| {
        let date = today + Duration::days(offset);
        let (start, _end) = window.hours_on(date.weekday())?;
        if offset == 0 && local.time() >= start {
            return None; // today's window is already over
        }
        Some(first_instant_at_or_after(tz, date, start, at))
    })
}

/// Resolves the local wall-clock `date time` in `tz` to a UTC instant.
///
/// * normal case: the single matching instant;
/// * fall-back (the time happens twice): the earlier instant, unless that is
///   not after `not_before`, then the later one;
/// * spring-forward (the time does not exist): the first instant after the
///   gap, found by walking forward minute by minute (gaps are at most a few
///   hours and always end on a minute boundary in real tz data).
fn first_instant_at_or_after(
    tz: Tz,
    date: NaiveDate,
    time: NaiveTime,
    not_before: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut wall = date.and_time(time);
    loop {
        match tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            // Prefer the earlier instant unless it is already past (we are
            // between the two occurrences of this wall-clock time).
            LocalResult::Ambiguous(earlier, later) => {
                let earlier = earlier.with_timezone(&Utc);
                return if earlier > not_before {
                    earlier
                } else {
                    later.with_timezone(&Utc)
                };
            }
            LocalResult::None => wall += Duration::minutes(1),
        }
    }
}

/// Parses `HH:MM-HH:MM [no-<day>] [<day>=HH:MM-HH:MM] ...` into a [`Window`].
fn parse_window(value: &str) -> Result<Window, String> {
    const FORMAT_HINT: &str =
        "write it as \"HH:MM-HH:MM\" in 24-hour local time, optionally followed by \
         \"no-sunday\" or \"sun=12:00-21:00\", e.g. \"08:00-20:00 no-sunday\"";
    let mut parts = value.split_whitespace();
    let range = parts
        .next()
        .ok_or_else(|| format!("empty value; {FORMAT_HINT}"))?;
    let (start, end) = parse_range(range).map_err(|why| format!("{why}; {FORMAT_HINT}"))?;
    let mut window = Window::from_times(start, end);
    for modifier in parts {
        let lower = modifier.to_ascii_lowercase();
        if let Some(day) = lower.strip_prefix("no-") {
            let day = parse_weekday(day)
                .ok_or_else(|| format!("{modifier:?} names no weekday; {FORMAT_HINT}"))?;
            window = window.closed_on(day);
        } else if let Some((day, range)) = lower.split_once('=') {
            let day = parse_weekday(day)
                .ok_or_else(|| format!("{modifier:?} names no weekday; {FORMAT_HINT}"))?;
            let (s, e) = parse_range(range).map_err(|why| format!("{why}; {FORMAT_HINT}"))?;
            window = window.with_day_hours(day, s, e);
        } else {
            return Err(format!("unknown modifier {modifier:?}; {FORMAT_HINT}"));
        }
    }
    if [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .iter()
    .all(|d| window.hours_on(*d).is_none())
    {
        return Err(
            "this window is closed every day, so held texts would never go out; \
                    open it on at least one day"
                .to_string(),
        );
    }
    Ok(window)
}

/// Parses `HH:MM-HH:MM`, requiring start < end (no overnight windows).
fn parse_range(range: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let (a, b) = range
        .split_once('-')
        .ok_or_else(|| format!("{range:?} is not a time range"))?;
    let parse = |s: &str| {
        NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map_err(|_| format!("{s:?} is not a time like 08:00"))
    };
    let (start, end) = (parse(a)?, parse(b)?);
    if start >= end {
        return Err(format!(
            "start {a} is not before end {b} (windows cannot cross midnight)"
        ));
    }
    Ok((start, end))
}

/// Accepts full English weekday names or their 3-letter abbreviations, any case.
fn parse_weekday(s: &str) -> Option<Weekday> {
    const DAYS: [(&str, Weekday); 7] = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    let s = s.to_ascii_lowercase();
    DAYS.iter()
        .find(|(name, _)| s == *name || (s.len() == 3 && name.starts_with(s.as_str())))
        .map(|&(_, day)| day)
}

/// A wall-clock time `h:m`. Panics on out-of-range values (compile-time constants only).
fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid hour/minute")
}

#[cfg(test)]
mod tests;
