//! A lead's page: the whole timeline (calls, voicemail, texts both ways,
//! the packet, attempts, changes), and what the office does to it: claim,
//! call (a `tel:` link), log an attempt, close with a disposition, reply by
//! text. Every change goes through `shell::office`, like the admin API: a
//! reply is queued through the one door and checked by the gate.

use super::view;
use super::{html, Signed};
use crate::core::sla;
use crate::domain::Lead;
use crate::http::AppState;
use crate::shell::office::{CallAttempt, Disposition, LeadUpdate, OfficeError, OfficeText};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;

/// The lead, if this person may see it.
pub(super) async fn visible_lead(s: &AppState, who: &Signed, id: i64) -> Result<Lead, Response> {
    match s.shell.store.lead(id).await {
        Ok(Some(l)) if who.sees(&l.business_id) => Ok(l),
        // Another business's lead is not found, not forbidden: its
        // existence is not this person's to know.
        Ok(_) => Err(view::error(StatusCode::NOT_FOUND, "No such lead.")),
        Err(e) => Err(view::store_error(e)),
    }
}

/// One entry of the timeline.
struct Entry {
    at: DateTime<Utc>,
    /// Sorts entries of the same instant: calls, then texts, then events.
    order: u8,
    markup: Markup,
}

pub async fn page(State(s): State<AppState>, who: Signed, Path(id): Path<i64>) -> Response {
    let lead = match visible_lead(&s, &who, id).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match render(&s, &who, &lead, None).await {
        Ok(m) => html(m),
        Err(r) => r,
    }
}

async fn render(
    s: &AppState,
    who: &Signed,
    lead: &Lead,
    problem: Option<&str>,
) -> Result<Markup, Response> {
    let store = &s.shell.store;
    let id = lead.id;
    let calls = store.calls_for_lead(id).await.map_err(view::store_error)?;
    let messages = store
        .messages_for_lead(id)
        .await
        .map_err(view::store_error)?;
    let events = store.lead_events(id).await.map_err(view::store_error)?;
    let tasks = store.tasks_for_lead(id).await.map_err(view::store_error)?;
    let (transcripts, texts) = store.what_they_said(id).await.map_err(view::store_error)?;
    let now = s.shell.clock.now();
    let business = s.shell.config.business(&lead.business_id);
    let tz = business.map(|b| b.time_zone).unwrap_or(chrono_tz::UTC);
    let packet = business.map(|b| {
        crate::core::packet::Packet::build(&crate::core::packet::PacketInput {
            business: b,
            lead,
            transcripts: &transcripts,
            texts: &texts,
            unreachable: events.iter().any(|e| e.kind == "unreachable"),
        })
        .summary("Job packet")
    });
    let first_attempt = events
        .iter()
        .filter(|e| e.kind == "call_attempt")
        .map(|e| e.at)
        .min();
    let clock = business
        .map(|b| {
            sla::clock(
                &b.hours,
                b.time_zone,
                lead.first_call_at,
                first_attempt,
                lead.status.is_open(),
                now,
            )
        })
        .unwrap_or(sla::Sla::None);

    let mut timeline: Vec<Entry> = Vec::new();
    for c in &calls {
        timeline.push(Entry {
            at: c.created_at,
            order: 0,
            markup: html! {
                strong { "Call" } " " (c.status.replace('_', " "))
                @if let Some(t) = &c.missed_trigger { " (" (t.replace('_', " ")) ")" }
                @if let Some(t) = &c.transcript {
                    blockquote.said { "Voicemail: " (t) }
                }
                @if let Some(u) = c.recording_url.as_deref().filter(|u| u.starts_with("https://")) {
                    " " a href=(u) rel="noreferrer" target="_blank" { "Play the recording" }
                }
            },
        });
    }
    for m in &messages {
        let inbound = m.direction == "inbound";
        timeline.push(Entry {
            at: m.created_at,
            order: 1,
            markup: html! {
                div class=(if inbound { "text in" } else { "text out" }) {
                    strong { (if inbound { "They texted" } else { "We texted" }) }
                    @if !inbound {
                        " " span.kind { (m.kind.as_str().replace('_', " ")) ", " (m.status.as_str()) }
                    }
                    p { (m.body) }
                }
            },
        });
    }
    for e in &events {
        timeline.push(Entry {
            at: e.at,
            order: 2,
            markup: html! {
                span.event { (e.kind.replace(['_', ':'], " ")) }
                @if !e.detail.is_empty() { ": " (e.detail) }
            },
        });
    }
    timeline.sort_by_key(|e| (e.at, e.order));

    let mine = lead.owner.as_deref() == Some(who.person.name.as_str());
    let reasons: &[String] = business.map(|b| &b.disposition_reasons[..]).unwrap_or(&[]);
    let action = |what: &str| format!("/app/leads/{id}/{what}");
    let body = html! {
        div data-live={ "/app/events?lead=" (id) } {
            p { a href="/app" { "← Queue" } }
            h1 { (lead.caller) }
            p.facts id="live-facts" data-live-part {
                span.biz { (business.map(|b| b.name.as_str()).unwrap_or(&lead.business_id)) }
                " · " span.status { (lead.status.as_str().replace('_', " ")) }
                @if let Some(i) = &lead.intent { " · " span.tag { (i.replace('_', " ")) } }
                " · missed " (view::local(lead.first_call_at, tz, now))
                " · " (view::sla_badge(clock, now))
            }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            div.actions {
                a.button.call href={ "tel:" (lead.caller) } { "Call " (lead.caller) }
                @if mine {
                    span.owner { "You own this lead" }
                } @else {
                    form method="post" action=(action("claim")) {
                        input type="hidden" name="csrf" value=(who.csrf);
                        input type="hidden" name="owner_was" value=(lead.owner.as_deref().unwrap_or(""));
                        @if let Some(o) = &lead.owner { span.owner { "Owner: " (o) " " } }
                        button type="submit" { "I own this" }
                    }
                }
            }
            @if let Some(n) = &lead.note { p.note { "Note: " (n) } }
            section aria-labelledby="attempt-h" {
                h2 id="attempt-h" { "Log a call-back" }
                form.row method="post" action=(action("attempt")) {
                    input type="hidden" name="csrf" value=(who.csrf);
                    label for="outcome" { "Call result" }
                    select id="outcome" name="outcome" {
                        option value="no_answer" { "No answer" }
                        option value="voicemail" { "Left voicemail" }
                        option value="reached" { "Reached them" }
                    }
                    label for="attempt-note" { "Note" }
                    input id="attempt-note" name="note" type="text" maxlength="200";
                    button type="submit" { "Log attempt" }
                }
            }
            (super::tasks::lead_part(who, id, &tasks, tz, now))
            section aria-labelledby="reply-h" {
                h2 id="reply-h" { "Reply by text" }
                form.stack method="post" action=(action("text")) {
                    input type="hidden" name="csrf" value=(who.csrf);
                    label for="body" { "Message to " (lead.caller) }
                    textarea id="body" name="body" rows="3" maxlength="1600" required {}
                    button type="submit" { "Send text" }
                }
            }
            section aria-labelledby="close-h" {
                h2 id="close-h" { "Disposition" }
                form.row method="post" action=(action("disposition")) {
                    input type="hidden" name="csrf" value=(who.csrf);
                    label for="disposition" { "Outcome" }
                    select id="disposition" name="disposition" {
                        @for d in Disposition::ALL {
                            option value=(d.as_str()) selected[lead.disposition.as_deref() == Some(d.as_str())] {
                                (d.as_str().replace('_', " "))
                            }
                        }
                    }
                    @if !reasons.is_empty() {
                        label for="reason" { "Reason" }
                        select id="reason" name="reason" {
                            option value="" { "(none)" }
                            @for r in reasons { option value=(r) { (r) } }
                        }
                    }
                    label for="close-note" { "One-line note" }
                    input id="close-note" name="note" type="text" maxlength="200";
                    button type="submit" { "Save" }
                }
            }
            @if let Some(p) = &packet {
                section aria-labelledby="packet-h" {
                    h2 id="packet-h" { "Job packet" }
                    pre.packet { (p) }
                }
            }
            section aria-labelledby="timeline-h" {
                h2 id="timeline-h" { "Timeline" }
                ol.timeline id="live-timeline" data-live-part {
                    @for e in &timeline {
                        li { time datetime=(e.at.to_rfc3339()) { (view::local(e.at, tz, now)) } " " (e.markup) }
                    }
                }
            }
        }
    };
    Ok(view::page(&lead.caller, Some(who), body))
}

/// After a change: back to the lead; on a refusal, the page again with the
/// reason (409 for a conflict, 400 for a wrong form).
async fn done(s: &AppState, who: &Signed, id: i64, r: Result<(), OfficeError>) -> Response {
    let (status, message) = match r {
        Ok(()) => return view::see_other(&format!("/app/leads/{id}")),
        Err(OfficeError::NotFound(_)) => {
            return view::error(StatusCode::NOT_FOUND, "No such lead.")
        }
        Err(OfficeError::Store(e)) => return view::store_error(e),
        Err(OfficeError::Invalid(m)) => (StatusCode::BAD_REQUEST, m),
        Err(OfficeError::Conflict(c)) => (StatusCode::CONFLICT, c.to_string()),
    };
    let lead = match visible_lead(s, who, id).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match render(s, who, &lead, Some(&message)).await {
        Ok(m) => {
            let mut r = html(m);
            *r.status_mut() = status;
            r
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct ClaimForm {
    csrf: String,
    owner_was: String,
}

/// "I own this": taken only if nobody else took it first.
pub async fn claim(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<ClaimForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(r) = visible_lead(&s, &who, id).await {
        return r;
    }
    let u = LeadUpdate {
        owner: Some(who.person.name.clone()),
        owner_was: Some(f.owner_was),
        ..Default::default()
    };
    let r = s.shell.update_lead_by_office(id, &u).await.map(|_| ());
    done(&s, &who, id, r).await
}

#[derive(Deserialize)]
pub struct AttemptForm {
    csrf: String,
    outcome: String,
    note: Option<String>,
}

pub async fn attempt(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<AttemptForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(r) = visible_lead(&s, &who, id).await {
        return r;
    }
    let a = CallAttempt {
        by: Some(who.person.name.clone()),
        outcome: f.outcome,
        note: f.note.filter(|n| !n.trim().is_empty()),
    };
    let r = s.shell.log_call_attempt(id, &a).await.map(|_| ());
    done(&s, &who, id, r).await
}

#[derive(Deserialize)]
pub struct DispositionForm {
    csrf: String,
    disposition: String,
    reason: Option<String>,
    note: Option<String>,
}

pub async fn disposition(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<DispositionForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(r) = visible_lead(&s, &who, id).await {
        return r;
    }
    let u = LeadUpdate {
        disposition: Some(f.disposition),
        reason: f.reason.filter(|r| !r.is_empty()),
        note: f.note.filter(|n| !n.trim().is_empty()),
        ..Default::default()
    };
    let r = s.shell.update_lead_by_office(id, &u).await.map(|_| ());
    done(&s, &who, id, r).await
}

#[derive(Deserialize)]
pub struct TextForm {
    csrf: String,
    body: String,
}

/// A reply by text: queued through the one door, checked by the gate.
pub async fn text(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<TextForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(r) = visible_lead(&s, &who, id).await {
        return r;
    }
    let t = OfficeText {
        // Browsers send line breaks as CRLF; a text has plain ones.
        body: f.body.replace("\r\n", "\n"),
        by: Some(who.person.name.clone()),
    };
    let r = s.shell.text_from_office(id, &t).await.map(|_| ());
    done(&s, &who, id, r).await
}
