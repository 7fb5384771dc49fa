//! What a carrier tells us about a text after the fact — a delivery
//! receipt, an error code — applied to the message, the number and the
//! sender. The same codes arrive two ways (the send API's answer to the
//! worker, a later delivery receipt to a webhook) and mean the same thing.

use crate::config::Config;
use crate::core::conversation::{on_carrier_error, CarrierEffect};
use crate::domain::{mask, MessageStatus};
use crate::metrics::Metrics;
use crate::store::{StoreError, Tx};
use chrono::{DateTime, Utc};

/// What a delivery receipt did, for the caller to act on once its
/// transaction commits.
pub(crate) struct Applied {
    pub message: crate::domain::Message,
    /// The sender's at-risk flag came down.
    pub healthy_again: bool,
    /// An owner alert was queued: wake the worker.
    pub alerted: bool,
}

/// A delivery receipt applied in `tx`: the message's status moves forward
/// only; a carrier error teaches us about the number; a delivered text
/// clears its sender's at-risk flag if it was sent after the error.
/// `None` if no message has this provider id.
pub(crate) async fn apply_receipt(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    sid: &str,
    status: MessageStatus,
    error_code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Applied>, StoreError> {
    let Some(m) = tx.update_delivery(sid, status, error_code, now).await? else {
        return Ok(None);
    };
    let mut alerted = false;
    if let Some(code) = error_code {
        alerted = learn_from_carrier_error(tx, config, metrics, &m, code, now).await?;
    }
    let mut healthy_again = false;
    if status == MessageStatus::Delivered {
        let sent_at = m.sent_at.or(m.send_started_at).unwrap_or(m.created_at);
        healthy_again = tx.clear_sender_at_risk(&m.from, sent_at).await?;
    }
    Ok(Some(Applied {
        message: m,
        healthy_again,
        alerted,
    }))
}

/// After the commit that cleared it.
pub(crate) fn log_healthy_again(applied: Option<&Applied>) {
    if let Some(Applied {
        message: m,
        healthy_again: true,
        ..
    }) = applied
    {
        tracing::info!(
            business = %m.business_id,
            sender = %m.from,
            "sending number delivers again: no longer at risk"
        );
    }
}

/// What a carrier error code teaches us about the recipient or the sender,
/// applied in `tx`. The same codes arrive two ways — synchronously from the
/// send API (the worker) and later in a delivery status callback — and
/// mean the same thing either way. Returns whether an owner alert was
/// queued (wake the worker after the commit).
pub(crate) async fn learn_from_carrier_error(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    m: &crate::domain::Message,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    match on_carrier_error(crate::provider::meaning(code)) {
        CarrierEffect::Unreachable => {
            tx.mark_unreachable(&m.business_id, &m.to, code, now)
                .await?;
            if let Some(lead_id) = m.lead_id {
                tx.stop_follow_ups(lead_id, "number cannot receive texts", "unreachable", now)
                    .await?;
                tx.lead_event(
                    lead_id,
                    "unreachable",
                    &format!("carrier error {code}: call them instead"),
                    now,
                )
                .await?;
            }
        }
        CarrierEffect::OptedOut => {
            tx.record_consent(
                &m.business_id,
                &m.to,
                crate::domain::ConsentAction::OptOut,
                &format!("carrier_{code}"),
                None,
                now,
            )
            .await?;
            tracing::warn!(to = %mask(&m.to), code, "carrier says the number unsubscribed; recorded as opted out");
        }
        CarrierEffect::SenderAtRisk(why) => {
            return crate::shell::alerts::sender_at_risk(tx, config, metrics, m, code, why, now)
                .await;
        }
        CarrierEffect::Nothing => {}
    }
    Ok(false)
}
