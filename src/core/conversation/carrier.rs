//! What a carrier's error about one text changes: the number, the
//! conversation, the sender. The same error arrives two ways — the send
//! API's answer, a later delivery receipt — and means the same thing.

use crate::domain::CarrierError;

/// What to do about a carrier error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarrierEffect {
    /// The number takes no texts: mark it, end the follow-ups, tell the
    /// office to call instead.
    Unreachable,
    /// The recipient opted out at the carrier: record it in the ledger (an
    /// opt-out by any means counts).
    OptedOut,
    /// The sending number is in trouble: flag it, alert the owner.
    SenderAtRisk(&'static str),
    Nothing,
}

/// The effect of `error`.
pub fn on_carrier_error(error: CarrierError) -> CarrierEffect {
    match error {
        CarrierError::RecipientUnreachable => CarrierEffect::Unreachable,
        CarrierError::RecipientOptedOut => CarrierEffect::OptedOut,
        CarrierError::SenderAtRisk(why) => CarrierEffect::SenderAtRisk(why),
        CarrierError::Transient | CarrierError::Other => CarrierEffect::Nothing,
    }
}
