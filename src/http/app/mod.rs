//! The office's web app at `/app`: server-rendered pages (maud), a little
//! plain JavaScript for live updates, no build chain, nothing from a CDN.
//! One file per page; the plumbing every page shares is here: who is
//! signed in (a session cookie), the form token every form carries (CSRF),
//! the page frame and the answers for errors.
//!
//! Decisions are not made here: sign-in rules are `core::people`'s, the SLA
//! clock `core::sla`'s, and every change to a lead goes through the same
//! shell functions as the admin API (`shell::office`), so a text from the
//! app leaves through the one door and the compliance gate.

// A refusal here is the page that says so: a `Response` either way, and
// one per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod assets;
mod chart;
mod lead;
mod live;
mod people;
mod queue;
mod review;
mod scorecard;
mod settings;
mod signin;
mod tasks;
mod view;

use crate::core::people::Role;
use crate::http::AppState;
use crate::shell::people::Person;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::Markup;
use subtle::ConstantTimeEq;

/// The session cookie's name.
const SESSION_COOKIE: &str = "rb_session";
/// The form token of the sign-in forms, before there is a session
/// (double-submit: the cookie and the form must agree).
const PRE_COOKIE: &str = "rb_pre";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(queue::page))
        .route("/app/", get(|| async { Redirect::to("/app") }))
        .route("/app/signin", get(signin::form).post(signin::submit))
        .route(
            "/app/welcome/{token}",
            get(signin::welcome).post(signin::set_password),
        )
        .route("/app/signout", post(signin::sign_out))
        .route("/app/signout/everywhere", post(signin::sign_out_everywhere))
        .route("/app/leads/{id}", get(lead::page))
        .route("/app/leads/{id}/claim", post(lead::claim))
        .route("/app/leads/{id}/attempt", post(lead::attempt))
        .route("/app/leads/{id}/disposition", post(lead::disposition))
        .route("/app/leads/{id}/text", post(lead::text))
        .route("/app/leads/{id}/callback", post(tasks::callback))
        .route("/app/tasks/{id}/send", post(tasks::send))
        .route("/app/tasks/{id}/close", post(tasks::close))
        .route("/app/events", get(live::events))
        .route("/app/people", get(people::page).post(people::add))
        .route("/app/people/{id}/role", post(people::role))
        .route("/app/people/{id}/disable", post(people::disable))
        .route("/app/people/{id}/enable", post(people::enable))
        .route("/app/people/{id}/signout", post(people::sign_out))
        .route("/app/scorecard", get(scorecard::page))
        .route("/app/scorecard.csv", get(scorecard::csv))
        .route("/app/review", get(review::page))
        .route("/app/settings", get(settings::page))
        .route("/app/assets/{file}", get(assets::serve))
}

/// A value of the request's `Cookie` header.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Is the app reached over https (directly or behind a proxy that says
/// so)? Then cookies are `Secure`.
fn https(s: &AppState, headers: &HeaderMap) -> bool {
    s.public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax (a link from a text
/// message opens the app signed in; a form posted from another site does
/// not carry it), Secure behind https. `max_age` 0 deletes it.
fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let v = format!(
        "{name}={value}; Path=/app; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).expect("a cookie of URL-safe characters")
}

/// Constant-time comparison of a form's token with the expected one.
fn same_token(given: &str, expected: &str) -> bool {
    !expected.is_empty()
        && given.len() == expected.len()
        && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The signed-in person of a request, with their session's form token.
/// A page asked for without a session redirects to the sign-in form.
pub struct Signed {
    pub person: Person,
    pub csrf: String,
    pub session: String,
}

impl Signed {
    /// Every form that changes something carries the session's token: a
    /// page of another site cannot post as this person.
    pub fn check(&self, given: &str) -> Result<(), Response> {
        if same_token(given, &self.csrf) {
            Ok(())
        } else {
            Err(view::error(
                StatusCode::FORBIDDEN,
                "This form has expired. Go back, reload the page and try again.",
            ))
        }
    }

    /// Owner-only pages.
    pub fn owner(&self) -> Result<(), Response> {
        if self.person.role == Role::Owner {
            Ok(())
        } else {
            Err(view::error(
                StatusCode::FORBIDDEN,
                "Only the owner can manage people.",
            ))
        }
    }

    /// Does this person see this business's leads?
    pub fn sees(&self, business_id: &str) -> bool {
        self.person.businesses.sees(business_id)
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let to_sign_in = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/app");
            let q: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", next)
                .finish();
            Redirect::to(&format!("/app/signin?{q}")).into_response()
        };
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in());
        };
        match s.shell.session(session).await {
            Ok(Some((person, csrf))) => Ok(Signed {
                person,
                csrf,
                session: session.to_string(),
            }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => {
                tracing::error!(error = %e, "app: cannot read a session");
                Err(view::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is not answering. Try again in a moment.",
                ))
            }
        }
    }
}

/// Where to go after signing in: only a path inside the app (never another
/// site: an open redirect would let a link from anywhere land anywhere).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/app") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/app",
    }
}

/// Headers every page of the app carries: no framing, no inline script,
/// nothing from elsewhere, no referrer (sign-in links carry tokens).
fn harden(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The page says what went wrong itself: not rewritten as JSON.
    resp.extensions_mut().insert(crate::http::error::Explained);
    resp
}

/// An HTML page with the app's headers.
fn html(markup: Markup) -> Response {
    harden(axum::response::Html(markup.into_string()).into_response())
}

/// The client's address, for the sign-in limit.
fn address(parts_ip: Option<std::net::SocketAddr>) -> String {
    parts_ip
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_inside_the_app() {
        assert_eq!(safe_next(Some("/app/leads/3")), "/app/leads/3");
        assert_eq!(safe_next(Some("https://evil.example/app")), "/app");
        assert_eq!(safe_next(Some("//evil.example")), "/app");
        assert_eq!(safe_next(Some("/app\\@evil")), "/app");
        assert_eq!(safe_next(None), "/app");
    }

    #[test]
    fn cookies_are_read_by_name_and_tokens_compared_whole() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; rb_session=xyz"),
        );
        assert_eq!(cookie(&h, "rb_session"), Some("xyz"));
        assert_eq!(cookie(&h, "rb"), None);
        assert!(same_token("abc", "abc"));
        assert!(!same_token("ab", "abc"));
        assert!(!same_token("", ""));
        let c = set_cookie("rb_session", "v", 60, true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
    }
}
