use super::*;
use crate::config::Config;
use crate::core::conversation::tests_support::{config, lead};
use crate::domain::LeadStatus;

/// Tuesday 2026-11-24 at local `h:m` in Chicago (CST = UTC-6).
fn tue(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).unwrap() + Duration::minutes(i64::from(h * 60 + m))
}

fn with_manager() -> Config {
    let mut c = config();
    let p = PhoneNumber::parse("+15125550188").unwrap();
    c.businesses[0].sla.remind = Remind::Manager(p.clone());
    c.businesses[0].sla.manager_phone = Some(p);
    c
}

#[test]
fn reminders_fall_at_5_and_15_minutes_of_open_time() {
    let c = with_manager();
    let b = &c.businesses[0];
    assert_eq!(
        reminders_for(b, tue(10, 0)),
        vec![
            (Late::Unclaimed, tue(10, 5)),
            (Late::NoAttempt, tue(10, 15))
        ]
    );
    // A night call counts from opening (07:00 Wednesday).
    let wed = |h, m| tue(h, m) + Duration::days(1);
    assert_eq!(
        reminders_for(b, tue(22, 0)),
        vec![(Late::Unclaimed, wed(7, 5)), (Late::NoAttempt, wed(7, 15))]
    );
}

#[test]
fn nobody_to_remind_means_no_reminders() {
    let c = config();
    assert_eq!(c.businesses[0].sla.remind, Remind::Off);
    assert!(reminders_for(&c.businesses[0], tue(10, 0)).is_empty());
    assert_eq!(who_to_remind(&c.businesses[0], tue(10, 0)), None);
}

#[test]
fn a_claim_or_an_attempt_ends_the_reminders() {
    let mut l = lead(1, tue(10, 0));
    assert!(still_wanted(Late::Unclaimed, &l));
    assert!(still_wanted(Late::NoAttempt, &l));
    l.owner = Some("maria".into());
    assert!(!still_wanted(Late::Unclaimed, &l), "claimed");
    assert!(still_wanted(Late::NoAttempt, &l), "claimed but not called");
    l.call_attempts = 1;
    assert!(!still_wanted(Late::NoAttempt, &l), "called");
    let mut closed = lead(2, tue(10, 0));
    closed.status = LeadStatus::Dismissed;
    assert!(!still_wanted(Late::NoAttempt, &closed));
}

#[test]
fn dispositions_start_their_follow_ups() {
    let c = config();
    let b = &c.businesses[0];
    let now = tue(12, 0);
    assert_eq!(
        task_for_disposition(b, "booked_job", now),
        Some((TaskKind::JobFollowUp, now + Duration::hours(24)))
    );
    assert_eq!(
        task_for_disposition(b, "quoted", now),
        Some((TaskKind::QuoteFollowUp, now + Duration::days(3)))
    );
    assert_eq!(task_for_disposition(b, "wrong_number_spam", now), None);
}

#[test]
fn a_due_item_is_decided_on_what_happened_since() {
    let c = with_manager();
    let b = &c.businesses[0];
    let mut l = lead(1, tue(10, 0));
    fn facts<'a>(kind: TaskKind, b: &'a Business, l: &'a Lead, answered: bool) -> TaskFacts<'a> {
        TaskFacts {
            kind,
            business: b,
            lead: l,
            answered_since: answered,
            now: tue(15, 0),
        }
    }
    l.disposition = Some("quoted".into());
    assert_eq!(
        on_task_due(&facts(TaskKind::QuoteFollowUp, b, &l, false)),
        TaskDue::Offer
    );
    assert_eq!(
        on_task_due(&facts(TaskKind::QuoteFollowUp, b, &l, true)),
        TaskDue::Drop("they answered")
    );
    l.disposition = Some("booked_job".into());
    assert_eq!(
        on_task_due(&facts(TaskKind::QuoteFollowUp, b, &l, false)),
        TaskDue::Drop("the disposition changed")
    );
    assert_eq!(
        on_task_due(&facts(TaskKind::JobFollowUp, b, &l, false)),
        TaskDue::Offer
    );
    let mut auto = with_manager();
    auto.businesses[0].sla.review_auto_send = true;
    assert_eq!(
        on_task_due(&TaskFacts {
            business: &auto.businesses[0],
            ..facts(TaskKind::JobFollowUp, b, &l, false)
        }),
        TaskDue::Send
    );
    // A callback reminds the manager when the owner has no phone on file.
    match on_task_due(&facts(TaskKind::Callback, b, &l, false)) {
        TaskDue::Remind { to, body } => {
            assert_eq!(to.as_str(), "+15125550188");
            assert!(body.contains("+15125550147"), "{body}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn call_back_by_is_local_time_in_the_future() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let now = tue(10, 0);
    assert_eq!(callback_at("2026-11-24T15:00", tz, now), Ok(tue(15, 0)));
    assert!(callback_at("2026-11-24T09:00", tz, now)
        .unwrap_err()
        .contains("later than now"));
    assert!(callback_at("2027-01-24T09:00", tz, now)
        .unwrap_err()
        .contains("30 days"));
    assert!(callback_at("3 pm", tz, now)
        .unwrap_err()
        .contains("2026-11-24T15:00"));
}

/// `remind = "on_call"`: whoever is first on call at that moment (here
/// outside any shift: the roster's owner); a callback goes to the roster's
/// person named like the lead's owner.
#[test]
fn on_call_reminders_follow_the_roster() {
    let text = format!(
        "[service]\nprompts_dir = {:?}\n[[business]]\nid = \"s\"\nname = \"Spartan\"\ntime_zone = \"America/Chicago\"\nnumbers = [\"+15125550100\"]\nring_phone = \"+15125550199\"\nhours = {{ tue = \"07:00-18:00\" }}\nsla = {{ remind = \"on_call\" }}\non_call = {{ owner = \"Dana\", people = [{{ name = \"Dana\", phone = \"+15125550111\" }}, {{ name = \"Mike\", phone = \"+15125550122\" }}] }}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")
    );
    let c = Config::parse(&text, "ringback.toml", std::path::Path::new(".")).unwrap();
    let b = &c.businesses[0];
    assert_eq!(reminders_for(b, tue(10, 0)).len(), 2);
    assert_eq!(
        who_to_remind(b, tue(10, 0)).map(|p| p.to_string()),
        Some("+15125550111".to_string())
    );
    assert_eq!(
        owner_phone(b, Some("mike"), tue(10, 0)).map(|p| p.to_string()),
        Some("+15125550122".to_string())
    );
    assert_eq!(
        owner_phone(b, Some("maria"), tue(10, 0)).map(|p| p.to_string()),
        Some("+15125550111".to_string()),
        "no phone of her own: whoever late leads go to"
    );
}
