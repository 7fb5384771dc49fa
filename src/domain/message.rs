//! A text, inbound or outbound, and where it stands.

use super::{MessageKind, MessageStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub business_id: String,
    pub lead_id: Option<i64>,
    pub direction: String,
    #[serde(serialize_with = "super::ser_display")]
    pub kind: MessageKind,
    pub to: String,
    pub from: String,
    pub body: String,
    #[serde(serialize_with = "super::ser_display")]
    pub status: MessageStatus,
    pub suppress_reason: Option<String>,
    pub provider: Option<String>,
    pub provider_sid: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i64,
    pub trigger_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub send_started_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Its last change: for a text in doubt, when its last attempt's
    /// outcome was recorded as unknown.
    pub updated_at: DateTime<Utc>,
}

/// Who a text is for. Customer-facing texts never reach a staff, blocked or
/// own number; staff-facing ones (full of a customer's details) reach only
/// numbers the config names as staff. The gate checks it at send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    Customer,
    Staff,
}

/// Where a text stands in its sending number's line: each number sends its
/// texts one class after another, first in first out within a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SendClass {
    /// Someone may be in danger: safety texts, pages, the emergency packet.
    LifeSafety = 0,
    /// A person is texting us right now: STOP/HELP/START confirmations,
    /// replies, questions, the office's own replies.
    Conversation = 1,
    /// The text to a caller we just missed.
    Instant = 2,
    /// Follow-ups, office notices, owner alerts.
    Background = 3,
}

impl SendClass {
    pub const ALL: [SendClass; 4] = [
        SendClass::LifeSafety,
        SendClass::Conversation,
        SendClass::Instant,
        SendClass::Background,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SendClass::LifeSafety => "life_safety",
            SendClass::Conversation => "conversation",
            SendClass::Instant => "instant",
            SendClass::Background => "background",
        }
    }

    /// The rank stored with a send job (lower goes first).
    pub fn rank(self) -> i64 {
        self as i64
    }
}

impl MessageKind {
    /// Who this kind of text is for.
    pub fn audience(self) -> Audience {
        match self {
            MessageKind::OfficeNotice
            | MessageKind::EmergencyNotice
            | MessageKind::OwnerAlert
            | MessageKind::Page => Audience::Staff,
            MessageKind::Instant
            | MessageKind::FollowUp
            | MessageKind::Reply
            | MessageKind::OptOutConfirmation
            | MessageKind::OptInConfirmation
            | MessageKind::HelpReply
            | MessageKind::OfficeReply
            | MessageKind::OfficeFollowUp
            | MessageKind::Emergency
            | MessageKind::Inbound => Audience::Customer,
        }
    }

    /// Is a queued text of this kind canceled with its lead's other jobs
    /// when the customer opts out (or the lead closes)? Customer-facing
    /// texts are; staff ones are not (the office must still hear, a tech
    /// must still be paged), nor the one confirmation of the opt-out itself.
    pub fn canceled_with_lead(self) -> bool {
        self.audience() == Audience::Customer && self != MessageKind::OptOutConfirmation
    }

    /// Its place in the sending number's line.
    pub fn class(self) -> SendClass {
        match self {
            MessageKind::Emergency | MessageKind::Page | MessageKind::EmergencyNotice => {
                SendClass::LifeSafety
            }
            MessageKind::OptOutConfirmation
            | MessageKind::OptInConfirmation
            | MessageKind::HelpReply
            | MessageKind::Reply
            | MessageKind::OfficeReply
            | MessageKind::Inbound => SendClass::Conversation,
            MessageKind::Instant => SendClass::Instant,
            MessageKind::FollowUp
            | MessageKind::OfficeFollowUp
            | MessageKind::OfficeNotice
            | MessageKind::OwnerAlert => SendClass::Background,
        }
    }
}
