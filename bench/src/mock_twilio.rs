//! In-process mock of the slice of Twilio's REST API that ringback uses:
//!
//! * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` — create (send) a message
//! * `GET  /2010-04-01/Accounts/{AccountSid}/Messages.json` — list messages, with the
//!   `To`, `From`, `DateSent`, `DateSent>`/`DateSent<` filters and `Page`/`PageSize`
//! * `GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json` — fetch one message
//!
//! Requests are authenticated with HTTP Basic `AccountSid:AuthToken`; errors use
//! Twilio's JSON error shape. Every accepted message is recorded with the instant
//! it arrived, so the bench can measure missed call → provider request latency
//! and check that each caller got exactly one text.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::Rng as _;
use serde::Serialize;
use serde_json::{json, Value};

const API_VERSION: &str = "2010-04-01";

#[derive(Clone, Debug)]
pub struct MockConfig {
    pub account_sid: String,
    pub auth_token: String,
    /// Fraction (0..=1) of create requests answered with an injected `500` or
    /// `429 Retry-After: 1` instead of being accepted.
    pub fail_rate: f64,
    /// Fraction (0..=1) of create requests that are accepted and recorded but
    /// answered `500`, as if the reply was lost: the service must find the
    /// message by listing rather than send it again.
    pub lost_reply_rate: f64,
    /// Artificial delay before every response (real Twilio answers in ~100-300 ms).
    pub latency: Duration,
}

/// A running mock; dropping it does not stop the server (it lives as long as the
/// runtime), which is what the bench wants.
pub struct MockTwilio {
    state: Arc<MockState>,
    addr: SocketAddr,
}

struct MockState {
    config: MockConfig,
    store: Mutex<Store>,
    injected_failures: AtomicU64,
    lost_replies: AtomicU64,
    rejected: AtomicU64,
    list_requests: AtomicU64,
    fetch_requests: AtomicU64,
}

#[derive(Default)]
struct Store {
    messages: Vec<StoredMessage>,
    by_to: HashMap<String, Recipient>,
    by_sid: HashMap<String, usize>,
}

struct Recipient {
    first_arrival: Instant,
    count: u32,
    /// Indices into `Store::messages`.
    messages: Vec<usize>,
}

struct StoredMessage {
    sid: String,
    to: String,
    from: String,
    body: String,
    created: DateTime<Utc>,
    /// When the create request arrived.
    arrived: Instant,
}

/// What the mock saw, as the bench needs it for its report.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Per recipient: arrival instant of the first accepted message, and how many
    /// messages were accepted for it.
    pub recipients: HashMap<String, (Instant, u32)>,
    /// Accepted messages per `From` value.
    pub senders: HashMap<String, u64>,
    /// When each accepted message arrived, per `From` value, in order.
    pub arrivals_by_sender: HashMap<String, Vec<Instant>>,
    pub accepted: u64,
    pub injected_failures: u64,
    /// Accepted messages whose reply was replaced by a `500`.
    pub lost_replies: u64,
    /// Requests answered 400/401/404 (bad auth, missing parameters, ...).
    pub rejected: u64,
    pub list_requests: u64,
    pub fetch_requests: u64,
}

impl MockTwilio {
    pub async fn start(config: MockConfig) -> anyhow::Result<Self> {
        let state = Arc::new(MockState {
            config,
            store: Mutex::new(Store::default()),
            injected_failures: AtomicU64::new(0),
            lost_replies: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            list_requests: AtomicU64::new(0),
            fetch_requests: AtomicU64::new(0),
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
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the mock Twilio API")?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("mock Twilio API stopped: {err}");
            }
        });
        Ok(Self { state, addr })
    }

    /// `http://127.0.0.1:PORT`, the value for `TWILIO_API_BASE`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many of `expected` have received at least one message.
    pub fn count_texted(&self, expected: &HashSet<String>) -> usize {
        let store = self.state.store.lock().unwrap();
        if store.by_to.len() <= expected.len() {
            store
                .by_to
                .keys()
                .filter(|to| expected.contains(*to))
                .count()
        } else {
            expected
                .iter()
                .filter(|to| store.by_to.contains_key(*to))
                .count()
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let store = self.state.store.lock().unwrap();
        let mut senders: HashMap<String, u64> = HashMap::new();
        let mut arrivals_by_sender: HashMap<String, Vec<Instant>> = HashMap::new();
        for message in &store.messages {
            *senders.entry(message.from.clone()).or_default() += 1;
            arrivals_by_sender
                .entry(message.from.clone())
                .or_default()
                .push(message.arrived);
        }
        for arrivals in arrivals_by_sender.values_mut() {
            arrivals.sort();
        }
        Snapshot {
            recipients: store
                .by_to
                .iter()
                .map(|(to, r)| (to.clone(), (r.first_arrival, r.count)))
                .collect(),
            senders,
            arrivals_by_sender,
            accepted: store.messages.len() as u64,
            injected_failures: self.state.injected_failures.load(Ordering::Relaxed),
            lost_replies: self.state.lost_replies.load(Ordering::Relaxed),
            rejected: self.state.rejected.load(Ordering::Relaxed),
            list_requests: self.state.list_requests.load(Ordering::Relaxed),
            fetch_requests: self.state.fetch_requests.load(Ordering::Relaxed),
        }
    }
}

// ---------------------------------------------------------------------------
// Handlers

async fn create_message(
    State(state): State<Arc<MockState>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let response = state.create(&account_sid, &headers, &body, arrived);
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    response
}

async fn list_messages(
    State(state): State<Arc<MockState>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    state.list_requests.fetch_add(1, Ordering::Relaxed);
    let response = match state.authorize(&headers, &account_sid) {
        None => state.list(&account_sid, query.as_deref().unwrap_or("")),
        Some(rejection) => rejection,
    };
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    response
}

async fn fetch_message(
    State(state): State<Arc<MockState>>,
    Path((account_sid, message_sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    state.fetch_requests.fetch_add(1, Ordering::Relaxed);
    if let Some(rejection) = state.authorize(&headers, &account_sid) {
        return rejection;
    }
    let Some(sid) = message_sid.strip_suffix(".json") else {
        return state.reject(not_found(&format!(
            "/{API_VERSION}/Accounts/{account_sid}/Messages/{message_sid}"
        )));
    };
    let store = state.store.lock().unwrap();
    match store.by_sid.get(sid) {
        Some(&index) => {
            Json(message_json(&store.messages[index], &account_sid, true)).into_response()
        }
        None => {
            drop(store);
            state.reject(not_found(&format!(
                "/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"
            )))
        }
    }
}

impl MockState {
    fn reject(&self, response: Response) -> Response {
        self.rejected.fetch_add(1, Ordering::Relaxed);
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
        let expected = format!("{}:{}", self.config.account_sid, self.config.auth_token);
        if credentials.as_deref() != Some(expected.as_str()) {
            let mut response =
                twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate".to_string());
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Twilio API\""),
            );
            return Some(self.reject(response));
        }
        if path_account != self.config.account_sid {
            return Some(self.reject(not_found(&format!(
                "/{API_VERSION}/Accounts/{path_account}/Messages.json"
            ))));
        }
        None
    }

    fn create(
        &self,
        account_sid: &str,
        headers: &HeaderMap,
        body: &[u8],
        arrived: Instant,
    ) -> Response {
        if let Some(rejection) = self.authorize(headers, account_sid) {
            return rejection;
        }
        let params: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        let param = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let Some(to) = param("To") else {
            return self.reject(bad_request(21604, "A 'To' phone number is required."));
        };
        if !is_e164(to) {
            return self.reject(bad_request(
                21211,
                &format!("Invalid 'To' Phone Number: {to}"),
            ));
        }
        let Some(from) = param("From").or(param("MessagingServiceSid")) else {
            return self.reject(bad_request(21603, "A 'From' phone number is required."));
        };
        let Some(text) = param("Body") else {
            return self.reject(bad_request(21602, "Message body is required."));
        };

        if self.config.fail_rate > 0.0 && rand::rng().random_bool(self.config.fail_rate.min(1.0)) {
            self.injected_failures.fetch_add(1, Ordering::Relaxed);
            return injected_failure();
        }

        let message = StoredMessage {
            sid: new_sid("SM"),
            to: to.to_string(),
            from: from.to_string(),
            body: text.to_string(),
            created: Utc::now(),
            arrived,
        };
        let json =
            serde_json::to_vec(&message_json(&message, account_sid, false)).expect("serializable");

        let mut store = self.store.lock().unwrap();
        let index = store.messages.len();
        store.by_sid.insert(message.sid.clone(), index);
        let recipient = store.by_to.entry(message.to.clone()).or_insert(Recipient {
            first_arrival: arrived,
            count: 0,
            messages: Vec::new(),
        });
        recipient.count += 1;
        recipient.messages.push(index);
        store.messages.push(message);
        drop(store);

        if self.config.lost_reply_rate > 0.0
            && rand::rng().random_bool(self.config.lost_reply_rate.min(1.0))
        {
            self.lost_replies.fetch_add(1, Ordering::Relaxed);
            return internal_error();
        }
        (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response()
    }

    fn list(&self, account_sid: &str, query: &str) -> Response {
        let filter = match ListFilter::parse(query) {
            Ok(filter) => filter,
            Err(message) => return self.reject(bad_request(20001, &message)),
        };
        let store = self.store.lock().unwrap();
        // Newest first, like Twilio.
        let candidates: Vec<&StoredMessage> = match &filter.to {
            Some(to) => store
                .by_to
                .get(to)
                .map(|r| {
                    r.messages
                        .iter()
                        .rev()
                        .map(|&i| &store.messages[i])
                        .collect()
                })
                .unwrap_or_default(),
            None => store.messages.iter().rev().collect(),
        };
        let matching: Vec<&StoredMessage> = candidates
            .into_iter()
            .filter(|m| filter.matches(m))
            .collect();

        let start = filter.page * filter.page_size;
        let page: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(filter.page_size)
            .map(|m| {
                serde_json::to_value(message_json(m, account_sid, true)).expect("serializable")
            })
            .collect();
        let has_more = matching.len() > start + page.len();
        drop(store);

        let base = format!("/{API_VERSION}/Accounts/{account_sid}/Messages.json");
        let page_uri = |page: usize| format!("{base}?{}", filter.query_with_page(page));
        Json(json!({
            "messages": page,
            "page": filter.page,
            "page_size": filter.page_size,
            "start": start,
            "end": (start + page.len()).saturating_sub(1),
            "uri": page_uri(filter.page),
            "first_page_uri": page_uri(0),
            "previous_page_uri": if filter.page > 0 { Value::from(page_uri(filter.page - 1)) } else { Value::Null },
            "next_page_uri": if has_more { Value::from(page_uri(filter.page + 1)) } else { Value::Null },
        }))
        .into_response()
    }
}

// ---------------------------------------------------------------------------
// List filtering

#[derive(Debug)]
struct ListFilter {
    to: Option<String>,
    from: Option<String>,
    /// Inclusive lower / upper bounds on the send time.
    sent_after: Option<DateTime<Utc>>,
    sent_before: Option<DateTime<Utc>>,
    page: usize,
    page_size: usize,
    /// The filter parameters, re-encoded for the paging URIs.
    echo: Vec<(String, String)>,
}

impl ListFilter {
    fn parse(query: &str) -> Result<Self, String> {
        let mut filter = ListFilter {
            to: None,
            from: None,
            sent_after: None,
            sent_before: None,
            page: 0,
            page_size: 50,
            echo: Vec::new(),
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            // `DateSent>=2024-01-01` arrives as key `DateSent>` + value `2024-01-01`
            // when the `=` is literal, or as key `DateSent>=` when it was encoded.
            let key = key.trim_end_matches('=');
            match key {
                "To" => filter.to = Some(value.to_string()),
                "From" => filter.from = Some(value.to_string()),
                "DateSent" => {
                    let (start, end) = parse_bound(&value)?;
                    filter.sent_after = Some(start);
                    filter.sent_before = Some(end);
                }
                "DateSent>" => filter.sent_after = Some(parse_bound(&value)?.0),
                "DateSent<" => filter.sent_before = Some(parse_bound(&value)?.1),
                "Page" => {
                    filter.page = value
                        .parse()
                        .map_err(|_| format!("Invalid Page: {value}"))?;
                    continue;
                }
                "PageSize" => {
                    let size: usize = value
                        .parse()
                        .map_err(|_| format!("Invalid PageSize: {value}"))?;
                    filter.page_size = size.clamp(1, 1000);
                    continue;
                }
                _ => continue, // PageToken and friends: ignored
            }
            filter.echo.push((key.to_string(), value.to_string()));
        }
        Ok(filter)
    }

    fn matches(&self, message: &StoredMessage) -> bool {
        self.to.as_ref().is_none_or(|to| *to == message.to)
            && self.from.as_ref().is_none_or(|from| *from == message.from)
            && self.sent_after.is_none_or(|t| message.created >= t)
            && self.sent_before.is_none_or(|t| message.created <= t)
    }

    fn query_with_page(&self, page: usize) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.echo {
            query.append_pair(key, value);
        }
        query.append_pair("PageSize", &self.page_size.to_string());
        query.append_pair("Page", &page.to_string());
        query.finish()
    }
}

/// A `DateSent` value is a day (`2024-05-01`, covering that whole UTC day) or
/// an RFC 3339 instant; returns the first and last instant it covers.
fn parse_bound(value: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), String> {
    let value = value.trim();
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let start = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        return Ok((
            start,
            start + TimeDelta::days(1) - TimeDelta::nanoseconds(1),
        ));
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| (t.to_utc(), t.to_utc()))
        .map_err(|_| format!("Invalid DateSent: {value}"))
}

// ---------------------------------------------------------------------------
// Response shapes

/// A Message resource as Twilio renders it. A struct rather than `json!`:
/// at thousands of sends a second the mock shares the cores with the
/// service it measures, and building a map per reply showed in profiles.
#[derive(Serialize)]
struct MessageJson<'a> {
    account_sid: &'a str,
    api_version: &'static str,
    body: &'a str,
    date_created: String,
    date_sent: Option<String>,
    date_updated: String,
    direction: &'static str,
    error_code: Option<u32>,
    error_message: Option<&'static str>,
    from: &'a str,
    messaging_service_sid: Option<&'static str>,
    num_media: &'static str,
    num_segments: String,
    price: Option<&'static str>,
    price_unit: &'static str,
    sid: &'a str,
    status: &'static str,
    subresource_uris: SubresourceUris,
    to: &'a str,
    uri: String,
}

#[derive(Serialize)]
struct SubresourceUris {
    media: String,
}

fn message_json<'a>(
    message: &'a StoredMessage,
    account_sid: &'a str,
    listed: bool,
) -> MessageJson<'a> {
    let base = format!(
        "/{API_VERSION}/Accounts/{account_sid}/Messages/{}",
        message.sid
    );
    let created = rfc2822(message.created);
    // A created message is `queued`; by the time anyone lists it, the mock
    // pretends the carrier took it.
    let (status, date_sent) = if listed {
        ("sent", Some(created.clone()))
    } else {
        ("queued", None)
    };
    MessageJson {
        account_sid,
        api_version: API_VERSION,
        body: &message.body,
        date_created: created.clone(),
        date_sent,
        date_updated: created,
        direction: "outbound-api",
        error_code: None,
        error_message: None,
        from: &message.from,
        messaging_service_sid: None,
        num_media: "0",
        num_segments: segments(&message.body).to_string(),
        price: None,
        price_unit: "USD",
        sid: &message.sid,
        status,
        subresource_uris: SubresourceUris {
            media: format!("{base}/Media.json"),
        },
        to: &message.to,
        uri: format!("{base}.json"),
    }
}

fn twilio_error(status: StatusCode, code: u32, message: String) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

fn bad_request(code: u32, message: &str) -> Response {
    twilio_error(StatusCode::BAD_REQUEST, code, message.to_string())
}

fn not_found(resource: &str) -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        format!("The requested resource {resource} was not found"),
    )
}

fn injected_failure() -> Response {
    if rand::rng().random_bool(0.5) {
        let mut response = twilio_error(
            StatusCode::TOO_MANY_REQUESTS,
            20429,
            "Too Many Requests".to_string(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    } else {
        internal_error()
    }
}

fn internal_error() -> Response {
    twilio_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        20500,
        "An internal server error has occurred".to_string(),
    )
}

/// `Thu, 24 Aug 2023 05:01:45 +0000`, as Twilio formats its dates.
fn rfc2822(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S %z").to_string()
}

/// Rough GSM-7 segment count (160 chars, 153 per part when concatenated).
fn segments(body: &str) -> usize {
    match body.chars().count() {
        0..=160 => 1,
        n => n.div_ceil(153),
    }
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// `PREFIX` + 32 lowercase hex digits, the shape of every Twilio SID.
pub fn new_sid(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::rng().random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(fail_rate: f64) -> MockConfig {
        MockConfig {
            account_sid: new_sid("AC"),
            auth_token: "secret-token".to_string(),
            fail_rate,
            lost_reply_rate: 0.0,
            latency: Duration::ZERO,
        }
    }

    fn messages_url(mock: &MockTwilio, account_sid: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
            mock.base_url()
        )
    }

    async fn send(
        client: &reqwest::Client,
        mock: &MockTwilio,
        cfg: &MockConfig,
        to: &str,
    ) -> reqwest::Response {
        client
            .post(messages_url(mock, &cfg.account_sid))
            .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
            .form(&[
                ("To", to),
                ("From", "+15125550100"),
                ("Body", "Sorry we missed your call!"),
                ("StatusCallback", "http://127.0.0.1:9/status"),
            ])
            .send()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn create_returns_twilio_shaped_message_and_records_it() {
        let cfg = config(0.0);
        let mock = MockTwilio::start(cfg.clone()).await.unwrap();
        let client = reqwest::Client::new();

        let response = send(&client, &mock, &cfg, "+12025550123").await;
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        let sid = body["sid"].as_str().unwrap();
        // Twilio's Message resource, every field, as a created message.
        let created = body["date_created"].as_str().unwrap();
        let uri = format!("/2010-04-01/Accounts/{}/Messages/{sid}", cfg.account_sid);
        let whole = json!({
            "account_sid": cfg.account_sid,
            "api_version": "2010-04-01",
            "body": "Sorry we missed your call!",
            "date_created": created,
            "date_sent": null,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": "+15125550100",
            "messaging_service_sid": null,
            "num_media": "0",
            "num_segments": "1",
            "price": null,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": { "media": format!("{uri}/Media.json") },
            "to": "+12025550123",
            "uri": format!("{uri}.json"),
        });
        assert_eq!(body, whole);
        assert_eq!(sid.len(), 34);
        assert!(sid.starts_with("SM"));
        assert!(sid[2..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(body["status"], "queued");
        assert_eq!(body["to"], "+12025550123");
        assert_eq!(body["from"], "+15125550100");
        assert_eq!(body["body"], "Sorry we missed your call!");
        assert_eq!(body["account_sid"], cfg.account_sid.as_str());
        assert_eq!(body["num_segments"], "1");
        assert_eq!(body["direction"], "outbound-api");
        assert_eq!(body["api_version"], "2010-04-01");
        assert!(body["error_code"].is_null());
        assert!(body["error_message"].is_null());
        assert_eq!(
            body["uri"],
            format!(
                "/2010-04-01/Accounts/{}/Messages/{sid}.json",
                cfg.account_sid
            )
        );
        DateTime::parse_from_rfc2822(body["date_created"].as_str().unwrap()).unwrap();

        send(&client, &mock, &cfg, "+12025550123").await;
        send(&client, &mock, &cfg, "+12025550124").await;
        let snapshot = mock.snapshot();
        assert_eq!(snapshot.accepted, 3);
        assert_eq!(snapshot.recipients["+12025550123"].1, 2);
        assert_eq!(snapshot.recipients["+12025550124"].1, 1);
        assert_eq!(snapshot.senders["+15125550100"], 3);
        let expected: HashSet<String> = ["+12025550123", "+19995550000"].map(String::from).into();
        assert_eq!(mock.count_texted(&expected), 1);

        // Fetch one.
        let fetched: Value = client
            .get(format!(
                "{}{}",
                mock.base_url(),
                body["uri"].as_str().unwrap()
            ))
            .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
            .send()
            .await
            .unwrap()
            .json_value()
            .await;
        // Fetched later, the carrier has it: sent, with a send date.
        let mut listed = whole.clone();
        listed["status"] = json!("sent");
        listed["date_sent"] = json!(created);
        assert_eq!(fetched, listed);
    }

    #[tokio::test]
    async fn wrong_credentials_get_401_in_twilio_error_shape() {
        let cfg = config(0.0);
        let mock = MockTwilio::start(cfg.clone()).await.unwrap();
        let response = reqwest::Client::new()
            .post(messages_url(&mock, &cfg.account_sid))
            .basic_auth(&cfg.account_sid, Some("wrong"))
            .form(&[
                ("To", "+12025550123"),
                ("From", "+15125550100"),
                ("Body", "hi"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let body = response.json_value().await;
        assert_eq!(body["code"], 20003);
        assert_eq!(body["status"], 401);
        assert_eq!(body["message"], "Authenticate");
        assert_eq!(
            body["more_info"],
            "https://www.twilio.com/docs/errors/20003"
        );

        let missing = reqwest::Client::new()
            .post(messages_url(&mock, &cfg.account_sid))
            .form(&[("To", "+12025550123")])
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 401);
        assert_eq!(mock.snapshot().accepted, 0);
        assert_eq!(mock.snapshot().rejected, 2);
    }

    #[tokio::test]
    async fn missing_parameters_get_400() {
        let cfg = config(0.0);
        let mock = MockTwilio::start(cfg.clone()).await.unwrap();
        let response = reqwest::Client::new()
            .post(messages_url(&mock, &cfg.account_sid))
            .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
            .form(&[("To", "+12025550123"), ("From", "+15125550100")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(response.json_value().await["code"], 21602);
    }

    #[tokio::test]
    async fn list_filters_by_to_from_and_date_sent() {
        let cfg = config(0.0);
        let mock = MockTwilio::start(cfg.clone()).await.unwrap();
        let client = reqwest::Client::new();
        for to in ["+12025550123", "+12025550123", "+12025550124"] {
            assert_eq!(send(&client, &mock, &cfg, to).await.status(), 201);
        }
        let today = Utc::now().format("%Y-%m-%d").to_string();
        let list = |query: String| {
            let client = client.clone();
            let url = format!("{}?{query}", messages_url(&mock, &cfg.account_sid));
            let cfg = cfg.clone();
            async move {
                client
                    .get(url)
                    .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
                    .send()
                    .await
                    .unwrap()
                    .json_value()
                    .await
            }
        };

        let page = list(format!(
            "To=%2B12025550123&From=%2B15125550100&DateSent>={today}"
        ))
        .await;
        assert_eq!(page["messages"].as_array().unwrap().len(), 2);
        assert_eq!(page["page"], 0);
        assert_eq!(page["page_size"], 50);
        assert!(page["next_page_uri"].is_null());
        assert_eq!(page["messages"][0]["status"], "sent");
        assert_eq!(page["messages"][0]["to"], "+12025550123");

        // Encoded `>=` and an RFC 3339 instant in the future: nothing yet.
        let later = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
        let page = list(format!(
            "To=%2B12025550123&DateSent%3E%3D={}",
            later.replace('+', "%2B")
        ))
        .await;
        assert_eq!(page["messages"].as_array().unwrap().len(), 0);

        let page = list("From=%2B19995550000".to_string()).await;
        assert_eq!(page["messages"].as_array().unwrap().len(), 0);

        let page = list("PageSize=2".to_string()).await;
        assert_eq!(page["messages"].as_array().unwrap().len(), 2);
        assert!(page["next_page_uri"].as_str().unwrap().contains("Page=1"));
        assert_eq!(mock.snapshot().list_requests, 4);
    }

    #[tokio::test]
    async fn fail_rate_injects_500_or_429_with_retry_after() {
        let cfg = config(1.0);
        let mock = MockTwilio::start(cfg.clone()).await.unwrap();
        let client = reqwest::Client::new();
        for _ in 0..20 {
            let response = send(&client, &mock, &cfg, "+12025550123").await;
            match response.status().as_u16() {
                429 => assert_eq!(response.headers()[header::RETRY_AFTER], "1"),
                500 => {}
                other => panic!("unexpected status {other}"),
            }
        }
        let snapshot = mock.snapshot();
        assert_eq!(snapshot.accepted, 0);
        assert_eq!(snapshot.injected_failures, 20);
    }

    #[tokio::test]
    async fn lost_replies_are_recorded_and_listed() {
        let cfg = MockConfig {
            lost_reply_rate: 1.0,
            ..config(0.0)
        };
        let mock = MockTwilio::start(cfg.clone()).await.unwrap();
        let client = reqwest::Client::new();
        assert_eq!(
            send(&client, &mock, &cfg, "+12025550123").await.status(),
            500
        );
        let snapshot = mock.snapshot();
        assert_eq!((snapshot.accepted, snapshot.lost_replies), (1, 1));
        let list = client
            .get(format!(
                "{}?To=%2B12025550123",
                messages_url(&mock, &cfg.account_sid)
            ))
            .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
            .send()
            .await
            .unwrap()
            .json_value()
            .await;
        assert_eq!(list["messages"].as_array().unwrap().len(), 1);
    }

    /// `reqwest` is built without its `json` feature; parse by hand.
    trait JsonValue {
        async fn json_value(self) -> Value;
    }

    impl JsonValue for reqwest::Response {
        async fn json_value(self) -> Value {
            serde_json::from_str(&self.text().await.unwrap()).unwrap()
        }
    }
}
