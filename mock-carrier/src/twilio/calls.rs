//! Twilio's Calls API: placing a call (`POST Calls.json`) with `Twiml`
//! or `Url`, recorded on the [`Carrier`](crate::Carrier).
//!
//! Apart from the Messages API because it shares nothing with it but the
//! account check and the error shape.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;

use super::{bad_request, error_message, new_sid, refusal, rfc2822, Api, API_VERSION};
use crate::carrier::{is_e164, Placed, Refusal};

pub(super) async fn create_call(
    State(api): State<Arc<Api>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = api.call(&account_sid, &headers, &body);
    api.carrier.latency().await;
    response
}

impl Api {
    fn call(&self, account_sid: &str, headers: &HeaderMap, body: &[u8]) -> Response {
        if let Some(rejection) = self.authorize(headers, account_sid) {
            return rejection;
        }
        let params: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        let param = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let Some(to) = param("To") else {
            return self.reject(bad_request(21201, error_message(21201)));
        };
        if !is_e164(to) {
            return self.reject(refusal(Refusal::InvalidNumber, Some(to)));
        }
        let Some(from) = param("From") else {
            return self.reject(bad_request(21213, error_message(21213)));
        };
        let Some(instructions) = param("Twiml").or(param("Url")) else {
            return self.reject(bad_request(21205, error_message(21205)));
        };
        let placed = Placed {
            sid: new_sid("CA"),
            to: to.to_string(),
            from: from.to_string(),
            instructions: instructions.to_string(),
            at: std::time::Instant::now(),
        };
        self.carrier.place_call(placed.clone());
        let created = rfc2822(Utc::now());
        let uri = format!("/{API_VERSION}/Accounts/{account_sid}/Calls/{}", placed.sid);
        (
            StatusCode::CREATED,
            Json(json!({
                "sid": placed.sid,
                "account_sid": account_sid,
                "api_version": API_VERSION,
                "to": placed.to,
                "to_formatted": placed.to,
                "from": placed.from,
                "from_formatted": placed.from,
                "status": "queued",
                "direction": "outbound-api",
                "date_created": created,
                "date_updated": created,
                "start_time": null,
                "end_time": null,
                "duration": null,
                "price": null,
                "price_unit": "USD",
                "answered_by": null,
                "parent_call_sid": null,
                "uri": format!("{uri}.json"),
                "subresource_uris": {
                    "recordings": format!("{uri}/Recordings.json"),
                    "notifications": format!("{uri}/Notifications.json"),
                },
            })),
        )
            .into_response()
    }
}
