//! The scorecard (`/app/scorecard`): the SOP's figures for the last weeks,
//! by business, campaign (tracking number) or week, with bar charts drawn
//! on the server, and the same table as CSV (`/app/scorecard.csv`). Each
//! person sees only their businesses. The figures are
//! `core::scorecard`'s; this page gathers the leads and shows them.

use super::chart::{self, Bar};
use super::view;
use super::{harden, html, Signed};
use crate::config::Business;
use crate::core::scorecard::{self as card, Calendar, Field, Figures, LeadFacts};
use crate::core::sla;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use maud::{html, Markup};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// Weeks shown unless asked otherwise, and the most one may ask for.
const WEEKS: u32 = 4;
const MAX_WEEKS: u32 = 26;

#[derive(Debug, Default, Deserialize)]
pub struct CardQuery {
    /// `week` (default), `business` or `campaign`.
    by: Option<String>,
    weeks: Option<u32>,
    business: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Week,
    Business,
    Campaign,
}

impl By {
    fn as_str(self) -> &'static str {
        match self {
            By::Week => "week",
            By::Business => "business",
            By::Campaign => "campaign",
        }
    }
}

/// The figures of a page: in total and by group, in order.
struct Card {
    by: By,
    weeks: u32,
    total: Figures,
    groups: Vec<(String, Figures)>,
}

fn ask(q: &CardQuery) -> Result<(By, u32), Response> {
    let by = match q.by.as_deref().map(str::trim) {
        None | Some("") | Some("week") => By::Week,
        Some("business") => By::Business,
        Some("campaign") => By::Campaign,
        Some(_) => {
            return Err(view::error(
                StatusCode::BAD_REQUEST,
                "No such grouping: use week, business or campaign.",
            ))
        }
    };
    let weeks = q.weeks.unwrap_or(WEEKS);
    if !(1..=MAX_WEEKS).contains(&weeks) {
        return Err(view::error(
            StatusCode::BAD_REQUEST,
            &format!("weeks must be 1 to {MAX_WEEKS}."),
        ));
    }
    Ok((by, weeks))
}

/// The businesses of the page: the person's, or the one they asked for.
pub fn businesses<'a>(
    s: &'a AppState,
    who: &Signed,
    asked: Option<&str>,
) -> Result<Vec<&'a Business>, Response> {
    let asked = asked.map(str::trim).filter(|b| !b.is_empty());
    let list: Vec<&Business> = s
        .shell
        .config
        .businesses
        .iter()
        .filter(|b| who.sees(&b.id) && asked.is_none_or(|a| a == b.id))
        .collect();
    if asked.is_some() && list.is_empty() {
        return Err(view::error(StatusCode::NOT_FOUND, "No such business."));
    }
    Ok(list)
}

async fn gather(s: &AppState, who: &Signed, q: &CardQuery) -> Result<Card, Response> {
    let (by, weeks) = ask(q)?;
    let list = businesses(s, who, q.business.as_deref())?;
    let now = s.shell.clock.now();
    // A day more than the weeks: each business's week starts at its own
    // midnight; the exact cut is `in_last_weeks`, in its zone.
    let since = now - Duration::weeks(i64::from(weeks)) - Duration::days(1);
    let ids: Vec<String> = list.iter().map(|b| b.id.clone()).collect();
    let facts = s
        .shell
        .store
        .scorecard_leads(Some(&ids), since, now + Duration::milliseconds(1))
        .await
        .map_err(view::store_error)?;
    let by_id: HashMap<&str, &Business> = list.iter().map(|b| (b.id.as_str(), *b)).collect();
    let calendars: HashMap<&str, Calendar> = list
        .iter()
        .map(|b| {
            (
                b.id.as_str(),
                Calendar {
                    hours: b.hours.clone(),
                    tz: b.time_zone,
                },
            )
        })
        .collect();
    let facts: Vec<&LeadFacts> = facts
        .iter()
        .filter(|l| {
            by_id
                .get(l.business_id.as_str())
                .is_some_and(|b| card::in_last_weeks(l.missed_at, b.time_zone, now, weeks))
        })
        .collect();
    let cal = |id: &str| calendars.get(id);
    let total = card::figures(facts.iter().copied(), &cal, now);
    let mut groups: BTreeMap<String, Vec<&LeadFacts>> = BTreeMap::new();
    if by == By::Week {
        // Every week shows, a quiet one too (in the first business's zone).
        let tz = list.first().map_or(chrono_tz::UTC, |b| b.time_zone);
        for w in 0..weeks {
            let monday = card::week_of(now, tz) - Duration::weeks(i64::from(w));
            groups.entry(monday.to_string()).or_default();
        }
    }
    for l in &facts {
        let b = by_id[l.business_id.as_str()];
        let key = match by {
            By::Week => card::week_of(l.missed_at, b.time_zone).to_string(),
            By::Business => b.name.clone(),
            By::Campaign => {
                let label = b.source(&l.tracking_number).unwrap_or(&l.tracking_number);
                if list.len() > 1 {
                    format!("{}: {label}", b.name)
                } else {
                    label.to_string()
                }
            }
        };
        groups.entry(key).or_default().push(l);
    }
    let groups = groups
        .into_iter()
        .map(|(k, ls)| (k, card::figures(ls, &cal, now)))
        .collect();
    Ok(Card {
        by,
        weeks,
        total,
        groups,
    })
}

/// "12 min", or "–" without any call-back.
fn wait(f: &Figures) -> String {
    f.median_first_attempt
        .map_or_else(|| "–".to_string(), sla::short)
}

pub async fn page(State(s): State<AppState>, who: Signed, q: Query<CardQuery>) -> Response {
    let c = match gather(&s, &who, &q).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    html(page_markup(&s, &who, &q, &c))
}

fn page_markup(s: &AppState, who: &Signed, q: &CardQuery, c: &Card) -> Markup {
    let visible = businesses(s, who, None).unwrap_or_default();
    let t = &c.total;
    let link = |by: By| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        ser.append_pair("by", by.as_str());
        ser.append_pair("weeks", &c.weeks.to_string());
        if let Some(b) = q.business.as_deref().filter(|b| !b.is_empty()) {
            ser.append_pair("business", b);
        }
        ser.finish()
    };
    let bars = |value: &dyn Fn(&Figures) -> (Option<f64>, String)| -> Vec<Bar> {
        c.groups
            .iter()
            .map(|(k, f)| {
                let (value, text) = value(f);
                // A week reads "Nov 23" under its bar (the table keeps the date).
                let label = match (c.by, chrono::NaiveDate::parse_from_str(k, "%Y-%m-%d")) {
                    (By::Week, Ok(d)) => d.format("%b %-d").to_string(),
                    _ => k.clone(),
                };
                Bar { label, value, text }
            })
            .collect()
    };
    let body = html! {
        h1 { "Scorecard" }
        p.hint { "The last " (c.weeks) " weeks, in each business's time zone." }
        form.filters method="get" action="/app/scorecard" {
            @if visible.len() > 1 {
                label { "Business "
                    select name="business" {
                        option value="" { "All" }
                        @for b in &visible {
                            option value=(b.id) selected[q.business.as_deref() == Some(b.id.as_str())] { (b.name) }
                        }
                    }
                }
            }
            label { "By "
                select name="by" {
                    @for by in [By::Week, By::Business, By::Campaign] {
                        option value=(by.as_str()) selected[by == c.by] { (by.as_str()) }
                    }
                }
            }
            label { "Weeks "
                input type="number" name="weeks" min="1" max=(MAX_WEEKS) value=(c.weeks);
            }
            button type="submit" { "Show" }
        }
        @if t.opt_out_alarm() {
            p.error.alarm role="alert" {
                "Opt-outs are at " (t.opt_out.percent()) " of texted callers (over 3 %): "
                "read the texts callers get and how soon they go."
            }
        }
        dl.figures {
            div { dt { "Missed callers" } dd { (t.leads) } }
            div { dt { "Median time to first call-back" } dd { (wait(t)) } }
            div { dt { "Two-attempt completion" } dd { (t.two_attempts.percent()) " (" (t.two_attempts.part) " of " (t.two_attempts.whole) ")" } }
            div { dt { "Recovery (booked of reachable)" } dd { (t.recovery.percent()) " (" (t.recovery.part) " of " (t.recovery.whole) ")" } }
            div { dt { "After-hours called back by 8:30" } dd { (t.after_hours.percent()) " (" (t.after_hours.part) " of " (t.after_hours.whole) ")" } }
            div { dt { "Opt-out rate" } dd { (t.opt_out.percent()) " (" (t.opt_out.part) " of " (t.opt_out.whole) " texted)" } }
        }
        h2 { "Top reasons" }
        @if t.top_reasons.is_empty() {
            p.empty { "No reasons given yet." }
        } @else {
            ol.reasons { @for (r, n) in &t.top_reasons { li { (r) " — " (n) } } }
        }
        h2 { "By " (c.by.as_str()) }
        div.charts {
            (chart::bars("Recovery rate", &bars(&|f| (f.recovery.share(), f.recovery.percent())), 1.0, None))
            (chart::bars("Median minutes to first call-back", &bars(&|f| (
                f.median_first_attempt.map(|d| d.num_seconds() as f64 / 60.0), wait(f))), 15.0, None))
            (chart::bars("Opt-out rate", &bars(&|f| (f.opt_out.share(), f.opt_out.percent())),
                0.05, Some(card::OPT_OUT_ALARM)))
        }
        div.table-wrap {
            table.scorecard {
                thead { tr {
                    th scope="col" { (match c.by { By::Week => "Week of", By::Business => "Business", By::Campaign => "Campaign" }) }
                    th scope="col" { "Callers" }
                    th scope="col" { "Median first call-back" }
                    th scope="col" { "Two attempts" }
                    th scope="col" { "Recovery" }
                    th scope="col" { "After hours by 8:30" }
                    th scope="col" { "Opt-outs" }
                } }
                tbody {
                    @for (k, f) in &c.groups {
                        tr {
                            th scope="row" { (k) }
                            td { (f.leads) }
                            td { (wait(f)) }
                            td { (f.two_attempts.percent()) }
                            td { (f.recovery.percent()) }
                            td { (f.after_hours.percent()) }
                            td class=[f.opt_out_alarm().then_some("alarm")] { (f.opt_out.percent()) }
                        }
                    }
                }
            }
        }
        p { a href={ "/app/scorecard.csv?" (link(c.by)) } download { "Download as CSV" } }
    };
    view::page("Scorecard", Some(who), body)
}

/// The table as CSV: one row per group, then the total.
pub async fn csv(State(s): State<AppState>, who: Signed, q: Query<CardQuery>) -> Response {
    let c = match gather(&s, &who, &q).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut out = card::csv_line(
        &[
            c.by.as_str(),
            "callers",
            "median_first_attempt_minutes",
            "two_attempts_done",
            "two_attempts_of",
            "booked",
            "reachable",
            "after_hours_on_time",
            "after_hours_of",
            "opted_out",
            "texted",
            "opt_out_alarm",
            "top_reasons",
        ]
        .map(|h| Field::Text(h.to_string())),
    );
    let n = |v: usize| Field::Number(v.to_string());
    for (k, f) in c
        .groups
        .iter()
        .map(|(k, f)| (k.as_str(), f))
        .chain([("total", &c.total)])
    {
        out.push_str(&card::csv_line(&[
            Field::Text(k.to_string()),
            n(f.leads),
            Field::Number(
                f.median_first_attempt
                    .map(|d| format!("{:.1}", d.num_seconds() as f64 / 60.0))
                    .unwrap_or_default(),
            ),
            n(f.two_attempts.part),
            n(f.two_attempts.whole),
            n(f.recovery.part),
            n(f.recovery.whole),
            n(f.after_hours.part),
            n(f.after_hours.whole),
            n(f.opt_out.part),
            n(f.opt_out.whole),
            Field::Text(if f.opt_out_alarm() { "yes" } else { "no" }.into()),
            Field::Text(
                f.top_reasons
                    .iter()
                    .map(|(r, n)| format!("{r} ({n})"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ]));
    }
    let day = s.shell.clock.now().format("%Y-%m-%d");
    let mut resp = harden(out.into_response());
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"scorecard-by-{}-{day}.csv\"",
        c.by.as_str()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}
