//! Follow-ups for callers who have not replied, and when a quiet lead goes
//! cold. Pure: the worker fires the timers (durable jobs) and applies these
//! decisions in one transaction with the job's completion.

use crate::config::{Business, StepTime};
use crate::domain::Lead;
use crate::domain::{ConsentAction, LeadStatus};
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

/// Two follow-ups never go out closer together than this, even when a
/// process that was down fires overdue steps late: late, not in a burst.
pub const MIN_GAP: Duration = Duration::minutes(10);

/// How long a step waits for the instant text to go out before giving up.
const WAIT_FOR_INSTANT: Duration = Duration::minutes(1);

/// When step `step` is due for a lead whose missed call was at `anchor`.
/// `None` past the last step.
pub fn due_at(b: &Business, step: usize, anchor: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut due = None::<DateTime<Utc>>;
    for s in b.follow_ups.iter().take(step + 1) {
        let at = match s.when {
            StepTime::After(d) => anchor + d,
            StepTime::NextOpening => next_morning(b, anchor),
        };
        // Steps never overtake each other.
        due = Some(match due {
            Some(prev) => at.max(prev + MIN_GAP),
            None => at,
        });
    }
    (step < b.follow_ups.len()).then_some(due).flatten()
}

/// When the step after `step` is due, `step` having fired at `now`. On
/// schedule that is [`due_at`]. A step that fired late (held overnight by
/// quiet hours, a process that was down) does not drag the rest into a
/// burst behind it (found in review: after an evening call three texts went
/// out ten minutes apart next morning, and the "good morning" one, pushed
/// on by the cap, at 8:30 PM): a timed step keeps its planned distance
/// from this one, and a next-opening step waits for the next opening after
/// this one.
pub fn next_step_at(
    b: &Business,
    step: usize,
    anchor: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let planned = due_at(b, step + 1, anchor)?;
    let this = due_at(b, step, anchor).unwrap_or(anchor);
    let earliest = now + MIN_GAP;
    let at = match b.follow_ups[step + 1].when {
        StepTime::After(_) => planned.max(now + (planned - this).max(MIN_GAP)),
        StepTime::NextOpening => {
            planned.max(b.hours.next_open(b.time_zone, earliest).unwrap_or(earliest))
        }
    };
    Some(at.max(earliest))
}

/// The business's first opening on a later local day than `at`: "next
/// morning at opening time", skipping closed days. A business with no
/// hours at all gets 9:00 the next day.
pub fn next_morning(b: &Business, at: DateTime<Utc>) -> DateTime<Utc> {
    let tz = b.time_zone;
    let tomorrow = at.with_timezone(&tz).date_naive() + Duration::days(1);
    let midnight = tz
        .from_local_datetime(&tomorrow.and_time(NaiveTime::MIN))
        .earliest()
        // Midnight skipped by a DST change: one hour later exists.
        .or_else(|| {
            tz.from_local_datetime(&(tomorrow.and_time(NaiveTime::MIN) + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(at + Duration::days(1));
    b.hours
        .next_open(tz, midnight - Duration::seconds(1))
        .unwrap_or(midnight + Duration::hours(9))
}

/// What a follow-up timer does when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpDecision {
    /// Queue this text; schedule the next step at `next` (if any).
    Send {
        body: String,
        next: Option<DateTime<Utc>>,
    },
    /// Not now: the instant text has not gone out yet, or it is the
    /// recipient's night. Run the step again at `until`.
    Wait {
        until: DateTime<Utc>,
        reason: &'static str,
    },
    /// The sequence is over, and why.
    Stop(&'static str),
}

/// The facts a firing follow-up needs.
pub struct FollowUpDue<'a> {
    pub business: &'a Business,
    pub lead: &'a Lead,
    pub step: usize,
    pub consent: Option<ConsentAction>,
    pub unreachable: bool,
    pub now: DateTime<Utc>,
    /// When the recipient's quiet hours end, if they are on now.
    pub quiet_until: Option<DateTime<Utc>>,
}

/// Decides a due follow-up. Any sign of life stops the sequence: a reply
/// (engaged / booking requested), a long answered call or a disposition
/// (resolved / dismissed), an opt-out, an unreachable number.
pub fn on_follow_up_due(f: &FollowUpDue<'_>) -> FollowUpDecision {
    let lead = f.lead;
    if f.consent == Some(ConsentAction::OptOut) {
        return FollowUpDecision::Stop("opted_out");
    }
    if f.unreachable {
        return FollowUpDecision::Stop("unreachable");
    }
    if lead.disposition.is_some() {
        return FollowUpDecision::Stop("disposition");
    }
    if lead.hazard.is_some() {
        return FollowUpDecision::Stop("emergency");
    }
    match lead.status {
        LeadStatus::Texted => {}
        // Cold is the office's label for "no progress"; the customer has
        // not replied either way, so a sequence under way carries on. A
        // lead that went cold before any text reached them (the instant
        // text was refused or never left) gets none.
        LeadStatus::Cold if lead.follow_ups_sent > 0 => {}
        LeadStatus::Cold => return FollowUpDecision::Stop("never_texted"),
        // The instant text may be held (quiet hours with instant_any_hour
        // off, a carrier outage): wait for it, within reason.
        LeadStatus::New if f.now < lead.first_call_at + Duration::hours(24) => {
            return FollowUpDecision::Wait {
                until: f.now + WAIT_FOR_INSTANT,
                reason: "instant text not sent yet",
            }
        }
        LeadStatus::New => return FollowUpDecision::Stop("instant_text_never_sent"),
        LeadStatus::Engaged | LeadStatus::BookingRequested => {
            return FollowUpDecision::Stop("customer_replied")
        }
        LeadStatus::Resolved | LeadStatus::Dismissed => return FollowUpDecision::Stop("closed"),
    }
    let b = f.business;
    let Some(step) = b.follow_ups.get(f.step) else {
        return FollowUpDecision::Stop("no_such_step");
    };
    if let Some(until) = f.quiet_until {
        // The recipient's night: the step itself waits for the morning
        // (rather than queueing a text the gate would hold), so the next
        // step is spaced from when this one really goes and two follow-ups
        // never leave together at 08:00.
        return FollowUpDecision::Wait {
            until,
            reason: "quiet_hours",
        };
    }
    let vars = b.vars(&lead.tracking_number);
    let next = next_step_at(b, f.step, lead.first_call_at, f.now);
    FollowUpDecision::Send {
        body: step.template.render(&vars),
        next,
    }
}

/// What the "is this lead cold yet?" timer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColdCheck {
    GoCold,
    /// Something happened since: look again then.
    CheckAt(DateTime<Utc>),
    /// Closed or already cold: no more checks.
    Done,
}

/// A lead waiting on the customer with no progress for `cold_after` turns
/// cold. Leads waiting on the office (booking requested) are the office's
/// to close, so they stay in its queue.
pub fn cold_check(lead: &Lead, now: DateTime<Utc>, cold_after: Duration) -> ColdCheck {
    match lead.status {
        LeadStatus::New | LeadStatus::Texted | LeadStatus::Engaged => {
            let at = lead.last_activity_at + cold_after;
            if now >= at {
                ColdCheck::GoCold
            } else {
                ColdCheck::CheckAt(at)
            }
        }
        _ => ColdCheck::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::conversation::tests_support::{config, lead};
    use chrono::TimeZone;

    // Tuesday 2026-11-24 10:00 America/Chicago.
    fn tue_10am() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap()
    }

    fn due(l: &Lead, step: usize, now: DateTime<Utc>) -> FollowUpDecision {
        let c = config();
        on_follow_up_due(&FollowUpDue {
            business: c.business("spartan").unwrap(),
            lead: l,
            step,
            consent: None,
            unreachable: false,
            now,
            quiet_until: None,
        })
    }

    #[test]
    fn default_steps_are_30_minutes_2_hours_and_next_morning_at_opening() {
        let c = config();
        let b = c.business("spartan").unwrap();
        let t = tue_10am();
        assert_eq!(due_at(b, 0, t), Some(t + Duration::minutes(30)));
        assert_eq!(due_at(b, 1, t), Some(t + Duration::hours(2)));
        // Wednesday 07:00 Chicago = 13:00 UTC.
        assert_eq!(
            due_at(b, 2, t),
            Some(Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).unwrap())
        );
        assert_eq!(due_at(b, 3, t), None);
    }

    #[test]
    fn next_morning_skips_closed_days_and_is_never_the_same_day() {
        let c = config();
        let b = c.business("spartan").unwrap();
        // Friday 2026-11-27 05:00 Chicago (before opening): next morning is
        // Monday (the fixture is closed at weekends), not Friday 07:00.
        let fri_5am = Utc.with_ymd_and_hms(2026, 11, 27, 11, 0, 0).unwrap();
        assert_eq!(
            next_morning(b, fri_5am),
            Utc.with_ymd_and_hms(2026, 11, 30, 13, 0, 0).unwrap()
        );
        // Across the spring DST change: Saturday 2027-03-13 evening ->
        // Monday 07:00 CDT = 12:00 UTC.
        let sat = Utc.with_ymd_and_hms(2027, 3, 14, 2, 0, 0).unwrap();
        assert_eq!(
            next_morning(b, sat),
            Utc.with_ymd_and_hms(2027, 3, 15, 12, 0, 0).unwrap()
        );
    }

    #[test]
    fn a_texted_lead_gets_the_step_and_the_next_one_is_scheduled() {
        let t = tue_10am();
        let l = lead(1, t);
        match due(&l, 0, t + Duration::minutes(30)) {
            FollowUpDecision::Send { body, next } => {
                assert!(body.contains("Spartan Plumbing"), "{body}");
                assert_eq!(next, Some(t + Duration::hours(2)));
            }
            other => panic!("{other:?}"),
        }
        // The last step schedules nothing after it.
        assert!(matches!(
            due(&l, 2, t + Duration::hours(21)),
            FollowUpDecision::Send { next: None, .. }
        ));
    }

    #[test]
    fn a_late_step_sends_once_and_keeps_the_next_one_apart() {
        let t = tue_10am();
        let l = lead(1, t);
        // The process was down until 13:00: step 1 (due 10:30) fires late;
        // step 2 (due 12:00, also past) keeps its planned 90 minutes from
        // it, not a burst right behind.
        let late = t + Duration::hours(3);
        match due(&l, 0, late) {
            FollowUpDecision::Send { next, .. } => {
                assert_eq!(next, Some(late + Duration::minutes(90)))
            }
            other => panic!("{other:?}"),
        }
    }

    /// Found in review: a Tuesday 20:30 call; step 1 is held by quiet
    /// hours until Wednesday 09:00. Step 2 follows 90 minutes after it, and
    /// the next-morning step is Thursday's opening, not a "good morning"
    /// squeezed in behind them on Wednesday.
    #[test]
    fn after_an_evening_call_the_held_steps_do_not_pile_up() {
        let c = config();
        let b = c.business("spartan").unwrap();
        // Tuesday 2026-06-09 20:30 CDT = Wednesday 01:30 UTC.
        let call = Utc.with_ymd_and_hms(2026, 6, 10, 1, 30, 0).unwrap();
        let wed_9am = Utc.with_ymd_and_hms(2026, 6, 10, 14, 0, 0).unwrap();
        let second = next_step_at(b, 0, call, wed_9am).unwrap();
        assert_eq!(second, wed_9am + Duration::minutes(90));
        let third = next_step_at(b, 1, call, second).unwrap();
        // Thursday 07:00 CDT = 12:00 UTC.
        assert_eq!(third, Utc.with_ymd_and_hms(2026, 6, 11, 12, 0, 0).unwrap());
        // On schedule nothing moves.
        let t = tue_10am();
        for step in 0..2 {
            let on_time = due_at(b, step, t).unwrap();
            assert_eq!(next_step_at(b, step, t, on_time), due_at(b, step + 1, t));
        }
    }

    #[test]
    fn every_stop_condition_stops_the_sequence() {
        let t = tue_10am();
        let now = t + Duration::minutes(30);
        let c = config();
        let b = c.business("spartan").unwrap();
        let check = |l: &Lead, consent, unreachable| {
            on_follow_up_due(&FollowUpDue {
                business: b,
                lead: l,
                step: 0,
                consent,
                unreachable,
                now,
                quiet_until: None,
            })
        };
        let base = lead(1, t);
        for (status, why) in [
            (LeadStatus::Engaged, "customer_replied"),
            (LeadStatus::BookingRequested, "customer_replied"),
            (LeadStatus::Resolved, "closed"),
            (LeadStatus::Dismissed, "closed"),
        ] {
            let mut l = base.clone();
            l.status = status;
            assert_eq!(check(&l, None, false), FollowUpDecision::Stop(why));
        }
        assert_eq!(
            check(&base, Some(ConsentAction::OptOut), false),
            FollowUpDecision::Stop("opted_out")
        );
        assert_eq!(
            check(&base, None, true),
            FollowUpDecision::Stop("unreachable")
        );
        let mut disposed = base.clone();
        disposed.disposition = Some("left_voicemail".into());
        assert_eq!(
            check(&disposed, None, false),
            FollowUpDecision::Stop("disposition")
        );
        // A cold lead that never replied still gets the rest of its
        // follow-ups; one that was never texted at all gets none.
        let mut cold = base.clone();
        cold.status = LeadStatus::Cold;
        assert_eq!(
            check(&cold, None, false),
            FollowUpDecision::Stop("never_texted")
        );
        cold.follow_ups_sent = 1;
        assert!(matches!(
            check(&cold, None, false),
            FollowUpDecision::Send { .. }
        ));
    }

    #[test]
    fn waits_for_the_instant_text_but_not_forever() {
        let t = tue_10am();
        let mut l = lead(1, t);
        l.status = LeadStatus::New;
        let now = t + Duration::minutes(30);
        assert_eq!(
            due(&l, 0, now),
            FollowUpDecision::Wait {
                until: now + WAIT_FOR_INSTANT,
                reason: "instant text not sent yet"
            }
        );
        // The recipient's night holds a step that would otherwise go.
        let texted = lead(1, t);
        let morning = now + Duration::hours(9);
        let c = config();
        let held = on_follow_up_due(&FollowUpDue {
            business: c.business("spartan").unwrap(),
            lead: &texted,
            step: 0,
            consent: None,
            unreachable: false,
            now,
            quiet_until: Some(morning),
        });
        assert_eq!(
            held,
            FollowUpDecision::Wait {
                until: morning,
                reason: "quiet_hours"
            }
        );
        assert_eq!(
            due(&l, 0, t + Duration::hours(25)),
            FollowUpDecision::Stop("instant_text_never_sent")
        );
    }

    #[test]
    fn quiet_leads_go_cold_after_the_configured_age() {
        let t = tue_10am();
        let mut l = lead(1, t);
        let day = Duration::hours(24);
        assert_eq!(
            cold_check(&l, t + Duration::hours(23), day),
            ColdCheck::CheckAt(t + day)
        );
        assert_eq!(cold_check(&l, t + day, day), ColdCheck::GoCold);
        // Progress resets the clock.
        l.last_activity_at = t + Duration::hours(20);
        assert_eq!(
            cold_check(&l, t + day, day),
            ColdCheck::CheckAt(t + Duration::hours(44))
        );
        // Waiting on the office, closed or already cold: no more checks.
        for s in [
            LeadStatus::BookingRequested,
            LeadStatus::Resolved,
            LeadStatus::Dismissed,
            LeadStatus::Cold,
        ] {
            l.status = s;
            assert_eq!(cold_check(&l, t + Duration::days(5), day), ColdCheck::Done);
        }
    }
}
