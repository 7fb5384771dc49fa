//! Reading a message before any rule sees it: character folding, words,
//! SMS shorthand and voice-to-text fixes, elongation ("stoppp"), typo
//! tolerance, and the split into clauses.
//!
//! Everything here is driven by tables from the rules file (`[spelling]`,
//! `[characters]`, `[fuzzy]`, `[clauses]`), built once by
//! [`super::Classifier::from_rules`].

pub(crate) use super::fold::*;
pub(crate) use super::fx::{FxMap, FxSet};
pub(crate) use super::words::*;
use std::collections::HashMap;

/// Characters that end a clause when they appear in a message.
pub(crate) const CLAUSE_PUNCT: &[char] = &['.', ',', ';', ':', '!', '?', '(', ')', '\n'];

/// Id of a word no rule uses.
pub(crate) const NO_ID: u32 = u32::MAX;

/// The tables that drive normalisation.
#[derive(Debug, Default)]
pub(crate) struct TextRules {
    /// One word -> its correction (which may be several words).
    pub spelling: FxMap<String, String>,
    /// Several words -> correction, keyed by the first word.
    pub multi: FxMap<String, Vec<(Vec<String>, String)>>,
    /// Single characters replaced before anything else (traditional ->
    /// simplified Chinese, say).
    pub chars: HashMap<char, char>,
    /// Words dropped entirely ("um", "uh").
    pub fillers: FxSet<String>,
    /// Words never "corrected": every word of every rule, the spelling
    /// targets, and the `[fuzzy] keep:` list.
    pub known: FxSet<String>,
    /// Words a typo may be corrected to (every rule word of at least
    /// `fuzzy_min` letters).
    pub vocab: Vec<String>,
    /// `(first letter, length)` -> indexes into `vocab`: a typo keeps the
    /// first letter and is at most one letter longer or shorter.
    pub fuzzy_buckets: FxMap<(u8, u8), Vec<u32>>,
    /// Minimum word length for typo correction; 0 turns it off.
    pub fuzzy_min: usize,
    /// Words that start a new clause ("but", "and", "also", "pero").
    pub clause_words: FxSet<String>,
    /// Every word the rules use -> its id (see [`Tok::id`]).
    pub ids: FxMap<String, u32>,
    /// Word -> bit `i` set when the `i`th `[language]` section lists it.
    pub languages: FxMap<String, u8>,
    /// All of the above per word, for one lookup per word of a message
    /// (built by [`TextRules::finish`]).
    pub(crate) info: FxMap<String, WordInfo>,
    /// Corrections, indexed by [`WordInfo::fix`].
    pub(crate) fixes: Vec<String>,
}

/// What the tables say about one word.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WordInfo {
    id: u32,
    /// Index into `fixes`, or `u32::MAX`.
    fix: u32,
    known: bool,
    filler: bool,
    joins: bool,
    multi: bool,
    /// Languages that list the word (bits, see [`TextRules::languages`]).
    lang: u8,
}

impl Default for WordInfo {
    fn default() -> WordInfo {
        WordInfo {
            id: NO_ID,
            fix: u32::MAX,
            known: false,
            filler: false,
            joins: false,
            multi: false,
            lang: 0,
        }
    }
}

/// One word of a normalised message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    /// Byte span in [`Analyzed::text`].
    pub start: u32,
    pub end: u32,
    /// Index of its clause.
    pub clause: u16,
    /// Index of its segment: words are neighbours for a phrase only inside
    /// one segment (any punctuation between two words ends a segment).
    pub seg: u16,
    /// The word's id in [`TextRules::ids`], or [`NO_ID`].
    pub id: u32,
    /// For a possessive or contraction ("heat's", "nobody's"), the id of
    /// the word without it; else [`NO_ID`].
    pub stem: u32,
    /// A Chinese character (each is a word).
    pub cjk: bool,
    /// A joining word ("but", "and") that starts its clause.
    pub joins: bool,
}

/// A normalised message: the text rules match against, its words and its
/// clauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Analyzed {
    /// Lower case, folded, corrected; words separated by one space,
    /// punctuation kept right after the word before it.
    pub text: String,
    /// The words, in order.
    pub toks: Vec<Tok>,
    /// Per clause: the range of its words in `toks` (`start..end`). Never
    /// empty (an empty message has one empty clause).
    pub clauses: Vec<(u16, u16)>,
    /// The numbers that start at each word (see [`numbers_at`]), parsed
    /// once: `(word, value, suffix start in the word, words used)`.
    pub nums: Vec<(u16, i64, u8, u8)>,
    /// Per `[language]` section, how many of the words it lists.
    pub lang_counts: [u16; 8],
}

impl Analyzed {
    /// The numbers starting at word `i`: `(value, suffix, words used)`.
    pub fn numbers(&self, i: usize) -> impl Iterator<Item = (i64, &str, usize)> + '_ {
        let from = self.nums.partition_point(|n| (n.0 as usize) < i);
        self.nums[from..]
            .iter()
            .take_while(move |n| n.0 as usize == i)
            .map(move |&(_, v, at, used)| (v, &self.word(i)[at as usize..], used as usize))
    }

    /// Whether a number starts at word `i`.
    pub fn has_number(&self, i: usize) -> bool {
        self.numbers(i).next().is_some()
    }

    /// The text of word `i`.
    pub fn word(&self, i: usize) -> &str {
        let t = &self.toks[i];
        &self.text[t.start as usize..t.end as usize]
    }

    /// The text of words `s..e` (as normalised, punctuation included).
    pub fn span_text(&self, s: usize, e: usize) -> &str {
        if s >= e || e > self.toks.len() {
            return "";
        }
        &self.text[self.toks[s].start as usize..self.toks[e - 1].end as usize]
    }

    /// The clause of word `i` (the last clause for `i == toks.len()`).
    pub fn clause_of(&self, i: usize) -> usize {
        match self.toks.get(i) {
            Some(t) => t.clause as usize,
            None => self.clauses.len().saturating_sub(1),
        }
    }
}

impl TextRules {
    /// Registers `word` as known (never corrected) and, if long enough, as
    /// a word that typos may be corrected to.
    pub fn add_vocab(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        self.known.insert(word.to_string());
        if self.fuzzy_min == 0
            || word.len() < self.fuzzy_min
            || word.len() > 250
            || !word.bytes().all(|b| b.is_ascii_lowercase())
        {
            return;
        }
        let key = (word.as_bytes()[0], word.len() as u8);
        let bucket = self.fuzzy_buckets.entry(key).or_default();
        if bucket.iter().any(|&i| self.vocab[i as usize] == word) {
            return;
        }
        bucket.push(self.vocab.len() as u32);
        self.vocab.push(word.to_string());
    }

    /// Builds the one-lookup-per-word table. Call once, after every word
    /// is known.
    pub fn finish(&mut self) {
        let mut info: FxMap<String, WordInfo> = FxMap::default();
        for (w, &id) in &self.ids {
            let e = info.entry(w.clone()).or_default();
            e.id = id;
            e.known = true;
        }
        for w in &self.known {
            info.entry(w.clone()).or_default().known = true;
        }
        for (w, fix) in &self.spelling {
            let e = info.entry(w.clone()).or_default();
            e.known = true;
            e.fix = self.fixes.len() as u32;
            self.fixes.push(fix.clone());
        }
        for w in &self.fillers {
            info.entry(w.clone()).or_default().filler = true;
        }
        for w in &self.clause_words {
            info.entry(w.clone()).or_default().joins = true;
        }
        for w in self.multi.keys() {
            info.entry(w.clone()).or_default().multi = true;
        }
        for (w, &mask) in &self.languages {
            info.entry(w.clone()).or_default().lang = mask;
        }
        self.info = info;
    }

    /// A word is known if a rule or the spelling table uses it.
    fn is_known(&self, w: &str) -> bool {
        self.info.get(w).is_some_and(|i| i.known)
    }

    /// The correction of a word that is not known: elongation first
    /// ("stoooop", "pleaseee"), then one typo against the vocabulary.
    fn correct<'a>(&'a self, w: &str) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        if w.len() < 3 || self.is_known(w) || !w.bytes().all(|b| b.is_ascii_lowercase()) {
            return None;
        }
        // Runs of a repeated letter: try two, then one.
        if has_double(w) {
            let two = squeeze(w, 2);
            if two != w && self.is_known(&two) {
                return Some(Cow::Owned(two));
            }
            let one = squeeze(w, 1);
            if self.is_known(&one) {
                return Some(Cow::Owned(one));
            }
        }
        // A dropped final g ("hittin", "leakin", "smokin"): the -ing word.
        if w.len() >= 5 && w.ends_with("in") {
            let ing = format!("{w}g");
            if self.is_known(&ing) {
                return Some(Cow::Owned(ing));
            }
        }
        if self.fuzzy_min == 0 || w.len() < self.fuzzy_min {
            return None;
        }
        let (first, len) = (w.as_bytes()[0], w.len());
        let mut best: Option<u32> = None;
        let mut ambiguous = false;
        for l in [len - 1, len, len + 1] {
            let Some(bucket) = self.fuzzy_buckets.get(&(first, l.min(255) as u8)) else {
                continue;
            };
            for &id in bucket {
                if within_one(w, &self.vocab[id as usize]) {
                    ambiguous |= best.is_some();
                    best = Some(id);
                }
            }
        }
        match (best, ambiguous) {
            (Some(id), false) => Some(Cow::Borrowed(self.vocab[id as usize].as_str())),
            _ => None,
        }
    }

    /// The id of a word's stem when it ends in a possessive or contraction
    /// ("heat's" -> "heat").
    fn stem_id(&self, w: &str) -> u32 {
        if !w.contains('\'') {
            return NO_ID;
        }
        stem(w)
            .and_then(|s| self.info.get(s))
            .map_or(NO_ID, |i| i.id)
    }

    /// Normalises a message; see [`super::Classifier::normalize`].
    pub fn analyze(&self, message: &str) -> Analyzed {
        let folded = join_spelled(fold(message, &self.chars));
        let words = tokenize(&folded);
        let mut out = String::with_capacity(folded.len() + 8);
        let mut toks: Vec<Tok> = Vec::with_capacity(words.len());
        let mut clause: u16 = 0;
        let mut seg: u16 = 0;
        // Whether the current clause / segment already has a word.
        let mut clause_used = false;
        let mut seg_used = false;
        let mut lang_counts = [0u16; 8];
        let mut k = 0;
        while k < words.len() {
            match words[k] {
                Token::Punct(p) => {
                    if out.ends_with(' ') {
                        out.pop();
                    }
                    out.push(p);
                    out.push(' ');
                    if seg_used {
                        seg += 1;
                        seg_used = false;
                    }
                    if clause_used
                        && (CLAUSE_PUNCT.contains(&p) || (p == '-' && spaced_dash(&words, k)))
                    {
                        clause += 1;
                        clause_used = false;
                    }
                    k += 1;
                }
                Token::Word(w) => {
                    let info = self.info.get(w).copied().unwrap_or_default();
                    // Several-word corrections ("fern ace" -> furnace).
                    let mut replaced: Option<(&str, usize)> = None;
                    if info.multi {
                        for (rest, fix) in &self.multi[w] {
                            let n = rest.len();
                            let matches = rest.iter().enumerate().all(|(j, r)| {
                                matches!(words.get(k + 1 + j), Some(Token::Word(x)) if *x == r.as_str())
                            });
                            if matches {
                                replaced = Some((fix.as_str(), n + 1));
                                break;
                            }
                        }
                    }
                    // The word as written, when kept: its tables are `info`.
                    let mut same = false;
                    let (text, used): (std::borrow::Cow<'_, str>, usize) = match replaced {
                        Some((fix, n)) => (fix.into(), n),
                        None => {
                            if info.filler {
                                k += 1;
                                continue;
                            }
                            let (w2, info2): (std::borrow::Cow<'_, str>, WordInfo) = if info.known {
                                (w.into(), info)
                            } else {
                                match self.correct(w) {
                                    Some(c) => {
                                        let i2 = self.info.get(&*c).copied().unwrap_or_default();
                                        (c, i2)
                                    }
                                    None => (w.into(), info),
                                }
                            };
                            if info2.fix != u32::MAX {
                                (self.fixes[info2.fix as usize].as_str().into(), 1)
                            } else {
                                same = matches!(w2, std::borrow::Cow::Borrowed(b) if b == w);
                                (w2, 1)
                            }
                        }
                    };
                    k += used;
                    for piece in text.split(' ').filter(|p| !p.is_empty()) {
                        let pinfo = if same {
                            info
                        } else {
                            self.info.get(piece).copied().unwrap_or_default()
                        };
                        // Stutter: "the the" -> "the" (not for numbers).
                        if let Some(last) = toks.last() {
                            if last.seg == seg
                                && seg_used
                                && &out[last.start as usize..last.end as usize] == piece
                                && !piece.bytes().all(|b| b.is_ascii_digit())
                                && piece.is_ascii()
                            {
                                continue;
                            }
                        }
                        // A joining word starts a new clause (and is part of it).
                        let joins = pinfo.joins;
                        if joins && clause_used {
                            clause += 1;
                        }
                        let cjk = piece.as_bytes()[0] >= 0x80;
                        // Chinese characters are written without spaces.
                        if cjk
                            && seg_used
                            && toks.last().is_some_and(|t| t.cjk)
                            && out.ends_with(' ')
                        {
                            out.pop();
                        }
                        for (k, count) in lang_counts.iter_mut().enumerate() {
                            *count += u16::from(pinfo.lang >> k & 1);
                        }
                        let s = out.len();
                        out.push_str(piece);
                        toks.push(Tok {
                            start: s as u32,
                            end: out.len() as u32,
                            clause,
                            seg,
                            id: pinfo.id,
                            stem: if cjk { NO_ID } else { self.stem_id(piece) },
                            cjk,
                            joins,
                        });
                        clause_used = true;
                        seg_used = true;
                        out.push(' ');
                    }
                }
            }
        }
        while out.ends_with(' ') {
            out.pop();
        }
        // Clause ranges over words; clause ids are renumbered densely.
        let mut clauses: Vec<(u16, u16)> = Vec::new();
        let mut prev: Option<u16> = None;
        for (i, t) in toks.iter_mut().enumerate() {
            if prev != Some(t.clause) {
                prev = Some(t.clause);
                clauses.push((i as u16, i as u16));
            }
            t.clause = (clauses.len() - 1) as u16;
            let c = clauses.last_mut().expect("pushed");
            // The clause proper starts after its joining words.
            if t.joins && c.0 == i as u16 {
                c.0 = i as u16 + 1;
            }
            c.1 = i as u16 + 1;
        }
        if clauses.is_empty() {
            clauses.push((0, 0));
        }
        let mut a = Analyzed {
            text: out,
            toks,
            clauses,
            nums: Vec::new(),
            lang_counts,
        };
        let mut nums = Vec::new();
        let mut found = Vec::new();
        for i in 0..a.toks.len() {
            if may_be_number(&a, i) {
                numbers_at(&a, i, &mut found);
                let len = a.word(i).len();
                for &(v, at, used) in &found {
                    // A number in words has no suffix: it starts at the end.
                    nums.push((i as u16, v, at.min(len).min(255) as u8, used as u8));
                }
            }
        }
        a.nums = nums;
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_one() {
        assert!(within_one("furnace", "furnace"));
        assert!(within_one("furnsce", "furnace"), "s is next to a");
        assert!(within_one("furnce", "furnace"), "a missed letter");
        assert!(within_one("furnaec", "furnace"), "swapped letters");
        assert!(within_one("furnacce", "furnace"), "a doubled letter");
        assert!(
            within_one("flodding", "flooding"),
            "the wrong letter doubled"
        );
        assert!(!within_one("furnice", "furnace"), "i is far from a");
        assert!(!within_one("frunaec", "furnace"));
        assert!(!within_one("parked", "sparked"), "never the first letter");
        assert!(!within_one("pissed", "passed"));
        assert!(
            !within_one("neighbor", "neighbors"),
            "a plural is not a typo"
        );
        assert!(!within_one("sparking", "spark"));
    }

    #[test]
    fn squeezing() {
        assert_eq!(squeeze("stoooop", 2), "stoop");
        assert_eq!(squeeze("stoooop", 1), "stop");
        assert_eq!(squeeze("pleaseeee", 1), "please");
    }

    #[test]
    fn folding() {
        let none = HashMap::new();
        assert_eq!(fold("¿Cuánto  cuesta?", &none), "cuanto cuesta?");
        assert_eq!(fold("Đừng nhắn tin", &none), "dung nhan tin");
        assert_eq!(fold("请不要再发，谢谢", &none), "请不要再发,谢谢");
        assert_eq!(fold("  🔥🔥 ", &none), "");
        assert_eq!(fold("STOP 🛑", &none), "stop stop");
    }
}
