//! Twilio's messaging webhooks: an incoming text and the delivery status
//! of a text we sent.
//!
//! Apart from the request checking they share (`twilio/mod.rs`) and from
//! calls (`voice.rs`), so each file is one kind of traffic.

use super::{business, finish, received, verify, xml};
use crate::domain::{mask, MessageStatus};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::provider::twilio::twiml;
use crate::shell::inbound::InboundSms;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;

/// An incoming text.
pub async fn sms(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "sms";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let (sid, from, to) = (
            f.require("MessageSid")?,
            f.require("From")?,
            f.require("To")?,
        );
        let text = f.get("Body").unwrap_or("");
        let b = business(&s, to)?;
        let rx = received(KIND, format!("twilio:sms:{sid}"), &f);
        let outcome = s
            .shell
            .inbound_sms(
                &InboundSms {
                    business: b,
                    message_sid: sid,
                    from,
                    to,
                    body: text,
                },
                &rx,
            )
            .await?;
        tracing::info!(business = %b.id, from = %mask(from), ?outcome, "inbound text");
        Ok(xml(twiml::empty()))
    }
    .await;
    finish(&s, KIND, r)
}

/// Delivery status of a text we sent. Callbacks can arrive out of order; the
/// store never moves a message backwards.
pub async fn sms_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "sms_status";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let sid = f.require("MessageSid")?;
        let status_raw = f
            .get("MessageStatus")
            .or(f.get("SmsStatus"))
            .ok_or_else(|| {
                ApiError::BadRequest("missing required parameter `MessageStatus`".into())
            })?;
        let from = f.require("From")?;
        let b = business(&s, from)?;
        let status = match status_raw {
            "queued" | "accepted" | "scheduled" | "sending" => MessageStatus::Sending,
            "sent" => MessageStatus::Sent,
            "delivered" | "read" => MessageStatus::Delivered,
            "undelivered" => MessageStatus::Undelivered,
            "failed" | "canceled" => MessageStatus::Failed,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown MessageStatus {other:?}"
                )))
            }
        };
        let code = f
            .get("ErrorCode")
            .filter(|c| !c.trim().is_empty() && *c != "0");
        let rx = received(KIND, format!("twilio:sms-status:{sid}:{status_raw}"), &f);
        let known = s
            .shell
            .delivery_status(&b.id, sid, status, code, &rx)
            .await?;
        if !known {
            tracing::info!(
                sid,
                "status callback repeated, or for a message not recorded (yet): kept for a second look; answered 200 so the carrier stops"
            );
        }
        Ok(xml(twiml::empty()))
    }
    .await;
    finish(&s, KIND, r)
}
