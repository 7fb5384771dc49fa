//! The frame every page shares and small pieces of markup (times, the SLA
//! clock, errors). Text is escaped by maud; nothing is spliced in raw.

use super::Signed;
use crate::core::sla::{self, Sla};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{html, Markup, DOCTYPE};

/// A whole page: the header with who is signed in, then `body`.
pub fn page(title: &str, who: Option<&Signed>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ringback" }
                link rel="stylesheet" href="/app/assets/app.css";
                script src="/app/assets/app.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/app" { "ringback" }
                    @if let Some(w) = who {
                        nav aria-label="Main" {
                            a href="/app" { "Queue" }
                            a href="/app/scorecard" { "Scorecard" }
                            a href="/app/review" { "Daily review" }
                            @if w.person.role.manages_people() {
                                a href="/app/people" { "People" }
                                a href="/app/settings" { "Settings" }
                            }
                        }
                        form.signout method="post" action="/app/signout" {
                            input type="hidden" name="csrf" value=(w.csrf);
                            span.me { (w.person.name) " (" (w.person.role.as_str()) ")" }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// An error as a small page (for a person, not a program).
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = page(
        "Something went wrong",
        None,
        html! {
            h1 { "Something went wrong" }
            p.error role="alert" { (message) }
            p { a href="/app" { "Back to the queue" } }
        },
    );
    let mut r = super::html(body);
    *r.status_mut() = status;
    r
}

/// A store error as the person sees it (the details go to the log).
pub fn store_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "app: store error");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database is not answering. Try again in a moment.",
    )
}

/// "Tue 10:04" in the business's time zone (with the date if not today).
pub fn local(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> String {
    let lt = t.with_timezone(&tz);
    if lt.date_naive() == now.with_timezone(&tz).date_naive() {
        lt.format("%-I:%M %p").to_string()
    } else {
        lt.format("%a %b %-d, %-I:%M %p").to_string()
    }
}

/// The SLA clock as a badge: time left (green, then amber past the
/// stretch goal), overdue (red), or met.
pub fn sla_badge(clock: Sla, now: DateTime<Utc>) -> Markup {
    match clock {
        Sla::Running { due, stretch } => {
            let class = if now < stretch { "sla ok" } else { "sla warn" };
            html! {
                span class=(class) data-due=(due.timestamp_millis()) title="First call-back due" {
                    "Call back in " (sla::short(due - now))
                }
            }
        }
        Sla::Overdue { due } => html! {
            span.sla.late data-due=(due.timestamp_millis()) title="First call-back was due" {
                "Overdue " (sla::short(now - due))
            }
        },
        Sla::Met { on_time: true } => html! { span.sla.met { "Called back in time" } },
        Sla::Met { on_time: false } => html! { span.sla.met-late { "Called back late" } },
        Sla::None => html! {},
    }
}

/// A redirect after a form (303: the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, to.to_string())],
    )
        .into_response()
}
