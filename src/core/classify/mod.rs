//! Intent classification of customers' SMS replies.
//!
//! A reply is classified in three steps:
//!
//! 1. **Carrier keywords.** A message that is only a keyword such as `STOP`,
//!    `START` or `HELP` (any case, any punctuation or emoji around it) is
//!    decided by [`keyword`] before anything else. These are fixed by law and
//!    carrier rules, so they live in code, not in the editable rules file.
//! 2. **Normalisation.** The message is lowercased, accents are folded,
//!    curly quotes straightened, emoji and symbols dropped, whitespace
//!    collapsed and misspellings corrected (see [`Classifier::normalize`]).
//! 3. **Rules.** The owner-editable rules file (see
//!    `prompts/intents.rules`, which documents its own format) is compiled
//!    once into a single [`RegexSet`]. Per message the set tells which
//!    patterns occur at all; only those are then located precisely to apply
//!    negation ("no gas smell") and look-alike exclusions ("stop by").
//!    Sections are tried in the fixed priority order of [`Intent`]; the first
//!    one that fires decides.

pub mod extract;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder, SetMatches};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// What a reply is about, in priority order: when several intents match,
/// the one listed first wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// Stop texting me. Always honoured first (TCPA / carrier rules).
    OptOut,
    /// A safety problem that needs a call back now.
    Emergency,
    /// Start texting me again.
    OptIn,
    /// Who is this / what is this.
    Help,
    /// Wants a visit or answers a scheduling question.
    Booking,
    /// Asks about prices, quotes, fees or financing.
    Pricing,
    /// Does not need us (anymore).
    NotInterested,
    /// Anything else: thanks, reactions, questions about hours, ...
    Other,
}

impl Intent {
    /// Every intent, in priority order.
    pub const ALL: [Intent; 8] = [
        Intent::OptOut,
        Intent::Emergency,
        Intent::OptIn,
        Intent::Help,
        Intent::Booking,
        Intent::Pricing,
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
    fn priority(self) -> usize {
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
    /// Exposed or live wires, hot or crackling switch, without smoke.
    Electrical,
    /// Burst pipe, water pouring, ceiling leaking.
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
    const ALL: [Hazard; 9] = [
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

/// The result of classifying one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// What the message is about.
    pub intent: Intent,
    /// The kind of danger; set exactly when `intent` is `Emergency`.
    pub hazard: Option<Hazard>,
    /// Which rule decided, e.g. `intents.rules:152 [emergency: gas] phrase`,
    /// so an owner can find and edit it. `None` for "matched nothing".
    pub rule: Option<String>,
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

/// Words between the parts of a phrase written as `a ... b`: up to four
/// words, not crossing the end of a sentence.
const GAP: &str = r"(?:[ ,/&'-]+[a-z0-9']+){0,4}[ ,/&-]+";

/// How a pattern line of an intent section is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Rule,
    And,
    Unless,
    Ignore,
}

/// One rule: a pattern plus optional alternative "and" conditions.
#[derive(Debug)]
struct Rule {
    pattern: usize,
    and: Vec<usize>,
    /// Shown to owners in [`Classification::rule`].
    description: String,
}

#[derive(Debug)]
struct Section {
    intent: Intent,
    hazard: Option<Hazard>,
    fallback: bool,
    negation: bool,
    rules: Vec<Rule>,
    unless: Vec<usize>,
    ignore: Vec<usize>,
}

/// Negation settings from the `[negation]` section.
#[derive(Debug)]
struct Negation {
    /// Matches any negation word.
    cue: Option<Regex>,
    /// Anchored at the start: phrases that begin with a cue but negate nothing.
    except: Option<Regex>,
    /// How many words before a match are inspected.
    window: usize,
}

/// A compiled rules file. Cheap to share behind an `Arc`; classification
/// takes `&self` and allocates only the normalised message.
#[derive(Debug)]
pub struct Classifier {
    set: RegexSet,
    regexes: Vec<Regex>,
    sections: Vec<Section>,
    spelling: HashMap<String, String>,
    negation: Negation,
    reaction: Option<(Regex, String)>,
}

/// Intent of a section header such as `[booking]` or `[emergency: gas]`.
struct Header {
    intent: Option<Intent>,
    hazard: Option<Hazard>,
    fallback: bool,
    kind: SectionKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SectionKind {
    Intent,
    Spelling,
    Negation,
    Reaction,
}

const SECTION_HINT: &str = "known sections: [opt_out] [opt_in] [help] [booking] [pricing] \
     [not_interested] [emergency: HAZARD] [INTENT: fallback] [spelling] [negation] [reaction]";

const DIRECTIVE_HINT: &str = "use one of phrase:, starts:, exact:, regex:, and:, and regex:, \
     unless:, unless regex:, ignore:, ignore regex:, negation: on|off";

fn parse_header(name: &str) -> Result<Header, String> {
    let (base, qualifier) = match name.split_once(':') {
        Some((b, q)) => (b.trim(), Some(q.trim())),
        None => (name.trim(), None),
    };
    let special = |kind| Header {
        intent: None,
        hazard: None,
        fallback: false,
        kind,
    };
    match (base, qualifier) {
        ("spelling", None) => return Ok(special(SectionKind::Spelling)),
        ("negation", None) => return Ok(special(SectionKind::Negation)),
        ("reaction", None) => return Ok(special(SectionKind::Reaction)),
        _ => {}
    }
    let intent: Intent = base
        .parse()
        .map_err(|_| format!("unknown section [{name}]; {SECTION_HINT}"))?;
    if intent == Intent::Other {
        return Err(
            "[other] cannot have rules: a message that matches nothing is already \"other\""
                .to_string(),
        );
    }
    let mut header = Header {
        intent: Some(intent),
        hazard: None,
        fallback: false,
        kind: SectionKind::Intent,
    };
    match (intent, qualifier) {
        (_, Some("fallback")) => header.fallback = true,
        (Intent::Emergency, q) => {
            let q = q.unwrap_or("other");
            header.hazard = Some(
                Hazard::ALL
                    .into_iter()
                    .find(|h| h.as_str() == q)
                    .ok_or_else(|| {
                        let names: Vec<_> = Hazard::ALL.iter().map(|h| h.as_str()).collect();
                        format!(
                            "unknown hazard {q:?} in [{name}]; use one of: {}",
                            names.join(", ")
                        )
                    })?,
            );
        }
        (_, None) => {}
        (_, Some(q)) => {
            return Err(format!(
                "unknown qualifier {q:?} in [{name}]; only \"fallback\" (or a hazard for emergency) is allowed"
            ));
        }
    }
    Ok(header)
}

/// Splits `a | b | c` into trimmed, non-empty alternatives.
fn alternatives(value: &str) -> Result<Vec<&str>, String> {
    let alts: Vec<&str> = value.split('|').map(str::trim).collect();
    if alts.iter().any(|a| a.is_empty()) {
        return Err(
            "empty phrase; separate phrases with a single | and remove stray | at the ends"
                .to_string(),
        );
    }
    Ok(alts)
}

/// Regex source for a list of phrases (already normalised).
fn phrase_regex(alts: &[String], anchor: Anchor) -> String {
    let body: Vec<String> = alts
        .iter()
        .map(|phrase| {
            let parts: Vec<String> = phrase
                .split("...")
                .map(|part| {
                    part.split_whitespace()
                        .map(regex::escape)
                        .collect::<Vec<_>>()
                        .join("(?:,? )")
                })
                .filter(|p| !p.is_empty())
                .collect();
            let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
            let start = if is_word(phrase.chars().next()) {
                r"\b"
            } else {
                ""
            };
            let end = if is_word(phrase.chars().last()) {
                r"\b"
            } else {
                ""
            };
            format!("{start}{}{end}", parts.join(GAP))
        })
        .collect();
    let body = body.join("|");
    match anchor {
        Anchor::Anywhere => format!("(?:{body})"),
        Anchor::Start => format!("^[^a-z0-9]*(?:{body})"),
        Anchor::Whole => format!("^[^a-z0-9]*(?:{body})[^a-z0-9]*$"),
    }
}

#[derive(Clone, Copy)]
enum Anchor {
    Anywhere,
    Start,
    Whole,
}

fn compile(source: &str) -> Result<Regex, String> {
    RegexBuilder::new(source)
        .size_limit(1 << 24)
        .build()
        .map_err(|e| {
            format!(
                "invalid regex: {}; check brackets and escape special characters with \\, \
                 or use phrase: for plain words",
                e.to_string().lines().last().unwrap_or_default().trim()
            )
        })
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
        let err = |line: usize, message: String| RulesError {
            file: file_name.to_string(),
            line,
            message,
        };

        // Pass 1: the spelling map, because phrases are normalised with it.
        let mut spelling = HashMap::new();
        let mut in_spelling = false;
        for (idx, raw) in text.lines().enumerate() {
            let line = strip_comment(raw);
            if let Some(name) = section_name(line) {
                in_spelling = name.trim() == "spelling";
            } else if in_spelling && !line.is_empty() {
                let (wrong, right) = line.split_once("->").ok_or_else(|| {
                    err(
                        idx + 1,
                        format!("expected `wrong -> right` in [spelling], found {line:?}"),
                    )
                })?;
                let (wrong, right) = (fold_text(wrong.trim()), fold_text(right.trim()));
                if wrong.is_empty() || right.is_empty() || wrong.contains(' ') {
                    return Err(err(
                        idx + 1,
                        "a spelling fix needs one misspelled word on the left and the correction on the right, e.g. `emergancy -> emergency`".to_string(),
                    ));
                }
                spelling.insert(wrong, right);
            }
        }

        // Pass 2: everything else.
        let mut sources: Vec<String> = Vec::new();
        let mut regexes: Vec<Regex> = Vec::new();
        let mut sections: Vec<Section> = Vec::new();
        let mut kind: Option<SectionKind> = None;
        let mut section_label = String::new();
        let mut negation = Negation {
            cue: None,
            except: None,
            window: 3,
        };
        let mut reaction = None;

        for (idx, raw) in text.lines().enumerate() {
            let lineno = idx + 1;
            let line = strip_comment(raw);
            if line.is_empty() {
                continue;
            }
            if let Some(name) = section_name(line) {
                let header = parse_header(name).map_err(|m| err(lineno, m))?;
                kind = Some(header.kind);
                section_label = name.trim().to_string();
                if let Some(intent) = header.intent {
                    sections.push(Section {
                        intent,
                        hazard: header.hazard,
                        fallback: header.fallback,
                        negation: true,
                        rules: Vec::new(),
                        unless: Vec::new(),
                        ignore: Vec::new(),
                    });
                }
                continue;
            }
            let Some(kind) = kind else {
                return Err(err(
                    lineno,
                    format!(
                        "this line is outside any section; start a section first, {SECTION_HINT}"
                    ),
                ));
            };
            if kind == SectionKind::Spelling {
                continue; // handled in pass 1
            }
            let (directive, value) = line.split_once(':').ok_or_else(|| {
                err(
                    lineno,
                    format!("expected `directive: value`, found {line:?}; {DIRECTIVE_HINT}"),
                )
            })?;
            let directive = directive.trim().to_ascii_lowercase();
            let value = value.trim();
            if value.is_empty() {
                return Err(err(lineno, format!("`{directive}:` has nothing after it")));
            }
            let normalized_alts = || -> Result<Vec<String>, RulesError> {
                Ok(alternatives(value)
                    .map_err(|m| err(lineno, m))?
                    .into_iter()
                    .map(|a| normalize_with(a, &spelling))
                    .collect())
            };
            match kind {
                SectionKind::Negation => match directive.as_str() {
                    "words" => {
                        let src = phrase_regex(&normalized_alts()?, Anchor::Anywhere);
                        negation.cue = Some(compile(&src).map_err(|m| err(lineno, m))?);
                    }
                    "except" => {
                        let src =
                            format!("^{}", phrase_regex(&normalized_alts()?, Anchor::Anywhere));
                        negation.except = Some(compile(&src).map_err(|m| err(lineno, m))?);
                    }
                    "window" => {
                        negation.window = value.parse().map_err(|_| {
                            err(
                                lineno,
                                format!("window must be a whole number of words, found {value:?}"),
                            )
                        })?;
                    }
                    other => {
                        return Err(err(
                            lineno,
                            format!(
                                "unknown directive `{other}:` in [negation]; use words:, except: or window:"
                            ),
                        ));
                    }
                },
                SectionKind::Reaction => match directive.as_str() {
                    "phrase" => {
                        let src = format!(
                            r#"{}\s*""#,
                            phrase_regex(&normalized_alts()?, Anchor::Start)
                        );
                        let description = format!("{file_name}:{lineno} [reaction]");
                        reaction = Some((compile(&src).map_err(|m| err(lineno, m))?, description));
                    }
                    other => {
                        return Err(err(
                            lineno,
                            format!("unknown directive `{other}:` in [reaction]; use phrase:"),
                        ));
                    }
                },
                SectionKind::Intent => {
                    let section = sections.last_mut().expect("intent section was pushed");
                    if directive == "negation" {
                        section.negation = match value {
                            "on" => true,
                            "off" => false,
                            _ => {
                                return Err(err(
                                    lineno,
                                    format!("negation: takes on or off, found {value:?}"),
                                ));
                            }
                        };
                        continue;
                    }
                    let (role, directive_name, regex) = match directive.as_str() {
                        "phrase" => (
                            Role::Rule,
                            "phrase",
                            phrase_regex(&normalized_alts()?, Anchor::Anywhere),
                        ),
                        "starts" => (
                            Role::Rule,
                            "starts",
                            phrase_regex(&normalized_alts()?, Anchor::Start),
                        ),
                        "exact" => (
                            Role::Rule,
                            "exact",
                            phrase_regex(&normalized_alts()?, Anchor::Whole),
                        ),
                        "regex" => (Role::Rule, "regex", value.to_string()),
                        "and" => (
                            Role::And,
                            "and",
                            phrase_regex(&normalized_alts()?, Anchor::Anywhere),
                        ),
                        "and regex" => (Role::And, "and regex", value.to_string()),
                        "unless" => (
                            Role::Unless,
                            "unless",
                            phrase_regex(&normalized_alts()?, Anchor::Anywhere),
                        ),
                        "unless regex" => (Role::Unless, "unless regex", value.to_string()),
                        "ignore" => (
                            Role::Ignore,
                            "ignore",
                            phrase_regex(&normalized_alts()?, Anchor::Anywhere),
                        ),
                        "ignore regex" => (Role::Ignore, "ignore regex", value.to_string()),
                        other => {
                            return Err(err(
                                lineno,
                                format!(
                                    "unknown directive `{other}:` in [{section_label}]; {DIRECTIVE_HINT}"
                                ),
                            ));
                        }
                    };
                    regexes.push(compile(&regex).map_err(|m| err(lineno, m))?);
                    let index = sources.len();
                    sources.push(regex);
                    match role {
                        Role::Rule => section.rules.push(Rule {
                            pattern: index,
                            and: Vec::new(),
                            description: format!("{file_name}:{lineno} [{section_label}] {directive_name}"),
                        }),
                        Role::And => section
                            .rules
                            .last_mut()
                            .ok_or_else(|| err(lineno, "`and:` must follow a phrase:, starts:, exact: or regex: line in the same section".to_string()))?
                            .and
                            .push(index),
                        Role::Unless => section.unless.push(index),
                        Role::Ignore => section.ignore.push(index),
                    }
                }
                SectionKind::Spelling => unreachable!("skipped above"),
            }
        }

        let set = RegexSetBuilder::new(&sources)
            .size_limit(1 << 26)
            .dfa_size_limit(1 << 24)
            .build()
            .map_err(|e| {
                err(
                    1,
                    format!(
                        "the rules are too large to compile together ({e}); remove some patterns"
                    ),
                )
            })?;
        // Fixed priority; fallback sections last; file order kept within ties
        // (so the first matching emergency section names the hazard).
        sections.sort_by_key(|s| (s.fallback, s.intent.priority()));
        Ok(Classifier {
            set,
            regexes,
            sections,
            spelling,
            negation,
            reaction,
        })
    }

    /// The normalised form that rules are matched against: lower case ASCII,
    /// accents folded, curly quotes straightened, emoji and symbols removed,
    /// whitespace collapsed, misspellings from `[spelling]` corrected.
    /// `"EMERGANCY!! Basement flooing 😭"` becomes
    /// `"emergency!! basement flooding"`.
    pub fn normalize(&self, message: &str) -> String {
        normalize_with(message, &self.spelling)
    }

    /// Classifies one message.
    pub fn classify(&self, message: &str) -> Classification {
        if let Some(kw) = keyword(message) {
            let intent = match kw {
                Keyword::Stop => Intent::OptOut,
                Keyword::Start => Intent::OptIn,
                Keyword::Help => Intent::Help,
            };
            return Classification {
                intent,
                hazard: None,
                rule: Some(format!("carrier keyword {}", normalize_keyword(message))),
            };
        }
        let text = self.normalize(message);
        let reaction = self.reaction.as_ref().filter(|(re, _)| re.is_match(&text));
        if let Some((_, description)) = reaction {
            return Classification {
                intent: Intent::Other,
                hazard: None,
                rule: Some(description.clone()),
            };
        }
        let matched = self.set.matches(&text);
        for section in &self.sections {
            if let Some(rule) = self.fires(section, &text, &matched) {
                return Classification {
                    intent: section.intent,
                    hazard: if section.intent == Intent::Emergency {
                        section.hazard
                    } else {
                        None
                    },
                    rule: Some(rule.description.clone()),
                };
            }
        }
        Classification {
            intent: Intent::Other,
            hazard: None,
            rule: None,
        }
    }

    /// The first rule of `section` that fires on `text`, unless the section
    /// is vetoed by an `unless:` line.
    fn fires<'a>(
        &self,
        section: &'a Section,
        text: &str,
        matched: &SetMatches,
    ) -> Option<&'a Rule> {
        if !section.rules.iter().any(|r| matched.matched(r.pattern)) {
            return None;
        }
        let occurs = |p: usize, ignore: &[usize]| {
            matched.matched(p) && self.occurs(section, p, text, matched, ignore)
        };
        if section.unless.iter().any(|&p| occurs(p, &[])) {
            return None;
        }
        let hit = |p: usize| occurs(p, &section.ignore);
        section
            .rules
            .iter()
            .find(|r| hit(r.pattern) && (r.and.is_empty() || r.and.iter().any(|&p| hit(p))))
    }

    /// Whether pattern `p` occurs in `text` at least once without being
    /// negated (if the section uses negation) or overlapping a match of one
    /// of the `ignore` patterns (look-alikes).
    fn occurs(
        &self,
        section: &Section,
        p: usize,
        text: &str,
        matched: &SetMatches,
        ignore: &[usize],
    ) -> bool {
        let overlaps_ignored = |start: usize, end: usize| {
            ignore.iter().any(|&i| {
                matched.matched(i)
                    && self.regexes[i]
                        .find_iter(text)
                        .any(|g| g.start() < end && start < g.end())
            })
        };
        // After a rejected match, search again from the next character rather
        // than after the match: in "don't need anyone today but this week
        // works" the leftmost match starts at the negated "today", while a
        // valid one starts at "week".
        let regex = &self.regexes[p];
        let mut from = 0;
        while let Some(m) = regex.find_at(text, from) {
            let negated = section.negation && self.negated(text, m.start());
            if !negated && !overlaps_ignored(m.start(), m.end()) {
                return true;
            }
            match text[m.start()..].chars().next() {
                Some(c) => from = m.start() + c.len_utf8(),
                None => return false,
            }
        }
        false
    }

    /// Whether a negation word occurs within the configured window of words
    /// before byte offset `start`, in the same clause.
    fn negated(&self, text: &str, start: usize) -> bool {
        let Some(cue) = &self.negation.cue else {
            return false;
        };
        let before = &text[..start];
        let clause_start = before
            .rfind(['.', ',', ';', ':', '!', '?', '(', ')'])
            .map_or(0, |i| i + 1)
            .max(before.rfind(" but ").map_or(0, |i| i + 5))
            .max(before.rfind(" - ").map_or(0, |i| i + 3));
        let clause = before[clause_start..].trim_end();
        // The last `window` words of the clause start after the window-th
        // space from the right (or at the clause start if it is shorter).
        let window_start = clause
            .rmatch_indices(' ')
            .nth(self.negation.window.saturating_sub(1))
            .map_or(0, |(i, _)| i + 1);
        let window = &clause[window_start..];
        cue.find_iter(window).any(|m| {
            self.negation
                .except
                .as_ref()
                .is_none_or(|ex| !ex.is_match(&window[m.start()..]))
        })
    }
}

/// Removes a `#` comment and surrounding whitespace.
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(l, _)| l).trim()
}

/// `Some("name")` for a `[name]` header line.
fn section_name(line: &str) -> Option<&str> {
    line.strip_prefix('[')?.strip_suffix(']')
}

/// Lowercase ASCII folding of one character, or `None` to drop it.
fn fold_char(c: char) -> Option<&'static str> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => "a",
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => "e",
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => "i",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => "o",
        'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => "u",
        'ñ' | 'Ñ' => "n",
        'ç' | 'Ç' => "c",
        'ß' => "ss",
        '‘' | '’' | '‛' | '′' | '`' | '´' => "'",
        '“' | '”' | '„' | '″' | '«' | '»' => "\"",
        '–' | '—' => "-",
        '…' => "...",
        _ => return None,
    })
}

/// Lowercases, folds to ASCII and collapses whitespace (no spelling fixes).
fn fold_text(s: &str) -> String {
    normalize_with(s, &HashMap::new())
}

/// See [`Classifier::normalize`].
fn normalize_with(message: &str, spelling: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(message.len());
    // Byte offset where the word currently being written started.
    let mut word_start: Option<usize> = None;
    let finish_word = |out: &mut String, word_start: &mut Option<usize>| {
        let fix = word_start
            .take()
            .and_then(|ws| spelling.get(&out[ws..]).map(|fix| (ws, fix)));
        if let Some((ws, fix)) = fix {
            out.truncate(ws);
            out.push_str(fix);
        }
    };
    for c in message.chars() {
        let folded: &str = if c.is_ascii() {
            if c.is_ascii_control() || c.is_ascii_whitespace() {
                " "
            } else {
                let lc = c.to_ascii_lowercase();
                if lc.is_ascii_alphanumeric() || lc == '\'' {
                    if word_start.is_none() {
                        word_start = Some(out.len());
                    }
                } else {
                    finish_word(&mut out, &mut word_start);
                }
                out.push(lc);
                continue;
            }
        } else {
            fold_char(c).unwrap_or(" ")
        };
        for f in folded.chars() {
            if f == ' ' {
                finish_word(&mut out, &mut word_start);
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                if f.is_ascii_alphanumeric() || f == '\'' {
                    word_start.get_or_insert(out.len());
                } else {
                    finish_word(&mut out, &mut word_start);
                }
                out.push(f);
            }
        }
    }
    finish_word(&mut out, &mut word_start);
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiled once for all tests in this module.
    fn shared() -> &'static Classifier {
        static CLASSIFIER: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
        CLASSIFIER.get_or_init(Classifier::default)
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
        assert_eq!(c.normalize("¿Cuánto cuesta?"), "cuanto cuesta?");
        assert_eq!(c.normalize("I don’t know “why”"), "i don't know \"why\"");
        assert_eq!(c.normalize("  🔥🔥 "), "");
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
    fn tricky_phrases_from_the_brief() {
        use Intent::*;
        let cases = [
            ("no gas smell, the pilot is out", Booking),
            ("not an emergency but the water heater drips", Booking),
            ("stop by after 2", Booking),
            ("the AC won't stop running", Booking),
            ("end of day works", Booking),
            ("help me schedule a tune-up", Booking),
            ("cancel my appointment", Other),
            ("CANCEL", OptOut),
            ("Liked “Thanks for calling! Reply STOP to opt out”", Other),
            ("Loved \"We'll see you Tuesday\"", Other),
            ("Emphasized “Reply STOP to opt out”", Other),
            ("Laughed at “…”", Other),
            ("Disliked “Reply STOP to opt out”", Other),
            ("Questioned “Reply STOP to opt out”", Other),
            ("huele a gas", Emergency),
            ("se reventó un tubo", Emergency),
            ("alto", OptOut),
            ("parar", OptOut),
            ("basta", OptOut),
            ("no me manden más mensajes", OptOut),
            ("cuánto cuesta", Pricing),
            ("necesito una cita", Booking),
            ("no necesito nada", NotInterested),
            ("¿quién es?", Help),
            ("please stop texting me", OptOut),
            ("take me off your list", OptOut),
            ("lose my number", OptOut),
            ("leave me alone", OptOut),
            ("don't text this number again", OptOut),
            ("I revoke consent", OptOut),
            ("no more texts", OptOut),
            (
                "I don't want to stop texts I want a person!! gas smell",
                Emergency,
            ),
            (
                "Stop texting me, the basement is flooding and I already called someone",
                OptOut,
            ),
            ("EMERGANCY basement flodding", Emergency),
            ("smels like gas", Emergency),
            ("hissing at the gas line and a weird smell", Emergency),
            ("CO detector going off", Emergency),
            ("sparks from the outlet", Emergency),
            ("burning smell from the panel", Emergency),
            ("the dryer cord is melting", Emergency),
            ("water coming through the light fixture", Emergency),
            ("ceiling is leaking bad", Emergency),
            ("sewage backing up into the tub", Emergency),
            ("no heat and we have an infant", Emergency),
            ("no heat, it's 10 degrees out", Emergency),
            ("no AC and my elderly mom lives here, it's 110", Emergency),
            ("exposed wires in the yard", Emergency),
            (
                "tree came through the roof and rain is coming in",
                Emergency,
            ),
            ("No smoke, no sparks, outlet just stopped working", Booking),
            ("drain is slow but not backing up", Booking),
            (
                "roof looks rough, no leaks though. can someone look",
                Booking,
            ),
            ("no heat but it's mild out so no rush", Booking),
            ("furnace is out, 60 out so not urgent", Booking),
            (
                "We smelled gas but the gas company came out and said it was fine. Can you check the stove?",
                Booking,
            ),
            ("no gas smell now, we're all good", NotInterested),
            ("Please stop. I do not need a plumber", OptOut),
            ("this is harassment, stop", OptOut),
            ("Can you install a smoke detector in the hallway?", Booking),
            ("How much to install a CO detector?", Pricing),
            (
                "smoke alarm going off and I smell something burning",
                Emergency,
            ),
            ("Whats the fee to come out?", Pricing),
            (
                "water is leaking from the ceiling into the light fixture",
                Emergency,
            ),
        ];
        let c = shared();
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|&(m, want)| {
                let got = c.classify(m);
                (got.intent != want)
                    .then(|| format!("{m:?}: want {want}, got {} via {:?}", got.intent, got.rule))
            })
            .collect();
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn hazards() {
        let c = shared();
        let cases = [
            ("I smell gas in the kitchen", Hazard::Gas),
            ("carbon monoxide alarm going off", Hazard::CarbonMonoxide),
            ("outlet caught fire", Hazard::Fire),
            ("live wires hanging after the storm", Hazard::Electrical),
            ("burst pipe, water everywhere", Hazard::Flooding),
            ("sewage coming up the floor drain", Hazard::Sewage),
            ("no heat, 5 degrees, newborn at home", Hazard::NoHeat),
            ("AC died and my dad is on oxygen", Hazard::NoCooling),
            ("this is an emergency please call", Hazard::Other),
        ];
        for (m, want) in cases {
            let got = c.classify(m);
            assert_eq!(got.intent, Intent::Emergency, "{m}");
            assert_eq!(got.hazard, Some(want), "{m}");
        }
        assert_eq!(c.classify("how much for a tune up").hazard, None);
    }

    /// Voicemail transcripts arrive as run-on speech: no punctuation,
    /// fillers ("um", "yeah"), contractions the way people say them. The
    /// issue's whole emergency vocabulary must survive that, and negation
    /// must still work without commas to lean on.
    #[test]
    fn voicemail_transcripts() {
        let c = shared();
        let emergencies = [
            (
                "hi yeah um we got water coming through the ceiling can someone call me back",
                Some(Hazard::Flooding),
            ),
            (
                "hi this is john on oak street um we smell gas in the basement please call me back",
                Some(Hazard::Gas),
            ),
            (
                "hey it smells like propane in the house when we walked in",
                Some(Hazard::Gas),
            ),
            (
                "yeah hi uh the carbon monoxide detector is going off and my wife has a headache",
                Some(Hazard::CarbonMonoxide),
            ),
            (
                "hi um the c o alarm keeps going off in the hallway",
                Some(Hazard::CarbonMonoxide),
            ),
            (
                "um hi there's smoke coming out of the outlet in the kitchen can you call me",
                Some(Hazard::Fire),
            ),
            (
                "yeah it smells like something's burning by the furnace",
                Some(Hazard::Fire),
            ),
            (
                "hey so a pipe burst in the basement and there's water everywhere",
                Some(Hazard::Flooding),
            ),
            (
                "hi there's water leaking from the ceiling in the bedroom",
                Some(Hazard::Flooding),
            ),
            (
                "hi um we have a broken pipe and water is spraying all over the laundry room",
                Some(Hazard::Flooding),
            ),
            (
                "hi our toilet and the tub are backing up with sewage please call",
                Some(Hazard::Sewage),
            ),
            (
                "hi the sewer is backing up into the basement floor drain",
                Some(Hazard::Sewage),
            ),
            (
                "hey our furnace quit and it's like 20 degrees in here and we have a newborn",
                Some(Hazard::NoHeat),
            ),
            (
                "yeah the heater's not working and we have a baby and it's freezing",
                Some(Hazard::NoHeat),
            ),
            (
                "hey the furnace won't turn on and my mother is 90 years old",
                Some(Hazard::NoHeat),
            ),
            (
                "yes hi our boiler went out and it's 15 degrees outside",
                Some(Hazard::NoHeat),
            ),
            (
                "the ac is out and my grandmother lives with us it's 108 degrees",
                Some(Hazard::NoCooling),
            ),
            (
                "hi the air conditioner isn't working and my dad is on oxygen",
                Some(Hazard::NoCooling),
            ),
            (
                "hi um the a c stopped working and we have a newborn baby",
                Some(Hazard::NoCooling),
            ),
            (
                "um the wires are exposed in the basement after the storm",
                Some(Hazard::Electrical),
            ),
            (
                "hi there's wires hanging out of the wall and they're sparking",
                None,
            ),
        ];
        let mut failures = Vec::new();
        for (m, want) in emergencies {
            let got = c.classify(m);
            if got.intent != Intent::Emergency || want.is_some_and(|h| got.hazard != Some(h)) {
                failures.push(format!(
                    "{m:?}: want {want:?}, got {} {:?} via {:?}",
                    got.intent, got.hazard, got.rule
                ));
            }
        }
        let not_emergencies = [
            "hi um no gas smell or anything but the pilot light keeps going out can you call me back",
            "hi the water heater is leaking a little no flooding or anything just want it looked at",
            "hey there's no smoke or anything the outlet just stopped working",
            "yeah our heat isn't working but it's mild out so no rush",
            "hi the ac isn't cooling great can someone come look this week",
            "hi can you install a carbon monoxide detector when you come out",
            "hi um our heat went out can someone call me back tomorrow",
            "yeah the boiler isn't working can you send someone this week",
        ];
        for m in not_emergencies {
            let got = c.classify(m);
            if got.intent == Intent::Emergency {
                failures.push(format!(
                    "{m:?}: not an emergency, got {:?} via {:?}",
                    got.hazard, got.rule
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn rule_names_file_and_line() {
        let got = Classifier::default().classify("I smell gas");
        let rule = got.rule.unwrap();
        assert!(rule.starts_with("intents.rules:"), "{rule}");
        assert!(rule.contains("[emergency: gas]"), "{rule}");
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
                     [pricing]\nphrase: quote ... price\nignore: quote unquote\n\
                     [booking]\nphrase: come ... out\nunless: tomorrow\n";
        let c = Classifier::from_rules(rules, "t.rules").unwrap();
        assert_eq!(c.classify("quot me a price").intent, Intent::Pricing);
        assert_eq!(c.classify("not quote, price").intent, Intent::Other);
        assert_eq!(c.classify("quote unquote price").intent, Intent::Other);
        assert_eq!(c.classify("can you come on out").intent, Intent::Booking);
        assert_eq!(c.classify("come out tomorrow").intent, Intent::Other);
        assert_eq!(c.classify("come out, not tomorrow").intent, Intent::Booking);
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

            #[test]
            fn classify_never_panics(s in any::<String>()) {
                let got = super::shared().classify(&s);
                prop_assert_eq!(got.hazard.is_some(), got.intent == Intent::Emergency);
            }
        }
    }
}
