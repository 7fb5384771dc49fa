//! Sender trouble the owner must hear about: a number the gate refuses to
//! send from (not registered / verified), and numbers carriers have put at
//! risk (30034 unregistered, 30007 filtered, Telnyx spam blocks).
//!
//! The owner is alerted on their own phone (`owner_phone`) by an ordinary
//! outbound text — queued in the outbox and sent by the worker through the
//! compliance gate like any other ("one door out") — from another of the
//! business's numbers that may send. At most one alert per sender per
//! [`ALERT_EVERY`], recorded in the database so restarts and several
//! instances cannot multiply it.

use crate::config::Config;
use crate::domain::Message;
use crate::domain::{mask, MessageKind};
use crate::metrics::Metrics;
use crate::shell::outbox::{self, Outbound};
use crate::store::{Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// At most one owner alert per sender per this long.
pub const ALERT_EVERY: chrono::Duration = chrono::Duration::hours(24);

/// What became of an owner alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOutcome {
    Queued,
    /// An alert about this sender went out within [`ALERT_EVERY`].
    AlreadyAlerted,
    NoOwnerPhone,
    /// None of the business's other numbers may send.
    NoRegisteredSender,
    UnknownBusiness,
}

impl AlertOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertOutcome::Queued => "queued",
            AlertOutcome::AlreadyAlerted => "already_alerted",
            AlertOutcome::NoOwnerPhone => "no_owner_phone",
            AlertOutcome::NoRegisteredSender => "no_registered_sender",
            AlertOutcome::UnknownBusiness => "unknown_business",
        }
    }
}

/// Records a carrier error that puts `m.from` at risk, in `tx`.
pub(crate) async fn sender_at_risk(
    tx: &mut Tx,
    metrics: &Metrics,
    m: &Message,
    code: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.mark_sender_at_risk(&m.business_id, &m.from, code, now)
        .await?;
    metrics.inc(
        "ringback_sender_at_risk_total",
        &[("sender", &m.from), ("code", code)],
    );
    tracing::error!(
        business = %m.business_id,
        sender = %m.from,
        code,
        meaning = why,
        "sending number is at risk: check its A2P 10DLC / toll-free registration"
    );
    Ok(())
}

/// The gate refused `msg` because its sender is not registered/verified:
/// log it, count it, and alert the owner (at most once a day per sender).
pub async fn sender_refused(
    store: &Store,
    config: &Config,
    metrics: &Metrics,
    wake: &Notify,
    msg: &Message,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, StoreError> {
    let outcome = alert_owner(store, config, msg, now).await?;
    metrics.inc(
        "ringback_owner_alerts_total",
        &[
            ("reason", "sender_not_registered"),
            ("outcome", outcome.as_str()),
        ],
    );
    let status = config
        .business(&msg.business_id)
        .and_then(|b| b.sender(&msg.from))
        .map(|s| s.status.as_str())
        .unwrap_or("undeclared");
    match outcome {
        AlertOutcome::Queued => {
            wake.notify_one();
            tracing::error!(business = %msg.business_id, sender = %msg.from, status, "texts from this number are refused: it is not registered for A2P 10DLC / not toll-free verified; the owner has been alerted by text");
        }
        AlertOutcome::AlreadyAlerted => {
            tracing::error!(business = %msg.business_id, sender = %msg.from, status, "texts from this number are refused: it is not registered for A2P 10DLC / not toll-free verified (owner already alerted today)");
        }
        AlertOutcome::NoOwnerPhone | AlertOutcome::NoRegisteredSender => {
            tracing::error!(business = %msg.business_id, sender = %msg.from, status, why = outcome.as_str(), "texts from this number are refused: it is not registered for A2P 10DLC / not toll-free verified; the owner alert could NOT be sent (set owner_phone and register at least one other number)");
        }
        AlertOutcome::UnknownBusiness => {}
    }
    Ok(outcome)
}

async fn alert_owner(
    store: &Store,
    config: &Config,
    msg: &Message,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, StoreError> {
    let Some(b) = config.business(&msg.business_id) else {
        return Ok(AlertOutcome::UnknownBusiness);
    };
    let Some(owner) = &b.owner_phone else {
        return Ok(AlertOutcome::NoOwnerPhone);
    };
    // Any other number of the business that may send; never the refused one.
    let Some(via) = b
        .numbers
        .iter()
        .map(|n| n.as_str())
        .find(|n| *n != msg.from && b.sender(n).is_some_and(|s| s.may_send()))
    else {
        return Ok(AlertOutcome::NoRegisteredSender);
    };
    let status = b
        .sender(&msg.from)
        .map(|s| s.status.as_str())
        .unwrap_or("not declared");
    let mut tx = store.begin().await?;
    if !tx
        .claim_sender_alert(&b.id, &msg.from, now, ALERT_EVERY)
        .await?
    {
        return Ok(AlertOutcome::AlreadyAlerted);
    }
    let body = format!(
        "ringback alert for {}: texts from {} are NOT being sent because the number is {} for A2P 10DLC / toll-free. Callers to it get no text until its registration is approved.",
        b.name, msg.from, status
    );
    outbox::queue(
        &mut tx,
        config,
        Outbound::Text(outbox::Text {
            business_id: &b.id,
            lead_id: None,
            kind: MessageKind::OwnerAlert,
            to: owner.as_str(),
            from: via,
            body,
            trigger_at: None,
        }),
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(owner = %mask(owner.as_str()), via, "owner alert queued");
    Ok(AlertOutcome::Queued)
}
