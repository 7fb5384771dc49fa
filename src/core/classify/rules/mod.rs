//! Parsing and compiling the owner-editable rules file
//! (`prompts/intents.rules`, whose header documents the format).

use super::matcher::{Elem, Matcher, Pattern, Phrase};
use super::text::{FxSet, TextRules};
use super::{Hazard, Intent, Language, RulesError};
use regex::{Regex, RegexBuilder};
use std::collections::HashMap;

mod compiler;
mod prelude;

use compiler::Compiler;
use prelude::prelude;

/// How many words `...` stands for.
const GAP: u8 = 4;

/// Where a rule's phrase must be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// Anywhere.
    Anywhere,
    /// At the very start of the message.
    Start,
    /// The whole message.
    Whole,
    /// A whole clause.
    Clause,
    /// The whole message is made of matches of the phrases.
    Only,
    /// Some clause is made of matches of the phrases.
    ClauseOnly,
}

/// One rule of an intent section.
#[derive(Debug)]
pub(crate) struct Rule {
    pub pattern: usize,
    pub anchor: Anchor,
    /// Counts only when no other intent has a (non-weak) rule that fired.
    pub weak: bool,
    /// Alternatives; any one must also occur in the message.
    pub and: Vec<usize>,
    /// Alternatives; any one must occur in the same clause as the match.
    pub and_clause: Vec<usize>,
    /// If any occurs in the message, the rule does not count.
    pub not: Vec<usize>,
    /// A match does not count if any of these occurs in its clause.
    pub not_clause: Vec<usize>,
    /// `intents.rules:12 [section] phrase`, shown to owners.
    pub description: String,
}

#[derive(Debug)]
pub(crate) struct Section {
    pub intent: Intent,
    pub hazard: Option<Hazard>,
    /// All rules weak: used only when nothing else matched.
    pub fallback: bool,
    pub negation: bool,
    pub rules: Vec<Rule>,
    pub unless: Vec<usize>,
    pub ignore: Vec<usize>,
}

/// Negation settings from `[negation]`.
#[derive(Debug, Default)]
pub(crate) struct Negation {
    pub words: FxSet<String>,
    /// Phrases that begin with a negation word but negate nothing.
    pub except: Vec<Vec<String>>,
    pub window: usize,
}

/// A compiled rules file.
#[derive(Debug)]
pub(crate) struct Rules {
    pub text: TextRules,
    pub matcher: Matcher,
    pub sections: Vec<Section>,
    pub negation: Negation,
    /// `[resolved]`: the hazard before is over ("turned out", "fixed").
    pub resolved: Vec<usize>,
    /// `[ongoing]`: it is still going after all ("still smoking").
    pub ongoing: Vec<usize>,
    /// `[hypothetical]`: a hazard in this clause is not happening ("if").
    pub hypothetical: Vec<usize>,
    /// `[past]`: a hazard after this in its clause is history ("last year").
    pub past: Vec<usize>,
    /// `[present]`: ... unless this follows in that clause ("now", "again").
    pub present: Vec<usize>,
    /// Look-alikes of the cues of each kind (`ignore:` in those sections).
    pub cue_ignore: [Vec<usize>; CUE_KINDS],
    pub reaction: Option<(Regex, String)>,
    pub languages: Vec<(Language, FxSet<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Spelling,
    Characters,
    Fuzzy,
    Clauses,
    Negation,
    Language(Language),
    Concept(String),
    Cue(CueKind),
    Reaction,
    Intent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CueKind {
    Resolved,
    Ongoing,
    Hypothetical,
    Past,
    Present,
}

/// How many kinds of hazard cue there are (`CueKind`).
const CUE_KINDS: usize = 5;

const SECTION_HINT: &str = "known sections: [opt_out] [opt_in] [help] [booking] [pricing] \
     [not_interested] [emergency: HAZARD] [INTENT: fallback] [concept: NAME] [spelling] \
     [characters] [fuzzy] [clauses] [negation] [resolved] [ongoing] [hypothetical] [past] [present] \
     [language: CODE] [reaction]";

const DIRECTIVE_HINT: &str = "use one of phrase:, starts:, exact:, clause:, only:, regex: (each \
     may start with `weak`), and:, and regex:, and clause:, not:, not clause:, unless:, \
     unless regex:, ignore:, ignore regex:, negation: on|off";

/// Header of an intent section.
struct Header {
    intent: Intent,
    hazard: Option<Hazard>,
    fallback: bool,
}

fn parse_kind(name: &str) -> Result<(Kind, Option<Header>), String> {
    let (base, qualifier) = match name.split_once(':') {
        Some((b, q)) => (b.trim(), Some(q.trim())),
        None => (name.trim(), None),
    };
    let plain = |k| Ok((k, None));
    match (base, qualifier) {
        ("spelling", None) => return plain(Kind::Spelling),
        ("characters", None) => return plain(Kind::Characters),
        ("fuzzy", None) => return plain(Kind::Fuzzy),
        ("clauses", None) => return plain(Kind::Clauses),
        ("negation", None) => return plain(Kind::Negation),
        ("resolved", None) => return plain(Kind::Cue(CueKind::Resolved)),
        ("ongoing", None) => return plain(Kind::Cue(CueKind::Ongoing)),
        ("hypothetical", None) => return plain(Kind::Cue(CueKind::Hypothetical)),
        ("past", None) => return plain(Kind::Cue(CueKind::Past)),
        ("present", None) => return plain(Kind::Cue(CueKind::Present)),
        ("reaction", None) => return plain(Kind::Reaction),
        ("concept", Some(n)) => {
            if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "a concept name uses only letters, digits and _, found {n:?}"
                ));
            }
            return plain(Kind::Concept(n.to_string()));
        }
        ("language", Some(code)) => {
            let lang = Language::ALL
                .into_iter()
                .find(|l| l.as_str() == code)
                .ok_or_else(|| {
                    let names: Vec<_> = Language::ALL.iter().map(|l| l.as_str()).collect();
                    format!(
                        "unknown language {code:?}; use one of: {}",
                        names.join(", ")
                    )
                })?;
            return plain(Kind::Language(lang));
        }
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
        intent,
        hazard: None,
        fallback: false,
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
    Ok((Kind::Intent, Some(header)))
}

/// Removes a `#` comment and surrounding whitespace.
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(l, _)| l).trim()
}

/// `Some("name")` for a `[name]` header line.
fn section_name(line: &str) -> Option<&str> {
    line.strip_prefix('[')?.strip_suffix(']')
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

fn compile(source: &str) -> Result<Regex, String> {
    RegexBuilder::new(source)
        .size_limit(1 << 25)
        .build()
        .map_err(|e| {
            format!(
                "invalid regex: {}; check brackets and escape special characters with \\, \
                 or use phrase: for plain words",
                e.to_string().lines().last().unwrap_or_default().trim()
            )
        })
}

/// Concept name -> (line of its header, its lines with their numbers).
type Concepts = HashMap<String, (usize, Vec<(usize, String)>)>;

/// The parts of the file needed before phrases can be compiled.
struct Prelude {
    text: TextRules,
    /// Concept name -> (line, raw phrase lines).
    concepts: Concepts,
}

/// `directive: value` -> (Some(directive), value); a line without a known
/// directive word -> (None, line).
fn split_directive(line: &str) -> (Option<String>, &str) {
    if let Some((d, v)) = line.split_once(':') {
        let d = d.trim().to_ascii_lowercase();
        if !d.is_empty() && d.chars().all(|c| c.is_ascii_lowercase() || c == ' ') {
            return (Some(d), v.trim());
        }
    }
    (None, line)
}

pub(crate) fn compile_rules(text: &str, file: &str) -> Result<Rules, RulesError> {
    let err = |line: usize, message: String| RulesError {
        file: file.to_string(),
        line,
        message,
    };
    let Prelude {
        text: mut text_rules,
        concepts,
    } = prelude(text, file)?;

    // The word lists of [negation], [language: ...] need the fillers and
    // spelling of the prelude only.
    let words_of = |value: &str, t: &TextRules| -> Vec<String> {
        let folded = super::text::fold(value, &t.chars);
        super::text::phrase_words(&folded)
            .into_iter()
            .map(|w| t.spelling.get(&w).cloned().unwrap_or(w))
            .collect()
    };

    let mut c = Compiler {
        concepts: &concepts,
        text: &text_rules,
        concept_ids: HashMap::new(),
        matcher: Matcher::default(),
        ids: HashMap::new(),
        file,
    };
    let mut sections: Vec<Section> = Vec::new();
    let mut negation = Negation {
        window: 3,
        ..Default::default()
    };
    let mut cues: [Vec<usize>; CUE_KINDS] = Default::default();
    let mut cue_ignore: [Vec<usize>; CUE_KINDS] = Default::default();
    // The `phrase:` lines of each cue kind, matched as one pattern (one
    // scan of the message per kind, not one per line).
    let mut cue_phrases: [Vec<Phrase>; CUE_KINDS] = Default::default();
    let mut reaction = None;
    let mut languages: Vec<(Language, FxSet<String>)> = Vec::new();
    let mut kind: Option<Kind> = None;
    let mut label = String::new();

    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = strip_comment(raw);
        if line.is_empty() {
            continue;
        }
        if let Some(name) = section_name(line) {
            let (k, header) = parse_kind(name).map_err(|m| err(lineno, m))?;
            if let Some(h) = header {
                sections.push(Section {
                    intent: h.intent,
                    hazard: h.hazard,
                    fallback: h.fallback,
                    negation: true,
                    rules: Vec::new(),
                    unless: Vec::new(),
                    ignore: Vec::new(),
                });
            }
            if let Kind::Language(l) = k {
                languages.push((l, FxSet::default()));
            }
            label = name.trim().to_string();
            kind = Some(k);
            continue;
        }
        let Some(k) = kind.clone() else {
            return Err(err(
                lineno,
                format!("this line is outside any section; start a section first, {SECTION_HINT}"),
            ));
        };
        match k {
            Kind::Spelling | Kind::Characters | Kind::Fuzzy | Kind::Clauses | Kind::Concept(_) => {
                continue; // read in the prelude
            }
            _ => {}
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
        match k {
            Kind::Negation => match directive.as_str() {
                "words" => {
                    // A negation word is one word: of a longer entry
                    // (Chinese 没有 reads as 没 有), the first one counts.
                    for w in alternatives(value).map_err(|m| err(lineno, m))? {
                        negation
                            .words
                            .extend(words_of(w, c.text).into_iter().take(1));
                    }
                }
                "except" => {
                    for w in alternatives(value).map_err(|m| err(lineno, m))? {
                        negation.except.push(words_of(w, c.text));
                    }
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
                        format!("unknown directive `{other}:` in [negation]; use words:, except: or window:"),
                    ));
                }
            },
            Kind::Language(_) => match directive.as_str() {
                "words" => {
                    let set = &mut languages.last_mut().expect("pushed at header").1;
                    for w in alternatives(value).map_err(|m| err(lineno, m))? {
                        set.extend(words_of(w, c.text));
                    }
                }
                other => {
                    return Err(err(
                        lineno,
                        format!("unknown directive `{other}:` in [{label}]; use words:"),
                    ));
                }
            },
            Kind::Cue(cue) => match directive.as_str() {
                "phrase" => cue_phrases[cue as usize].extend(c.phrases(value, lineno)?),
                "regex" => cues[cue as usize].push(c.add_regex(value, lineno)?),
                "ignore" => cue_ignore[cue as usize].push(c.add_phrases(value, lineno)?),
                other => {
                    return Err(err(
                        lineno,
                        format!("unknown directive `{other}:` in [{label}]; use phrase:, regex: or ignore:"),
                    ));
                }
            },
            Kind::Reaction => match directive.as_str() {
                "phrase" => {
                    let alts: Vec<String> = alternatives(value)
                        .map_err(|m| err(lineno, m))?
                        .into_iter()
                        .map(|a| {
                            words_of(a, c.text)
                                .iter()
                                .map(|w| regex::escape(w))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect();
                    let src = format!(r#"^[^a-z0-9]*(?:{})\s*""#, alts.join("|"));
                    let description = format!("{file}:{lineno} [reaction]");
                    reaction = Some((compile(&src).map_err(|m| err(lineno, m))?, description));
                }
                other => {
                    return Err(err(
                        lineno,
                        format!("unknown directive `{other}:` in [reaction]; use phrase:"),
                    ));
                }
            },
            Kind::Intent => {
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
                let (weak, base) = match directive.strip_prefix("weak ") {
                    Some(b) => (true, b.trim()),
                    None => (false, directive.as_str()),
                };
                let rule_anchor = match base {
                    "phrase" | "regex" => Some(Anchor::Anywhere),
                    "starts" => Some(Anchor::Start),
                    "exact" => Some(Anchor::Whole),
                    "clause" => Some(Anchor::Clause),
                    "only" => Some(Anchor::Only),
                    "clause only" => Some(Anchor::ClauseOnly),
                    _ => None,
                };
                if let Some(anchor) = rule_anchor {
                    let i = if base == "regex" {
                        c.add_regex(value, lineno)?
                    } else {
                        c.add_phrases(value, lineno)?
                    };
                    section.rules.push(Rule {
                        pattern: i,
                        anchor,
                        weak,
                        and: Vec::new(),
                        and_clause: Vec::new(),
                        not: Vec::new(),
                        not_clause: Vec::new(),
                        description: format!("{file}:{lineno} [{label}] {directive}"),
                    });
                    continue;
                }
                if weak {
                    return Err(err(
                        lineno,
                        format!("`weak` goes only before phrase:, starts:, exact:, clause:, only: or regex:, found `{directive}:`"),
                    ));
                }
                let i = match directive.as_str() {
                    "and regex" | "unless regex" | "ignore regex" | "not regex" => {
                        c.add_regex(value, lineno)?
                    }
                    "and" | "and clause" | "unless" | "ignore" | "not" | "not clause" => {
                        c.add_phrases(value, lineno)?
                    }
                    other => {
                        return Err(err(
                            lineno,
                            format!("unknown directive `{other}:` in [{label}]; {DIRECTIVE_HINT}"),
                        ));
                    }
                };
                let section = sections.last_mut().expect("intent section was pushed");
                let per_rule = matches!(
                    directive.as_str(),
                    "and" | "and regex" | "and clause" | "not" | "not regex" | "not clause"
                );
                if per_rule {
                    let Some(last) = section.rules.last_mut() else {
                        return Err(err(
                            lineno,
                            format!("`{directive}:` must follow a phrase:, starts:, exact:, clause:, only: clause only: or regex: line in the same section"),
                        ));
                    };
                    match directive.as_str() {
                        "and" | "and regex" => last.and.push(i),
                        "and clause" => last.and_clause.push(i),
                        "not clause" => last.not_clause.push(i),
                        _ => last.not.push(i),
                    }
                } else if directive.starts_with("unless") {
                    section.unless.push(i);
                } else {
                    section.ignore.push(i);
                }
            }
            _ => unreachable!("handled above"),
        }
    }

    for (kind, phrases) in cue_phrases.into_iter().enumerate() {
        if !phrases.is_empty() {
            cues[kind].push(c.add(Pattern::Phrases(phrases)));
        }
    }
    let Compiler {
        mut matcher, ids, ..
    } = c;
    // Patterns consulted only when something else matched are matched
    // only when asked for.
    let mut lazy = vec![false; matcher.patterns.len()];
    for section in &sections {
        for &p in section.unless.iter().chain(&section.ignore) {
            lazy[p] = true;
        }
        for rule in &section.rules {
            for &p in rule
                .and
                .iter()
                .chain(&rule.and_clause)
                .chain(&rule.not)
                .chain(&rule.not_clause)
            {
                lazy[p] = true;
            }
            if matches!(rule.anchor, Anchor::Only | Anchor::ClauseOnly) {
                lazy[rule.pattern] = true;
            }
        }
    }
    for &p in cues.iter().chain(cue_ignore.iter()).flatten() {
        lazy[p] = true;
    }
    matcher.lazy = lazy;
    matcher.build().map_err(|m| err(1, m))?;
    // Every rule word is known: never "corrected" into another, and a typo
    // may be corrected into it.
    // Words of the [language: ...] lists are real words too.
    for (_, set) in &languages {
        for w in set {
            text_rules.known.insert(w.clone());
        }
    }
    let mut words: Vec<(String, u32)> = ids.into_iter().collect();
    words.sort_by_key(|(_, id)| *id);
    for (w, id) in words {
        text_rules.add_vocab(&w);
        text_rules.ids.insert(w, id);
    }
    for (i, (_, set)) in languages.iter().enumerate().take(8) {
        for w in set {
            *text_rules.languages.entry(w.clone()).or_default() |= 1 << i;
        }
    }
    text_rules.finish();
    // Fixed priority; fallback sections last; file order kept within ties
    // (so the first matching emergency section names the hazard).
    sections.sort_by_key(|s| (s.fallback, s.intent.priority()));
    let [resolved, ongoing, hypothetical, past, present] = cues;
    Ok(Rules {
        text: text_rules,
        matcher,
        sections,
        negation,
        resolved,
        ongoing,
        hypothetical,
        past,
        present,
        cue_ignore,
        reaction,
        languages,
    })
}
