//! Sender trouble the owner must hear about: a number the gate refuses to
//! send from (not registered / verified), and numbers carriers have put at
//! risk (30034 unregistered, 30007 filtered, Telnyx spam blocks and
//! registration errors).
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
use crate::store::{StoreError, Tx};
use chrono::{DateTime, Utc};

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

/// Records a carrier error that puts `m.from` at risk, in `tx`, and
/// queues the owner's alert in the same transaction (at most one a day per
/// sender, shared with the gate's refusals): a number the carriers block
/// loses every caller until the owner fixes its registration, so they must
/// hear it from us, not from a customer. Returns whether an alert was
/// queued, so the caller wakes the worker once `tx` commits.
pub(crate) async fn sender_at_risk(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    m: &Message,
    code: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    tx.mark_sender_at_risk(&m.business_id, &m.from, code, now)
        .await?;
    metrics.inc(
        "ringback_sender_at_risk_total",
        &[("sender", &m.from), ("code", code)],
    );
    // The alert itself may draw the same error (a shop with one number
    // alerts from the number at risk): an alert never alerts about itself.
    if m.kind == MessageKind::OwnerAlert {
        tracing::error!(business = %m.business_id, sender = %m.from, code, meaning = why, "the owner alert itself was refused by the carrier: the owner has not been told; check the number's registration");
        return Ok(false);
    }
    let body = |name: &str| {
        format!(
            "ringback alert for {name}: carriers refused a text from {} (error {code}: {why}). Check its A2P 10DLC / toll-free registration; callers to it may get no text until it is fixed.",
            m.from
        )
    };
    let outcome = queue_alert(tx, config, m, Via::AnyThatMaySend, body, now).await?;
    metrics.inc(
        "ringback_owner_alerts_total",
        &[("reason", "carrier_error"), ("outcome", outcome.as_str())],
    );
    tracing::error!(
        business = %m.business_id,
        sender = %m.from,
        code,
        meaning = why,
        owner_alert = outcome.as_str(),
        "sending number is at risk: check its A2P 10DLC / toll-free registration"
    );
    Ok(outcome == AlertOutcome::Queued)
}

/// The gate refused `msg` because its sender is not registered/verified:
/// log it, count it, and queue the owner's alert in `tx` (at most once a
/// day per sender), the transaction that records the refusal, so a crash
/// between the two cannot leave texts dropped with nobody told. Returns
/// whether an alert was queued (wake the worker after the commit).
pub(crate) async fn sender_refused(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    msg: &Message,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let status = config
        .business(&msg.business_id)
        .and_then(|b| b.sender(&msg.from))
        .map(|s| s.status.as_str())
        .unwrap_or("not declared");
    let body = |name: &str| {
        format!(
            "ringback alert for {name}: texts from {} are NOT being sent because the number is {status} for A2P 10DLC / toll-free. Callers to it get no text until its registration is approved.",
            msg.from
        )
    };
    let outcome = queue_alert(tx, config, msg, Via::AnotherNumber, body, now).await?;
    metrics.inc(
        "ringback_owner_alerts_total",
        &[
            ("reason", "sender_not_registered"),
            ("outcome", outcome.as_str()),
        ],
    );
    match outcome {
        AlertOutcome::Queued => {
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
    Ok(outcome == AlertOutcome::Queued)
}

/// Which of the business's numbers may carry an owner alert.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Another number that may send; never the one the gate refused.
    AnotherNumber,
    /// Another number if there is one, else the one at risk itself: a
    /// carrier error may be about one text (30007 filtered), and a shop
    /// with one number must still hear of it.
    AnyThatMaySend,
}

/// Queues the owner's alert about `msg.from` in `tx`, once per sender per
/// [`ALERT_EVERY`].
async fn queue_alert(
    tx: &mut Tx,
    config: &Config,
    msg: &Message,
    via: Via,
    body: impl Fn(&str) -> String,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, StoreError> {
    let Some(b) = config.business(&msg.business_id) else {
        return Ok(AlertOutcome::UnknownBusiness);
    };
    let Some(owner) = &b.owner_phone else {
        return Ok(AlertOutcome::NoOwnerPhone);
    };
    let may_send = |n: &str| b.sender(n).is_some_and(|s| s.may_send());
    let other = b
        .numbers
        .iter()
        .map(|n| n.as_str())
        .find(|n| *n != msg.from && may_send(n));
    let from = match (other, via) {
        (Some(n), _) => n,
        (None, Via::AnyThatMaySend) if may_send(&msg.from) => msg.from.as_str(),
        (None, _) => return Ok(AlertOutcome::NoRegisteredSender),
    };
    if !tx
        .claim_sender_alert(&b.id, &msg.from, now, ALERT_EVERY)
        .await?
    {
        return Ok(AlertOutcome::AlreadyAlerted);
    }
    outbox::queue(
        tx,
        config,
        Outbound::Text(outbox::Text {
            business_id: &b.id,
            lead_id: None,
            kind: MessageKind::OwnerAlert,
            to: owner.as_str(),
            from,
            body: body(&b.name),
            trigger_at: None,
        }),
        now,
    )
    .await?;
    tracing::info!(owner = %mask(owner.as_str()), via = from, "owner alert queued");
    Ok(AlertOutcome::Queued)
}
