//! Who is on call at a given moment: the chain an emergency pages, in
//! order (primary, backups, owner), from the roster the owner wrote in
//! `[business.on_call]` (parsed and validated by [`crate::config::roster`]).

use crate::config::roster::{describe_range, hhmm, week_map, OnCall, Role, Roster, Rotation};
use crate::config::roster::{DAY_NAMES, MINUTES_PER_DAY, MINUTES_PER_WEEK};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

impl Roster {
    /// The roster's person of this name (case-insensitive): a sign-in name
    /// that matches is that person's phone for their reminders.
    pub fn person_named(&self, name: &str) -> Option<&crate::config::roster::Person> {
        self.people
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::roster::*;
    use crate::config::ConfigError;
    use crate::domain::PhoneNumber;

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
