//! Telnyx API v2 webhooks: `POST /webhooks/telnyx`, one JSON event each
//! (specs/providers.md §4.1-4.4). Checked in this order, stopping at the
//! first problem with a clear 4xx and nothing recorded: shutting down (503)
//! → content type (415) → signature headers present (400) → timestamp within
//! 300 s and Ed25519 signature over `"{timestamp}|{raw body}"` valid (403)
//! → JSON well formed, no key twice at any depth, fields of the right
//! types (400). An event is then recorded once by its `data.id` and handed
//! to the same shell use cases as Twilio's webhooks.
//!
//! Call flows (ringing the shop, screening, voicemail, the after-hours
//! menu, page calls) run on TeXML under `/webhooks/telnyx/texml/…`, served
//! by the Twilio voice handlers (`http/twilio`). Here, `call.hangup` covers
//! a number whose calls a Telnyx Call Control app fronts instead.

mod events;

pub use events::events;

use super::error::ApiError;
use super::AppState;
use crate::provider::telnyx::signature::{self, SigError};
use axum::http::HeaderMap;

/// Checks the Ed25519 signature of a Telnyx request (JSON event or TeXML
/// callback) against the account's public key and our clock.
pub(crate) fn check_signature(
    s: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = s.shell.clock.now().timestamp();
    match signature::verify(
        &s.telnyx_key,
        header("telnyx-timestamp"),
        header("telnyx-signature-ed25519"),
        body,
        now,
    ) {
        Ok(()) => Ok(()),
        Err(SigError::Missing) => Err(ApiError::MissingSignature(
            "telnyx-signature-ed25519 and telnyx-timestamp headers are required",
        )),
        Err(e @ (SigError::BadTimestamp | SigError::Malformed)) => {
            Err(ApiError::BadRequest(e.to_string()))
        }
        Err(e @ (SigError::Stale(_) | SigError::Invalid)) => {
            tracing::warn!(reason = %e, "Telnyx webhook refused");
            Err(ApiError::BadSignature)
        }
    }
}
