//! Pass 1 of reading the rules file: the text tables (`[spelling]`,
//! `[characters]`, `[fuzzy]`, `[clauses]`) and the concept definitions.

use super::*;

/// Pass 1: the text tables and the concept definitions, which every
/// phrase needs before it can be compiled.
pub(super) fn prelude(text: &str, file: &str) -> Result<Prelude, RulesError> {
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
    let fold = |s: &str, chars: &HashMap<char, char>| crate::core::classify::text::fold(s, chars);
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
