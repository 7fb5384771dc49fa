//! Cutting folded text into words and punctuation marks, and what makes
//! a word: the byte classes, possessives and contractions.
//!
//! Apart from `text.rs` (the tables that correct and split a message)
//! because the rules compiler cuts its phrases with the same tokenizer,
//! and these rules do not depend on any table.

pub(super) enum Token<'a> {
    Word(&'a str),
    Punct(char),
}

/// Splits folded text into words and single punctuation marks. A word is
/// a run of letters, digits and apostrophes; `/` and `&` inside a word
/// (a/c, t&p), `.` and `:` between digits (3.5, 4:15) and a minus sign
/// before a number (-5) stay part of it. Hyphens between letters split a
/// word in two ("opt-out" reads as "opt out"). Each Chinese character is
/// a word; quotes around a word are dropped.
pub(super) fn tokenize(folded: &str) -> Vec<Token<'_>> {
    let bytes = folded.as_bytes();
    let mut words = Vec::with_capacity(folded.len() / 4 + 1);
    let mut i = 0;
    let joins = |j: usize| -> bool {
        let (Some(&prev), Some(&next)) = (bytes.get(j.wrapping_sub(1)), bytes.get(j + 1)) else {
            return false;
        };
        match bytes[j] {
            b'/' | b'&' | b'-' => is_word_byte(prev) && is_word_byte(next),
            b'.' | b':' | b',' => prev.is_ascii_digit() && next.is_ascii_digit(),
            _ => false,
        }
    };
    while i < bytes.len() {
        let c = bytes[i];
        if c == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        let minus = c == b'-'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            && (i == 0 || bytes[i - 1] == b' ');
        if is_word_byte(c) || minus {
            i += 1;
            while i < bytes.len() && (is_word_byte(bytes[i]) || joins(i)) {
                i += 1;
            }
            let w = folded[start..i].trim_matches('\'');
            if w.contains('-') && !w.starts_with('-') {
                words.extend(w.split('-').filter(|p| !p.is_empty()).map(Token::Word));
            } else if !w.is_empty() {
                words.push(Token::Word(w));
            }
        } else if matches!(c, b'$' | b'#' | b'%') {
            // Symbols that mean something ($$? is a price question).
            i += 1;
            words.push(Token::Word(&folded[start..i]));
        } else if c >= 0x80 {
            // Chinese: every character is a word of its own, so phrases can
            // skip characters (...) and combine concepts as in any language.
            let len = folded[i..].chars().next().map_or(1, char::len_utf8);
            i += len;
            words.push(Token::Word(&folded[start..i]));
        } else {
            i += 1;
            words.push(Token::Punct(c as char));
        }
    }
    words
}

/// A dash with words on both sides and spaces around it in the original
/// ("gas smell - call me"), not "opt-out" (which never reaches here as a
/// separate token... unless spaced).
pub(super) fn spaced_dash(words: &[Token<'_>], k: usize) -> bool {
    k > 0
        && matches!(words.get(k - 1), Some(Token::Word(_)))
        && matches!(words.get(k + 1), Some(Token::Word(_)))
}

/// A word without its possessive or contraction ("nobody's" -> "nobody").
pub(crate) fn stem(w: &str) -> Option<&str> {
    ["'s", "'ll", "'re", "'d", "'ve", "'m"]
        .iter()
        .find_map(|suffix| w.strip_suffix(suffix))
        .filter(|s| !s.is_empty())
}

/// Bytes that make up a word: ASCII letters, digits and the apostrophe.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'\''
}

/// A name spelled out letter by letter in a transcript ("o c o n n o r",
/// "t a n y a") is one word: a run of three or more single letters
/// separated by single spaces is joined ("oconnor"), so "c o" inside it
/// never reads as CO. Runs made only of letters that are words in texts
/// ("u r a", "i k") are kept. Allocates only when such a run occurs.
pub(super) fn join_spelled(folded: String) -> String {
    let b = folded.as_bytes();
    let wordish =
        |c: u8| c.is_ascii_alphanumeric() || c >= 0x80 || matches!(c, b'\'' | b'/' | b'&');
    let single = |i: usize| {
        b[i].is_ascii_lowercase()
            && (i == 0 || !wordish(b[i - 1]))
            && (i + 1 == b.len() || !wordish(b[i + 1]))
    };
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !single(i) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 2 < b.len() && b[j + 1] == b' ' && single(j + 2) {
            j += 2;
        }
        let letters = (j - i) / 2 + 1;
        let texting = (i..=j)
            .step_by(2)
            .all(|k| matches!(b[k], b'i' | b'a' | b'u' | b'r' | b'k' | b'y' | b'n' | b'w'));
        if letters >= 3 && !texting {
            runs.push((i, j));
        }
        i = j + 1;
    }
    if runs.is_empty() {
        return folded;
    }
    let mut out = String::with_capacity(folded.len());
    let mut at = 0;
    for (s, e) in runs {
        out.push_str(&folded[at..s]);
        out.extend(folded[s..=e].chars().filter(|&c| c != ' '));
        at = e + 1;
    }
    out.push_str(&folded[at..]);
    out
}

#[cfg(test)]
mod spelled_tests {
    use super::join_spelled;

    #[test]
    fn spelled_runs_are_joined() {
        let j = |s: &str| join_spelled(s.to_string());
        assert_eq!(j("it's o c o n n o r calling"), "it's oconnor calling");
        assert_eq!(j("t a n y a, can we"), "tanya, can we");
        assert_eq!(j("the c o alarm"), "the c o alarm");
        assert_eq!(j("u r a pain"), "u r a pain");
        assert_eq!(j("a/c is out"), "a/c is out");
        assert_eq!(j("x"), "x");
    }
}
