//! A lead: one caller's missed call (or first text) and what became of it.

use super::LeadStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Lead {
    pub id: i64,
    pub business_id: String,
    pub caller: String,
    pub tracking_number: String,
    #[serde(serialize_with = "super::ser_display")]
    pub status: LeadStatus,
    pub call_count: i64,
    pub first_call_at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub suppressed_reason: Option<String>,
    pub closed_reason: Option<String>,
    /// The latest reply's intent (`booking`, `pricing`, ...).
    pub intent: Option<String>,
    /// The hazard of a reported emergency (`gas`, `flooding`, ...).
    pub hazard: Option<String>,
    /// Context questions asked so far (at most two per lead).
    pub questions_asked: i64,
    /// Our last text to them was a question: their next reply answers it.
    pub awaiting_answer: bool,
    /// The one "a person will get back to you" was sent.
    pub acknowledged: bool,
    pub follow_ups_sent: i64,
    /// Who in the office works this lead.
    pub owner: Option<String>,
    pub disposition: Option<String>,
    pub disposition_reason: Option<String>,
    pub note: Option<String>,
    /// Human call-backs the office logged.
    pub call_attempts: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One line of a lead's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct LeadEvent {
    pub id: i64,
    pub lead_id: i64,
    pub kind: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}
