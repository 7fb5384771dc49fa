//! The office's timers beyond the first text: a late lead's reminders to
//! the manager (or whoever is on call), promised callbacks, the follow-up
//! after a job (with the review ask) and the one after an unanswered quote.
//!
//! Pure: when each is due, whether it is still wanted when it falls due,
//! whom it goes to and what it says. The shell keeps them as durable jobs
//! (`shell::reminders`, `shell/worker/jobs/`) and applies the answers.

use crate::config::sla::Remind;
use crate::config::Business;
use crate::core::sla;
use crate::domain::{Lead, PhoneNumber};
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Why a late lead's manager is texted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Late {
    /// Nobody claimed it within the stretch goal (5 minutes of open time).
    Unclaimed,
    /// Nobody tried to call within the promise (15 minutes of open time).
    NoAttempt,
}

impl Late {
    pub fn as_str(self) -> &'static str {
        match self {
            Late::Unclaimed => "unclaimed",
            Late::NoAttempt => "no_attempt",
        }
    }

    /// How much open time may pass after the missed call.
    pub fn budget(self) -> Duration {
        match self {
            Late::Unclaimed => sla::STRETCH,
            Late::NoAttempt => sla::FIRST_ATTEMPT,
        }
    }
}

/// When each reminder of a new lead falls due, counted in open hours (a
/// call at night is counted from opening). Empty when nobody is to be
/// reminded or the business is never open.
pub fn reminders_for(b: &Business, missed_at: DateTime<Utc>) -> Vec<(Late, DateTime<Utc>)> {
    if b.sla.remind == Remind::Off {
        return Vec::new();
    }
    [Late::Unclaimed, Late::NoAttempt]
        .into_iter()
        .filter_map(|l| sla::due_at(&b.hours, b.time_zone, missed_at, l.budget()).map(|at| (l, at)))
        .collect()
}

/// Is the reminder still wanted when it falls due? Only for an open lead
/// nobody has called; the first one also only while nobody owns it. A
/// claim or an attempt in the meantime means no text after the fact.
pub fn still_wanted(late: Late, lead: &Lead) -> bool {
    lead.status.is_open()
        && lead.call_attempts == 0
        && (late == Late::NoAttempt || lead.owner.is_none())
}

/// Who is reminded now: the manager, or the first of the on-call chain.
pub fn who_to_remind(b: &Business, now: DateTime<Utc>) -> Option<PhoneNumber> {
    match &b.sla.remind {
        Remind::Off => None,
        Remind::Manager(p) => Some(p.clone()),
        Remind::OnCall => b
            .roster
            .as_ref()
            .and_then(|r| r.chain_at(now).into_iter().next())
            .map(|p| p.phone),
    }
}

/// The reminder's words: short, with what to do and where.
pub fn reminder_text(late: Late, b: &Business, lead: &Lead) -> String {
    match late {
        Late::Unclaimed => format!(
            "{}: missed call from {} is unclaimed 5 min in. Claim it in the app: /app/leads/{}",
            b.name, lead.caller, lead.id
        ),
        Late::NoAttempt => format!(
            "{}: missed call from {} has had no call-back in 15 min{}. Call now: /app/leads/{}",
            b.name,
            lead.caller,
            lead.owner
                .as_deref()
                .map(|o| format!(" (owner: {o})"))
                .unwrap_or_default(),
            lead.id
        ),
    }
}

/// What a timed queue item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// "Call back by 3 pm": the owner of the lead is reminded then.
    Callback,
    /// After a booked job: how did it go, and the review ask.
    JobFollowUp,
    /// A quote unanswered for days: a drafted nudge a person approves.
    QuoteFollowUp,
}

impl TaskKind {
    pub const ALL: [TaskKind; 3] = [
        TaskKind::Callback,
        TaskKind::JobFollowUp,
        TaskKind::QuoteFollowUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Callback => "callback",
            TaskKind::JobFollowUp => "job_follow_up",
            TaskKind::QuoteFollowUp => "quote_follow_up",
        }
    }

    pub fn parse(s: &str) -> Option<TaskKind> {
        TaskKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How the queue names it.
    pub fn label(self) -> &'static str {
        match self {
            TaskKind::Callback => "Call back",
            TaskKind::JobFollowUp => "Follow up after the job",
            TaskKind::QuoteFollowUp => "Follow up on the quote",
        }
    }
}

/// The dispositions that mean the work was booked or done: a follow-up
/// with the review ask is due a day or two later.
pub const JOB_DONE: [&str; 2] = ["booked_job", "job_done"];
/// The disposition of a lead that was given a price and has not said yes.
pub const QUOTED: &str = "quoted";

/// The queue item a disposition starts, and when it falls due.
pub fn task_for_disposition(
    b: &Business,
    disposition: &str,
    now: DateTime<Utc>,
) -> Option<(TaskKind, DateTime<Utc>)> {
    if JOB_DONE.contains(&disposition) {
        Some((TaskKind::JobFollowUp, now + b.sla.review_after))
    } else if disposition == QUOTED {
        Some((TaskKind::QuoteFollowUp, now + b.sla.quote_after))
    } else {
        None
    }
}

/// What happens when a queue item falls due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskDue {
    /// Text the owner of the lead (a staff text): the callback is now.
    Remind { to: PhoneNumber, body: String },
    /// It waits in the queue for a person to send, edit or drop.
    Offer,
    /// Send the drafted text to the customer (through the door and gate).
    Send,
    /// No longer wanted; the reason is kept.
    Drop(&'static str),
}

/// The facts a due queue item is decided on.
pub struct TaskFacts<'a> {
    pub kind: TaskKind,
    pub business: &'a Business,
    pub lead: &'a Lead,
    /// The customer texted since the item was made.
    pub answered_since: bool,
    pub now: DateTime<Utc>,
}

pub fn on_task_due(f: &TaskFacts) -> TaskDue {
    let disposition = f.lead.disposition.as_deref().unwrap_or("");
    match f.kind {
        TaskKind::Callback => {
            if !f.lead.status.is_open() {
                return TaskDue::Drop("lead closed");
            }
            match owner_phone(f.business, f.lead.owner.as_deref(), f.now) {
                Some(to) => TaskDue::Remind {
                    to,
                    body: format!(
                        "{}: call {} back now, as promised{}. /app/leads/{}",
                        f.business.name,
                        f.lead.caller,
                        f.lead
                            .owner
                            .as_deref()
                            .map(|o| format!(" ({o}'s lead)"))
                            .unwrap_or_default(),
                        f.lead.id
                    ),
                },
                // Nobody to text: the queue item is the reminder.
                None => TaskDue::Offer,
            }
        }
        TaskKind::JobFollowUp => {
            if !JOB_DONE.contains(&disposition) {
                return TaskDue::Drop("the disposition changed");
            }
            if f.business.sla.review_auto_send {
                TaskDue::Send
            } else {
                TaskDue::Offer
            }
        }
        TaskKind::QuoteFollowUp => {
            if disposition != QUOTED {
                return TaskDue::Drop("the disposition changed");
            }
            if f.answered_since {
                return TaskDue::Drop("they answered");
            }
            // Never by itself: a person approves (or edits) it.
            TaskDue::Offer
        }
    }
}

/// The phone of a lead's owner: the on-call roster's person of that name
/// (the config's phones are the staff the gate lets texts reach); else
/// whoever late leads are reminded to.
pub fn owner_phone(b: &Business, owner: Option<&str>, now: DateTime<Utc>) -> Option<PhoneNumber> {
    owner
        .and_then(|o| {
            b.roster
                .as_ref()
                .and_then(|r| r.person_named(o))
                .map(|p| p.phone.clone())
        })
        .or_else(|| who_to_remind(b, now))
}

/// The longest a callback may be promised ahead.
pub const CALLBACK_AHEAD: Duration = Duration::days(30);

/// "Call back by" as a form sends it (`2026-11-24T15:00`, the business's
/// local time) to an instant: in the future, at most 30 days ahead.
pub fn callback_at(local: &str, tz: Tz, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let naive = NaiveDateTime::parse_from_str(local.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(local.trim(), "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| {
            format!(
                "call back by {:?} is not a date and time like 2026-11-24T15:00",
                local.escape_debug().to_string()
            )
        })?;
    let at = tz
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| format!("{naive} does not exist in {tz} (the clocks skip it)"))?
        .with_timezone(&Utc);
    if at <= now {
        return Err("call back by must be later than now".into());
    }
    if at > now + CALLBACK_AHEAD {
        return Err("call back by must be within 30 days".into());
    }
    Ok(at)
}

#[cfg(test)]
mod tests;
