//! Rows as typed values. Status columns are parsed into enums; a value we do
//! not know is a [`StoreError::Corrupt`], never a silent default.

use super::db::Row;
use super::{get, Result, StoreError};
use crate::clock::from_ms;
use crate::domain::{
    Call, Lead, LeadEvent, LeadStatus, Message, MessageKind, MessageStatus, SuppressReason,
};
use chrono::{DateTime, Utc};
use std::str::FromStr;

fn parse<T: FromStr<Err = String>>(r: &Row, col: &str) -> Result<T> {
    let s: String = get(r, col)?;
    T::from_str(&s).map_err(StoreError::Corrupt)
}

fn time(r: &Row, col: &str) -> Result<DateTime<Utc>> {
    Ok(from_ms(get::<i64>(r, col)?))
}

fn opt_time(r: &Row, col: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(get::<Option<i64>>(r, col)?.map(from_ms))
}

impl FromDbRow for Lead {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(Lead {
            id: get(r, "id")?,
            business_id: get(r, "business_id")?,
            caller: get(r, "caller")?,
            tracking_number: get(r, "tracking_number")?,
            status: parse(r, "status")?,
            call_count: get(r, "call_count")?,
            first_call_at: time(r, "first_call_at")?,
            window_ends_at: time(r, "window_ends_at")?,
            last_activity_at: time(r, "last_activity_at")?,
            suppressed_reason: get(r, "suppressed_reason")?,
            closed_reason: get(r, "closed_reason")?,
            intent: get(r, "intent")?,
            hazard: get(r, "hazard")?,
            questions_asked: get(r, "questions_asked")?,
            awaiting_answer: get::<i64>(r, "awaiting_answer")? != 0,
            acknowledged: get::<i64>(r, "acknowledged")? != 0,
            follow_ups_sent: get(r, "follow_ups_sent")?,
            owner: get(r, "owner")?,
            disposition: get(r, "disposition")?,
            disposition_reason: get(r, "disposition_reason")?,
            note: get(r, "note")?,
            call_attempts: get(r, "call_attempts")?,
            created_at: time(r, "created_at")?,
            updated_at: time(r, "updated_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewLead {
    pub business_id: String,
    pub caller: String,
    pub tracking_number: String,
    pub status: LeadStatus,
    pub call_count: i64,
    pub at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub suppressed_reason: Option<SuppressReason>,
}

impl FromDbRow for Call {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(Call {
            id: get(r, "id")?,
            call_sid: get(r, "call_sid")?,
            business_id: get(r, "business_id")?,
            lead_id: get(r, "lead_id")?,
            caller: get(r, "caller")?,
            tracking_number: get(r, "tracking_number")?,
            status: get(r, "status")?,
            missed_trigger: get(r, "missed_trigger")?,
            screen_accepted: get::<i64>(r, "screen_accepted")? != 0,
            answered_seconds: get(r, "answered_seconds")?,
            recording_url: get(r, "recording_url")?,
            transcript: get(r, "transcript")?,
            created_at: time(r, "created_at")?,
            updated_at: time(r, "updated_at")?,
        })
    }
}

impl FromDbRow for Message {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(Message {
            id: get(r, "id")?,
            business_id: get(r, "business_id")?,
            lead_id: get(r, "lead_id")?,
            direction: get(r, "direction")?,
            kind: parse(r, "kind")?,
            to: get(r, "to_number")?,
            from: get(r, "from_number")?,
            body: get(r, "body")?,
            status: parse(r, "status")?,
            suppress_reason: get(r, "suppress_reason")?,
            provider: get(r, "provider")?,
            provider_sid: get(r, "provider_sid")?,
            error_code: get(r, "error_code")?,
            error_message: get(r, "error_message")?,
            attempts: get(r, "attempts")?,
            trigger_at: time(r, "trigger_at")?,
            created_at: time(r, "created_at")?,
            send_started_at: opt_time(r, "send_started_at")?,
            sent_at: opt_time(r, "sent_at")?,
            updated_at: time(r, "updated_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub business_id: String,
    pub lead_id: Option<i64>,
    pub direction: &'static str,
    pub kind: MessageKind,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status: MessageStatus,
    pub suppress_reason: Option<SuppressReason>,
    pub provider: Option<String>,
    pub provider_sid: Option<String>,
    pub trigger_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl FromDbRow for LeadEvent {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(LeadEvent {
            id: get(r, "id")?,
            lead_id: get(r, "lead_id")?,
            kind: get(r, "kind")?,
            detail: get(r, "detail")?,
            at: time(r, "at")?,
        })
    }
}

/// A domain value read from one row.
pub(crate) trait FromDbRow: Sized {
    fn from_row(r: &Row) -> Result<Self>;
}
