use super::*;
use std::collections::BTreeMap;

fn chicago() -> Tz {
    "America/Chicago".parse().unwrap()
}

/// Weekdays 07:00–18:00, as the tests' Spartan Plumbing.
fn spartan() -> Calendar {
    let m: BTreeMap<String, String> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| (d.to_string(), "07:00-18:00".to_string()))
        .collect();
    Calendar {
        hours: BusinessHours::parse(&m).unwrap(),
        tz: chicago(),
    }
}

/// 2026-11-`day` at local `h:m` in Chicago (CST = UTC-6). The 23rd is a
/// Monday.
fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap()
        + Duration::hours(6)
        + Duration::minutes(i64::from(h * 60 + m))
}

fn lead(id: i64, missed_at: DateTime<Utc>) -> LeadFacts {
    LeadFacts {
        lead_id: id,
        business_id: "spartan".into(),
        tracking_number: "+15125550100".into(),
        caller: format!("+1512555{id:04}"),
        missed_at,
        owner: None,
        attempts: Vec::new(),
        disposition: None,
        reason: None,
        suppressed: None,
        texted: true,
        opted_out: false,
    }
}

fn tried(l: &mut LeadFacts, at: DateTime<Utc>, outcome: Outcome) {
    l.attempts.push(Attempt {
        at,
        by: "maria".into(),
        outcome,
    });
}

fn score(leads: &[LeadFacts], now: DateTime<Utc>) -> Figures {
    let cal = spartan();
    figures(leads, &|_| Some(&cal), now)
}

#[test]
fn no_leads_no_figures_and_no_alarm() {
    let f = score(&[], at(24, 12, 0));
    assert_eq!(f.leads, 0);
    assert_eq!(f.median_first_attempt, None);
    assert_eq!(f.recovery.share(), None);
    assert_eq!(f.recovery.percent(), "–");
    assert!(!f.opt_out_alarm());
    assert!(f.top_reasons.is_empty());
}

#[test]
fn the_median_wait_is_the_middle_one_or_the_mean_of_two() {
    let mut leads: Vec<LeadFacts> = (1..=3).map(|i| lead(i, at(24, 10, 0))).collect();
    tried(&mut leads[0], at(24, 10, 4), Outcome::NoAnswer);
    tried(&mut leads[1], at(24, 10, 12), Outcome::Reached);
    tried(&mut leads[2], at(24, 11, 0), Outcome::NoAnswer);
    // A second attempt does not move the first.
    tried(&mut leads[0], at(24, 10, 30), Outcome::NoAnswer);
    let now = at(24, 12, 0);
    assert_eq!(
        score(&leads, now).median_first_attempt,
        Some(Duration::minutes(12))
    );
    leads.push(lead(4, at(24, 10, 0)));
    tried(&mut leads[3], at(24, 10, 20), Outcome::NoAnswer);
    assert_eq!(
        score(&leads, now).median_first_attempt,
        Some(Duration::minutes(16))
    );
}

#[test]
fn two_attempts_done_when_reached_booked_or_called_twice() {
    let mut leads: Vec<LeadFacts> = (1..=5).map(|i| lead(i, at(24, 10, 0))).collect();
    tried(&mut leads[0], at(24, 10, 5), Outcome::NoAnswer);
    tried(&mut leads[0], at(24, 11, 5), Outcome::Voicemail); // twice: done
    tried(&mut leads[1], at(24, 10, 5), Outcome::Reached); // reached: done
    leads[2].disposition = Some("booked_job".into()); // booked by text: done
    tried(&mut leads[3], at(24, 10, 5), Outcome::NoAnswer); // once: not done
    leads[4].disposition = Some("wrong_number_spam".into()); // not counted
    let f = score(&leads, at(24, 12, 0));
    assert_eq!(f.two_attempts, Ratio { part: 3, whole: 4 });
    assert_eq!(f.two_attempts.percent(), "75 %");
}

#[test]
fn recovery_is_booked_out_of_reachable() {
    let mut leads: Vec<LeadFacts> = (1..=6).map(|i| lead(i, at(24, 10, 0))).collect();
    leads[0].disposition = Some("booked_job".into());
    leads[1].disposition = Some("booked_estimate".into());
    leads[2].disposition = Some("no_answer_2_attempts".into());
    leads[3].disposition = Some("wrong_number_spam".into());
    leads[4].suppressed = Some("withheld_number".into());
    leads[5].suppressed = Some("internal_number".into()); // staff: not a lead at all
    let f = score(&leads, at(24, 12, 0));
    assert_eq!(f.leads, 5);
    assert_eq!(f.recovery, Ratio { part: 2, whole: 3 });
}

#[test]
fn an_after_hours_call_is_due_by_half_past_eight_on_the_next_opening_day() {
    let cal = spartan();
    // Tuesday 22:00 → Wednesday 08:30.
    assert_eq!(
        after_hours_deadline(&cal, at(24, 22, 0)),
        Some(at(25, 8, 30))
    );
    // Friday night → Monday 08:30; Saturday too.
    assert_eq!(
        after_hours_deadline(&cal, at(27, 19, 0)),
        Some(at(30, 8, 30))
    );
    assert_eq!(
        after_hours_deadline(&cal, at(28, 11, 0)),
        Some(at(30, 8, 30))
    );
    // Before opening the same day: that day's 08:30.
    assert_eq!(
        after_hours_deadline(&cal, at(25, 5, 0)),
        Some(at(25, 8, 30))
    );
    // Open: the 15-minute clock applies instead.
    assert_eq!(after_hours_deadline(&cal, at(24, 10, 0)), None);
    // A business opening at 9:00 gets until 9:30.
    let late: BTreeMap<String, String> = [("wed".to_string(), "09:00-17:00".to_string())].into();
    let late = Calendar {
        hours: BusinessHours::parse(&late).unwrap(),
        tz: chicago(),
    };
    assert_eq!(
        after_hours_deadline(&late, at(24, 22, 0)),
        Some(at(25, 9, 30))
    );
}

#[test]
fn after_hours_counts_on_time_late_and_not_yet_due() {
    let mut leads: Vec<LeadFacts> = (1..=4).map(|i| lead(i, at(23, 21, 0))).collect();
    tried(&mut leads[0], at(24, 8, 29), Outcome::NoAnswer); // on time
    tried(&mut leads[1], at(24, 8, 31), Outcome::Reached); // late
                                                           // leads[2]: never called, deadline passed → late.
    leads[3].missed_at = at(24, 21, 0); // tonight: due tomorrow, not judged yet
    let f = score(&leads, at(24, 22, 0));
    assert_eq!(f.after_hours, Ratio { part: 1, whole: 3 });
}

#[test]
fn every_texted_caller_opted_out_sounds_the_alarm() {
    let mut leads: Vec<LeadFacts> = (1..=3).map(|i| lead(i, at(24, 10, 0))).collect();
    for l in &mut leads {
        l.opted_out = true;
    }
    let f = score(&leads, at(24, 12, 0));
    assert_eq!(f.opt_out, Ratio { part: 3, whole: 3 });
    assert!(f.opt_out_alarm());
}

#[test]
fn the_alarm_is_over_three_percent_of_texted_callers() {
    let mut leads: Vec<LeadFacts> = (1..=100).map(|i| lead(i, at(24, 10, 0))).collect();
    for l in leads.iter_mut().take(3) {
        l.opted_out = true;
    }
    // A caller never texted is not in the rate.
    leads[99].texted = false;
    leads[99].opted_out = true;
    let f = score(&leads, at(24, 12, 0));
    assert_eq!(f.opt_out, Ratio { part: 3, whole: 99 });
    assert!(f.opt_out_alarm(), "3 of 99 is over 3 %");
    leads[2].opted_out = false;
    leads.push(lead(101, at(24, 10, 0)));
    let f = score(&leads, at(24, 12, 0));
    assert_eq!(
        f.opt_out,
        Ratio {
            part: 2,
            whole: 100
        }
    );
    assert!(!f.opt_out_alarm());
}

#[test]
fn top_reasons_most_given_first_ties_by_name() {
    let mut leads: Vec<LeadFacts> = (1..=8).map(|i| lead(i, at(24, 10, 0))).collect();
    for (l, r) in leads.iter_mut().zip([
        "price",
        "price",
        "price",
        "went elsewhere",
        "went elsewhere",
        "b",
        "a",
        "c",
    ]) {
        l.reason = Some(r.into());
    }
    let f = score(&leads, at(24, 12, 0));
    let names: Vec<&str> = f.top_reasons.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(names, ["price", "went elsewhere", "a", "b", "c"]);
    assert_eq!(f.top_reasons[0].1, 3);
}

#[test]
fn weeks_start_on_monday_in_the_business_zone() {
    // Sunday 2026-11-29 23:30 in Chicago is Monday 05:30 UTC: still the
    // week of the 23rd there.
    let sunday_night = at(29, 23, 30);
    assert_eq!(
        week_of(sunday_night, chicago()),
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    );
    assert_eq!(
        week_of(sunday_night, chrono_tz::UTC),
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    );
    // Monday 00:00 local starts the next week.
    assert_eq!(
        week_of(at(30, 0, 0), chicago()),
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    );
    let now = at(30, 9, 0);
    assert!(in_last_weeks(sunday_night, chicago(), now, 2));
    assert!(!in_last_weeks(sunday_night, chicago(), now, 1));
    assert!(!in_last_weeks(
        now + Duration::minutes(1),
        chicago(),
        now,
        1
    ));
}

#[test]
fn yesterday_is_the_local_day_before() {
    // Tuesday 00:30 local: yesterday is Monday, 06:00 to 06:00 UTC.
    let (day, start, end) = yesterday(at(24, 0, 30), chicago()).unwrap();
    assert_eq!(day, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
    assert_eq!((start, end), (at(23, 0, 0), at(24, 0, 0)));
    // Across the fall-back change (2026-11-01): that day lasts 25 hours.
    let (_, start, end) = yesterday(at(2, 12, 0), chicago()).unwrap();
    assert_eq!(end - start, Duration::hours(25));
}

#[test]
fn the_review_samples_three_per_csr_the_same_each_time() {
    let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let mut leads: Vec<LeadFacts> = (1..=6).map(|i| lead(i, at(23, 10, 0))).collect();
    for l in leads.iter_mut().take(5) {
        l.owner = Some("maria".into());
    }
    tried(&mut leads[5], at(23, 10, 5), Outcome::NoAnswer); // by maria too
    leads[5].attempts[0].by = "dan".into();
    let s = sample_per_csr(&leads, day);
    assert_eq!(s["maria"].len(), 3);
    assert_eq!(s["dan"].len(), 1);
    let again = sample_per_csr(&leads, day);
    assert_eq!(s, again);
    // Another day draws others (not always the first three).
    let ids = |s: &BTreeMap<String, Vec<&LeadFacts>>| {
        let mut v: Vec<i64> = s["maria"].iter().map(|l| l.lead_id).collect();
        v.sort();
        v
    };
    let days: std::collections::BTreeSet<Vec<i64>> = (0..10)
        .map(|d| ids(&sample_per_csr(&leads, day + Duration::days(d))))
        .collect();
    assert!(days.len() > 1, "{days:?}");
}

#[test]
fn unrecovered_leaves_out_booked_spam_and_staff() {
    let mut leads: Vec<LeadFacts> = (1..=4).map(|i| lead(i, at(23, 10, 0))).collect();
    leads[0].disposition = Some("booked_job".into());
    leads[1].disposition = Some("wrong_number_spam".into());
    leads[2].suppressed = Some("internal_number".into());
    let ids: Vec<i64> = unrecovered(&leads).iter().map(|l| l.lead_id).collect();
    assert_eq!(ids, [4]);
}

#[test]
fn csv_quotes_what_needs_it_and_defuses_formulas() {
    let line = csv_line(&[
        Field::Text("Google Ads, search".into()),
        Field::Text("say \"hi\"".into()),
        Field::Text("=HYPERLINK(\"x\")".into()),
        Field::Number("-3".into()),
        Field::Text("two\nlines".into()),
    ]);
    assert_eq!(
        line,
        "\"Google Ads, search\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",-3,\"two\nlines\"\r\n"
    );
}
