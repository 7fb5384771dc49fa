//! The admin JSON API for owners and dispatchers (`/api/v1`, bearer token).

use super::error::ApiError;
use super::AppState;
use crate::domain::LeadStatus;
use crate::store::LeadFilter;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

pub(crate) fn authorize(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &s.admin_token else {
        return Err(ApiError::Unauthorized);
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let want = expected.expose_secret().as_bytes();
    if given.len() == want.len() && bool::from(given.as_bytes().ct_eq(want)) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

#[derive(Debug, Deserialize)]
pub struct LeadQuery {
    status: Option<String>,
    business: Option<String>,
    caller: Option<String>,
    tracking_number: Option<String>,
    limit: Option<i64>,
}

pub async fn list_leads(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LeadQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let status = q
        .status
        .as_deref()
        .map(|v| v.parse::<LeadStatus>())
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let leads = s
        .core
        .store
        .leads(&LeadFilter {
            business_id: q.business,
            status,
            caller: q.caller,
            tracking_number: q.tracking_number,
            since: None,
            limit: q.limit,
        })
        .await?;
    Ok(Json(serde_json::json!({ "leads": leads })))
}

pub async fn lead_detail(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let store = &s.core.store;
    let lead = store
        .lead(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no lead {id}")))?;
    let calls = store.calls_for_lead(id).await?;
    let messages = store.messages_for_lead(id).await?;
    let events = store.lead_events(id).await?;
    Ok(Json(
        serde_json::json!({ "lead": lead, "calls": calls, "messages": messages, "events": events }),
    ))
}
