//! The quiet-hours tests: windows, state rules, DST edges, the owner's
//! overrides and the area-code table.
//!
//! Apart from the code so that each file holds one concern.

use super::area_codes::{AREA_CODES, SPLIT_ZONES};
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
