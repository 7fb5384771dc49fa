//! Finding every phrase of every rule in a message, word by word.
//!
//! A phrase is a sequence of elements (a word, a word start such as
//! `spark*`, a number, a concept, a gap of up to four words; each Chinese
//! character is a word). Each phrase is indexed by the words it can start with, so a
//! message costs one lookup per word plus the checks of the phrases that
//! can start there, however many rules there are. Concepts are matched once
//! per position and remembered.

use super::text::{Analyzed, FxMap, NO_ID};
use regex::{Regex, RegexSet};
use std::cell::RefCell;
use std::rc::Rc;

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
}

/// Phrases (by a `u32` payload) indexed by the words they can start with.
#[derive(Debug, Default)]
struct Index {
    by_word: FxMap<u32, Vec<u32>>,
    /// Bit `id` set for every key of `by_word`: most words start no
    /// phrase of a given index, and this says so without a hash lookup
    /// (the lookup was the costliest step of reading a message).
    word_bits: Vec<u64>,
    /// Word starts, by their number in [`Matcher::prefixes`].
    by_prefix: Vec<(u8, Vec<u32>)>,
    by_num: Vec<u32>,
}

impl Index {
    fn add(&mut self, key: Key, payload: u32, prefixes: &mut Vec<Box<str>>) {
        match key {
            Key::Word(w) => {
                let slot = w as usize / 64;
                if self.word_bits.len() <= slot {
                    self.word_bits.resize(slot + 1, 0);
                }
                self.word_bits[slot] |= 1 << (w % 64);
                self.by_word.entry(w).or_default().push(payload)
            }
            Key::Prefix(s) => {
                let id = match prefixes.iter().position(|p| *p == s) {
                    Some(i) => i,
                    None => {
                        prefixes.push(s);
                        prefixes.len() - 1
                    }
                } as u8;
                match self.by_prefix.iter_mut().find(|(p, _)| *p == id) {
                    Some((_, list)) => list.push(payload),
                    None => self.by_prefix.push((id, vec![payload])),
                }
            }
            Key::Num => self.by_num.push(payload),
        }
    }

    /// Pushes the payloads of the phrases that may start at word `ti`
    /// (`starts`: which of the matcher's word starts word `ti` has).
    fn candidates(&self, a: &Analyzed, ti: usize, starts: u64, out: &mut Vec<u32>) {
        let tok = a.toks[ti];
        for id in [tok.id, tok.stem] {
            let starts_phrase = self
                .word_bits
                .get(id as usize / 64)
                .is_some_and(|bits| bits & (1 << (id % 64)) != 0);
            if id != NO_ID && starts_phrase {
                if let Some(list) = self.by_word.get(&id) {
                    out.extend_from_slice(list);
                }
            }
        }
        if tok.cjk {
            return;
        }
        if starts != 0 {
            for (id, list) in &self.by_prefix {
                if starts & (1 << id) != 0 {
                    out.extend_from_slice(list);
                }
            }
        }
        if !self.by_num.is_empty() && a.has_number(ti) {
            out.extend_from_slice(&self.by_num);
        }
    }
}

/// The phrases of a pattern or concept as a tree: phrases that begin
/// alike share their beginning, which is then matched once.
#[derive(Debug, Default)]
struct Trie {
    /// Node 0 is the root.
    nodes: Vec<Node>,
}

#[derive(Debug, Default)]
struct Node {
    edges: Vec<(Elem, u32)>,
    /// A phrase ends here.
    end: bool,
    /// When the node has many word edges: word -> child, and `edges`
    /// keeps only the other kinds.
    words: Option<FxMap<u32, u32>>,
}

impl Trie {
    fn new(phrases: &[Phrase]) -> Trie {
        let mut t = Trie {
            nodes: vec![Node::default()],
        };
        for phrase in phrases {
            let mut node = 0usize;
            for elem in phrase {
                let found = t.nodes[node]
                    .edges
                    .iter()
                    .find(|(e, _)| e == elem)
                    .map(|&(_, c)| c as usize);
                node = match found {
                    Some(c) => c,
                    None => {
                        t.nodes.push(Node::default());
                        let c = t.nodes.len() - 1;
                        t.nodes[node].edges.push((elem.clone(), c as u32));
                        c
                    }
                };
            }
            t.nodes[node].end = true;
        }
        // Many alternatives of one word after a shared beginning ("@when
        // ... works | fine | good | ..."): look the word up instead.
        // (Not the root: its edges are found through the first-word index.)
        for node in t.nodes.iter_mut().skip(1) {
            let words = node
                .edges
                .iter()
                .filter(|(e, _)| matches!(e, Elem::Word(_)))
                .count();
            if words >= 4 {
                let mut map = FxMap::default();
                node.edges.retain(|(e, c)| match e {
                    Elem::Word(w) => {
                        map.insert(*w, *c);
                        false
                    }
                    _ => true,
                });
                node.words = Some(map);
            }
        }
        t
    }

    fn root_edges(&self) -> &[(Elem, u32)] {
        &self.nodes[0].edges
    }
}

/// Every pattern, indexed for matching.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    pub patterns: Vec<Pattern>,
    pub concepts: Vec<Vec<Phrase>>,
    /// Per pattern (empty for a regex) and per concept, its trie.
    pattern_tries: Vec<Trie>,
    concept_tries: Vec<Trie>,
    /// `(pattern, edge of its trie's root)` for every first element.
    entries: Vec<(u32, u32)>,
    /// Indexes `entries` (of the eager patterns).
    index: Index,
    /// Patterns matched only when first asked for (`and:`, `unless:`,
    /// `ignore:`, cues...): most messages never need them.
    pub lazy: Vec<bool>,
    /// For each lazy pattern, its first edges indexed by first word.
    pattern_index: Vec<Index>,
    /// Every distinct word start (`spark*`) of a first element (at most 64).
    prefixes: Vec<Box<str>>,
    /// Per first byte, the word starts beginning with it (bits of
    /// `prefixes`): a word is compared only with those.
    prefix_by_byte: Vec<u64>,
    /// Per concept, indexes its phrases.
    concept_index: Vec<Index>,
    regex_patterns: Vec<u32>,
    regex_set: Option<RegexSet>,
}

/// A span of words of a match: `(start, end)`.
type Span = (u16, u16);
/// A span with its pattern: `(pattern, start, end)`.
type PatternSpan = (u32, u16, u16);

/// Where every pattern matched in one message: word spans `(start, end)`.
/// Eager patterns are matched up front; lazy ones the first time they are
/// asked for.
pub(crate) struct Hits<'a> {
    /// Which patterns are lazy ([`Matcher::lazy`]), read without borrowing
    /// `state`: every rule of every section asks.
    lazy_flags: &'a [bool],
    /// `(pattern, start, end)` of the eager patterns, sorted.
    spans: Vec<(u32, u16, u16)>,
    /// Bit per pattern: an eager pattern with at least one span.
    found: Vec<u64>,
    /// Lazy patterns matched so far (few per message).
    lazy: RefCell<Vec<(u32, Rc<[Span]>)>>,
    state: RefCell<Matching<'a>>,
}

/// The spans of one pattern.
pub(crate) enum Spans<'h> {
    Eager(&'h [(u32, u16, u16)]),
    Lazy(Rc<[(u16, u16)]>),
}

impl Spans<'_> {
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (eager, lazy): (&[PatternSpan], &[Span]) = match self {
            Spans::Eager(s) => (s, &[]),
            Spans::Lazy(s) => (&[], s),
        };
        eager
            .iter()
            .map(|&(_, s, e)| (s as usize, e as usize))
            .chain(lazy.iter().map(|&(s, e)| (s as usize, e as usize)))
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Spans::Eager(s) => s.is_empty(),
            Spans::Lazy(s) => s.is_empty(),
        }
    }
}

impl<'a> Hits<'a> {
    /// The spans of pattern `p`, in order of start.
    pub fn of(&self, p: usize) -> Spans<'_> {
        if !self.lazy_flags[p] {
            if self.found[p / 64] & (1 << (p % 64)) == 0 {
                return Spans::Eager(&[]);
            }
            let p = p as u32;
            let a = self.spans.partition_point(|s| s.0 < p);
            let b = a + self.spans[a..].partition_point(|s| s.0 == p);
            return Spans::Eager(&self.spans[a..b]);
        }
        if let Some((_, done)) = self.lazy.borrow().iter().find(|(q, _)| *q as usize == p) {
            return Spans::Lazy(done.clone());
        }
        let spans: Rc<[(u16, u16)]> = self.state.borrow_mut().lazy_pattern(p).into();
        self.lazy.borrow_mut().push((p as u32, spans.clone()));
        Spans::Lazy(spans)
    }

    pub fn any(&self, p: usize) -> bool {
        !self.of(p).is_empty()
    }
}

impl Matcher {
    /// Indexes every phrase by the words it can start with. Call once,
    /// after all patterns and concepts are added.
    pub fn build(&mut self) -> Result<(), String> {
        self.concept_tries = self.concepts.iter().map(|p| Trie::new(p)).collect();
        self.pattern_tries = self
            .patterns
            .iter()
            .map(|p| match p {
                Pattern::Phrases(phrases) => Trie::new(phrases),
                Pattern::Regex(_) => Trie::default(),
            })
            .collect();
        let keys_of = |tries: &[Trie], elem: &Elem| -> Result<Vec<Key>, String> {
            let mut keys = Vec::new();
            elem_keys(tries, elem, &mut keys, 0)?;
            let mut unique: Vec<Key> = Vec::with_capacity(keys.len());
            for k in keys {
                if !unique.contains(&k) {
                    unique.push(k);
                }
            }
            Ok(unique)
        };
        self.lazy.resize(self.patterns.len(), false);
        for (p, pattern) in self.patterns.iter().enumerate() {
            let mut index = Index::default();
            if let Pattern::Regex(_) = pattern {
                self.regex_patterns.push(p as u32);
                self.lazy[p] = false;
                self.pattern_index.push(index);
                continue;
            }
            if self.lazy[p] {
                for (k, (elem, _)) in self.pattern_tries[p].root_edges().iter().enumerate() {
                    for key in keys_of(&self.concept_tries, elem)? {
                        index.add(key, k as u32, &mut self.prefixes);
                    }
                }
                self.pattern_index.push(index);
                continue;
            }
            self.pattern_index.push(index);
            for (k, (elem, _)) in self.pattern_tries[p].root_edges().iter().enumerate() {
                let entry = self.entries.len() as u32;
                self.entries.push((p as u32, k as u32));
                for key in keys_of(&self.concept_tries, elem)? {
                    self.index.add(key, entry, &mut self.prefixes);
                }
            }
        }
        for c in 0..self.concept_tries.len() {
            let mut index = Index::default();
            for (k, (elem, _)) in self.concept_tries[c].root_edges().iter().enumerate() {
                for key in keys_of(&self.concept_tries, elem)? {
                    index.add(key, k as u32, &mut self.prefixes);
                }
            }
            self.concept_index.push(index);
        }
        if self.prefixes.len() > 64 {
            return Err(format!(
                "{} different word starts (word*) begin phrases; at most 64 can",
                self.prefixes.len()
            ));
        }
        self.prefix_by_byte = vec![0; 256];
        for (i, p) in self.prefixes.iter().enumerate() {
            if let Some(&b) = p.as_bytes().first() {
                self.prefix_by_byte[b as usize] |= 1 << i;
            }
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
    pub fn hits<'a>(&'a self, a: &'a Analyzed) -> Hits<'a> {
        let n = a.toks.len();
        let mut spans: Vec<(u32, u16, u16)> = Vec::new();
        let starts: Vec<u64> = (0..n)
            .map(|ti| {
                if a.toks[ti].cjk || self.prefixes.is_empty() {
                    return 0;
                }
                let w = a.word(ti);
                let mut candidates = w
                    .as_bytes()
                    .first()
                    .map_or(0, |&b| self.prefix_by_byte[b as usize]);
                let mut mask = 0u64;
                while candidates != 0 {
                    let i = candidates.trailing_zeros() as usize;
                    candidates &= candidates - 1;
                    if w.starts_with(&*self.prefixes[i]) {
                        mask |= 1 << i;
                    }
                }
                mask
            })
            .collect();
        let mut m = Matching {
            matcher: self,
            a,
            starts,
            memo: vec![u32::MAX; self.concepts.len() * (n + 1)],
            arena: Vec::new(),
            pool: Vec::new(),
            ends_pool: Vec::new(),
        };
        let mut ends: Vec<usize> = Vec::new();
        let mut candidates: Vec<u32> = Vec::new();
        for ti in 0..n {
            candidates.clear();
            self.index.candidates(a, ti, m.starts[ti], &mut candidates);
            for &entry in &candidates {
                let (p, k) = self.entries[entry as usize];
                let trie = &self.pattern_tries[p as usize];
                let (elem, child) = &trie.root_edges()[k as usize];
                ends.clear();
                m.edge(trie, elem, *child, ti, &mut ends);
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
        let mut found = vec![0u64; self.patterns.len().div_ceil(64)];
        for &(p, _, _) in &spans {
            found[p as usize / 64] |= 1 << (p % 64);
        }
        Hits {
            lazy_flags: &self.lazy,
            spans,
            found,
            lazy: RefCell::new(Vec::new()),
            state: RefCell::new(m),
        }
    }
}

/// The keys a phrase starting with `elem` can start with.
fn elem_keys(tries: &[Trie], elem: &Elem, out: &mut Vec<Key>, depth: usize) -> Result<(), String> {
    if depth > 16 {
        return Err("concepts refer to each other in a circle".to_string());
    }
    match elem {
        Elem::Word(w) => out.push(Key::Word(*w)),
        Elem::Prefix(s) => out.push(Key::Prefix(s.clone())),
        Elem::Num { .. } => out.push(Key::Num),
        Elem::Gap(_) => return Err("a phrase cannot start with `...`".to_string()),
        Elem::Concept(c) => {
            for (e, _) in tries[*c as usize].root_edges() {
                elem_keys(tries, e, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// State while matching one message.
struct Matching<'a> {
    matcher: &'a Matcher,
    a: &'a Analyzed,
    /// Per (concept, start word): where its ends are in `arena`
    /// (`offset << 8 | count`), or `u32::MAX` when not computed yet.
    memo: Vec<u32>,
    arena: Vec<u16>,
    /// Per word, the word starts it has (bits of [`Matcher::prefixes`]).
    starts: Vec<u64>,
    /// Spare vectors, so that recursion does not allocate.
    pool: Vec<Vec<u32>>,
    /// Spare vectors for the ends of a concept (concepts nest).
    ends_pool: Vec<Vec<usize>>,
}

impl<'a> Matching<'a> {
    /// Pushes to `out` every end of a phrase continuing from `node` of
    /// `trie` at word `ti` (the word before belongs to the phrase).
    fn walk(&mut self, trie: &'a Trie, node: u32, ti: usize, out: &mut Vec<usize>) {
        let nd = &trie.nodes[node as usize];
        if nd.end && !out.contains(&ti) {
            out.push(ti);
        }
        let toks = &self.a.toks;
        // Neighbouring elements must be in one segment.
        if ti >= toks.len() || toks[ti].seg != toks[ti - 1].seg {
            return;
        }
        self.edges_at(trie, nd, ti, out);
    }

    /// Tries every edge of `nd` at word `ti`.
    fn edges_at(&mut self, trie: &'a Trie, nd: &'a Node, ti: usize, out: &mut Vec<usize>) {
        if let Some(words) = &nd.words {
            let tok = self.a.toks[ti];
            for id in [tok.id, tok.stem] {
                if id != NO_ID {
                    if let Some(&child) = words.get(&id) {
                        self.walk(trie, child, ti + 1, out);
                    }
                }
            }
        }
        for (elem, child) in &nd.edges {
            self.edge(trie, elem, *child, ti, out);
        }
    }

    /// Matches `elem` at word `ti`, then the rest of the phrase from `child`.
    fn edge(
        &mut self,
        trie: &'a Trie,
        elem: &'a Elem,
        child: u32,
        ti: usize,
        out: &mut Vec<usize>,
    ) {
        let toks = &self.a.toks;
        let n = toks.len();
        if ti >= n {
            return;
        }
        match elem {
            Elem::Word(w) => {
                if toks[ti].id == *w || toks[ti].stem == *w {
                    self.walk(trie, child, ti + 1, out);
                }
            }
            Elem::Prefix(p) => {
                if !toks[ti].cjk && self.a.word(ti).starts_with(&**p) {
                    self.walk(trie, child, ti + 1, out);
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
                    self.walk(trie, child, t, out);
                }
            }
            Elem::Gap(max) => {
                // Skip 0..=max words, all in this segment; the next element
                // then starts where the skipping stopped.
                let seg = toks[ti - 1].seg;
                let nd = &trie.nodes[child as usize];
                let mut t = ti;
                loop {
                    if t < n && toks[t].seg == seg {
                        self.edges_at(trie, nd, t, out);
                    }
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
                    self.walk(trie, child, e as usize, out);
                }
            }
        }
    }

    /// Every match of lazy pattern `p`.
    fn lazy_pattern(&mut self, p: usize) -> Vec<(u16, u16)> {
        let matcher = self.matcher;
        let trie = &matcher.pattern_tries[p];
        let mut out = Vec::new();
        let mut candidates = self.pool.pop().unwrap_or_default();
        let mut ends: Vec<usize> = Vec::new();
        for ti in 0..self.a.toks.len() {
            candidates.clear();
            matcher.pattern_index[p].candidates(self.a, ti, self.starts[ti], &mut candidates);
            for &k in &candidates {
                let (elem, child) = &trie.root_edges()[k as usize];
                ends.clear();
                self.edge(trie, elem, *child, ti, &mut ends);
                for &e in &ends {
                    if !out.contains(&(ti as u16, e as u16)) {
                        out.push((ti as u16, e as u16));
                    }
                }
            }
        }
        self.pool.push(candidates);
        out
    }

    /// Where the ends of concept `c` starting at word `ti` are in `arena`.
    fn concept(&mut self, c: u32, ti: usize) -> (usize, usize) {
        let slot = c as usize * (self.a.toks.len() + 1) + ti;
        let packed = self.memo[slot];
        if packed != u32::MAX {
            return ((packed >> 8) as usize, (packed & 0xff) as usize);
        }
        let matcher = self.matcher;
        let trie = &matcher.concept_tries[c as usize];
        let mut candidates = self.pool.pop().unwrap_or_default();
        candidates.clear();
        matcher.concept_index[c as usize].candidates(self.a, ti, self.starts[ti], &mut candidates);
        let mut ends = self.ends_pool.pop().unwrap_or_default();
        ends.clear();
        for &k in &candidates {
            let (elem, child) = &trie.root_edges()[k as usize];
            self.edge(trie, elem, *child, ti, &mut ends);
        }
        self.pool.push(candidates);
        let offset = self.arena.len();
        let count = ends.len().min(255);
        self.arena
            .extend(ends.iter().take(count).map(|&e| e as u16));
        self.ends_pool.push(ends);
        self.memo[slot] = ((offset as u32) << 8) | count as u32;
        (offset, count)
    }
}
