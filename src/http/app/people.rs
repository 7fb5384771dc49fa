//! The owner's people page: who can sign in, adding someone (the one-time
//! sign-in link is shown once), changing their role, disabling them,
//! signing them out everywhere.

use super::view;
use super::{html, Signed};
use crate::core::people::{Businesses, Role};
use crate::http::AppState;
use crate::shell::people::PeopleError;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

/// The base of links this instance hands out: `RINGBACK_PUBLIC_URL`, or
/// what the browser asked for.
pub fn base_url(s: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &s.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost:8080");
    let scheme = if super::https(s, headers) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

async fn render(
    s: &AppState,
    who: &Signed,
    added: Option<(&str, &str)>,
    problem: Option<&str>,
) -> Result<Markup, Response> {
    let users = s.shell.store.users().await.map_err(view::store_error)?;
    let businesses = &s.shell.config.businesses;
    let body = html! {
        h1 { "People" }
        @if let Some(p) = problem { p.error role="alert" { (p) } }
        @if let Some((name, link)) = added {
            div role="status" {
                p { "Added " strong { (name) } ". Give them this sign-in link; it works once, for 72 hours:" }
                p.link-once { (link) }
            }
        }
        table {
            thead { tr { th { "Name" } th { "Role" } th { "Businesses" } th { "Status" } th { span.visually-hidden { "Actions" } } } }
            tbody {
                @for u in &users {
                    tr {
                        td { (u.name) }
                        td {
                            @if u.id == who.person.id { (u.role) }
                            @else {
                                form.row method="post" action={ "/app/people/" (u.id) "/role" } {
                                    input type="hidden" name="csrf" value=(who.csrf);
                                    label.visually-hidden for={ "role-" (u.id) } { "Role of " (u.name) }
                                    select id={ "role-" (u.id) } name="role" {
                                        @for r in Role::ALL { option value=(r.as_str()) selected[r.as_str() == u.role] { (r.as_str()) } }
                                    }
                                    button type="submit" { "Change" }
                                }
                            }
                        }
                        td { (if u.businesses == "*" { "all" } else { u.businesses.as_str() }) }
                        td {
                            @if u.disabled { "disabled" }
                            @else if u.password_hash.is_none() { "link not used yet" }
                            @else { "active" }
                        }
                        td {
                            @if u.id != who.person.id {
                                form.row method="post" action={ "/app/people/" (u.id) (if u.disabled { "/enable" } else { "/disable" }) } {
                                    input type="hidden" name="csrf" value=(who.csrf);
                                    button type="submit" { (if u.disabled { "Enable " } else { "Disable " }) (u.name) }
                                }
                            }
                            form.row method="post" action={ "/app/people/" (u.id) "/signout" } {
                                input type="hidden" name="csrf" value=(who.csrf);
                                button type="submit" { "Sign " (u.name) " out everywhere" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add someone" }
        form.stack method="post" action="/app/people" {
            input type="hidden" name="csrf" value=(who.csrf);
            label for="new-name" { "Sign-in name (letters, digits, . - _)" }
            input id="new-name" name="name" type="text" required maxlength="40" autocapitalize="none";
            label for="new-role" { "Role" }
            select id="new-role" name="role" {
                @for r in Role::ALL { option value=(r.as_str()) selected[r == Role::Dispatcher] { (r.as_str()) } }
            }
            label for="new-business" { "Sees" }
            select id="new-business" name="business" {
                option value="*" { "every business" }
                @for b in businesses { option value=(b.id) { (b.name) " only" } }
            }
            button type="submit" { "Add and make a sign-in link" }
        }
    };
    Ok(view::page("People", Some(who), body))
}

pub async fn page(State(s): State<AppState>, who: Signed) -> Response {
    if let Err(r) = who.owner() {
        return r;
    }
    match render(&s, &who, None, None).await {
        Ok(m) => html(m),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct AddForm {
    csrf: String,
    name: String,
    role: String,
    business: String,
}

pub async fn add(
    State(s): State<AppState>,
    headers: HeaderMap,
    who: Signed,
    Form(f): Form<AddForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf).and_then(|_| who.owner()) {
        return r;
    }
    let result = match Role::parse(&f.role) {
        None => Err(PeopleError::Invalid(format!("no role {:?}", f.role))),
        Some(role) => {
            let businesses = match f.business.as_str() {
                "*" => Businesses::All,
                id => Businesses::Only(vec![id.to_string()]),
            };
            s.shell.add_person(f.name.trim(), role, &businesses).await
        }
    };
    let (added, problem, status) = match &result {
        Ok((_, token)) => (
            Some(format!("{}/app/welcome/{token}", base_url(&s, &headers))),
            None,
            StatusCode::CREATED,
        ),
        Err(PeopleError::Store(e)) => return view::store_error(e),
        Err(e) => (None, Some(e.to_string()), StatusCode::BAD_REQUEST),
    };
    let name = f.name.trim();
    match render(
        &s,
        &who,
        added.as_deref().map(|l| (name, l)),
        problem.as_deref(),
    )
    .await
    {
        Ok(m) => {
            let mut r = html(m);
            *r.status_mut() = status;
            r
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// An owner's change to someone: checked, then run (`f` is lazy).
async fn change(
    who: &Signed,
    csrf: &str,
    f: impl std::future::Future<Output = Result<(), crate::store::StoreError>>,
) -> Response {
    if let Err(r) = who.check(csrf).and_then(|_| who.owner()) {
        return r;
    }
    match f.await {
        Ok(()) => view::see_other("/app/people"),
        Err(e) => view::store_error(e),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    csrf: String,
    role: String,
}

/// The owner changes someone's role (not their own: an owner who demoted
/// themselves could leave nobody to manage people).
pub async fn role(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<RoleForm>,
) -> Response {
    if let Err(r) = who.check(&f.csrf).and_then(|_| who.owner()) {
        return r;
    }
    if id == who.person.id {
        return view::error(StatusCode::BAD_REQUEST, "You cannot change your own role.");
    }
    let Some(role) = Role::parse(&f.role) else {
        return view::error(
            StatusCode::BAD_REQUEST,
            &format!("No role {:?}: use owner, manager or dispatcher.", f.role),
        );
    };
    let now = s.shell.clock.now();
    match s.shell.store.set_user_role(id, role.as_str(), now).await {
        Ok(true) => view::see_other("/app/people"),
        Ok(false) => view::error(StatusCode::NOT_FOUND, "No such person."),
        Err(e) => view::store_error(e),
    }
}

pub async fn disable(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if id == who.person.id {
        return view::error(StatusCode::BAD_REQUEST, "You cannot disable yourself.");
    }
    let now = s.shell.clock.now();
    let store = s.shell.store.clone();
    change(&who, &f.csrf, async move {
        store.set_user_disabled(id, true, now).await
    })
    .await
}

pub async fn enable(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let now = s.shell.clock.now();
    let store = s.shell.store.clone();
    change(&who, &f.csrf, async move {
        store.set_user_disabled(id, false, now).await
    })
    .await
}

pub async fn sign_out(
    State(s): State<AppState>,
    who: Signed,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let store = s.shell.store.clone();
    change(&who, &f.csrf, async move {
        store.end_sessions_of(id).await.map(|_| ())
    })
    .await
}
