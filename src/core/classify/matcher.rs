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

mod matching;

pub(crate) use matching::Hits;

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
