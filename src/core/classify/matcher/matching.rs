//! Matching one message against the built [`Matcher`]: the eager
//! patterns up front, the lazy ones when first asked for, and the spans
//! each pattern matched ([`Hits`]).
//!
//! Apart from `matcher.rs` (the phrases and how they are indexed, built
//! once per rules file) because this runs per message and holds only
//! per-message state.

use super::{Elem, Matcher, Node, Pattern, Trie};
use crate::core::classify::text::{Analyzed, NO_ID};
use std::cell::RefCell;
use std::rc::Rc;

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
