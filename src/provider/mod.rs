//! Carriers behind one seam. Only the worker calls [`Provider::send_sms`]:
//! every text leaves through the outbox and the compliance gate.

pub mod console;
pub mod router;
pub mod telnyx;
pub mod twilio;

use crate::domain::CarrierError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What a carrier's error code means. Twilio's codes (2xxxx, 3xxxx) and
/// Telnyx's (1xxxx, 4xxxx) do not overlap, so one look-up serves both.
pub fn meaning(code: &str) -> CarrierError {
    twilio::meaning(code)
        .or_else(|| telnyx_meaning(code))
        .unwrap_or(CarrierError::Other)
}

/// Telnyx's message error codes (specs/providers.md §4.8-4.9; what was
/// checked against Telnyx's error reference, and what was not, is in
/// docs/http.md, "Telnyx webhooks").
fn telnyx_meaning(code: &str) -> Option<CarrierError> {
    Some(match code {
        // Not routable (a landline), an invalid destination, undeliverable.
        // Not 40004 "rejected by destination": Telnyx's advice is to retry
        // after a delay, so it must not mark a person unreachable for good.
        "40001" | "40008" | "40012" => CarrierError::RecipientUnreachable,
        // Blocked after the recipient's STOP.
        "40300" => CarrierError::RecipientOptedOut,
        "40002" => CarrierError::SenderAtRisk("blocked as spam (temporary)"),
        "40003" => CarrierError::SenderAtRisk("blocked as spam (permanent)"),
        "40013" => CarrierError::SenderAtRisk("sending number rejected by the carrier"),
        // Not in Telnyx's error tables (they go from 40009 to 40011); kept
        // for an unregistered 10DLC sender, where a wrong guess only warns
        // the owner once too often.
        "40010" => CarrierError::SenderAtRisk("unregistered 10DLC number (blocked)"),
        "40011" | "10011" => CarrierError::Transient,
        _ => return None,
    })
}

/// A text ready to leave.
#[derive(Debug, Clone)]
pub struct OutboundSms {
    pub to: String,
    pub from: String,
    pub body: String,
    /// Where the carrier should post delivery updates, if anywhere.
    pub status_callback: Option<String>,
    /// Ours, the same on every attempt at this text (`rb-{message id}`):
    /// a carrier that cannot list texts by body finds an in-doubt send by
    /// it (Telnyx carries it in the per-message `webhook_url`).
    pub reference: Option<String>,
}

/// A voice call to place (an emergency page): the carrier runs `twiml`
/// when it is answered.
#[derive(Debug, Clone)]
pub struct OutboundCall {
    pub to: String,
    pub from: String,
    pub twiml: String,
    /// Seconds to ring before giving up.
    pub timeout_secs: u32,
    /// Where the carrier can fetch the same call flow, for a carrier that
    /// takes a URL rather than the markup itself (Telnyx TeXML).
    pub url: Option<String>,
}

/// The carrier accepted the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    pub provider_sid: String,
}

/// Why a send did not go through, and what to do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Try again later: network trouble, 5xx, 429. `in_doubt` means the
    /// carrier may have accepted the message (a timeout, a 500), so the next
    /// attempt must first look for it in the carrier's own list.
    #[error("retryable: {message}")]
    Retryable {
        message: String,
        retry_after: Option<Duration>,
        in_doubt: bool,
    },
    /// Never retry: the carrier refused this message for good.
    #[error("permanent ({code}): {message}")]
    Permanent { code: String, message: String },
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent { .. })
    }
}

/// A carrier. Implementations: [`twilio::Twilio`], [`console::Console`].
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    async fn send_sms(&self, sms: &OutboundSms) -> Result<SendReceipt, SendError>;

    /// Looks in the carrier's own message list for a text to `to` from
    /// `from` with this body, created at or after `since`. Used before
    /// retrying a send whose outcome we never recorded (a crash, a timeout),
    /// so that a customer never gets the same text twice.
    async fn find_sent(
        &self,
        sms: &OutboundSms,
        since: DateTime<Utc>,
    ) -> Result<Option<SendReceipt>, SendError>;

    /// Places a voice call (emergency pages). Like sends, only the worker
    /// calls it. Not reconciled like texts: a duplicate page call in a
    /// crash window is acceptable for an emergency, a missing one is not.
    async fn place_call(&self, call: &OutboundCall) -> Result<SendReceipt, SendError>;

    /// The carrier that sends from `from` (recorded with each text).
    fn carrier_of(&self, _from: &str) -> &'static str {
        self.name()
    }

    /// How long after a send its record may take to appear where
    /// [`Provider::find_sent`] looks. An in-doubt text younger than this
    /// that the look-up does not find is looked for again later, not sent:
    /// a text sent twice is worse than one sent a little late.
    fn record_lag(&self, _from: &str) -> chrono::Duration {
        chrono::Duration::zero()
    }

    /// Where the carrier that serves `from` posts call-flow callbacks
    /// (keypresses on a page call, ...): `/webhooks/twilio/voice` or
    /// `/webhooks/telnyx/texml`.
    fn voice_path(&self, _from: &str) -> &'static str {
        "/webhooks/twilio/voice"
    }
}

/// A request that failed on the network, for either carrier's API.
pub(crate) fn network_error(e: reqwest::Error) -> SendError {
    // A request that may have reached the carrier is in doubt; one refused before
    // it was sent (connect error) is not.
    SendError::Retryable {
        in_doubt: !e.is_connect(),
        message: format!("network: {e}"),
        retry_after: None,
    }
}

/// The carrier refused a look-up of an in-doubt send (`what`: which
/// look-up). A failed look-up is never a reason to give up on the text: a
/// permanent refusal becomes retryable, still in doubt, so the next try
/// looks again before sending.
pub(crate) fn lookup_failed(what: &str, e: SendError) -> SendError {
    match e {
        SendError::Permanent { code, message } => SendError::Retryable {
            message: format!("{what} failed ({code}): {message}"),
            retry_after: None,
            in_doubt: true,
        },
        e => e,
    }
}

/// A carrier's `Retry-After`: seconds, or an HTTP date.
pub(crate) fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let d = at.with_timezone(&Utc) - Utc::now();
    Some(d.to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_codes_mean_the_same_from_either_carrier() {
        for c in ["30034", "30007", "30032", "40002", "40003"] {
            assert!(
                matches!(meaning(c), CarrierError::SenderAtRisk(_)),
                "{c} puts the sender at risk"
            );
        }
        for c in ["21211", "21614", "21635", "30006", "40001", "40012"] {
            assert_eq!(meaning(c), CarrierError::RecipientUnreachable, "{c}");
        }
        // "Rejected by destination, retry after a delay": not for good.
        assert_eq!(meaning("40004"), CarrierError::Other);
        for c in ["30034", "40010"] {
            assert_eq!(
                meaning(c),
                CarrierError::SenderAtRisk("unregistered 10DLC number (blocked)"),
                "{c}: an unregistered sender means the same from either carrier"
            );
        }
        for c in ["21610", "40300"] {
            assert_eq!(meaning(c), CarrierError::RecipientOptedOut, "{c}");
        }
        assert_eq!(meaning(""), CarrierError::Other);
        assert_eq!(meaning("30450"), CarrierError::Transient);
    }
}
