//! A text, inbound or outbound, and where it stands.

use super::{MessageKind, MessageStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub business_id: String,
    pub lead_id: Option<i64>,
    pub direction: String,
    #[serde(serialize_with = "super::ser_display")]
    pub kind: MessageKind,
    pub to: String,
    pub from: String,
    pub body: String,
    #[serde(serialize_with = "super::ser_display")]
    pub status: MessageStatus,
    pub suppress_reason: Option<String>,
    pub provider: Option<String>,
    pub provider_sid: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i64,
    pub trigger_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub send_started_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}
