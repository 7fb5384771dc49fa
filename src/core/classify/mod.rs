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

/// Where the patterns of one message occur.
struct Ctx<'a> {
    rules: &'a Rules,
    a: &'a Analyzed,
    hits: Hits,
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
        let mut best = (Language::En, 0usize);
        for (lang, words) in &self.rules.languages {
            let n = (0..a.toks.len())
                .filter(|&i| words.contains(a.word(i)))
                .count();
            if n > best.1 {
                best = (*lang, n);
            }
        }
        best.0
    }

    /// Classifies one message.
    pub fn classify(&self, message: &str) -> Classification {
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
                    if cues.resolved(&a, s, e) {
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
                // Every word covered by a chain of matches from start to end.
                let mut reach = vec![false; n + 1];
                reach[0] = true;
                for (s, e) in self.hits.of(rule.pattern) {
                    if reach[s] && e > s {
                        reach[e] = true;
                    }
                }
                if n > 0 && reach[n] {
                    vec![(0, n)]
                } else {
                    Vec::new()
                }
            }
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

    /// Whether words `s..e` overlap a match of one of the `ignore` patterns.
    fn overlaps(&self, s: usize, e: usize, ignore: &[usize]) -> bool {
        ignore.iter().any(|&i| {
            self.hits
                .of(i)
                .any(|(gs, ge)| gs < e.max(s + 1) && s < ge.max(gs + 1))
        })
    }

    /// Every match of pattern `p` that is not negated (when `negation`) and
    /// does not overlap a look-alike from `ignore`.
    fn occurrences(&self, negation: bool, p: usize, ignore: &[usize]) -> Vec<(usize, usize)> {
        self.hits
            .of(p)
            .filter(|&(s, e)| !(self.overlaps(s, e, ignore) || negation && self.negated(s)))
            .collect()
    }

    fn occurs_any(&self, section: &Section, p: usize, ignore: &[usize]) -> bool {
        self.hits.any(p)
            && self
                .hits
                .of(p)
                .any(|(s, e)| !(self.overlaps(s, e, ignore) || section.negation && self.negated(s)))
    }

    fn occurs_in_clause(&self, section: &Section, p: usize, clause: usize) -> bool {
        self.hits.any(p)
            && self.hits.of(p).any(|(s, e)| {
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
            if !neg.words.contains(a.word(i)) {
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
    /// A hazard at words `s..e` is over when a `[resolved]` cue comes in its
    /// clause or after it, and no `[ongoing]` cue comes after that cue.
    fn resolved(&self, a: &Analyzed, s: usize, e: usize) -> bool {
        let clause = a.clause_of(s);
        let last = self
            .resolved
            .iter()
            .filter(|&&(rs, _)| rs >= e || a.clause_of(rs) == clause)
            .map(|&(rs, _)| rs)
            .max();
        match last {
            None => false,
            Some(r) => !self.ongoing.iter().any(|&(os, _)| os > r),
        }
    }

    /// A hazard is hypothetical when a `[hypothetical]` cue is in its
    /// clause ("if I smell gas", "just wondering for the future").
    fn hypothetical(&self, a: &Analyzed, s: usize) -> bool {
        let clause = a.clause_of(s);
        self.hypothetical
            .iter()
            .any(|&(hs, _)| a.clause_of(hs) == clause)
    }
}
