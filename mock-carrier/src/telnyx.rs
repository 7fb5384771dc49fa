//! Telnyx's wire format over a [`Carrier`]: the slice of API v2 ringback
//! uses, answered the way the real one answers, and webhooks signed the way
//! Telnyx signs them.
//!
//! * `POST /v2/messages` (JSON, `Authorization: Bearer KEY`): send. `200` and
//!   `{"data": {…message…}}` (`to[0].status` `queued`); errors as
//!   `{"errors": [{"code", "title", "detail"}]}`: 401 10009 without the key,
//!   400 10004 for a missing `to`/`from`/`text`, 400 10016 for a `to` not in
//!   +E.164, 400 40300 / 40001 for refused recipients ([`Carrier::refuse`]),
//!   429 10011 with `Retry-After`, 500 10007.
//! * `GET /v2/detail_records?filter[record_type]=messaging&filter[cli]=…&
//!   filter[cld]=…&filter[created_at][gte]=…`: the message detail records,
//!   newest first, each with the `delivery_status_webhook_url` it was sent
//!   with (how ringback finds an in-doubt send).
//! * `GET /v2/messages/{id}`: one message.
//! * `POST /v2/texml/calls/{application_id}`: place a TeXML call (`To`,
//!   `From`, `Url`).
//!
//! Webhooks: [`MockTelnyx::event`] builds an API v2 event (with
//! [`MockTelnyx::inbound_text`] and [`MockTelnyx::delivery_update`] for its
//! payload), and [`sign`] gives the two headers Telnyx would send with it,
//! signed with [`SIGNING_SEED`] (Ed25519 over `"{timestamp}|{body}"`); the
//! caller posts it to the app (the crate has no HTTP client). [`public_key`]
//! is the `TELNYX_PUBLIC_KEY` that verifies them.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};

use crate::carrier::{is_e164, Answer, Carrier, Outgoing, Placed, Refusal, Sent};

/// The API key ringback's tests use.
pub const API_KEY: &str = "KEYtest0123456789";
/// The private key the mock signs webhooks with (tests only).
pub const SIGNING_SEED: [u8; 32] = *b"mock-telnyx-webhook-signing-key!";
/// Its public key, base64: the `TELNYX_PUBLIC_KEY` of the tests.
pub fn public_key() -> String {
    STANDARD.encode(
        SigningKey::from_bytes(&SIGNING_SEED)
            .verifying_key()
            .to_bytes(),
    )
}

/// A running mock of Telnyx's API. It derefs to its [`Carrier`].
#[derive(Clone)]
pub struct MockTelnyx {
    api: Arc<Api>,
    /// `http://127.0.0.1:PORT`, the value for `TELNYX_API_BASE`.
    pub url: String,
}

struct Api {
    carrier: Carrier,
    api_key: String,
}

impl Deref for MockTelnyx {
    type Target = Carrier;
    fn deref(&self) -> &Carrier {
        &self.api.carrier
    }
}

impl MockTelnyx {
    /// A mock for [`API_KEY`]; panics if it cannot listen on loopback.
    pub async fn start() -> MockTelnyx {
        Self::start_on(Carrier::new(), API_KEY)
            .await
            .expect("mock Telnyx listens on 127.0.0.1")
    }

    /// Telnyx's API over `carrier` (which other wire formats may share).
    pub async fn start_on(carrier: Carrier, api_key: &str) -> std::io::Result<MockTelnyx> {
        let api = Arc::new(Api {
            carrier,
            api_key: api_key.to_string(),
        });
        let app = Router::new()
            .route("/v2/messages", post(create_message))
            .route("/v2/messages/{id}", get(fetch_message))
            .route("/v2/detail_records", get(detail_records))
            .route("/v2/texml/calls/{application_id}", post(create_call))
            .with_state(api.clone());
        let url = crate::serve(app).await?;
        Ok(MockTelnyx { api, url })
    }

    pub fn carrier(&self) -> &Carrier {
        &self.api.carrier
    }

    /// An API v2 event (`data.id` = `id`) as Telnyx posts it.
    pub fn event(id: &str, event_type: &str, payload: Value) -> String {
        json!({
            "data": {
                "record_type": "event",
                "id": id,
                "event_type": event_type,
                "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                "payload": payload,
            },
            "meta": {"attempt": 1, "delivered_to": "/webhooks/telnyx"},
        })
        .to_string()
    }

    /// The `message.received` payload of a text `from` → `to`.
    pub fn inbound_text(message_id: &str, from: &str, to: &str, text: &str) -> Value {
        json!({
            "record_type": "message",
            "id": message_id,
            "direction": "inbound",
            "type": "SMS",
            "text": text,
            "from": {"phone_number": from, "carrier": "T-Mobile USA", "line_type": "Wireless"},
            "to": [{"phone_number": to, "status": "webhook_delivered"}],
            "media": [],
            "parts": 1,
        })
    }

    /// The payload of a delivery update for the text `sent` (`status` as
    /// Telnyx names it, with an error `code` if any).
    pub fn delivery_update(sent: &Sent, status: &str, code: Option<&str>) -> Value {
        let errors: Vec<Value> = code
            .map(|c| json!({"code": c, "title": error_title(c.parse().unwrap_or(0))}))
            .into_iter()
            .collect();
        json!({
            "record_type": "message",
            "id": sent.sid,
            "direction": "outbound",
            "type": "SMS",
            "text": sent.body,
            "from": {"phone_number": sent.from},
            "to": [{"phone_number": sent.to, "status": status}],
            "errors": errors,
        })
    }
}

/// Signs `body` at `timestamp` as Telnyx does: the two header values.
pub fn sign(timestamp: i64, body: &[u8]) -> (String, String) {
    let ts = timestamp.to_string();
    let mut message = ts.as_bytes().to_vec();
    message.push(b'|');
    message.extend_from_slice(body);
    let sig = SigningKey::from_bytes(&SIGNING_SEED).sign(&message);
    (ts, STANDARD.encode(sig.to_bytes()))
}

/// The title Telnyx gives an error code.
pub fn error_title(code: u32) -> &'static str {
    match code {
        10004 => "Missing required parameter",
        10007 => "Unexpected error",
        10009 => "Authentication failed",
        10011 => "Too many requests",
        10016 => "Phone number must be in +E.164 format",
        40001 => "Not routable",
        40002 => "Blocked as spam - temporary",
        40003 => "Blocked as spam - permanent",
        40010 => "Not 10DLC registered",
        40300 => "Blocked due to STOP message",
        _ => "scripted failure",
    }
}

fn error(status: StatusCode, code: u32, detail: &str) -> Response {
    (
        status,
        Json(json!({"errors": [{
            "code": code.to_string(),
            "title": error_title(code),
            "detail": detail,
            "meta": {"url": format!("https://developers.telnyx.com/docs/overview/errors/{code}")},
        }]})),
    )
        .into_response()
}

fn refusal(why: Refusal, to: &str) -> Response {
    match why {
        Refusal::InvalidNumber => error(
            StatusCode::BAD_REQUEST,
            10016,
            &format!("The 'to' number {to} must be in +E.164 format"),
        ),
        Refusal::Unsubscribed => error(
            StatusCode::BAD_REQUEST,
            40300,
            "The recipient has replied STOP to this messaging profile",
        ),
        Refusal::NotMobile => error(
            StatusCode::BAD_REQUEST,
            40001,
            "The destination is not routable (a landline?)",
        ),
    }
}

fn message_json(m: &Sent, status: &str) -> Value {
    json!({
        "record_type": "message",
        "id": m.sid,
        "direction": "outbound",
        "type": "SMS",
        "from": {"phone_number": m.from},
        "to": [{"phone_number": m.to, "status": status}],
        "text": m.body,
        "webhook_url": m.status_callback,
        "parts": 1,
        "created_at": rfc3339(m.date_created),
    })
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Api {
    fn reject(&self, r: Response) -> Response {
        self.carrier.count_rejected();
        r
    }

    fn authorize(&self, headers: &HeaderMap) -> Option<Response> {
        let key = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        (key != Some(self.api_key.as_str())).then(|| {
            self.reject(error(
                StatusCode::UNAUTHORIZED,
                10009,
                "The required authentication headers were either invalid or not included in the request.",
            ))
        })
    }
}

async fn create_message(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = api.authorize(&headers) {
        return r;
    }
    let params: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return api.reject(error(StatusCode::BAD_REQUEST, 10015, &e.to_string())),
    };
    let field = |k: &str| params[k].as_str().map(str::trim).filter(|v| !v.is_empty());
    let (Some(to), Some(from), Some(text)) = (field("to"), field("from"), field("text")) else {
        return api.reject(error(
            StatusCode::BAD_REQUEST,
            10004,
            "to, from and text are required",
        ));
    };
    if !is_e164(to) {
        return api.reject(refusal(Refusal::InvalidNumber, to));
    }
    let in_flight = api.carrier.begin_send().await;
    let (answer, sent) = api.carrier.take_send(Outgoing {
        sid: uuid_like(),
        to: to.to_string(),
        from: from.to_string(),
        body: text.to_string(),
        status_callback: field("webhook_url").map(str::to_string),
    });
    let created = |sent: &Sent| Json(json!({"data": message_json(sent, "queued")})).into_response();
    let response = match answer {
        Answer::Created => created(&sent),
        Answer::Fail {
            status,
            code,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = error(status, code, error_title(code));
            if let Some(s) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            r
        }
        Answer::Refused(why) => refusal(why, &sent.to),
        Answer::Throttled => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, 10011, error_title(10011));
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        Answer::Unavailable | Answer::LostReply => {
            error(StatusCode::INTERNAL_SERVER_ERROR, 10007, error_title(10007))
        }
        Answer::Garbled => (StatusCode::OK, "<html>bad gateway</html>").into_response(),
        Answer::Hang(d) => {
            tokio::time::sleep(d).await;
            created(&sent)
        }
    };
    api.carrier.latency().await;
    drop(in_flight);
    response
}

async fn fetch_message(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    api.carrier.count_fetch();
    if let Some(r) = api.authorize(&headers) {
        return r;
    }
    match api.carrier.message(&id) {
        Some(m) => Json(json!({"data": message_json(&m, "delivered")})).into_response(),
        None => api.reject(error(StatusCode::NOT_FOUND, 10005, "Resource not found")),
    }
}

async fn detail_records(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = api.authorize(&headers) {
        return r;
    }
    api.carrier.begin_list().await;
    let q: HashMap<String, String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    if q.get("filter[record_type]").map(String::as_str) != Some("messaging") {
        return api.reject(error(
            StatusCode::BAD_REQUEST,
            10004,
            "filter[record_type] must be specified",
        ));
    }
    let since = match q.get("filter[created_at][gte]") {
        Some(v) => match DateTime::parse_from_rfc3339(v) {
            Ok(t) => Some(t.to_utc()),
            Err(_) => return api.reject(error(StatusCode::BAD_REQUEST, 10015, "bad created_at")),
        },
        None => None,
    };
    let cli = q.get("filter[cli]");
    let hidden = api.carrier.records_hidden();
    let records: Vec<Value> = api
        .carrier
        .messages_newest_first(q.get("filter[cld]").map(String::as_str), |m| {
            !hidden && cli.is_none_or(|c| *c == m.from) && since.is_none_or(|t| m.date_created >= t)
        })
        .iter()
        .take(50)
        .map(|m| {
            json!({
                "record_type": "message_detail_record",
                "id": m.sid,
                "uuid": m.sid,
                "direction": "outbound",
                "cli": m.from,
                "cld": m.to,
                "status": "delivered",
                "message_type": "SMS",
                "created_at": rfc3339(m.date_created),
                "delivery_status_webhook_url": m.status_callback,
            })
        })
        .collect();
    api.carrier.latency().await;
    let n = records.len();
    Json(json!({
        "data": records,
        "meta": {"page_number": 1, "page_size": 50, "total_pages": 1, "total_results": n},
    }))
    .into_response()
}

async fn create_call(
    State(api): State<Arc<Api>>,
    Path(application_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = api.authorize(&headers) {
        return r;
    }
    let params: Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |k: &str| params[k].as_str().map(str::trim).filter(|v| !v.is_empty());
    let (Some(to), Some(from), Some(url)) = (field("To"), field("From"), field("Url")) else {
        return api.reject(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            10004,
            "To, From and Url are required",
        ));
    };
    if !is_e164(to) {
        return api.reject(refusal(Refusal::InvalidNumber, to));
    }
    let placed = Placed {
        sid: format!("v3:{}", uuid_like()),
        to: to.to_string(),
        from: from.to_string(),
        instructions: url.to_string(),
        at: std::time::Instant::now(),
    };
    api.carrier.place_call(placed.clone());
    api.carrier.latency().await;
    Json(json!({
        "from": placed.from,
        "to": placed.to,
        "status": "queued",
        "call_sid": placed.sid,
        "application_sid": application_id,
    }))
    .into_response()
}

/// A UUID-shaped id, as Telnyx gives messages.
fn uuid_like() -> String {
    use rand::Rng as _;
    let n: u128 = rand::rng().random();
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
