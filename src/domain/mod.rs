//! The trade's vocabulary as types: leads, calls, texts and why a text was
//! (not) sent. Everything here is plain data with string forms that are
//! stored in the database and shown in the admin API.

mod call;
mod carrier;
pub mod hours;
mod lead;
mod message;
mod phone;
pub mod template;
pub mod text;

pub use call::Call;
pub use carrier::CarrierError;
pub use hours::BusinessHours;
pub use lead::{Lead, LeadEvent};
pub use message::{Audience, Message, SendClass};
pub use phone::{mask, mask_numbers, Masked, PhoneError, PhoneNumber};
pub use template::{Template, TemplateError, Vars};

/// Declares a string-backed enum whose string forms are what the database
/// stores and the API shows. Parsing an unknown string is an error, never a
/// silent default.
macro_rules! string_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($name::$var),)+
                    other => Err(format!(
                        "unknown {} `{}` (expected one of: {})",
                        stringify!($name), other, [$($s),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// Where a lead stands, mirroring a contact centre's queues.
    pub enum LeadStatus {
        New => "new",
        Texted => "texted",
        Engaged => "engaged",
        BookingRequested => "booking_requested",
        Resolved => "resolved",
        Dismissed => "dismissed",
        Cold => "cold",
    }
}

impl LeadStatus {
    /// Open leads still want work from the office (and follow-ups).
    pub fn is_open(&self) -> bool {
        !matches!(self, LeadStatus::Resolved | LeadStatus::Dismissed)
    }
}

string_enum! {
    /// What told us a call was missed. Several may arrive for one call; only
    /// the first counts.
    pub enum MissedTrigger {
        /// `<Dial action>` reported no-answer, busy, failed or canceled.
        DialResult => "dial_result",
        /// The forwarded phone "answered" but nobody pressed 1 at the screen.
        ScreenNotAccepted => "screen_not_accepted",
        /// A status callback for a call ringback does not front.
        StatusCallback => "status_callback",
        /// The caller left a voicemail.
        Voicemail => "voicemail",
        /// After hours the call goes straight to voicemail.
        AfterHours => "after_hours",
    }
}

string_enum! {
    /// Why a text we would have sent was not.
    pub enum SuppressReason {
        InvalidNumber => "invalid_number",
        WithheldNumber => "withheld_number",
        OwnNumber => "own_number",
        InternalNumber => "internal_number",
        BlockList => "block_list",
        OptedOut => "opted_out",
        Unreachable => "unreachable",
        LeadClosed => "lead_closed",
    }
}

string_enum! {
    /// What a text is for; the compliance gate treats kinds differently.
    pub enum MessageKind {
        /// The one text to a caller we just missed.
        Instant => "instant",
        FollowUp => "follow_up",
        Reply => "reply",
        OptOutConfirmation => "opt_out_confirmation",
        OptInConfirmation => "opt_in_confirmation",
        HelpReply => "help_reply",
        /// The job packet and other news for the office (dispatcher).
        OfficeNotice => "office_notice",
        /// The office about an emergency: the EMERGENCY packet, or nobody
        /// on call took it.
        EmergencyNotice => "emergency_notice",
        /// The owner about the business's own sending numbers.
        OwnerAlert => "owner_alert",
        /// A person in the office texting the customer.
        OfficeReply => "office_reply",
        /// A follow-up from the office's queue: after a job (the review
        /// ask) or on an unanswered quote.
        OfficeFollowUp => "office_follow_up",
        /// An emergency page to an on-call tech.
        Page => "page",
        /// To a caller with an emergency: safety advice, who is coming.
        Emergency => "emergency",
        Inbound => "inbound",
    }
}

string_enum! {
    /// A message's life. Outbound: queued -> sending -> sent -> delivered /
    /// undelivered / failed; or suppressed / canceled before it left.
    pub enum MessageStatus {
        Queued => "queued",
        /// Handed to the provider, result not yet recorded: "in doubt" until
        /// reconciled with the provider's own list.
        Sending => "sending",
        Sent => "sent",
        Delivered => "delivered",
        Undelivered => "undelivered",
        Failed => "failed",
        Suppressed => "suppressed",
        Canceled => "canceled",
        Received => "received",
    }
}

impl MessageStatus {
    /// Rank for the monotonic status machine of delivery callbacks, which can
    /// arrive out of order: a "sent" after "delivered" must not go back.
    pub fn rank(&self) -> u8 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sending => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Delivered
            | MessageStatus::Undelivered
            | MessageStatus::Failed
            | MessageStatus::Suppressed
            | MessageStatus::Canceled
            | MessageStatus::Received => 3,
        }
    }
}

string_enum! {
    /// Consent ledger entries: the current state is derived from them.
    pub enum ConsentAction {
        OptOut => "opt_out",
        OptIn => "opt_in",
        Help => "help",
    }
}

/// Serializes an enum by its string form (as stored and shown in the API).
pub(crate) fn ser_display<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip() {
        for s in LeadStatus::ALL {
            assert_eq!(s.as_str().parse::<LeadStatus>().unwrap(), *s);
        }
        for s in MessageStatus::ALL {
            assert_eq!(s.as_str().parse::<MessageStatus>().unwrap(), *s);
        }
        let err = "texted!".parse::<LeadStatus>().unwrap_err();
        assert!(err.contains("expected one of"), "{err}");
    }
}
