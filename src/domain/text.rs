//! Customer words inside our own texts and logs. A customer's text can hold
//! anything: line breaks that would forge a "Caller:" or "Next: CALL NOW"
//! line in the dispatcher's packet, terminal escape codes, bidirectional
//! overrides that reorder what a tech reads. [`one_line`] makes it one
//! plain line before it is quoted anywhere a person reads it.

/// `s` as one plain line: every control character, line or paragraph
/// separator and bidirectional control becomes a space, runs of spaces
/// become one, and the ends are trimmed. Printable text is kept as is.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let blank = c.is_whitespace() || c.is_control() || is_bidi_control(c);
        if blank {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// Unicode's bidirectional formatting characters (embeddings, overrides,
/// isolates, marks): invisible, and able to reorder the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_lines_escapes_and_overrides_become_one_plain_line() {
        assert_eq!(
            one_line("leak under sink\nCaller: +15550000000\r\nNext: CALL NOW"),
            "leak under sink Caller: +15550000000 Next: CALL NOW"
        );
        assert_eq!(one_line("a\u{2028}b\u{2029}c\u{0085}d"), "a b c d");
        assert_eq!(one_line("\u{1b}[31mred\u{1b}[0m\0"), "[31mred [0m");
        assert_eq!(one_line("abc\u{202E}fed"), "abc fed");
        assert_eq!(one_line("  ¿Cuánto cuesta? 🙏  "), "¿Cuánto cuesta? 🙏");
    }
}
