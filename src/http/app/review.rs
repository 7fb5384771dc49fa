//! The daily review (`/app/review`): for each of the person's businesses,
//! yesterday in its own time zone: the callers nobody recovered, and a few
//! of each CSR's calls (voicemail and all) for the manager to go through.
//! The sample is `core::scorecard::sample_per_csr`: the same each time the
//! page is opened that day.

use super::scorecard::businesses;
use super::view;
use super::{html, Signed};
use crate::config::Business;
use crate::core::scorecard::{self as card, LeadFacts};
use crate::http::AppState;
use crate::store::Voicemail;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Default, Deserialize)]
pub struct ReviewQuery {
    business: Option<String>,
}

/// One business's yesterday.
struct Day<'a> {
    business: &'a Business,
    day: NaiveDate,
    leads: Vec<LeadFacts>,
    voicemails: HashMap<i64, Voicemail>,
}

pub async fn page(State(s): State<AppState>, who: Signed, q: Query<ReviewQuery>) -> Response {
    let list = match businesses(&s, &who, q.business.as_deref()) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let now = s.shell.clock.now();
    let store = &s.shell.store;
    let mut days = Vec::new();
    for b in list {
        let Some((day, start, end)) = card::yesterday(now, b.time_zone) else {
            continue;
        };
        let leads = match store
            .scorecard_leads(Some(std::slice::from_ref(&b.id)), start, end)
            .await
        {
            Ok(l) => l,
            Err(e) => return view::store_error(e),
        };
        let ids: Vec<i64> = leads.iter().map(|l| l.lead_id).collect();
        let voicemails = match store.voicemails(&ids).await {
            Ok(v) => v,
            Err(e) => return view::store_error(e),
        };
        days.push(Day {
            business: b,
            day,
            leads,
            voicemails,
        });
    }
    html(view::page(
        "Daily review",
        Some(&who),
        html! {
            h1 { "Daily review" }
            @for d in &days { (day_markup(d, now)) }
        },
    ))
}

fn day_markup(d: &Day, now: DateTime<Utc>) -> Markup {
    let tz = d.business.time_zone;
    let unrecovered = card::unrecovered(&d.leads);
    let sample = card::sample_per_csr(&d.leads, d.day);
    html! {
        section.review aria-labelledby={ "review-" (d.business.id) } {
            h2 id={ "review-" (d.business.id) } {
                (d.business.name) ", " (d.day.format("%A %b %-d"))
            }
            h3 { "Not recovered (" (unrecovered.len()) ")" }
            @if d.leads.is_empty() {
                p.empty { "No missed calls that day." }
            } @else if unrecovered.is_empty() {
                p.empty { "Every caller of the day was booked." }
            } @else {
                ul.unrecovered {
                    @for l in &unrecovered {
                        li data-lead=(l.lead_id) {
                            a href={ "/app/leads/" (l.lead_id) } { (l.caller) }
                            " missed " (view::local(l.missed_at, tz, now))
                            ", " (l.attempts.len()) " call-back(s)"
                            @if let Some(disp) = &l.disposition { ", " (disp.replace('_', " ")) }
                            @if let Some(r) = &l.reason { " (" (r) ")" }
                            @if let Some(csr) = l.csr() { " · " (csr) }
                        }
                    }
                }
            }
            h3 { "Calls to review" }
            @if sample.is_empty() {
                p.empty { "Nobody worked a call that day." }
            }
            @for (csr, leads) in &sample {
                h4 { (csr) }
                ul.sample data-csr=(csr) {
                    @for l in leads {
                        li data-lead=(l.lead_id) {
                            a href={ "/app/leads/" (l.lead_id) } { (l.caller) }
                            " missed " (view::local(l.missed_at, tz, now))
                            @for a in &l.attempts {
                                " · " (a.by) ": " (a.outcome.words())
                            }
                            @match d.voicemails.get(&l.lead_id) {
                                Some(v) => {
                                    @if let Some(t) = &v.transcript { blockquote { (t) } }
                                    // Only a carrier's https link (never `javascript:`).
                                    @if let Some(u) = v.recording_url.as_deref().filter(|u| u.starts_with("https://")) {
                                        " " a href=(u) rel="noreferrer" target="_blank" { "Play the voicemail" }
                                    }
                                },
                                None => { " · no voicemail" },
                            }
                        }
                    }
                }
            }
        }
    }
}
