//! Reading one message against the compiled rules: where each pattern
//! occurs, and whether a hazard is negated, hypothetical or resolved.

use super::*;

impl Ctx<'_> {
    /// The matches of `rule` that count (anchor, negation, look-alikes,
    /// clause conditions), and whether its `and:` condition holds. `None`
    /// when no match counts.
    pub(super) fn rule_status(
        &self,
        section: &Section,
        rule: &Rule,
    ) -> Option<(Vec<(usize, usize)>, bool)> {
        // A message (or clause) made only of such words is short: do not
        // even look at long ones.
        let short = |s: u16, e: u16| e > s && e - s <= SHORT_ONLY;
        match rule.anchor {
            Anchor::Only if self.a.toks.len() > SHORT_ONLY as usize => return None,
            Anchor::ClauseOnly if !self.a.clauses.iter().any(|&(s, e)| short(s, e)) => return None,
            _ => {}
        }
        // An `only:` rule's pattern is a large word list; a clause condition
        // that occurs nowhere fails the rule, so look for that first.
        if matches!(rule.anchor, Anchor::Only | Anchor::ClauseOnly)
            && !rule.and_clause.is_empty()
            && !rule.and_clause.iter().any(|&p| self.hits.any(p))
        {
            return None;
        }
        if !self.hits.any(rule.pattern) {
            return None;
        }
        if rule
            .not
            .iter()
            .any(|&p| self.occurs_any(section, p, &section.ignore))
        {
            return None;
        }
        let n = self.a.toks.len();
        let mut occs: Vec<(usize, usize)> = match rule.anchor {
            Anchor::Anywhere => self.occurrences(section.negation, rule.pattern, &section.ignore),
            Anchor::Start => self
                .occurrences(false, rule.pattern, &section.ignore)
                .into_iter()
                .filter(|&(s, _)| s == 0)
                .collect(),
            Anchor::Whole => self
                .occurrences(false, rule.pattern, &section.ignore)
                .into_iter()
                .filter(|&(s, e)| s == 0 && e == n)
                .collect(),
            Anchor::Clause => self
                .occurrences(false, rule.pattern, &section.ignore)
                .into_iter()
                .filter(|&(s, e)| {
                    let (cs, ce) = self.a.clauses[self.a.clause_of(s)];
                    s == cs as usize && e == ce as usize
                })
                .collect(),
            Anchor::Only => {
                if n > 0 && self.covered(rule.pattern, 0, n) {
                    vec![(0, n)]
                } else {
                    Vec::new()
                }
            }
            Anchor::ClauseOnly => self
                .a
                .clauses
                .iter()
                .filter(|&&(s, e)| short(s, e))
                .map(|&(s, e)| (s as usize, e as usize))
                .filter(|&(s, e)| self.covered(rule.pattern, s, e))
                .collect(),
        };
        if !rule.not_clause.is_empty() {
            occs.retain(|&(s, _)| {
                let c = self.a.clause_of(s);
                !rule
                    .not_clause
                    .iter()
                    .any(|&p| self.occurs_in_clause(section, p, c))
            });
        }
        if !rule.and_clause.is_empty() {
            occs.retain(|&(s, _)| {
                let c = self.a.clause_of(s);
                rule.and_clause
                    .iter()
                    .any(|&p| self.occurs_in_clause(section, p, c))
            });
        }
        if occs.is_empty() {
            return None;
        }
        let and_ok = rule.and.is_empty()
            || rule
                .and
                .iter()
                .any(|&p| self.occurs_any(section, p, &section.ignore));
        Some((occs, and_ok))
    }

    /// Whether words `from..to` are covered by a chain of matches of `p`.
    pub(super) fn covered(&self, p: usize, from: usize, to: usize) -> bool {
        let mut reach = vec![false; to - from + 1];
        reach[0] = true;
        for (s, e) in self.hits.of(p).iter() {
            if s >= from && e <= to && e > s && reach[s - from] {
                reach[e - from] = true;
            }
        }
        reach[to - from]
    }

    /// Whether words `s..e` overlap a match of one of the `ignore` patterns.
    pub(super) fn overlaps(&self, s: usize, e: usize, ignore: &[usize]) -> bool {
        ignore.iter().any(|&i| {
            self.hits
                .of(i)
                .iter()
                .any(|(gs, ge)| gs < e.max(s + 1) && s < ge.max(gs + 1))
        })
    }

    /// Every match of pattern `p` that is not negated (when `negation`) and
    /// does not overlap a look-alike from `ignore`.
    pub(super) fn occurrences(
        &self,
        negation: bool,
        p: usize,
        ignore: &[usize],
    ) -> Vec<(usize, usize)> {
        self.hits
            .of(p)
            .iter()
            .filter(|&(s, e)| !(self.overlaps(s, e, ignore) || negation && self.negated(s)))
            .collect()
    }

    pub(super) fn occurs_any(&self, section: &Section, p: usize, ignore: &[usize]) -> bool {
        self.hits
            .of(p)
            .iter()
            .any(|(s, e)| !(self.overlaps(s, e, ignore) || section.negation && self.negated(s)))
    }

    pub(super) fn occurs_in_clause(&self, section: &Section, p: usize, clause: usize) -> bool {
        self.hits.of(p).iter().any(|(s, e)| {
            self.a.clause_of(s) == clause
                && !(section.negation && self.negated(s))
                && !self.overlaps(s, e, &section.ignore)
        })
    }

    pub(super) fn cues(&self) -> Cues {
        let all = |ps: &[usize], ignore: &[usize]| -> Vec<(usize, usize)> {
            ps.iter()
                .flat_map(|&p| self.occurrences(true, p, ignore))
                .collect()
        };
        let ig = &self.rules.cue_ignore;
        let resolved = all(&self.rules.resolved, &ig[0]);
        let past = all(&self.rules.past, &ig[3]);
        // `[ongoing]` only overrides a `[resolved]` or `[past]` cue, and
        // `[present]` only a `[past]` one: without those, do not look.
        let ongoing = if resolved.is_empty() && past.is_empty() {
            Vec::new()
        } else {
            all(&self.rules.ongoing, &ig[1])
        };
        let present = if past.is_empty() {
            Vec::new()
        } else {
            all(&self.rules.present, &ig[4])
        };
        Cues {
            resolved,
            ongoing,
            hypothetical: all(&self.rules.hypothetical, &ig[2]),
            past,
            present,
        }
    }

    /// Whether a negation word comes within the window of words before
    /// word `start`, in the same clause.
    pub(super) fn negated(&self, start: usize) -> bool {
        let neg = &self.rules.negation;
        if neg.words.is_empty() || neg.window == 0 || start == 0 || start >= self.a.toks.len() {
            return false;
        }
        let a = self.a;
        let clause = a.clause_of(start);
        let cs = a.clauses[clause].0 as usize;
        let from = start.saturating_sub(neg.window).max(cs);
        (from..start).any(|i| {
            let w = a.word(i);
            if !neg.words.contains(w) && !text::stem(w).is_some_and(|s| neg.words.contains(s)) {
                return false;
            }
            // "not sure", "no one's answering": negates nothing.
            !neg.except.iter().any(|phrase| {
                phrase
                    .iter()
                    .enumerate()
                    .all(|(k, w)| i + k < a.toks.len() && a.word(i + k) == w)
            })
        })
    }
}

impl Cues {
    /// A hazard at words `s..e` is over when a `[resolved]` cue comes after
    /// it ("the gas smell was the stove knob", "... turned out to be the
    /// toaster"), or a cue contains its first word ("thanks for fixing the
    /// gas leak", "ya se arreglo la fuga", "it stopped sparking"), and no
    /// `[ongoing]` cue comes after that cue. A cue wholly before the hazard
    /// does not count: "the plumber fixed it last week now water is pouring
    /// out of the wall" is a new flood. So: a cue that ends after the
    /// hazard starts. A cue that is also a `[past]` time ("last week")
    /// only counts in the hazard's own clause: "the boiler's out, I also
    /// left a message last week about pricing" is not over.
    pub(super) fn resolved(&self, a: &Analyzed, s: usize, e: usize) -> bool {
        let clause = a.clause_of(s);
        let last = self
            .resolved
            .iter()
            .filter(|&&(rs, re)| re > s || rs >= e)
            .filter(|&&(rs, re)| {
                a.clause_of(rs) == clause || !self.past.iter().any(|&(ps, pe)| ps <= rs && re <= pe)
            })
            .map(|&(rs, _)| rs)
            .max();
        match last {
            None => false,
            Some(r) => !self.ongoing.iter().any(|&(os, _)| os > r),
        }
    }

    /// A hazard at word `s` is history when a `[past]` cue ends before it in
    /// its clause ("last year a pipe burst, want the pipes insulated"),
    /// unless a `[present]` cue follows that cue in the clause ("fixed it
    /// last week now the pipe burst again") or an `[ongoing]` cue follows it
    /// anywhere ("..., and it's back"). A `[past]` cue after the hazard is
    /// the `[resolved]` cues' business ("we had a gas leak last year").
    pub(super) fn past(&self, a: &Analyzed, s: usize) -> bool {
        let clause = a.clause_of(s);
        self.past
            .iter()
            .filter(|&&(ps, pe)| pe <= s && a.clause_of(ps) == clause)
            .any(|&(ps, _)| {
                !self
                    .present
                    .iter()
                    .any(|&(qs, _)| qs > ps && a.clause_of(qs) == clause)
                    && !self.ongoing.iter().any(|&(os, _)| os > ps)
            })
    }

    /// A hazard is hypothetical when a `[hypothetical]` cue comes before it
    /// in its clause ("what if I smell gas"). Not after it: in a run-on
    /// voicemail "my basement is flooding can you come if the roads are
    /// clear" is one clause, and the flood is real.
    pub(super) fn hypothetical(&self, a: &Analyzed, s: usize) -> bool {
        let clause = a.clause_of(s);
        self.hypothetical
            .iter()
            .any(|&(hs, _)| hs < s && a.clause_of(hs) == clause)
    }
}
