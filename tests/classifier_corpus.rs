//! Accuracy of the shipped rules on labelled replies and voicemail
//! transcripts.
//!
//! * `tune_*`: the six corpora of issue #21 (`tests/data/tune-*.tsv`),
//!   written by independent writers from the label policy. Each asserts
//!   accuracy, opt-out recall and emergency recall and precision at what the
//!   rules reach, minus a small margin, never below the targets
//!   (93% accuracy, 98% opt-out recall, 96% emergency recall, 90%
//!   emergency precision).
//! * `corpus_accuracy`: the older shared development corpus (path from
//!   `RINGBACK_CORPUS`, else `../shared/corpus/replies-dev.tsv` next to the
//!   crate, else `/work/shared/corpus/replies-dev.tsv`; skipped if absent).
//! * `heldout_accuracy`: `tests/data/heldout.tsv`.
//! * `author_challenge`: `tests/data/author-challenge.tsv`, messages the
//!   rules' author wrote from the label policy in phrasings the rules had
//!   not seen, to find gaps (first-pass accuracy per batch: 86-96%). The
//!   rules were then fixed for them, so this is a regression guard, not an
//!   independent measure.
//!
//! Every test prints its confusion matrix, per-intent recall and precision,
//! and the misread lines: `cargo test --test classifier_corpus -- --nocapture`.

use ringback::core::classify::eval::Evaluation;
use ringback::core::classify::{Classifier, Intent};
use std::path::{Path, PathBuf};

/// Minimum figures for one corpus.
struct Floor {
    accuracy: f64,
    opt_out_recall: f64,
    emergency_recall: f64,
    emergency_precision: f64,
}

/// The targets: no floor may be set below these.
const TARGET: Floor = Floor {
    accuracy: 0.93,
    opt_out_recall: 0.98,
    emergency_recall: 0.96,
    emergency_precision: 0.90,
};

fn evaluate(name: &str, tsv: &str) -> Evaluation {
    let classifier = Classifier::default();
    let e = Evaluation::run(&classifier, tsv).unwrap_or_else(|m| panic!("{name}: {m}"));
    println!("== {name}: {}", e.report());
    for (line, expected, got, text) in &e.mistakes {
        let rule = classifier.classify(text).rule;
        println!(
            "  line {line}: expected {expected}, got {got} ({}) :: {text}",
            rule.as_deref().unwrap_or("no rule")
        );
    }
    e
}

fn check(name: &str, e: &Evaluation, floor: &Floor) {
    assert!(floor.accuracy >= TARGET.accuracy);
    assert!(floor.opt_out_recall >= TARGET.opt_out_recall);
    assert!(floor.emergency_recall >= TARGET.emergency_recall);
    assert!(floor.emergency_precision >= TARGET.emergency_precision);
    let figures = [
        ("accuracy", e.accuracy(), floor.accuracy),
        (
            "opt_out recall",
            e.recall(Intent::OptOut),
            floor.opt_out_recall,
        ),
        (
            "emergency recall",
            e.recall(Intent::Emergency),
            floor.emergency_recall,
        ),
        (
            "emergency precision",
            e.precision(Intent::Emergency),
            floor.emergency_precision,
        ),
    ];
    let low: Vec<String> = figures
        .iter()
        .filter(|(_, got, min)| got < min)
        .map(|(what, got, min)| format!("{what} {:.1}% < {:.1}%", 100.0 * got, 100.0 * min))
        .collect();
    assert!(low.is_empty(), "{name}: {}", low.join(", "));
}

fn tune(file: &str, floor: Floor) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let e = evaluate(file, &text);
    check(file, &e, &floor);
}

#[test]
fn tune_texts_a() {
    tune(
        "tune-texts-a.tsv",
        Floor {
            accuracy: 0.985,
            opt_out_recall: 0.985,
            emergency_recall: 0.975,
            emergency_precision: 0.98,
        },
    );
}

#[test]
fn tune_texts_b() {
    tune(
        "tune-texts-b.tsv",
        Floor {
            accuracy: 0.985,
            opt_out_recall: 0.985,
            emergency_recall: 0.975,
            emergency_precision: 0.98,
        },
    );
}

#[test]
fn tune_texts_d() {
    tune(
        "tune-texts-d.tsv",
        Floor {
            accuracy: 0.98,
            opt_out_recall: 0.985,
            emergency_recall: 0.975,
            emergency_precision: 0.98,
        },
    );
}

#[test]
fn tune_texts_e() {
    tune(
        "tune-texts-e.tsv",
        Floor {
            accuracy: 0.985,
            opt_out_recall: 0.985,
            emergency_recall: 0.975,
            emergency_precision: 0.98,
        },
    );
}

#[test]
fn tune_voicemail_a() {
    tune(
        "tune-voicemail-a.tsv",
        Floor {
            accuracy: 0.98,
            opt_out_recall: 0.98,
            emergency_recall: 0.97,
            emergency_precision: 0.98,
        },
    );
}

#[test]
fn tune_voicemail_c() {
    tune(
        "tune-voicemail-c.tsv",
        Floor {
            accuracy: 0.985,
            opt_out_recall: 0.98,
            emergency_recall: 0.975,
            emergency_precision: 0.98,
        },
    );
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

/// The older development corpus. Its labels predate the label policy of
/// issue #21 on a few points ("wrong number" and a bare "yes" are
/// not_interested and booking there, other in the new corpora), so its
/// accuracy floor is lower; its safety figures are not.
#[test]
fn corpus_accuracy() {
    let Some(path) = corpus_path() else { return };
    let text = std::fs::read_to_string(&path).unwrap();
    let e = evaluate(&path.display().to_string(), &text);
    assert!(e.accuracy() >= 0.95, "accuracy {:.3} < 0.95", e.accuracy());
    assert_eq!(e.recall(Intent::OptOut), 1.0, "opt_out recall must be 100%");
    assert!(
        e.recall(Intent::Emergency) >= 0.98,
        "emergency recall below 98%"
    );
    assert!(
        e.precision(Intent::Emergency) >= 0.95,
        "emergency precision below 95%"
    );
}

#[test]
fn heldout_accuracy() {
    let e = evaluate("tests/data/heldout.tsv", include_str!("data/heldout.tsv"));
    assert!(
        e.accuracy() >= 0.95,
        "held-out accuracy {:.3} < 0.95",
        e.accuracy()
    );
    assert_eq!(e.recall(Intent::OptOut), 1.0, "opt_out recall must be 100%");
    assert_eq!(
        e.recall(Intent::Emergency),
        1.0,
        "emergency recall must be 100%"
    );
}

#[test]
fn author_challenge() {
    let e = evaluate(
        "tests/data/author-challenge.tsv",
        include_str!("data/author-challenge.tsv"),
    );
    check(
        "author-challenge.tsv",
        &e,
        &Floor {
            accuracy: 0.98,
            opt_out_recall: 0.98,
            emergency_recall: 0.98,
            emergency_precision: 0.98,
        },
    );
}
