//! The JSON events of `POST /webhooks/telnyx`, parsed strictly and handed
//! to the shell: `message.received` (a customer's text), `message.sent` /
//! `message.finalized` (delivery updates), `call.hangup` (a call a Call
//! Control app fronts). Other events are answered 200 and left alone, so
//! Telnyx does not retry what we do not use.

use super::check_signature;
use crate::domain::{mask, MessageStatus, MissedTrigger};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::shell::inbound::{AnswerSource, AnsweredCall, InboundSms, MissedReport, Received};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::{Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// One Telnyx event.
pub async fn events(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let r = handle(&s, &headers, &body).await;
    let kind = "telnyx";
    match r {
        Ok(r) => {
            s.shell.metrics.inc(
                "ringback_webhooks_total",
                &[("kind", kind), ("outcome", "ok")],
            );
            r
        }
        Err(e) => {
            s.shell.metrics.inc(
                "ringback_webhooks_total",
                &[("kind", kind), ("outcome", e.outcome())],
            );
            if !matches!(e, ApiError::Store(_)) {
                tracing::warn!(kind, status = e.status().as_u16(), error = %e, "webhook rejected");
            }
            e.into_response()
        }
    }
}

async fn handle(s: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<Response, ApiError> {
    if !s.is_accepting() {
        return Err(ApiError::Unavailable("shutting down; please retry".into()));
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype.to_ascii_lowercase().starts_with("application/json") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "telnyx: expected Content-Type application/json, got {ctype:?}"
        )));
    }
    check_signature(s, headers, body)?;
    let envelope = parse(body)?;
    let ev = envelope.data;
    let raw = String::from_utf8_lossy(body);
    let rx = Received {
        dedup_key: format!("telnyx:event:{}", ev.id),
        kind: "telnyx",
        payload: &raw,
    };
    match ev.event_type.as_str() {
        "message.received" => {
            let p: MessagePayload = payload(ev.payload)?;
            let to = p.first_to()?;
            let b = business(s, to)?;
            let outcome = s
                .shell
                .inbound_sms(
                    &InboundSms {
                        business: b,
                        message_sid: &p.id,
                        from: &p.from.phone_number,
                        to,
                        body: p.text.as_deref().unwrap_or(""),
                    },
                    &rx,
                )
                .await?;
            tracing::info!(business = %b.id, from = %mask(&p.from.phone_number), ?outcome, "inbound text (telnyx)");
        }
        "message.sent" | "message.finalized" => {
            let p: MessagePayload = payload(ev.payload)?;
            let b = business(s, &p.from.phone_number)?;
            let status_raw = p.to.first().and_then(|t| t.status.as_deref()).unwrap_or(
                if ev.event_type == "message.sent" {
                    "sent"
                } else {
                    ""
                },
            );
            let status = delivery_status(status_raw)?;
            let code = p.errors.first().and_then(|e| e.code());
            let known = s
                .shell
                .delivery_status(&b.id, &p.id, status, code.as_deref(), &rx)
                .await?;
            if !known {
                tracing::info!(sid = %p.id, "delivery update repeated, or for a message not recorded (yet): kept for a second look");
            }
        }
        "call.hangup" => {
            let p: HangupPayload = payload(ev.payload)?;
            call_hangup(s, &p, &rx).await?;
        }
        other => {
            tracing::debug!(event_type = other, "Telnyx event not used; acknowledged");
        }
    }
    Ok(StatusCode::OK.into_response())
}

/// The envelope, after a pass that refuses a key given twice at any depth
/// (a second `to` or `text` would leave it to the parser which one counts).
fn parse(body: &[u8]) -> Result<Envelope, ApiError> {
    serde_json::from_slice::<NoDuplicates>(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    serde_json::from_slice::<Envelope>(body)
        .map_err(|e| ApiError::BadRequest(format!("not a Telnyx event: {e}")))
}

fn payload<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::BadRequest(format!("event payload: {e}")))
}

fn business<'a>(s: &'a AppState, number: &str) -> Result<&'a crate::config::Business, ApiError> {
    s.shell.config.business_for(number).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no business owns the number {number}; add it to a business's `numbers` in ringback.toml"
        ))
    })
}

/// A Telnyx per-recipient status, in our terms (specs/providers.md §4.3).
fn delivery_status(s: &str) -> Result<MessageStatus, ApiError> {
    Ok(match s {
        "queued" | "sending" => MessageStatus::Sending,
        "sent" | "delivery_unconfirmed" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "delivery_failed" | "expired" => MessageStatus::Undelivered,
        "sending_failed" => MessageStatus::Failed,
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown message status {other:?}"
            )))
        }
    })
}

/// `call.hangup` of an incoming call a Call Control app fronts: the
/// causes the spec lists as unanswered are a missed call; a normal
/// clearing is a call someone took, for as long as it lasted.
async fn call_hangup(s: &AppState, p: &HangupPayload, rx: &Received<'_>) -> Result<(), ApiError> {
    if p.direction.as_deref() != Some("incoming") {
        return Ok(());
    }
    let b = business(s, &p.to)?;
    let call_id = p.call_session_id.as_deref().unwrap_or(&p.call_control_id);
    match p.hangup_cause.as_deref().unwrap_or("") {
        "no_answer" | "timeout" | "user_busy" | "originator_cancel" | "call_rejected" => {
            let report = MissedReport {
                business: b,
                call_sid: call_id,
                caller: &p.from,
                tracking_number: &p.to,
                trigger: MissedTrigger::StatusCallback,
                recording_url: None,
                transcript: None,
            };
            let outcome = s.shell.missed_call(&report, rx).await?;
            tracing::info!(business = %b.id, caller = %mask(&p.from), cause = ?p.hangup_cause, ?outcome, "missed call (telnyx call.hangup)");
        }
        "normal_clearing" => {
            let seconds = match (&p.start_time, &p.end_time) {
                (Some(a), Some(b)) => chrono::DateTime::parse_from_rfc3339(b)
                    .ok()
                    .zip(chrono::DateTime::parse_from_rfc3339(a).ok())
                    .map_or(0, |(e, s)| (e - s).num_seconds().max(0)),
                _ => 0,
            };
            s.shell
                .call_answered(
                    &AnsweredCall {
                        business: b,
                        call_sid: call_id,
                        caller: &p.from,
                        to: &p.to,
                        seconds,
                        source: AnswerSource::StatusCallback,
                    },
                    rx,
                )
                .await?;
        }
        _ => {}
    }
    Ok(())
}

#[derive(Deserialize)]
struct Envelope {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    id: Id,
    event_type: String,
    #[serde(default)]
    payload: serde_json::Value,
}

/// An id: at most 64 letters, digits, `-`, `_`, `:` (never a 10 KB blob
/// or control characters in our keys and logs).
struct Id(String);

impl std::ops::Deref for Id {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty()
            || s.len() > 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
        {
            return Err(D::Error::custom(format!(
                "an id must be 1 to 64 letters, digits, '-', '_' or ':' ({} characters given)",
                s.chars().count()
            )));
        }
        Ok(Id(s))
    }
}

#[derive(Deserialize)]
struct MessagePayload {
    id: Id,
    from: Party,
    #[serde(default)]
    to: Vec<Party>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

impl MessagePayload {
    fn first_to(&self) -> Result<&str, ApiError> {
        self.to
            .first()
            .map(|t| t.phone_number.as_str())
            .ok_or_else(|| ApiError::BadRequest("event payload: `to` is empty".into()))
    }
}

#[derive(Deserialize)]
struct Party {
    phone_number: String,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: Option<serde_json::Value>,
}

impl ErrorItem {
    fn code(&self) -> Option<String> {
        match self.code.as_ref()? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct HangupPayload {
    call_control_id: String,
    #[serde(default)]
    call_session_id: Option<String>,
    from: String,
    to: String,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    hangup_cause: Option<String>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    end_time: Option<String>,
}

/// Any JSON value, refused if an object gives a key twice.
struct NoDuplicates;

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            if !seen.insert(k.clone()) {
                return Err(A::Error::custom(format!("key {k:?} is given twice")));
            }
            map.next_value::<NoDuplicates>()?;
        }
        Ok(NoDuplicates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_json_is_refused_with_the_reason() {
        let dup = br#"{"data":{"id":"e1","event_type":"message.received","payload":{"text":"hi","text":"STOP"}}}"#;
        let e = parse(dup).err().unwrap().to_string();
        assert!(e.contains("\"text\" is given twice"), "{e}");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = parse(deep.as_bytes()).err().unwrap().to_string();
        assert!(e.contains("recursion limit"), "{e}");
        let wrong = br#"{"data":{"id":12,"event_type":"message.received","payload":{}}}"#;
        assert!(parse(wrong).is_err());
        let long_id = format!(
            r#"{{"data":{{"id":"{}","event_type":"x","payload":{{}}}}}}"#,
            "a".repeat(65)
        );
        let e = parse(long_id.as_bytes()).err().unwrap().to_string();
        assert!(e.contains("1 to 64"), "{e}");
        let ok = br#"{"data":{"id":"b301ed3f-1490","event_type":"message.received","payload":{"from":{"phone_number":"+1"}}},"meta":{"attempt":1}}"#;
        assert_eq!(parse(ok).unwrap().data.event_type, "message.received");
    }

    #[test]
    fn statuses_map_to_ours() {
        assert_eq!(
            delivery_status("delivered").unwrap(),
            MessageStatus::Delivered
        );
        assert_eq!(
            delivery_status("delivery_failed").unwrap(),
            MessageStatus::Undelivered
        );
        assert_eq!(
            delivery_status("sending_failed").unwrap(),
            MessageStatus::Failed
        );
        assert_eq!(delivery_status("queued").unwrap(), MessageStatus::Sending);
        assert!(delivery_status("teleported").is_err());
    }
}
