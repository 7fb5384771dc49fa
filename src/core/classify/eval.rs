//! Measuring a [`Classifier`] against labelled examples: the owner's
//! `prompts/examples.tsv` (see [`check_examples`]) and corpora
//! (`ringback classify --eval`, `tests/classifier_corpus.rs`).

use super::{Classifier, Intent};
use std::fmt;

/// An example the rules read differently from its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misread {
    /// The examples file name, as given.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// The label on that line.
    pub expected: String,
    /// What the rules said (or why the line could not be read).
    pub got: String,
    /// The example message.
    pub message: String,
}

impl fmt::Display for Misread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: expected {}, got {}: {}",
            self.file, self.line, self.expected, self.got, self.message
        )
    }
}

/// One `label<TAB>message` line: `None` for blank lines, `#` comments and
/// a `label<TAB>text` header.
fn example_line(line: &str) -> Option<Result<(&str, &str), ()>> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.trim_start().starts_with('#') {
        return None;
    }
    match line.split_once('\t') {
        Some(("label" | "intent", _)) => None,
        Some((label, text)) => Some(Ok((label.trim(), text))),
        None => Some(Err(())),
    }
}

/// Checks a classifier against an examples file (`intent<TAB>message` per
/// line; blank lines and `#` comments are skipped) and returns every line
/// it misreads, including lines that are not in that form.
pub fn check_examples(classifier: &Classifier, examples: &str, file: &str) -> Vec<Misread> {
    let mut out = Vec::new();
    for (i, raw) in examples.lines().enumerate() {
        let Some(parsed) = example_line(raw) else {
            continue;
        };
        let misread = |expected: &str, got: String, message: &str| Misread {
            file: file.to_string(),
            line: i + 1,
            expected: expected.to_string(),
            got,
            message: message.to_string(),
        };
        match parsed {
            Err(()) => out.push(misread(
                "intent<TAB>message",
                "a line without a tab".to_string(),
                raw,
            )),
            Ok((label, text)) => match label.parse::<Intent>() {
                Err(e) => out.push(misread(label, e.to_string(), text)),
                Ok(expected) => {
                    let got = classifier.classify(text);
                    if got.intent != expected {
                        let rule = got.rule.as_deref().unwrap_or("no rule matched");
                        out.push(misread(label, format!("{} (via {rule})", got.intent), text));
                    }
                }
            },
        }
    }
    out
}

/// Counts for one labelled corpus.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// `confusion[expected][predicted]`, indexed like [`Intent::ALL`].
    pub confusion: [[usize; 8]; 8],
    /// `(line, expected, got, message)` for every mistake.
    pub mistakes: Vec<(usize, Intent, Intent, String)>,
}

fn index(intent: Intent) -> usize {
    Intent::ALL
        .iter()
        .position(|&i| i == intent)
        .expect("every intent is in ALL")
}

impl Evaluation {
    /// Classifies every `label<TAB>message` line of a corpus (a
    /// `label<TAB>text` header, blank lines and `#` comments are skipped).
    /// Errors name the first line that is not in that form.
    pub fn run(classifier: &Classifier, tsv: &str) -> Result<Evaluation, String> {
        let mut e = Evaluation {
            confusion: [[0; 8]; 8],
            mistakes: Vec::new(),
        };
        for (i, raw) in tsv.lines().enumerate() {
            let Some(parsed) = example_line(raw) else {
                continue;
            };
            let (label, text) =
                parsed.map_err(|()| format!("line {}: expected label<TAB>message", i + 1))?;
            let expected: Intent = label
                .parse()
                .map_err(|err| format!("line {}: {err}", i + 1))?;
            let got = classifier.classify(text).intent;
            e.confusion[index(expected)][index(got)] += 1;
            if got != expected {
                e.mistakes.push((i + 1, expected, got, text.to_string()));
            }
        }
        Ok(e)
    }

    /// Messages counted.
    pub fn total(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }

    /// Share read correctly (1.0 for an empty corpus).
    pub fn accuracy(&self) -> f64 {
        let correct: usize = (0..8).map(|i| self.confusion[i][i]).sum();
        ratio(correct, self.total())
    }

    /// Share of the messages labelled `intent` that were read as `intent`.
    pub fn recall(&self, intent: Intent) -> f64 {
        let i = index(intent);
        ratio(self.confusion[i][i], self.confusion[i].iter().sum())
    }

    /// Share of the messages read as `intent` that are labelled `intent`.
    pub fn precision(&self, intent: Intent) -> f64 {
        let i = index(intent);
        ratio(
            self.confusion[i][i],
            (0..8).map(|r| self.confusion[r][i]).sum(),
        )
    }

    /// How many messages are labelled `intent`.
    pub fn support(&self, intent: Intent) -> usize {
        self.confusion[index(intent)].iter().sum()
    }

    /// The confusion matrix, accuracy and per-intent recall and precision
    /// as a table.
    pub fn report(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let short = |i: Intent| &i.as_str()[..i.as_str().len().min(7)];
        let _ = writeln!(
            s,
            "{} messages, accuracy {:.1}%",
            self.total(),
            100.0 * self.accuracy()
        );
        let _ = writeln!(
            s,
            "confusion matrix (rows = expected, columns = predicted):"
        );
        let _ = write!(s, "{:>15}", "");
        for i in Intent::ALL {
            let _ = write!(s, "{:>8}", short(i));
        }
        let _ = writeln!(s);
        for e in Intent::ALL {
            let _ = write!(s, "{:>15}", e.as_str());
            for p in Intent::ALL {
                let _ = write!(s, "{:>8}", self.confusion[index(e)][index(p)]);
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(
            s,
            "{:>15} {:>9} {:>9} {:>6}",
            "intent", "recall", "precision", "count"
        );
        for i in Intent::ALL {
            let _ = writeln!(
                s,
                "{:>15} {:>8.1}% {:>8.1}% {:>6}",
                i.as_str(),
                100.0 * self.recall(i),
                100.0 * self.precision(i),
                self.support(i)
            );
        }
        s
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_examples_are_read_as_labelled() {
        let examples = include_str!("../../../prompts/examples.tsv");
        let misread = check_examples(&Classifier::default(), examples, "examples.tsv");
        let lines: Vec<String> = misread.iter().map(|m| m.to_string()).collect();
        assert!(lines.is_empty(), "\n{}", lines.join("\n"));
        let count = examples
            .lines()
            .filter(|l| l.contains('\t') && !l.starts_with('#') && !l.starts_with("intent\t"))
            .count();
        assert!(count >= 40, "ship at least 40 examples, found {count}");
    }

    #[test]
    fn misread_examples_name_file_line_expected_and_got() {
        let examples = "# comment\nintent\tmessage\n\nemergency\tI smell gas\n\
                        pricing\tcan someone come tomorrow\nbookin\thi\nno tab here\n";
        let misread = check_examples(&Classifier::default(), examples, "mine.tsv");
        assert_eq!(misread.len(), 3, "{misread:?}");
        assert_eq!(misread[0].line, 5);
        assert_eq!(misread[0].expected, "pricing");
        assert!(
            misread[0].got.starts_with("booking (via intents.rules:"),
            "{}",
            misread[0].got
        );
        let shown = misread[0].to_string();
        assert!(
            shown.starts_with("mine.tsv:5: expected pricing, got booking"),
            "{shown}"
        );
        assert!(shown.ends_with(": can someone come tomorrow"), "{shown}");
        assert_eq!(misread[1].line, 6);
        assert!(
            misread[1].got.contains("unknown intent"),
            "{:?}",
            misread[1]
        );
        assert_eq!(misread[2].line, 7);
    }

    #[test]
    fn evaluation_counts() {
        let tsv = "label\ttext\nemergency\tI smell gas\nopt_out\tstop texting me\n\
                   booking\thow much is it\nother\tthanks\n";
        let e = Evaluation::run(&Classifier::default(), tsv).unwrap();
        assert_eq!(e.total(), 4);
        assert!((e.accuracy() - 0.75).abs() < 1e-9);
        assert_eq!(e.recall(Intent::Emergency), 1.0);
        assert_eq!(e.recall(Intent::Booking), 0.0);
        assert_eq!(e.precision(Intent::Pricing), 0.0);
        assert_eq!(e.mistakes.len(), 1);
        assert_eq!(e.mistakes[0].0, 4);
        let report = e.report();
        assert!(report.contains("accuracy 75.0%"), "{report}");
        assert!(report.contains("confusion matrix"), "{report}");
        assert!(Evaluation::run(&Classifier::default(), "label\ttext\nnope\tx\n").is_err());
        assert!(Evaluation::run(&Classifier::default(), "label\ttext\nno tab\n").is_err());
    }
}
