//! Twilio's Messages API: sending (`POST Messages.json`), listing with
//! its filters and paging (`GET Messages.json`) and fetching one message,
//! and the Message resource they all render.
//!
//! Apart from the Calls API and the account checks in `twilio.rs` because
//! it is most of the mock and the part reconciliation reads.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::{
    bad_request, error, error_message, internal_error, new_sid, not_found, refusal, rfc2822, Api,
    API_VERSION,
};
use crate::carrier::{is_e164, Answer, InFlight, Outgoing, Refusal, Sent};

pub(super) async fn create_message(
    State(api): State<Arc<Api>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (response, in_flight) = api.create(&account_sid, &headers, &body).await;
    api.carrier.latency().await;
    drop(in_flight);
    response
}

pub(super) async fn list_messages(
    State(api): State<Arc<Api>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let response = match api.authorize(&headers, &account_sid) {
        Some(rejection) => rejection,
        None => {
            api.carrier.begin_list().await;
            api.list(&account_sid, query.as_deref().unwrap_or(""))
        }
    };
    api.carrier.latency().await;
    response
}

pub(super) async fn fetch_message(
    State(api): State<Arc<Api>>,
    Path((account_sid, message_sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    api.carrier.count_fetch();
    let response = match api.authorize(&headers, &account_sid) {
        Some(rejection) => rejection,
        None => {
            let found = message_sid
                .strip_suffix(".json")
                .and_then(|sid| api.carrier.message(sid));
            match found {
                Some(m) => Json(message_json(&m, &account_sid, true)).into_response(),
                None => api.reject(not_found(&format!(
                    "/{API_VERSION}/Accounts/{account_sid}/Messages/{message_sid}"
                ))),
            }
        }
    };
    api.carrier.latency().await;
    response
}

impl Api {
    async fn create(
        &self,
        account_sid: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (Response, Option<InFlight>) {
        if let Some(rejection) = self.authorize(headers, account_sid) {
            return (rejection, None);
        }
        let params: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        let param = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let Some(to) = param("To") else {
            return (self.reject(bad_request(21604, error_message(21604))), None);
        };
        if !is_e164(to) {
            return (self.reject(refusal(Refusal::InvalidNumber, Some(to))), None);
        }
        let Some(from) = param("From").or(param("MessagingServiceSid")) else {
            return (self.reject(bad_request(21603, error_message(21603))), None);
        };
        let Some(text) = param("Body") else {
            return (self.reject(bad_request(21602, error_message(21602))), None);
        };
        let in_flight = self.carrier.begin_send().await;
        let (answer, sent) = self.carrier.take_send(Outgoing {
            sid: new_sid("SM"),
            to: to.to_string(),
            from: from.to_string(),
            body: text.to_string(),
            status_callback: param("StatusCallback").map(str::to_string),
        });
        let response = match answer {
            Answer::Created => created(&sent, account_sid),
            Answer::Fail {
                status,
                code,
                retry_after,
            } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut r = error(status, code, error_message(code));
                if let Some(s) = retry_after {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(s));
                }
                r
            }
            Answer::Refused(why) => refusal(why, Some(&sent.to)),
            Answer::Throttled => {
                let mut r = error(StatusCode::TOO_MANY_REQUESTS, 20429, error_message(20429));
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            Answer::Unavailable | Answer::LostReply => internal_error(),
            Answer::Garbled => (StatusCode::CREATED, "<html>proxy error</html>").into_response(),
            Answer::Hang(d) => {
                tokio::time::sleep(d).await;
                created(&sent, account_sid)
            }
        };
        (response, Some(in_flight))
    }

    fn list(&self, account_sid: &str, query: &str) -> Response {
        let filter = match ListFilter::parse(query) {
            Ok(filter) => filter,
            Err(message) => return self.reject(bad_request(20001, &message)),
        };
        let matching = self
            .carrier
            .messages_newest_first(filter.to.as_deref(), |m| filter.matches(m));
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

    fn matches(&self, message: &Sent) -> bool {
        self.to.as_ref().is_none_or(|to| *to == message.to)
            && self.from.as_ref().is_none_or(|from| *from == message.from)
            && self.sent_after.is_none_or(|t| message.date_created >= t)
            && self.sent_before.is_none_or(|t| message.date_created <= t)
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
/// service the bench measures, and building a map per reply showed in
/// profiles.
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

fn message_json<'a>(message: &'a Sent, account_sid: &'a str, listed: bool) -> MessageJson<'a> {
    let base = format!(
        "/{API_VERSION}/Accounts/{account_sid}/Messages/{}",
        message.sid
    );
    let created = rfc2822(message.date_created);
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

fn created(sent: &Sent, account_sid: &str) -> Response {
    let json = serde_json::to_vec(&message_json(sent, account_sid, false)).expect("serializable");
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        json,
    )
        .into_response()
}

/// Rough GSM-7 segment count (160 chars, 153 per part when concatenated).
fn segments(body: &str) -> usize {
    match body.chars().count() {
        0..=160 => 1,
        n => n.div_ceil(153),
    }
}
