//! Pass 2: phrases and concepts compiled into the matcher's patterns.

use super::*;

/// Builds patterns: phrases into word elements, concepts on demand.
pub(super) struct Compiler<'a> {
    pub(super) concepts: &'a Concepts,
    pub(super) text: &'a TextRules,
    /// Concept name -> id in `matcher.concepts` (None while being built).
    pub(super) concept_ids: HashMap<String, Option<u32>>,
    pub(super) matcher: Matcher,
    /// Word -> id, shared with the text rules at the end.
    pub(super) ids: HashMap<String, u32>,
    pub(super) file: &'a str,
}

impl Compiler<'_> {
    pub(super) fn err(&self, line: usize, message: String) -> RulesError {
        RulesError {
            file: self.file.to_string(),
            line,
            message,
        }
    }

    pub(super) fn word_id(&mut self, w: &str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(w.to_string()).or_insert(next)
    }

    /// The id of a concept, compiling it the first time.
    pub(super) fn concept(&mut self, name: &str, line: usize) -> Result<u32, RulesError> {
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
    pub(super) fn phrases(&mut self, value: &str, line: usize) -> Result<Vec<Phrase>, RulesError> {
        let alts = alternatives(value).map_err(|m| self.err(line, m))?;
        let mut out = Vec::with_capacity(alts.len());
        for a in alts {
            out.push(self.phrase(a, line)?);
        }
        Ok(out)
    }

    /// One phrase: words, `...` gaps, `word*` starts, `<num>` / `<num 0-40>`
    /// / `<num>am` numbers, `@concept`s and Chinese.
    pub(super) fn phrase(&mut self, phrase: &str, line: usize) -> Result<Phrase, RulesError> {
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
                    suffix: crate::core::classify::text::fold(suffix, &self.text.chars).into(),
                });
            } else if let Some(stem) = part.strip_suffix('*') {
                let stem = crate::core::classify::text::fold(stem, &self.text.chars);
                if stem.is_empty() {
                    return Err(self.err(
                        line,
                        format!("`*` needs the start of a word before it, in {phrase:?}"),
                    ));
                }
                elems.push(Elem::Prefix(stem.into()));
            } else {
                // Plain words, read the way messages are.
                let folded = crate::core::classify::text::fold(&part, &self.text.chars);
                for w in crate::core::classify::text::phrase_words(&folded) {
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

    pub(super) fn add(&mut self, pattern: Pattern) -> usize {
        self.matcher.patterns.push(pattern);
        self.matcher.patterns.len() - 1
    }

    pub(super) fn add_phrases(&mut self, value: &str, line: usize) -> Result<usize, RulesError> {
        let phrases = self.phrases(value, line)?;
        Ok(self.add(Pattern::Phrases(phrases)))
    }

    pub(super) fn add_regex(&mut self, value: &str, line: usize) -> Result<usize, RulesError> {
        let re = compile(value).map_err(|m| self.err(line, m))?;
        Ok(self.add(Pattern::Regex(re)))
    }
}
