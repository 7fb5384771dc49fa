//! The admin JSON API for owners and dispatchers (`/api/v1`, bearer token).

use super::error::ApiError;
use super::AppState;
use crate::domain::LeadStatus;
use crate::shell::office::{CallAttempt, LeadUpdate, OfficeError, OfficeText};
use crate::store::LeadFilter;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

pub(crate) fn authorize(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &s.admin_token else {
        return Err(ApiError::Unauthorized);
    };
    // The scheme is case-insensitive (RFC 9110), "bearer x" included.
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or("");
    // Compared as SHA-256 digests, in constant time: equal lengths always,
    // so neither the token's content nor its length leaks through timing.
    use sha2::{Digest, Sha256};
    let (want, got) = (
        Sha256::digest(expected.expose_secret().as_bytes()),
        Sha256::digest(given.as_bytes()),
    );
    if bool::from(want.as_slice().ct_eq(got.as_slice())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadQuery {
    status: Option<String>,
    business: Option<String>,
    caller: Option<String>,
    tracking_number: Option<String>,
    /// A source label from the config (`sources`): its tracking numbers.
    campaign: Option<String>,
    intent: Option<String>,
    owner: Option<String>,
    /// Only leads at least this old (first call), e.g. waiting > 15 min.
    min_age_minutes: Option<i64>,
    /// Only leads at most this old.
    max_age_minutes: Option<i64>,
    /// The next page: leads older than this id (the last one of a page;
    /// the answer's `next_before` says it).
    before: Option<i64>,
    limit: Option<i64>,
}

/// The queue: leads, newest first, with filters a dispatcher works by.
pub async fn list_leads(
    State(s): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<LeadQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let status = q
        .status
        .as_deref()
        .map(|v| v.parse::<LeadStatus>())
        .transpose()
        .map_err(ApiError::BadRequest)?;
    if let Some(i) = &q.intent {
        if !crate::core::classify::Intent::ALL
            .iter()
            .any(|x| x.as_str() == i)
        {
            return Err(ApiError::BadRequest(format!(
                "intent {i:?} is not one of opt_out, opt_in, help, emergency, booking, pricing, not_interested, other"
            )));
        }
    }
    // A number in a query string: an unescaped "+" arrives as a space
    // ("?caller=+1512..." is "?caller= 1512..."). Read it as meant, then
    // insist on E.164, so a filter never silently matches nothing.
    let number = |raw: &Option<String>, name: &str| -> Result<Option<String>, ApiError> {
        let Some(raw) = raw else { return Ok(None) };
        let fixed = match raw.strip_prefix(' ') {
            Some(rest) if !rest.starts_with(' ') => format!("+{rest}"),
            _ => raw.clone(),
        };
        crate::domain::PhoneNumber::parse(&fixed)
            .map(|p| Some(p.to_string()))
            .map_err(|e| {
                ApiError::BadRequest(format!(
                    "{name} {raw:?} is not an E.164 number ({e}); write it like %2B15125550147"
                ))
            })
    };
    let caller = number(&q.caller, "caller")?;
    let tracking_number = number(&q.tracking_number, "tracking_number")?;
    if let Some(l) = q.limit {
        if !(1..=1000).contains(&l) {
            return Err(ApiError::BadRequest(format!(
                "limit {l} must be between 1 and 1000 (newest first)"
            )));
        }
    }
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::BadRequest(
            "before must be a lead id (1 or more): the last id of the previous page".into(),
        ));
    }
    if let (Some(min), Some(max)) = (q.min_age_minutes, q.max_age_minutes) {
        if min > max {
            return Err(ApiError::BadRequest(format!(
                "min_age_minutes ({min}) is more than max_age_minutes ({max}): nothing can match"
            )));
        }
    }
    let config = &s.shell.config;
    let tracking_numbers = match (&tracking_number, &q.campaign) {
        (Some(n), None) => Some(vec![n.clone()]),
        (None, Some(c)) => {
            let numbers: Vec<String> = config
                .businesses
                .iter()
                .filter(|b| q.business.as_ref().is_none_or(|id| *id == b.id))
                .flat_map(|b| b.sources.iter())
                .filter(|(_, label)| label.eq_ignore_ascii_case(c))
                .map(|(n, _)| n.clone())
                .collect();
            if numbers.is_empty() {
                return Err(ApiError::BadRequest(format!(
                    "no tracking number is labelled {c:?} in the config's `sources`"
                )));
            }
            Some(numbers)
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "filter by tracking_number or by campaign, not both".into(),
            ))
        }
        (None, None) => None,
    };
    let now = s.shell.clock.now();
    // Ten years of minutes is older than any lead; beyond it the date math
    // would overflow.
    const MAX_MINUTES: i64 = 10 * 366 * 24 * 60;
    let minutes = |m: Option<i64>, name: &str| match m {
        Some(m) if !(0..=MAX_MINUTES).contains(&m) => Err(ApiError::BadRequest(format!(
            "{name} must be between 0 and {MAX_MINUTES}"
        ))),
        Some(m) => Ok(Some(now - chrono::Duration::minutes(m))),
        None => Ok(None),
    };
    let until = minutes(q.min_age_minutes, "min_age_minutes")?;
    let since = minutes(q.max_age_minutes, "max_age_minutes")?;
    let leads = s
        .shell
        .store
        .leads(&LeadFilter {
            business_id: q.business,
            status,
            caller,
            tracking_numbers,
            intent: q.intent,
            owner: q.owner,
            since,
            until,
            before_id: q.before,
            limit: q.limit,
        })
        .await?;
    // A full page may have more behind it: where the next one starts.
    let limit = q.limit.unwrap_or(100);
    let next_before = (leads.len() as i64 == limit)
        .then(|| leads.last().map(|l| l.id))
        .flatten();
    let leads: Vec<serde_json::Value> = leads
        .iter()
        .map(|l| {
            let mut v = serde_json::to_value(l).expect("a lead serialises");
            v["age_minutes"] = (now - l.first_call_at).num_minutes().into();
            v["source"] = config
                .business(&l.business_id)
                .and_then(|b| b.source(&l.tracking_number))
                .into();
            v
        })
        .collect();
    Ok(Json(
        serde_json::json!({ "leads": leads, "next_before": next_before }),
    ))
}

/// One lead: the whole conversation, its timeline and the job packet.
pub async fn lead_detail(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let id = lead_id(id)?;
    let store = &s.shell.store;
    let lead = store
        .lead(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no lead {id}")))?;
    let calls = store.calls_for_lead(id).await?;
    let messages = store.messages_for_lead(id).await?;
    let events = store.lead_events(id).await?;
    let (transcripts, texts) = store.what_they_said(id).await?;
    let packet = s.shell.config.business(&lead.business_id).map(|b| {
        crate::core::packet::Packet::build(&crate::core::packet::PacketInput {
            business: b,
            lead: &lead,
            transcripts: &transcripts,
            texts: &texts,
            unreachable: events.iter().any(|e| e.kind == "unreachable"),
        })
    });
    let escalation = store.escalation_for_lead(id).await?.map(|(eid, e)| {
        serde_json::json!({
            "id": eid,
            "status": e.status,
            "hazard": e.hazard,
            "chain": e.chain,
            "step": e.step,
            "pages": e.pages,
            "acked_by": e.acked_by,
            "acked_at": e.acked_at,
            "started_at": e.started_at,
            "ack_latency_seconds": e.ack_latency().map(|d| d.num_seconds()),
        })
    });
    Ok(Json(serde_json::json!({
        "lead": lead,
        "escalation": escalation,
        "packet": packet,
        "packet_text": packet.as_ref().map(|p| p.summary("Job packet")),
        "calls": calls,
        "messages": messages,
        "events": events,
    })))
}

/// The office changes a lead: owner, status, disposition + reason, note.
pub async fn update_lead(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<LeadUpdate>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let id = lead_id(id)?;
    let u = json_body(body)?;
    let lead = s.shell.update_lead_by_office(id, &u).await?;
    Ok(Json(serde_json::json!({ "lead": lead })))
}

/// The office logs a call-back attempt.
pub async fn log_attempt(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<CallAttempt>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    authorize(&s, &headers)?;
    let id = lead_id(id)?;
    let a = json_body(body)?;
    let lead = s.shell.log_call_attempt(id, &a).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "lead": lead })),
    ))
}

/// `POST /api/v1/leads/{id}/texts`: the office texts the customer. 202:
/// queued (it leaves through the gate, in its number's line); 409 with a
/// reason when the customer cannot be texted.
pub async fn text_lead(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<OfficeText>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    authorize(&s, &headers)?;
    let id = lead_id(id)?;
    let t = json_body(body)?;
    let message_id = s.shell.text_from_office(id, &t).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "message_id": message_id, "status": "queued" })),
    ))
}

/// The lead id of a `/api/v1/leads/{id}…` path, read after the token is
/// checked (so a stranger's malformed path gets the same 401 as any other
/// request of theirs). The answer does not quote the path back.
fn lead_id(id: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    match id {
        Ok(Path(id)) => Ok(id),
        Err(_) => Err(ApiError::BadRequest(
            "the lead id in the path must be a whole number, e.g. /api/v1/leads/42".into(),
        )),
    }
}

/// A JSON body: a body over `max_body_bytes` is a 413 that says so (not a
/// 400 about its syntax), anything else unreadable a 400 saying why.
fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match body {
        Ok(Json(v)) => Ok(v),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::TooLarge(
            "the request body is over the max_body_bytes limit in ringback.toml".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(e.body_text())),
    }
}

impl From<OfficeError> for ApiError {
    fn from(e: OfficeError) -> Self {
        match e {
            OfficeError::NotFound(id) => ApiError::NotFound(format!("no lead {id}")),
            OfficeError::Invalid(m) => ApiError::BadRequest(m),
            OfficeError::Conflict(c) => ApiError::Conflict(c),
            OfficeError::Store(e) => ApiError::Store(e),
        }
    }
}
