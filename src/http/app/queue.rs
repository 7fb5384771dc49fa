//! The queue (`/app`): Open / Cold / Done, filters a dispatcher works by,
//! after-hours leads first, and each open lead's SLA clock. The page
//! listens for changes (`/app/events`) and refreshes itself when a call
//! comes in.

use super::view;
use super::{html, Signed};
use crate::core::classify::Intent;
use crate::core::people::Businesses;
use crate::core::sla;
use crate::domain::Lead;
use crate::http::AppState;
use crate::store::{QueueFilter, Tab};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

/// How many leads a page shows (the longest waiting first).
pub const PAGE: i64 = 200;
/// Untouched for this long, an open lead is on the Cold tab.
pub const UNREVIEWED: Duration = Duration::hours(24);

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    tab: Option<String>,
    business: Option<String>,
    campaign: Option<String>,
    intent: Option<String>,
    /// `me`, `none` (unclaimed) or empty.
    owner: Option<String>,
    /// Only leads at least this many minutes old.
    min_age: Option<i64>,
}

fn empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// One row of the queue, ready to show.
struct Row<'a> {
    lead: &'a Lead,
    business: Option<&'a crate::config::Business>,
    after_hours: bool,
    clock: sla::Sla,
}

/// The queue's rows for `who`, in the order the office works them.
pub async fn rows_for(
    s: &AppState,
    who: &Signed,
    q: &QueueQuery,
) -> Result<(Tab, Vec<Lead>, HashMap<i64, DateTime<Utc>>), Response> {
    let tab = match q.tab.as_deref() {
        None | Some("") => Tab::Open,
        Some(t) => Tab::parse(t).ok_or_else(|| {
            view::error(
                StatusCode::BAD_REQUEST,
                "No such tab: use open, cold or done.",
            )
        })?,
    };
    let config = &s.shell.config;
    let business = empty(&q.business);
    if let Some(b) = &business {
        if !who.sees(b) {
            return Err(view::error(StatusCode::NOT_FOUND, "No such business."));
        }
    }
    let tracking_numbers = empty(&q.campaign).map(|c| {
        config
            .businesses
            .iter()
            .filter(|b| who.sees(&b.id))
            .flat_map(|b| b.sources.iter())
            .filter(|(_, label)| label.eq_ignore_ascii_case(&c))
            .map(|(n, _)| n.clone())
            .collect::<Vec<_>>()
    });
    let owner = match empty(&q.owner).as_deref() {
        Some("me") => Some(who.person.name.clone()),
        Some("none") => Some(String::new()),
        _ => None,
    };
    let now = s.shell.clock.now();
    let until = q
        .min_age
        .filter(|m| (1..=10 * 366 * 24 * 60).contains(m))
        .map(|m| now - Duration::minutes(m));
    let filter = QueueFilter {
        tab,
        businesses: match &who.person.businesses {
            Businesses::All => None,
            Businesses::Only(ids) => Some(ids.clone()),
        },
        business,
        tracking_numbers,
        intent: empty(&q.intent),
        owner,
        since: None,
        until,
        unreviewed_before: now - UNREVIEWED,
        limit: PAGE,
    };
    let store = &s.shell.store;
    let leads = store.queue(&filter).await.map_err(view::store_error)?;
    let ids: Vec<i64> = leads.iter().map(|l| l.id).collect();
    let attempts = store
        .first_attempts(&ids)
        .await
        .map_err(view::store_error)?;
    Ok((tab, leads, attempts))
}

pub async fn page(State(s): State<AppState>, who: Signed, q: Query<QueueQuery>) -> Response {
    let (tab, leads, attempts) = match rows_for(&s, &who, &q).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let config = &s.shell.config;
    let now = s.shell.clock.now();
    let mut rows: Vec<Row> = leads
        .iter()
        .map(|l| {
            let business = config.business(&l.business_id);
            let (after_hours, clock) = match business {
                Some(b) => (
                    !b.hours.is_open(b.time_zone, l.first_call_at),
                    sla::clock(
                        &b.hours,
                        b.time_zone,
                        l.first_call_at,
                        attempts.get(&l.id).copied(),
                        l.status.is_open(),
                        now,
                    ),
                ),
                None => (false, sla::Sla::None),
            };
            Row {
                lead: l,
                business,
                after_hours,
                clock,
            }
        })
        .collect();
    if tab == Tab::Open {
        // At opening the night's calls come first (stable: oldest first
        // within each group).
        rows.sort_by_key(|r| !r.after_hours);
    }
    let timed = if tab == Tab::Open {
        match super::tasks::section(&s, &who, now).await {
            Ok(m) => m,
            Err(r) => return r,
        }
    } else {
        html! {}
    };
    html(page_markup(&s, &who, &q, tab, &rows, timed, now))
}

fn page_markup(
    s: &AppState,
    who: &Signed,
    q: &QueueQuery,
    tab: Tab,
    rows: &[Row],
    timed: Markup,
    now: DateTime<Utc>,
) -> Markup {
    let config = &s.shell.config;
    let visible: Vec<&crate::config::Business> = config
        .businesses
        .iter()
        .filter(|b| who.sees(&b.id))
        .collect();
    let campaigns: BTreeSet<&str> = visible
        .iter()
        .flat_map(|b| b.sources.values().map(String::as_str))
        .collect();
    let link = |t: Tab| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        ser.append_pair("tab", t.as_str());
        for (k, v) in [
            ("business", &q.business),
            ("campaign", &q.campaign),
            ("intent", &q.intent),
            ("owner", &q.owner),
        ] {
            if let Some(v) = empty(v) {
                ser.append_pair(k, &v);
            }
        }
        format!("/app?{}", ser.finish())
    };
    let sel = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    let body = html! {
        div data-live="/app/events" {
            h1 { "Queue" }
            nav.tabs aria-label="Queues" {
                @for t in [Tab::Open, Tab::Cold, Tab::Done] {
                    a href=(link(t)) aria-current=[(t == tab).then_some("page")] {
                        (match t { Tab::Open => "Open", Tab::Cold => "Cold", Tab::Done => "Done" })
                    }
                }
            }
            form.filters method="get" action="/app" {
                input type="hidden" name="tab" value=(tab.as_str());
                @if visible.len() > 1 {
                    label { "Business "
                        select name="business" {
                            option value="" { "All" }
                            @for b in &visible {
                                option value=(b.id) selected[sel(&q.business, &b.id)] { (b.name) }
                            }
                        }
                    }
                }
                @if !campaigns.is_empty() {
                    label { "Campaign "
                        select name="campaign" {
                            option value="" { "All" }
                            @for c in &campaigns {
                                option value=(c) selected[sel(&q.campaign, c)] { (c) }
                            }
                        }
                    }
                }
                label { "Intent "
                    select name="intent" {
                        option value="" { "Any" }
                        @for i in Intent::ALL {
                            option value=(i.as_str()) selected[sel(&q.intent, i.as_str())] { (i.as_str().replace('_', " ")) }
                        }
                    }
                }
                label { "Owner "
                    select name="owner" {
                        option value="" { "Anyone" }
                        option value="me" selected[sel(&q.owner, "me")] { "Me" }
                        option value="none" selected[sel(&q.owner, "none")] { "Unclaimed" }
                    }
                }
                label { "Waiting "
                    select name="min_age" {
                        option value="" { "Any time" }
                        @for (m, text) in [(5, "5 min +"), (15, "15 min +"), (60, "1 h +"), (1440, "1 day +")] {
                            option value=(m) selected[q.min_age == Some(m)] { (text) }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            div id="live-queue" data-live-part {
            (timed)
            @if rows.is_empty() {
                p.empty { "Nothing here." }
            } @else {
                ol.queue {
                    @for r in rows {
                        (row(r, now))
                    }
                }
                @if rows.len() as i64 == PAGE {
                    p.hint { "Showing the first " (PAGE) "; filter to see others." }
                }
            }
            }
            form.everywhere method="post" action="/app/signout/everywhere" {
                input type="hidden" name="csrf" value=(who.csrf);
                button.link type="submit" { "Sign out on every device" }
            }
        }
    };
    view::page("Queue", Some(who), body)
}

fn row(r: &Row, now: DateTime<Utc>) -> Markup {
    let l = r.lead;
    let tz = r.business.map(|b| b.time_zone).unwrap_or(chrono_tz::UTC);
    let source = r.business.and_then(|b| b.source(&l.tracking_number));
    html! {
        li.lead data-lead=(l.id) {
            a.who href={ "/app/leads/" (l.id) } {
                span.caller { (l.caller) }
                " "
                span.biz { (r.business.map(|b| b.name.as_str()).unwrap_or(&l.business_id)) }
            }
            div.facts {
                span.status { (l.status.as_str().replace('_', " ")) }
                @if r.after_hours { span.tag.night { "after hours" } }
                @if let Some(i) = &l.intent { span.tag { (i.replace('_', " ")) } }
                @if let Some(s) = source { span.tag { (s) } }
                span.when { "Missed " (view::local(l.first_call_at, tz, now)) }
                @match &l.owner {
                    Some(o) => span.owner { "Owner: " (o) },
                    None => span.owner.none { "Unclaimed" },
                }
                (view::sla_badge(r.clock, now))
            }
        }
    }
}
