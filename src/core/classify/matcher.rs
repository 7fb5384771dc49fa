//! Finding every phrase of every rule in a message, word by word.
//!
//! A phrase is a sequence of elements (a word, a word start such as
//! `spark*`, a number, a concept, a gap of up to four words, a piece of
//! Chinese). Each phrase is indexed by the words it can start with, so a
//! message costs one lookup per word plus the checks of the phrases that
//! can start there, however many rules there are. Concepts are matched once
//! per position and remembered.

use super::text::{Analyzed, FxMap, NO_ID};
use regex::{Regex, RegexSet};

/// One element of a phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Elem {
    /// A word (by id).
    Word(u32),
    /// A word that starts with this (`spark*`).
    Prefix(Box<str>),
    /// A number in `lo..=hi`, written with digits (and then exactly this
    /// suffix: `<num>am` matches "8am") or in words ("twelve").
    Num { lo: i64, hi: i64, suffix: Box<str> },
    /// Any phrase of a concept.
    Concept(u32),
    /// A run of Chinese characters containing this.
    Cjk(Box<str>),
    /// Up to this many words.
    Gap(u8),
}

pub(crate) type Phrase = Vec<Elem>;

/// What one rule line matches.
#[derive(Debug)]
pub(crate) enum Pattern {
    Phrases(Vec<Phrase>),
    Regex(Regex),
}

/// Where a phrase can start.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Word(u32),
    Prefix(Box<str>),
    Num,
    Cjk,
}

/// Phrases (by a `u32` payload) indexed by the words they can start with.
#[derive(Debug, Default)]
struct Index {
    by_word: FxMap<u32, Vec<u32>>,
    /// Word starts (few): checked one by one.
    by_prefix: Vec<(Box<str>, Vec<u32>)>,
    by_num: Vec<u32>,
    by_cjk: Vec<u32>,
}

impl Index {
    fn add(&mut self, key: Key, payload: u32) {
        match key {
            Key::Word(w) => self.by_word.entry(w).or_default().push(payload),
            Key::Prefix(s) => match self.by_prefix.iter_mut().find(|(p, _)| *p == s) {
                Some((_, list)) => list.push(payload),
                None => self.by_prefix.push((s, vec![payload])),
            },
            Key::Num => self.by_num.push(payload),
            Key::Cjk => self.by_cjk.push(payload),
        }
    }

    /// Pushes the payloads of the phrases that may start at word `ti`.
    fn candidates(&self, a: &Analyzed, ti: usize, out: &mut Vec<u32>) {
        let tok = a.toks[ti];
        for id in [tok.id, tok.stem] {
            if id != NO_ID {
                if let Some(list) = self.by_word.get(&id) {
                    out.extend_from_slice(list);
                }
            }
        }
        if tok.cjk {
            out.extend_from_slice(&self.by_cjk);
            return;
        }
        if !self.by_prefix.is_empty() {
            let w = a.word(ti);
            for (prefix, list) in &self.by_prefix {
                if w.starts_with(&**prefix) {
                    out.extend_from_slice(list);
                }
            }
        }
        if !self.by_num.is_empty() && a.has_number(ti) {
            out.extend_from_slice(&self.by_num);
        }
    }
}

/// Every pattern, indexed for matching.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    pub patterns: Vec<Pattern>,
    pub concepts: Vec<Vec<Phrase>>,
    /// `(pattern, phrase)` of every phrase of every pattern.
    entries: Vec<(u32, u32)>,
    /// Indexes `entries`.
    index: Index,
    /// Per concept, indexes its phrases.
    concept_index: Vec<Index>,
    regex_patterns: Vec<u32>,
    regex_set: Option<RegexSet>,
}

/// Where every pattern matched in one message: word spans `(start, end)`.
#[derive(Debug, Default)]
pub(crate) struct Hits {
    /// `(pattern, start, end)`, sorted.
    spans: Vec<(u32, u16, u16)>,
    /// Offsets into `spans` per pattern.
    index: Vec<u32>,
}

impl Hits {
    /// The spans of pattern `p`, in order of start.
    pub fn of(&self, p: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (a, b) = (self.index[p] as usize, self.index[p + 1] as usize);
        self.spans[a..b]
            .iter()
            .map(|&(_, s, e)| (s as usize, e as usize))
    }

    pub fn any(&self, p: usize) -> bool {
        self.index[p] != self.index[p + 1]
    }
}

impl Matcher {
    /// Indexes every phrase by the words it can start with. Call once,
    /// after all patterns and concepts are added.
    pub fn build(&mut self) -> Result<(), String> {
        let keys_of = |concepts: &[Vec<Phrase>], phrase: &Phrase| -> Result<Vec<Key>, String> {
            let mut keys = Vec::new();
            first_keys(concepts, phrase, &mut keys, 0)?;
            let mut unique: Vec<Key> = Vec::with_capacity(keys.len());
            for k in keys {
                if !unique.contains(&k) {
                    unique.push(k);
                }
            }
            Ok(unique)
        };
        for (p, pattern) in self.patterns.iter().enumerate() {
            match pattern {
                Pattern::Regex(_) => self.regex_patterns.push(p as u32),
                Pattern::Phrases(phrases) => {
                    for (k, phrase) in phrases.iter().enumerate() {
                        let entry = self.entries.len() as u32;
                        self.entries.push((p as u32, k as u32));
                        for key in keys_of(&self.concepts, phrase)? {
                            self.index.add(key, entry);
                        }
                    }
                }
            }
        }
        for phrases in &self.concepts {
            let mut index = Index::default();
            for (k, phrase) in phrases.iter().enumerate() {
                for key in keys_of(&self.concepts, phrase)? {
                    index.add(key, k as u32);
                }
            }
            self.concept_index.push(index);
        }
        if !self.regex_patterns.is_empty() {
            let sources: Vec<&str> = self
                .regex_patterns
                .iter()
                .map(|&p| match &self.patterns[p as usize] {
                    Pattern::Regex(r) => r.as_str(),
                    Pattern::Phrases(_) => unreachable!(),
                })
                .collect();
            self.regex_set = Some(RegexSet::new(sources).map_err(|e| e.to_string())?);
        }
        Ok(())
    }

    /// Every match of every pattern in a message.
    pub fn hits(&self, a: &Analyzed) -> Hits {
        let n = a.toks.len();
        let mut spans: Vec<(u32, u16, u16)> = Vec::new();
        let mut m = Matching {
            matcher: self,
            a,
            memo: vec![u32::MAX; self.concepts.len() * (n + 1)],
            arena: Vec::new(),
            pool: Vec::new(),
        };
        let mut ends: Vec<usize> = Vec::new();
        let mut candidates: Vec<u32> = Vec::new();
        for ti in 0..n {
            candidates.clear();
            self.index.candidates(a, ti, &mut candidates);
            for &entry in &candidates {
                let (p, k) = self.entries[entry as usize];
                let Pattern::Phrases(phrases) = &self.patterns[p as usize] else {
                    continue;
                };
                ends.clear();
                m.elems(&phrases[k as usize], 0, ti, &mut ends);
                for &e in &ends {
                    spans.push((p, ti as u16, e as u16));
                }
            }
        }
        if let Some(set) = &self.regex_set {
            for i in set.matches(&a.text).iter() {
                let p = self.regex_patterns[i];
                let Pattern::Regex(re) = &self.patterns[p as usize] else {
                    continue;
                };
                for mt in re.find_iter(&a.text) {
                    let (bs, be) = (mt.start() as u32, mt.end() as u32);
                    let s = a.toks.iter().position(|t| t.end > bs).unwrap_or(n);
                    let e = a.toks.iter().take_while(|t| t.start < be).count().max(s);
                    spans.push((p, s as u16, e as u16));
                }
            }
        }
        spans.sort_unstable();
        spans.dedup();
        let mut index = vec![0u32; self.patterns.len() + 1];
        for &(p, _, _) in &spans {
            index[p as usize + 1] += 1;
        }
        for i in 1..index.len() {
            index[i] += index[i - 1];
        }
        Hits { spans, index }
    }
}

/// The keys a phrase can start with.
fn first_keys(
    concepts: &[Vec<Phrase>],
    phrase: &Phrase,
    out: &mut Vec<Key>,
    depth: usize,
) -> Result<(), String> {
    if depth > 16 {
        return Err("concepts refer to each other in a circle".to_string());
    }
    match phrase.first() {
        None => Err("empty phrase".to_string()),
        Some(Elem::Word(w)) => {
            out.push(Key::Word(*w));
            Ok(())
        }
        Some(Elem::Prefix(s)) => {
            out.push(Key::Prefix(s.clone()));
            Ok(())
        }
        Some(Elem::Num { .. }) => {
            out.push(Key::Num);
            Ok(())
        }
        Some(Elem::Cjk(_)) => {
            out.push(Key::Cjk);
            Ok(())
        }
        Some(Elem::Gap(_)) => Err("a phrase cannot start with `...`".to_string()),
        Some(Elem::Concept(c)) => {
            for p in &concepts[*c as usize] {
                first_keys(concepts, p, out, depth + 1)?;
            }
            Ok(())
        }
    }
}

/// State while matching one message.
struct Matching<'a> {
    matcher: &'a Matcher,
    a: &'a Analyzed,
    /// Per (concept, start word): where its ends are in `arena`
    /// (`offset << 8 | count`), or `u32::MAX` when not computed yet.
    memo: Vec<u32>,
    arena: Vec<u16>,
    /// Spare vectors, so that recursion does not allocate.
    pool: Vec<Vec<u32>>,
}

impl Matching<'_> {
    /// Pushes to `out` every end of `phrase[i..]` starting at word `ti`.
    fn elems(&mut self, phrase: &[Elem], i: usize, ti: usize, out: &mut Vec<usize>) {
        let toks = &self.a.toks;
        let n = toks.len();
        if i == phrase.len() {
            if !out.contains(&ti) {
                out.push(ti);
            }
            return;
        }
        // Neighbouring elements must be in one segment.
        if i > 0 && (ti >= n || toks[ti].seg != toks[ti - 1].seg) {
            return;
        }
        if ti >= n {
            return;
        }
        match &phrase[i] {
            Elem::Word(w) => {
                if toks[ti].id == *w || toks[ti].stem == *w {
                    self.elems(phrase, i + 1, ti + 1, out);
                }
            }
            Elem::Prefix(p) => {
                if !toks[ti].cjk && self.a.word(ti).starts_with(&**p) {
                    self.elems(phrase, i + 1, ti + 1, out);
                }
            }
            Elem::Cjk(s) => {
                if toks[ti].cjk && self.a.word(ti).contains(&**s) {
                    self.elems(phrase, i + 1, ti + 1, out);
                }
            }
            Elem::Num { lo, hi, suffix } => {
                let mut next = [0usize; 4];
                let mut count = 0;
                for (v, sfx, used) in self.a.numbers(ti) {
                    if v >= *lo && v <= *hi && sfx == &**suffix && count < next.len() {
                        next[count] = ti + used;
                        count += 1;
                    }
                }
                for &t in &next[..count] {
                    self.elems(phrase, i + 1, t, out);
                }
            }
            Elem::Gap(max) => {
                // Skip 0..=max words, all in this segment.
                let seg = toks[ti - 1].seg;
                let mut t = ti;
                loop {
                    self.elems(phrase, i + 1, t, out);
                    if t >= n || t - ti >= *max as usize || toks[t].seg != seg {
                        break;
                    }
                    t += 1;
                }
            }
            Elem::Concept(c) => {
                let (offset, count) = self.concept(*c, ti);
                let mut buf = [0u16; 16];
                let count = count.min(buf.len());
                buf[..count].copy_from_slice(&self.arena[offset..offset + count]);
                for &e in &buf[..count] {
                    self.elems(phrase, i + 1, e as usize, out);
                }
            }
        }
    }

    /// Where the ends of concept `c` starting at word `ti` are in `arena`.
    fn concept(&mut self, c: u32, ti: usize) -> (usize, usize) {
        let slot = c as usize * (self.a.toks.len() + 1) + ti;
        let packed = self.memo[slot];
        if packed != u32::MAX {
            return ((packed >> 8) as usize, (packed & 0xff) as usize);
        }
        let matcher = self.matcher;
        let mut candidates = self.pool.pop().unwrap_or_default();
        candidates.clear();
        matcher.concept_index[c as usize].candidates(self.a, ti, &mut candidates);
        let mut ends: Vec<usize> = Vec::new();
        for &k in &candidates {
            self.elems(&matcher.concepts[c as usize][k as usize], 0, ti, &mut ends);
        }
        self.pool.push(candidates);
        let offset = self.arena.len();
        let count = ends.len().min(255);
        self.arena
            .extend(ends.iter().take(count).map(|&e| e as u16));
        self.memo[slot] = ((offset as u32) << 8) | count as u32;
        (offset, count)
    }
}
