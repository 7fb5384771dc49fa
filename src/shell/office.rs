//! What the office does to a lead through the admin API: take it (owner),
//! move it between queues (status), close it with a disposition and a
//! reason, leave a one-line note, log a call-back attempt.
//!
//! Each change is one transaction under the caller's contact lock, like
//! every other change to a conversation, and lands on the lead's timeline.
//! A disposition ends the follow-up sequence; "do not contact" is also an
//! opt-out in the consent ledger (source `admin`), which cancels anything
//! queued for the number.

use crate::core::jobs::{Job, Scheduled};
use crate::core::reminders::Late;
use crate::domain::Lead;
use crate::domain::MessageKind;
use crate::domain::{ConsentAction, LeadStatus};
use crate::shell::outbox::{self, Outbound};
use crate::shell::Shell;
use crate::store::StoreError;
use serde::Deserialize;

mod tasks;

/// How a lead ended, in the SOP's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    BookedJob,
    BookedEstimate,
    /// Given a price; waits for their yes (a follow-up is drafted if not).
    Quoted,
    /// The work is done (a follow-up with the review ask comes after).
    JobDone,
    RescheduleRequested,
    NoAnswerTwoAttempts,
    LeftVoicemail,
    WrongNumberOrSpam,
    DoNotContact,
}

impl Disposition {
    pub const ALL: [Disposition; 9] = [
        Disposition::BookedJob,
        Disposition::BookedEstimate,
        Disposition::Quoted,
        Disposition::JobDone,
        Disposition::RescheduleRequested,
        Disposition::NoAnswerTwoAttempts,
        Disposition::LeftVoicemail,
        Disposition::WrongNumberOrSpam,
        Disposition::DoNotContact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::BookedJob => "booked_job",
            Disposition::BookedEstimate => "booked_estimate",
            Disposition::Quoted => "quoted",
            Disposition::JobDone => "job_done",
            Disposition::RescheduleRequested => "reschedule_requested",
            Disposition::NoAnswerTwoAttempts => "no_answer_2_attempts",
            Disposition::LeftVoicemail => "left_voicemail",
            Disposition::WrongNumberOrSpam => "wrong_number_spam",
            Disposition::DoNotContact => "do_not_contact",
        }
    }

    pub fn parse(s: &str) -> Option<Disposition> {
        Disposition::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The queue the lead moves to. Booked leads are done; a reschedule is
    /// back in the booking queue; voicemail left waits for their call.
    fn status(self, current: LeadStatus) -> LeadStatus {
        match self {
            Disposition::BookedJob | Disposition::BookedEstimate | Disposition::JobDone => {
                LeadStatus::Resolved
            }
            Disposition::RescheduleRequested => LeadStatus::BookingRequested,
            Disposition::LeftVoicemail | Disposition::Quoted => current,
            Disposition::NoAnswerTwoAttempts
            | Disposition::WrongNumberOrSpam
            | Disposition::DoNotContact => LeadStatus::Dismissed,
        }
    }
}

/// A change from the office. Absent fields are left alone.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadUpdate {
    /// Who works the lead; `""` clears it.
    pub owner: Option<String>,
    /// A claim's precondition: the update applies only if the lead's owner
    /// is this one (`""`: nobody), else 409 naming who has it. Two
    /// dispatchers taking the same lead at once: one gets it.
    pub owner_was: Option<String>,
    pub status: Option<String>,
    pub disposition: Option<String>,
    pub reason: Option<String>,
    /// One line from the office; `""` clears it.
    pub note: Option<String>,
}

/// A call-back the office made.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallAttempt {
    /// Who called.
    pub by: Option<String>,
    /// `no_answer`, `voicemail` or `reached`.
    pub outcome: String,
    pub note: Option<String>,
}

/// Why the office's change does not fit the lead as it is now. The API
/// answers 409 with the message and, so that a dispatcher's screen can act
/// on it without reading the words, the kind and the fact that decided it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Conflict {
    /// `owner_was` no longer holds: someone else claimed (or released) the
    /// lead first. `owner` is who has it now (`None`: nobody).
    #[error("{}", match owner {
        None => format!("lead {lead_id} has no owner now, not {expected:?}"),
        Some(who) => format!("lead {lead_id} is {who}'s now"),
    })]
    OwnerChanged {
        lead_id: i64,
        owner: Option<String>,
        expected: String,
    },
    /// `no_answer_2_attempts` before two call attempts were logged.
    #[error("no_answer_2_attempts needs two logged call attempts; this lead has {call_attempts} (POST /api/v1/leads/{lead_id}/attempts)")]
    AttemptsNeeded { lead_id: i64, call_attempts: i64 },
    /// The customer cannot be texted: they opted out, or the number never
    /// takes a customer's text (staff, our own, blocked, unreachable).
    #[error("lead {lead_id}'s number cannot be texted ({reason}); call them instead")]
    NotTextable { lead_id: i64, reason: String },
}

impl Conflict {
    /// A stable name for the kind (the API's `conflict` field).
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::OwnerChanged { .. } => "owner_changed",
            Conflict::AttemptsNeeded { .. } => "call_attempts_needed",
            Conflict::NotTextable { .. } => "not_textable",
        }
    }

    /// The fact that decided it, as `(field, value)` for the API's body:
    /// who owns the lead now (`null`: nobody), or how many call attempts
    /// it has.
    pub fn fact(&self) -> (&'static str, serde_json::Value) {
        match self {
            Conflict::OwnerChanged { owner, .. } => ("owner", serde_json::json!(owner)),
            Conflict::AttemptsNeeded { call_attempts, .. } => {
                ("call_attempts", serde_json::json!(call_attempts))
            }
            Conflict::NotTextable { reason, .. } => ("reason", serde_json::json!(reason)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    #[error("no lead {0}")]
    NotFound(i64),
    /// The request is wrong; the message says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// The request is fine but the lead is not in a state that allows it.
    #[error("{0}")]
    Conflict(Conflict),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A note is one line that fits on a phone screen.
const NOTE_MAX: usize = 200;

/// A note as it is kept: without the spaces around it (pasted from a phone
/// they would show as odd gaps in the queue and timeline). `""` clears.
fn tidy_note(note: &str) -> &str {
    note.trim()
}

/// A person's name as the timeline shows it: one line, 1 to 80 characters.
fn check_name(field: &str, name: &str) -> Result<(), OfficeError> {
    if name.trim().is_empty() || name.chars().count() > 80 || name.contains(['\n', '\r']) {
        return Err(OfficeError::Invalid(format!(
            "{field} must be a name of 1 to 80 characters on one line"
        )));
    }
    plain(field, name)
}

/// What the office types is shown on screens and in the log: a control
/// character (NUL, ESC and its colour codes, a tab) or a line or paragraph
/// separator (U+2028/U+2029, which browsers and phones break lines on)
/// has no place in a name or a one-line note, and could hide or forge what
/// a colleague reads. Refused, with what to remove.
fn plain(field: &str, text: &str) -> Result<(), OfficeError> {
    if crate::logging::has_control(text, false) {
        return Err(OfficeError::Invalid(format!(
            "{field} has a control character or a line separator (NUL, ESC, tab, U+2028/U+2029...); send plain text on one line"
        )));
    }
    Ok(())
}

fn check_note(note: &str) -> Result<(), OfficeError> {
    if note.contains(['\n', '\r']) || tidy_note(note).chars().count() > NOTE_MAX {
        return Err(OfficeError::Invalid(format!(
            "note must be one line of at most {NOTE_MAX} characters"
        )));
    }
    if !note.is_empty() && tidy_note(note).is_empty() {
        // Kept as is, it would show as a note with nothing in it.
        return Err(OfficeError::Invalid(
            "note is only spaces; send \"\" to clear the note".into(),
        ));
    }
    plain("note", note)
}

/// The longest text the office may send (Twilio's limit for one message).
const OFFICE_TEXT_MAX: usize = 1600;

/// A text the office writes to a customer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficeText {
    pub body: String,
    /// Who wrote it, for the timeline.
    pub by: Option<String>,
}

impl Shell {
    /// Queues a text from the office to a lead's caller, from the tracking
    /// number they called. It goes through the door and the gate like every
    /// text: a customer who opted out, a staff or blocked number is refused
    /// here with the reason, and again at send time should that change.
    /// Returns the message id.
    pub async fn text_from_office(&self, lead_id: i64, t: &OfficeText) -> Result<i64, OfficeError> {
        let body = t.body.trim();
        if body.is_empty() || body.chars().count() > OFFICE_TEXT_MAX {
            return Err(OfficeError::Invalid(format!(
                "body must be 1 to {OFFICE_TEXT_MAX} characters"
            )));
        }
        if body.chars().any(|c| c.is_control() && c != '\n') {
            return Err(OfficeError::Invalid(
                "body may not contain control characters (line breaks are fine)".into(),
            ));
        }
        if let Some(by) = &t.by {
            check_name("by", by)?;
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let id = self
            .queue_customer_text(
                &mut tx,
                lead_id,
                body,
                MessageKind::OfficeReply,
                t.by.as_deref(),
                now,
            )
            .await?;
        tx.commit().await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Queues a text from the office to a lead's caller in `tx`, under the
    /// caller's lock, refusing (with the reason) a customer who cannot be
    /// texted; the gate checks again at send time. Returns the message id.
    pub(crate) async fn queue_customer_text(
        &self,
        tx: &mut crate::store::Tx,
        lead_id: i64,
        body: &str,
        kind: MessageKind,
        by: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64, OfficeError> {
        let (lead, unreachable) = tx
            .lead_locked(lead_id, now)
            .await?
            .ok_or(OfficeError::NotFound(lead_id))?;
        let refused = |reason: &str| {
            OfficeError::Conflict(Conflict::NotTextable {
                lead_id,
                reason: reason.to_string(),
            })
        };
        let b = self
            .config
            .business(&lead.business_id)
            .ok_or_else(|| refused("business no longer configured"))?;
        let who = crate::core::conversation::party(&self.config, b, &lead.caller);
        if !who.is_customer() {
            return Err(refused(&format!("{who:?}").to_lowercase()));
        }
        if tx.consent_state(&b.id, &lead.caller).await? == Some(ConsentAction::OptOut) {
            return Err(refused("opted_out"));
        }
        if unreachable.is_some() {
            return Err(refused("unreachable"));
        }
        let text = outbox::Text {
            business_id: &b.id,
            lead_id: Some(lead.id),
            kind,
            to: &lead.caller,
            from: &lead.tracking_number,
            body: body.to_string(),
            trigger_at: None,
        };
        let outbox::Queued::Text(id) =
            outbox::queue(tx, &self.config, Outbound::Text(text), now).await?
        else {
            unreachable!("a text is queued as a text")
        };
        tx.lead_event(
            lead.id,
            "office:text",
            &format!("{}: {body}", by.unwrap_or("office")),
            now,
        )
        .await?;
        Ok(id)
    }

    /// Applies an office change to a lead; returns the lead after it.
    pub async fn update_lead_by_office(
        &self,
        lead_id: i64,
        u: &LeadUpdate,
    ) -> Result<Lead, OfficeError> {
        let status = u
            .status
            .as_deref()
            .map(|s| {
                s.parse::<LeadStatus>().map_err(|_| {
                    OfficeError::Invalid(format!(
                        "status {s:?} is not a status; use new, texted, engaged, booking_requested, resolved, dismissed or cold"
                    ))
                })
            })
            .transpose()?;
        if status == Some(LeadStatus::New) {
            return Err(OfficeError::Invalid(
                "status new is only a lead's first status; use engaged, booking_requested, resolved, dismissed or cold".into(),
            ));
        }
        let disposition = u
            .disposition
            .as_deref()
            .map(|d| {
                Disposition::parse(d).ok_or_else(|| {
                    let all: Vec<&str> = Disposition::ALL.iter().map(|d| d.as_str()).collect();
                    OfficeError::Invalid(format!(
                        "disposition {d:?} is not one of {}",
                        all.join(", ")
                    ))
                })
            })
            .transpose()?;
        if u.reason.is_some() && disposition.is_none() {
            return Err(OfficeError::Invalid(
                "a reason goes with a disposition; send both".into(),
            ));
        }
        if let Some(n) = &u.note {
            check_note(n)?;
        }
        if let Some(o) = u.owner.as_deref().filter(|o| !o.is_empty()) {
            check_name("owner", o)?;
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let (mut lead, _) = tx
            .lead_locked(lead_id, now)
            .await?
            .ok_or(OfficeError::NotFound(lead_id))?;
        let business = self.config.business(&lead.business_id);
        let mut timeline = Vec::new();
        // The follow-up sequence to end, and why (reason, code).
        let mut stop: Option<(&str, &str)> = None;
        if let Some(was) = &u.owner_was {
            // Read under the lead's lock: of two claims at once, the second
            // sees the first's owner.
            let now_owned_by = lead.owner.as_deref().unwrap_or("");
            if now_owned_by != was.trim() {
                return Err(OfficeError::Conflict(Conflict::OwnerChanged {
                    lead_id,
                    owner: (!now_owned_by.is_empty()).then(|| now_owned_by.to_string()),
                    expected: was.trim().to_string(),
                }));
            }
        }
        if let Some(o) = &u.owner {
            let o = o.trim();
            lead.owner = (!o.is_empty()).then(|| o.to_string());
            timeline.push((
                "owner",
                if o.is_empty() { "(nobody)" } else { o }.to_string(),
            ));
        }
        if let Some(d) = disposition {
            if let Some(r) = &u.reason {
                let allowed = business.map(|b| &b.disposition_reasons);
                if !allowed.is_some_and(|list| list.iter().any(|x| x == r)) {
                    return Err(OfficeError::Invalid(format!(
                        "reason {r:?} is not in this business's list: {}",
                        allowed.map(|l| l.join(", ")).unwrap_or_default()
                    )));
                }
            }
            if d == Disposition::NoAnswerTwoAttempts && lead.call_attempts < 2 {
                return Err(OfficeError::Conflict(Conflict::AttemptsNeeded {
                    lead_id,
                    call_attempts: lead.call_attempts,
                }));
            }
            lead.disposition = Some(d.as_str().to_string());
            lead.disposition_reason = u.reason.clone();
            lead.status = d.status(lead.status);
            if !lead.status.is_open() {
                lead.closed_reason = Some(d.as_str().to_string());
            }
            stop = Some(("disposition set", "disposition"));
            if d == Disposition::DoNotContact {
                tx.record_consent(
                    &lead.business_id,
                    &lead.caller,
                    ConsentAction::OptOut,
                    "admin",
                    u.note.as_deref(),
                    now,
                )
                .await?;
            }
            timeline.push((
                "disposition",
                match &u.reason {
                    Some(r) => format!("{} ({r})", d.as_str()),
                    None => d.as_str().to_string(),
                },
            ));
        }
        if let Some(s) = status {
            lead.status = s;
            if !s.is_open() {
                // The timers and any follow-up text already queued but held
                // (quiet hours, the cap): closed means nothing more goes.
                stop = Some(("closed by the office", "closed"));
            }
            timeline.push(("status", s.as_str().to_string()));
        }
        if let Some(n) = u.note.as_deref().map(tidy_note) {
            lead.note = (!n.is_empty()).then(|| n.to_string());
            timeline.push((
                "note",
                if n.is_empty() { "(cleared)" } else { n }.to_string(),
            ));
        }
        if !lead.status.is_open() {
            // Closed by the office: an emergency still paging is called off.
            crate::shell::emergency::cancel_for_lead(
                &mut tx,
                &self.config,
                &self.metrics,
                lead.id,
                now,
            )
            .await?;
        }
        if timeline.is_empty() {
            return Err(OfficeError::Invalid(
                "nothing to change: send owner, status, disposition (+ reason) or note".into(),
            ));
        }
        tx.update_lead(&lead, now).await?;
        if let Some((reason, code)) = stop {
            tx.stop_follow_ups(lead.id, reason, code, now).await?;
        }
        if lead.owner.is_some() && u.owner.is_some() {
            // Claimed: the "unclaimed" reminder is not sent after the fact.
            crate::shell::reminders::cancel(&mut tx, lead.id, &[Late::Unclaimed], now).await?;
        }
        if let (Some(d), Some(b)) = (disposition, business) {
            crate::shell::reminders::on_disposition(
                &mut tx,
                &self.config,
                b,
                &lead,
                d.as_str(),
                now,
            )
            .await?;
        }
        // A lead the office (re)opens is checked for going cold from what it
        // is now; a check already queued for that moment is the same job.
        if let crate::core::conversation::ColdCheck::CheckAt(at) =
            crate::core::conversation::cold_check(&lead, now, self.config.service.cold_after)
        {
            let check = Job::ColdCheck { lead_id: lead.id };
            crate::shell::schedule(
                &mut tx,
                &self.config,
                &[Scheduled::for_lead(check, lead.id, at)],
                now,
            )
            .await?;
        }
        for (kind, detail) in timeline {
            tx.lead_event(lead.id, &format!("office:{kind}"), &detail, now)
                .await?;
        }
        tx.commit().await?;
        Ok(lead)
    }

    /// Logs a human call-back attempt.
    pub async fn log_call_attempt(
        &self,
        lead_id: i64,
        a: &CallAttempt,
    ) -> Result<Lead, OfficeError> {
        if !["no_answer", "voicemail", "reached"].contains(&a.outcome.as_str()) {
            return Err(OfficeError::Invalid(format!(
                "outcome {:?} is not one of no_answer, voicemail, reached",
                a.outcome
            )));
        }
        if let Some(n) = &a.note {
            check_note(n)?;
        }
        if let Some(by) = &a.by {
            check_name("by", by)?;
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let (mut lead, _) = tx
            .lead_locked(lead_id, now)
            .await?
            .ok_or(OfficeError::NotFound(lead_id))?;
        lead.call_attempts += 1;
        lead.last_activity_at = now;
        let reached = a.outcome == "reached";
        if reached
            && matches!(
                lead.status,
                LeadStatus::New | LeadStatus::Texted | LeadStatus::Cold
            )
        {
            lead.status = LeadStatus::Engaged;
        }
        tx.update_lead(&lead, now).await?;
        // Someone called: no late-lead reminder, and a promised callback
        // is kept.
        crate::shell::reminders::cancel(&mut tx, lead.id, &[Late::Unclaimed, Late::NoAttempt], now)
            .await?;
        tx.finish_callbacks(lead.id, now).await?;
        if reached {
            // They talked to a person: texts would only get in the way.
            tx.stop_follow_ups(lead.id, "the office reached them", "office_reached", now)
                .await?;
        }
        let detail = format!(
            "attempt {} by {}: {}{}",
            lead.call_attempts,
            a.by.as_deref().unwrap_or("office"),
            a.outcome,
            a.note
                .as_deref()
                .map(tidy_note)
                .filter(|n| !n.is_empty())
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
        tx.lead_event(lead.id, "call_attempt", &detail, now).await?;
        tx.commit().await?;
        Ok(lead)
    }
}
