//! Parsing and compiling the owner-editable rules file
//! (`prompts/intents.rules`, whose header documents the format).

use super::matcher::{Elem, Matcher, Pattern, Phrase};
use super::text::{FxSet, TextRules};
use super::{Hazard, Intent, Language, RulesError};
use regex::{Regex, RegexBuilder};
use std::collections::HashMap;

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
    /// Look-alikes of the cues of each kind (`ignore:` in those sections).
    pub cue_ignore: [Vec<usize>; 3],
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
}

const SECTION_HINT: &str = "known sections: [opt_out] [opt_in] [help] [booking] [pricing] \
     [not_interested] [emergency: HAZARD] [INTENT: fallback] [concept: NAME] [spelling] \
     [characters] [fuzzy] [clauses] [negation] [resolved] [ongoing] [hypothetical] \
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

/// Builds patterns: phrases into word elements, concepts on demand.
struct Compiler<'a> {
    concepts: &'a Concepts,
    text: &'a TextRules,
    /// Concept name -> id in `matcher.concepts` (None while being built).
    concept_ids: HashMap<String, Option<u32>>,
    matcher: Matcher,
    /// Word -> id, shared with the text rules at the end.
    ids: HashMap<String, u32>,
    file: &'a str,
}

impl Compiler<'_> {
    fn err(&self, line: usize, message: String) -> RulesError {
        RulesError {
            file: self.file.to_string(),
            line,
            message,
        }
    }

    fn word_id(&mut self, w: &str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(w.to_string()).or_insert(next)
    }

    /// The id of a concept, compiling it the first time.
    fn concept(&mut self, name: &str, line: usize) -> Result<u32, RulesError> {
        match self.concept_ids.get(name) {
            Some(Some(id)) => return Ok(*id),
            Some(None) => {
                return Err(self.err(
                    line,
                    format!("@{name} refers back to itself (concepts may use other concepts, but not in a circle)"),
                ))
            }
            None => {}
        }
        let (_, lines) = self.concepts.get(name).ok_or_else(|| {
            self.err(
                line,
                format!("@{name} is not defined; add a [concept: {name}] section"),
            )
        })?;
        self.concept_ids.insert(name.to_string(), None);
        let mut phrases = Vec::new();
        for (lineno, value) in lines {
            let (directive, rest) = split_directive(value);
            match directive.as_deref() {
                Some("phrase") | None => {
                    phrases.extend(self.phrases(rest, *lineno)?);
                }
                Some(other) => {
                    return Err(self.err(
                        *lineno,
                        format!("unknown directive `{other}:` in [concept: {name}]; list phrases separated by | (use <num 0-40> for numbers)"),
                    ))
                }
            }
        }
        let id = self.matcher.concepts.len() as u32;
        self.matcher.concepts.push(phrases);
        self.concept_ids.insert(name.to_string(), Some(id));
        Ok(id)
    }

    /// The phrases of a line: `a | b | c`.
    fn phrases(&mut self, value: &str, line: usize) -> Result<Vec<Phrase>, RulesError> {
        let alts = alternatives(value).map_err(|m| self.err(line, m))?;
        let mut out = Vec::with_capacity(alts.len());
        for a in alts {
            out.push(self.phrase(a, line)?);
        }
        Ok(out)
    }

    /// One phrase: words, `...` gaps, `word*` starts, `<num>` / `<num 0-40>`
    /// / `<num>am` numbers, `@concept`s and Chinese.
    fn phrase(&mut self, phrase: &str, line: usize) -> Result<Phrase, RulesError> {
        let mut elems: Phrase = Vec::new();
        // Split on spaces, keeping `<...>` together.
        let mut parts: Vec<String> = Vec::new();
        let mut rest = phrase.trim();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('<') {
                let close = r.find('>').ok_or_else(|| {
                    self.err(
                        line,
                        format!(
                            "`<` without `>` in {phrase:?}; write numbers as <num> or <num 0-40>"
                        ),
                    )
                })?;
                let after = &r[close + 1..];
                let tail = after.find(' ').unwrap_or(after.len());
                parts.push(format!("<{}>{}", &r[..close], &after[..tail]));
                rest = after[tail..].trim_start();
                continue;
            }
            let end = rest.find(' ').unwrap_or(rest.len());
            parts.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
        for part in parts {
            if let Some(n) = part.strip_prefix("...") {
                if elems.is_empty() || matches!(elems.last(), Some(Elem::Gap(_))) {
                    return Err(self.err(
                        line,
                        format!("`...` needs words on both sides, in {phrase:?}"),
                    ));
                }
                let n = match n {
                    "" => GAP,
                    n => n
                        .parse::<u8>()
                        .ok()
                        .filter(|&n| (1..=12).contains(&n))
                        .ok_or_else(|| {
                            self.err(
                                line,
                                format!(
                                    "`...{n}` needs a number of words from 1 to 12, in {phrase:?}"
                                ),
                            )
                        })?,
                };
                elems.push(Elem::Gap(n));
            } else if let Some(name) = part.strip_prefix('@') {
                elems.push(Elem::Concept(self.concept(name, line)?));
            } else if let Some(inner) = part.strip_prefix('<') {
                let (spec, suffix) = inner.split_once('>').expect("kept together above");
                let range = spec.trim().strip_prefix("num").ok_or_else(|| {
                    self.err(
                        line,
                        format!("unknown <{spec}>; write numbers as <num> or <num 0-40>"),
                    )
                })?;
                let (lo, hi) = match range.trim() {
                    "" => (i64::MIN, i64::MAX),
                    r => {
                        let parse = |x: &str| x.trim().parse::<i64>().ok();
                        // "-5-40" or "0-40": split at the last '-' that has a digit before it.
                        let cut = r
                            .char_indices()
                            .find(|&(i, c)| {
                                c == '-' && i > 0 && r.as_bytes()[i - 1].is_ascii_digit()
                            })
                            .map(|(i, _)| i);
                        match cut.and_then(|i| Some((parse(&r[..i])?, parse(&r[i + 1..])?))) {
                            Some(p) => p,
                            None => {
                                return Err(self.err(
                                    line,
                                    format!("write a number range as <num 0-40>, found <{spec}>"),
                                ));
                            }
                        }
                    }
                };
                elems.push(Elem::Num {
                    lo,
                    hi,
                    suffix: super::text::fold(suffix, &self.text.chars).into(),
                });
            } else if let Some(stem) = part.strip_suffix('*') {
                let stem = super::text::fold(stem, &self.text.chars);
                if stem.is_empty() {
                    return Err(self.err(
                        line,
                        format!("`*` needs the start of a word before it, in {phrase:?}"),
                    ));
                }
                elems.push(Elem::Prefix(stem.into()));
            } else {
                // Plain words, read the way messages are.
                let folded = super::text::fold(&part, &self.text.chars);
                for w in super::text::phrase_words(&folded) {
                    if self.text.fillers.contains(&w) {
                        continue;
                    }
                    let fixed = self.text.spelling.get(&w).cloned().unwrap_or(w);
                    for piece in fixed.split(' ').filter(|p| !p.is_empty()) {
                        let id = self.word_id(piece);
                        elems.push(Elem::Word(id));
                    }
                }
            }
        }
        if elems.is_empty() {
            return Err(self.err(line, format!("the phrase {phrase:?} has no words")));
        }
        if matches!(elems.last(), Some(Elem::Gap(_))) {
            return Err(self.err(
                line,
                format!("`...` needs words on both sides, in {phrase:?}"),
            ));
        }
        Ok(elems)
    }

    fn add(&mut self, pattern: Pattern) -> usize {
        self.matcher.patterns.push(pattern);
        self.matcher.patterns.len() - 1
    }

    fn add_phrases(&mut self, value: &str, line: usize) -> Result<usize, RulesError> {
        let phrases = self.phrases(value, line)?;
        Ok(self.add(Pattern::Phrases(phrases)))
    }

    fn add_regex(&mut self, value: &str, line: usize) -> Result<usize, RulesError> {
        let re = compile(value).map_err(|m| self.err(line, m))?;
        Ok(self.add(Pattern::Regex(re)))
    }
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

/// Pass 1: the text tables and the concept definitions, which every
/// phrase needs before it can be compiled.
fn prelude(text: &str, file: &str) -> Result<Prelude, RulesError> {
    let err = |line: usize, message: String| RulesError {
        file: file.to_string(),
        line,
        message,
    };
    let mut t = TextRules::default();
    let mut concepts: Concepts = HashMap::new();
    let mut kind: Option<Kind> = None;
    // Characters first (spelling and phrases are folded with them).
    for (idx, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        if let Some(name) = section_name(line) {
            kind = parse_kind(name).ok().map(|(k, _)| k);
            continue;
        }
        if line.is_empty() || kind != Some(Kind::Characters) {
            continue;
        }
        for pair in line.split('|') {
            let (from, to) = pair.split_once("->").ok_or_else(|| {
                err(
                    idx + 1,
                    format!("expected `傳 -> 传` in [characters], found {pair:?}"),
                )
            })?;
            let (from, to): (Vec<char>, Vec<char>) =
                (from.trim().chars().collect(), to.trim().chars().collect());
            if from.len() != to.len() || from.is_empty() {
                return Err(err(
                    idx + 1,
                    "[characters] maps characters one for one: the same number on each side of ->"
                        .to_string(),
                ));
            }
            for (f, r) in from.into_iter().zip(to) {
                t.chars.insert(f, r);
            }
        }
    }
    let fold = |s: &str, chars: &HashMap<char, char>| super::text::fold(s, chars);
    kind = None;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = strip_comment(raw);
        if let Some(name) = section_name(line) {
            let (k, _) = parse_kind(name).map_err(|m| err(lineno, m))?;
            if let Kind::Concept(n) = &k {
                if concepts.contains_key(n) {
                    return Err(err(lineno, format!("[concept: {n}] is defined twice")));
                }
                concepts.insert(n.clone(), (lineno, Vec::new()));
            }
            kind = Some(k);
            continue;
        }
        if line.is_empty() {
            continue;
        }
        match &kind {
            Some(Kind::Spelling) => {
                if let Some(v) = line.strip_prefix("drop:") {
                    for w in alternatives(v.trim()).map_err(|m| err(lineno, m))? {
                        t.fillers.insert(fold(w, &t.chars));
                    }
                    continue;
                }
                let (wrong, right) = line.split_once("->").ok_or_else(|| {
                    err(
                        lineno,
                        format!("expected `wrong -> right` (or `drop: um | uh`) in [spelling], found {line:?}"),
                    )
                })?;
                let (wrong, right) = (fold(wrong.trim(), &t.chars), fold(right.trim(), &t.chars));
                if wrong.is_empty() || right.is_empty() {
                    return Err(err(
                        lineno,
                        "a spelling fix needs the misspelling on the left and the correction on the right, e.g. `emergancy -> emergency`".to_string(),
                    ));
                }
                let words: Vec<String> = wrong.split(' ').map(str::to_string).collect();
                if words.len() == 1 {
                    t.spelling.insert(wrong, right);
                } else {
                    t.multi
                        .entry(words[0].clone())
                        .or_default()
                        .push((words[1..].to_vec(), right));
                }
            }
            Some(Kind::Fuzzy) => {
                let (d, v) = line.split_once(':').ok_or_else(|| {
                    err(lineno, format!("expected `min letters: 6` or `keep: word | word` in [fuzzy], found {line:?}"))
                })?;
                match d.trim() {
                    "min letters" => {
                        t.fuzzy_min = v.trim().parse().map_err(|_| {
                            err(lineno, format!("min letters must be a whole number (0 turns typo correction off), found {:?}", v.trim()))
                        })?;
                    }
                    "keep" => {
                        for w in alternatives(v.trim()).map_err(|m| err(lineno, m))? {
                            t.known.insert(fold(w, &t.chars));
                        }
                    }
                    other => {
                        return Err(err(
                            lineno,
                            format!(
                            "unknown directive `{other}:` in [fuzzy]; use min letters: or keep:"
                        ),
                        ))
                    }
                }
            }
            Some(Kind::Clauses) => {
                let v = line.strip_prefix("words:").ok_or_else(|| {
                    err(
                        lineno,
                        format!("expected `words: but | and` in [clauses], found {line:?}"),
                    )
                })?;
                for w in alternatives(v.trim()).map_err(|m| err(lineno, m))? {
                    t.clause_words.insert(fold(w, &t.chars));
                }
            }
            Some(Kind::Concept(n)) => {
                let entry = concepts.get_mut(n).expect("inserted at header");
                entry.1.push((lineno, line.to_string()));
            }
            _ => {}
        }
    }
    // Corrections are themselves known words.
    let targets: Vec<String> = t
        .spelling
        .values()
        .chain(t.multi.values().flatten().map(|(_, r)| r))
        .flat_map(|r| r.split(' ').map(str::to_string).collect::<Vec<_>>())
        .collect();
    for w in targets {
        t.known.insert(w);
    }
    Ok(Prelude { text: t, concepts })
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
    let mut cues: [Vec<usize>; 3] = Default::default();
    let mut cue_ignore: [Vec<usize>; 3] = Default::default();
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
                "phrase" => cues[cue as usize].push(c.add_phrases(value, lineno)?),
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
    let [resolved, ongoing, hypothetical] = cues;
    Ok(Rules {
        text: text_rules,
        matcher,
        sections,
        negation,
        resolved,
        ongoing,
        hypothetical,
        cue_ignore,
        reaction,
        languages,
    })
}
