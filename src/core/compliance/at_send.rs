//! The last word before a text leaves: decided from what holds the instant
//! its send begins, read by the store under the recipient's lock (so an
//! opt-out committed a microsecond earlier is always seen, and two texts to
//! one person cannot both take the last slot of the cap).

use super::{counts_toward_cap, stopped_by_opt_out, CAP_WINDOW};
use crate::domain::{Audience, ConsentAction, LeadStatus, MessageKind, MessageStatus};
use chrono::{DateTime, Utc};

/// What the store read under the lock.
#[derive(Debug, Clone)]
pub struct AtSend {
    pub kind: MessageKind,
    /// The message's status now (an opt-out may have canceled it).
    pub status: MessageStatus,
    pub consent: Option<ConsentAction>,
    /// Carriers told us texts do not reach the number.
    pub unreachable: bool,
    /// Capped texts to the recipient in the last [`CAP_WINDOW`] (sends in
    /// flight included), and when the oldest left; for kinds that count.
    pub capped: (i64, Option<DateTime<Utc>>),
    pub daily_cap: i64,
    /// For a follow-up: its lead's status, and whether a newer lead of the
    /// same caller took over.
    pub lead: Option<(LeadStatus, bool)>,
}

/// Whether the send may begin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Go; `in_doubt`: an earlier attempt may have reached the carrier, so
    /// look for it there first.
    Go { in_doubt: bool },
    /// The message no longer wants sending (sent, canceled, suppressed...).
    NotSendable(MessageStatus),
    /// Never: mark it suppressed with this reason.
    Suppress(&'static str),
    /// The lead no longer wants it: mark it canceled with this reason.
    Cancel(String),
    /// The recipient's cap is full; a slot frees at `frees_at`.
    Capped { frees_at: Option<DateTime<Utc>> },
}

/// Decides whether a send may begin.
pub fn at_send(f: &AtSend) -> Start {
    if !matches!(f.status, MessageStatus::Queued | MessageStatus::Sending) {
        return Start::NotSendable(f.status);
    }
    if stopped_by_opt_out(f.kind, f.consent) {
        return Start::Suppress("opted_out");
    }
    if f.unreachable && f.kind.audience() == Audience::Customer {
        return Start::Suppress("unreachable");
    }
    if counts_toward_cap(f.kind) && f.capped.0 >= f.daily_cap {
        return Start::Capped {
            frees_at: f.capped.1.map(|t| t + CAP_WINDOW),
        };
    }
    // A follow-up is for someone who has not answered. If they replied,
    // called or were closed out since it was queued (say it was held
    // overnight by quiet hours), it must not go; nor if a newer lead of the
    // same caller took over (replies and answered calls reach only that one).
    if let (MessageKind::FollowUp, Some((status, superseded))) = (f.kind, f.lead) {
        if superseded {
            return Start::Cancel("lead_superseded".into());
        }
        if !matches!(status, LeadStatus::Texted | LeadStatus::Cold) {
            return Start::Cancel(format!("lead_{status}"));
        }
    }
    Start::Go {
        in_doubt: f.status == MessageStatus::Sending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: MessageKind) -> AtSend {
        AtSend {
            kind,
            status: MessageStatus::Queued,
            consent: None,
            unreachable: false,
            capped: (0, None),
            daily_cap: 3,
            lead: Some((LeadStatus::Texted, false)),
        }
    }

    #[test]
    fn an_opt_out_stops_everything_but_its_own_confirmation() {
        for kind in [
            MessageKind::Instant,
            MessageKind::Page,
            MessageKind::Emergency,
        ] {
            let f = AtSend {
                consent: Some(ConsentAction::OptOut),
                ..facts(kind)
            };
            assert_eq!(at_send(&f), Start::Suppress("opted_out"), "{kind}");
        }
        let f = AtSend {
            consent: Some(ConsentAction::OptOut),
            ..facts(MessageKind::OptOutConfirmation)
        };
        assert_eq!(at_send(&f), Start::Go { in_doubt: false });
    }

    #[test]
    fn unreachable_numbers_get_no_customer_texts() {
        let f = AtSend {
            unreachable: true,
            ..facts(MessageKind::Reply)
        };
        assert_eq!(at_send(&f), Start::Suppress("unreachable"));
    }

    #[test]
    fn the_cap_and_a_stale_follow_up() {
        let now = Utc::now();
        let f = AtSend {
            capped: (3, Some(now)),
            ..facts(MessageKind::FollowUp)
        };
        assert_eq!(
            at_send(&f),
            Start::Capped {
                frees_at: Some(now + CAP_WINDOW)
            }
        );
        let f = AtSend {
            capped: (3, Some(now)),
            ..facts(MessageKind::HelpReply)
        };
        assert_eq!(at_send(&f), Start::Go { in_doubt: false });
        let f = AtSend {
            lead: Some((LeadStatus::Engaged, false)),
            ..facts(MessageKind::FollowUp)
        };
        assert_eq!(at_send(&f), Start::Cancel("lead_engaged".into()));
        let f = AtSend {
            lead: Some((LeadStatus::Texted, true)),
            ..facts(MessageKind::FollowUp)
        };
        assert_eq!(at_send(&f), Start::Cancel("lead_superseded".into()));
        let f = AtSend {
            status: MessageStatus::Sending,
            ..facts(MessageKind::Instant)
        };
        assert_eq!(at_send(&f), Start::Go { in_doubt: true });
        let f = AtSend {
            status: MessageStatus::Canceled,
            ..facts(MessageKind::Instant)
        };
        assert_eq!(at_send(&f), Start::NotSendable(MessageStatus::Canceled));
    }
}
