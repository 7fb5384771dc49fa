//! What the classifier says about a message: its intents, hazard,
//! language, and the rules that matched.

use std::fmt;
use std::str::FromStr;

/// What a reply is about, in priority order: when several intents match,
/// the one listed first is the primary intent (what the business must do
/// first). Every intent found is in [`Classification::intents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// A safety problem that needs someone now. Comes first: a caller who
    /// says "stop texting me, I smell gas" must still get help (the opt-out
    /// is in [`Classification::intents`] and must be honoured too).
    Emergency,
    /// Stop texting me (TCPA / carrier rules).
    OptOut,
    /// Start texting me again.
    OptIn,
    /// Who is this / what is this.
    Help,
    /// Asks about prices, quotes, fees or financing.
    Pricing,
    /// Wants a visit or answers a scheduling question.
    Booking,
    /// Does not need us (anymore).
    NotInterested,
    /// Anything else: thanks, reactions, questions about hours, ...
    Other,
}

impl Intent {
    /// Every intent, in priority order.
    pub const ALL: [Intent; 8] = [
        Intent::Emergency,
        Intent::OptOut,
        Intent::OptIn,
        Intent::Help,
        Intent::Pricing,
        Intent::Booking,
        Intent::NotInterested,
        Intent::Other,
    ];

    /// The stable snake_case name used in logs, the corpus and the rules file.
    pub fn as_str(&self) -> &'static str {
        match self {
            Intent::OptOut => "opt_out",
            Intent::OptIn => "opt_in",
            Intent::Help => "help",
            Intent::Emergency => "emergency",
            Intent::Booking => "booking",
            Intent::Pricing => "pricing",
            Intent::NotInterested => "not_interested",
            Intent::Other => "other",
        }
    }

    /// Position in the priority order (0 is most important).
    pub(crate) fn priority(self) -> usize {
        Intent::ALL
            .iter()
            .position(|&i| i == self)
            .unwrap_or(usize::MAX)
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown intent name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownIntent(pub String);

impl fmt::Display for UnknownIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown intent {:?}; expected one of: {}",
            self.0,
            intent_names()
        )
    }
}

impl std::error::Error for UnknownIntent {}

impl FromStr for Intent {
    type Err = UnknownIntent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Intent::ALL
            .into_iter()
            .find(|i| i.as_str() == s.trim())
            .ok_or_else(|| UnknownIntent(s.to_string()))
    }
}

fn intent_names() -> String {
    Intent::ALL.map(|i| i.as_str()).join(", ")
}

/// The kind of danger behind an [`Intent::Emergency`]. Serialised by its
/// snake_case name (as in [`Hazard::as_str`]) so an escalation's stored
/// state reads like the rules file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// Gas smell or leak.
    Gas,
    /// Carbon monoxide alarm.
    CarbonMonoxide,
    /// Smoke, sparks, burning smell, melting, electrical fire.
    Fire,
    /// Exposed or live wires, hot or crackling switch, without smoke; also
    /// a power cut where someone depends on medical equipment.
    Electrical,
    /// Burst pipe, water pouring, ceiling leaking or coming down.
    Flooding,
    /// Sewage backing up.
    Sewage,
    /// No heat in the cold or with vulnerable people.
    NoHeat,
    /// No cooling in extreme heat with vulnerable people.
    NoCooling,
    /// Any other emergency (tree through the roof, "this is an emergency").
    Other,
}

impl Hazard {
    /// Every hazard, in the order of the rules file's usual sections.
    pub const ALL: [Hazard; 9] = [
        Hazard::Gas,
        Hazard::CarbonMonoxide,
        Hazard::Fire,
        Hazard::Electrical,
        Hazard::Flooding,
        Hazard::Sewage,
        Hazard::NoHeat,
        Hazard::NoCooling,
        Hazard::Other,
    ];

    /// The snake_case name, as written in `[emergency: NAME]` headers.
    pub fn as_str(&self) -> &'static str {
        match self {
            Hazard::Gas => "gas",
            Hazard::CarbonMonoxide => "carbon_monoxide",
            Hazard::Fire => "fire",
            Hazard::Electrical => "electrical",
            Hazard::Flooding => "flooding",
            Hazard::Sewage => "sewage",
            Hazard::NoHeat => "no_heat",
            Hazard::NoCooling => "no_cooling",
            Hazard::Other => "other",
        }
    }
}

impl fmt::Display for Hazard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Carrier-style keywords that must be honoured when they are the whole
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyword {
    /// STOP, UNSUBSCRIBE, CANCEL, ... (opt out).
    Stop,
    /// START, UNSTOP (opt back in).
    Start,
    /// HELP, INFO.
    Help,
}

/// Normalised keyword spellings and what they mean. `YES` is deliberately
/// absent: customers answer "yes" to scheduling questions.
pub(super) const KEYWORDS: [(&str, Keyword); 15] = [
    ("STOP", Keyword::Stop),
    ("STOPALL", Keyword::Stop),
    ("UNSUBSCRIBE", Keyword::Stop),
    ("CANCEL", Keyword::Stop),
    ("END", Keyword::Stop),
    ("QUIT", Keyword::Stop),
    ("REVOKE", Keyword::Stop),
    ("OPTOUT", Keyword::Stop),
    ("ALTO", Keyword::Stop),
    ("PARAR", Keyword::Stop),
    ("BASTA", Keyword::Stop),
    ("START", Keyword::Start),
    ("UNSTOP", Keyword::Start),
    ("HELP", Keyword::Help),
    ("INFO", Keyword::Help),
];

/// Reduces a message to the form carriers compare keywords in: letters and
/// digits only, upper case. `" Stop!!! 🛑 "` becomes `"STOP"`, `"opt-out"`
/// becomes `"OPTOUT"` and `"stop all"` becomes `"STOPALL"`.
///
/// Characters whose upper case is still lower case (such as `ª`) are dropped,
/// so the result never contains a lower-case letter and applying the
/// function twice changes nothing.
pub fn normalize_keyword(message: &str) -> String {
    message
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .filter(|u| u.is_alphanumeric() && !u.is_lowercase())
        .collect()
}

/// The carrier keyword this message consists of, if any (whole-message match
/// after [`normalize_keyword`]).
pub fn keyword(message: &str) -> Option<Keyword> {
    // Keywords are short: skip the allocation for anything longer.
    if message.len() > 64 {
        return None;
    }
    let normalized = normalize_keyword(message);
    KEYWORDS
        .iter()
        .find(|(k, _)| *k == normalized)
        .map(|&(_, kw)| kw)
}

/// The language a message is written in (best guess).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// English (also the default when nothing else is recognised).
    En,
    /// Spanish.
    Es,
    /// Vietnamese.
    Vi,
    /// Chinese, simplified or traditional.
    Zh,
    /// Tagalog / Filipino.
    Tl,
}

impl Language {
    /// Every language, English first.
    pub const ALL: [Language; 5] = [
        Language::En,
        Language::Es,
        Language::Vi,
        Language::Zh,
        Language::Tl,
    ];

    /// The ISO 639-1 code: `en`, `es`, `vi`, `zh`, `tl`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
            Language::Vi => "vi",
            Language::Zh => "zh",
            Language::Tl => "tl",
        }
    }

    /// The language of a stored code; English for anything unknown.
    pub fn from_code(code: &str) -> Language {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str() == code)
            .unwrap_or(Language::En)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule that matched, for `ringback classify --explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The intent of the rule's section.
    pub intent: Intent,
    /// The hazard, for an emergency section.
    pub hazard: Option<Hazard>,
    /// Where the rule is: `intents.rules:152 [emergency: gas] phrase`.
    pub rule: String,
    /// The words it matched, as normalised.
    pub text: String,
    /// How it counted.
    pub effect: Effect,
}

/// How a matched rule counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The intent was found.
    Found,
    /// A `weak` or fallback rule: it counts only when no other rule did.
    Weak,
    /// A hazard that only makes the message a possible emergency (its
    /// `and:` condition is missing, an `unless:` downplays it, or it is
    /// hypothetical).
    Possible,
}

impl Effect {
    /// Short name used by `--explain`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Effect::Found => "found",
            Effect::Weak => "weak",
            Effect::Possible => "possible",
        }
    }
}

/// The result of classifying one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The primary intent: what the business must do first (emergency, then
    /// opt-out, then the rest, as in [`Intent::ALL`]).
    pub intent: Intent,
    /// The kind of danger; set exactly when `intent` is `Emergency`.
    pub hazard: Option<Hazard>,
    /// Which rule decided the primary intent, e.g.
    /// `intents.rules:152 [emergency: gas] phrase`, so an owner can find and
    /// edit it. `None` for "matched nothing".
    pub rule: Option<String>,
    /// Every intent found, primary first, in priority order (just
    /// `[Other]` when nothing matched). "Remove me from these texts. btw I
    /// smell gas" gives `[Emergency, OptOut]`: page, and honour the opt-out.
    pub intents: Vec<Intent>,
    /// A hazard was mentioned but not as a clear, present emergency (no
    /// heat without cold or anyone at risk, "no rush", "what if"): send it
    /// to the office flagged, but do not page. Never set together with an
    /// `Emergency` primary intent, nor for a negated or resolved hazard.
    pub possible_emergency: bool,
    /// The hazard behind `possible_emergency`, when set.
    pub possible_hazard: Option<Hazard>,
    /// The language the message is written in (best guess).
    pub language: Language,
    /// Every rule that matched, for `--explain`.
    pub matches: Vec<Match>,
}

impl Classification {
    /// Whether `intent` was found (primary or not). Callers must honour an
    /// opt-out even when an emergency comes first.
    pub fn has(&self, intent: Intent) -> bool {
        self.intents.contains(&intent)
    }
}

/// A mistake in a rules file, pointing at the line to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    /// The rules file name as given to [`Classifier::from_rules`].
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for RulesError {}
