//! Intent classification of customers' SMS replies and voicemail
//! transcripts.
//!
//! A message is read in four steps:
//!
//! 1. **Carrier keywords.** A message that is only a keyword such as `STOP`,
//!    `START` or `HELP` (any case, any punctuation or emoji around it) is
//!    decided by [`keyword`] before anything else. These are fixed by law and
//!    carrier rules, so they live in code, not in the editable rules file.
//! 2. **Normalisation** ([`Classifier::normalize`]): lower case, accents
//!    folded (Spanish, Vietnamese), Chinese kept (traditional characters
//!    mapped to simplified by `[characters]`), SMS shorthand and
//!    voice-to-text mishearings corrected (`[spelling]`: `pls`, `tmrw`,
//!    "fern ace"), fillers dropped ("um"), stutters ("the the") and
//!    elongations ("stoppp") undone, and one typo forgiven in longer words
//!    that are close to a word the rules use (`[fuzzy]`). The text is then
//!    cut into clauses at punctuation and at joining words (`[clauses]`:
//!    "but", "and", "also"...).
//! 3. **Rules.** The owner-editable rules file (`prompts/intents.rules`,
//!    which documents its own format) is compiled once into a single
//!    [`regex::RegexSet`] plus one regex per pattern. Per message the set
//!    says which patterns occur at all; only those are located, to apply
//!    negation ("no gas smell"), look-alikes ("stop by") and clause scope.
//! 4. **Hazards.** A hazard phrase counts as an emergency when it is not
//!    negated, not hypothetical ("if I ever smell gas") and not resolved
//!    later in the message ("turned out to be the toaster", unless it is
//!    "still smoking" after that). Hazards that need a second condition (no
//!    heat needs cold or someone vulnerable) or that the message downplays
//!    ("no rush") set [`Classification::possible_emergency`] instead.
//!
//! Every intent found is reported ([`Classification::intents`]); the
//! primary one follows the order of [`Intent::ALL`]: emergency, then
//! opt-out, then the rest.

pub mod eval;
pub mod extract;
mod matcher;
mod rules;
mod text;

use matcher::Hits;
use rules::{Anchor, Rule, Rules, Section};
use std::fmt;
use std::str::FromStr;
use text::Analyzed;

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
const KEYWORDS: [(&str, Keyword); 15] = [
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

/// A compiled rules file. Cheap to share behind an `Arc`; classification
/// takes `&self`.
#[derive(Debug)]
pub struct Classifier {
    rules: Rules,
}

/// How much of a message is read.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// The longest prefix of `s` of at most `max` bytes, cut at a character.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `only:` and `clause only:` rules look at messages and clauses of at
/// most this many words.
const SHORT_ONLY: u16 = 16;

/// Where the patterns of one message occur.
struct Ctx<'a> {
    rules: &'a Rules,
    a: &'a Analyzed,
    hits: Hits<'a>,
}

/// Positions of the `[resolved]`, `[ongoing]` and `[hypothetical]` cues.
struct Cues {
    resolved: Vec<(usize, usize)>,
    ongoing: Vec<(usize, usize)>,
    hypothetical: Vec<(usize, usize)>,
}

impl Classifier {
    /// The rules shipped with ringback (`prompts/intents.rules`).
    pub fn default_rules() -> &'static str {
        include_str!("../../../prompts/intents.rules")
    }

    /// The classifier built from [`Classifier::default_rules`].
    ///
    /// # Panics
    /// Only if the shipped rules file is broken, which a unit test rules out.
    #[allow(clippy::should_implement_trait)]
    pub fn default() -> Classifier {
        Classifier::from_rules(Self::default_rules(), "intents.rules")
            .unwrap_or_else(|e| panic!("shipped rules file is invalid: {e}"))
    }

    /// Compiles a rules file. `file_name` is only used in error messages and
    /// rule descriptions. Every error names the offending line.
    pub fn from_rules(text: &str, file_name: &str) -> Result<Classifier, RulesError> {
        Ok(Classifier {
            rules: rules::compile_rules(text, file_name)?,
        })
    }

    /// The normalised form that rules are matched against: lower case,
    /// accents folded, emoji and symbols removed, shorthand, mishearings,
    /// elongations and typos corrected, fillers and stutters dropped,
    /// whitespace collapsed. `"EMERGANCY!! Basement flooing 😭"` becomes
    /// `"emergency!! basement flooding"`.
    pub fn normalize(&self, message: &str) -> String {
        self.rules.text.analyze(message).text
    }

    /// The clauses of a message after normalisation, as rules see them:
    /// "stop by tmrw but pls stop texting" gives `["stop by tomorrow",
    /// "please stop texting"]`.
    pub fn clauses(&self, message: &str) -> Vec<String> {
        let a = self.rules.text.analyze(message);
        a.clauses
            .iter()
            .map(|&(s, e)| a.span_text(s as usize, e as usize).to_string())
            .collect()
    }

    /// The language a message is written in: Chinese or Vietnamese by their
    /// letters, otherwise by counting the `[language: ...]` words.
    pub fn language(&self, message: &str) -> Language {
        let a = self.rules.text.analyze(message);
        self.detect_language(message, &a)
    }

    fn detect_language(&self, message: &str, a: &Analyzed) -> Language {
        let (mut cjk, mut vi) = (0, 0);
        for c in message.chars() {
            if text::is_cjk(c) {
                cjk += 1;
            } else if text::is_vietnamese(c) {
                vi += 1;
            }
        }
        if cjk > 0 {
            return Language::Zh;
        }
        if vi > 0 {
            return Language::Vi;
        }
        let langs = &self.rules.languages;
        let counts = &a.lang_counts;
        let mut best = (Language::En, 0u16);
        for (k, (lang, _)) in langs.iter().enumerate().take(8) {
            if counts[k] > best.1 {
                best = (*lang, counts[k]);
            }
        }
        best.0
    }

    /// Classifies one message (its first [`MAX_MESSAGE_BYTES`] bytes: an SMS
    /// is at most 1,600 characters and a voicemail transcript a few
    /// thousand).
    pub fn classify(&self, message: &str) -> Classification {
        let message = truncate(message, MAX_MESSAGE_BYTES);
        let a = self.rules.text.analyze(message);
        let language = self.detect_language(message, &a);
        let decided = |intent: Intent, rule: String| Classification {
            intent,
            hazard: None,
            rule: Some(rule),
            intents: vec![intent],
            possible_emergency: false,
            possible_hazard: None,
            language,
            matches: Vec::new(),
        };
        if let Some(kw) = keyword(message) {
            let intent = match kw {
                Keyword::Stop => Intent::OptOut,
                Keyword::Start => Intent::OptIn,
                Keyword::Help => Intent::Help,
            };
            return decided(
                intent,
                format!("carrier keyword {}", normalize_keyword(message)),
            );
        }
        if let Some((re, description)) = &self.rules.reaction {
            if re.is_match(&a.text) {
                return decided(Intent::Other, description.clone());
            }
        }
        let ctx = Ctx {
            rules: &self.rules,
            a: &a,
            hits: self.rules.matcher.hits(&a),
        };
        let mut matches: Vec<Match> = Vec::new();
        let mut hazard: Option<(Hazard, String)> = None;
        let mut possible: Option<Hazard> = None;
        let mut cues: Option<Cues> = None;

        // Emergencies.
        for section in self.rules.sections.iter() {
            if section.intent != Intent::Emergency {
                continue;
            }
            let hz = section.hazard.unwrap_or(Hazard::Other);
            let mut vetoed: Option<bool> = None;
            'rules: for rule in &section.rules {
                let Some((occs, and_ok)) = ctx.rule_status(section, rule) else {
                    continue;
                };
                let cues = cues.get_or_insert_with(|| ctx.cues());
                let vetoed = *vetoed.get_or_insert_with(|| {
                    section
                        .unless
                        .iter()
                        .any(|&p| ctx.occurs_any(section, p, &[]))
                });
                for &(s, e) in &occs {
                    if cues.resolved(s, e) {
                        continue;
                    }
                    let sure = and_ok && !vetoed && !cues.hypothetical(&a, s);
                    matches.push(Match {
                        intent: Intent::Emergency,
                        hazard: Some(hz),
                        rule: rule.description.clone(),
                        text: a.span_text(s, e).to_string(),
                        effect: if sure {
                            Effect::Found
                        } else {
                            Effect::Possible
                        },
                    });
                    if sure {
                        if hazard.is_none() {
                            hazard = Some((hz, rule.description.clone()));
                        }
                        break 'rules;
                    }
                    possible.get_or_insert(hz);
                }
            }
        }

        // Everything else.
        let mut strong: Vec<(Intent, String)> = Vec::new();
        let mut weak: Vec<(Intent, String)> = Vec::new();
        for section in self.rules.sections.iter() {
            if section.intent == Intent::Emergency
                || strong.iter().any(|(i, _)| *i == section.intent)
            {
                continue;
            }
            let mut vetoed: Option<bool> = None;
            for rule in &section.rules {
                let Some((occs, true)) = ctx.rule_status(section, rule) else {
                    continue;
                };
                if *vetoed.get_or_insert_with(|| {
                    section
                        .unless
                        .iter()
                        .any(|&p| ctx.occurs_any(section, p, &[]))
                }) {
                    break;
                }
                let is_weak = rule.weak || section.fallback;
                let (s, e) = occs[0];
                matches.push(Match {
                    intent: section.intent,
                    hazard: None,
                    rule: rule.description.clone(),
                    text: a.span_text(s, e).to_string(),
                    effect: if is_weak { Effect::Weak } else { Effect::Found },
                });
                if is_weak {
                    if !weak.iter().any(|(i, _)| *i == section.intent) {
                        weak.push((section.intent, rule.description.clone()));
                    }
                } else {
                    strong.push((section.intent, rule.description.clone()));
                    break;
                }
            }
        }
        let mut found: Vec<(Intent, String)> = Vec::new();
        if let Some((_, rule)) = &hazard {
            found.push((Intent::Emergency, rule.clone()));
        }
        found.extend(if strong.is_empty() { weak } else { strong });
        found.sort_by_key(|(i, _)| i.priority());
        let (intent, rule) = match found.first() {
            Some((i, r)) => (*i, Some(r.clone())),
            None => (Intent::Other, None),
        };
        let intents = if found.is_empty() {
            vec![Intent::Other]
        } else {
            found.iter().map(|(i, _)| *i).collect()
        };
        let emergency = intent == Intent::Emergency;
        Classification {
            intent,
            hazard: hazard.map(|(h, _)| h),
            rule,
            intents,
            possible_emergency: !emergency && possible.is_some(),
            possible_hazard: if emergency { None } else { possible },
            language,
            matches,
        }
    }
}

impl Ctx<'_> {
    /// The matches of `rule` that count (anchor, negation, look-alikes,
    /// clause conditions), and whether its `and:` condition holds. `None`
    /// when no match counts.
    fn rule_status(&self, section: &Section, rule: &Rule) -> Option<(Vec<(usize, usize)>, bool)> {
        // A message (or clause) made only of such words is short: do not
        // even look at long ones.
        let short = |s: u16, e: u16| e > s && e - s <= SHORT_ONLY;
        match rule.anchor {
            Anchor::Only if self.a.toks.len() > SHORT_ONLY as usize => return None,
            Anchor::ClauseOnly if !self.a.clauses.iter().any(|&(s, e)| short(s, e)) => return None,
            _ => {}
        }
        if !self.hits.any(rule.pattern) {
            return None;
        }
        if rule
            .not
            .iter()
            .any(|&p| self.occurs_any(section, p, &section.ignore))
        {
            return None;
        }
        let n = self.a.toks.len();
        let mut occs: Vec<(usize, usize)> = match rule.anchor {
            Anchor::Anywhere => self.occurrences(section.negation, rule.pattern, &section.ignore),
            Anchor::Start => self
                .occurrences(false, rule.pattern, &section.ignore)
                .into_iter()
                .filter(|&(s, _)| s == 0)
                .collect(),
            Anchor::Whole => self
                .occurrences(false, rule.pattern, &section.ignore)
                .into_iter()
                .filter(|&(s, e)| s == 0 && e == n)
                .collect(),
            Anchor::Clause => self
                .occurrences(false, rule.pattern, &section.ignore)
                .into_iter()
                .filter(|&(s, e)| {
                    let (cs, ce) = self.a.clauses[self.a.clause_of(s)];
                    s == cs as usize && e == ce as usize
                })
                .collect(),
            Anchor::Only => {
                if n > 0 && self.covered(rule.pattern, 0, n) {
                    vec![(0, n)]
                } else {
                    Vec::new()
                }
            }
            Anchor::ClauseOnly => self
                .a
                .clauses
                .iter()
                .filter(|&&(s, e)| short(s, e))
                .map(|&(s, e)| (s as usize, e as usize))
                .filter(|&(s, e)| self.covered(rule.pattern, s, e))
                .collect(),
        };
        if !rule.not_clause.is_empty() {
            occs.retain(|&(s, _)| {
                let c = self.a.clause_of(s);
                !rule
                    .not_clause
                    .iter()
                    .any(|&p| self.occurs_in_clause(section, p, c))
            });
        }
        if !rule.and_clause.is_empty() {
            occs.retain(|&(s, _)| {
                let c = self.a.clause_of(s);
                rule.and_clause
                    .iter()
                    .any(|&p| self.occurs_in_clause(section, p, c))
            });
        }
        if occs.is_empty() {
            return None;
        }
        let and_ok = rule.and.is_empty()
            || rule
                .and
                .iter()
                .any(|&p| self.occurs_any(section, p, &section.ignore));
        Some((occs, and_ok))
    }

    /// Whether words `from..to` are covered by a chain of matches of `p`.
    fn covered(&self, p: usize, from: usize, to: usize) -> bool {
        let mut reach = vec![false; to - from + 1];
        reach[0] = true;
        for (s, e) in self.hits.of(p).iter() {
            if s >= from && e <= to && e > s && reach[s - from] {
                reach[e - from] = true;
            }
        }
        reach[to - from]
    }

    /// Whether words `s..e` overlap a match of one of the `ignore` patterns.
    fn overlaps(&self, s: usize, e: usize, ignore: &[usize]) -> bool {
        ignore.iter().any(|&i| {
            self.hits
                .of(i)
                .iter()
                .any(|(gs, ge)| gs < e.max(s + 1) && s < ge.max(gs + 1))
        })
    }

    /// Every match of pattern `p` that is not negated (when `negation`) and
    /// does not overlap a look-alike from `ignore`.
    fn occurrences(&self, negation: bool, p: usize, ignore: &[usize]) -> Vec<(usize, usize)> {
        self.hits
            .of(p)
            .iter()
            .filter(|&(s, e)| !(self.overlaps(s, e, ignore) || negation && self.negated(s)))
            .collect()
    }

    fn occurs_any(&self, section: &Section, p: usize, ignore: &[usize]) -> bool {
        self.hits
            .of(p)
            .iter()
            .any(|(s, e)| !(self.overlaps(s, e, ignore) || section.negation && self.negated(s)))
    }

    fn occurs_in_clause(&self, section: &Section, p: usize, clause: usize) -> bool {
        self.hits.of(p).iter().any(|(s, e)| {
            self.a.clause_of(s) == clause
                && !(section.negation && self.negated(s))
                && !self.overlaps(s, e, &section.ignore)
        })
    }

    fn cues(&self) -> Cues {
        let all = |ps: &[usize], ignore: &[usize]| -> Vec<(usize, usize)> {
            ps.iter()
                .flat_map(|&p| self.occurrences(true, p, ignore))
                .collect()
        };
        let ig = &self.rules.cue_ignore;
        Cues {
            resolved: all(&self.rules.resolved, &ig[0]),
            ongoing: all(&self.rules.ongoing, &ig[1]),
            hypothetical: all(&self.rules.hypothetical, &ig[2]),
        }
    }

    /// Whether a negation word comes within the window of words before
    /// word `start`, in the same clause.
    fn negated(&self, start: usize) -> bool {
        let neg = &self.rules.negation;
        if neg.words.is_empty() || neg.window == 0 || start == 0 || start >= self.a.toks.len() {
            return false;
        }
        let a = self.a;
        let clause = a.clause_of(start);
        let cs = a.clauses[clause].0 as usize;
        let from = start.saturating_sub(neg.window).max(cs);
        (from..start).any(|i| {
            let w = a.word(i);
            if !neg.words.contains(w) && !text::stem(w).is_some_and(|s| neg.words.contains(s)) {
                return false;
            }
            // "not sure", "no one's answering": negates nothing.
            !neg.except.iter().any(|phrase| {
                phrase
                    .iter()
                    .enumerate()
                    .all(|(k, w)| i + k < a.toks.len() && a.word(i + k) == w)
            })
        })
    }
}

impl Cues {
    /// A hazard at words `s..e` is over when a `[resolved]` cue comes after
    /// it ("the gas smell was the stove knob", "... turned out to be the
    /// toaster"), or a cue contains its first word ("thanks for fixing the
    /// gas leak", "ya se arreglo la fuga", "it stopped sparking"), and no
    /// `[ongoing]` cue comes after that cue. A cue wholly before the hazard
    /// does not count: "the plumber fixed it last week now water is pouring
    /// out of the wall" is a new flood. So: a cue that ends after the
    /// hazard starts.
    fn resolved(&self, s: usize, e: usize) -> bool {
        let last = self
            .resolved
            .iter()
            .filter(|&&(rs, re)| re > s || rs >= e)
            .map(|&(rs, _)| rs)
            .max();
        match last {
            None => false,
            Some(r) => !self.ongoing.iter().any(|&(os, _)| os > r),
        }
    }

    /// A hazard is hypothetical when a `[hypothetical]` cue comes before it
    /// in its clause ("what if I smell gas"). Not after it: in a run-on
    /// voicemail "my basement is flooding can you come if the roads are
    /// clear" is one clause, and the flood is real.
    fn hypothetical(&self, a: &Analyzed, s: usize) -> bool {
        let clause = a.clause_of(s);
        self.hypothetical
            .iter()
            .any(|&(hs, _)| hs < s && a.clause_of(hs) == clause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiled once for all tests in this module.
    fn shared() -> &'static Classifier {
        static CLASSIFIER: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
        CLASSIFIER.get_or_init(Classifier::default)
    }

    /// Checks `(message, primary intent)` pairs; reports every failure.
    fn expect(cases: &[(&str, Intent)]) {
        let c = shared();
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|&(m, want)| {
                let got = c.classify(m);
                (got.intent != want).then(|| {
                    format!(
                        "{m:?}: want {want}, got {} {:?} via {:?}",
                        got.intent, got.intents, got.rule
                    )
                })
            })
            .collect();
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn shipped_rules_compile() {
        let c = Classifier::from_rules(Classifier::default_rules(), "intents.rules");
        assert!(c.is_ok(), "{}", c.err().unwrap());
    }

    #[test]
    fn intent_names_round_trip() {
        for i in Intent::ALL {
            assert_eq!(i.as_str().parse::<Intent>().unwrap(), i);
        }
        assert!("stop".parse::<Intent>().is_err());
        assert_eq!(Intent::ALL[0], Intent::Emergency, "emergency comes first");
        assert_eq!(Intent::ALL[1], Intent::OptOut, "then opt-out");
    }

    #[test]
    fn normalization() {
        let c = shared();
        assert_eq!(
            c.normalize("EMERGANCY!!  Basement flooing 😭"),
            "emergency!! basement flooding"
        );
        assert_eq!(
            c.normalize("It smels like gas, can u come"),
            "it smells like gas, can you come"
        );
        // Shorthand, elongation, stutter, fillers.
        assert_eq!(
            c.normalize("pls stoppp txting me tmrw"),
            "please stop texting me tomorrow"
        );
        assert_eq!(c.normalize("pleaseeee"), "please");
        // A dropped final g, when the -ing word is one the rules use.
        assert_eq!(c.normalize("quit hittin my phone"), "quit hitting my phone");
        assert_eq!(
            c.normalize("um the the water uh heater"),
            "the water heater"
        );
        // Voice-to-text mishearings.
        assert_eq!(c.normalize("the fern ace is out"), "the furnace is out");
        assert_eq!(c.normalize("the eater is broken"), "the heater is broken");
        assert_eq!(
            c.normalize("the sure line backed up"),
            "the sewer line backed up"
        );
        assert_eq!(c.normalize("gas leek"), "gas leak");
        // One keyboard slip in a long word; real words are left alone.
        assert_eq!(c.normalize("furnsce"), "furnace");
        assert_eq!(c.normalize("flodding"), "flooding");
        assert_eq!(c.normalize("parked"), "parked");
        // Accents, curly quotes, emoji, Chinese.
        assert_eq!(c.normalize("¿Cuánto cuesta?"), "cuanto cuesta?");
        assert_eq!(c.normalize("I don’t know"), "i don't know");
        assert_eq!(c.normalize("  🔥🔥 "), "");
        assert_eq!(c.normalize("請停止傳送簡訊"), "请停止传送简讯");
    }

    #[test]
    fn clause_splitting() {
        let c = shared();
        assert_eq!(
            c.clauses("stop by tmrw but pls stop texting"),
            ["stop by tomorrow", "please stop texting"]
        );
        assert_eq!(
            c.clauses("No gas smell, the pilot is out. Can you come?"),
            ["no gas smell", "the pilot is out", "can you come"]
        );
        assert_eq!(
            c.clauses("i smell gas and the kids are outside"),
            ["i smell gas", "the kids are outside"]
        );
        // "stop by" is not stop; "stop texting" and a bare "stop." are.
        expect(&[
            ("stop by after 2", Intent::Booking),
            ("can you stop by tomorrow", Intent::Booking),
            ("the AC won't stop running", Intent::Booking),
            ("Stop. We went with another company.", Intent::OptOut),
            ("we went with another company. stop", Intent::OptOut),
            ("please stop texting me", Intent::OptOut),
            ("stop the texts", Intent::OptOut),
        ]);
    }

    #[test]
    fn keywords() {
        assert_eq!(normalize_keyword(" Stop!!! 🛑 "), "STOP");
        assert_eq!(normalize_keyword("opt-out"), "OPTOUT");
        assert_eq!(normalize_keyword("stop all"), "STOPALL");
        for m in [
            "STOP",
            "stop all",
            "Unsubscribe",
            "cancel",
            "end.",
            "QUIT",
            "revoke",
            "opt out",
            "Alto",
            "parar",
            "BASTA",
        ] {
            assert_eq!(keyword(m), Some(Keyword::Stop), "{m}");
        }
        for m in ["START", "unstop!"] {
            assert_eq!(keyword(m), Some(Keyword::Start), "{m}");
        }
        for m in ["HELP", "info?"] {
            assert_eq!(keyword(m), Some(Keyword::Help), "{m}");
        }
        for m in ["YES", "stop by", "stopped", "help me", ""] {
            assert_eq!(keyword(m), None, "{m}");
        }
    }

    #[test]
    fn negation_and_resolution() {
        use Intent::*;
        expect(&[
            // Negated hazards.
            ("no gas smell, the pilot is out", Booking),
            ("No smoke, no sparks, outlet just stopped working", Booking),
            (
                "not sparking anymore, just want the outlet replaced",
                Booking,
            ),
            ("drain is slow but not backing up", Booking),
            ("nobody here smells gas, wrong number", Other),
            // Resolved hazards.
            (
                "false alarm, turned out to be the toaster lol",
                NotInterested,
            ),
            (
                "the gas smell was just a burner left on, all good now",
                NotInterested,
            ),
            ("water's gone down now, we're fine", NotInterested),
            // A cue that contains the hazard: it is the thing fixed.
            ("ya se arreglo la fuga, gracias", NotInterested),
            (
                "the outlet stopped sparking after i flipped the breaker, can someone check it tomorrow",
                Booking,
            ),
            (
                "CO alarm went off but it was just the battery, still want the furnace checked",
                Booking,
            ),
            (
                "we had a small leak last month, it's dry now, can someone check the drywall",
                Booking,
            ),
            // ... unless it is still going after that.
            (
                "we put the flames out but the outlet is still smoking",
                Emergency,
            ),
            (
                "smelled gas this morning, figured it was nothing, but now it's a lot stronger",
                Emergency,
            ),
            // People being fine does not end a hazard; a harmless cause does.
            ("the basement is flooding, we're fine though", Emergency),
            (
                "gas smell is strong, we're ok, we left the house",
                Emergency,
            ),
            (
                "the gas smell was the strongest near the water heater",
                Emergency,
            ),
            (
                "the smoke was from the outlet and it's really thick",
                Emergency,
            ),
            ("the burning smell was from the neighbors grill", Other),
            ("the gas company came and said we're safe", NotInterested),
            // Slow drips and "no rush" are not emergencies.
            ("slow drip under the sink, no rush", Booking),
            ("heat's out but it's mild, no rush", Booking),
            ("not an emergency but the water heater drips", Booking),
            // Unsure customers still get help.
            ("I think I smell gas? not sure", Emergency),
            (
                "not sure if this is an emergency but the switch is hot and crackling",
                Emergency,
            ),
        ]);
    }

    #[test]
    fn hazards_and_possible_emergencies() {
        let c = shared();
        let cases = [
            ("I smell gas in the kitchen", Hazard::Gas),
            ("carbon monoxide alarm going off", Hazard::CarbonMonoxide),
            ("outlet caught fire", Hazard::Fire),
            ("live wires hanging after the storm", Hazard::Electrical),
            ("burst pipe, water everywhere", Hazard::Flooding),
            (
                "sewage coming up the floor drain into the basement",
                Hazard::Sewage,
            ),
            ("no heat, 5 degrees, newborn at home", Hazard::NoHeat),
            (
                "AC died, it's 110 and my dad is on oxygen",
                Hazard::NoCooling,
            ),
            (
                "power is out and my mom's oxygen concentrator needs power",
                Hazard::Electrical,
            ),
            ("my toddler is locked in the car", Hazard::Other),
        ];
        for (m, want) in cases {
            let got = c.classify(m);
            assert_eq!(got.intent, Intent::Emergency, "{m}: {got:?}");
            assert_eq!(got.hazard, Some(want), "{m}");
            assert!(!got.possible_emergency, "{m}");
        }
        // A hazard that needs a second condition, or is hypothetical: flagged,
        // not paged.
        for (m, want) in [
            (
                "our heat went out, can someone come tomorrow",
                Hazard::NoHeat,
            ),
            ("the AC quit, can you come this week", Hazard::NoCooling),
            ("what should I do if I ever smell gas?", Hazard::Gas),
        ] {
            let got = c.classify(m);
            assert_ne!(got.intent, Intent::Emergency, "{m}");
            assert!(got.possible_emergency, "{m}: {got:?}");
            assert_eq!(got.possible_hazard, Some(want), "{m}");
            assert_eq!(got.hazard, None, "{m}");
        }
        // Negated or resolved: neither.
        for m in [
            "no gas smell, just a question",
            "the smoke was from the neighbor's grill, all good",
        ] {
            let got = c.classify(m);
            assert!(
                !got.possible_emergency && got.hazard.is_none(),
                "{m}: {got:?}"
            );
        }
        assert_eq!(c.classify("how much for a tune up").hazard, None);
    }

    #[test]
    fn every_intent_is_reported() {
        let c = shared();
        let got = c.classify("remove me from these texts. btw i smell gas by the water heater");
        assert_eq!(got.intent, Intent::Emergency);
        assert_eq!(got.hazard, Some(Hazard::Gas));
        assert_eq!(got.intents, [Intent::Emergency, Intent::OptOut]);
        assert!(got.has(Intent::OptOut));

        let got = c.classify("Stop texting me. Also how much do you charge for a drain cleaning?");
        assert_eq!(got.intent, Intent::OptOut);
        assert!(got.has(Intent::Pricing), "{got:?}");

        let got = c.classify("how much for a new water heater? can someone come friday");
        assert_eq!(got.intent, Intent::Pricing);
        assert_eq!(got.intents, [Intent::Pricing, Intent::Booking]);

        let got = c.classify("thanks!");
        assert_eq!(got.intent, Intent::Other);
        assert_eq!(got.intents, [Intent::Other]);
        assert_eq!(got.rule, None);

        // The primary intent's rule names the file, line and section.
        let rule = c.classify("I smell gas").rule.unwrap();
        assert!(rule.starts_with("intents.rules:"), "{rule}");
        assert!(rule.contains("[emergency: gas]"), "{rule}");
        let explained = c.classify("stop texting me, the basement is flooding");
        assert!(explained.matches.iter().any(|m| m.intent == Intent::OptOut));
        assert!(explained
            .matches
            .iter()
            .any(|m| m.hazard == Some(Hazard::Flooding) && m.effect == Effect::Found));
    }

    /// Opt-outs in languages without other rules: their letters are kept.
    #[test]
    fn opt_out_in_other_languages() {
        use Intent::*;
        expect(&[
            ("Не пишите мне больше", OptOut),
            ("문자 그만 보내세요", OptOut),
            ("Pare de me mandar mensagem", OptOut),
            ("Tanpri sispann voye mesaj ban mwen", OptOut),
        ]);
    }

    #[test]
    fn spanish() {
        use Intent::*;
        expect(&[
            ("huele a gas en la cocina", Emergency),
            ("se reventó un tubo y el agua no para", Emergency),
            ("salen chispas del enchufe", Emergency),
            (
                "no tenemos calefacción, hace mucho frío y tengo un bebé",
                Emergency,
            ),
            ("no me manden más mensajes", OptOut),
            ("dejen de mandarme textos por favor", OptOut),
            ("quiero volver a recibir mensajes", OptIn),
            ("¿quién es?", Help),
            ("cuánto cuesta cambiar el calentador", Pricing),
            ("necesito una cita para el lunes", Booking),
            ("pueden venir mañana en la tarde", Booking),
            ("ya no lo necesito, gracias", NotInterested),
            ("gracias", Other),
        ]);
        assert_eq!(shared().classify("huele a gas").language, Language::Es);
    }

    #[test]
    fn vietnamese() {
        use Intent::*;
        expect(&[
            ("Nhà tôi có mùi gas rất nặng", Emergency),
            ("ống nước bể, nước tràn khắp nơi", Emergency),
            ("Đừng nhắn tin cho tôi nữa", OptOut),
            ("Tôi muốn nhận tin nhắn lại", OptIn),
            ("Ai vậy?", Help),
            ("Sửa máy lạnh bao nhiêu tiền?", Pricing),
            ("Không cần nữa, cảm ơn", NotInterested),
        ]);
        assert_eq!(shared().classify("Ai vậy?").language, Language::Vi);
    }

    #[test]
    fn chinese() {
        use Intent::*;
        expect(&[
            ("家里煤气味很重，请马上派人来", Emergency),
            ("廚房有瓦斯味", Emergency),
            ("插座冒烟了", Emergency),
            // Each character is a word: phrases can skip some ("...8").
            ("一氧化碳报警器一直在响，我们头很晕", Emergency),
            ("有煤气味，很浓", Emergency),
            ("你们明天能来修一下空调吗", Booking),
            ("请不要再给我发短信了", OptOut),
            ("請停止傳送簡訊給我", OptOut),
            ("我想重新接收短信", OptIn),
            ("你是谁？", Help),
            ("這是哪家公司？", Help),
            ("换一个热水器大概多少钱？", Pricing),
            ("不用了，谢谢", NotInterested),
        ]);
        assert_eq!(shared().classify("你是谁").language, Language::Zh);
    }

    #[test]
    fn tagalog() {
        use Intent::*;
        expect(&[
            ("may amoy gas po sa bahay namin", Emergency),
            ("may sparks po sa outlet at may usok", Emergency),
            ("Wag niyo na po akong i-text", OptOut),
            ("Pakitigil na po ang pagte-text", OptOut),
            ("Gusto ko po ulit makatanggap ng text", OptIn),
            ("Sino po ito?", Help),
            ("Magkano po ang pagpapaayos ng aircon?", Pricing),
            ("Hindi na po kailangan, naayos na", NotInterested),
        ]);
        assert_eq!(shared().classify("Sino po ito?").language, Language::Tl);
    }

    #[test]
    fn english_language_is_the_default() {
        let c = shared();
        assert_eq!(
            c.classify("can someone come tomorrow").language,
            Language::En
        );
        assert_eq!(c.classify("👍").language, Language::En);
    }

    #[test]
    fn voicemail_transcripts() {
        use Intent::*;
        expect(&[
            ("hi um yeah i'm calling because i smell gas real strong in the kitchen please call me back", Emergency),
            ("hello yes my carbon monoxide a alarm is going off and my daughter's got a headache we need somebody to look at the fern ace", Emergency),
            ("yeah the uh the sure is backing up into my basement it's coming out the floor drain", Emergency),
            ("it's freezing in here the fern ace stopped working last night it's minus ten out", Emergency),
            ("my number is five one two five five five zero one nine three i need someone to look at the water heater it's making a noise", Booking),
            ("hi um no gas smell or anything but the pilot light keeps going out can you call me back", Booking),
            ("hi this is linda i'd like to set up a time for someone to look at our water softener", Booking),
        ]);
    }

    #[test]
    fn errors_name_the_line() {
        let bad_regex = "[pricing]\nphrase: how much\n\nregex: (unclosed\n";
        let e = Classifier::from_rules(bad_regex, "mine.rules").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(
            e.to_string().starts_with("mine.rules:4: invalid regex"),
            "{e}"
        );

        let cases = [
            ("[pricng]\nphrase: x", 1, "unknown section"),
            ("[emergency: lava]\nphrase: x", 1, "unknown hazard"),
            ("[booking]\nphrase: x\nmaybe: y", 3, "unknown directive"),
            ("phrase: x", 1, "outside any section"),
            ("[booking]\n\nand: x", 3, "must follow"),
            ("[booking]\nphrase: a || b", 2, "empty phrase"),
            ("[spelling]\nfoo bar", 2, "wrong -> right"),
            ("[negation]\nwindow: lots", 2, "whole number"),
            ("[other]\nphrase: x", 1, "cannot have rules"),
            ("[booking]\nphrase: @nowhere", 2, "not defined"),
            (
                "[concept: a]\n@b\n[concept: b]\n@a\n[booking]\nphrase: @a",
                4,
                "circle",
            ),
            ("[booking]\nphrase: x ...", 2, "both sides"),
            ("[booking]\nphrase: <num 9>", 2, "range"),
            ("[booking]\nweak and: x", 2, "weak"),
        ];
        for (text, line, needle) in cases {
            let e = Classifier::from_rules(text, "t.rules").unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn custom_rules_file() {
        let rules = "[spelling]\nquot -> quote\n[negation]\nwords: no | not\n\
                     [clauses]\nwords: but\n\
                     [concept: money]\nprice | cost\n\
                     [pricing]\nphrase: quote ... @money\nignore: quote unquote\n\
                     [booking]\nphrase: come ... out\nunless: tomorrow\n\
                     [opt_out]\nclause: stop\n\
                     [help]\nweak phrase: who\n\
                     [emergency: no_heat]\nphrase: no heat\nand: <num 0-40> degrees\n";
        let c = Classifier::from_rules(rules, "t.rules").unwrap();
        assert_eq!(c.classify("quot me a price").intent, Intent::Pricing);
        assert_eq!(c.classify("not quote, price").intent, Intent::Other);
        assert_eq!(c.classify("quote unquote price").intent, Intent::Other);
        assert_eq!(c.classify("can you come on out").intent, Intent::Booking);
        assert_eq!(c.classify("come out tomorrow").intent, Intent::Other);
        assert_eq!(c.classify("stop. who").intent, Intent::OptOut);
        assert_eq!(c.classify("stop by").intent, Intent::Other);
        assert_eq!(c.classify("who").intent, Intent::Help);
        assert_eq!(
            c.classify("who, can you come out").intent,
            Intent::Booking,
            "weak loses"
        );
        assert_eq!(
            c.classify("no heat, twelve degrees").intent,
            Intent::Emergency
        );
        let got = c.classify("no heat, 60 degrees");
        assert_eq!(got.intent, Intent::Other);
        assert!(got.possible_emergency);
    }

    #[test]
    fn long_messages_are_read_up_to_a_limit() {
        let c = shared();
        let filler = "blah ".repeat(4000);
        let got = c.classify(&format!("i smell gas {filler}"));
        assert_eq!(got.intent, Intent::Emergency);
        let got = c.classify(&format!("{filler} i smell gas"));
        assert_ne!(got.intent, Intent::Emergency, "past the limit");
        let wide = "煤".repeat(5000);
        let _ = c.classify(&wide);
    }

    #[test]
    fn classifier_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Classifier>();
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Punctuation, whitespace and emoji that may surround a keyword.
        fn noise() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    Just(' '),
                    Just('\t'),
                    Just('\n'),
                    Just('!'),
                    Just('.'),
                    Just('?'),
                    Just('-'),
                    Just('🛑'),
                    Just('😡'),
                    Just('🙏'),
                    Just('✋'),
                    Just('"'),
                    Just('“'),
                    Just('*'),
                ],
                0..6,
            )
            .prop_map(|v| v.into_iter().collect())
        }

        proptest! {
            #[test]
            fn idempotent(s in any::<String>()) {
                let once = normalize_keyword(&s);
                prop_assert_eq!(normalize_keyword(&once), once);
            }

            #[test]
            fn never_lowercase(s in any::<String>()) {
                prop_assert!(!normalize_keyword(&s).chars().any(char::is_lowercase));
            }

            #[test]
            fn stop_survives_noise(pre in noise(), post in noise(), mask in 0u8..16) {
                let word: String = "stop".chars().enumerate()
                    .map(|(i, c)| if mask & (1 << i) != 0 { c.to_ascii_uppercase() } else { c })
                    .collect();
                let message = format!("{pre}{word}{post}");
                prop_assert_eq!(normalize_keyword(&message), "STOP");
                prop_assert_eq!(keyword(&message), Some(Keyword::Stop));
                prop_assert_eq!(super::shared().classify(&message).intent, Intent::OptOut);
            }

            /// "stop" with letters added is not STOP, unless the letters make
            /// another real keyword ("stop all" is STOPALL, "un stop" is UNSTOP).
            #[test]
            fn extra_letters_are_not_a_keyword(extra in "[a-z]{1,6}", before in any::<bool>()) {
                let message = if before { format!("{extra} stop") } else { format!("stop {extra}") };
                let normalized = normalize_keyword(&message);
                prop_assume!(!KEYWORDS.iter().any(|(k, _)| *k == normalized));
                prop_assert_eq!(keyword(&message), None);
            }

            #[test]
            fn keyword_implies_known_form(s in any::<String>()) {
                if keyword(&s).is_some() {
                    let n = normalize_keyword(&s);
                    prop_assert!(KEYWORDS.iter().any(|(k, _)| *k == n));
                }
            }

            /// Whatever comes in: no panic, the hazard is set exactly for an
            /// emergency, the primary intent is the first one listed, and a
            /// possible emergency never comes with a paged one.
            #[test]
            fn classify_invariants(s in any::<String>()) {
                let got = super::shared().classify(&s);
                prop_assert_eq!(got.hazard.is_some(), got.intent == Intent::Emergency);
                prop_assert_eq!(got.intents.first(), Some(&got.intent));
                prop_assert!(!(got.possible_emergency && got.intent == Intent::Emergency));
                prop_assert_eq!(got.possible_emergency, got.possible_hazard.is_some());
            }

            /// Messages made of rule words in random order exercise the
            /// matcher (gaps, concepts, numbers) far more than random text.
            #[test]
            fn classify_word_soup(words in proptest::collection::vec(prop_oneof![
                Just("gas"), Just("smell"), Just("no"), Just("stop"), Just("texting"), Just("heat"),
                Just("out"), Just("12"), Just("degrees"), Just("baby"), Just("but"), Just("and"),
                Just("water"), Just("pouring"), Just("turned"), Just("still"), Just("smoking"),
                Just("if"), Just("how"), Just("much"), Just("tomorrow"), Just("."), Just(","),
                Just("twenty"), Just("five"), Just("煤气味"), Just("po"), Just("huele"), Just("a"),
            ], 0..40)) {
                let got = super::shared().classify(&words.join(" "));
                prop_assert_eq!(got.hazard.is_some(), got.intent == Intent::Emergency);
            }
        }
    }
}
