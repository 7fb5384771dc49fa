//! Message templates from `prompts/`: plain text with `{placeholders}`.
//!
//! Templates are the owner's words. They are parsed once at start-up so a
//! typo such as `{busines}` is a config error that names the file and line,
//! not a customer receiving a literal brace.

use std::collections::BTreeMap;
use std::fmt;

/// What every text and prompt of a business is rendered with
/// (`Business::vars`).
pub const BUSINESS_VARS: &[&str] = &["business", "business_phone", "booking_link", "service_fee"];

/// The instant texts also know the caller and when the business opens
/// (`conversation::on_missed_call` adds them to `Business::vars`).
pub const INSTANT_VARS: &[&str] = &[
    "business",
    "business_phone",
    "booking_link",
    "service_fee",
    "caller",
    "opens_at",
];

/// Placeholders a template may use, with what they mean (shown in errors).
/// Each template is rendered with only some of them: see
/// [`Template::check_placeholders`].
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("business", "the business's name"),
    ("business_phone", "the tracking number the caller dialled"),
    (
        "opens_at",
        "when the business opens next, e.g. \"7:00 AM tomorrow\"",
    ),
    (
        "booking_link",
        "the business's booking link or offered windows",
    ),
    (
        "service_fee",
        "the service-call / estimate text from config",
    ),
    ("caller", "the caller's number"),
    (
        "tech",
        "the on-call person's name, e.g. \"Mike\" (emergency pages and confirmations)",
    ),
    (
        "hazard",
        "what kind of emergency, in plain words, e.g. \"gas smell\"",
    ),
    (
        "address",
        "the job's address, or \"not given\" (emergency pages)",
    ),
    (
        "what_they_said",
        "the caller's own words: their text or voicemail transcript (emergency pages)",
    ),
    (
        "time",
        "when the caller reached us, in the business's time zone, e.g. \"Wed 9:14 PM CST\"",
    ),
    (
        "paging",
        "safety texts: what we are doing about it, e.g. \"We're paging our on-call tech now.\" (empty once a tech has it)",
    ),
];

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    /// A placeholder, and the line it is on (for errors).
    Var(String, usize),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pub file: String,
    pub source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl Template {
    /// Parses `text`; `{{` and `}}` are literal braces.
    pub fn parse(text: &str, file: &str) -> Result<Template, TemplateError> {
        let all: Vec<&str> = PLACEHOLDERS.iter().map(|(p, _)| *p).collect();
        Template::parse_for(text, file, &all)
    }

    /// Parses a template rendered with the placeholders `allowed`: a typo
    /// is answered with the closest of those, and the list it offers holds
    /// only those (a hint naming `{tech}` for an instant text would only
    /// lead to the next error).
    pub fn parse_for(text: &str, file: &str, allowed: &[&str]) -> Result<Template, TemplateError> {
        let source = text.trim_end_matches(['\n', '\r']).to_string();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = source.char_indices().peekable();
        let line_of = |i: usize| source[..i].matches('\n').count() + 1;
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if matches!(chars.peek(), Some((_, '{'))) => {
                    chars.next();
                    lit.push('{');
                }
                '}' if matches!(chars.peek(), Some((_, '}'))) => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(TemplateError {
                            file: file.into(),
                            line: line_of(i),
                            message: "a `{` is never closed; write `{{` for a literal brace".into(),
                        });
                    }
                    let name = name.trim().to_string();
                    if !PLACEHOLDERS.iter().any(|(p, _)| *p == name) {
                        let known: Vec<String> =
                            allowed.iter().map(|p| format!("{{{p}}}")).collect();
                        let near = allowed
                            .iter()
                            .map(|p| (distance(p, &name), *p))
                            .filter(|(d, _)| *d <= 2)
                            .min();
                        let guess = match near {
                            Some((_, p)) => format!("did you mean `{{{p}}}`? "),
                            None => String::new(),
                        };
                        return Err(TemplateError {
                            file: file.into(),
                            line: line_of(i),
                            message: format!(
                                "unknown placeholder `{{{name}}}`; {guess}this template can use {}",
                                known.join(" ")
                            ),
                        });
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Var(name, line_of(i)));
                }
                '}' => {
                    return Err(TemplateError {
                        file: file.into(),
                        line: line_of(i),
                        message: "a `}` without its `{`; write `}}` for a literal brace".into(),
                    })
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        if parts.is_empty() {
            return Err(TemplateError {
                file: file.into(),
                line: 1,
                message: "the template is empty".into(),
            });
        }
        Ok(Template {
            file: file.into(),
            source,
            parts,
        })
    }

    /// Placeholders this template uses.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v, _) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Refuses a placeholder this template is never rendered with: it
    /// would go out empty ("Hi , we got your message").
    pub fn check_placeholders(&self, allowed: &[&str]) -> Result<(), TemplateError> {
        let unfilled = self.parts.iter().find_map(|p| match p {
            Part::Var(name, line) if !allowed.contains(&name.as_str()) => Some((name, *line)),
            _ => None,
        });
        let Some((name, line)) = unfilled else {
            return Ok(());
        };
        let usable: Vec<String> = allowed.iter().map(|p| format!("{{{p}}}")).collect();
        Err(TemplateError {
            file: self.file.clone(),
            line,
            message: format!(
                "`{{{name}}}` has no value in this template (it would be sent empty); here you can use {}",
                usable.join(" ")
            ),
        })
    }

    /// Fills the template. A placeholder without a value renders as empty
    /// text; config validation makes sure the values a template needs exist.
    pub fn render(&self, vars: &Vars) -> String {
        let mut out = String::with_capacity(self.source.len() + 32);
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v, _) => {
                    out.push_str(vars.0.get(v.as_str()).map(String::as_str).unwrap_or(""))
                }
            }
        }
        out
    }
}

/// Edits (insert, delete, change a character) from `a` to `b`.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// Values for placeholders.
#[derive(Debug, Default, Clone)]
pub struct Vars(BTreeMap<&'static str, String>);

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }
    /// The placeholders these values fill.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.keys().copied()
    }
    pub fn set(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.0.insert(key, value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_the_template_is_not_rendered_with_is_refused() {
        let t = Template::parse("Hi from {business}\nTech: {tech}", "prompts/x.txt").unwrap();
        t.check_placeholders(&["business", "tech"]).unwrap();
        let err = t.check_placeholders(BUSINESS_VARS).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.to_string()
                .starts_with("prompts/x.txt:2: `{tech}` has no value")
                && err.message.contains("{business_phone}"),
            "{err}"
        );
        // Literal braces are not placeholders, nor where one is found.
        Template::parse("{{tech}} {business}", "t")
            .unwrap()
            .check_placeholders(&["business"])
            .unwrap();
        let err = Template::parse("{{tech}}\n{tech}", "t")
            .unwrap()
            .check_placeholders(BUSINESS_VARS)
            .unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn renders_placeholders_and_literal_braces() {
        let t = Template::parse("Hi from {business} {{not a var}}\n", "t.txt").unwrap();
        let out = t.render(&Vars::new().set("business", "Spartan"));
        assert_eq!(out, "Hi from Spartan {not a var}");
    }

    #[test]
    fn unknown_placeholder_names_file_and_line() {
        let err = Template::parse("line one\nHi {busines}", "prompts/x.txt").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err
            .to_string()
            .starts_with("prompts/x.txt:2: unknown placeholder `{busines}`"));
        assert!(err.message.contains("{business}"));
    }

    #[test]
    fn unclosed_brace_and_empty_are_errors() {
        assert!(Template::parse("Hi {business", "t").is_err());
        assert!(Template::parse("Hi }", "t").is_err());
        assert!(Template::parse("\n", "t").is_err());
    }
}
