//! What a carrier's error code means, whichever carrier sent it. Providers
//! translate their codes into this (`crate::provider::meaning`); the core
//! decides what each meaning does.

/// The meaning of a carrier's error about one text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarrierError {
    /// The recipient's number cannot take texts (a landline, an invalid or
    /// unroutable number).
    RecipientUnreachable,
    /// The recipient opted out at the carrier (replied STOP to it).
    RecipientOptedOut,
    /// The sending number is in trouble (unregistered, unverified, flagged
    /// as spam): with what it means, in words.
    SenderAtRisk(&'static str),
    /// Worth trying again later (rate limits, queue full, a pumping block).
    Transient,
    /// Anything else: the text failed, the number and sender are fine.
    Other,
}
