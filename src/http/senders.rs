//! `GET /api/v1/senders`: every sending number in the config, how it may
//! send (A2P 10DLC campaign / toll-free), its rate, and whether carriers
//! have put it at risk (30034, 30007, Telnyx spam blocks) — with the last
//! error code and time. Bearer `RINGBACK_ADMIN_TOKEN`, like the rest of
//! `/api/v1`.

use super::admin::authorize;
use super::error::ApiError;
use super::AppState;
use crate::config::{Config, Registration};
use crate::store::SenderHealthRow;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;

pub async fn list_senders(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let health = s.shell.store.sender_health().await?;
    Ok(Json(
        serde_json::json!({ "senders": senders_json(&s.shell.config, &health) }),
    ))
}

/// The configured senders joined with what carriers said about them.
pub fn senders_json(config: &Config, health: &[SenderHealthRow]) -> Vec<serde_json::Value> {
    let by_number: HashMap<&str, &SenderHealthRow> =
        health.iter().map(|h| (h.sender.as_str(), h)).collect();
    let mut out = Vec::new();
    for b in &config.businesses {
        let mut numbers: Vec<_> = b.senders.values().collect();
        numbers.sort_by(|x, y| x.number.cmp(&y.number));
        for sender in numbers {
            let h = by_number.get(sender.number.as_str());
            let (registration, campaign_id) = match &sender.registration {
                Registration::TenDlc { campaign_id } => ("10dlc", Some(campaign_id.clone())),
                Registration::TollFree => ("toll_free", None),
                Registration::None => ("none", None),
            };
            out.push(serde_json::json!({
                "business": b.id,
                "number": sender.number,
                "registration": registration,
                "campaign_id": campaign_id,
                "status": sender.status.as_str(),
                "may_send": sender.may_send(),
                "mps": sender.mps,
                "at_risk": h.is_some_and(|h| h.at_risk),
                "last_error_code": h.and_then(|h| h.last_error_code.clone()),
                "last_error_at": h.and_then(|h| h.last_error_at),
                "error_count": h.map(|h| h.error_count).unwrap_or(0),
                "last_owner_alert_at": h.and_then(|h| h.last_alert_at),
            }));
        }
    }
    out
}

/// `/metrics` lines: `ringback_sender_at_risk{business,sender}` 1 or 0 for
/// every configured sender.
pub fn at_risk_gauges(config: &Config, health: &[SenderHealthRow]) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "# HELP ringback_sender_at_risk Sending numbers carriers flagged (30034, 30007, ...): 1 at risk, 0 fine.\n# TYPE ringback_sender_at_risk gauge\n",
    );
    for v in senders_json(config, health) {
        let _ = writeln!(
            out,
            "ringback_sender_at_risk{{business=\"{}\",sender=\"{}\"}} {}",
            v["business"].as_str().unwrap_or(""),
            v["number"].as_str().unwrap_or(""),
            if v["at_risk"] == true { 1 } else { 0 }
        );
    }
    out
}

/// `GET /metrics`: everything [`super::ops::metrics`] renders, followed by
/// the per-sender at-risk gauges (read from the database at scrape time).
pub async fn metrics(State(s): State<AppState>) -> Response {
    let (parts, body) = super::ops::metrics(State(s.clone()))
        .await
        .into_response()
        .into_parts();
    let mut text = axum::body::to_bytes(body, usize::MAX)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    match s.shell.store.sender_health().await {
        Ok(health) => text.extend_from_slice(at_risk_gauges(&s.shell.config, &health).as_bytes()),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read sender health"),
    }
    Response::from_parts(parts, Body::from(text))
}
