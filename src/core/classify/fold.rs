//! Words and characters: folding accents and scripts, typo distance,
//! elongation, and number words ("six oh eight").

use super::text::{tokenize, Analyzed, FxMap, Token};
use std::collections::HashMap;

pub(super) fn has_double(w: &str) -> bool {
    w.as_bytes().windows(2).any(|p| p[0] == p[1])
}

/// Shortens every run of one repeated letter to at most `max` letters.
pub(super) fn squeeze(w: &str, max: usize) -> String {
    let mut out = String::with_capacity(w.len());
    let mut run = 0;
    let mut prev = None;
    for c in w.chars() {
        if Some(c) == prev {
            run += 1;
        } else {
            run = 1;
            prev = Some(c);
        }
        if run <= max {
            out.push(c);
        }
    }
    out
}

/// Keys next to each other on a QWERTY keyboard.
pub(super) fn adjacent(a: u8, b: u8) -> bool {
    const ROWS: [&[u8]; 3] = [b"qwertyuiop", b"asdfghjkl", b"zxcvbnm"];
    let pos = |c: u8| {
        ROWS.iter().enumerate().find_map(|(r, row)| {
            row.iter()
                .position(|&x| x == c)
                .map(|i| (r as i32, i as i32))
        })
    };
    match (pos(a), pos(b)) {
        (Some((ra, ia)), Some((rb, ib))) => {
            // Rows are offset by about half a key: diagonal neighbours are
            // the same index or one to the left on the row below.
            let di = ib - ia;
            match rb - ra {
                0 => di.abs() == 1,
                1 => di == 0 || di == -1,
                -1 => di == 0 || di == 1,
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether `typo` is one plausible keyboard slip away from `word`: a
/// neighbouring key instead of the right one, two letters swapped, a
/// letter missed, or an extra letter next to its neighbour on the keyboard
/// (or doubled). The first letter is never wrong, and a missing or extra
/// final "s" is a plural, not a typo.
pub(crate) fn within_one(typo: &str, word: &str) -> bool {
    let (a, b) = (typo.as_bytes(), word.as_bytes());
    if a == b {
        return true;
    }
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if p == 0 {
        return false;
    }
    if la == lb {
        if a[p + 1..] == b[p + 1..] {
            // A neighbouring key, or a doubled letter typed on the wrong
            // one ("flodding" for "flooding").
            let doubled = (p + 1 < la && a[p] == a[p + 1]) || b[p] == b[p - 1];
            return adjacent(a[p], b[p]) || doubled;
        }
        return p + 1 < la && a[p] == b[p + 1] && a[p + 1] == b[p] && a[p + 2..] == b[p + 2..];
    }
    if la > lb {
        // An extra letter in the typo at p.
        if a[p + 1..] != b[p..] {
            return false;
        }
        if p == la - 1 && a[p] == b's' {
            return false;
        }
        let extra = a[p];
        extra == a[p - 1]
            || adjacent(extra, a[p - 1])
            || (p + 1 < la && (extra == a[p + 1] || adjacent(extra, a[p + 1])))
    } else {
        // A letter missing from the typo at p.
        if a[p..] != b[p + 1..] {
            return false;
        }
        !(p == lb - 1 && b[p] == b's')
    }
}

/// Lower case, accents removed (Latin and Vietnamese), Chinese kept (with
/// the `[characters]` replacements), full-width punctuation made ASCII,
/// emoji and other symbols turned into spaces, whitespace collapsed.
pub(crate) fn fold(message: &str, chars: &HashMap<char, char>) -> String {
    let mut out = String::with_capacity(message.len());
    let mut space = true; // suppress leading and repeated spaces
    let push = |out: &mut String, s: &str, space: &mut bool| {
        for c in s.chars() {
            if c == ' ' {
                if !*space {
                    out.push(' ');
                    *space = true;
                }
            } else {
                out.push(c);
                *space = false;
            }
        }
    };
    for c in message.chars() {
        if c.is_ascii() {
            if c == '\n' || c == '\r' {
                // A line break ends a clause.
                push(&mut out, " . ", &mut space);
            } else if c.is_ascii_control() || c == ' ' {
                push(&mut out, " ", &mut space);
            } else {
                let lc = c.to_ascii_lowercase();
                let mut b = [0u8; 4];
                push(&mut out, lc.encode_utf8(&mut b), &mut space);
            }
            continue;
        }
        if let Some(&r) = chars.get(&c) {
            let mut b = [0u8; 4];
            push(&mut out, r.encode_utf8(&mut b), &mut space);
            continue;
        }
        if is_cjk(c) {
            let mut b = [0u8; 4];
            push(&mut out, c.encode_utf8(&mut b), &mut space);
            continue;
        }
        let folded = fold_char(c);
        if folded == " " && c.is_alphabetic() && !is_latin(c) {
            // Cyrillic, Greek, Korean...: kept (lower case) so rules can
            // name the usual "stop texting me" in those languages.
            for l in c.to_lowercase() {
                let mut b = [0u8; 4];
                push(&mut out, l.encode_utf8(&mut b), &mut space);
            }
            continue;
        }
        push(&mut out, folded, &mut space);
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Han ideographs (simplified and traditional Chinese).
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Latin letters (with accents): folded to ASCII or dropped, never kept.
pub(super) fn is_latin(c: char) -> bool {
    (c as u32) < 0x0370 || (0x1E00..=0x1EFF).contains(&(c as u32))
}

/// Vietnamese letters that no other supported language uses.
pub(crate) fn is_vietnamese(c: char) -> bool {
    matches!(
        c as u32,
        0x1EA0..=0x1EF9 | 0x0102 | 0x0103 | 0x0110 | 0x0111 | 0x01A0 | 0x01A1 | 0x01AF | 0x01B0
    )
}

/// ASCII for one non-ASCII character: an accented letter loses its accent,
/// typographic punctuation becomes plain, anything else becomes a space.
pub(super) fn fold_char(c: char) -> &'static str {
    let cp = c as u32;
    // Vietnamese precomposed letters with tone marks (Latin Extended
    // Additional), in blocks by base vowel.
    if (0x1EA0..=0x1EF9).contains(&cp) {
        return match cp {
            0x1EA0..=0x1EB7 => "a",
            0x1EB8..=0x1EC7 => "e",
            0x1EC8..=0x1ECB => "i",
            0x1ECC..=0x1EE3 => "o",
            0x1EE4..=0x1EF1 => "u",
            _ => "y",
        };
    }
    // Combining accents (decomposed text): drop.
    if (0x0300..=0x036F).contains(&cp) {
        return "";
    }
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'ă' | 'ā' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' | 'Ă'
        | 'Ā' => "a",
        'é' | 'è' | 'ê' | 'ë' | 'ē' | 'É' | 'È' | 'Ê' | 'Ë' | 'Ē' => "e",
        'í' | 'ì' | 'î' | 'ï' | 'ĩ' | 'ī' | 'Í' | 'Ì' | 'Î' | 'Ï' | 'Ĩ' => "i",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ơ' | 'ō' | 'ø' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' | 'Ơ' | 'Ø' => {
            "o"
        }
        'ú' | 'ù' | 'û' | 'ü' | 'ũ' | 'ư' | 'ū' | 'Ú' | 'Ù' | 'Û' | 'Ü' | 'Ũ' | 'Ư' => {
            "u"
        }
        'ý' | 'ÿ' | 'Ý' => "y",
        'ñ' | 'Ñ' => "n",
        'ç' | 'Ç' => "c",
        'đ' | 'Đ' => "d",
        'ß' => "ss",
        '‘' | '’' | '‛' | '′' | '´' => "'",
        '“' | '”' | '„' | '″' | '«' | '»' => "\"",
        '–' | '—' => " - ",
        '…' => "...",
        '¿' | '¡' => " ",
        // Full-width and CJK punctuation.
        '，' | '、' => ",",
        '。' | '．' => ".",
        '！' => "!",
        '？' => "?",
        '：' => ":",
        '；' => ";",
        '（' => "(",
        '）' => ")",
        '＄' => "$",
        // A stop sign or raised hand said alone means stop.
        '🛑' | '✋' => " stop ",
        _ => " ",
    }
}

/// The words of a folded rule phrase, split the way messages are (a hyphen
/// between letters separates words; each Chinese character is a word).
pub(crate) fn phrase_words(folded: &str) -> Vec<String> {
    tokenize(folded)
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.to_string()),
            Token::Punct(_) => None,
        })
        .collect()
}

/// Number words, for voicemail transcripts ("twelve degrees", "ninety
/// one years old") and Spanish ("noventa años").
pub(super) fn number_word(w: &str) -> Option<(i64, bool)> {
    static WORDS: std::sync::OnceLock<FxMap<&'static str, (i64, bool)>> =
        std::sync::OnceLock::new();
    let map = WORDS.get_or_init(|| {
        let units: [(&[&str], i64); 20] = [
            (&["zero", "cero", "oh"], 0),
            (&["one", "uno", "una"], 1),
            (&["two", "dos"], 2),
            (&["three", "tres"], 3),
            (&["four", "cuatro"], 4),
            (&["five", "cinco"], 5),
            (&["six", "seis"], 6),
            (&["seven", "siete"], 7),
            (&["eight", "ocho"], 8),
            (&["nine", "nueve"], 9),
            (&["ten", "diez"], 10),
            (&["eleven", "once"], 11),
            (&["twelve", "doce"], 12),
            (&["thirteen", "trece"], 13),
            (&["fourteen", "catorce"], 14),
            (&["fifteen", "quince"], 15),
            (&["sixteen"], 16),
            (&["seventeen"], 17),
            (&["eighteen"], 18),
            (&["nineteen"], 19),
        ];
        let tens: [(&[&str], i64); 8] = [
            (&["twenty", "veinte"], 20),
            (&["thirty", "treinta"], 30),
            (&["forty", "cuarenta"], 40),
            (&["fifty", "cincuenta"], 50),
            (&["sixty", "sesenta"], 60),
            (&["seventy", "setenta"], 70),
            (&["eighty", "ochenta"], 80),
            (&["ninety", "noventa"], 90),
        ];
        let mut m = FxMap::default();
        for (words, v) in units {
            for w in words {
                m.insert(*w, (v, false));
            }
        }
        for (words, v) in tens {
            for w in words {
                m.insert(*w, (v, true));
            }
        }
        m
    });
    map.get(w).copied()
}

/// Whether word `i` could start a number.
pub(super) fn may_be_number(a: &Analyzed, i: usize) -> bool {
    let w = a.word(i);
    let b = w.as_bytes();
    b.first().is_some_and(u8::is_ascii_digit)
        || (b.len() > 1 && b[0] == b'-' && b[1].is_ascii_digit())
        || number_word(w).is_some()
        || matches!(w, "hundred" | "cien")
        || (w == "a" && i + 1 < a.toks.len() && a.word(i + 1) == "hundred")
}

/// The numbers that start at word `i`: `(value, suffix, words used)`.
/// "12" gives 12; "8am" gives 8 with suffix "am"; "twenty five" gives both
/// 20 (one word) and 25 (two words); "a hundred and ten" gives 100 and 110.
pub(super) fn numbers_at(a: &Analyzed, i: usize, out: &mut Vec<(i64, usize, usize)>) {
    out.clear();
    if i >= a.toks.len() {
        return;
    }
    let w = a.word(i);
    let b = w.as_bytes();
    let neg = b.first() == Some(&b'-');
    let digits_start = usize::from(neg);
    let mut j = digits_start;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if j > digits_start {
        let value: i64 = w[digits_start..j].parse().unwrap_or(i64::MAX);
        // Skip a fraction or minutes (3.5, 4:30, 1,000).
        let mut k = j;
        if k + 1 < b.len() && matches!(b[k], b'.' | b':' | b',') && b[k + 1].is_ascii_digit() {
            k += 1;
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
        }
        out.push((if neg { -value } else { value }, k, 1));
        return;
    }
    let n = a.toks.len();
    let same_seg = |x: usize| x < n && a.toks[x].seg == a.toks[i].seg;
    let mut pos = i;
    let mut base = 0i64;
    // [a|one] hundred [and]
    let first = a.word(pos);
    if (first == "a" || first == "one") && same_seg(pos + 1) && a.word(pos + 1) == "hundred" {
        base = 100;
        pos += 2;
    } else if first == "hundred" || first == "cien" {
        base = 100;
        pos += 1;
    }
    if base > 0 {
        out.push((base, usize::MAX, pos - i));
        if same_seg(pos) && a.word(pos) == "and" {
            pos += 1;
        }
    }
    if !same_seg(pos) {
        return;
    }
    if let Some((v, tens)) = number_word(a.word(pos)) {
        out.push((base + v, usize::MAX, pos + 1 - i));
        if tens && same_seg(pos + 1) {
            let mut next = pos + 1;
            if a.word(next) == "y" && same_seg(next + 1) {
                next += 1; // noventa y dos
            }
            if let Some((u, false)) = number_word(a.word(next)) {
                if (1..10).contains(&u) {
                    out.push((base + v + u, usize::MAX, next + 1 - i));
                }
            }
        }
    }
}
