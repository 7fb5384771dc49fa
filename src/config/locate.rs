//! Where in `ringback.toml` a mistake is: a key path such as
//! `business[0].senders."+15125550100".status` turned into the line and
//! column an editor jumps to. A key the owner left out (a required one, or
//! a default that does not fit) points at the nearest table that holds it.

use toml_edit::{ImDocument, Item, Table, Value};

/// One step of a key path.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[2]."c.d"` → `a`, `b`, `2`, `c.d`.
fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = path.chars().peekable();
    let mut quoted = false;
    let flush = |word: &mut String, out: &mut Vec<Step>| {
        if !word.is_empty() {
            out.push(Step::Key(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => flush(&mut word, &mut out),
            '[' if !quoted => {
                flush(&mut word, &mut out);
                let mut n = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    n.push(d);
                }
                if let Ok(i) = n.parse() {
                    out.push(Step::Index(i));
                }
            }
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn span(&self) -> Option<std::ops::Range<usize>> {
        match self {
            Node::Item(i) => i.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }

    /// The child at `step`, and where its key is written (if it has one).
    fn child(&self, step: &Step) -> Option<(Node<'a>, Option<std::ops::Range<usize>>)> {
        match (self, step) {
            (Node::Table(t), Step::Key(k)) => t
                .get_key_value(k)
                .map(|(key, item)| (Node::Item(item), key.span())),
            (Node::Item(i), Step::Key(k)) => i
                .as_table_like()?
                .get_key_value(k)
                .map(|(key, item)| (Node::Item(item), key.span())),
            (Node::Value(v), Step::Key(k)) => v
                .as_inline_table()?
                .get_key_value(k)
                .map(|(key, item)| (Node::Item(item), key.span())),
            (Node::Item(i), Step::Index(n)) => match i {
                Item::ArrayOfTables(a) => a.get(*n).map(|t| (Node::Table(t), None)),
                Item::Value(Value::Array(a)) => a.get(*n).map(|v| (Node::Value(v), None)),
                _ => None,
            },
            (Node::Value(Value::Array(a)), Step::Index(n)) => {
                a.get(*n).map(|v| (Node::Value(v), None))
            }
            _ => None,
        }
    }
}

/// The 1-based line and column of `key` in `text`, or of the nearest
/// table above it that is written in the file; `None` if the text does not
/// parse or nothing of the path is in it.
pub(super) fn locate(text: &str, key: &str) -> Option<(usize, usize)> {
    let doc = ImDocument::parse(text).ok()?;
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    for step in steps(key) {
        let Some((next, key_span)) = node.child(&step) else {
            break;
        };
        if let Some(s) = key_span.or_else(|| next.span()) {
            best = Some(s.start);
        }
        node = next;
    }
    best.map(|at| line_col(text, at))
}

/// The 1-based line and column (in characters) of byte offset `at`.
pub(super) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_become_lines_and_columns() {
        let text = "[service]\nmax_body_bytes = 0\n\n[[business]]\nid = \"a\"\n\n[[business]]\nid = \"b\"\nsenders = { \"+15125550100\" = { status = \"nope\" } }\nfollow_ups = [{ after = \"x\" }]\n";
        assert_eq!(locate(text, "service.max_body_bytes"), Some((2, 1)));
        assert_eq!(locate(text, "business[1].id"), Some((8, 1)));
        assert_eq!(
            locate(text, "business[1].senders.\"+15125550100\".status"),
            Some((9, 32))
        );
        assert_eq!(
            locate(text, "business[1].follow_ups[0].after"),
            Some((10, 17))
        );
        // Not written: the nearest table that would hold it.
        assert_eq!(locate(text, "business[0].ring_phone"), Some((4, 1)));
        assert_eq!(locate(text, "nothing.here"), None);
        assert_eq!(
            steps("a.b[2].\"c.d\""),
            vec![
                Step::Key("a".into()),
                Step::Key("b".into()),
                Step::Index(2),
                Step::Key("c.d".into())
            ]
        );
    }
}
