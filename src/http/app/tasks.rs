//! Timed queue items on the queue page: promised callbacks, and the
//! follow-ups (after a job, on a quote) that wait for a person to send as
//! drafted, edit, or close. The decisions are `core::reminders`'; the
//! changes go through `shell::reminders` (texts through the one door).

use super::view;
use super::Signed;
use crate::core::reminders::TaskKind;
use crate::http::AppState;
use crate::shell::office::OfficeError;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;

/// How many items the queue shows.
const SHOWN: i64 = 100;

/// The queue's timed items this person sees.
pub async fn section(s: &AppState, who: &Signed, now: DateTime<Utc>) -> Result<Markup, Response> {
    let tasks = s
        .shell
        .store
        .open_tasks(SHOWN)
        .await
        .map_err(view::store_error)?;
    let config = &s.shell.config;
    let tasks: Vec<_> = tasks.iter().filter(|t| who.sees(&t.business_id)).collect();
    if tasks.is_empty() {
        return Ok(html! {});
    }
    Ok(html! {
        section.tasks aria-labelledby="tasks-h" {
            h2 id="tasks-h" { "Timed" }
            ol.queue {
                @for t in &tasks {
                    @let tz = config.business(&t.business_id).map(|b| b.time_zone).unwrap_or(chrono_tz::UTC);
                    @let kind = TaskKind::parse(&t.kind);
                    li.task data-task=(t.id) {
                        a href={ "/app/leads/" (t.lead_id) } {
                            strong { (kind.map_or(t.kind.as_str(), |k| k.label())) }
                        }
                        " " span class=(if t.due_at <= now { "sla late" } else { "sla ok" }) {
                            @if t.due_at <= now { "due since " } @else { "by " }
                            (view::local(t.due_at, tz, now))
                        }
                        @if let Some(by) = &t.created_by { " · promised by " (by) }
                        @if t.status == "due" && kind != Some(TaskKind::Callback) {
                            form.stack method="post" action={ "/app/tasks/" (t.id) "/send" } {
                                input type="hidden" name="csrf" value=(who.csrf);
                                label for={ "task-body-" (t.id) } { "Text to send (edit if you like)" }
                                textarea id={ "task-body-" (t.id) } name="body" rows="3" maxlength="1600" required {
                                    (t.body.as_deref().unwrap_or(""))
                                }
                                button type="submit" { "Approve and send" }
                            }
                        }
                        form.row method="post" action={ "/app/tasks/" (t.id) "/close" } {
                            input type="hidden" name="csrf" value=(who.csrf);
                            button.link type="submit" {
                                (if kind == Some(TaskKind::Callback) { "Done" } else { "Close without a text" })
                            }
                        }
                    }
                }
            }
        }
    })
}

/// The item, if this person may see it.
async fn visible(s: &AppState, who: &Signed, id: i64) -> Result<(), Response> {
    match s.shell.store.task(id).await {
        Ok(Some(t)) if who.sees(&t.business_id) => Ok(()),
        Ok(_) => Err(view::error(StatusCode::NOT_FOUND, "No such item.")),
        Err(e) => Err(view::store_error(e)),
    }
}

fn answer(r: Result<String, OfficeError>) -> Response {
    match r {
        Ok(to) => view::see_other(&to),
        Err(OfficeError::NotFound(_)) => view::error(StatusCode::NOT_FOUND, "No such item."),
        Err(OfficeError::Store(e)) => view::store_error(e),
        Err(OfficeError::Invalid(m)) => view::error(StatusCode::BAD_REQUEST, &m),
        Err(OfficeError::Conflict(c)) => view::error(StatusCode::CONFLICT, &c.to_string()),
    }
}

#[derive(Deserialize)]
pub struct CallbackForm {
    csrf: String,
    /// `2026-11-24T15:00`, the business's local time.
    by: String,
}

/// "Call back by": a timed item; the owner is reminded then.
pub async fn callback(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<CallbackForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(r) = super::lead::visible_lead(&s, &who, id).await {
        return r;
    }
    let r = s
        .shell
        .promise_callback(id, &f.by, &who.person.name)
        .await
        .map(|_| format!("/app/leads/{id}"));
    answer(r)
}

#[derive(Deserialize)]
pub struct SendForm {
    csrf: String,
    body: String,
}

/// A person approves a drafted follow-up (as drafted or edited).
pub async fn send(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<SendForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(r) = visible(&s, &who, id).await {
        return r;
    }
    let r = s
        .shell
        .send_task(id, &f.body, &who.person.name)
        .await
        .map(|(lead, _)| format!("/app/leads/{lead}"));
    answer(r)
}

#[derive(Deserialize)]
pub struct CloseForm {
    csrf: String,
}

pub async fn close(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<CloseForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(r) = visible(&s, &who, id).await {
        return r;
    }
    let r = s
        .shell
        .close_task(id, &who.person.name)
        .await
        .map(|_| "/app".to_string());
    answer(r)
}

/// The lead page's "Call back by" form and the lead's items.
pub fn lead_part(
    who: &Signed,
    lead_id: i64,
    tasks: &[crate::store::TaskRow],
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Markup {
    html! {
        section aria-labelledby="callback-h" {
            h2 id="callback-h" { "Promise a callback" }
            form.row method="post" action={ "/app/leads/" (lead_id) "/callback" } {
                input type="hidden" name="csrf" value=(who.csrf);
                label for="callback-by" { "Call back by" }
                input id="callback-by" name="by" type="datetime-local" required;
                button type="submit" { "Set reminder" }
            }
            @if !tasks.is_empty() {
                ul.tasks {
                    @for t in tasks {
                        li {
                            (TaskKind::parse(&t.kind).map_or(t.kind.as_str(), |k| k.label()))
                            " · " (view::local(t.due_at, tz, now)) " · " (t.status)
                            @if let Some(d) = &t.detail { " (" (d) ")" }
                        }
                    }
                }
            }
        }
    }
}
