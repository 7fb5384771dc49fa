//! What a customer's reply does: the route per intent, the (at most two)
//! context questions, and when the office hears about it.
//!
//! Opt-out, opt-in and HELP never get here: they are carrier keywords
//! handled with the consent ledger before any routing.

use crate::config::Business;
use crate::core::classify::extract::Extracted;
use crate::core::classify::{Hazard, Intent, Language};
use crate::core::conversation::in_language;
use crate::core::escalation::{Escalation, Status};
use crate::domain::Lead;
use crate::domain::LeadStatus;
use chrono::{DateTime, Duration, Utc};

/// Bit in `Lead::questions_asked`: "what is the problem, and where?"
pub const ASKED_DETAILS: i64 = 1;
/// Bit in `Lead::questions_asked`: "how urgent, and when to call?"
pub const ASKED_TIMING: i64 = 2;

/// What the shell knows when a reply arrives.
pub struct Reply<'a> {
    pub business: &'a Business,
    pub lead: &'a Lead,
    pub intent: Intent,
    pub hazard: Option<Hazard>,
    /// A hazard mentioned but not clearly happening: the office looks now.
    pub possible_emergency: bool,
    /// The language they wrote in: texts back use the owner's translation.
    pub language: Language,
    /// Details from everything the customer said so far, this text included.
    pub details: &'a Extracted,
    /// The tracking number the conversation is on.
    pub tracking_number: &'a str,
    /// An emergency on this lead is live: being paged, unanswered, or taken
    /// in the last hours (the shell knows the escalation).
    pub emergency_live: bool,
}

/// Why the office is told, as the headline of the packet it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficeNotice {
    Emergency,
    /// A hazard mentioned, not clearly happening: look now, nobody paged.
    PossibleEmergency,
    BookingRequest,
    PriceQuestion,
    NewMessage,
    /// The customer answered our questions: the packet is as full as it gets.
    DetailsIn,
}

impl OfficeNotice {
    pub fn headline(self) -> &'static str {
        match self {
            OfficeNotice::Emergency => "EMERGENCY - call now",
            OfficeNotice::PossibleEmergency => "Possible emergency - check now",
            OfficeNotice::BookingRequest => "Booking request",
            OfficeNotice::PriceQuestion => "Price question",
            OfficeNotice::NewMessage => "New message - needs a person",
            OfficeNotice::DetailsIn => "Details in",
        }
    }
}

/// The decision. The shell applies all of it in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPlan {
    /// The lead after this reply.
    pub lead: Lead,
    /// A text back to the customer, if any (at most one per reply).
    pub reply: Option<String>,
    pub notify: Option<OfficeNotice>,
    /// For the lead's timeline.
    pub event: String,
}

/// Routes one reply.
///
/// - emergency: the office is told at once and nothing is offered — never
///   a booking link (the emergency path pages the on-call tech);
/// - booking: the booking template, the lead becomes `booking_requested`
///   and the office gets the packet; a question rides along if a call-back
///   still lacks something;
/// - pricing: the pricing template (with its nudge to book), office told;
/// - not interested: the lead closes, nothing more is sent;
/// - anything else goes to a person: one acknowledgement per lead, the
///   office gets the message. An answer to our question asks the next one
///   (at most two per lead) or, when we know enough, hands over the packet.
pub fn on_reply(r: &Reply<'_>) -> ReplyPlan {
    let mut plan = route(r);
    // A hazard mentioned but not clearly happening ("is that a gas smell or
    // the stove?"): whatever else the text gets, the office is told to look
    // now, flagged. Nobody is paged on a maybe.
    if r.possible_emergency && r.intent != Intent::Emergency {
        plan.notify = Some(OfficeNotice::PossibleEmergency);
    }
    plan
}

/// How long after an emergency was taken (or, with no on-call chain, after
/// the last word in the conversation) a caller's texts still go to the
/// office instead of getting template replies.
pub const EMERGENCY_LIVE: Duration = Duration::hours(12);

/// Is an emergency on `lead` live — being paged, unanswered, or taken in
/// the last [`EMERGENCY_LIVE`] — given its latest escalation, if any?
pub fn emergency_live(lead: &Lead, escalation: Option<&Escalation>, now: DateTime<Utc>) -> bool {
    if lead.hazard.is_none() {
        return false;
    }
    match escalation {
        Some(e) => {
            matches!(e.status, Status::Paging | Status::Exhausted)
                || (e.status == Status::Acked
                    && e.acked_at.is_some_and(|t| now - t < EMERGENCY_LIVE))
        }
        // No roster, so no chain: the office has it while the conversation
        // is going.
        None => now - lead.last_activity_at < EMERGENCY_LIVE,
    }
}

fn route(r: &Reply<'_>) -> ReplyPlan {
    let b = r.business;
    let r_lang = r.language;
    let vars = b.vars(r.tracking_number);
    let mut lead = r.lead.clone();
    let was_awaiting = lead.awaiting_answer;
    lead.awaiting_answer = false;
    lead.intent = Some(r.intent.as_str().to_string());
    let open_status = |s: LeadStatus| match s {
        LeadStatus::New | LeadStatus::Texted | LeadStatus::Cold => LeadStatus::Engaged,
        // A closed lead the customer writes to again is live again.
        LeadStatus::Resolved | LeadStatus::Dismissed => LeadStatus::Engaged,
        other => other,
    };
    let plan = |lead: Lead, reply: Option<String>, notify, event: &str| ReplyPlan {
        lead,
        reply,
        notify,
        event: event.to_string(),
    };
    let emergency_open =
        r.emergency_live && !matches!(r.lead.status, LeadStatus::Resolved | LeadStatus::Dismissed);
    if emergency_open && r.intent != Intent::Emergency {
        // An emergency in progress: the on-call path owns this caller. No
        // booking link or price text ("yes please send someone asap" reads
        // as booking), no cheerful acknowledgement, and no "not
        // interested" closing the lead and with it the paging ("ok we're
        // all outside now, we're fine" reads as that). Whatever they say
        // goes to the office; the lead stays an emergency.
        lead.intent = r.lead.intent.clone();
        return plan(
            lead,
            None,
            Some(OfficeNotice::NewMessage),
            "message_during_emergency",
        );
    }
    match r.intent {
        Intent::Emergency => {
            lead.status = open_status(lead.status);
            lead.hazard = Some(r.hazard.unwrap_or(Hazard::Other).as_str().to_string());
            plan(lead, None, Some(OfficeNotice::Emergency), "emergency")
        }
        Intent::Booking if lead.status != LeadStatus::BookingRequested => {
            lead.status = LeadStatus::BookingRequested;
            let mut text =
                in_language(b, r_lang, "booking_reply", &b.templates.booking_reply).render(&vars);
            if let Some(q) = next_question(b, r_lang, &mut lead, r.details) {
                text = format!("{text} {q}");
            }
            plan(
                lead,
                Some(text),
                Some(OfficeNotice::BookingRequest),
                "booking_requested",
            )
        }
        Intent::Pricing if r.lead.intent.as_deref() != Some("pricing") => {
            lead.status = open_status(lead.status);
            plan(
                lead,
                Some(
                    in_language(b, r_lang, "pricing_reply", &b.templates.pricing_reply)
                        .render(&vars),
                ),
                Some(OfficeNotice::PriceQuestion),
                "pricing",
            )
        }
        Intent::NotInterested => {
            lead.status = LeadStatus::Dismissed;
            lead.closed_reason = Some("not_interested".into());
            plan(lead, None, None, "not_interested")
        }
        // Other — and a repeat booking or price question on a lead that
        // already got that answer: a person takes it from here.
        _ => {
            lead.status = open_status(lead.status);
            if was_awaiting {
                if let Some(q) = next_question(b, r_lang, &mut lead, r.details) {
                    let text = standalone_question(b, &q);
                    return plan(lead, Some(text), None, "answered_question");
                }
                return plan(lead, None, Some(OfficeNotice::DetailsIn), "details_in");
            }
            if !lead.acknowledged {
                lead.acknowledged = true;
                let text = in_language(b, r_lang, "acknowledgement", &b.templates.acknowledgement)
                    .render(&vars);
                return plan(
                    lead,
                    Some(text),
                    Some(OfficeNotice::NewMessage),
                    "handed_to_office",
                );
            }
            plan(
                lead,
                None,
                Some(OfficeNotice::NewMessage),
                "handed_to_office",
            )
        }
    }
}

/// The next context question worth asking, if any, marking it asked.
/// Details (what and where) come before timing (how urgent and when);
/// each is asked at most once, so a lead gets at most two questions.
fn next_question(b: &Business, r_lang: Language, lead: &mut Lead, d: &Extracted) -> Option<String> {
    let missing = d.missing();
    let lacks = |k: &str| missing.contains(&k);
    let vars = b.vars(&lead.tracking_number);
    if (lacks("problem") || lacks("address")) && lead.questions_asked & ASKED_DETAILS == 0 {
        lead.questions_asked |= ASKED_DETAILS;
        lead.awaiting_answer = true;
        return Some(
            in_language(b, r_lang, "question_details", &b.templates.question_details).render(&vars),
        );
    }
    if (lacks("urgency") || lacks("best_time")) && lead.questions_asked & ASKED_TIMING == 0 {
        lead.questions_asked |= ASKED_TIMING;
        lead.awaiting_answer = true;
        return Some(
            in_language(b, r_lang, "question_timing", &b.templates.question_timing).render(&vars),
        );
    }
    None
}

/// A question sent on its own names the business, as every text must.
pub fn standalone_question(b: &Business, question: &str) -> String {
    format!("{}: {question}", b.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classify::extract::extract;
    use crate::core::conversation::tests_support::{config, lead};
    use chrono::{TimeZone, Utc};

    fn route(intent: Intent, lead: &Lead, said: &str) -> ReplyPlan {
        let c = config();
        let b = c.business("spartan").unwrap();
        let details = extract(said);
        let hazard = (intent == Intent::Emergency).then_some(Hazard::Gas);
        on_reply(&Reply {
            possible_emergency: false,
            language: Language::En,
            business: b,
            lead,
            intent,
            hazard,
            details: &details,
            tracking_number: "+15125550100",
            // In these tests a lead with a hazard has a live emergency.
            emergency_live: lead.hazard.is_some(),
        })
    }

    fn texted() -> Lead {
        lead(7, Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap())
    }

    /// A maybe-hazard gets the office's eyes now, nobody paged, and the
    /// text's own reply still goes.
    #[test]
    fn a_possible_emergency_flags_the_office_without_paging() {
        let c = config();
        let b = c.business("spartan").unwrap();
        let details = extract("not sure if that's a gas smell or the stove, can someone come by");
        let p = on_reply(&Reply {
            possible_emergency: true,
            language: Language::En,
            business: b,
            lead: &texted(),
            intent: Intent::Booking,
            hazard: None,
            details: &details,
            tracking_number: "+15125550100",
            emergency_live: false,
        });
        assert_eq!(p.notify, Some(OfficeNotice::PossibleEmergency));
        assert!(p.reply.is_some(), "the booking reply still goes");
        assert!(
            p.lead.hazard.is_none(),
            "not an emergency lead: nobody is paged"
        );
    }

    /// A customer writing in Spanish gets the owner's Spanish templates.
    #[test]
    fn replies_use_the_customers_language_where_the_owner_ships_it() {
        let c = config();
        let b = c.business("spartan").unwrap();
        let details = extract("cuanto cuesta");
        let p = on_reply(&Reply {
            possible_emergency: false,
            language: Language::Es,
            business: b,
            lead: &texted(),
            intent: Intent::Pricing,
            hazard: None,
            details: &details,
            tracking_number: "+15125550100",
            emergency_live: false,
        });
        let text = p.reply.unwrap();
        let spanish = b.translations.get("es", "pricing_reply").expect("shipped");
        assert_eq!(text, spanish.render(&b.vars("+15125550100")));
        assert_ne!(
            text,
            b.templates.pricing_reply.render(&b.vars("+15125550100"))
        );
    }

    #[test]
    fn an_emergency_stays_live_while_paged_and_for_hours_after_it_is_taken() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap();
        let mut l = texted();
        assert!(!emergency_live(&l, None, t), "no hazard, no emergency");
        l.hazard = Some("gas".into());
        assert!(
            emergency_live(&l, None, t),
            "no roster: live while the talk goes on"
        );
        assert!(!emergency_live(&l, None, t + EMERGENCY_LIVE));
        let page = crate::core::escalation::Page {
            sms: String::new(),
            script: String::new(),
        };
        let mut e = Escalation::new(l.id, Hazard::Gas, vec![], page);
        e.status = Status::Paging;
        assert!(emergency_live(&l, Some(&e), t + Duration::days(3)));
        e.status = Status::Acked;
        e.acked_at = Some(t);
        assert!(emergency_live(&l, Some(&e), t + Duration::hours(11)));
        assert!(!emergency_live(&l, Some(&e), t + Duration::hours(13)));
    }

    #[test]
    fn booking_replies_with_the_booking_template_and_asks_what_is_missing() {
        let p = route(Intent::Booking, &texted(), "can someone come out tomorrow");
        assert_eq!(p.lead.status, LeadStatus::BookingRequested);
        assert_eq!(p.notify, Some(OfficeNotice::BookingRequest));
        let text = p.reply.unwrap();
        assert!(
            text.starts_with("Spartan Plumbing: Glad to help."),
            "{text}"
        );
        // We know when (tomorrow) but not what or where: ask that, once.
        assert!(text.contains("address or town"), "{text}");
        assert_eq!(p.lead.questions_asked, ASKED_DETAILS);
        assert!(p.lead.awaiting_answer);
    }

    #[test]
    fn booking_with_everything_known_asks_nothing() {
        let p = route(
            Intent::Booking,
            &texted(),
            "water heater leaking at 88 Orchard St, not urgent, tomorrow after 3 works",
        );
        let text = p.reply.unwrap();
        assert!(!text.contains('?'), "no question needed: {text}");
        assert_eq!(p.lead.questions_asked, 0);
        assert!(!p.lead.awaiting_answer);
    }

    /// Found in review: a caller in an emergency who wrote "yes please
    /// send someone asap" got the booking link, and "we're all outside,
    /// we're fine" closed the lead and stopped the paging.
    #[test]
    fn during_an_emergency_every_reply_goes_to_the_office_and_nothing_closes() {
        let mut l = texted();
        l.status = LeadStatus::Engaged;
        l.hazard = Some("gas".into());
        l.intent = Some("emergency".into());
        for (intent, said) in [
            (Intent::Booking, "yes please send someone asap"),
            (Intent::Pricing, "how much will this cost"),
            (
                Intent::NotInterested,
                "ok we're all outside now, we're fine",
            ),
            (Intent::Other, "the gas company is here"),
        ] {
            let p = route(intent, &l, said);
            assert_eq!(p.reply, None, "{said}");
            assert_eq!(p.notify, Some(OfficeNotice::NewMessage), "{said}");
            assert_eq!(p.lead.status, LeadStatus::Engaged, "{said}");
            assert_eq!(p.lead.intent.as_deref(), Some("emergency"), "{said}");
        }
        // Once the emergency is over (taken long ago, or the office closed
        // the lead), the caller is a customer again.
        let c = config();
        let b = c.business("spartan").unwrap();
        let details = extract("can you come back to fix the stove line");
        let over = on_reply(&Reply {
            possible_emergency: false,
            language: Language::En,
            business: b,
            lead: &l,
            intent: Intent::Booking,
            hazard: None,
            details: &details,
            tracking_number: "+15125550100",
            emergency_live: false,
        });
        assert!(over.reply.unwrap().contains("Glad to help"));
        l.status = LeadStatus::Resolved;
        let p = route(
            Intent::Booking,
            &l,
            "can you come back to fix the stove line",
        );
        assert!(p.reply.unwrap().contains("Glad to help"));
    }

    #[test]
    fn a_second_booking_text_goes_to_a_person_not_the_template_again() {
        let mut l = texted();
        l.status = LeadStatus::BookingRequested;
        l.acknowledged = true;
        let p = route(Intent::Booking, &l, "tomorrow at 3 works");
        assert_eq!(p.reply, None);
        assert_eq!(p.notify, Some(OfficeNotice::NewMessage));
        assert_eq!(p.lead.status, LeadStatus::BookingRequested);
    }

    #[test]
    fn pricing_gets_the_fee_text_and_a_nudge_once() {
        let p = route(Intent::Pricing, &texted(), "how much for a service call");
        let text = p.reply.clone().unwrap();
        assert!(text.contains("price before any work starts"), "{text}");
        assert!(text.contains("book you in"), "{text}");
        assert_eq!(p.lead.status, LeadStatus::Engaged);
        assert_eq!(p.notify, Some(OfficeNotice::PriceQuestion));
        // Asking again does not repeat the template: a person answers.
        let again = route(Intent::Pricing, &p.lead, "so how much is it");
        assert_ne!(again.reply.as_deref(), Some(text.as_str()));
        assert_eq!(again.notify, Some(OfficeNotice::NewMessage));
    }

    #[test]
    fn not_interested_closes_the_lead_silently() {
        let p = route(
            Intent::NotInterested,
            &texted(),
            "we found someone else thanks",
        );
        assert_eq!(p.lead.status, LeadStatus::Dismissed);
        assert_eq!(p.lead.closed_reason.as_deref(), Some("not_interested"));
        assert_eq!(p.reply, None);
        assert_eq!(p.notify, None);
    }

    #[test]
    fn emergency_never_gets_a_booking_link_and_the_office_hears_at_once() {
        let p = route(Intent::Emergency, &texted(), "I smell gas in the basement");
        assert_eq!(p.reply, None);
        assert_eq!(p.notify, Some(OfficeNotice::Emergency));
        assert_eq!(p.lead.hazard.as_deref(), Some("gas"));
        assert_eq!(p.lead.status, LeadStatus::Engaged);
    }

    #[test]
    fn other_is_acknowledged_once_then_left_to_a_person() {
        let p = route(Intent::Other, &texted(), "who is this?");
        assert!(p.reply.as_deref().unwrap().contains("get back to you"));
        assert!(p.lead.acknowledged);
        assert_eq!(p.notify, Some(OfficeNotice::NewMessage));
        let p2 = route(Intent::Other, &p.lead, "hello?");
        assert_eq!(p2.reply, None, "one acknowledgement per lead");
        assert_eq!(p2.notify, Some(OfficeNotice::NewMessage));
    }

    #[test]
    fn at_most_two_questions_then_the_packet_goes_to_the_office() {
        let first = route(Intent::Booking, &texted(), "need someone to come out");
        assert_eq!(first.lead.questions_asked, ASKED_DETAILS);
        // They answer where, but not when: the timing question follows.
        let second = route(Intent::Other, &first.lead, "clogged drain at 12 Elm St");
        let q = second.reply.clone().unwrap();
        assert!(q.starts_with("Spartan Plumbing: How urgent"), "{q}");
        assert_eq!(second.lead.questions_asked, ASKED_DETAILS | ASKED_TIMING);
        assert_eq!(second.notify, None);
        // Whatever they answer now, no third question: the office takes it.
        let third = route(Intent::Other, &second.lead, "idk");
        assert_eq!(third.reply, None);
        assert_eq!(third.notify, Some(OfficeNotice::DetailsIn));
        assert!(!third.lead.awaiting_answer);
    }

    #[test]
    fn a_reply_reopens_a_cold_or_closed_lead() {
        for status in [LeadStatus::Cold, LeadStatus::Resolved, LeadStatus::New] {
            let mut l = texted();
            l.status = status;
            let p = route(Intent::Other, &l, "hi are you still able to help");
            assert_eq!(p.lead.status, LeadStatus::Engaged, "from {status}");
        }
    }
}
