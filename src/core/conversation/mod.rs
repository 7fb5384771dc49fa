//! Pure decisions: given what we know about a lead, an event and the time,
//! what should happen. No I/O, no clock, no database: the shell (`ingest`,
//! `worker`) loads the facts, calls these functions inside one transaction
//! and applies the result. That makes every rule testable in microseconds.

mod carrier;
mod follow_up;
mod inbound;
mod reply;
mod who;

pub use carrier::{on_carrier_error, CarrierEffect};
pub use inbound::{in_language, joins_lead, on_text, TextDecision};
pub use who::{party, Party};

pub use follow_up::{
    cold_check, due_at as follow_up_due_at, next_morning, on_follow_up_due, ColdCheck,
    FollowUpDecision, FollowUpDue, MIN_GAP,
};
pub use reply::{
    emergency_live, on_reply, standalone_question, OfficeNotice, Reply, ReplyPlan, ASKED_DETAILS,
    ASKED_TIMING,
};

use crate::config::Business;
use crate::domain::Lead;
use crate::domain::{
    ConsentAction, LeadStatus, MissedTrigger, PhoneError, PhoneNumber, SuppressReason,
};
use chrono::{DateTime, Duration, Utc};

/// What the shell knows when a call is reported missed.
#[derive(Debug, Clone)]
pub struct MissedCall<'a> {
    pub business: &'a Business,
    /// The caller as the carrier gave it (`From`).
    pub caller: &'a str,
    /// The tracking number they dialled (`To`).
    pub tracking_number: &'a str,
    pub trigger: MissedTrigger,
    /// This call (same CallSid) was already counted as missed by an earlier
    /// trigger: the dial result, a status callback or the voicemail.
    pub call_already_counted: bool,
    /// The caller's latest lead at this business, if any.
    pub latest_lead: Option<&'a Lead>,
    pub consent: Option<ConsentAction>,
    /// The number is known not to take texts (landline, invalid).
    pub unreachable: Option<&'a str>,
    /// The caller is one of ours: any tracking number in the config or the
    /// business's own ring phone.
    pub is_own_number: bool,
    pub now: DateTime<Utc>,
    /// One instant text per caller per business per this window.
    pub window: Duration,
}

/// The instant text: send it, or record why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstantText {
    Send { body: String, after_hours: bool },
    Suppress(SuppressReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissedCallDecision {
    /// Another trigger of the same call got here first: nothing changes.
    AlreadyCounted,
    /// A repeat call inside the window: the call count goes up, no text.
    RepeatCall { lead_id: i64 },
    /// A new lead, and the instant text (or why there is none).
    NewLead {
        status: LeadStatus,
        suppressed: Option<SuppressReason>,
        text: InstantText,
    },
}

/// Decides what a missed call does.
pub fn on_missed_call(f: &MissedCall<'_>) -> MissedCallDecision {
    if f.call_already_counted {
        return MissedCallDecision::AlreadyCounted;
    }
    if let Some(lead) = f.latest_lead {
        if f.now < lead.first_call_at + f.window {
            return MissedCallDecision::RepeatCall { lead_id: lead.id };
        }
    }
    let reason = suppress_reason(f);
    let status = match reason {
        Some(
            SuppressReason::OwnNumber | SuppressReason::InternalNumber | SuppressReason::BlockList,
        ) => LeadStatus::Dismissed,
        _ => LeadStatus::New,
    };
    let text = match reason {
        Some(r) => InstantText::Suppress(r),
        None => {
            let b = f.business;
            let open = b.hours.is_open(b.time_zone, f.now);
            let vars = b
                .vars(f.tracking_number)
                .set("caller", f.caller)
                .set("opens_at", b.hours.describe_next_open(b.time_zone, f.now));
            let template = if open {
                &b.templates.instant_business_hours
            } else {
                &b.templates.instant_after_hours
            };
            InstantText::Send {
                body: template.render(&vars),
                after_hours: !open,
            }
        }
    };
    MissedCallDecision::NewLead {
        status,
        suppressed: reason,
        text,
    }
}

/// Why the caller must not get the instant text, if so. Checked in order of
/// what an owner would want to see as "the" reason.
fn suppress_reason(f: &MissedCall<'_>) -> Option<SuppressReason> {
    let phone = match PhoneNumber::parse(f.caller) {
        Ok(p) => p,
        Err(PhoneError::Withheld) => return Some(SuppressReason::WithheldNumber),
        Err(_) => return Some(SuppressReason::InvalidNumber),
    };
    let b = f.business;
    if f.is_own_number || b.numbers.contains(&phone) || b.ring_phone == phone {
        return Some(SuppressReason::OwnNumber);
    }
    // Staff phones (internal numbers, everyone on the on-call roster, the
    // dispatcher and the owner) are not leads.
    if b.is_staff(&phone) {
        return Some(SuppressReason::InternalNumber);
    }
    if b.block_list.contains(&phone) {
        return Some(SuppressReason::BlockList);
    }
    if f.consent == Some(ConsentAction::OptOut) {
        return Some(SuppressReason::OptedOut);
    }
    if f.unreachable.is_some() {
        return Some(SuppressReason::Unreachable);
    }
    None
}

/// A call to the business was answered. A conversation of more than 30
/// seconds resolves the caller's open lead: they reached a person.
pub fn answered_call_resolves(lead: Option<&Lead>, talked_seconds: i64) -> Option<i64> {
    match lead {
        Some(l) if talked_seconds > 30 && l.status.is_open() => Some(l.id),
        _ => None,
    }
}

/// Shared test fixtures for pure-logic tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use crate::config::Config;

    use crate::domain::Lead;
    use crate::domain::LeadStatus;
    use chrono::{DateTime, Duration, Utc};

    /// A texted lead of the fixture business, first call at `first`.
    pub(crate) fn lead(id: i64, first: DateTime<Utc>) -> Lead {
        Lead {
            id,
            business_id: "spartan".into(),
            caller: "+15125550147".into(),
            tracking_number: "+15125550100".into(),
            status: LeadStatus::Texted,
            call_count: 1,
            first_call_at: first,
            window_ends_at: first + Duration::hours(24),
            last_activity_at: first,
            suppressed_reason: None,
            closed_reason: None,
            intent: None,
            hazard: None,
            questions_asked: 0,
            awaiting_answer: false,
            acknowledged: false,
            follow_ups_sent: 0,
            owner: None,
            disposition: None,
            disposition_reason: None,
            note: None,
            call_attempts: 0,
            created_at: first,
            updated_at: first,
        }
    }

    /// A one-business config with its templates in a temporary prompts dir.
    pub(crate) fn config() -> Config {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("prompts");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(
            p.join("intents.rules"),
            crate::core::classify::Classifier::default_rules(),
        )
        .unwrap();
        for (f, t) in [
            (
                "instant_business_hours.txt",
                "Hi from {business}! Sorry we missed you. Reply STOP to opt out.",
            ),
            (
                "instant_after_hours.txt",
                "{business} is closed; we open {opens_at}. Reply STOP to opt out.",
            ),
            ("voicemail_greeting.txt", "Leave a message for {business}."),
            ("after_hours_greeting.txt", "{business} is closed."),
            ("screen_prompt.txt", "Call for {business}. Press 1."),
            (
                "opt_out_confirmation.txt",
                "{business}: you're unsubscribed. No more messages. Reply START to resubscribe.",
            ),
            (
                "opt_in_confirmation.txt",
                "{business}: you're subscribed again. Reply STOP to opt out.",
            ),
            (
                "help_reply.txt",
                "{business}: call us at {business_phone}. Reply STOP to opt out.",
            ),
        ] {
            std::fs::write(p.join(f), t).unwrap();
        }
        // The conversation templates as shipped.
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        for entry in std::fs::read_dir(shipped).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_dir() {
                // A language's translations (prompts/es/), as shipped.
                let to = p.join(entry.file_name());
                std::fs::create_dir_all(&to).unwrap();
                for f in std::fs::read_dir(entry.path()).unwrap() {
                    let f = f.unwrap();
                    std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
                }
                continue;
            }
            let to = p.join(entry.file_name());
            if !to.exists() {
                std::fs::copy(entry.path(), to).unwrap();
            }
        }
        let toml = r#"
            [[business]]
            id = "spartan"
            name = "Spartan Plumbing"
            time_zone = "America/Chicago"
            numbers = ["+15125550100"]
            ring_phone = "+15125550199"
            internal_numbers = ["+15125550150"]
            block_list = ["+15125550666"]
            dispatcher_phone = "+15125550177"
            hours = { mon = "07:00-18:00", tue = "07:00-18:00", wed = "07:00-18:00", thu = "07:00-18:00", fri = "07:00-18:00" }
            senders = { "+15125550100" = { registration = "10dlc", campaign_id = "CSPARTAN1", status = "registered" } }
        "#;
        let c = Config::parse(toml, "test.toml", dir.path()).unwrap();
        std::mem::forget(dir);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use chrono::TimeZone;

    fn test_config() -> Config {
        tests_support::config()
    }

    use tests_support::lead;

    // Tuesday 2026-11-24 10:00 America/Chicago (open).
    fn tue_10am() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap()
    }

    fn facts<'a>(
        c: &'a Config,
        caller: &'a str,
        lead: Option<&'a Lead>,
        now: DateTime<Utc>,
    ) -> MissedCall<'a> {
        MissedCall {
            business: &c.businesses[0],
            caller,
            tracking_number: "+15125550100",
            trigger: MissedTrigger::DialResult,
            call_already_counted: false,
            latest_lead: lead,
            consent: None,
            unreachable: None,
            is_own_number: false,
            now,
            window: Duration::hours(24),
        }
    }

    #[test]
    fn first_missed_call_texts_with_business_hours_template() {
        let c = test_config();
        match on_missed_call(&facts(&c, "+15125550147", None, tue_10am())) {
            MissedCallDecision::NewLead {
                status: LeadStatus::New,
                suppressed: None,
                text:
                    InstantText::Send {
                        body,
                        after_hours: false,
                    },
            } => {
                assert_eq!(
                    body,
                    "Hi from Spartan Plumbing! Sorry we missed you. Reply STOP to opt out."
                )
            }
            d => panic!("unexpected {d:?}"),
        }
    }

    #[test]
    fn after_hours_template_says_when_we_open() {
        let c = test_config();
        // Tuesday 22:00 Chicago.
        let night = Utc.with_ymd_and_hms(2026, 11, 25, 4, 0, 0).unwrap();
        match on_missed_call(&facts(&c, "+15125550147", None, night)) {
            MissedCallDecision::NewLead {
                text:
                    InstantText::Send {
                        body,
                        after_hours: true,
                    },
                ..
            } => {
                assert_eq!(
                    body,
                    "Spartan Plumbing is closed; we open 7:00 AM tomorrow. Reply STOP to opt out."
                )
            }
            d => panic!("unexpected {d:?}"),
        }
    }

    #[test]
    fn repeat_call_inside_window_attaches_without_text() {
        let c = test_config();
        let l = lead(7, tue_10am());
        let later = tue_10am() + Duration::hours(23);
        assert_eq!(
            on_missed_call(&facts(&c, "+15125550147", Some(&l), later)),
            MissedCallDecision::RepeatCall { lead_id: 7 }
        );
        // After the window a new lead and a new text.
        let next_day = tue_10am() + Duration::hours(24);
        assert!(matches!(
            on_missed_call(&facts(&c, "+15125550147", Some(&l), next_day)),
            MissedCallDecision::NewLead {
                text: InstantText::Send { .. },
                ..
            }
        ));
    }

    #[test]
    fn same_call_counted_once() {
        let c = test_config();
        let mut f = facts(&c, "+15125550147", None, tue_10am());
        f.call_already_counted = true;
        assert_eq!(on_missed_call(&f), MissedCallDecision::AlreadyCounted);
    }

    #[test]
    fn suppression_reasons() {
        let c = test_config();
        let reason = |caller: &str, tweak: &dyn Fn(&mut MissedCall)| {
            let mut f = facts(&c, caller, None, tue_10am());
            tweak(&mut f);
            match on_missed_call(&f) {
                MissedCallDecision::NewLead {
                    text: InstantText::Suppress(r),
                    suppressed: Some(s),
                    status,
                } => {
                    assert_eq!(r, s);
                    (r, status)
                }
                d => panic!("{caller}: unexpected {d:?}"),
            }
        };
        let none = &|_: &mut MissedCall| {};
        assert_eq!(
            reason("5125550147", none),
            (SuppressReason::InvalidNumber, LeadStatus::New)
        );
        assert_eq!(
            reason("Anonymous", none),
            (SuppressReason::WithheldNumber, LeadStatus::New)
        );
        assert_eq!(
            reason("+15125550100", none),
            (SuppressReason::OwnNumber, LeadStatus::Dismissed)
        );
        assert_eq!(
            reason("+15125550199", none),
            (SuppressReason::OwnNumber, LeadStatus::Dismissed)
        );
        assert_eq!(
            reason("+15125550150", none),
            (SuppressReason::InternalNumber, LeadStatus::Dismissed)
        );
        assert_eq!(
            reason("+15125550666", none),
            (SuppressReason::BlockList, LeadStatus::Dismissed)
        );
        assert_eq!(
            reason("+15125550177", none),
            (SuppressReason::InternalNumber, LeadStatus::Dismissed),
            "the dispatcher's phone is staff"
        );
        assert_eq!(
            reason("+15125550147", &|f| f.consent = Some(ConsentAction::OptOut)),
            (SuppressReason::OptedOut, LeadStatus::New)
        );
        assert_eq!(
            reason("+15125550147", &|f| f.unreachable = Some("21614")),
            (SuppressReason::Unreachable, LeadStatus::New)
        );
        assert_eq!(
            reason("+15125550147", &|f| f.is_own_number = true),
            (SuppressReason::OwnNumber, LeadStatus::Dismissed)
        );
        // Opted back in: texts again.
        let mut f = facts(&c, "+15125550147", None, tue_10am());
        f.consent = Some(ConsentAction::OptIn);
        assert!(matches!(
            on_missed_call(&f),
            MissedCallDecision::NewLead {
                suppressed: None,
                ..
            }
        ));
    }

    #[test]
    fn long_answered_call_resolves_open_lead() {
        let l = lead(3, tue_10am());
        assert_eq!(answered_call_resolves(Some(&l), 31), Some(3));
        assert_eq!(answered_call_resolves(Some(&l), 30), None);
        let mut closed = l.clone();
        closed.status = LeadStatus::Resolved;
        assert_eq!(answered_call_resolves(Some(&closed), 300), None);
    }
}
