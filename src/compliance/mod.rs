//! The compliance gate: the one place every outbound message passes, at send
//! time (not when it was queued: a lot can change in between).
//!
//! The gate is a pure function of facts the worker loads; the consent ledger
//! check itself happens atomically inside [`crate::store::Store::begin_send`]
//! so that an opt-out committed a microsecond earlier is always seen.

pub mod lint;
pub mod quiet;

use crate::config::Business;
use crate::domain::{MessageKind, PhoneNumber};
use chrono::{DateTime, Utc};

/// What the gate knows about a message about to leave.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub kind: MessageKind,
    pub to: &'a str,
    pub from: &'a str,
    /// None when the business was removed from the config since queuing.
    pub business: Option<&'a Business>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Not now: try again at `until` (quiet hours, rate limits).
    Hold { until: DateTime<Utc>, reason: &'static str },
    /// Never: record the reason and do not send.
    Refuse(&'static str),
}

pub fn check(o: &Outgoing<'_>) -> Verdict {
    let Some(business) = o.business else {
        return Verdict::Refuse("unknown_business");
    };
    if PhoneNumber::parse(o.to).is_err() {
        return Verdict::Refuse("invalid_number");
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
    Verdict::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn refuses_unknown_sender_and_bad_numbers() {
        let c = crate::engine::tests_support::config();
        let b = &c.businesses[0];
        let o = |to: &'static str, from: &'static str| Outgoing { kind: MessageKind::Instant, to, from, business: Some(b), now: Utc::now() };
        assert_eq!(check(&o("+15125550147", "+15125550100")), Verdict::Allow);
        assert_eq!(check(&o("+15125550147", "+15125559999")), Verdict::Refuse("unknown_sender"));
        assert_eq!(check(&o("555", "+15125550100")), Verdict::Refuse("invalid_number"));
        let none = Outgoing { business: None, ..o("+15125550147", "+15125550100") };
        assert_eq!(check(&none), Verdict::Refuse("unknown_business"));
    }

    #[test]
    fn only_registered_or_verified_senders_send() {
        use crate::config::{Registration, RegistrationStatus, Sender};
        let mut c = crate::engine::tests_support::config();
        let b = &mut c.businesses[0];
        let o = |b: &crate::config::Business| check(&Outgoing { kind: MessageKind::Instant, to: "+15125550147", from: "+15125550100", business: Some(b), now: Utc::now() });
        assert_eq!(o(b), Verdict::Allow);
        for status in [RegistrationStatus::Pending, RegistrationStatus::Rejected, RegistrationStatus::Unregistered, RegistrationStatus::Verified] {
            b.senders.get_mut("+15125550100").unwrap().status = status;
            assert_eq!(o(b), Verdict::Refuse("sender_not_registered"), "10DLC {status:?}");
        }
        b.senders.insert("+15125550100".into(), Sender { number: "+15125550100".into(), registration: Registration::None, status: RegistrationStatus::Registered, mps: 1.0 });
        assert_eq!(o(b), Verdict::Refuse("sender_not_registered"));
        b.senders.clear();
        assert_eq!(o(b), Verdict::Refuse("sender_not_registered"), "undeclared numbers do not send");
    }
}
