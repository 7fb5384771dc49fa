//! The imperative shell of emergency escalation: stores each escalation
//! (see [`crate::core::escalation`] for the decisions), turns the engine's actions
//! into outbox rows and durable timers, and feeds events back in — an ACK
//! by text, a keypress on a page call, an ack timeout firing.
//!
//! Every event is applied in one transaction holding the escalation's row
//! lock, so an ACK racing a timer is applied before or after it, never
//! half-way; and every page is a row, so a restart mid-chain continues with
//! the next timer.

use crate::config::{Business, Config};
use crate::core::classify::{Hazard, Language};
use crate::core::escalation::{self, Action, Escalation, Event, Paging};
use crate::core::jobs::{Job, Scheduled};
use crate::domain::Lead;
use crate::domain::{mask, MessageKind, MessageStatus, PhoneNumber};
use crate::metrics::Metrics;
use crate::shell::outbox::{self, Outbound};
use crate::store::{NewMessage, Store, StoreError, Tx};
use chrono::{DateTime, Utc};

/// Marks the hint to a paged tech whose text was not an ACK.
const NOT_TAKEN_YET: &str = "not taken yet";

/// How long after an emergency starts a new report for the same lead is
/// taken as more about it while it is still being paged, and once someone
/// has taken it (see [`start`]).
const SAME_EMERGENCY: chrono::Duration = chrono::Duration::hours(12);
const SAME_EMERGENCY_AFTER_ACK: chrono::Duration = chrono::Duration::hours(2);

/// What [`start`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The chain is being paged.
    Paging,
    /// The lead's chain is already being paged: nobody is paged twice.
    AlreadyPaging,
    /// A later report of an emergency being paged or just taken: the
    /// caller got the advice for it, the paged or the tech who has it the
    /// update; nobody is paged again.
    Updated,
    /// The business has no roster: the caller got the safety text, and
    /// the office notice is all there is.
    NoRoster,
}

/// Starts paging for an emergency on `lead`, inside the caller's
/// transaction (which holds the caller's contact lock).
#[allow(clippy::too_many_arguments)]
pub async fn start(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    b: &Business,
    lead: &Lead,
    hazard: Hazard,
    what_they_said: &str,
    address: Option<&str>,
    lang: Language,
    now: DateTime<Utc>,
) -> Result<Started, StoreError> {
    // The caller's texts in their language; pages stay the business's own.
    let to_caller = escalation::in_language(&b.escalation, &b.translations, lang);
    let Some(roster) = &b.roster else {
        // No roster: the caller still gets the safety advice at once.
        queue_text(
            tx,
            config,
            b,
            lead,
            &lead.caller,
            MessageKind::Emergency,
            to_caller.safety(hazard, &b.name, Paging::NoRoster),
            now,
        )
        .await?;
        return Ok(Started::NoRoster);
    };
    // A later report of the same emergency (the voicemail transcript after
    // the "press 1" menu, a second text) while it is being paged or after
    // someone took it: no second chain, nobody paged again (found in
    // review). The caller gets the advice for what they now say it is, and
    // whoever holds it, or has been paged, gets the update.
    //
    // While it is being paged, any report merges. Once someone took it,
    // only a report within a couple of hours that names no other hazard
    // does (the transcript after "press 1" does; a CO alarm after the gas
    // job is a new emergency and gets its own chain).
    if let Some((id, mut prior)) = tx.latest_escalation(lead.id).await? {
        let since = |d: chrono::Duration| prior.started_at.is_some_and(|t| now - t < d);
        let same_hazard =
            hazard == prior.hazard || hazard == Hazard::Other || prior.hazard == Hazard::Other;
        let merge = match prior.status {
            escalation::Status::Paging => since(SAME_EMERGENCY),
            escalation::Status::Acked => since(SAME_EMERGENCY_AFTER_ACK) && same_hazard,
            _ => false,
        };
        if merge {
            if hazard != prior.hazard && hazard != Hazard::Other {
                // Someone has it: "we're paging" would take back what the
                // caller was just told.
                let paging = match prior.status {
                    escalation::Status::Acked => Paging::Taken,
                    _ => Paging::Now,
                };
                let advice = to_caller.safety(hazard, &b.name, paging);
                queue_text(
                    tx,
                    config,
                    b,
                    lead,
                    &lead.caller,
                    MessageKind::Emergency,
                    advice,
                    now,
                )
                .await?;
                prior.hazard = hazard;
                tx.save_escalation(id, &prior, now).await?;
            }
            let update = format!(
                "{}: update on the {} emergency for {}: {}",
                b.name,
                escalation::hazard_label(prior.hazard),
                lead.caller,
                escalation::clip(what_they_said, 300)
            );
            let to: Vec<&crate::config::roster::OnCall> = match prior.status {
                escalation::Status::Acked => prior.acked_by.iter().collect(),
                _ => prior.paged().iter().collect(),
            };
            for who in to {
                queue_text(
                    tx,
                    config,
                    b,
                    lead,
                    who.phone.as_str(),
                    MessageKind::Page,
                    update.clone(),
                    now,
                )
                .await?;
            }
            tx.lead_event(lead.id, "emergency_update", what_they_said, now)
                .await?;
            return Ok(Started::Updated);
        }
    }
    let page = b.escalation.page(&escalation::PageFacts {
        business: &b.name,
        caller: &lead.caller,
        address,
        what_they_said,
        hazard,
        at: now,
        tz: b.time_zone,
    });
    let mut fresh = Escalation::new(lead.id, hazard, roster.chain_at(now), page);
    fresh.language = (lang != Language::En).then(|| lang.as_str().to_string());
    let Some(id) = tx.insert_escalation(&b.id, &fresh, now).await? else {
        return Ok(Started::AlreadyPaging);
    };
    let (state, actions) =
        escalation::on_event(fresh, Event::Start, now, &escalation::Policy::of(roster));
    tx.save_escalation(id, &state, now).await?;
    tx.lead_event(
        lead.id,
        "emergency_paging",
        &format!(
            "{}: paging {}",
            escalation::hazard_label(hazard),
            state
                .chain
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(" -> ")
        ),
        now,
    )
    .await?;
    apply(tx, config, metrics, b, lead, id, &state, actions, now).await?;
    metrics.inc("ringback_emergencies_total", &[("hazard", hazard.as_str())]);
    tracing::warn!(lead = lead.id, caller = %mask(&lead.caller), hazard = hazard.as_str(), "emergency: paging the on-call chain");
    Ok(Started::Paging)
}

/// Calls off a lead's open escalation (the office closed the lead, the
/// caller is not interested, a person reached them), inside the caller's
/// transaction, which holds the lead's contact lock (contact lock first,
/// then the escalation row, like every other path).
pub async fn cancel_for_lead(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    lead_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(id) = tx.open_escalation_for_lead(lead_id).await? else {
        return Ok(false);
    };
    handle_in(tx, config, metrics, id, Event::Cancel, now).await?;
    tx.lead_event(lead_id, "emergency_called_off", "paging stopped", now)
        .await?;
    Ok(true)
}

/// Applies one event to escalation `id` in its own transaction.
pub async fn handle(
    store: &Store,
    config: &Config,
    metrics: &Metrics,
    id: i64,
    event: Event,
    now: DateTime<Utc>,
) -> Result<Option<Escalation>, StoreError> {
    let mut tx = store.begin().await?;
    let out = handle_in(&mut tx, config, metrics, id, event, now).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`handle`] inside the caller's transaction.
pub async fn handle_in(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    id: i64,
    event: Event,
    now: DateTime<Utc>,
) -> Result<Option<Escalation>, StoreError> {
    let Some((business_id, state)) = tx.escalation_locked(id).await? else {
        return Ok(None);
    };
    let Some(b) = config.business(&business_id) else {
        return Ok(None);
    };
    let Some(lead) = tx.lead(state.lead_id).await? else {
        return Ok(None);
    };
    let policy = b
        .roster
        .as_ref()
        .map(escalation::Policy::of)
        .unwrap_or_default();
    let (state, actions) = escalation::on_event(state, event, now, &policy);
    tx.save_escalation(id, &state, now).await?;
    apply(tx, config, metrics, b, &lead, id, &state, actions, now).await?;
    Ok(Some(state))
}

/// A text from one of the business's on-call people. An ACK goes to the
/// escalation it is for ([`escalation::route_ack`]); returns whether it
/// was taken as one.
pub async fn staff_text(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    b: &Business,
    from: &PhoneNumber,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if !escalation::is_ack(body) {
        keep_staff_text(tx, b, from, body, now).await?;
        tracing::info!(from = %mask(from.as_str()), "text from on-call staff that is not an ACK; kept for the office");
        // Paged and not taken yet: "Got it, on my way" is not an ACK word,
        // and silence would leave them thinking it was (found in review:
        // the chain moved on and two techs drove out). Tell them how.
        let open = tx
            .open_escalations_locked(&b.id, now - chrono::Duration::hours(2))
            .await?;
        let paged = open.iter().map(|(_, e)| e).filter(|e| e.was_paged(from));
        // Once in a while, not to every text: an auto-responder on the
        // tech's phone must not ping-pong with it.
        let hinted = tx
            .paged_with_since(
                &b.id,
                from.as_str(),
                NOT_TAKEN_YET,
                now - chrono::Duration::minutes(15),
            )
            .await?;
        if let Some(e) = escalation::route_ack(paged, from).filter(|_| !hinted) {
            if let Some(lead) = tx.lead(e.lead_id).await? {
                let body = format!(
                    "{}: {NOT_TAKEN_YET}. Reply ACK (or 1) to take the {} emergency for {}; other texts go to the office.",
                    b.name,
                    escalation::hazard_label(e.hazard),
                    lead.caller
                );
                queue_text(
                    tx,
                    config,
                    b,
                    &lead,
                    from.as_str(),
                    MessageKind::Page,
                    body,
                    now,
                )
                .await?;
            }
        }
        return Ok(false);
    }
    let open = tx
        .open_escalations_locked(&b.id, now - chrono::Duration::hours(2))
        .await?;
    let Some(target) = escalation::route_ack(open.iter().map(|(_, e)| e), from) else {
        keep_staff_text(tx, b, from, body, now).await?;
        tracing::info!(from = %mask(from.as_str()), "ACK with no open emergency for this person");
        return Ok(false);
    };
    let id = open
        .iter()
        .find(|(_, e)| std::ptr::eq(e, target))
        .map(|(id, _)| *id)
        .expect("routed to one of the open escalations");
    handle_in(
        tx,
        config,
        metrics,
        id,
        Event::Ack { from: from.clone() },
        now,
    )
    .await?;
    Ok(true)
}

/// A staff text that is not an ACK for anything: kept as an inbound
/// message (no lead) so the office can read it, never dropped.
async fn keep_staff_text(
    tx: &mut Tx,
    b: &Business,
    from: &PhoneNumber,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let to = b.numbers.first().map(|n| n.to_string()).unwrap_or_default();
    keep_text_without_lead(tx, b, from.as_str(), &to, body, now).await
}

/// A text kept as an inbound message with no lead: from staff, from one of
/// our own numbers, from a blocked number. Nothing is dropped.
pub async fn keep_text_without_lead(
    tx: &mut Tx,
    b: &Business,
    from: &str,
    to: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.insert_message(&NewMessage {
        business_id: b.id.clone(),
        lead_id: None,
        direction: "inbound",
        kind: MessageKind::Inbound,
        to: to.to_string(),
        from: from.to_string(),
        body: body.to_string(),
        status: MessageStatus::Received,
        suppress_reason: None,
        provider: Some("twilio".into()),
        provider_sid: None,
        trigger_at: now,
        created_at: now,
    })
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    tx: &mut Tx,
    config: &Config,
    metrics: &Metrics,
    b: &Business,
    lead: &Lead,
    id: i64,
    state: &Escalation,
    actions: Vec<Action>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    // Pages are in the business's words; the caller's texts in theirs.
    let t = &b.escalation;
    let lang = Language::from_code(state.language.as_deref().unwrap_or("en"));
    let to_caller = escalation::in_language(t, &b.translations, lang);
    for action in actions {
        match action {
            Action::PageSms { to, body, .. } => {
                queue_text(
                    tx,
                    config,
                    b,
                    lead,
                    to.as_str(),
                    MessageKind::Page,
                    body,
                    now,
                )
                .await?;
            }
            Action::PageCall { step, to } => {
                let call = outbox::Call {
                    escalation_id: id,
                    step,
                    to: to.as_str(),
                };
                outbox::queue(tx, config, Outbound::Call(call), now).await?;
            }
            Action::ScheduleTimeout { step, at } => {
                let timeout = Job::AckTimeout {
                    escalation_id: id,
                    step,
                };
                crate::shell::schedule(tx, config, &[Scheduled::at(timeout, at)], now).await?;
            }
            Action::NotifyTaken { to, by } => {
                let body = t.taken(&b.name, &by, state.hazard);
                queue_text(
                    tx,
                    config,
                    b,
                    lead,
                    to.as_str(),
                    MessageKind::Page,
                    body,
                    now,
                )
                .await?;
            }
            Action::CallerSafety { hazard } => {
                let body = to_caller.safety(hazard, &b.name, Paging::Now);
                queue_text(
                    tx,
                    config,
                    b,
                    lead,
                    &lead.caller,
                    MessageKind::Emergency,
                    body,
                    now,
                )
                .await?;
            }
            Action::CallerConfirmation { tech_name } => {
                let body = to_caller.caller_confirmation(&tech_name, &b.name);
                queue_text(
                    tx,
                    config,
                    b,
                    lead,
                    &lead.caller,
                    MessageKind::Emergency,
                    body,
                    now,
                )
                .await?;
            }
            Action::CallerUnanswered => {
                let body = to_caller.unanswered(&b.name);
                queue_text(
                    tx,
                    config,
                    b,
                    lead,
                    &lead.caller,
                    MessageKind::Emergency,
                    body,
                    now,
                )
                .await?;
            }
            Action::AckRecorded { by, latency } => {
                metrics.observe(
                    "ringback_emergency_ack_seconds",
                    latency.num_milliseconds() as f64 / 1000.0,
                );
                tx.lead_event(
                    lead.id,
                    "emergency_acked",
                    &format!("{} took it after {} s", by.name, latency.num_seconds()),
                    now,
                )
                .await?;
            }
            Action::Exhausted => {
                metrics.inc("ringback_emergencies_unanswered_total", &[]);
                tx.lead_event(
                    lead.id,
                    "emergency_unanswered",
                    "nobody on the chain acknowledged; paging stopped: CALL THIS CUSTOMER",
                    now,
                )
                .await?;
                tracing::error!(
                    lead = lead.id,
                    "emergency unanswered by the whole on-call chain"
                );
                // Make it loud where a person will see it: the office.
                if let Some(office) = b.office_phone() {
                    let body = format!(
                        "{}: UNANSWERED EMERGENCY - call now. {} ({}): nobody on the on-call chain acknowledged, paging has stopped.",
                        b.name,
                        lead.caller,
                        escalation::hazard_label(state.hazard)
                    );
                    queue_text(
                        tx,
                        config,
                        b,
                        lead,
                        office.as_str(),
                        MessageKind::EmergencyNotice,
                        body,
                        now,
                    )
                    .await?;
                }
            }
            Action::StrangerAck { from } => {
                tracing::warn!(from = %mask(from.as_str()), escalation = id, "ACK from someone not on this emergency's chain; ignored");
            }
        }
    }
    Ok(())
}

/// Queues an emergency text (page, caller message or office notice) from the lead's
/// tracking number. Goes through the worker and the gate like any text:
/// these kinds skip quiet hours and the cap, never the opt-out ledger.
#[allow(clippy::too_many_arguments)]
async fn queue_text(
    tx: &mut Tx,
    config: &Config,
    b: &Business,
    lead: &Lead,
    to: &str,
    kind: MessageKind,
    body: String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    outbox::queue(
        tx,
        config,
        Outbound::Text(outbox::Text {
            business_id: &b.id,
            lead_id: Some(lead.id),
            kind,
            to,
            from: &lead.tracking_number,
            body,
            trigger_at: None,
        }),
        now,
    )
    .await?;
    Ok(())
}
