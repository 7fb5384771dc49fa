//! A phone call to one of the business's numbers.

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub id: i64,
    pub call_sid: String,
    pub business_id: String,
    pub lead_id: Option<i64>,
    pub caller: String,
    pub tracking_number: String,
    pub status: String,
    pub missed_trigger: Option<String>,
    pub screen_accepted: bool,
    pub answered_seconds: Option<i64>,
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
