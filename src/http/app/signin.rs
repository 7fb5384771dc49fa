//! Signing in and out: the sign-in form, the one-time welcome link that sets
//! a password, signing out here or everywhere.

use super::view::{self, page};
use super::{
    address, cookie, html, https, safe_next, same_token, set_cookie, Signed, PRE_COOKIE,
    SESSION_COOKIE,
};
use crate::core::people::{self, PASSWORD_MIN};
use crate::http::AppState;
use crate::shell::people::{token, PeopleError, SignedIn};
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The pre-session form token: the one in the cookie, or a new one (and
/// the cookie to set).
fn pre_token(s: &AppState, headers: &HeaderMap) -> (String, Option<header::HeaderValue>) {
    match cookie(headers, PRE_COOKIE).filter(|t| t.len() >= 32) {
        Some(t) => (t.to_string(), None),
        None => {
            let t = token();
            let c = set_cookie(PRE_COOKIE, &t, 3600, https(s, headers));
            (t, Some(c))
        }
    }
}

fn sign_in_page(csrf: &str, next: &str, name: &str, problem: Option<&str>) -> maud::Markup {
    page(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            form.stack method="post" action="/app/signin" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="next" value=(next);
                label for="name" { "Name" }
                input id="name" name="name" type="text" autocomplete="username"
                    autocapitalize="none" required value=(name);
                label for="password" { "Password" }
                input id="password" name="password" type="password"
                    autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            p.hint { "No password yet? Use the link the owner gave you." }
        },
    )
}

fn with_cookie(mut r: Response, c: Option<header::HeaderValue>) -> Response {
    if let Some(c) = c {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

pub async fn form(State(s): State<AppState>, headers: HeaderMap, q: Query<Next>) -> Response {
    let (csrf, set) = pre_token(&s, &headers);
    let next = safe_next(q.next.as_deref());
    with_cookie(html(sign_in_page(&csrf, next, "", None)), set)
}

#[derive(Deserialize)]
pub struct SignInForm {
    csrf: String,
    name: String,
    password: String,
    next: Option<String>,
}

/// A session's cookie, and away to `to`.
fn signed_in(s: &AppState, headers: &HeaderMap, si: &SignedIn, to: &str) -> Response {
    let secure = https(s, headers);
    let mut r = view::see_other(to);
    let max_age = people::SESSION.num_seconds();
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &si.session, max_age, secure),
    );
    h.append(header::SET_COOKIE, set_cookie(PRE_COOKIE, "", 0, secure));
    r
}

pub async fn submit(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let next = safe_next(f.next.as_deref()).to_string();
    let (csrf, set) = pre_token(&s, &headers);
    if !same_token(&f.csrf, cookie(&headers, PRE_COOKIE).unwrap_or("")) {
        let mut r = html(sign_in_page(
            &csrf,
            &next,
            &f.name,
            Some("This form had expired. Please sign in again."),
        ));
        *r.status_mut() = StatusCode::FORBIDDEN;
        return with_cookie(r, set);
    }
    let name = f.name.trim();
    match s
        .shell
        .sign_in(name, &f.password, &address(Some(peer)))
        .await
    {
        Ok(si) => signed_in(&s, &headers, &si, &next),
        Err(e) => {
            let status = match e {
                PeopleError::TooMany => StatusCode::TOO_MANY_REQUESTS,
                PeopleError::Store(e) => return view::store_error(e),
                _ => StatusCode::UNAUTHORIZED,
            };
            let mut r = html(sign_in_page(&csrf, &next, name, Some(&e.to_string())));
            *r.status_mut() = status;
            with_cookie(r, set)
        }
    }
}

fn welcome_page(csrf: &str, token: &str, name: &str, problem: Option<&str>) -> maud::Markup {
    page(
        "Choose a password",
        None,
        html! {
            h1 { "Welcome, " (name) }
            p { "Choose a password to sign in with. This link works once." }
            @if let Some(p) = problem { p.error role="alert" { (p) } }
            form.stack method="post" action={ "/app/welcome/" (token) } {
                input type="hidden" name="csrf" value=(csrf);
                input type="text" name="username" value=(name) autocomplete="username"
                    hidden aria-hidden="true" tabindex="-1";
                label for="password" { "New password (at least " (PASSWORD_MIN) " characters)" }
                input id="password" name="password" type="password" autocomplete="new-password"
                    minlength=(PASSWORD_MIN) required;
                label for="confirm" { "The same password again" }
                input id="confirm" name="confirm" type="password" autocomplete="new-password"
                    minlength=(PASSWORD_MIN) required;
                button type="submit" { "Save and sign in" }
            }
        },
    )
}

pub async fn welcome(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(link): Path<String>,
) -> Response {
    match s.shell.link_person(&link).await {
        Ok(Some(p)) => {
            let (csrf, set) = pre_token(&s, &headers);
            with_cookie(html(welcome_page(&csrf, &link, &p.name, None)), set)
        }
        Ok(None) => view::error(StatusCode::GONE, &PeopleError::LinkGone.to_string()),
        Err(e) => view::store_error(e),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    password: String,
    confirm: String,
}

pub async fn set_password(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(link): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let person = match s.shell.link_person(&link).await {
        Ok(Some(p)) => p,
        Ok(None) => return view::error(StatusCode::GONE, &PeopleError::LinkGone.to_string()),
        Err(e) => return view::store_error(e),
    };
    let (csrf, set) = pre_token(&s, &headers);
    let again = |problem: &str, status: StatusCode| {
        let mut r = html(welcome_page(&csrf, &link, &person.name, Some(problem)));
        *r.status_mut() = status;
        with_cookie(r, set.clone())
    };
    if !same_token(&f.csrf, cookie(&headers, PRE_COOKIE).unwrap_or("")) {
        return again(
            "This form had expired. Please try again.",
            StatusCode::FORBIDDEN,
        );
    }
    if f.password != f.confirm {
        return again(
            "The two passwords are not the same.",
            StatusCode::BAD_REQUEST,
        );
    }
    match s.shell.set_password(&link, &f.password).await {
        Ok(si) => signed_in(&s, &headers, &si, "/app"),
        Err(PeopleError::Invalid(m)) => again(&m, StatusCode::BAD_REQUEST),
        Err(PeopleError::Store(e)) => view::store_error(e),
        Err(e) => view::error(StatusCode::GONE, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

fn signed_out(s: &AppState, headers: &HeaderMap) -> Response {
    let mut r = view::see_other("/app/signin");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, https(s, headers)),
    );
    r
}

pub async fn sign_out(
    State(s): State<AppState>,
    headers: HeaderMap,
    who: Signed,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(e) = s.shell.sign_out(&who.session).await {
        return view::store_error(e);
    }
    signed_out(&s, &headers)
}

/// Ends every session of this person (a lost phone).
pub async fn sign_out_everywhere(
    State(s): State<AppState>,
    headers: HeaderMap,
    who: Signed,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = who.check(&f.csrf) {
        return r;
    }
    if let Err(e) = s.shell.sign_out_everywhere(who.person.id).await {
        return view::store_error(e);
    }
    signed_out(&s, &headers)
}
