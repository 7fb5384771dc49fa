//! Twilio's wire format over a [`Carrier`]: the slice of the REST API
//! ringback uses, answered the way the real one answers.
//!
//! * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`: send. `201` and
//!   the Message resource (`queued`); errors as
//!   `{"code", "message", "more_info", "status"}`: 400 21604/21603/21602 for a
//!   missing `To`/`From`/`Body`, 21211 for a `To` that is not E.164, 21610
//!   and 21614 for refused recipients ([`Carrier::refuse`]), 429 20429 with
//!   `Retry-After`, 500 20500.
//! * `GET` the same path: the message list, newest first, with the `To`,
//!   `From`, `DateSent`, `DateSent>`/`DateSent<` filters and
//!   `Page`/`PageSize` paging (`next_page_uri`), as reconciliation reads it.
//! * `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`: one message.
//! * `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`: place a call with
//!   `Twiml` or `Url` (21201/21213/21205 when one is missing).
//!
//! Every request needs HTTP Basic `AccountSid:AuthToken` (else 401 20003 with
//! `WWW-Authenticate`); another account's path is 404 20404.

use std::ops::Deref;
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde_json::json;

use crate::carrier::{Carrier, Refusal};

mod calls;
mod messages;

use calls::create_call;
use messages::{create_message, fetch_message, list_messages};

/// The account ringback's tests use.
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token-1234";

const API_VERSION: &str = "2010-04-01";

/// A running mock of Twilio's API. It derefs to its [`Carrier`]: script
/// faults and read what was sent through it. The server lives as long as
/// the runtime that started it.
#[derive(Clone)]
pub struct MockTwilio {
    api: Arc<Api>,
    /// `http://127.0.0.1:PORT`, the value for `TWILIO_API_BASE`.
    pub url: String,
}

struct Api {
    carrier: Carrier,
    account_sid: String,
    auth_token: String,
}

impl Deref for MockTwilio {
    type Target = Carrier;
    fn deref(&self) -> &Carrier {
        &self.api.carrier
    }
}

impl MockTwilio {
    /// A mock for [`ACCOUNT_SID`] / [`AUTH_TOKEN`]; panics if it cannot
    /// listen on the loopback interface.
    pub async fn start() -> MockTwilio {
        Self::start_with(ACCOUNT_SID, AUTH_TOKEN)
            .await
            .expect("mock Twilio listens on 127.0.0.1")
    }

    /// A mock for another account, on a fresh [`Carrier`].
    pub async fn start_with(account_sid: &str, auth_token: &str) -> std::io::Result<MockTwilio> {
        Self::start_on(Carrier::new(), account_sid, auth_token).await
    }

    /// Twilio's API over `carrier` (which other wire formats may share).
    pub async fn start_on(
        carrier: Carrier,
        account_sid: &str,
        auth_token: &str,
    ) -> std::io::Result<MockTwilio> {
        let api = Arc::new(Api {
            carrier,
            account_sid: account_sid.to_string(),
            auth_token: auth_token.to_string(),
        });
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                get(list_messages).post(create_message),
            )
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}",
                get(fetch_message),
            )
            .route(
                "/2010-04-01/Accounts/{account_sid}/Calls.json",
                post(create_call),
            )
            .with_state(api.clone());
        let url = crate::serve(app).await?;
        Ok(MockTwilio { api, url })
    }

    pub fn carrier(&self) -> &Carrier {
        &self.api.carrier
    }
}

/// `PREFIX` + 32 lowercase hex digits, the shape of every Twilio SID.
pub fn new_sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::rng().random::<u128>())
}

/// The message Twilio gives with an error code (for scripted failures too).
pub fn error_message(code: u32) -> &'static str {
    match code {
        20003 => "Authenticate",
        20404 => "The requested resource was not found",
        20429 => "Too Many Requests",
        20500 => "An internal server error has occurred",
        20503 => "Service unavailable",
        21201 => "No 'To' number is specified",
        21205 => "Url parameter is required.",
        21211 => "Invalid 'To' Phone Number",
        21213 => "No 'From' number is specified",
        21602 => "Message body is required.",
        21603 => "A 'From' phone number is required.",
        21604 => "A 'To' phone number is required.",
        21610 => "Attempt to send to unsubscribed recipient",
        21611 => "This 'From' number has exceeded the maximum number of queued messages",
        21614 => "'To' number is not a valid mobile number",
        30007 => "Message filtered",
        30034 => "Message from an unregistered number",
        30450 => "Message delivery blocked (SMS pumping protection)",
        _ => "scripted failure",
    }
}

// ---------------------------------------------------------------------------
// Authentication and errors, shared by both APIs

impl Api {
    fn reject(&self, response: Response) -> Response {
        self.carrier.count_rejected();
        response
    }

    /// HTTP Basic `AccountSid:AuthToken`; the account in the path must be the
    /// authenticated one. Returns the rejection, if any.
    fn authorize(&self, headers: &HeaderMap, path_account: &str) -> Option<Response> {
        let credentials = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b64| STANDARD.decode(b64.trim()).ok())
            .and_then(|raw| String::from_utf8(raw).ok());
        let expected = format!("{}:{}", self.account_sid, self.auth_token);
        if credentials.as_deref() != Some(expected.as_str()) {
            let mut response = error(StatusCode::UNAUTHORIZED, 20003, error_message(20003));
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
            return Some(self.reject(response));
        }
        if path_account != self.account_sid {
            return Some(self.reject(not_found(&format!(
                "/{API_VERSION}/Accounts/{path_account}"
            ))));
        }
        None
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

fn bad_request(code: u32, message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, code, message)
}

fn refusal(why: Refusal, to: Option<&str>) -> Response {
    let to = to.unwrap_or_default();
    match why {
        Refusal::InvalidNumber => bad_request(21211, &format!("Invalid 'To' Phone Number: {to}")),
        Refusal::Unsubscribed => bad_request(21610, error_message(21610)),
        Refusal::NotMobile => bad_request(
            21614,
            &format!("'To' number {to} is not a valid mobile number"),
        ),
    }
}

fn not_found(resource: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        20404,
        &format!("The requested resource {resource} was not found"),
    )
}

fn internal_error() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        20500,
        error_message(20500),
    )
}

/// `Thu, 24 Aug 2023 05:01:45 +0000`, as Twilio formats its dates.
fn rfc2822(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

#[cfg(test)]
mod tests;
