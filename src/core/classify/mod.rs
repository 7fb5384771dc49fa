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

mod classification;
pub mod eval;
pub mod extract;
mod fold;
mod fx;
mod matcher;
mod reading;
mod rules;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_categories;
#[cfg(test)]
mod tests_hazard_families;
#[cfg(test)]
mod tests_round6;
#[cfg(test)]
mod tests_round8;
#[cfg(test)]
mod tests_round9;
mod text;
mod words;

use matcher::Hits;
use rules::{Anchor, Rule, Rules, Section};
use text::Analyzed;

pub use classification::*;

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

/// Positions of the `[resolved]`, `[ongoing]`, `[hypothetical]`, `[past]`
/// and `[present]` cues.
struct Cues {
    resolved: Vec<(usize, usize)>,
    ongoing: Vec<(usize, usize)>,
    hypothetical: Vec<(usize, usize)>,
    past: Vec<(usize, usize)>,
    present: Vec<(usize, usize)>,
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
                    if cues.resolved(&a, s, e) || cues.past(&a, s) {
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
