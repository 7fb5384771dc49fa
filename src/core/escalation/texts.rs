//! What pages and safety texts say, rendered from the owner's templates.

use super::Page;
use crate::config::escalation_templates::EscalationTemplates;
use crate::config::translations::Translations;
use crate::core::classify::{Hazard, Language};
use crate::domain::template::Vars;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::borrow::Cow;

/// The facts a page carries.
#[derive(Debug, Clone)]
pub struct PageFacts<'a> {
    pub business: &'a str,
    /// The caller's number as received (may be withheld on an IVR call).
    pub caller: &'a str,
    pub address: Option<&'a str>,
    /// Their text, or the voicemail transcript.
    pub what_they_said: &'a str,
    pub hazard: Hazard,
    /// When they reached us.
    pub at: DateTime<Utc>,
    /// The business's time zone: the tech reads local time.
    pub tz: Tz,
}

/// Plain words for a hazard, as a tech or caller would say it.
pub fn hazard_label(h: Hazard) -> &'static str {
    match h {
        Hazard::Gas => "gas smell",
        Hazard::CarbonMonoxide => "carbon monoxide",
        Hazard::Fire => "smoke or fire",
        Hazard::Electrical => "electrical hazard",
        Hazard::Flooding => "flooding",
        Hazard::Sewage => "sewage backing up",
        Hazard::NoHeat => "no heat",
        Hazard::NoCooling => "no cooling",
        Hazard::Other => "emergency",
    }
}

/// What the caller's safety text says is being done (`{paging}`): never a
/// promise nobody is keeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// The on-call chain is being paged.
    Now,
    /// The business has no on-call roster: nobody is paged, the office is
    /// told.
    NoRoster,
    /// A tech has already taken the emergency (a later report of it).
    Taken,
}

impl Paging {
    pub fn sentence(self) -> &'static str {
        match self {
            Paging::Now => "We're paging our on-call tech now.",
            Paging::NoRoster => "We've alerted our team.",
            Paging::Taken => "",
        }
    }
}

/// What safety templates said before `{paging}` existed; an owner's own
/// template may still say it, and it is put right the same way.
const LEGACY_PAGING: [&str; 2] = [
    "We're paging our on-call tech now.",
    "We're paging our on-call tech and will call you shortly.",
];

/// The template key (and `prompts/<key>.txt` file) of the safety message
/// for a hazard. Every hazard has its own file so an owner can tune, say,
/// the flooding advice without touching gas.
pub fn safety_template_key(h: Hazard) -> &'static str {
    match h {
        Hazard::Gas => "safety_gas",
        Hazard::CarbonMonoxide => "safety_carbon_monoxide",
        Hazard::Fire => "safety_fire",
        Hazard::Electrical => "safety_electrical",
        Hazard::Flooding => "safety_flooding",
        Hazard::Sewage => "safety_sewage",
        Hazard::NoHeat => "safety_no_heat",
        Hazard::NoCooling => "safety_no_cooling",
        Hazard::Other => "safety_other",
    }
}

/// Longest caller quote in an SMS page: enough for a voicemail's gist,
/// short enough to read at a red light.
pub(crate) const SMS_QUOTE_CHARS: usize = 300;
/// Longest quote read out on a page call (about 30 s of speech).
pub(crate) const SPOKEN_QUOTE_CHARS: usize = 400;

/// The escalation's templates as a caller writing in `lang` reads them: the
/// owner's translations (`prompts/<lang>/`) where they ship one.
pub fn in_language<'a>(
    t: &'a EscalationTemplates,
    translations: &Translations,
    lang: Language,
) -> Cow<'a, EscalationTemplates> {
    if lang == Language::En {
        return Cow::Borrowed(t);
    }
    let mut out = t.clone();
    for (key, template) in out.templates.iter_mut() {
        if let Some(tr) = translations.get(lang.as_str(), key) {
            *template = tr.clone();
        }
    }
    Cow::Owned(out)
}

impl EscalationTemplates {
    /// The page texts for an emergency.
    ///
    /// The caller's number goes into the SMS as plain E.164 (`+15125550147`):
    /// iOS and Android both turn a bare number into a tap-to-call link, while
    /// a `tel:` URI is shown literally by some messaging apps and is harder
    /// to read aloud to a colleague. On the call the number is read digit by
    /// digit ("5 1 2, 5 5 5, 0 1 4 7"); text-to-speech would otherwise say
    /// "fifteen billion ...".
    pub fn page(&self, p: &PageFacts<'_>) -> Page {
        let local = p.at.with_timezone(&p.tz);
        let time = local.format("%a %b %-d, %-I:%M %p %Z").to_string();
        let address = p.address.map(str::trim).filter(|a| !a.is_empty());
        let base = Vars::new()
            .set("business", p.business)
            .set("hazard", hazard_label(p.hazard));
        let sms = self.get("page_sms").render(
            &base
                .clone()
                .set("caller", p.caller)
                .set("address", address.unwrap_or("not given"))
                .set("what_they_said", clip(p.what_they_said, SMS_QUOTE_CHARS))
                .set("time", time),
        );
        let script = self.get("page_call").render(
            &base
                .set("caller", spoken_number(p.caller))
                .set("address", address.unwrap_or("not given"))
                .set("what_they_said", clip(p.what_they_said, SPOKEN_QUOTE_CHARS))
                .set("time", local.format("%-I:%M %p").to_string()),
        );
        Page { sms, script }
    }

    /// The safety text the caller gets at once; `{paging}` says what is
    /// being done about it (see [`Paging`]). An empty `{paging}` takes one
    /// space (or the line break) beside it along, so no gap is left; the
    /// rest of the owner's spacing is theirs. An owner's template from
    /// before `{paging}` that still says the old "We're paging" sentence
    /// gets it replaced the same way when nobody is being paged.
    pub fn safety(&self, hazard: Hazard, business: &str, paging: Paging) -> String {
        // A stand-in no template contains, put right after rendering.
        const MARK: &str = "\u{1}";
        let mut text = self
            .get(safety_template_key(hazard))
            .render(&Vars::new().set("business", business).set("paging", MARK));
        if paging != Paging::Now {
            for old in LEGACY_PAGING {
                text = text.replace(old, MARK);
            }
        }
        let sentence = paging.sentence();
        if sentence.is_empty() {
            let gaps = [
                format!(" {MARK}"),
                format!("{MARK} "),
                format!("\n{MARK}"),
                MARK.to_string(),
            ];
            for gap in gaps {
                text = text.replace(&gap, "");
            }
        }
        text.replace(MARK, sentence)
    }

    /// "Mike from Spartan has your emergency and is calling you now."
    pub fn caller_confirmation(&self, tech: &str, business: &str) -> String {
        self.get("tech_accepted")
            .render(&Vars::new().set("business", business).set("tech", tech))
    }

    /// To everyone else who was paged once somebody took it.
    pub fn taken(&self, business: &str, tech: &str, hazard: Hazard) -> String {
        self.get("page_taken").render(
            &Vars::new()
                .set("business", business)
                .set("tech", tech)
                .set("hazard", hazard_label(hazard)),
        )
    }

    /// Said on the page call after the tech pressed 1, with the caller's
    /// number read digit by digit.
    pub fn page_accepted(&self, caller: &str) -> String {
        self.get("page_accepted")
            .render(&Vars::new().set("caller", spoken_number(caller)))
    }

    /// The after-hours menu prompt (`twiml::emergency_menu`).
    pub fn emergency_menu(&self, business: &str) -> String {
        self.get("emergency_menu")
            .render(&Vars::new().set("business", business))
    }

    /// Said before dialling the on-call tech (`twiml::connect_on_call`).
    pub fn emergency_connecting(&self, business: &str) -> String {
        self.get("emergency_connecting")
            .render(&Vars::new().set("business", business))
    }

    /// The voicemail greeting when the on-call tech did not pick up the
    /// connected call; the recording becomes an emergency lead.
    pub fn emergency_no_answer(&self, business: &str) -> String {
        self.get("emergency_no_answer")
            .render(&Vars::new().set("business", business))
    }

    /// To the caller when the chain is exhausted.
    pub fn unanswered(&self, business: &str) -> String {
        self.get("emergency_unanswered")
            .render(&Vars::new().set("business", business))
    }
}

/// At most `max` characters, cut at a word and marked with "…". Voicemail
/// transcripts run on; the tech needs the gist, not the whole ramble.
pub fn clip(s: &str, max: usize) -> String {
    let s = crate::domain::text::one_line(s);
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut,
    };
    format!("{}…", cut.trim_end_matches([',', '.', ';', ':', ' ']))
}

/// A number as text-to-speech should read it: `+15125550147` →
/// `"5 1 2, 5 5 5, 0 1 4 7"` (North American numbers in their usual groups,
/// others digit by digit). Anything that is not a number is read as is.
pub fn spoken_number(raw: &str) -> String {
    let digits: Vec<char> = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() || !raw.trim().starts_with('+') {
        return raw.to_string();
    }
    let join = |d: &[char]| {
        d.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    if digits.len() == 11 && digits[0] == '1' {
        format!(
            "{}, {}, {}",
            join(&digits[1..4]),
            join(&digits[4..7]),
            join(&digits[7..])
        )
    } else {
        join(&digits)
    }
}
