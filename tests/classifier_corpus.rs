//! Accuracy of the shipped rules on labelled replies.
//!
//! `corpus_accuracy` reads the shared development corpus (path from
//! `RINGBACK_CORPUS`, else `../shared/corpus/replies-dev.tsv` next to the
//! crate, else `/work/shared/corpus/replies-dev.tsv`); `heldout_accuracy`
//! reads `tests/data/heldout.tsv`, written independently of the rules. Both print a
//! confusion matrix and per-intent precision/recall (`cargo test -- --nocapture`).

use ringback::core::classify::{Classifier, Intent};
use std::path::{Path, PathBuf};

/// Counts for one labelled file.
struct Report {
    /// `confusion[expected][predicted]`, indexed like `Intent::ALL`.
    confusion: [[usize; 8]; 8],
    /// Lines whose prediction differs from the label.
    mistakes: Vec<String>,
}

fn index(intent: Intent) -> usize {
    Intent::ALL.iter().position(|&i| i == intent).unwrap()
}

fn evaluate(tsv: &str) -> Report {
    let classifier = Classifier::default();
    let mut report = Report {
        confusion: [[0; 8]; 8],
        mistakes: Vec::new(),
    };
    for (n, line) in tsv.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let (label, text) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("line {}: no tab", n + 1));
        let expected: Intent = label
            .parse()
            .unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let got = classifier.classify(text);
        report.confusion[index(expected)][index(got.intent)] += 1;
        if got.intent != expected {
            report.mistakes.push(format!(
                "  line {}: expected {expected}, got {} ({}) :: {text}",
                n + 1,
                got.intent,
                got.rule.as_deref().unwrap_or("no rule")
            ));
        }
    }
    report
}

impl Report {
    fn total(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }

    fn accuracy(&self) -> f64 {
        let correct: usize = (0..8).map(|i| self.confusion[i][i]).sum();
        correct as f64 / self.total() as f64
    }

    fn recall(&self, intent: Intent) -> f64 {
        let i = index(intent);
        let row: usize = self.confusion[i].iter().sum();
        if row == 0 {
            1.0
        } else {
            self.confusion[i][i] as f64 / row as f64
        }
    }

    fn precision(&self, intent: Intent) -> f64 {
        let i = index(intent);
        let col: usize = (0..8).map(|r| self.confusion[r][i]).sum();
        if col == 0 {
            1.0
        } else {
            self.confusion[i][i] as f64 / col as f64
        }
    }

    fn print(&self, name: &str) {
        println!(
            "== {name}: {} messages, accuracy {:.1}%",
            self.total(),
            100.0 * self.accuracy()
        );
        println!("confusion matrix (rows = expected, columns = predicted):");
        let short = |i: Intent| &i.as_str()[..i.as_str().len().min(7)];
        print!("{:>15}", "");
        for i in Intent::ALL {
            print!("{:>8}", short(i));
        }
        println!();
        for e in Intent::ALL {
            print!("{:>15}", e.as_str());
            for p in Intent::ALL {
                print!("{:>8}", self.confusion[index(e)][index(p)]);
            }
            println!();
        }
        println!("{:>15} {:>9} {:>9}", "intent", "precision", "recall");
        for i in Intent::ALL {
            println!(
                "{:>15} {:>8.1}% {:>8.1}%",
                i.as_str(),
                100.0 * self.precision(i),
                100.0 * self.recall(i)
            );
        }
        if !self.mistakes.is_empty() {
            println!("mistakes:\n{}", self.mistakes.join("\n"));
        }
    }

    /// Emergencies and opt-outs must never be demoted to another intent.
    /// (Opt-out outranks emergency, so an emergency read as opt-out is allowed.)
    fn assert_safety(&self) {
        let opt_out = index(Intent::OptOut);
        let emergency = index(Intent::Emergency);
        for p in 0..8 {
            if p != opt_out {
                assert_eq!(
                    self.confusion[opt_out][p],
                    0,
                    "opt_out read as {}",
                    Intent::ALL[p]
                );
            }
            if p != emergency && p != opt_out {
                assert_eq!(
                    self.confusion[emergency][p],
                    0,
                    "emergency read as {}",
                    Intent::ALL[p]
                );
            }
        }
    }
}

fn corpus_path() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("RINGBACK_CORPUS") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/replies-dev.tsv"));
    candidates.push(PathBuf::from("/work/shared/corpus/replies-dev.tsv"));
    let found = candidates.iter().find(|p| p.is_file()).cloned();
    if found.is_none() {
        let tried: Vec<_> = candidates.iter().map(|p| p.display().to_string()).collect();
        println!("skipped: corpus not found at {}", tried.join(", "));
    }
    found
}

#[test]
fn corpus_accuracy() {
    let Some(path) = corpus_path() else { return };
    let text = std::fs::read_to_string(&path).unwrap();
    let report = evaluate(&text);
    report.print(&path.display().to_string());
    assert!(
        report.accuracy() >= 0.95,
        "accuracy {:.3} < 0.95",
        report.accuracy()
    );
    assert_eq!(
        report.recall(Intent::OptOut),
        1.0,
        "opt_out recall must be 100%"
    );
    assert!(
        report.recall(Intent::Emergency) >= 0.98,
        "emergency recall below 98%"
    );
    report.assert_safety();
}

#[test]
fn heldout_accuracy() {
    let text = include_str!("data/heldout.tsv");
    let report = evaluate(text);
    report.print("tests/data/heldout.tsv");
    assert!(
        report.accuracy() >= 0.90,
        "held-out accuracy {:.3} < 0.90",
        report.accuracy()
    );
    assert_eq!(
        report.recall(Intent::OptOut),
        1.0,
        "opt_out recall must be 100%"
    );
    report.assert_safety();
}
