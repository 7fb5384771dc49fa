//! `GET /api/v1/senders`: every sending number in the config, how it may
//! send (A2P 10DLC campaign / toll-free), its rate, and whether carriers
//! have put it at risk (30034, 30007, Telnyx spam blocks) — with the last
//! error code and time. Bearer `RINGBACK_ADMIN_TOKEN`, like the rest of
//! `/api/v1`.

use super::admin::authorize;
use super::error::ApiError;
use super::AppState;
use crate::config::{Config, Registration};
use crate::domain::SendClass;
use crate::metrics::{self, Gauge};
use crate::store::{LineDepth, SenderHealthRow};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub async fn list_senders(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorize(&s, &headers)?;
    let now = s.shell.clock.now();
    let health = s.shell.store.sender_health().await?;
    let lines = s.shell.store.line_depths(now).await?;
    Ok(Json(
        serde_json::json!({ "senders": senders_json(&s.shell.config, &health, &lines, now) }),
    ))
}

/// A number whose oldest instant text has waited longer than this gets
/// advice: callers are waiting for a text they expect within seconds.
const SLOW_LINE_SECONDS: f64 = 10.0;

/// The configured senders joined with what carriers said about them and
/// the texts waiting in their lines.
pub fn senders_json(
    config: &Config,
    health: &[SenderHealthRow],
    lines: &[LineDepth],
    now: DateTime<Utc>,
) -> Vec<serde_json::Value> {
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
            let mine: Vec<&LineDepth> =
                lines.iter().filter(|l| l.sender == sender.number).collect();
            let waiting: i64 = mine.iter().map(|l| l.waiting).sum();
            let queue: serde_json::Map<String, serde_json::Value> = mine
                .iter()
                .map(|l| {
                    let oldest = (now - l.oldest_due).num_milliseconds().max(0) as f64 / 1000.0;
                    (
                        l.class.as_str().to_string(),
                        serde_json::json!({ "waiting": l.waiting, "oldest_wait_seconds": oldest }),
                    )
                })
                .collect();
            let instant_wait = mine
                .iter()
                .filter(|l| l.class == SendClass::Instant)
                .map(|l| (now - l.oldest_due).num_milliseconds().max(0) as f64 / 1000.0)
                .fold(0.0, f64::max);
            let advice = (instant_wait > SLOW_LINE_SECONDS).then(|| {
                format!(
                    "instant texts wait {instant_wait:.0} s on this number: add a number or raise its throughput (mps = {})",
                    sender.mps
                )
            });
            out.push(serde_json::json!({
                "queue": queue,
                "waiting": waiting,
                "drain_seconds": waiting as f64 / sender.mps.max(f64::MIN_POSITIVE),
                "advice": advice,
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

/// `ringback_sender_at_risk{business,sender}`: 1 or 0 for every
/// configured sender.
pub fn at_risk_gauge(config: &Config, health: &[SenderHealthRow]) -> Gauge<'static> {
    Gauge {
        name: "ringback_sender_at_risk",
        help: "Sending numbers carriers flagged (30034, 30007, ...): 1 at risk, 0 fine.",
        values: senders_json(config, health, &[], chrono::Utc::now())
            .iter()
            .map(|v| {
                let l = metrics::labels(&[
                    ("business", v["business"].as_str().unwrap_or("")),
                    ("sender", v["number"].as_str().unwrap_or("")),
                ]);
                (l, if v["at_risk"] == true { 1.0 } else { 0.0 })
            })
            .collect(),
    }
}
