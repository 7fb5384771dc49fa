//! The compliance gate: the one place every outbound message passes, at send
//! time (not when it was queued: a lot can change in between).
//!
//! The gate is a pure function of facts the worker loads; the consent ledger
//! check itself happens atomically inside [`crate::store::Store::begin_send`]
//! so that an opt-out committed a microsecond earlier is always seen.

pub mod at_send;
pub mod lint;
pub mod pacing;
pub mod quiet;

use crate::config::Business;
use crate::domain::{Audience, MessageKind, PhoneNumber};
use chrono::{DateTime, Utc};

/// What the gate knows about a message about to leave.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub kind: MessageKind,
    pub to: &'a str,
    pub from: &'a str,
    /// None when the business was removed from the config since queuing.
    pub business: Option<&'a Business>,
    /// The recipient is a number some business in the config owns (a
    /// tracking number or a ring phone): never a customer.
    pub own_number: bool,
    pub now: DateTime<Utc>,
    /// Texts that count toward the cap sent to this recipient by this
    /// business in the last 24 hours.
    pub sent_last_24h: i64,
    /// When the oldest of those leaves the 24-hour window (a slot frees).
    pub cap_frees_at: Option<DateTime<Utc>>,
    pub rules: &'a Rules,
}

/// The gate's configurable rules (from `[service]`).
#[derive(Debug, Clone)]
pub struct Rules {
    pub quiet_hours: quiet::QuietHours,
    pub daily_cap: i64,
    pub instant_any_hour: bool,
}

/// Does this kind of text wait for the recipient's daytime?
fn respects_quiet_hours(kind: MessageKind, rules: &Rules) -> bool {
    match kind {
        // The person just called or texted us: answering now is what they asked for.
        MessageKind::Instant => !rules.instant_any_hour,
        MessageKind::Reply
        | MessageKind::OptOutConfirmation
        | MessageKind::OptInConfirmation
        | MessageKind::HelpReply => false,
        // Staff notices go to our own people; the office's own reply is a
        // person answering a person.
        MessageKind::OfficeNotice
        | MessageKind::EmergencyNotice
        | MessageKind::OwnerAlert
        | MessageKind::OfficeReply
        | MessageKind::Inbound => false,
        // Someone may be in danger: pages and safety texts go at any hour
        // (never past an opt-out, which begin_send checks for every kind).
        MessageKind::Page | MessageKind::Emergency => false,
        // Not a conversation: a nudge a day or days later waits for the
        // customer's daytime like the follow-up sequence.
        MessageKind::FollowUp | MessageKind::OfficeFollowUp => true,
    }
}

/// The per-recipient cap counts texts over this rolling window; a capped
/// text may go once the oldest of them is this old.
pub const CAP_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Does the recipient's opt-out stop this text? Every kind but the one
/// confirmation of the opt-out itself. Checked under the contact lock when
/// a send begins, and again after an in-doubt look-up.
pub fn stopped_by_opt_out(
    kind: MessageKind,
    consent: Option<crate::domain::ConsentAction>,
) -> bool {
    kind != MessageKind::OptOutConfirmation && consent == Some(crate::domain::ConsentAction::OptOut)
}

/// Does this kind of text count toward (and obey) the per-recipient cap?
pub fn counts_toward_cap(kind: MessageKind) -> bool {
    matches!(
        kind,
        MessageKind::Instant | MessageKind::FollowUp | MessageKind::Reply
    )
}

/// The stored names of the kinds that count toward the cap, for the
/// store's count of a recipient's texts (one rule, read by SQL too).
pub fn capped_kinds() -> impl Iterator<Item = &'static str> {
    MessageKind::ALL
        .iter()
        .filter(|k| counts_toward_cap(**k))
        .map(|k| k.as_str())
}

/// The same as an SQL list: `'instant', 'follow_up', 'reply'`.
pub fn capped_kinds_sql() -> String {
    capped_kinds()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Not now: try again at `until` (quiet hours, rate limits).
    Hold {
        until: DateTime<Utc>,
        reason: &'static str,
    },
    /// Never: record the reason and do not send.
    Refuse(&'static str),
}

pub fn check(o: &Outgoing<'_>) -> Verdict {
    let Some(business) = o.business else {
        return Verdict::Refuse("unknown_business");
    };
    let Ok(to) = PhoneNumber::parse(o.to) else {
        return Verdict::Refuse("invalid_number");
    };
    if let Some(why) = wrong_audience(o.kind.audience(), business, &to, o.own_number) {
        return Verdict::Refuse(why);
    }
    // Only numbers the business owns may send on its behalf.
    if !business.numbers.iter().any(|n| n.as_str() == o.from) {
        return Verdict::Refuse("unknown_sender");
    }
    // A2P 10DLC / toll-free: carriers block unregistered senders, and every
    // blocked attempt counts against the brand.
    match business.sender(o.from) {
        Some(s) if s.may_send() => {}
        _ => return Verdict::Refuse("sender_not_registered"),
    }
    if counts_toward_cap(o.kind) && o.sent_last_24h >= o.rules.daily_cap {
        // A follow-up is a timer, not a conversation: it waits for a slot
        // (and is re-checked then, reply and opt-out included). A reply
        // that would exceed the cap is not sent; the office has the thread.
        return match (o.kind, o.cap_frees_at) {
            (MessageKind::FollowUp, Some(at)) if at > o.now => Verdict::Hold {
                until: at,
                reason: "daily_cap",
            },
            _ => Verdict::Refuse("daily_cap"),
        };
    }
    if respects_quiet_hours(o.kind, o.rules) {
        if let Err(next) = o.rules.quiet_hours.check(o.to, business.time_zone, o.now) {
            return Verdict::Hold {
                until: next,
                reason: "quiet_hours",
            };
        }
    }
    Verdict::Allow
}

/// Why `to` must not get a text meant for `audience`, if so. A
/// customer-facing text never reaches one of our own numbers, a staff phone
/// or a blocked number; a staff-facing one (a packet full of a customer's
/// details, a page) reaches only a number the config names as staff.
fn wrong_audience(
    audience: Audience,
    business: &Business,
    to: &PhoneNumber,
    own_number: bool,
) -> Option<&'static str> {
    match audience {
        Audience::Customer if own_number || business.numbers.contains(to) => Some("own_number"),
        Audience::Customer if business.is_staff(to) => Some("staff_number"),
        Audience::Customer if business.block_list.contains(to) => Some("block_list"),
        Audience::Staff if !business.is_staff(to) => Some("not_staff"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn refuses_unknown_sender_and_bad_numbers() {
        let c = crate::core::conversation::tests_support::config();
        let b = &c.businesses[0];
        let rules = crate::core::Policy::new(&c).unwrap().rules;
        let o = |to: &'static str, from: &'static str| Outgoing {
            kind: MessageKind::Instant,
            to,
            from,
            business: Some(b),
            own_number: false,
            now: Utc::now(),
            sent_last_24h: 0,
            cap_frees_at: None,
            rules: &rules,
        };
        assert_eq!(check(&o("+15125550147", "+15125550100")), Verdict::Allow);
        assert_eq!(
            check(&o("+15125550147", "+15125559999")),
            Verdict::Refuse("unknown_sender")
        );
        assert_eq!(
            check(&o("555", "+15125550100")),
            Verdict::Refuse("invalid_number")
        );
        let none = Outgoing {
            business: None,
            own_number: false,
            ..o("+15125550147", "+15125550100")
        };
        assert_eq!(check(&none), Verdict::Refuse("unknown_business"));
    }

    #[test]
    fn only_registered_or_verified_senders_send() {
        use crate::config::{Registration, RegistrationStatus, Sender};
        let mut c = crate::core::conversation::tests_support::config();
        let rules = crate::core::Policy::new(&c).unwrap().rules;
        let b = &mut c.businesses[0];
        let o = |b: &crate::config::Business| {
            check(&Outgoing {
                kind: MessageKind::Instant,
                to: "+15125550147",
                from: "+15125550100",
                business: Some(b),
                own_number: false,
                now: Utc::now(),
                sent_last_24h: 0,
                cap_frees_at: None,
                rules: &rules,
            })
        };
        assert_eq!(o(b), Verdict::Allow);
        for status in [
            RegistrationStatus::Pending,
            RegistrationStatus::Rejected,
            RegistrationStatus::Unregistered,
            RegistrationStatus::Verified,
        ] {
            b.senders.get_mut("+15125550100").unwrap().status = status;
            assert_eq!(
                o(b),
                Verdict::Refuse("sender_not_registered"),
                "10DLC {status:?}"
            );
        }
        b.senders.insert(
            "+15125550100".into(),
            Sender {
                number: "+15125550100".into(),
                registration: Registration::None,
                status: RegistrationStatus::Registered,
                mps: 1.0,
            },
        );
        assert_eq!(o(b), Verdict::Refuse("sender_not_registered"));
        b.senders.clear();
        assert_eq!(
            o(b),
            Verdict::Refuse("sender_not_registered"),
            "undeclared numbers do not send"
        );
    }

    #[test]
    fn follow_ups_wait_for_daytime_but_instant_replies_do_not() {
        use chrono::TimeZone;
        let c = crate::core::conversation::tests_support::config();
        let rules = crate::core::Policy::new(&c).unwrap().rules;
        let b = &c.businesses[0];
        // 22:30 in Austin (area code 512), 2026-11-24.
        let night = Utc.with_ymd_and_hms(2026, 11, 25, 4, 30, 0).unwrap();
        let o = |kind| {
            check(&Outgoing {
                kind,
                to: "+15125550147",
                from: "+15125550100",
                business: Some(b),
                own_number: false,
                now: night,
                sent_last_24h: 0,
                cap_frees_at: None,
                rules: &rules,
            })
        };
        assert_eq!(o(MessageKind::Instant), Verdict::Allow);
        assert_eq!(o(MessageKind::OptOutConfirmation), Verdict::Allow);
        // Texas: 9:00 on weekdays, 08:00... the window for TX opens at 9:00 local = 15:00 UTC.
        assert_eq!(
            o(MessageKind::FollowUp),
            Verdict::Hold {
                until: Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap(),
                reason: "quiet_hours"
            }
        );
        // A Florida number (305) at 20:30 Eastern is past Florida's 20:00.
        let fl = Utc.with_ymd_and_hms(2026, 11, 25, 1, 30, 0).unwrap();
        let v = check(&Outgoing {
            kind: MessageKind::FollowUp,
            to: "+13055550147",
            from: "+15125550100",
            business: Some(b),
            own_number: false,
            now: fl,
            sent_last_24h: 0,
            cap_frees_at: None,
            rules: &rules,
        });
        assert!(
            matches!(
                v,
                Verdict::Hold {
                    reason: "quiet_hours",
                    ..
                }
            ),
            "{v:?}"
        );
        let mut strict = rules.clone();
        strict.instant_any_hour = false;
        let v = check(&Outgoing {
            kind: MessageKind::Instant,
            to: "+15125550147",
            from: "+15125550100",
            business: Some(b),
            own_number: false,
            now: night,
            sent_last_24h: 0,
            cap_frees_at: None,
            rules: &strict,
        });
        assert!(matches!(v, Verdict::Hold { .. }));
    }

    #[test]
    fn daily_cap_excludes_confirmations_and_help() {
        let c = crate::core::conversation::tests_support::config();
        let rules = crate::core::Policy::new(&c).unwrap().rules;
        let b = &c.businesses[0];
        let noon = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 24, 18, 0, 0).unwrap();
        let o = |kind, n| {
            check(&Outgoing {
                kind,
                to: "+15125550147",
                from: "+15125550100",
                business: Some(b),
                own_number: false,
                now: noon,
                sent_last_24h: n,
                cap_frees_at: None,
                rules: &rules,
            })
        };
        assert_eq!(o(MessageKind::FollowUp, 2), Verdict::Allow);
        assert_eq!(o(MessageKind::FollowUp, 3), Verdict::Refuse("daily_cap"));
        assert_eq!(o(MessageKind::OptOutConfirmation, 9), Verdict::Allow);
        assert_eq!(o(MessageKind::HelpReply, 9), Verdict::Allow);
        assert_eq!(o(MessageKind::Reply, 3), Verdict::Refuse("daily_cap"));
    }

    #[test]
    fn emergency_pages_and_safety_texts_go_at_night_and_past_the_cap() {
        let c = crate::core::conversation::tests_support::config();
        let rules = crate::core::Policy::new(&c).unwrap().rules;
        let b = &c.businesses[0];
        // 02:00 in Chicago: quiet hours everywhere in the US.
        let night = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 25, 8, 0, 0).unwrap();
        // A page goes to staff (an internal number), the safety text to the caller.
        for (kind, to) in [
            (MessageKind::Page, "+15125550150"),
            (MessageKind::Emergency, "+15125550147"),
        ] {
            let v = check(&Outgoing {
                kind,
                to,
                from: "+15125550100",
                business: Some(b),
                own_number: false,
                now: night,
                sent_last_24h: 99,
                cap_frees_at: None,
                rules: &rules,
            });
            assert_eq!(v, Verdict::Allow, "{kind}");
        }
        // The same hour holds a follow-up.
        let v = check(&Outgoing {
            kind: MessageKind::FollowUp,
            to: "+15125550147",
            from: "+15125550100",
            business: Some(b),
            own_number: false,
            now: night,
            sent_last_24h: 0,
            cap_frees_at: None,
            rules: &rules,
        });
        assert!(
            matches!(
                v,
                Verdict::Hold {
                    reason: "quiet_hours",
                    ..
                }
            ),
            "{v:?}"
        );
    }

    #[test]
    fn a_capped_follow_up_waits_for_a_free_slot_a_reply_does_not() {
        let c = crate::core::conversation::tests_support::config();
        let rules = crate::core::Policy::new(&c).unwrap().rules;
        let b = &c.businesses[0];
        let noon = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 24, 18, 0, 0).unwrap();
        let frees = noon + chrono::Duration::hours(3);
        let o = |kind| {
            check(&Outgoing {
                kind,
                to: "+15125550147",
                from: "+15125550100",
                business: Some(b),
                own_number: false,
                now: noon,
                sent_last_24h: 3,
                cap_frees_at: Some(frees),
                rules: &rules,
            })
        };
        assert_eq!(
            o(MessageKind::FollowUp),
            Verdict::Hold {
                until: frees,
                reason: "daily_cap"
            }
        );
        assert_eq!(o(MessageKind::Reply), Verdict::Refuse("daily_cap"));
    }
}
