//! A customer's text, before any routing: what it does to the consent
//! ledger, the one text the ledger owes them back, and whether it goes on to
//! be routed as a reply. Which lead it joins, and the words of the texts
//! back in the customer's own language, are decided here too.
//!
//! Carrier keywords (a message that is only `STOP`, `START`, `HELP`) come
//! first: fixed by law and carrier rules. Then plain language read by the
//! owner's rules, which report every intent found: "remove me from these
//! texts, btw I smell gas" is an opt-out AND an emergency. The opt-out is
//! recorded with its one confirmation (carrying the hazard's safety line,
//! since no other text may follow), and the on-call tech is still paged:
//! pages go to staff and never depend on the caller's consent.

use crate::config::Business;
use crate::core::classify::{Classification, Hazard, Intent, Keyword, Language};
use crate::domain::template::Template;
use crate::domain::{ConsentAction, Lead, MessageKind};
use chrono::{DateTime, Duration, Utc};

/// What a text does before routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDecision {
    /// The consent ledger entry, and its source (`keyword`, `plain_language`).
    pub consent: Option<(ConsentAction, &'static str)>,
    /// The one text the ledger owes them: an opt-out or opt-in
    /// confirmation, or the HELP reply.
    pub owed: Option<MessageKind>,
    /// A hazard to escalate although the text also opted out.
    pub emergency: Option<Hazard>,
    /// Route it as a reply (by intent: booking, pricing, emergency...).
    pub route: bool,
}

/// Decides what a text does. `keyword` is the carrier keyword the whole
/// message is, if any; `consent` the customer's state before it.
pub fn on_text(
    keyword: Option<Keyword>,
    c: &Classification,
    consent: Option<ConsentAction>,
) -> TextDecision {
    let out = consent == Some(ConsentAction::OptOut);
    let (action, source) = match keyword {
        Some(Keyword::Stop) => (Some(ConsentAction::OptOut), "keyword"),
        Some(Keyword::Start) => (Some(ConsentAction::OptIn), "keyword"),
        Some(Keyword::Help) => (Some(ConsentAction::Help), "keyword"),
        // Any reasonable means of revoking consent counts, whatever else
        // the text says.
        None if c.has(Intent::OptOut) => (Some(ConsentAction::OptOut), "plain_language"),
        None if c.intent == Intent::OptIn => (Some(ConsentAction::OptIn), "plain_language"),
        None if c.intent == Intent::Help => (Some(ConsentAction::Help), "plain_language"),
        None => (None, ""),
    };
    let owed = match action {
        Some(ConsentAction::OptOut) if !out => Some(MessageKind::OptOutConfirmation),
        Some(ConsentAction::OptIn) if out => Some(MessageKind::OptInConfirmation),
        Some(ConsentAction::Help) if !out => Some(MessageKind::HelpReply),
        _ => None,
    };
    let emergency = match action {
        Some(ConsentAction::OptOut) if c.intent == Intent::Emergency => {
            Some(c.hazard.unwrap_or(Hazard::Other))
        }
        _ => None,
    };
    TextDecision {
        consent: action.map(|a| (a, source)),
        owed,
        emergency,
        route: action.is_none(),
    }
}

/// Does a text from the caller of `latest` join it, or open a new lead?
/// It joins an open lead, or any lead inside its instant-text window.
pub fn joins_lead(latest: Option<&Lead>, now: DateTime<Utc>, window: Duration) -> bool {
    latest.is_some_and(|l| l.status.is_open() || now < l.first_call_at + window)
}

/// Template `name` as a customer writing in `lang` reads it: the owner's
/// translation (`prompts/<lang>/`) if they ship one, else `original`.
pub fn in_language<'a>(
    b: &'a Business,
    lang: Language,
    name: &str,
    original: &'a Template,
) -> &'a Template {
    match lang {
        Language::En => original,
        other => b.translations.get(other.as_str(), name).unwrap_or(original),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classify::Classifier;

    fn read(text: &str) -> Classification {
        Classifier::default().classify(text)
    }

    #[test]
    fn carrier_keywords_and_plain_language_each_owe_one_text() {
        let stop = on_text(Some(Keyword::Stop), &read("STOP"), None);
        assert_eq!(stop.consent, Some((ConsentAction::OptOut, "keyword")));
        assert_eq!(stop.owed, Some(MessageKind::OptOutConfirmation));
        assert!(!stop.route);
        // A second STOP owes nothing more.
        let again = on_text(
            Some(Keyword::Stop),
            &read("STOP"),
            Some(ConsentAction::OptOut),
        );
        assert_eq!(again.owed, None);
        // START confirms only after an opt-out; HELP is not answered after one.
        assert_eq!(
            on_text(Some(Keyword::Start), &read("START"), None).owed,
            None
        );
        assert_eq!(
            on_text(
                Some(Keyword::Start),
                &read("START"),
                Some(ConsentAction::OptOut)
            )
            .owed,
            Some(MessageKind::OptInConfirmation)
        );
        assert_eq!(
            on_text(
                Some(Keyword::Help),
                &read("HELP"),
                Some(ConsentAction::OptOut)
            )
            .owed,
            None
        );
        let plain = on_text(None, &read("please stop texting me"), None);
        assert_eq!(
            plain.consent,
            Some((ConsentAction::OptOut, "plain_language"))
        );
        let booking = on_text(None, &read("can someone come tomorrow morning?"), None);
        assert_eq!(booking.consent, None);
        assert!(booking.route);
    }

    /// "Stop texting me, I smell gas": the opt-out is recorded with its
    /// confirmation, and the emergency is still escalated.
    #[test]
    fn an_opt_out_with_an_emergency_keeps_both() {
        let c = read("remove me from these texts. btw i smell gas by the water heater");
        assert_eq!(c.intent, Intent::Emergency);
        let d = on_text(None, &c, None);
        assert_eq!(d.consent, Some((ConsentAction::OptOut, "plain_language")));
        assert_eq!(d.owed, Some(MessageKind::OptOutConfirmation));
        assert_eq!(d.emergency, Some(Hazard::Gas));
        assert!(
            !d.route,
            "no booking link or acknowledgement after an opt-out"
        );
    }
}
