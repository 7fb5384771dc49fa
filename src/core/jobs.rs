//! Durable jobs: every send and every timer is one of these, stored as a row
//! with `run_at`, claimed with a lease and run by the worker
//! (`crate::shell::worker::jobs` has one handler per kind).
//!
//! The kind is the row's `kind` column and the rest its JSON payload. Kind
//! names are stored, so they never change (`send_message` was a send's
//! name before this enum existed).

use crate::config::ServiceConfig;
use crate::domain::SendClass;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One unit of deferred work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Job {
    /// Send one queued outbound text through the gate.
    #[serde(rename = "send_message")]
    SendText { message_id: i64 },
    /// Ring an on-call person for step `step` of an escalation.
    #[serde(rename = "page_call")]
    PageCall {
        escalation_id: i64,
        step: u32,
        to: String,
    },
    /// Follow-up step `step` of a lead that has not answered.
    #[serde(rename = "follow_up")]
    FollowUp { lead_id: i64, step: usize },
    /// Has the lead gone cold (no progress for `cold_after`)?
    #[serde(rename = "cold_check")]
    ColdCheck { lead_id: i64 },
    /// Nobody acknowledged step `step` of an escalation in time.
    #[serde(rename = "escalation_timeout")]
    AckTimeout { escalation_id: i64, step: u32 },
    /// A lead may be late (unclaimed at 5 min, no attempt at 15): text
    /// the manager if it still is (`core::reminders`).
    #[serde(rename = "sla_reminder")]
    SlaReminder {
        lead_id: i64,
        late: crate::core::reminders::Late,
    },
    /// A timed queue item fell due: a promised callback, a post-job or a
    /// quote follow-up (`core::reminders::on_task_due`).
    #[serde(rename = "task_due")]
    TaskDue { task_id: i64 },
    /// A delivery receipt that arrived before its send was recorded.
    #[serde(rename = "late_receipt")]
    LateReceipt {
        sid: String,
        status: String,
        error_code: Option<String>,
    },
}

/// A late receipt's first second look comes this soon; each later one
/// waits twice as long as the one before ([`late_receipt_wait`]).
pub const LATE_RECEIPT_EVERY: chrono::Duration = chrono::Duration::seconds(15);
/// Looks before a receipt is dropped as another system's: 15 s doubling
/// seven times covers about half an hour, longer than an in-doubt send can
/// stay unrecorded (a lease, Telnyx's record lag, the longest retry
/// wait), so a carrier's "this number replied STOP" that beat its send's
/// record is not lost while that send is still being reconciled.
pub const LATE_RECEIPT_TRIES: i64 = 7;

/// How long to wait after the `tries`-th look at a late receipt.
pub fn late_receipt_wait(tries: i64) -> chrono::Duration {
    LATE_RECEIPT_EVERY * (1i32 << tries.clamp(1, LATE_RECEIPT_TRIES) as u32)
}

impl Job {
    /// The stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::SendText { .. } => "send_message",
            Job::PageCall { .. } => "page_call",
            Job::FollowUp { .. } => "follow_up",
            Job::ColdCheck { .. } => "cold_check",
            Job::AckTimeout { .. } => "escalation_timeout",
            Job::LateReceipt { .. } => "late_receipt",
            Job::SlaReminder { .. } => "sla_reminder",
            Job::TaskDue { .. } => "task_due",
        }
    }

    /// At most one job per key is ever queued: scheduling the same thing
    /// twice (a carrier's retry, two instances) is a no-op.
    pub fn unique_key(&self, run_at: DateTime<Utc>) -> String {
        match self {
            Job::SendText { message_id } => format!("send:{message_id}"),
            Job::PageCall {
                escalation_id,
                step,
                to,
            } => format!("page_call:{escalation_id}:{step}:{to}"),
            Job::FollowUp { lead_id, step } => format!("follow_up:{lead_id}:{step}"),
            // A lead's cold check is rescheduled as it stays active.
            Job::ColdCheck { lead_id } => format!("cold:{lead_id}:{}", run_at.timestamp_millis()),
            Job::AckTimeout {
                escalation_id,
                step,
            } => format!("escalation_timeout:{escalation_id}:{step}"),
            Job::LateReceipt { sid, status, .. } => format!("late_receipt:{sid}:{status}"),
            Job::SlaReminder { lead_id, late } => {
                format!("sla_reminder:{lead_id}:{}", late.as_str())
            }
            Job::TaskDue { task_id } => format!("task_due:{task_id}"),
        }
    }

    /// How many times the job runs before it is failed (and kept).
    pub fn max_attempts(&self, service: &ServiceConfig) -> i64 {
        match self {
            Job::SendText { .. } => service.max_attempts,
            Job::PageCall { .. }
            | Job::FollowUp { .. }
            | Job::ColdCheck { .. }
            | Job::SlaReminder { .. }
            | Job::TaskDue { .. } => 5,
            // An unanswered emergency must keep paging through a bad patch.
            Job::AckTimeout { .. } => 10,
            Job::LateReceipt { .. } => LATE_RECEIPT_TRIES,
        }
    }

    /// The payload stored beside the kind.
    pub fn payload(&self) -> String {
        let mut v = serde_json::to_value(self).expect("a job serialises");
        if let Some(o) = v.as_object_mut() {
            o.remove("kind");
        }
        v.to_string()
    }

    /// The job a stored `kind` and payload describe. A cold check's payload
    /// only repeats its row's lead: a damaged one must not stop the lead
    /// going cold, so `row_lead` stands in for it.
    pub fn decode(kind: &str, payload: &str, row_lead: Option<i64>) -> Result<Job, String> {
        match (Self::decode_payload(kind, payload), kind, row_lead) {
            (Err(_), "cold_check", Some(lead_id)) => Ok(Job::ColdCheck { lead_id }),
            (result, _, _) => result,
        }
    }

    fn decode_payload(kind: &str, payload: &str) -> Result<Job, String> {
        let mut v: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| format!("unreadable payload: {e}"))?;
        let Some(o) = v.as_object_mut() else {
            return Err("unreadable payload: not an object".into());
        };
        o.insert("kind".into(), serde_json::Value::String(kind.into()));
        serde_json::from_value(v).map_err(|e| format!("unknown job {kind:?}: {e}"))
    }
}

/// A job and when it runs, with what it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub job: Job,
    pub at: DateTime<Utc>,
    /// The lead whose jobs are canceled with it (an opt-out, a closed lead).
    pub lead_id: Option<i64>,
    /// A send's place in line: its sending number and class.
    pub line: Option<(String, SendClass)>,
}

impl Scheduled {
    /// A timer of `lead_id`, canceled with the lead's other jobs.
    pub fn for_lead(job: Job, lead_id: i64, at: DateTime<Utc>) -> Scheduled {
        Scheduled {
            job,
            at,
            lead_id: Some(lead_id),
            line: None,
        }
    }

    /// A job that belongs to no lead.
    pub fn at(job: Job, at: DateTime<Utc>) -> Scheduled {
        Scheduled {
            job,
            at,
            lead_id: None,
            line: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_receipt_is_looked_for_for_half_an_hour() {
        assert_eq!(late_receipt_wait(1), chrono::Duration::seconds(30));
        assert_eq!(late_receipt_wait(2), chrono::Duration::seconds(60));
        let looked: chrono::Duration = LATE_RECEIPT_EVERY
            + (1..LATE_RECEIPT_TRIES)
                .map(late_receipt_wait)
                .fold(chrono::Duration::zero(), |a, b| a + b);
        assert_eq!(looked, chrono::Duration::seconds(1905));
        assert!(
            looked > crate::core::retry::MAX_RETRY_WAIT + chrono::Duration::minutes(3),
            "outlasts the longest retry wait plus a lease and Telnyx's record lag"
        );
    }

    #[test]
    fn jobs_round_trip_through_kind_and_payload() {
        let jobs = [
            Job::SendText { message_id: 7 },
            Job::PageCall {
                escalation_id: 3,
                step: 1,
                to: "+15125550111".into(),
            },
            Job::FollowUp {
                lead_id: 9,
                step: 2,
            },
            Job::ColdCheck { lead_id: 9 },
            Job::AckTimeout {
                escalation_id: 3,
                step: 0,
            },
            Job::LateReceipt {
                sid: "SM1".into(),
                status: "delivered".into(),
                error_code: None,
            },
            Job::SlaReminder {
                lead_id: 9,
                late: crate::core::reminders::Late::Unclaimed,
            },
            Job::TaskDue { task_id: 4 },
        ];
        for j in jobs {
            assert_eq!(
                Job::decode(j.kind(), &j.payload(), None),
                Ok(j.clone()),
                "{j:?}"
            );
            assert!(
                !j.payload().contains("\"kind\""),
                "the kind is its own column"
            );
        }
    }

    /// Rows written before the enum existed read the same.
    #[test]
    fn stored_payloads_of_earlier_builds_decode() {
        assert_eq!(
            Job::decode("send_message", r#"{"message_id":42}"#, None),
            Ok(Job::SendText { message_id: 42 })
        );
        assert_eq!(
            Job::decode(
                "escalation_timeout",
                r#"{"escalation_id":1,"step":2}"#,
                None
            ),
            Ok(Job::AckTimeout {
                escalation_id: 1,
                step: 2
            })
        );
        assert!(Job::decode("mystery", "{}", None)
            .unwrap_err()
            .contains("mystery"));
        assert!(Job::decode("follow_up", "not json", Some(3)).is_err());
        assert_eq!(
            Job::decode("cold_check", "{", Some(3)),
            Ok(Job::ColdCheck { lead_id: 3 }),
            "a cold check's lead is on its row"
        );
    }
}
