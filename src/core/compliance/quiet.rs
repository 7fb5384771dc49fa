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

use std::collections::{BTreeMap, BTreeSet};

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

/// The other time zone of an area code that spans two (the table gives
/// the one most of its numbers are in).
fn other_zones(e164: &str) -> &'static [Tz] {
    let Some(npa) = e164.get(2..5).and_then(|d| d.parse::<u16>().ok()) else {
        return &[];
    };
    SPLIT_ZONES
        .iter()
        .find(|(code, _)| *code == npa)
        .map_or(&[][..], |(_, zones)| zones)
}

/// Area codes whose numbers sit in two time zones, and the zone the
/// [`AREA_CODES`] table does not name.
static SPLIT_ZONES: &[(u16, &[Tz])] = &[
    (208, &[Tz::America__Los_Angeles]), // north Idaho
    (270, &[Tz::America__New_York]),    // Kentucky east of the line
    (308, &[Tz::America__Denver]),      // western Nebraska
    (364, &[Tz::America__New_York]),    // overlay of 270
    (448, &[Tz::America__New_York]),    // overlay of 850
    (458, &[Tz::America__Boise]),       // Malheur County, Oregon
    (541, &[Tz::America__Boise]),       // Malheur County, Oregon
    (605, &[Tz::America__Denver]),      // western South Dakota
    (701, &[Tz::America__Denver]),      // south-west North Dakota
    (709, &[Tz::America__Goose_Bay]),   // Labrador
    (807, &[Tz::America__Winnipeg]),    // Kenora and the west
    (812, &[Tz::America__Chicago]),     // Evansville and the south-west
    (850, &[Tz::America__New_York]),    // Tallahassee and the east
    (906, &[Tz::America__Chicago]),     // the Upper Peninsula's west end
    (930, &[Tz::America__Chicago]),     // overlay of 812
    (986, &[Tz::America__Los_Angeles]), // overlay of 208
];

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

/// Every region code that appears in the area-code table.
fn known_region_codes() -> BTreeSet<&'static str> {
    AREA_CODES.iter().map(|&(_, region, _)| region).collect()
}

/// Looks up the NANP area code of an E.164 number (`+1` and ten digits).
///
/// Returns the 2-letter state / province / territory code (`"DC"` for
/// Washington D.C.; PR, VI, GU, AS, MP for the US territories) and the IANA
/// time zone covering most of that area code. Returns `None` for non-NANP
/// numbers, malformed input, non-geographic codes (toll-free 8XX, 5XX, 900,
/// Canadian 600/622/633) and the NANP's other countries (Jamaica, Bahamas,
/// Dominican Republic, …), whose rules are not US or Canadian law.
///
/// Where an area code spans zones the dominant zone is chosen, e.g. 915
/// (El Paso) → `America/Denver`, 850 (Florida panhandle) → `America/Chicago`,
/// 208/986 (Idaho, mostly Boise) → `America/Boise`, 270/364 (western
/// Kentucky) → `America/Chicago`, 867 (the three northern territories) →
/// `NT`/`America/Edmonton`.
pub fn area_code_info(e164: &str) -> Option<(&'static str, Tz)> {
    let digits = e164.strip_prefix("+1")?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let npa: u16 = digits[..3].parse().ok()?;
    AREA_CODES
        .binary_search_by_key(&npa, |&(code, _, _)| code)
        .ok()
        .map(|i| (AREA_CODES[i].1, AREA_CODES[i].2))
}

/// NANP geographic area codes of the US, Canada and US territories:
/// `(area code, region, time zone)`, sorted by area code for binary search.
///
/// Generated from libphonenumber's metadata (Python `phonenumbers` 9.0.43:
/// validity, geocoding and time-zone prefix data), then reviewed by hand for
/// area codes spanning zones and for overlays whose zone the data got wrong
/// (448 FL → Chicago like 850, 364 KY → Chicago like 270, 474 SK → Regina,
/// 689 FL → New York, 879 NL → St John's). New overlays must be added here.
static AREA_CODES: &[(u16, &str, Tz)] = &[
    (201, "NJ", Tz::America__New_York),
    (202, "DC", Tz::America__New_York),
    (203, "CT", Tz::America__New_York),
    (204, "MB", Tz::America__Winnipeg),
    (205, "AL", Tz::America__Chicago),
    (206, "WA", Tz::America__Los_Angeles),
    (207, "ME", Tz::America__New_York),
    (208, "ID", Tz::America__Boise),
    (209, "CA", Tz::America__Los_Angeles),
    (210, "TX", Tz::America__Chicago),
    (212, "NY", Tz::America__New_York),
    (213, "CA", Tz::America__Los_Angeles),
    (214, "TX", Tz::America__Chicago),
    (215, "PA", Tz::America__New_York),
    (216, "OH", Tz::America__New_York),
    (217, "IL", Tz::America__Chicago),
    (218, "MN", Tz::America__Chicago),
    (219, "IN", Tz::America__Chicago),
    (220, "OH", Tz::America__New_York),
    (223, "PA", Tz::America__New_York),
    (224, "IL", Tz::America__Chicago),
    (225, "LA", Tz::America__Chicago),
    (226, "ON", Tz::America__Toronto),
    (227, "MD", Tz::America__New_York),
    (228, "MS", Tz::America__Chicago),
    (229, "GA", Tz::America__New_York),
    (231, "MI", Tz::America__New_York),
    (234, "OH", Tz::America__New_York),
    (235, "MO", Tz::America__Chicago),
    (236, "BC", Tz::America__Vancouver),
    (239, "FL", Tz::America__New_York),
    (240, "MD", Tz::America__New_York),
    (248, "MI", Tz::America__New_York),
    (249, "ON", Tz::America__Toronto),
    (250, "BC", Tz::America__Vancouver),
    (251, "AL", Tz::America__Chicago),
    (252, "NC", Tz::America__New_York),
    (253, "WA", Tz::America__Los_Angeles),
    (254, "TX", Tz::America__Chicago),
    (256, "AL", Tz::America__Chicago),
    (257, "BC", Tz::America__Vancouver),
    (260, "IN", Tz::America__New_York),
    (262, "WI", Tz::America__Chicago),
    (263, "QC", Tz::America__Toronto),
    (267, "PA", Tz::America__New_York),
    (269, "MI", Tz::America__New_York),
    (270, "KY", Tz::America__Chicago),
    (272, "PA", Tz::America__New_York),
    (273, "QC", Tz::America__Toronto),
    (274, "WI", Tz::America__Chicago),
    (276, "VA", Tz::America__New_York),
    (279, "CA", Tz::America__Los_Angeles),
    (281, "TX", Tz::America__Chicago),
    (283, "OH", Tz::America__New_York),
    (289, "ON", Tz::America__Toronto),
    (301, "MD", Tz::America__New_York),
    (302, "DE", Tz::America__New_York),
    (303, "CO", Tz::America__Denver),
    (304, "WV", Tz::America__New_York),
    (305, "FL", Tz::America__New_York),
    (306, "SK", Tz::America__Regina),
    (307, "WY", Tz::America__Denver),
    (308, "NE", Tz::America__Chicago),
    (309, "IL", Tz::America__Chicago),
    (310, "CA", Tz::America__Los_Angeles),
    (312, "IL", Tz::America__Chicago),
    (313, "MI", Tz::America__New_York),
    (314, "MO", Tz::America__Chicago),
    (315, "NY", Tz::America__New_York),
    (316, "KS", Tz::America__Chicago),
    (317, "IN", Tz::America__New_York),
    (318, "LA", Tz::America__Chicago),
    (319, "IA", Tz::America__Chicago),
    (320, "MN", Tz::America__Chicago),
    (321, "FL", Tz::America__New_York),
    (323, "CA", Tz::America__Los_Angeles),
    (324, "FL", Tz::America__New_York),
    (325, "TX", Tz::America__Chicago),
    (326, "OH", Tz::America__New_York),
    (327, "AR", Tz::America__Chicago),
    (329, "NY", Tz::America__New_York),
    (330, "OH", Tz::America__New_York),
    (331, "IL", Tz::America__Chicago),
    (332, "NY", Tz::America__New_York),
    (334, "AL", Tz::America__Chicago),
    (336, "NC", Tz::America__New_York),
    (337, "LA", Tz::America__Chicago),
    (339, "MA", Tz::America__New_York),
    (340, "VI", Tz::America__St_Thomas),
    (341, "CA", Tz::America__Los_Angeles),
    (343, "ON", Tz::America__Toronto),
    (346, "TX", Tz::America__Chicago),
    (347, "NY", Tz::America__New_York),
    (350, "CA", Tz::America__Los_Angeles),
    (351, "MA", Tz::America__New_York),
    (352, "FL", Tz::America__New_York),
    (353, "WI", Tz::America__Chicago),
    (354, "QC", Tz::America__Toronto),
    (360, "WA", Tz::America__Los_Angeles),
    (361, "TX", Tz::America__Chicago),
    (363, "NY", Tz::America__New_York),
    (364, "KY", Tz::America__Chicago),
    (365, "ON", Tz::America__Toronto),
    (367, "QC", Tz::America__Toronto),
    (368, "AB", Tz::America__Edmonton),
    (369, "CA", Tz::America__Los_Angeles),
    (380, "OH", Tz::America__New_York),
    (382, "ON", Tz::America__Toronto),
    (385, "UT", Tz::America__Denver),
    (386, "FL", Tz::America__New_York),
    (401, "RI", Tz::America__New_York),
    (402, "NE", Tz::America__Chicago),
    (403, "AB", Tz::America__Edmonton),
    (404, "GA", Tz::America__New_York),
    (405, "OK", Tz::America__Chicago),
    (406, "MT", Tz::America__Denver),
    (407, "FL", Tz::America__New_York),
    (408, "CA", Tz::America__Los_Angeles),
    (409, "TX", Tz::America__Chicago),
    (410, "MD", Tz::America__New_York),
    (412, "PA", Tz::America__New_York),
    (413, "MA", Tz::America__New_York),
    (414, "WI", Tz::America__Chicago),
    (415, "CA", Tz::America__Los_Angeles),
    (416, "ON", Tz::America__Toronto),
    (417, "MO", Tz::America__Chicago),
    (418, "QC", Tz::America__Toronto),
    (419, "OH", Tz::America__New_York),
    (423, "TN", Tz::America__New_York),
    (424, "CA", Tz::America__Los_Angeles),
    (425, "WA", Tz::America__Los_Angeles),
    (428, "NB", Tz::America__Halifax),
    (430, "TX", Tz::America__Chicago),
    (431, "MB", Tz::America__Winnipeg),
    (432, "TX", Tz::America__Chicago),
    (434, "VA", Tz::America__New_York),
    (435, "UT", Tz::America__Denver),
    (437, "ON", Tz::America__Toronto),
    (438, "QC", Tz::America__Toronto),
    (440, "OH", Tz::America__New_York),
    (442, "CA", Tz::America__Los_Angeles),
    (443, "MD", Tz::America__New_York),
    (445, "PA", Tz::America__New_York),
    (447, "IL", Tz::America__Chicago),
    (448, "FL", Tz::America__Chicago),
    (450, "QC", Tz::America__Toronto),
    (458, "OR", Tz::America__Los_Angeles),
    (463, "IN", Tz::America__New_York),
    (464, "IL", Tz::America__Chicago),
    (468, "QC", Tz::America__Toronto),
    (469, "TX", Tz::America__Chicago),
    (470, "GA", Tz::America__New_York),
    (472, "NC", Tz::America__New_York),
    (474, "SK", Tz::America__Regina),
    (475, "CT", Tz::America__New_York),
    (478, "GA", Tz::America__New_York),
    (479, "AR", Tz::America__Chicago),
    (480, "AZ", Tz::America__Phoenix),
    (484, "PA", Tz::America__New_York),
    (501, "AR", Tz::America__Chicago),
    (502, "KY", Tz::America__New_York),
    (503, "OR", Tz::America__Los_Angeles),
    (504, "LA", Tz::America__Chicago),
    (505, "NM", Tz::America__Denver),
    (506, "NB", Tz::America__Halifax),
    (507, "MN", Tz::America__Chicago),
    (508, "MA", Tz::America__New_York),
    (509, "WA", Tz::America__Los_Angeles),
    (510, "CA", Tz::America__Los_Angeles),
    (512, "TX", Tz::America__Chicago),
    (513, "OH", Tz::America__New_York),
    (514, "QC", Tz::America__Toronto),
    (515, "IA", Tz::America__Chicago),
    (516, "NY", Tz::America__New_York),
    (517, "MI", Tz::America__New_York),
    (518, "NY", Tz::America__New_York),
    (519, "ON", Tz::America__Toronto),
    (520, "AZ", Tz::America__Phoenix),
    (530, "CA", Tz::America__Los_Angeles),
    (531, "NE", Tz::America__Chicago),
    (534, "WI", Tz::America__Chicago),
    (539, "OK", Tz::America__Chicago),
    (540, "VA", Tz::America__New_York),
    (541, "OR", Tz::America__Los_Angeles),
    (548, "ON", Tz::America__Toronto),
    (551, "NJ", Tz::America__New_York),
    (557, "MO", Tz::America__Chicago),
    (559, "CA", Tz::America__Los_Angeles),
    (561, "FL", Tz::America__New_York),
    (562, "CA", Tz::America__Los_Angeles),
    (563, "IA", Tz::America__Chicago),
    (564, "WA", Tz::America__Los_Angeles),
    (567, "OH", Tz::America__New_York),
    (570, "PA", Tz::America__New_York),
    (571, "VA", Tz::America__New_York),
    (572, "OK", Tz::America__Chicago),
    (573, "MO", Tz::America__Chicago),
    (574, "IN", Tz::America__New_York),
    (575, "NM", Tz::America__Denver),
    (579, "QC", Tz::America__Toronto),
    (580, "OK", Tz::America__Chicago),
    (581, "QC", Tz::America__Toronto),
    (582, "PA", Tz::America__New_York),
    (584, "MB", Tz::America__Winnipeg),
    (585, "NY", Tz::America__New_York),
    (586, "MI", Tz::America__New_York),
    (587, "AB", Tz::America__Edmonton),
    (601, "MS", Tz::America__Chicago),
    (602, "AZ", Tz::America__Phoenix),
    (603, "NH", Tz::America__New_York),
    (604, "BC", Tz::America__Vancouver),
    (605, "SD", Tz::America__Chicago),
    (606, "KY", Tz::America__New_York),
    (607, "NY", Tz::America__New_York),
    (608, "WI", Tz::America__Chicago),
    (609, "NJ", Tz::America__New_York),
    (610, "PA", Tz::America__New_York),
    (612, "MN", Tz::America__Chicago),
    (613, "ON", Tz::America__Toronto),
    (614, "OH", Tz::America__New_York),
    (615, "TN", Tz::America__Chicago),
    (616, "MI", Tz::America__New_York),
    (617, "MA", Tz::America__New_York),
    (618, "IL", Tz::America__Chicago),
    (619, "CA", Tz::America__Los_Angeles),
    (620, "KS", Tz::America__Chicago),
    (623, "AZ", Tz::America__Phoenix),
    (626, "CA", Tz::America__Los_Angeles),
    (628, "CA", Tz::America__Los_Angeles),
    (629, "TN", Tz::America__Chicago),
    (630, "IL", Tz::America__Chicago),
    (631, "NY", Tz::America__New_York),
    (636, "MO", Tz::America__Chicago),
    (639, "SK", Tz::America__Regina),
    (640, "NJ", Tz::America__New_York),
    (641, "IA", Tz::America__Chicago),
    (645, "FL", Tz::America__New_York),
    (646, "NY", Tz::America__New_York),
    (647, "ON", Tz::America__Toronto),
    (650, "CA", Tz::America__Los_Angeles),
    (651, "MN", Tz::America__Chicago),
    (656, "FL", Tz::America__New_York),
    (657, "CA", Tz::America__Los_Angeles),
    (659, "AL", Tz::America__Chicago),
    (660, "MO", Tz::America__Chicago),
    (661, "CA", Tz::America__Los_Angeles),
    (662, "MS", Tz::America__Chicago),
    (667, "MD", Tz::America__New_York),
    (669, "CA", Tz::America__Los_Angeles),
    (670, "MP", Tz::Pacific__Saipan),
    (671, "GU", Tz::Pacific__Guam),
    (672, "BC", Tz::America__Vancouver),
    (678, "GA", Tz::America__New_York),
    (680, "NY", Tz::America__New_York),
    (681, "WV", Tz::America__New_York),
    (682, "TX", Tz::America__Chicago),
    (683, "ON", Tz::America__Toronto),
    (684, "AS", Tz::Pacific__Pago_Pago),
    (686, "VA", Tz::America__New_York),
    (689, "FL", Tz::America__New_York),
    (701, "ND", Tz::America__Chicago),
    (702, "NV", Tz::America__Los_Angeles),
    (703, "VA", Tz::America__New_York),
    (704, "NC", Tz::America__New_York),
    (705, "ON", Tz::America__Toronto),
    (706, "GA", Tz::America__New_York),
    (707, "CA", Tz::America__Los_Angeles),
    (708, "IL", Tz::America__Chicago),
    (709, "NL", Tz::America__St_Johns),
    (712, "IA", Tz::America__Chicago),
    (713, "TX", Tz::America__Chicago),
    (714, "CA", Tz::America__Los_Angeles),
    (715, "WI", Tz::America__Chicago),
    (716, "NY", Tz::America__New_York),
    (717, "PA", Tz::America__New_York),
    (718, "NY", Tz::America__New_York),
    (719, "CO", Tz::America__Denver),
    (720, "CO", Tz::America__Denver),
    (724, "PA", Tz::America__New_York),
    (725, "NV", Tz::America__Los_Angeles),
    (726, "TX", Tz::America__Chicago),
    (727, "FL", Tz::America__New_York),
    (728, "FL", Tz::America__New_York),
    (730, "IL", Tz::America__Chicago),
    (731, "TN", Tz::America__Chicago),
    (732, "NJ", Tz::America__New_York),
    (734, "MI", Tz::America__New_York),
    (737, "TX", Tz::America__Chicago),
    (738, "CA", Tz::America__Los_Angeles),
    (740, "OH", Tz::America__New_York),
    (742, "ON", Tz::America__Toronto),
    (743, "NC", Tz::America__New_York),
    (747, "CA", Tz::America__Los_Angeles),
    (748, "CO", Tz::America__Denver),
    (753, "ON", Tz::America__Toronto),
    (754, "FL", Tz::America__New_York),
    (757, "VA", Tz::America__New_York),
    (760, "CA", Tz::America__Los_Angeles),
    (762, "GA", Tz::America__New_York),
    (763, "MN", Tz::America__Chicago),
    (765, "IN", Tz::America__New_York),
    (769, "MS", Tz::America__Chicago),
    (770, "GA", Tz::America__New_York),
    (771, "DC", Tz::America__New_York),
    (772, "FL", Tz::America__New_York),
    (773, "IL", Tz::America__Chicago),
    (774, "MA", Tz::America__New_York),
    (775, "NV", Tz::America__Los_Angeles),
    (778, "BC", Tz::America__Vancouver),
    (779, "IL", Tz::America__Chicago),
    (780, "AB", Tz::America__Edmonton),
    (781, "MA", Tz::America__New_York),
    (782, "NS", Tz::America__Halifax),
    (785, "KS", Tz::America__Chicago),
    (786, "FL", Tz::America__New_York),
    (787, "PR", Tz::America__Puerto_Rico),
    (801, "UT", Tz::America__Denver),
    (802, "VT", Tz::America__New_York),
    (803, "SC", Tz::America__New_York),
    (804, "VA", Tz::America__New_York),
    (805, "CA", Tz::America__Los_Angeles),
    (806, "TX", Tz::America__Chicago),
    (807, "ON", Tz::America__Toronto),
    (808, "HI", Tz::Pacific__Honolulu),
    (810, "MI", Tz::America__New_York),
    (812, "IN", Tz::America__New_York),
    (813, "FL", Tz::America__New_York),
    (814, "PA", Tz::America__New_York),
    (815, "IL", Tz::America__Chicago),
    (816, "MO", Tz::America__Chicago),
    (817, "TX", Tz::America__Chicago),
    (818, "CA", Tz::America__Los_Angeles),
    (819, "QC", Tz::America__Toronto),
    (820, "CA", Tz::America__Los_Angeles),
    (821, "SC", Tz::America__New_York),
    (825, "AB", Tz::America__Edmonton),
    (826, "VA", Tz::America__New_York),
    (828, "NC", Tz::America__New_York),
    (830, "TX", Tz::America__Chicago),
    (831, "CA", Tz::America__Los_Angeles),
    (832, "TX", Tz::America__Chicago),
    (835, "PA", Tz::America__New_York),
    (838, "NY", Tz::America__New_York),
    (839, "SC", Tz::America__New_York),
    (840, "CA", Tz::America__Los_Angeles),
    (843, "SC", Tz::America__New_York),
    (845, "NY", Tz::America__New_York),
    (847, "IL", Tz::America__Chicago),
    (848, "NJ", Tz::America__New_York),
    (850, "FL", Tz::America__Chicago),
    (854, "SC", Tz::America__New_York),
    (856, "NJ", Tz::America__New_York),
    (857, "MA", Tz::America__New_York),
    (858, "CA", Tz::America__Los_Angeles),
    (859, "KY", Tz::America__New_York),
    (860, "CT", Tz::America__New_York),
    (862, "NJ", Tz::America__New_York),
    (863, "FL", Tz::America__New_York),
    (864, "SC", Tz::America__New_York),
    (865, "TN", Tz::America__New_York),
    (867, "NT", Tz::America__Edmonton),
    (870, "AR", Tz::America__Chicago),
    (872, "IL", Tz::America__Chicago),
    (873, "QC", Tz::America__Toronto),
    (878, "PA", Tz::America__New_York),
    (879, "NL", Tz::America__St_Johns),
    (901, "TN", Tz::America__Chicago),
    (902, "NS", Tz::America__Halifax),
    (903, "TX", Tz::America__Chicago),
    (904, "FL", Tz::America__New_York),
    (905, "ON", Tz::America__Toronto),
    (906, "MI", Tz::America__New_York),
    (907, "AK", Tz::America__Anchorage),
    (908, "NJ", Tz::America__New_York),
    (909, "CA", Tz::America__Los_Angeles),
    (910, "NC", Tz::America__New_York),
    (912, "GA", Tz::America__New_York),
    (913, "KS", Tz::America__Chicago),
    (914, "NY", Tz::America__New_York),
    (915, "TX", Tz::America__Denver),
    (916, "CA", Tz::America__Los_Angeles),
    (917, "NY", Tz::America__New_York),
    (918, "OK", Tz::America__Chicago),
    (919, "NC", Tz::America__New_York),
    (920, "WI", Tz::America__Chicago),
    (925, "CA", Tz::America__Los_Angeles),
    (928, "AZ", Tz::America__Phoenix),
    (929, "NY", Tz::America__New_York),
    (930, "IN", Tz::America__New_York),
    (931, "TN", Tz::America__Chicago),
    (934, "NY", Tz::America__New_York),
    (936, "TX", Tz::America__Chicago),
    (937, "OH", Tz::America__New_York),
    (938, "AL", Tz::America__Chicago),
    (939, "PR", Tz::America__Puerto_Rico),
    (940, "TX", Tz::America__Chicago),
    (941, "FL", Tz::America__New_York),
    (942, "ON", Tz::America__Toronto),
    (943, "GA", Tz::America__New_York),
    (945, "TX", Tz::America__Chicago),
    (947, "MI", Tz::America__New_York),
    (948, "VA", Tz::America__New_York),
    (949, "CA", Tz::America__Los_Angeles),
    (951, "CA", Tz::America__Los_Angeles),
    (952, "MN", Tz::America__Chicago),
    (954, "FL", Tz::America__New_York),
    (956, "TX", Tz::America__Chicago),
    (959, "CT", Tz::America__New_York),
    (970, "CO", Tz::America__Denver),
    (971, "OR", Tz::America__Los_Angeles),
    (972, "TX", Tz::America__Chicago),
    (973, "NJ", Tz::America__New_York),
    (975, "MO", Tz::America__Chicago),
    (978, "MA", Tz::America__New_York),
    (979, "TX", Tz::America__Chicago),
    (980, "NC", Tz::America__New_York),
    (983, "CO", Tz::America__Denver),
    (984, "NC", Tz::America__New_York),
    (985, "LA", Tz::America__Chicago),
    (986, "ID", Tz::America__Boise),
    (989, "MI", Tz::America__New_York),
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{Chicago, Los_Angeles, New_York, Toronto};

    /// A UTC instant from "YYYY-MM-DD HH:MM".
    fn utc(s: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        Utc.from_utc_datetime(&naive)
    }

    /// The UTC instant of local wall time "YYYY-MM-DD HH:MM" in `tz` (must be unambiguous).
    fn local(tz: Tz, s: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    const NY: &str = "+12125550100"; // New York City
    const LA: &str = "+12135550100"; // Los Angeles
    const MIAMI: &str = "+13055550100"; // Florida, Eastern
    const PENSACOLA: &str = "+18505550100"; // Florida, Central (850 is also Eastern)
    const BIRMINGHAM: &str = "+12055550100"; // Alabama: closed Sunday
    const DALLAS: &str = "+12145550100"; // Texas: Sunday from noon
    const PROVIDENCE: &str = "+14015550100"; // Rhode Island
    const TOLL_FREE: &str = "+18005550100";
    const PHILADELPHIA: &str = "+12155550100"; // Pennsylvania: Sunday from 13:30
    const TORONTO: &str = "+14165550100"; // Ontario: the CRTC's hours
    const LONDON: &str = "+442071234567";

    fn rules() -> QuietHours {
        QuietHours::us_defaults()
    }

    // ---- the basic window -------------------------------------------------

    #[test]
    fn inside_default_window_is_allowed() {
        assert_eq!(
            rules().check(NY, New_York, local(New_York, "2026-06-10 12:00")),
            Ok(())
        );
    }

    #[test]
    fn window_start_is_inclusive_and_end_exclusive() {
        let q = rules();
        assert_eq!(
            q.check(NY, New_York, local(New_York, "2026-06-10 08:00")),
            Ok(())
        );
        assert_eq!(
            q.check(NY, New_York, local(New_York, "2026-06-10 20:59")),
            Ok(())
        );
        assert_eq!(
            q.check(NY, New_York, local(New_York, "2026-06-10 21:00")),
            Err(local(New_York, "2026-06-11 08:00"))
        );
        assert_eq!(
            q.check(NY, New_York, local(New_York, "2026-06-10 07:59")),
            Err(local(New_York, "2026-06-10 08:00"))
        );
    }

    #[test]
    fn held_after_midnight_goes_out_same_morning() {
        assert_eq!(
            rules().check(NY, New_York, local(New_York, "2026-06-10 00:30")),
            Err(local(New_York, "2026-06-10 08:00"))
        );
    }

    // ---- whose time zone --------------------------------------------------

    #[test]
    fn uses_recipient_time_zone_not_business() {
        // 08:30 in New York is 05:30 in Los Angeles: too early for the recipient.
        let at = local(New_York, "2026-06-10 08:30");
        assert_eq!(
            rules().check(LA, New_York, at),
            Err(local(Los_Angeles, "2026-06-10 08:00"))
        );
        assert_eq!(
            local(Los_Angeles, "2026-06-10 08:00"),
            utc("2026-06-10 15:00")
        );
        // 22:00 in New York is 19:00 in Los Angeles: fine for the recipient.
        assert_eq!(
            rules().check(LA, New_York, local(New_York, "2026-06-10 22:00")),
            Ok(())
        );
    }

    #[test]
    fn unknown_area_code_falls_back_to_business_zone() {
        let at = local(New_York, "2026-06-10 08:30"); // 05:30 in LA
        assert_eq!(rules().check(TOLL_FREE, New_York, at), Ok(()));
        assert_eq!(
            rules().check(TOLL_FREE, Los_Angeles, at),
            Err(local(Los_Angeles, "2026-06-10 08:00"))
        );
    }

    #[test]
    fn non_nanp_and_malformed_numbers_fall_back_to_business_zone() {
        let at = local(New_York, "2026-06-10 08:30");
        for number in [LONDON, "2125550100", "+1212555010", "+1212555010x", ""] {
            assert_eq!(rules().check(number, New_York, at), Ok(()), "{number}");
            assert_eq!(
                rules().check(number, Los_Angeles, at),
                Err(local(Los_Angeles, "2026-06-10 08:00")),
                "{number}"
            );
        }
    }

    // ---- DST ----------------------------------------------------------------

    #[test]
    fn spring_forward_hold_overnight_uses_new_offset() {
        // 2026-03-07 21:30 EST (UTC-5) = 2026-03-08 02:30 UTC; clocks spring
        // forward at 02:00 local, so 08:00 EDT (UTC-4) = 12:00 UTC, not 13:00.
        let at = utc("2026-03-08 02:30");
        assert_eq!(at, local(New_York, "2026-03-07 21:30"));
        assert_eq!(
            rules().check(NY, New_York, at),
            Err(utc("2026-03-08 12:00"))
        );
    }

    #[test]
    fn fall_back_hold_overnight_uses_new_offset() {
        // 2026-10-31 21:30 EDT (UTC-4) = 2026-11-01 01:30 UTC; clocks fall back
        // at 02:00 local, so 08:00 EST (UTC-5) = 13:00 UTC, not 12:00.
        let at = utc("2026-11-01 01:30");
        assert_eq!(at, local(New_York, "2026-10-31 21:30"));
        assert_eq!(
            rules().check(NY, New_York, at),
            Err(utc("2026-11-01 13:00"))
        );
    }

    #[test]
    fn dst_in_recipient_zone_across_zones() {
        // Business in New York, recipient in Los Angeles, spring-forward night.
        // 2026-03-07 21:30 PST = 2026-03-08 05:30 UTC -> 08:00 PDT = 15:00 UTC.
        let at = local(Los_Angeles, "2026-03-07 21:30");
        assert_eq!(
            rules().check(LA, New_York, at),
            Err(utc("2026-03-08 15:00"))
        );
    }

    #[test]
    fn window_start_in_spring_forward_gap_moves_to_first_valid_instant() {
        // 02:30 does not exist in New York on 2026-03-08 (02:00 -> 03:00 EDT).
        let q = QuietHours {
            default: Window::from_times(hm(2, 30), hm(21, 0)),
            overrides: BTreeMap::new(),
        };
        let at = local(New_York, "2026-03-08 01:00"); // 06:00 UTC
                                                      // First valid instant after the gap: 03:00 EDT = 07:00 UTC.
        assert_eq!(q.check(LONDON, New_York, at), Err(utc("2026-03-08 07:00")));
    }

    #[test]
    fn window_start_in_fall_back_overlap_uses_earlier_instant() {
        // 01:30 happens twice in New York on 2026-11-01: 05:30 UTC (EDT) and 06:30 UTC (EST).
        let q = QuietHours {
            default: Window::from_times(hm(1, 30), hm(21, 0)),
            overrides: BTreeMap::new(),
        };
        let at = utc("2026-11-01 04:00"); // 00:00 EDT
        assert_eq!(q.check(LONDON, New_York, at), Err(utc("2026-11-01 05:30")));
    }

    // ---- state overrides ----------------------------------------------------

    #[test]
    fn florida_closes_at_20_while_new_york_does_not() {
        let q = rules();
        let at = local(New_York, "2026-06-10 20:30");
        assert_eq!(q.check(NY, New_York, at), Ok(()));
        assert_eq!(
            q.check(MIAMI, New_York, at),
            Err(local(New_York, "2026-06-11 08:00"))
        );
    }

    #[test]
    fn florida_panhandle_is_central_and_eastern() {
        let q = rules();
        // 850 covers Pensacola (Central) and Tallahassee (Eastern): 18:30
        // Central = 19:30 Eastern is inside Florida's 08:00-20:00 in both.
        let at = local(Chicago, "2026-06-10 18:30");
        assert_eq!(q.check(PENSACOLA, New_York, at), Ok(()));
        // 19:30 Central = 20:30 Eastern: closed in Tallahassee, so it waits
        // (and Miami, all Eastern, too).
        let at = local(Chicago, "2026-06-10 19:30");
        assert_eq!(
            q.check(PENSACOLA, New_York, at),
            Err(local(Chicago, "2026-06-11 08:00"))
        );
        assert_eq!(
            q.check(MIAMI, New_York, at),
            Err(local(New_York, "2026-06-11 08:00"))
        );
        let late = local(Chicago, "2026-06-10 20:30");
        assert_eq!(
            q.check(PENSACOLA, New_York, late),
            Err(local(Chicago, "2026-06-11 08:00"))
        );
    }

    #[test]
    fn closed_sunday_skips_to_monday() {
        let q = rules();
        // Saturday 2026-06-13 20:30 in Alabama: past 20:00, Sunday closed -> Monday 08:00.
        assert_eq!(
            q.check(BIRMINGHAM, New_York, local(Chicago, "2026-06-13 20:30")),
            Err(local(Chicago, "2026-06-15 08:00"))
        );
        // Sunday noon is inside the hours but the day is closed.
        assert_eq!(
            q.check(BIRMINGHAM, New_York, local(Chicago, "2026-06-14 12:00")),
            Err(local(Chicago, "2026-06-15 08:00"))
        );
        assert_eq!(
            q.check(BIRMINGHAM, New_York, local(Chicago, "2026-06-15 12:00")),
            Ok(())
        );
    }

    #[test]
    fn texas_sunday_starts_at_noon() {
        let q = rules();
        assert_eq!(
            q.check(DALLAS, New_York, local(Chicago, "2026-06-14 10:00")),
            Err(local(Chicago, "2026-06-14 12:00"))
        );
        assert_eq!(
            q.check(DALLAS, New_York, local(Chicago, "2026-06-14 12:00")),
            Ok(())
        );
        assert_eq!(
            q.check(DALLAS, New_York, local(Chicago, "2026-06-15 10:00")),
            Ok(())
        );
        // Saturday night -> Sunday noon, not Sunday 09:00.
        assert_eq!(
            q.check(DALLAS, New_York, local(Chicago, "2026-06-13 21:30")),
            Err(local(Chicago, "2026-06-14 12:00"))
        );
    }

    #[test]
    fn pennsylvania_sunday_starts_at_half_past_one() {
        let q = rules();
        // 2026-06-14 is a Sunday.
        assert_eq!(
            q.check(PHILADELPHIA, Chicago, local(New_York, "2026-06-14 10:00")),
            Err(local(New_York, "2026-06-14 13:30"))
        );
        assert_eq!(
            q.check(PHILADELPHIA, Chicago, local(New_York, "2026-06-14 13:30")),
            Ok(())
        );
        // Saturday night -> Sunday 13:30, not 08:00.
        assert_eq!(
            q.check(PHILADELPHIA, Chicago, local(New_York, "2026-06-13 21:15")),
            Err(local(New_York, "2026-06-14 13:30"))
        );
        // Weekdays keep the federal hours.
        assert_eq!(
            q.check(PHILADELPHIA, Chicago, local(New_York, "2026-06-15 08:00")),
            Ok(())
        );
    }

    #[test]
    fn canada_follows_the_crtc_hours() {
        let q = rules();
        // Weekdays 09:00-21:30: 08:30 waits, 21:15 goes, 21:30 waits.
        assert_eq!(
            q.check(TORONTO, Chicago, local(Toronto, "2026-06-15 08:30")),
            Err(local(Toronto, "2026-06-15 09:00"))
        );
        assert_eq!(
            q.check(TORONTO, Chicago, local(Toronto, "2026-06-15 21:15")),
            Ok(())
        );
        assert_eq!(
            q.check(TORONTO, Chicago, local(Toronto, "2026-06-15 21:30")),
            Err(local(Toronto, "2026-06-16 09:00"))
        );
        // Weekends 10:00-18:00: Friday night waits for Saturday 10:00.
        assert_eq!(
            q.check(TORONTO, Chicago, local(Toronto, "2026-06-12 22:00")),
            Err(local(Toronto, "2026-06-13 10:00"))
        );
        assert_eq!(
            q.check(TORONTO, Chicago, local(Toronto, "2026-06-14 18:00")),
            Err(local(Toronto, "2026-06-15 09:00"))
        );
        assert_eq!(
            q.check(TORONTO, Chicago, local(Toronto, "2026-06-13 12:00")),
            Ok(())
        );
    }

    #[test]
    fn rhode_island_saturday_and_sunday() {
        let q = rules();
        assert_eq!(
            q.check(PROVIDENCE, New_York, local(New_York, "2026-06-12 17:30")),
            Ok(())
        );
        assert_eq!(
            q.check(PROVIDENCE, New_York, local(New_York, "2026-06-12 18:00")),
            Err(local(New_York, "2026-06-13 10:00"))
        );
        assert_eq!(
            q.check(PROVIDENCE, New_York, local(New_York, "2026-06-13 17:00")),
            Err(local(New_York, "2026-06-15 09:00"))
        );
    }

    #[test]
    fn window_start_in_overlap_already_passed_once_uses_later_instant() {
        // At 01:15 EST (06:15 UTC, the *second* 01:15) the first 01:30 (05:30 UTC)
        // is in the past, so the window opens at the second 01:30 (06:30 UTC).
        let q = QuietHours {
            default: Window::from_times(hm(1, 30), hm(21, 0)),
            overrides: BTreeMap::new(),
        };
        assert_eq!(
            q.check(LONDON, New_York, utc("2026-11-01 06:15")),
            Err(utc("2026-11-01 06:30"))
        );
    }

    #[test]
    fn window_closed_every_day_never_opens() {
        let mut w = Window::hours(8, 21);
        for d in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ] {
            w = w.closed_on(d);
        }
        let q = QuietHours {
            default: w,
            overrides: BTreeMap::new(),
        };
        assert_eq!(
            q.check(NY, New_York, utc("2026-06-10 16:00")),
            Err(DateTime::<Utc>::MAX_UTC)
        );
    }

    #[test]
    fn us_defaults_cover_the_documented_states() {
        let q = rules();
        assert_eq!(q.default, Window::hours(8, 21));
        for (state, start, end) in [
            ("FL", 8, 20),
            ("OK", 8, 20),
            ("MD", 8, 20),
            ("NJ", 8, 20),
            ("WA", 8, 20),
            ("MA", 8, 20),
            ("CT", 9, 20),
            ("TX", 9, 21),
            ("AL", 8, 20),
            ("LA", 8, 20),
            ("MS", 8, 20),
            ("RI", 9, 18),
            ("KY", 10, 21),
            ("MI", 9, 21),
            ("MN", 9, 21),
            ("NM", 9, 21),
            ("NV", 9, 20),
            ("PA", 8, 21),
        ] {
            let w = &q.overrides[state];
            assert_eq!((w.start, w.end), (hm(start, 0), hm(end, 0)), "{state}");
        }
        for province in ["AB", "BC", "MB", "NB", "NL", "NS", "NT", "ON", "QC", "SK"] {
            let w = &q.overrides[province];
            assert_eq!((w.start, w.end), (hm(9, 0), hm(21, 30)), "{province}");
            for day in [Weekday::Sat, Weekday::Sun] {
                assert_eq!(w.hours_on(day), Some((hm(10, 0), hm(18, 0))), "{province}");
            }
        }
        assert_eq!(q.overrides.len(), 28);
        for state in ["AL", "LA", "MS", "RI"] {
            assert_eq!(q.overrides[state].hours_on(Weekday::Sun), None, "{state}");
        }
    }

    // ---- config ---------------------------------------------------------------

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn config_overrides_and_keeps_built_ins() {
        let q = QuietHours::from_config(&config(&[
            ("default", "09:00-20:00"),
            ("ny", "10:00-19:30 no-sunday"),
            ("TX", "09:00-21:00 sun=13:00-20:00"),
        ]))
        .unwrap();
        assert_eq!(q.default, Window::hours(9, 20));
        assert_eq!(
            q.overrides["NY"],
            Window::from_times(hm(10, 0), hm(19, 30)).closed_on(Weekday::Sun)
        );
        assert_eq!(
            q.overrides["TX"].hours_on(Weekday::Sun),
            Some((hm(13, 0), hm(20, 0)))
        );
        assert_eq!(q.overrides["FL"], Window::hours(8, 20), "built-in kept");
        assert_eq!(
            q.check(NY, New_York, local(New_York, "2026-06-10 19:45")),
            Err(local(New_York, "2026-06-11 10:00"))
        );
    }

    #[test]
    fn config_accepts_day_name_variants() {
        for v in [
            "08:00-20:00 no-sunday",
            "08:00-20:00 no-sun",
            "08:00-20:00 NO-Sunday",
        ] {
            let q = QuietHours::from_config(&config(&[("AL", v)])).unwrap();
            assert_eq!(q.overrides["AL"].hours_on(Weekday::Sun), None, "{v}");
        }
    }

    #[test]
    fn config_errors_name_the_key_and_the_fix() {
        for (key, value, expect) in [
            ("FL", "8-20", "not a time like 08:00"),
            ("FL", "08:00", "not a time range"),
            ("FL", "", "empty value"),
            ("default", "21:00-08:00", "cannot cross midnight"),
            ("AL", "08:00-20:00 no-sundae", "names no weekday"),
            ("AL", "08:00-20:00 weekdays", "unknown modifier"),
            ("RI", "09:00-18:00 sun=10:00-09:00", "not before end"),
        ] {
            let err = QuietHours::from_config(&config(&[(key, value)])).unwrap_err();
            assert!(
                err.contains(&format!("quiet hours entry \"{key}\"")),
                "{err}"
            );
            assert!(err.contains(expect), "{err}");
            assert!(err.contains("HH:MM-HH:MM"), "no fix in: {err}");
        }
        let err = QuietHours::from_config(&config(&[("Florida", "08:00-20:00")])).unwrap_err();
        assert!(
            err.contains("entry \"Florida\"") && err.contains("2-letter"),
            "{err}"
        );
        let all_closed = "08:00-20:00 no-mon no-tue no-wed no-thu no-fri no-sat no-sun";
        let err = QuietHours::from_config(&config(&[("default", all_closed)])).unwrap_err();
        assert!(err.contains("closed every day"), "{err}");
    }

    // ---- area codes -------------------------------------------------------------

    #[test]
    fn area_code_table_is_sorted_and_unique() {
        assert!(AREA_CODES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            AREA_CODES.len() > 400,
            "table looks incomplete: {}",
            AREA_CODES.len()
        );
        assert!(AREA_CODES
            .iter()
            .all(|&(code, region, _)| (200..1000).contains(&code) && region.len() == 2));
    }

    /// Found in review: 850 (Tallahassee is Eastern, the table says
    /// Central) let a text out at 20:15 Eastern, past Florida's 20:00; 812
    /// (Evansville is Central) at 07:00 Central. Both zones must be open.
    #[test]
    fn an_area_code_in_two_zones_must_be_inside_the_window_in_both() {
        let q = QuietHours::us_defaults();
        let chicago: Tz = "America/Chicago".parse().unwrap();
        // 2026-06-10 20:15 EDT = 00:15 UTC on the 11th.
        let at = Utc.with_ymd_and_hms(2026, 6, 11, 0, 15, 0).unwrap();
        let next = q.check("+18502245555", chicago, at).unwrap_err();
        // FL opens 08:00: Eastern first reaches it at 12:00 UTC, Central at
        // 13:00 UTC; both are open from 13:00.
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 6, 11, 13, 0, 0).unwrap());
        assert_eq!(q.check("+18502245555", chicago, next), Ok(()));
        // 812 at 07:00 CDT (12:00 UTC) is 08:00 EDT: not yet in Evansville.
        let at = Utc.with_ymd_and_hms(2026, 6, 10, 12, 0, 0).unwrap();
        assert!(q.check("+18124245555", chicago, at).is_err());
        assert_eq!(
            q.check("+18124245555", chicago, at + Duration::hours(1)),
            Ok(())
        );
        // A one-zone area code is unchanged: 08:00 EDT in New York is fine.
        assert_eq!(q.check("+12125550100", chicago, at), Ok(()));
        // Every split code is in the main table.
        for (code, _) in SPLIT_ZONES {
            assert!(
                area_code_info(&format!("+1{code}5550100")).is_some(),
                "{code}"
            );
        }
    }

    #[test]
    fn area_code_spot_checks() {
        use chrono_tz::America;
        use chrono_tz::Pacific;
        for (number, region, tz) in [
            ("+12125550100", "NY", America::New_York),
            ("+12135550100", "CA", America::Los_Angeles),
            ("+13105550100", "CA", America::Los_Angeles),
            ("+19155550100", "TX", America::Denver),
            ("+18505550100", "FL", America::Chicago),
            ("+12085550100", "ID", America::Boise),
            ("+16025550100", "AZ", America::Phoenix),
            ("+19075550100", "AK", America::Anchorage),
            ("+18085550100", "HI", Pacific::Honolulu),
            ("+12025550100", "DC", America::New_York),
            ("+14165550100", "ON", America::Toronto),
            ("+15145550100", "QC", America::Toronto),
            ("+13065550100", "SK", America::Regina),
            ("+17095550100", "NL", America::St_Johns),
            ("+17875550100", "PR", America::Puerto_Rico),
            ("+13405550100", "VI", America::St_Thomas),
            ("+16715550100", "GU", Pacific::Guam),
            ("+16845550100", "AS", Pacific::Pago_Pago),
        ] {
            assert_eq!(area_code_info(number), Some((region, tz)), "{number}");
        }
    }

    #[test]
    fn area_code_none_for_non_geographic_foreign_and_malformed() {
        for number in [
            "+18005550100", // toll-free
            "+18885550100",
            "+19005550100", // premium
            "+15005550100", // personal communications
            "+18765550100", // Jamaica: NANP but not US/Canada
            "+442071234567",
            "12125550100",
            "+1212555010",
            "+121255501000",
            "+1212-555-0100",
            "",
        ] {
            assert_eq!(area_code_info(number), None, "{number}");
        }
    }

    #[test]
    fn every_override_state_has_area_codes() {
        let known = known_region_codes();
        for state in rules().overrides.keys() {
            assert!(known.contains(state.as_str()), "{state}");
        }
    }

    // ---- properties -------------------------------------------------------------

    proptest::proptest! {
        /// Whatever the instant, a held text's release time is allowed, in the
        /// future, and the minute before it was not allowed (it is the *next* one).
        #[test]
        fn release_time_is_the_next_allowed_minute(
            minutes in 0i64..(2 * 366 * 24 * 60),
            number in proptest::sample::select(vec![NY, LA, MIAMI, PENSACOLA, BIRMINGHAM, DALLAS, PROVIDENCE, LONDON, "+19075550100", "+17095550100"]),
        ) {
            let q = rules();
            let at = utc("2026-01-01 00:00") + Duration::minutes(minutes);
            if let Err(next) = q.check(number, Chicago, at) {
                proptest::prop_assert!(next > at);
                proptest::prop_assert_eq!(q.check(number, Chicago, next), Ok(()));
                let before = next - Duration::minutes(1);
                if before > at {
                    proptest::prop_assert!(q.check(number, Chicago, before).is_err());
                }
            }
        }
    }
}
