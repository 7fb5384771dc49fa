//! The escalation machine's tests: paging down the chain, all hands,
//! acknowledgements, stale timers and the owner's templates.
//!
//! Apart from the code so that each file holds one concern.

use super::texts::SMS_QUOTE_CHARS;
use super::*;
use crate::config::escalation_templates::EscalationTemplates;
use crate::config::roster::{OnCall, Role};
use crate::core::classify::Hazard;
use crate::domain::PhoneNumber;
use chrono::TimeZone;
use chrono::{DateTime, Duration, Utc};

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

fn link(name: &str, number: &str, role: Role) -> OnCall {
    OnCall {
        name: name.into(),
        phone: phone(number),
        role,
    }
}

const MIKE: &str = "+15125550111";
const LUIS: &str = "+15125550122";
const DANA: &str = "+15125550199";

fn chain() -> Vec<OnCall> {
    vec![
        link("Mike", MIKE, Role::Primary),
        link("Luis", LUIS, Role::Backup),
        link("Dana", DANA, Role::Owner),
    ]
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 3, 14, 0).unwrap()
}

fn min(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

fn policy() -> Policy {
    Policy::default()
}

fn fresh(lead_id: i64) -> Escalation {
    Escalation::new(
        lead_id,
        Hazard::Gas,
        chain(),
        Page {
            sms: "PACKET".into(),
            script: "SCRIPT".into(),
        },
    )
}

fn started(lead_id: i64) -> Escalation {
    on_event(fresh(lead_id), Event::Start, t0(), &policy()).0
}

/// Runs events in order, returning the final state and all actions.
fn run(mut s: Escalation, events: &[(i64, Event)]) -> (Escalation, Vec<Action>) {
    let mut all = Vec::new();
    for (m, e) in events {
        let (next, acts) = on_event(s, e.clone(), min(*m), &policy());
        s = next;
        all.extend(acts);
    }
    (s, all)
}

fn paged_to(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::PageSms { to, .. } => Some(to.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn start_pages_the_primary_and_sends_the_safety_text() {
    let (s, acts) = on_event(fresh(7), Event::Start, t0(), &policy());
    assert_eq!(
        acts,
        vec![
            Action::CallerSafety {
                hazard: Hazard::Gas
            },
            Action::PageSms {
                step: 0,
                to: phone(MIKE),
                body: "PACKET".into()
            },
            Action::PageCall {
                step: 0,
                to: phone(MIKE)
            },
            Action::ScheduleTimeout {
                step: 0,
                at: min(5)
            },
        ]
    );
    assert_eq!(s.status, Status::Paging);
    assert_eq!(s.started_at, Some(t0()));
    assert_eq!(s.pages, 1);
    // A redelivered Start does nothing.
    let (again, acts) = on_event(s.clone(), Event::Start, min(1), &policy());
    assert!(acts.is_empty());
    assert_eq!(again, s);
}

#[test]
fn full_chain_then_all_hands_then_exhausted() {
    let p = Policy {
        ack_timeout: Duration::minutes(5),
        repages: 2,
    };
    let mut s = fresh(1);
    let mut log = Vec::new();
    for (m, e) in [
        (0, Event::Start),
        (5, Event::AckTimeout { step: 0 }),
        (10, Event::AckTimeout { step: 1 }),
        (15, Event::AckTimeout { step: 2 }),
        (20, Event::AckTimeout { step: 3 }),
        (25, Event::AckTimeout { step: 4 }),
    ] {
        let (next, acts) = on_event(s, e, min(m), &p);
        s = next;
        log.push(acts);
    }
    assert_eq!(paged_to(&log[1]), [LUIS]);
    assert_eq!(paged_to(&log[2]), [DANA]);
    assert!(log[2].contains(&Action::ScheduleTimeout {
        step: 2,
        at: min(15)
    }));
    // Everyone had a turn: all hands, twice, with a marked body.
    assert_eq!(paged_to(&log[3]), [MIKE, LUIS, DANA]);
    assert!(log[3].iter().any(|a| matches!(a, Action::PageSms { body, .. }
        if body.starts_with("STILL OPEN") && body.contains("re-page 1 of 2") && body.ends_with("PACKET"))));
    assert_eq!(
        log[3]
            .iter()
            .filter(|a| matches!(a, Action::PageCall { .. }))
            .count(),
        3
    );
    assert_eq!(paged_to(&log[4]), [MIKE, LUIS, DANA]);
    assert!(log[4].contains(&Action::ScheduleTimeout {
        step: 4,
        at: min(25)
    }));
    // Then it stops.
    assert_eq!(log[5], vec![Action::CallerUnanswered, Action::Exhausted]);
    assert_eq!(s.status, Status::Exhausted);
    assert_eq!(s.pages, 1 + 1 + 1 + 3 + 3);
    // Nothing more fires.
    let (_, acts) = on_event(s, Event::AckTimeout { step: 5 }, min(30), &p);
    assert!(acts.is_empty());
}

#[test]
fn no_repages_means_exhausted_after_the_owner() {
    let p = Policy {
        ack_timeout: Duration::minutes(3),
        repages: 0,
    };
    let s = on_event(fresh(1), Event::Start, t0(), &p).0;
    let s = on_event(s, Event::AckTimeout { step: 0 }, min(3), &p).0;
    let (s, acts) = on_event(s, Event::AckTimeout { step: 1 }, min(6), &p);
    assert_eq!(paged_to(&acts), [DANA]);
    assert!(acts.contains(&Action::ScheduleTimeout {
        step: 2,
        at: min(9)
    }));
    let (s, acts) = on_event(s, Event::AckTimeout { step: 2 }, min(9), &p);
    assert_eq!(acts, vec![Action::CallerUnanswered, Action::Exhausted]);
    assert_eq!(s.status, Status::Exhausted);
}

#[test]
fn sms_ack_stops_paging_and_tells_the_others() {
    let (s, acts) = run(
        started(1),
        &[
            (5, Event::AckTimeout { step: 0 }),
            (7, Event::Ack { from: phone(LUIS) }),
        ],
    );
    assert_eq!(s.status, Status::Acked);
    assert_eq!(s.acked_by.as_ref().unwrap().name, "Luis");
    assert_eq!(s.acked_at, Some(min(7)));
    assert_eq!(s.ack_latency(), Some(Duration::minutes(7)));
    let tail = &acts[acts.len() - 3..];
    assert_eq!(
        tail,
        [
            // Mike was paged, Dana was not: only Mike is told.
            Action::NotifyTaken {
                to: phone(MIKE),
                by: "Luis".into()
            },
            Action::CallerConfirmation {
                tech_name: "Luis".into()
            },
            Action::AckRecorded {
                by: link("Luis", LUIS, Role::Backup),
                latency: Duration::minutes(7)
            },
        ]
    );
    // The timer for step 1 fires later and is ignored.
    let (s2, acts) = on_event(s.clone(), Event::AckTimeout { step: 1 }, min(10), &policy());
    assert!(acts.is_empty());
    assert_eq!(s2, s);
}

#[test]
fn keypress_one_acks_other_keys_do_not() {
    let s = started(1);
    let (s, acts) = on_event(
        s,
        Event::KeyPressed {
            from: phone(MIKE),
            digits: "2".into(),
        },
        min(1),
        &policy(),
    );
    assert!(acts.is_empty());
    assert_eq!(s.status, Status::Paging);
    let (s, acts) = on_event(
        s,
        Event::KeyPressed {
            from: phone(MIKE),
            digits: "1".into(),
        },
        min(2),
        &policy(),
    );
    assert_eq!(s.status, Status::Acked);
    assert_eq!(
        acts[0],
        Action::CallerConfirmation {
            tech_name: "Mike".into()
        }
    );
}

#[test]
fn stale_timer_for_an_old_step_is_ignored() {
    let (s, _) = run(started(1), &[(5, Event::AckTimeout { step: 0 })]);
    assert_eq!(s.step, 1);
    // The step-0 timer delivered twice (at-least-once queue).
    let (s2, acts) = on_event(s.clone(), Event::AckTimeout { step: 0 }, min(6), &policy());
    assert!(acts.is_empty());
    assert_eq!(s2, s);
    // A timer from the future is just as wrong.
    let (_, acts) = on_event(s, Event::AckTimeout { step: 7 }, min(6), &policy());
    assert!(acts.is_empty());
}

#[test]
fn ack_during_an_all_hands_repage() {
    let (s, _) = run(
        started(1),
        &[
            (5, Event::AckTimeout { step: 0 }),
            (10, Event::AckTimeout { step: 1 }),
            (15, Event::AckTimeout { step: 2 }),
        ],
    );
    assert_eq!(s.step, 3);
    // Mike presses 1 on the re-page call while his SMS re-page is out.
    let (s, acts) = on_event(
        s,
        Event::KeyPressed {
            from: phone(MIKE),
            digits: "1".into(),
        },
        min(16),
        &policy(),
    );
    assert_eq!(s.status, Status::Acked);
    let told: Vec<&str> = acts
        .iter()
        .filter_map(|a| match a {
            Action::NotifyTaken { to, .. } => Some(to.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(told, [LUIS, DANA]);
    // His SMS "ACK" arrives a moment later: a duplicate, nothing happens.
    let (s, acts) = on_event(s, Event::Ack { from: phone(MIKE) }, min(16), &policy());
    assert!(acts.is_empty());
    // Luis also replies OK: he is told Mike has it.
    let (s, acts) = on_event(s, Event::Ack { from: phone(LUIS) }, min(17), &policy());
    assert_eq!(
        acts,
        vec![Action::NotifyTaken {
            to: phone(LUIS),
            by: "Mike".into()
        }]
    );
    assert_eq!(s.acked_by.unwrap().name, "Mike");
    assert_eq!(s.acked_at, Some(min(16)));
}

#[test]
fn ack_after_exhaustion_still_takes_the_job() {
    let p = Policy {
        ack_timeout: Duration::minutes(5),
        repages: 0,
    };
    let mut s = on_event(fresh(1), Event::Start, t0(), &p).0;
    for step in 0..3 {
        s = on_event(
            s,
            Event::AckTimeout { step },
            min(5 * (step as i64 + 1)),
            &p,
        )
        .0;
    }
    assert_eq!(s.status, Status::Exhausted);
    let (s, acts) = on_event(s, Event::Ack { from: phone(DANA) }, min(40), &p);
    assert_eq!(s.status, Status::Acked);
    assert!(acts.contains(&Action::CallerConfirmation {
        tech_name: "Dana".into()
    }));
    assert_eq!(s.ack_latency(), Some(Duration::minutes(40)));
}

#[test]
fn ack_from_outside_the_chain_is_flagged_and_ignored() {
    let s = started(1);
    let stranger = phone("+15125550147");
    let (s2, acts) = on_event(
        s.clone(),
        Event::Ack {
            from: stranger.clone(),
        },
        min(1),
        &policy(),
    );
    assert_eq!(acts, vec![Action::StrangerAck { from: stranger }]);
    assert_eq!(s2, s);
}

#[test]
fn backup_may_take_it_before_being_paged() {
    let (s, acts) = run(started(1), &[(1, Event::Ack { from: phone(LUIS) })]);
    assert_eq!(s.acked_by.unwrap().name, "Luis");
    // Mike (paged) hears; Dana (never paged) is not woken up.
    assert!(acts.contains(&Action::NotifyTaken {
        to: phone(MIKE),
        by: "Luis".into()
    }));
    assert!(!acts
        .iter()
        .any(|a| matches!(a, Action::NotifyTaken { to, .. } if to.as_str() == DANA)));
}

#[test]
fn ack_before_start_and_after_cancel_do_nothing() {
    let (s, acts) = on_event(fresh(1), Event::Ack { from: phone(MIKE) }, t0(), &policy());
    assert!(acts.is_empty());
    assert_eq!(s.status, Status::Pending);
    let (s, acts) = run(
        started(1),
        &[(1, Event::Cancel), (2, Event::Ack { from: phone(MIKE) })],
    );
    assert!(acts.is_empty());
    assert_eq!(s.status, Status::Cancelled);
    let (_, acts) = on_event(s, Event::AckTimeout { step: 0 }, min(5), &policy());
    assert!(acts.is_empty());
}

#[test]
fn empty_chain_is_exhausted_at_once() {
    let mut e = fresh(1);
    e.chain.clear();
    let (s, acts) = on_event(e, Event::Start, t0(), &policy());
    assert_eq!(s.status, Status::Exhausted);
    assert!(acts.contains(&Action::Exhausted));
    assert!(acts.contains(&Action::CallerSafety {
        hazard: Hazard::Gas
    }));
}

#[test]
fn two_emergencies_for_one_tech_are_independent() {
    let a = started(1);
    let b = on_event(fresh(2), Event::Start, min(2), &policy()).0;
    // Mike presses 1 on B's page call.
    let (b, _) = on_event(
        b,
        Event::KeyPressed {
            from: phone(MIKE),
            digits: "1".into(),
        },
        min(3),
        &policy(),
    );
    assert_eq!(b.status, Status::Acked);
    // A is still his to take, and moves on without him.
    assert_eq!(a.status, Status::Paging);
    let (a, acts) = on_event(a, Event::AckTimeout { step: 0 }, min(5), &policy());
    assert_eq!(paged_to(&acts), [LUIS]);
    // B's stale timer does nothing to B.
    let (b2, acts) = on_event(b.clone(), Event::AckTimeout { step: 0 }, min(7), &policy());
    assert!(acts.is_empty());
    assert_eq!(b2, b);
    assert_eq!(a.step, 1);
}

#[test]
fn sms_ack_goes_to_the_oldest_open_escalation_that_paged_them() {
    let a = started(1);
    let b = on_event(fresh(2), Event::Start, min(1), &policy()).0;
    let mike = phone(MIKE);
    assert_eq!(route_ack([&b, &a], &mike).unwrap().lead_id, 1);
    // He takes A; his next ACK goes to B.
    let a = on_event(a, Event::Ack { from: mike.clone() }, min(2), &policy()).0;
    assert_eq!(route_ack([&a, &b], &mike).unwrap().lead_id, 2);
    // Luis has not been paged for either: the oldest in whose chain he is.
    assert_eq!(route_ack([&a, &b], &phone(LUIS)).unwrap().lead_id, 2);
    // Someone paged beats someone merely listed.
    let (c, _) = run(fresh(3), &[(-10, Event::Start)]); // older than b
    let (b, _) = run(b, &[(6, Event::AckTimeout { step: 0 })]); // Luis paged for b
    assert_eq!(route_ack([&c, &b], &phone(LUIS)).unwrap().lead_id, 2);
    assert!(route_ack([&a, &b], &phone("+15125550147")).is_none());
    assert!(route_ack(std::iter::empty(), &mike).is_none());
}

/// An ACK answers a page its sender got: Dana, paged (and re-paged)
/// for an emergency that ran out of people, takes that one, not a newer
/// one still paging that has only paged Mike so far.
#[test]
fn an_ack_goes_to_an_emergency_that_paged_them_before_one_still_paging() {
    let p = Policy {
        ack_timeout: Duration::minutes(5),
        repages: 1,
    };
    let mut old = fresh(1);
    for (m, e) in [
        (0, Event::Start),
        (5, Event::AckTimeout { step: 0 }),
        (10, Event::AckTimeout { step: 1 }),
        (15, Event::AckTimeout { step: 2 }),
        (20, Event::AckTimeout { step: 3 }),
    ] {
        old = on_event(old, e, min(m), &p).0;
    }
    assert_eq!(old.status, Status::Exhausted);
    let new = on_event(fresh(2), Event::Start, min(19), &p).0;
    assert_eq!(new.status, Status::Paging);
    let dana = phone(DANA);
    assert!(old.was_paged(&dana) && !new.was_paged(&dana));
    assert_eq!(route_ack([&new, &old], &dana).unwrap().lead_id, 1);
    // Mike was paged for both: the live one wins.
    assert_eq!(route_ack([&old, &new], &phone(MIKE)).unwrap().lead_id, 2);
}

#[test]
fn restart_mid_chain_continues_from_stored_state() {
    let (s, _) = run(started(1), &[(5, Event::AckTimeout { step: 0 })]);
    let stored = serde_json::to_string(&s).unwrap();
    assert!(stored.contains("\"hazard\":\"gas\""), "{stored}");
    assert!(stored.contains("\"status\":\"paging\""), "{stored}");
    let restored: Escalation = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored, s);
    let (_, acts) = on_event(restored, Event::AckTimeout { step: 1 }, min(10), &policy());
    assert_eq!(paged_to(&acts), [DANA]);
    // A tampered number does not deserialise.
    let bad = stored.replace(MIKE, "5125550111");
    assert!(serde_json::from_str::<Escalation>(&bad).is_err());
}

#[test]
fn ack_words() {
    for yes in [
        "ACK",
        "ack",
        "Ack.",
        "1",
        " 1 ",
        "1️⃣",
        "OK",
        "ok!",
        "Okay",
        "ON IT",
        "on it 👍",
        "On it!!",
        "onit",
        "Acknowledged",
        "👍 OK",
    ] {
        assert!(is_ack(yes), "{yes:?}");
    }
    for no in [
        "",
        "2",
        "11",
        "ok who is this",
        "not on it",
        "I'm on it",
        "no",
        "STOP",
        "ack, but call me",
        "k",
        "👍",
    ] {
        assert!(!is_ack(no), "{no:?}");
    }
}

mod properties {
    use super::super::machine::ACK_WORDS;
    use super::super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn noise() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just(' '),
                Just('!'),
                Just('.'),
                Just('?'),
                Just('-'),
                Just('👍'),
                Just('✅'),
                Just('🙏'),
                Just('"'),
                Just('\n'),
            ],
            0..5,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn ack_word_survives_case_and_noise(
            word in prop_oneof![Just("ack"), Just("1"), Just("ok"), Just("on it")],
            pre in noise(),
            post in noise(),
            mask in 0u8..32,
        ) {
            let word: String = word.chars().enumerate()
                .map(|(i, c)| if mask & (1 << i) != 0 { c.to_ascii_uppercase() } else { c })
                .collect();
            let message = format!("{pre}{word}{post}");
            prop_assert!(is_ack(&message), "{:?}", message);
        }

        #[test]
        fn extra_words_are_not_an_ack(word in prop_oneof![Just("ack"), Just("ok"), Just("on it")],
                                      extra in "[a-z]{1,6}", before in any::<bool>()) {
            let m = if before { format!("{extra} {word}") } else { format!("{word} {extra}") };
            let n = crate::core::classify::normalize_keyword(&m);
            prop_assume!(!ACK_WORDS.contains(&n.as_str()));
            prop_assert!(!is_ack(&m));
        }

        #[test]
        fn is_ack_never_panics(s in any::<String>()) {
            let _ = is_ack(&s);
        }

        /// Whatever order events arrive in (timers late, duplicated or
        /// stale, ACKs from anyone, cancels), the escalation keeps its
        /// promises.
        #[test]
        fn any_event_sequence_keeps_the_promises(
            events in proptest::collection::vec(event(), 0..40),
            repages in 0u32..3,
        ) {
            let policy = Policy { ack_timeout: Duration::minutes(5), repages };
            let chain = super::chain();
            let mut s = super::fresh(1);
            let mut all = Vec::new();
            let mut acked_seen = false;
            for (i, e) in events.into_iter().enumerate() {
                let (next, acts) = on_event(s, e, super::min(i as i64), &policy);
                if acked_seen {
                    // Nothing pages once somebody owns it.
                    let paging = acts.iter().filter(|a| {
                        matches!(kind(a), "page_sms" | "page_call" | "schedule_timeout")
                    }).count();
                    prop_assert_eq!(paging, 0);
                }
                acked_seen |= next.status == Status::Acked;
                s = next;
                all.extend(acts);
            }
            let count = |k: &str| all.iter().filter(|a| kind(a) == k).count();
            for once in ["caller_safety", "caller_confirmation", "ack_recorded", "exhausted"] {
                prop_assert!(count(once) <= 1, "{} more than once", once);
            }
            // Pages go only to the chain, and are bounded.
            let pages = count("page_sms");
            prop_assert!(pages <= chain.len() * (1 + repages as usize));
            prop_assert_eq!(pages as u32, s.pages);
            for a in &all {
                if let Action::PageSms { to, .. } | Action::PageCall { to, .. } = a {
                    prop_assert!(chain.iter().any(|c| &c.phone == to));
                }
            }
            // Each step is scheduled once, in order.
            let steps: Vec<u32> = all.iter().filter_map(|a| match a {
                Action::ScheduleTimeout { step, .. } => Some(*step),
                _ => None,
            }).collect();
            prop_assert!(steps.windows(2).all(|w| w[1] == w[0] + 1), "{:?}", steps);
            prop_assert_eq!(s.acked_by.is_some(), s.status == Status::Acked);
        }
    }

    fn kind(a: &Action) -> &'static str {
        match a {
            Action::PageSms { .. } => "page_sms",
            Action::PageCall { .. } => "page_call",
            Action::ScheduleTimeout { .. } => "schedule_timeout",
            Action::NotifyTaken { .. } => "notify_taken",
            Action::CallerSafety { .. } => "caller_safety",
            Action::CallerConfirmation { .. } => "caller_confirmation",
            Action::CallerUnanswered => "caller_unanswered",
            Action::AckRecorded { .. } => "ack_recorded",
            Action::Exhausted => "exhausted",
            Action::StrangerAck { .. } => "stranger_ack",
        }
    }

    fn event() -> impl Strategy<Value = Event> {
        let who = prop_oneof![
            Just(super::MIKE),
            Just(super::LUIS),
            Just(super::DANA),
            Just("+15125550147"),
        ]
        .prop_map(super::phone);
        prop_oneof![
            3 => Just(Event::Start),
            6 => (0u32..8).prop_map(|step| Event::AckTimeout { step }),
            2 => who.clone().prop_map(|from| Event::Ack { from }),
            2 => (who, prop_oneof![Just("1"), Just("2")])
                .prop_map(|(from, d)| Event::KeyPressed { from, digits: d.to_string() }),
            1 => Just(Event::Cancel),
        ]
    }
}

// -- texts --------------------------------------------------------------

fn packet(what: &str, address: Option<&'static str>) -> PageFacts<'static> {
    PageFacts {
        business: "Spartan Plumbing",
        caller: "+15125550147",
        address,
        what_they_said: Box::leak(what.to_string().into_boxed_str()),
        hazard: Hazard::Flooding,
        // 21:14 CST on Tuesday 2026-11-24.
        at: Utc.with_ymd_and_hms(2026, 11, 25, 3, 14, 0).unwrap(),
        tz: chrono_tz::America::Chicago,
    }
}

#[test]
fn page_sms_reads_well_on_a_phone() {
    let t = EscalationTemplates::defaults();
    let page = t.page(&packet(
        "hi yeah um we got water coming through the ceiling can someone call me back",
        Some("12 Oak St, Austin"),
    ));
    assert_eq!(
        page.sms,
        "EMERGENCY for Spartan Plumbing: flooding\n\
         Caller: +15125550147\n\
         Address: 12 Oak St, Austin\n\
         They said: \"hi yeah um we got water coming through the ceiling can someone call me back\"\n\
         At: Tue Nov 24, 9:14 PM CST\n\
         Reply ACK to take it."
    );
    assert!(
        page.script.contains("5 1 2, 5 5 5, 0 1 4 7"),
        "{}",
        page.script
    );
    assert!(page.script.contains("9:14 PM"), "{}", page.script);
    assert!(page.script.contains("Spartan Plumbing"));
    assert!(!page.script.contains('{'));
}

#[test]
fn missing_address_and_long_transcripts() {
    let t = EscalationTemplates::defaults();
    let long = "water everywhere ".repeat(40);
    let page = t.page(&packet(&long, None));
    assert!(page.sms.contains("Address: not given"));
    let said = page
        .sms
        .lines()
        .find(|l| l.starts_with("They said"))
        .unwrap();
    assert!(said.chars().count() < SMS_QUOTE_CHARS + 20, "{said}");
    assert!(said.ends_with("…\""), "{said}");
    let page = t.page(&packet("gas", Some("   ")));
    assert!(page.sms.contains("Address: not given"));
}

#[test]
fn safety_message_by_hazard() {
    let t = EscalationTemplates::defaults();
    let gas = t.safety(Hazard::Gas, "Spartan", Paging::Now);
    assert!(gas.starts_with("Spartan:"));
    assert!(gas.contains("leave the building now"));
    assert!(gas.contains("911 or your gas utility"));
    assert!(gas.contains("outside"));
    let co = t.safety(Hazard::CarbonMonoxide, "Spartan", Paging::Now);
    assert!(co.contains("fresh air") && co.contains("911"));
    assert!(t
        .safety(Hazard::Flooding, "Spartan", Paging::Now)
        .contains("shut off the main water valve"));
    let el = t.safety(Hazard::Electrical, "Spartan", Paging::Now);
    assert!(el.contains("Stay away") && el.contains("smoke or fire") && el.contains("911"));
    assert!(t
        .safety(Hazard::Fire, "Spartan", Paging::Now)
        .contains("call 911"));
    for h in [
        Hazard::Gas,
        Hazard::CarbonMonoxide,
        Hazard::Fire,
        Hazard::Electrical,
        Hazard::Flooding,
        Hazard::Sewage,
        Hazard::NoHeat,
        Hazard::NoCooling,
        Hazard::Other,
    ] {
        let text = t.safety(h, "Spartan", Paging::Now);
        assert!(text.contains("Spartan"), "{h}");
        assert!(text.contains("We're paging our on-call tech now."), "{h}");
        // Never a promise nobody keeps, and no gap where it was.
        let taken = t.safety(h, "Spartan", Paging::Taken);
        assert!(
            !taken.contains("paging") && !taken.contains("  "),
            "{h}: {taken}"
        );
        assert!(taken.ends_with("Reply STOP to opt out."), "{h}: {taken}");
        let alone = t.safety(h, "Spartan", Paging::NoRoster);
        assert!(
            !alone.contains("paging") && alone.contains("alerted our team"),
            "{h}"
        );
        assert!(
            text.contains("STOP"),
            "{h}: may be the first text to this number"
        );
        assert_eq!(safety_template_key(h), format!("safety_{h}"));
        assert!(
            text.chars().count() <= 320,
            "{h}: {} chars",
            text.chars().count()
        );
    }
}

#[test]
fn confirmations() {
    let t = EscalationTemplates::defaults();
    assert_eq!(
        t.caller_confirmation("Mike", "Spartan"),
        "Mike from Spartan has your emergency and is calling you now. If anyone is in danger, call 911."
    );
    assert_eq!(
        t.taken("Spartan", "Mike", Hazard::Gas),
        "Spartan: Mike has taken the gas smell emergency. Nothing more to do."
    );
    assert!(t.unanswered("Spartan").contains("911"));
    assert!(t
        .page_accepted("+15125550147")
        .contains("at 5 1 2, 5 5 5, 0 1 4 7."));
}

#[test]
fn emergency_call_flow_prompts() {
    let t = EscalationTemplates::defaults();
    let menu = t.emergency_menu("Spartan");
    assert!(menu.contains("Spartan"));
    assert!(menu.contains("gas smell, flooding or no heat, press 1"));
    assert!(menu.contains("stay on the line to leave a message"));
    assert!(t.emergency_connecting("Spartan").contains("on call"));
    let vm = t.emergency_no_answer("Spartan");
    assert!(vm.contains("911") && vm.contains("recorded"));
}

#[test]
fn owner_templates_override_defaults_and_errors_name_the_file() {
    let t = EscalationTemplates::load(|f| {
        (f == "safety_gas.txt")
            .then(|| ("/etc/p/safety_gas.txt".into(), "Get out! {business}".into()))
    })
    .unwrap();
    assert_eq!(t.safety(Hazard::Gas, "S", Paging::Now), "Get out! S");
    // An owner's template: its own spacing and lines are kept; one from
    // before {paging} has the old sentence put right.
    let own = |text: &'static str| {
        EscalationTemplates::load(move |f| {
            (f == "safety_gas.txt").then(|| ("safety_gas.txt".into(), text.into()))
        })
        .unwrap()
    };
    let spaced = "{business}:  Get out.\n{paging}\nCall 911.";
    let legacy = "{business}: Get out. We're paging our on-call tech now. Call 911.";
    for (template, paging, want) in [
        (spaced, Paging::Taken, "S:  Get out.\nCall 911."),
        (
            spaced,
            Paging::Now,
            "S:  Get out.\nWe're paging our on-call tech now.\nCall 911.",
        ),
        (legacy, Paging::Taken, "S: Get out. Call 911."),
        (
            legacy,
            Paging::NoRoster,
            "S: Get out. We've alerted our team. Call 911.",
        ),
    ] {
        let got = own(template).safety(Hazard::Gas, "S", paging);
        assert_eq!(got, want, "{template:?} {paging:?}");
    }
    let e = EscalationTemplates::load(|f| {
        (f == "page_sms.txt").then(|| ("/etc/p/page_sms.txt".into(), "Hi {tek}".into()))
    })
    .unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].file, "/etc/p/page_sms.txt");
    assert!(e[0].message.contains("{tek}"));
    // A placeholder that exists but has no value in that template: the
    // safety text knows no tech, the page confirmation no caller's words.
    let e = EscalationTemplates::load(|f| match f {
        "safety_gas.txt" => Some(("safety_gas.txt".into(), "{tech} is coming".into())),
        "page_accepted.txt" => Some(("page_accepted.txt".into(), "{what_they_said}".into())),
        "page_sms.txt" => Some((
            "page_sms.txt".into(),
            "{hazard} at {address}, {time}".into(),
        )),
        _ => None,
    })
    .unwrap_err();
    let files: Vec<&str> = e.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files, ["page_accepted.txt", "safety_gas.txt"], "{e:?}");
    assert!(
        e.iter().all(|e| e.message.contains("has no value")),
        "{e:?}"
    );
}

#[test]
fn spoken_numbers() {
    assert_eq!(spoken_number("+15125550147"), "5 1 2, 5 5 5, 0 1 4 7");
    assert_eq!(spoken_number("+442071838750"), "4 4 2 0 7 1 8 3 8 7 5 0");
    assert_eq!(spoken_number("Anonymous"), "Anonymous");
}

#[test]
fn clip_cuts_at_a_word() {
    assert_eq!(clip("short  text", 50), "short text");
    assert_eq!(clip("one two three four five", 12), "one two…");
    assert_eq!(clip("abcdefghijklmnop", 5), "abcde…");
}
