//! The on-call roster: who gets paged for an emergency, in what order, at
//! any given moment.
//!
//! A roster belongs to one business and lives in its `ringback.toml` table
//! `[business.on_call]`:
//!
//! ```toml
//! [business.on_call]
//! owner = "Dana"                 # paged last in every chain (must be in people)
//! ack_timeout_minutes = 5        # 1-30; no ACK within this → page the next person
//! repages = 3                    # 0-10; all-hands re-pages once the chain ran out
//! people = [
//!   { name = "Dana", phone = "+15125550199" },
//!   { name = "Mike", phone = "+15125550111" },
//!   { name = "Luis", phone = "+15125550122" },
//! ]
//!
//! # Weeknights: the shift starts Monday to Friday at 18:00 and runs to 07:00
//! # the next morning (a shift that ends "before" it starts crosses midnight
//! # and belongs to the day it starts on).
//! [[business.on_call.rotation]]
//! name = "weeknights"
//! days = "mon-fri"               # or ["mon", "wed"], "weekdays", "weekends", "daily"
//! hours = "18:00-07:00"
//! primary = "Mike"
//! backup = "Luis"                # or a list: ["Luis", "Ana"]
//!
//! [[business.on_call.rotation]]
//! name = "weekdays"
//! days = "mon-fri"
//! hours = "07:00-18:00"
//! primary = "Luis"
//! backup = "Mike"
//!
//! [[business.on_call.rotation]]
//! name = "weekend"
//! days = "weekends"
//! hours = "07:00-07:00"          # same start and end: a full 24 hours from 07:00
//! primary = "Luis"
//! ```
//!
//! Why it is shaped like this:
//! - **Shifts, not calendars.** Trade businesses think "Mike has weeknights,
//!   Luis has weekends". A rotation is a weekly pattern of shifts in the
//!   business's own time zone, which is what the owner writes on the
//!   whiteboard.
//! - **The owner closes every chain.** The chain for any moment is primary →
//!   backups → owner, with a person who appears twice paged only once. So a
//!   page always reaches somebody, even if the roster has a hole.
//! - **Overlaps are errors, gaps are not.** Two rotations covering the same
//!   minute would make "who is primary?" a coin toss, so that is refused
//!   with the day and time. A minute no rotation covers falls back to the
//!   owner alone: plenty of shops leave business hours uncovered because the
//!   office answers, and paging the owner is always safe. The gaps are listed
//!   by [`Roster::coverage_gaps`] so `check-config` can show them as a
//!   warning.
//! - **Wall-clock time, DST-proof.** Shift boundaries are local times. On the
//!   spring-forward night a boundary inside the skipped hour (say 02:30)
//!   happens at the first instant that exists (03:00 new time); on the
//!   fall-back night a boundary inside the repeated hour happens at its
//!   *first* occurrence, and the hand-over happens once, never back and
//!   forth.

use crate::config::ConfigError;
use crate::domain::PhoneNumber;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How long a paged person has to acknowledge before the next one is paged,
/// unless the roster says otherwise. Five minutes is the industry's usual
/// answer: long enough to pull over and read a text, short enough that a
/// caller with a gas smell is not left waiting.
pub const DEFAULT_ACK_TIMEOUT_MINUTES: u32 = 5;
/// Longer than half an hour per step and a three-person chain takes
/// longer than the emergency; shorter than a minute and a tech on a ladder
/// cannot answer.
pub const ACK_TIMEOUT_MINUTES: std::ops::RangeInclusive<u32> = 1..=30;
/// All-hands re-pages after everyone in the chain has had their turn (see
/// [`crate::escalation`] for what happens then).
pub const DEFAULT_REPAGES: u32 = 3;
pub const REPAGES: std::ops::RangeInclusive<u32> = 0..=10;

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MINUTES_PER_DAY: u32 = 1440;
const MINUTES_PER_WEEK: usize = 7 * 1440;

// ---------------------------------------------------------------------------
// Raw (as written in TOML)
// ---------------------------------------------------------------------------

/// `[business.on_call]` exactly as written. Unknown keys are refused so a
/// typo such as `ack_timout_minutes` is an error, not a silent default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoster {
    /// Name of the person paged last (usually the owner); must be in `people`.
    #[serde(default)]
    pub owner: String,
    pub ack_timeout_minutes: Option<u32>,
    pub repages: Option<u32>,
    #[serde(default)]
    pub people: Vec<RawPerson>,
    #[serde(default)]
    pub rotation: Vec<RawRotation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerson {
    pub name: String,
    pub phone: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRotation {
    /// A label for error messages and the admin API ("weeknights").
    pub name: Option<String>,
    /// The days a shift *starts* on.
    pub days: OneOrMany,
    /// `"HH:MM-HH:MM"` in the business's time zone, or `"all day"`.
    pub hours: String,
    pub primary: String,
    #[serde(default)]
    pub backup: OneOrMany,
}

/// A value written either as one string or as a list of strings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// Validated
// ---------------------------------------------------------------------------

/// Someone who can be paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub phone: PhoneNumber,
}

/// Why a person is in a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Primary,
    Backup,
    Owner,
}

/// One link of an escalation chain: who, on what phone, and in which role.
/// Escalations copy the chain when they start, so a roster change mid-page
/// does not reshuffle who is being paged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnCall {
    pub name: String,
    pub phone: PhoneNumber,
    pub role: Role,
}

/// A weekly shift pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub name: String,
    /// Position in the file, for error keys.
    index: usize,
    /// Monday = 0. The days a shift starts on.
    days: [bool; 7],
    /// Minutes after local midnight of the start day.
    start: u32,
    /// Minutes after local midnight of the start day; above 1440 when the
    /// shift crosses midnight. Always `start < end <= start + 1440`.
    end: u32,
    /// Indexes into `Roster::people`.
    primary: usize,
    backups: Vec<usize>,
}

/// A business's validated on-call roster.
#[derive(Debug, Clone)]
pub struct Roster {
    people: Vec<Person>,
    owner: usize,
    rotations: Vec<Rotation>,
    ack_timeout: Duration,
    repages: u32,
    tz: Tz,
}

impl Roster {
    /// Validates a raw roster. `key_prefix` is where the table sits in the
    /// file (e.g. `business[0].on_call`) so every error names its key; all
    /// problems are reported at once.
    pub fn parse(
        raw: &RawRoster,
        file: &str,
        key_prefix: &str,
        tz: Tz,
    ) -> Result<Roster, Vec<ConfigError>> {
        let key = |k: &str| {
            if key_prefix.is_empty() {
                k.to_string()
            } else {
                format!("{key_prefix}.{k}")
            }
        };
        let mut errs = Vec::new();

        // People.
        let mut people: Vec<Person> = Vec::new();
        if raw.people.is_empty() {
            errs.push(ConfigError::new(
                file,
                &key("people"),
                "nobody to page",
                "list who can be paged, e.g. people = [{ name = \"Mike\", phone = \"+15125550111\" }]",
            ));
        }
        // Names are looked up case-insensitively; a person whose entry is
        // broken still reserves the name so references to them do not also
        // report "unknown person".
        let mut names: Vec<String> = Vec::new();
        for (i, p) in raw.people.iter().enumerate() {
            let k = key(&format!("people[{i}]"));
            let name = p.name.trim();
            if name.is_empty() {
                errs.push(ConfigError::new(
                    file,
                    &format!("{k}.name"),
                    "is empty",
                    "give the name the caller will hear, e.g. \"Mike\"",
                ));
                continue;
            }
            if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                errs.push(ConfigError::new(
                    file,
                    &format!("{k}.name"),
                    format!("{name:?} is listed twice"),
                    "give each person one entry (add a last initial to tell two people apart)",
                ));
                continue;
            }
            names.push(name.to_string());
            match PhoneNumber::parse(&p.phone) {
                Ok(phone) => {
                    if let Some(other) = people.iter().find(|q| q.phone == phone) {
                        errs.push(ConfigError::new(
                            file,
                            &format!("{k}.phone"),
                            format!("{} is also {}'s phone", phone, other.name),
                            "each person needs their own phone, or an ACK could not tell who took the job",
                        ));
                    }
                    people.push(Person {
                        name: name.to_string(),
                        phone,
                    });
                }
                Err(e) => errs.push(ConfigError::new(
                    file,
                    &format!("{k}.phone"),
                    format!("{:?}: {e}", p.phone),
                    "write the cell phone in E.164, e.g. \"+15125550111\"",
                )),
            }
        }
        let known = names.join(", ");
        // Ok(Some(i)): valid person; Ok(None): a broken entry already reported.
        let lookup = |errs: &mut Vec<ConfigError>, k: &str, name: &str| -> Option<usize> {
            let name = name.trim();
            if let Some(i) = people
                .iter()
                .position(|p| p.name.eq_ignore_ascii_case(name))
            {
                return Some(i);
            }
            if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                errs.push(ConfigError::new(
                    file,
                    k,
                    format!("{name:?} is not in people"),
                    if known.is_empty() {
                        "add them to people first".to_string()
                    } else {
                        format!("use one of: {known} (or add them to people)")
                    },
                ));
            }
            None
        };

        let owner = if raw.owner.trim().is_empty() {
            errs.push(ConfigError::new(
                file,
                &key("owner"),
                "is missing",
                "name the person paged last in every chain, usually the owner, e.g. owner = \"Dana\"",
            ));
            None
        } else {
            lookup(&mut errs, &key("owner"), &raw.owner)
        };

        let ack = raw
            .ack_timeout_minutes
            .unwrap_or(DEFAULT_ACK_TIMEOUT_MINUTES);
        if !ACK_TIMEOUT_MINUTES.contains(&ack) {
            errs.push(ConfigError::new(
                file,
                &key("ack_timeout_minutes"),
                format!("{ack} is out of range"),
                format!(
                    "use {} to {} minutes (default {DEFAULT_ACK_TIMEOUT_MINUTES}): long enough to read a text, short enough for an emergency",
                    ACK_TIMEOUT_MINUTES.start(),
                    ACK_TIMEOUT_MINUTES.end()
                ),
            ));
        }
        let repages = raw.repages.unwrap_or(DEFAULT_REPAGES);
        if !REPAGES.contains(&repages) {
            errs.push(ConfigError::new(
                file,
                &key("repages"),
                format!("{repages} is out of range"),
                format!(
                    "use {} to {} (default {DEFAULT_REPAGES})",
                    REPAGES.start(),
                    REPAGES.end()
                ),
            ));
        }

        // Rotations.
        let mut rotations = Vec::new();
        for (i, r) in raw.rotation.iter().enumerate() {
            let k = key(&format!("rotation[{i}]"));
            let days = match parse_days(&r.days) {
                Ok(d) => Some(d),
                Err(msg) => {
                    errs.push(ConfigError::new(
                        file,
                        &format!("{k}.days"),
                        msg,
                        "write days such as \"mon-fri\", \"weekends\", \"daily\" or [\"mon\", \"thu\"]",
                    ));
                    None
                }
            };
            let hours = match parse_shift(&r.hours) {
                Ok(h) => Some(h),
                Err(msg) => {
                    errs.push(ConfigError::new(
                        file,
                        &format!("{k}.hours"),
                        msg,
                        "write \"HH:MM-HH:MM\" in the business's time zone, e.g. \"18:00-07:00\" for an overnight shift, or \"all day\"",
                    ));
                    None
                }
            };
            let primary = lookup(&mut errs, &format!("{k}.primary"), &r.primary);
            let backups: Vec<Option<usize>> = r
                .backup
                .items()
                .into_iter()
                .map(|b| lookup(&mut errs, &format!("{k}.backup"), b))
                .collect();
            if let (Some(days), Some((start, end)), Some(primary)) = (days, hours, primary) {
                rotations.push(Rotation {
                    name: r
                        .name
                        .clone()
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| format!("rotation[{i}]")),
                    index: i,
                    days,
                    start,
                    end,
                    primary,
                    backups: backups.into_iter().flatten().collect(),
                });
            }
        }

        // Overlaps, checked on the weekly wall clock.
        let week = week_map(&rotations);
        for (a, b, first, len) in week.overlaps {
            errs.push(ConfigError::new(
                file,
                &key(&format!("rotation[{}]", rotations[b].index)),
                format!(
                    "{:?} overlaps {:?} on {}, so nobody would know who is primary",
                    rotations[b].name,
                    rotations[a].name,
                    describe_range(first, first + len),
                ),
                "make one shift end where the next begins, e.g. \"07:00-18:00\" then \"18:00-07:00\"",
            ));
        }

        match (errs.is_empty(), owner) {
            (true, Some(owner)) => Ok(Roster {
                people,
                owner,
                rotations,
                ack_timeout: Duration::minutes(ack as i64),
                repages,
                tz,
            }),
            _ => Err(errs),
        }
    }

    /// Who to page for an emergency at `at`, in order: the primary of the
    /// shift that covers `at`, its backups, then the owner. Everyone appears
    /// once (the first role wins), and the list is never empty: outside any
    /// shift it is the owner alone.
    pub fn chain_at(&self, at: DateTime<Utc>) -> Vec<OnCall> {
        let mut chain: Vec<OnCall> = Vec::new();
        let mut push = |i: usize, role: Role| {
            let p = &self.people[i];
            if !chain.iter().any(|c| c.phone == p.phone) {
                chain.push(OnCall {
                    name: p.name.clone(),
                    phone: p.phone.clone(),
                    role,
                });
            }
        };
        if let Some(r) = self.rotation_at(at) {
            push(r.primary, Role::Primary);
            for &b in &r.backups {
                push(b, Role::Backup);
            }
        }
        push(self.owner, Role::Owner);
        chain
    }

    /// The shift covering `at`, if any.
    pub fn rotation_at(&self, at: DateTime<Utc>) -> Option<&Rotation> {
        let today = at.with_timezone(&self.tz).date_naive();
        // A shift lasts at most 24 local hours, so only shifts that started
        // yesterday or today can cover `at`.
        let days = [today.pred_opt()?, today];
        days.into_iter().find_map(|day| {
            let wd = day.weekday().num_days_from_monday() as usize;
            self.rotations.iter().find(|r| {
                r.days[wd]
                    && resolve(self.tz, day, r.start) <= at
                    && at < resolve(self.tz, day, r.end)
            })
        })
    }

    /// How long each person has to acknowledge.
    pub fn ack_timeout(&self) -> Duration {
        self.ack_timeout
    }

    /// All-hands re-pages once everyone in the chain has had their turn.
    pub fn repages(&self) -> u32 {
        self.repages
    }

    /// The escalation policy this roster implies.
    pub fn policy(&self) -> crate::escalation::Policy {
        crate::escalation::Policy {
            ack_timeout: self.ack_timeout,
            repages: self.repages,
        }
    }

    /// The person paged last in every chain.
    pub fn owner(&self) -> &Person {
        &self.people[self.owner]
    }

    pub fn people(&self) -> &[Person] {
        &self.people
    }

    pub fn rotations(&self) -> &[Rotation] {
        &self.rotations
    }

    /// The on-call person with this phone. Staff numbers are staff, not
    /// leads: a text from one is an ACK or a question, never a new lead.
    pub fn person_by_phone(&self, phone: &PhoneNumber) -> Option<&Person> {
        self.people.iter().find(|p| &p.phone == phone)
    }

    /// Stretches of the week no rotation covers, e.g. `"Mon 07:00-18:00"`,
    /// split at midnight. During them only the owner is paged; show them to
    /// the owner as a warning so it is a choice, not an accident.
    pub fn coverage_gaps(&self) -> Vec<String> {
        let week = week_map(&self.rotations);
        let mut out = Vec::new();
        let mut m = 0;
        while m < MINUTES_PER_WEEK {
            if week.owner[m].is_some() {
                m += 1;
                continue;
            }
            let start = m;
            let day_end = (m / MINUTES_PER_DAY as usize + 1) * MINUTES_PER_DAY as usize;
            while m < day_end && week.owner[m].is_none() {
                m += 1;
            }
            out.push(describe_range(start, m));
        }
        out
    }
}

impl Rotation {
    /// `"Mon,Tue 18:00-07:00"`-style description for the admin API.
    pub fn describe(&self) -> String {
        let days: Vec<&str> = (0..7)
            .filter(|&d| self.days[d])
            .map(|d| DAY_NAMES[d])
            .collect();
        let end = if self.end > MINUTES_PER_DAY {
            self.end - MINUTES_PER_DAY
        } else {
            self.end
        };
        format!("{} {}-{}", days.join(","), hhmm(self.start), hhmm(end))
    }
}

/// The instant a local wall-clock time happens: `minutes` after midnight of
/// `day` (may run into the next day). A time skipped by spring-forward
/// happens at the first minute that exists; a time repeated by fall-back
/// happens at its first occurrence.
fn resolve(tz: Tz, day: NaiveDate, minutes: u32) -> DateTime<Utc> {
    let day = day + Duration::days((minutes / MINUTES_PER_DAY) as i64);
    let m = minutes % MINUTES_PER_DAY;
    let local = day.and_time(NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or(NaiveTime::MIN));
    // Real gaps are at most a couple of hours; a day bounds the search.
    (0..=MINUTES_PER_DAY as i64)
        .find_map(|step| {
            tz.from_local_datetime(&(local + Duration::minutes(step)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

struct WeekMap {
    /// Which rotation covers each minute of the local week (Monday 00:00 = 0).
    owner: Vec<Option<usize>>,
    /// (earlier rotation, later rotation, first minute, length) of the first
    /// overlapping stretch of each pair.
    overlaps: Vec<(usize, usize, usize, usize)>,
}

fn week_map(rotations: &[Rotation]) -> WeekMap {
    let mut owner: Vec<Option<usize>> = vec![None; MINUTES_PER_WEEK];
    let mut overlaps: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (ri, r) in rotations.iter().enumerate() {
        for day in (0..7).filter(|&d| r.days[d]) {
            for m in r.start..r.end {
                let idx = (day * MINUTES_PER_DAY as usize + m as usize) % MINUTES_PER_WEEK;
                match owner[idx] {
                    None => owner[idx] = Some(ri),
                    Some(other) => {
                        // Extend the pair's first run if this minute continues it.
                        match overlaps.iter_mut().find(|o| o.0 == other && o.1 == ri) {
                            Some(o) if (o.2 + o.3) % MINUTES_PER_WEEK == idx => o.3 += 1,
                            Some(_) => {}
                            None => overlaps.push((other, ri, idx, 1)),
                        }
                    }
                }
            }
        }
    }
    WeekMap { owner, overlaps }
}

/// `"Sat 00:00-07:00"` for a stretch of week minutes (end exclusive).
fn describe_range(start: usize, end: usize) -> String {
    let day = (start / MINUTES_PER_DAY as usize) % 7;
    let s = (start % MINUTES_PER_DAY as usize) as u32;
    let e = s + (end - start) as u32;
    let shown_end = if e > MINUTES_PER_DAY {
        e - MINUTES_PER_DAY
    } else {
        e
    };
    format!("{} {}-{}", DAY_NAMES[day], hhmm(s), hhmm(shown_end))
}

fn hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn day_index(s: &str) -> Option<usize> {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let s = s.trim().to_ascii_lowercase();
    FULL.iter()
        .position(|f| *f == s || (s.len() >= 3 && f.starts_with(&s)))
}

/// Days written as names, ranges (`mon-fri`, also wrapping: `fri-mon`) or
/// the words `weekdays`, `weekends`, `daily`.
fn parse_days(raw: &OneOrMany) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for item in raw.items() {
        for part in item.split(',') {
            let p = part.trim().to_ascii_lowercase();
            match p.as_str() {
                "" => continue,
                "weekdays" => days[..5].iter_mut().for_each(|d| *d = true),
                "weekends" | "weekend" => days[5..].iter_mut().for_each(|d| *d = true),
                "daily" | "every day" | "everyday" | "all" => days = [true; 7],
                _ => {
                    if let Some((a, b)) = p.split_once('-') {
                        let (Some(a), Some(b)) = (day_index(a), day_index(b)) else {
                            return Err(format!("{part:?} is not a range of days"));
                        };
                        let mut d = a;
                        loop {
                            days[d] = true;
                            if d == b {
                                break;
                            }
                            d = (d + 1) % 7;
                        }
                    } else {
                        let d = day_index(&p).ok_or_else(|| format!("{part:?} is not a day"))?;
                        days[d] = true;
                    }
                }
            }
        }
    }
    if days.iter().all(|d| !d) {
        return Err("no days given".into());
    }
    Ok(days)
}

/// `"HH:MM-HH:MM"` → (start, end) minutes with `start < end <= start+1440`.
/// An end at or before the start crosses midnight ("18:00-07:00"); equal
/// times mean a full 24 hours from that time.
fn parse_shift(s: &str) -> Result<(u32, u32), String> {
    let t = s.trim().to_ascii_lowercase();
    if t == "all day" || t == "24h" || t == "24 hours" {
        return Ok((0, MINUTES_PER_DAY));
    }
    let bad = || format!("{s:?} is not a time range");
    let (a, b) = t.split_once('-').ok_or_else(bad)?;
    let start = parse_hhmm(a.trim()).ok_or_else(bad)?;
    let end = parse_hhmm(b.trim()).ok_or_else(bad)?;
    if start == MINUTES_PER_DAY {
        return Err(format!("{s:?} starts at 24:00; start at 00:00 instead"));
    }
    Ok(if end > start {
        (start, end)
    } else {
        (start, end + MINUTES_PER_DAY)
    })
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    ((h < 24 && m < 60) || (h == 24 && m == 0)).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHICAGO: Tz = chrono_tz::America::Chicago;

    fn raw(text: &str) -> RawRoster {
        toml::from_str(text).unwrap()
    }

    fn roster(text: &str) -> Roster {
        Roster::parse(&raw(text), "ringback.toml", "business[0].on_call", CHICAGO)
            .unwrap_or_else(|e| panic!("{e:#?}"))
    }

    fn errors(text: &str) -> Vec<ConfigError> {
        Roster::parse(&raw(text), "ringback.toml", "business[0].on_call", CHICAGO).unwrap_err()
    }

    const PEOPLE: &str = r#"
owner = "Dana"
people = [
  { name = "Dana", phone = "+15125550199" },
  { name = "Mike", phone = "+15125550111" },
  { name = "Luis", phone = "+15125550122" },
  { name = "Ana",  phone = "+15125550133" },
]
"#;

    /// The roster from the module docs.
    fn spartan() -> Roster {
        roster(&format!(
            r#"{PEOPLE}
[[rotation]]
name = "weeknights"
days = "mon-fri"
hours = "18:00-07:00"
primary = "Mike"
backup = "Luis"

[[rotation]]
name = "weekdays"
days = "mon-fri"
hours = "07:00-18:00"
primary = "Luis"
backup = "Mike"

[[rotation]]
name = "weekend"
days = "weekends"
hours = "07:00-07:00"
primary = "Ana"
backup = ["Luis", "Dana"]
"#
        ))
    }

    /// Local wall-clock time in Chicago → UTC (must be unambiguous).
    fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        CHICAGO
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn names(chain: &[OnCall]) -> Vec<&str> {
        chain.iter().map(|c| c.name.as_str()).collect()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn chain_is_primary_backup_owner() {
        let r = spartan();
        // Tuesday 2026-11-24 21:00 local: weeknights.
        let chain = r.chain_at(local(2026, 11, 24, 21, 0));
        assert_eq!(names(&chain), ["Mike", "Luis", "Dana"]);
        assert_eq!(
            chain.iter().map(|c| c.role).collect::<Vec<_>>(),
            [Role::Primary, Role::Backup, Role::Owner]
        );
        assert_eq!(chain[0].phone.as_str(), "+15125550111");
        // Tuesday 10:00: weekdays.
        assert_eq!(
            names(&r.chain_at(local(2026, 11, 24, 10, 0))),
            ["Luis", "Mike", "Dana"]
        );
        assert_eq!(r.ack_timeout(), Duration::minutes(5));
        assert_eq!(r.repages(), DEFAULT_REPAGES);
        assert_eq!(r.owner().name, "Dana");
    }

    #[test]
    fn owner_in_the_chain_is_paged_once_in_their_first_role() {
        let r = spartan();
        // Saturday 12:00: weekend, backups Luis then Dana (the owner).
        let chain = r.chain_at(local(2026, 11, 28, 12, 0));
        assert_eq!(names(&chain), ["Ana", "Luis", "Dana"]);
        assert_eq!(chain[2].role, Role::Backup);
    }

    #[test]
    fn overnight_shift_belongs_to_the_day_it_starts() {
        let r = spartan();
        // Wednesday 02:00 is still Tuesday night's shift.
        assert_eq!(r.chain_at(local(2026, 11, 25, 2, 0))[0].name, "Mike");
        // Saturday 02:00 is Friday night's shift; the weekend starts at 07:00.
        assert_eq!(r.chain_at(local(2026, 11, 28, 2, 0))[0].name, "Mike");
        assert_eq!(r.chain_at(local(2026, 11, 28, 7, 0))[0].name, "Ana");
        // Monday 06:59 is still Sunday's 24 h weekend shift, 07:00 weekdays.
        assert_eq!(r.chain_at(local(2026, 11, 30, 6, 59))[0].name, "Ana");
        assert_eq!(r.chain_at(local(2026, 11, 30, 7, 0))[0].name, "Luis");
    }

    #[test]
    fn hand_over_at_midnight() {
        let r = roster(&format!(
            r#"{PEOPLE}
[[rotation]]
days = "daily"
hours = "00:00-12:00"
primary = "Mike"
[[rotation]]
days = "daily"
hours = "12:00-24:00"
primary = "Luis"
"#
        ));
        assert_eq!(r.chain_at(local(2026, 11, 24, 23, 59))[0].name, "Luis");
        assert_eq!(r.chain_at(local(2026, 11, 25, 0, 0))[0].name, "Mike");
        assert!(r.coverage_gaps().is_empty());
    }

    #[test]
    fn spring_forward_boundary_in_the_skipped_hour() {
        // 2026-03-08: Chicago jumps from 02:00 CST to 03:00 CDT (08:00 UTC).
        let r = roster(&format!(
            r#"{PEOPLE}
[[rotation]]
days = "daily"
hours = "14:30-02:30"
primary = "Mike"
[[rotation]]
days = "daily"
hours = "02:30-14:30"
primary = "Luis"
"#
        ));
        // 01:59 CST = 07:59 UTC: still the night shift.
        assert_eq!(r.chain_at(utc(2026, 3, 8, 7, 59))[0].name, "Mike");
        // 03:00 CDT = 08:00 UTC: 02:30 never happened; the hand-over is the
        // first instant that exists.
        assert_eq!(r.chain_at(utc(2026, 3, 8, 8, 0))[0].name, "Luis");
        // The day shift ends at 14:30 CDT = 19:30 UTC as usual.
        assert_eq!(r.chain_at(utc(2026, 3, 8, 19, 29))[0].name, "Luis");
        assert_eq!(r.chain_at(utc(2026, 3, 8, 19, 30))[0].name, "Mike");
    }

    #[test]
    fn fall_back_hands_over_once_at_the_first_occurrence() {
        // 2026-11-01: Chicago repeats 01:00-02:00 (CDT 06:00-07:00 UTC, then
        // CST 07:00-08:00 UTC).
        let r = roster(&format!(
            r#"{PEOPLE}
[[rotation]]
days = "daily"
hours = "13:30-01:30"
primary = "Mike"
[[rotation]]
days = "daily"
hours = "01:30-13:30"
primary = "Luis"
"#
        ));
        // 01:29 CDT = 06:29 UTC: night shift.
        assert_eq!(r.chain_at(utc(2026, 11, 1, 6, 29))[0].name, "Mike");
        // 01:30 CDT = 06:30 UTC: day shift...
        assert_eq!(r.chain_at(utc(2026, 11, 1, 6, 30))[0].name, "Luis");
        // ...and it stays day shift when the clock shows 01:15 again (CST).
        assert_eq!(r.chain_at(utc(2026, 11, 1, 7, 15))[0].name, "Luis");
        assert_eq!(r.chain_at(utc(2026, 11, 1, 7, 45))[0].name, "Luis");
        // The evening hand-over is at 13:30 CST = 19:30 UTC.
        assert_eq!(r.chain_at(utc(2026, 11, 1, 19, 29))[0].name, "Luis");
        assert_eq!(r.chain_at(utc(2026, 11, 1, 19, 30))[0].name, "Mike");
    }

    #[test]
    fn overnight_shift_across_dst_nights_keeps_local_boundaries() {
        let r = spartan();
        // Sunday 2026-03-08 weekend shift runs 07:00 CST Sat → 07:00 CDT Sun.
        assert_eq!(r.chain_at(utc(2026, 3, 8, 11, 59))[0].name, "Ana"); // 06:59 CDT
                                                                        // Sunday is also a weekend day, so its own shift starts at 07:00 CDT.
        assert_eq!(r.chain_at(utc(2026, 3, 8, 12, 0))[0].name, "Ana");
        // Monday 2026-03-09 07:00 CDT = 12:00 UTC: weekdays.
        assert_eq!(r.chain_at(utc(2026, 3, 9, 11, 59))[0].name, "Ana");
        assert_eq!(r.chain_at(utc(2026, 3, 9, 12, 0))[0].name, "Luis");
        // Fall back: Monday 2026-11-02 07:00 CST = 13:00 UTC.
        assert_eq!(r.chain_at(utc(2026, 11, 2, 12, 59))[0].name, "Ana");
        assert_eq!(r.chain_at(utc(2026, 11, 2, 13, 0))[0].name, "Luis");
    }

    #[test]
    fn gaps_page_the_owner_alone_and_are_listed() {
        let r = roster(&format!(
            r#"{PEOPLE}
[[rotation]]
name = "weeknights"
days = "weekdays"
hours = "18:00-07:00"
primary = "Mike"
backup = "Luis"
"#
        ));
        // Tuesday noon: the office is open, nobody is on call.
        let chain = r.chain_at(local(2026, 11, 24, 12, 0));
        assert_eq!(names(&chain), ["Dana"]);
        assert_eq!(chain[0].role, Role::Owner);
        let gaps = r.coverage_gaps();
        // Nothing covers Sunday night into Monday, or the weekday daytime.
        assert_eq!(gaps[0], "Mon 00:00-18:00");
        assert_eq!(gaps[1], "Tue 07:00-18:00");
        assert!(gaps.contains(&"Sat 07:00-24:00".to_string()), "{gaps:?}");
        assert!(gaps.contains(&"Sun 00:00-24:00".to_string()), "{gaps:?}");
        // No rotations at all: the owner, always.
        let r = roster(PEOPLE);
        assert_eq!(names(&r.chain_at(local(2026, 11, 24, 3, 0))), ["Dana"]);
    }

    #[test]
    fn overlaps_are_errors_naming_day_and_time() {
        let e = errors(&format!(
            r#"{PEOPLE}
[[rotation]]
name = "weeknights"
days = "mon-fri"
hours = "18:00-08:00"
primary = "Mike"
[[rotation]]
name = "weekend"
days = "weekends"
hours = "all day"
primary = "Ana"
"#
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].key, "business[0].on_call.rotation[1]");
        assert!(
            e[0].message
                .contains("\"weekend\" overlaps \"weeknights\" on Sat 00:00-08:00"),
            "{}",
            e[0].message
        );
    }

    #[test]
    fn sunday_night_shift_wraps_into_monday() {
        let e = errors(&format!(
            r#"{PEOPLE}
[[rotation]]
days = "sun"
hours = "20:00-08:00"
primary = "Mike"
[[rotation]]
days = "mon"
hours = "06:00-12:00"
primary = "Luis"
"#
        ));
        assert!(e[0].message.contains("Mon 06:00-08:00"), "{e:#?}");
    }

    #[test]
    fn unknown_names_bad_phones_and_ranges_are_reported_together() {
        let e = errors(
            r#"
owner = "Donna"
ack_timeout_minutes = 90
repages = 11
people = [
  { name = "Dana", phone = "512-555-0199" },
  { name = "Mike", phone = "+15125550111" },
  { name = "mike", phone = "+15125550112" },
  { name = "Luis", phone = "+15125550111" },
]
[[rotation]]
days = "mon-fry"
hours = "6pm-7am"
primary = "Mikey"
backup = ["Luis", "Dana", "Zed"]
"#,
        );
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        let p = "business[0].on_call";
        for want in [
            format!("{p}.people[0].phone"),
            format!("{p}.people[2].name"),
            format!("{p}.people[3].phone"),
            format!("{p}.owner"),
            format!("{p}.ack_timeout_minutes"),
            format!("{p}.repages"),
            format!("{p}.rotation[0].days"),
            format!("{p}.rotation[0].hours"),
            format!("{p}.rotation[0].primary"),
            format!("{p}.rotation[0].backup"),
        ] {
            assert!(keys.contains(&want.as_str()), "missing {want}: {keys:?}");
        }
        // Dana's entry is broken (bad phone), so naming her is not "unknown".
        let backup: Vec<_> = e.iter().filter(|e| e.key.ends_with("backup")).collect();
        assert_eq!(backup.len(), 1);
        assert!(backup[0].message.contains("\"Zed\""));
        assert!(
            backup[0].fix.contains("Dana, Mike, Luis"),
            "{}",
            backup[0].fix
        );
        for err in &e {
            assert_eq!(err.file, "ringback.toml");
            assert!(!err.fix.is_empty());
        }
    }

    #[test]
    fn missing_owner_and_empty_people() {
        let e = errors("");
        let keys: Vec<&str> = e.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            ["business[0].on_call.people", "business[0].on_call.owner"]
        );
    }

    #[test]
    fn unknown_keys_are_refused_by_serde() {
        let r: Result<RawRoster, _> = toml::from_str("owner = \"Dana\"\nack_timout_minutes = 5\n");
        assert!(r.unwrap_err().to_string().contains("ack_timout_minutes"));
    }

    #[test]
    fn days_and_hours_syntax() {
        let d = |s: &str| parse_days(&OneOrMany::One(s.into()));
        assert_eq!(
            d("mon-fri").unwrap(),
            [true, true, true, true, true, false, false]
        );
        assert_eq!(
            d("fri-mon").unwrap(),
            [true, false, false, false, true, true, true]
        );
        assert_eq!(
            d("weekends").unwrap(),
            [false, false, false, false, false, true, true]
        );
        assert_eq!(
            d("Monday, thu").unwrap(),
            [true, false, false, true, false, false, false]
        );
        assert_eq!(d("daily").unwrap(), [true; 7]);
        assert!(d("funday").is_err());
        assert!(d("").is_err());
        assert_eq!(
            parse_days(&OneOrMany::Many(vec!["sat".into(), "sun".into()])).unwrap(),
            [false, false, false, false, false, true, true]
        );
        assert_eq!(parse_shift("07:00-18:00"), Ok((420, 1080)));
        assert_eq!(parse_shift("18:00-07:00"), Ok((1080, 1860)));
        assert_eq!(parse_shift("00:00-24:00"), Ok((0, 1440)));
        assert_eq!(parse_shift("all day"), Ok((0, 1440)));
        assert_eq!(parse_shift("07:00-07:00"), Ok((420, 1860)));
        assert!(parse_shift("7-18").is_err());
        assert!(parse_shift("24:00-07:00").is_err());
        assert!(parse_shift("25:00-07:00").is_err());
    }

    #[test]
    fn staff_lookup_and_description() {
        let r = spartan();
        let mike = PhoneNumber::parse("+15125550111").unwrap();
        assert_eq!(r.person_by_phone(&mike).unwrap().name, "Mike");
        assert!(r
            .person_by_phone(&PhoneNumber::parse("+15125550147").unwrap())
            .is_none());
        assert_eq!(
            r.rotations()[0].describe(),
            "Mon,Tue,Wed,Thu,Fri 18:00-07:00"
        );
        assert_eq!(r.rotations()[2].describe(), "Sat,Sun 07:00-07:00");
        assert!(r.coverage_gaps().is_empty(), "{:?}", r.coverage_gaps());
    }
}
