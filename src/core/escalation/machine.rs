//! The escalation state machine: events in, new state and actions out.

use crate::config::roster::{OnCall, Roster};
use crate::core::classify::Hazard;
use crate::domain::PhoneNumber;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// Ack keywords
// ---------------------------------------------------------------------------

/// Whole-message replies that mean "I've got it", after
/// [`crate::core::classify::normalize_keyword`] (letters and digits only, upper
/// case; so `"On it!"` is `ONIT` and `"ok 👍"` is `OK`).
pub(crate) const ACK_WORDS: [&str; 6] = ["ACK", "ACKNOWLEDGED", "1", "OK", "OKAY", "ONIT"];

/// Is this staff reply an acknowledgement? Only the whole message counts
/// (any case, punctuation or emoji around it): "ok" takes the job, "ok who
/// is this" does not. A false ACK stops the paging of a live emergency,
/// while a missed one only costs the tech a second reply, so the list is
/// short and strict.
pub fn is_ack(text: &str) -> bool {
    if text.len() > 64 {
        return false;
    }
    let n = crate::core::classify::normalize_keyword(text);
    ACK_WORDS.contains(&n.as_str())
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

/// How hard to chase. Usually taken from the business's roster
/// ([`crate::config::roster::Roster::policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How long each page waits for an ACK.
    pub ack_timeout: Duration,
    /// All-hands re-pages once everyone has had their turn.
    pub repages: u32,
}

impl Policy {
    /// The policy a business's on-call roster sets.
    pub fn of(roster: &Roster) -> Policy {
        Policy {
            ack_timeout: roster.ack_timeout(),
            repages: roster.repages(),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            ack_timeout: Duration::minutes(
                crate::config::roster::DEFAULT_ACK_TIMEOUT_MINUTES as i64,
            ),
            repages: crate::config::roster::DEFAULT_REPAGES,
        }
    }
}

/// Where an escalation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created, not started.
    Pending,
    /// Pages out, waiting for an ACK.
    Paging,
    /// Somebody owns it.
    Acked,
    /// Nobody answered; paging stopped. An ACK is still welcome.
    Exhausted,
    /// Called off (the caller said it is handled, or the office closed it).
    Cancelled,
}

/// The texts a page carries, rendered once when the emergency is detected
/// (see [`EscalationTemplates::page`]) so every page and re-page says the
/// same thing even if the templates change mid-escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The SMS packet.
    pub sms: String,
    /// What the page call reads out (see `twiml::page_call`).
    pub script: String,
}

/// One emergency being escalated. Two emergencies that page the same tech
/// are two independent values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// The emergency lead this escalation is for.
    pub lead_id: i64,
    pub hazard: Hazard,
    /// The chain as it was when the emergency started: a shift change
    /// mid-escalation does not reshuffle who is being chased.
    pub chain: Vec<OnCall>,
    pub page: Page,
    pub status: Status,
    /// The page in flight. Steps `0..chain.len()` walk the chain one person
    /// at a time; each later step is an all-hands re-page.
    pub step: u32,
    /// Individual pages sent (an all-hands step counts one per person).
    pub pages: u32,
    pub acked_by: Option<OnCall>,
    pub acked_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    /// The caller's language (`es`...), for the texts to them; `None`
    /// (escalations stored before it existed): English.
    #[serde(default)]
    pub language: Option<String>,
}

impl Escalation {
    /// A new, not yet started escalation. Feed it [`Event::Start`].
    pub fn new(lead_id: i64, hazard: Hazard, chain: Vec<OnCall>, page: Page) -> Escalation {
        Escalation {
            lead_id,
            hazard,
            chain,
            page,
            status: Status::Pending,
            step: 0,
            pages: 0,
            acked_by: None,
            acked_at: None,
            started_at: None,
            language: None,
        }
    }

    /// From first page to ACK: the number the owner cares about.
    pub fn ack_latency(&self) -> Option<Duration> {
        Some(self.acked_at? - self.started_at?)
    }

    /// Still waiting for somebody to own it (paging or exhausted).
    pub fn is_open(&self) -> bool {
        matches!(self.status, Status::Paging | Status::Exhausted)
    }

    /// The people paged so far, in chain order.
    pub fn paged(&self) -> &[OnCall] {
        let n = match self.status {
            Status::Pending => 0,
            _ => (self.step as usize + 1).min(self.chain.len()),
        };
        &self.chain[..n]
    }

    fn link(&self, phone: &PhoneNumber) -> Option<&OnCall> {
        self.chain.iter().find(|c| &c.phone == phone)
    }

    /// Has `phone` been paged for this emergency yet?
    pub fn was_paged(&self, phone: &PhoneNumber) -> bool {
        self.paged().iter().any(|c| &c.phone == phone)
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The emergency was detected: start paging.
    Start,
    /// The durable timer scheduled for `step` fired.
    AckTimeout { step: u32 },
    /// A staff member replied with an ACK keyword (see [`is_ack`]) and the
    /// shell routed it here (see [`route_ack`]).
    Ack { from: PhoneNumber },
    /// Someone pressed keys on a page call; `from` is the number that was
    /// called. `"1"` accepts.
    KeyPressed { from: PhoneNumber, digits: String },
    /// Called off: stop paging, tell nobody.
    Cancel,
}

/// What the shell should do. Pages and caller messages are emergency
/// traffic: they bypass quiet hours and frequency caps, never the opt-out
/// ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Text the packet to a person in the chain.
    PageSms {
        step: u32,
        to: PhoneNumber,
        body: String,
    },
    /// Call them; the call reads [`Page::script`] and asks them to press 1
    /// (`twiml::page_call`), reporting the key as [`Event::KeyPressed`].
    PageCall { step: u32, to: PhoneNumber },
    /// Fire [`Event::AckTimeout`] with this step at `at` (a durable job).
    ScheduleTimeout { step: u32, at: DateTime<Utc> },
    /// Tell someone who was paged that `by` has taken it
    /// ([`EscalationTemplates::taken`]).
    NotifyTaken { to: PhoneNumber, by: String },
    /// Text the caller the safety message for the hazard, once, at the start
    /// ([`EscalationTemplates::safety`]).
    CallerSafety { hazard: Hazard },
    /// Text the caller who is calling them back
    /// ([`EscalationTemplates::caller_confirmation`]).
    CallerConfirmation { tech_name: String },
    /// Text the caller that we are still trying
    /// ([`EscalationTemplates::unanswered`]).
    CallerUnanswered,
    /// Record who took it and how long it took (metrics, admin API).
    AckRecorded { by: OnCall, latency: Duration },
    /// Nobody answered: paging stopped. Flag the lead loudly for the office.
    Exhausted,
    /// An ACK from a number not in this escalation's chain: ignored, logged.
    StrangerAck { from: PhoneNumber },
}

/// Advances an escalation by one event. Pure: same inputs, same outputs.
pub fn on_event(
    mut s: Escalation,
    event: Event,
    now: DateTime<Utc>,
    policy: &Policy,
) -> (Escalation, Vec<Action>) {
    let mut out = Vec::new();
    match event {
        Event::Start => {
            if s.status != Status::Pending {
                return (s, out); // started already: a redelivered Start
            }
            s.started_at = Some(now);
            s.status = Status::Paging;
            s.step = 0;
            if s.chain.is_empty() {
                // Cannot happen with a roster (the owner is always there),
                // but an empty chain must not look like "paging".
                s.status = Status::Exhausted;
                out.push(Action::CallerSafety { hazard: s.hazard });
                out.push(Action::CallerUnanswered);
                out.push(Action::Exhausted);
                return (s, out);
            }
            // The caller's safety text first ("leave the house now"): it
            // takes the sending number's next slot, the tech's page the one
            // after (the page call rings at once either way).
            out.push(Action::CallerSafety { hazard: s.hazard });
            page(&mut s, now, policy, &mut out);
        }
        Event::AckTimeout { step } => {
            if s.status != Status::Paging || step != s.step {
                return (s, out); // stale timer
            }
            // The last step: the chain walked once, then the all-hands re-pages.
            let last = (s.chain.len() as u32).saturating_sub(1) + policy.repages;
            if s.step >= last {
                s.status = Status::Exhausted;
                out.push(Action::CallerUnanswered);
                out.push(Action::Exhausted);
            } else {
                s.step += 1;
                page(&mut s, now, policy, &mut out);
            }
        }
        Event::Ack { from } => ack(&mut s, from, now, &mut out),
        Event::KeyPressed { from, digits } => {
            if digits.trim() == "1" {
                ack(&mut s, from, now, &mut out);
            }
        }
        Event::Cancel => {
            if matches!(
                s.status,
                Status::Pending | Status::Paging | Status::Exhausted
            ) {
                s.status = Status::Cancelled;
            }
        }
    }
    (s, out)
}

/// Pages for the current step and schedules its timeout.
fn page(s: &mut Escalation, now: DateTime<Utc>, policy: &Policy, out: &mut Vec<Action>) {
    let n = s.chain.len() as u32;
    let (targets, body): (Vec<&OnCall>, String) = if s.step < n {
        (vec![&s.chain[s.step as usize]], s.page.sms.clone())
    } else {
        let round = s.step - n + 1;
        (
            s.chain.iter().collect(),
            format!(
                "STILL OPEN, nobody has taken it (re-page {round} of {}).\n{}",
                policy.repages, s.page.sms
            ),
        )
    };
    for t in &targets {
        out.push(Action::PageSms {
            step: s.step,
            to: t.phone.clone(),
            body: body.clone(),
        });
        out.push(Action::PageCall {
            step: s.step,
            to: t.phone.clone(),
        });
    }
    s.pages += targets.len() as u32;
    out.push(Action::ScheduleTimeout {
        step: s.step,
        at: now + policy.ack_timeout,
    });
}

fn ack(s: &mut Escalation, from: PhoneNumber, now: DateTime<Utc>, out: &mut Vec<Action>) {
    let Some(who) = s.link(&from).cloned() else {
        out.push(Action::StrangerAck { from });
        return;
    };
    match s.status {
        // Not started or called off: nothing to take.
        Status::Pending | Status::Cancelled => {}
        Status::Acked => {
            // A second ACK from someone else: make sure they do not drive
            // out too. A repeat from the owner of the job changes nothing.
            let by = s
                .acked_by
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default();
            if s.acked_by.as_ref().is_some_and(|a| a.phone != who.phone) {
                out.push(Action::NotifyTaken { to: who.phone, by });
            }
        }
        Status::Paging | Status::Exhausted => {
            s.status = Status::Acked;
            s.acked_by = Some(who.clone());
            s.acked_at = Some(now);
            let latency = now - s.started_at.unwrap_or(now);
            for other in s.paged() {
                if other.phone != who.phone {
                    out.push(Action::NotifyTaken {
                        to: other.phone.clone(),
                        by: who.name.clone(),
                    });
                }
            }
            out.push(Action::CallerConfirmation {
                tech_name: who.name.clone(),
            });
            out.push(Action::AckRecorded { by: who, latency });
        }
    }
}

/// Which open escalation an SMS ACK from `from` is for. A tech paged for two
/// emergencies replies "ACK" without saying which, so the rule must be
/// predictable: the **oldest** open escalation that has already paged them
/// (else the oldest whose chain includes them). A second "ACK" then takes
/// the next one, and the confirmation can say so. A keypress needs no
/// routing: the page call belongs to one escalation.
pub fn route_ack<'a>(
    open: impl IntoIterator<Item = &'a Escalation>,
    from: &PhoneNumber,
) -> Option<&'a Escalation> {
    let open: Vec<&Escalation> = open
        .into_iter()
        .filter(|e| e.is_open() && e.link(from).is_some())
        .collect();
    // First the emergencies that paged this person: an ACK answers a page
    // they got, never one they have not seen (found in review: a tech's
    // ACK to an old "STILL OPEN" page went to a newer emergency that had
    // only paged someone else).
    let paged: Vec<&Escalation> = open.iter().copied().filter(|e| e.was_paged(from)).collect();
    let pool = if paged.is_empty() { open } else { paged };
    // Then one still paging wins over one that ran out of people: the
    // live emergency must not keep paging because an old one took the ACK.
    let paging: Vec<&Escalation> = pool
        .iter()
        .copied()
        .filter(|e| e.status == Status::Paging)
        .collect();
    let candidates = if paging.is_empty() { pool } else { paging };
    candidates
        .into_iter()
        .min_by_key(|e| (e.started_at.unwrap_or(DateTime::<Utc>::MAX_UTC), e.lead_id))
}
