//! The service's log: one event is one line, whatever a caller sent.
//!
//! Rule: a value that came from outside (a path, a header, a form field, a
//! rejection text that quotes them) may hold a newline, a carriage return
//! or an escape sequence. Written raw, a newline forges a second log line
//! ("FORGED LINE ... level=INFO") and an ESC sequence repaints or hides
//! what an operator reads in a terminal. So every field value is written
//! through [`escape`]: control characters (and the line and paragraph
//! separators U+2028/U+2029, which some viewers break lines on) become
//! `\n`, `\r`, `\t` or `\u{..}` (a bidi override too: it reorders what is
//! shown). This is done once, in the formatter, for every field and
//! message, so no log call can forget it.
//!
//! Colour: only when stderr is a terminal; a file, a pipe or a log
//! collector gets plain text (no `\x1b[2m` around every timestamp).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal;

/// `s` with every control character written as an escape: safe to put on
/// one log line.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters that could break a line, move the cursor or hide text.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202e}')
}

/// At most `max` characters of `s` (a path or number someone sent can be
/// long: a log line need not carry all of it).
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Does `s` hold a character a stored note or name must not carry (see
/// [`escape`]): a control character, or a line or paragraph separator?
pub fn has_control(s: &str, allow_newline: bool) -> bool {
    s.chars()
        .any(|c| needs_escape(c) && !(allow_newline && (c == '\n' || c == '\t')))
}

/// The field formatter of the service's log: `name=value`, each value
/// escaped (see the module's rule).
pub fn fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = format!("{value:?}");
        if field.name() == "message" {
            write!(w, "{}", escape(&text))
        } else {
            write!(w, "{}={}", field.name(), escape(&text))
        }
    })
    .delimited(" ")
}

/// Logs to stderr; `RUST_LOG` picks the level (default: info). Colour
/// only on a terminal.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(fields())
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_plain_text_is_untouched() {
        assert!(matches!(escape("GET /api/v1/leads"), Cow::Borrowed(_)));
        assert_eq!(
            escape("1\nFORGED LINE\r\x1b[31m"),
            "1\\nFORGED LINE\\r\\u{1b}[31m"
        );
        assert_eq!(escape("a\u{2028}b"), "a\\u{2028}b");
        assert!(has_control("a\u{2029}", true));
        assert!(!has_control("two\nlines", true));
        assert!(has_control("two\nlines", false));
        assert!(has_control("nul\0", true));
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
