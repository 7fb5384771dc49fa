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

use super::ConfigError;
use crate::domain::PhoneNumber;
use chrono::Duration;
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
/// [`crate::core::escalation`] for what happens then).
pub const DEFAULT_REPAGES: u32 = 3;
pub const REPAGES: std::ops::RangeInclusive<u32> = 0..=10;

pub(crate) const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
pub(crate) const MINUTES_PER_DAY: u32 = 1440;
pub(crate) const MINUTES_PER_WEEK: usize = 7 * 1440;

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
    pub(crate) index: usize,
    /// Monday = 0. The days a shift starts on.
    pub(crate) days: [bool; 7],
    /// Minutes after local midnight of the start day.
    pub(crate) start: u32,
    /// Minutes after local midnight of the start day; above 1440 when the
    /// shift crosses midnight. Always `start < end <= start + 1440`.
    pub(crate) end: u32,
    /// Indexes into `Roster::people`.
    pub(crate) primary: usize,
    pub(crate) backups: Vec<usize>,
}

/// A business's validated on-call roster.
#[derive(Debug, Clone)]
pub struct Roster {
    pub(crate) people: Vec<Person>,
    pub(crate) owner: usize,
    pub(crate) rotations: Vec<Rotation>,
    pub(crate) ack_timeout: Duration,
    pub(crate) repages: u32,
    pub(crate) tz: Tz,
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

    /// How long each person has to acknowledge.
    pub fn ack_timeout(&self) -> Duration {
        self.ack_timeout
    }

    /// All-hands re-pages once everyone in the chain has had their turn.
    pub fn repages(&self) -> u32 {
        self.repages
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
}

pub(crate) struct WeekMap {
    /// Which rotation covers each minute of the local week (Monday 00:00 = 0).
    pub(crate) owner: Vec<Option<usize>>,
    /// (earlier rotation, later rotation, first minute, length) of the first
    /// overlapping stretch of each pair.
    pub(crate) overlaps: Vec<(usize, usize, usize, usize)>,
}

pub(crate) fn week_map(rotations: &[Rotation]) -> WeekMap {
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
pub(crate) fn describe_range(start: usize, end: usize) -> String {
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

pub(crate) fn hhmm(m: u32) -> String {
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
pub(crate) fn parse_days(raw: &OneOrMany) -> Result<[bool; 7], String> {
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
pub(crate) fn parse_shift(s: &str) -> Result<(u32, u32), String> {
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
