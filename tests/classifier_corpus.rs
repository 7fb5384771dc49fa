//! Accuracy of the shipped rules on labelled replies and voicemail
//! transcripts in `tests/data/`.
//!
//! Each corpus asserts accuracy, opt-out recall and emergency recall and
//! precision at the figures the rules reach now (to the printed tenth of a
//! percent, so one more misread fails), never below the targets
//! (93% accuracy, 98% opt-out recall, 96% emergency recall, 90% emergency
//! precision):
//!
//! * `tune-*.tsv`, `tune3-*.tsv`, `tune4-*.tsv`: corpora written by
//!   independent writers from the label policy, used to tune the rules
//!   (`tune3-*` in round 3, `tune4-*` in round 4; their first readings are
//!   in docs/classifier.md).
//! * `heldout9-*.tsv`: round 9's held-out corpora, the reported result:
//!   written by helpers from the label policy alone, kept outside the
//!   repository while round 9 was tuned, read once with round 8's rules
//!   and once with round 9's.
//! * `heldout8-*.tsv`: round 8's held-out corpora (tuning data in round 9),
//!   read once with round 7's rules and once with round 8's.
//! * `heldout7-*.tsv`: round 7's held-out corpora (tuning data in round 8),
//!   read once with round 6's rules and once with round 7's.
//! * `heldout6-*.tsv`: round 6's held-out corpora (tuning data in round 7),
//!   read once with round 5's rules and once with round 6's. Tuning data in round 7 (their floors are
//!   round 7's tuned-on figures).
//! * `heldout5-*.tsv`: round 5's held-out corpora (tuning data in round 6):
//!   written by helpers from the label policy alone, kept outside the
//!   repository while the rules were tuned, read once with round 4's rules
//!   and once with round 5's; tuning data in round 6.
//! * `heldout4-*.tsv`: round 4's held-out corpora (tuning data in round 5):
//!   written by helpers from the label policy alone, kept outside the
//!   repository while the rules were tuned, read once before and once after
//!   round 4.
//! * `heldout3-*.tsv`: round 3's held-out corpora: never tuned on, read
//!   before and after rounds 3 and 4.
//! * `heldout2-*.tsv`: round 2's held-out corpora: never tuned on, read
//!   before and after rounds 2 and 3.
//! * `heldout1-*.tsv`: round 1's held-out corpora, measured once before any
//!   tuning on them, tuning data since.
//! * `tune-round2-author.tsv`, `author-challenge.tsv`, `tune4-author.tsv`:
//!   messages the rules' author wrote from the label policy before looking
//!   at how the rules read them (first-pass figures in docs/classifier.md); fixed since, so they
//!   guard against regressions and do not measure generalisation.
//! * `heldout.tsv`: an older sample; `corpus_accuracy`: the older shared
//!   development corpus (path from `RINGBACK_CORPUS`, else
//!   `../shared/corpus/replies-dev.tsv` next to the crate, else
//!   `/work/shared/corpus/replies-dev.tsv`; skipped if absent).
//!
//! Every test prints its confusion matrix, per-intent recall and precision,
//! and the misread lines: `cargo test --test classifier_corpus -- --nocapture`.

use ringback::core::classify::eval::Evaluation;
use ringback::core::classify::{Classifier, Intent};
use std::path::{Path, PathBuf};

/// Minimum figures for one corpus, in percent.
struct Floor {
    accuracy: f64,
    opt_out_recall: f64,
    emergency_recall: f64,
    emergency_precision: f64,
}

/// The targets: no floor may be set below these.
const TARGET: Floor = Floor {
    accuracy: 93.0,
    opt_out_recall: 98.0,
    emergency_recall: 96.0,
    emergency_precision: 90.0,
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

/// Fails when a figure drops below its floor. Floors are the figures the
/// rules reach, to the printed tenth of a percent, so one more misread
/// fails the test: a rule change that costs a message must say so here.
fn check(name: &str, e: &Evaluation, floor: &Floor) {
    // Tuning data must reach the targets. The round-2 held-out corpora are
    // the honest result and may not be tuned up to them; their floors are
    // what the rules reach, so a regression still fails.
    if ![
        "heldout2-",
        "heldout3-",
        "heldout4-",
        "heldout5-",
        "heldout6-",
        "heldout7-",
        "heldout8-",
        "heldout9-",
    ]
    .iter()
    .any(|p| name.starts_with(p))
    {
        assert!(floor.accuracy >= TARGET.accuracy);
        assert!(floor.opt_out_recall >= TARGET.opt_out_recall);
        assert!(floor.emergency_recall >= TARGET.emergency_recall);
        assert!(floor.emergency_precision >= TARGET.emergency_precision);
    }
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
        .filter(|(_, got, min)| 100.0 * got < min - 0.05)
        .map(|(what, got, min)| format!("{what} {:.1}% < {min:.1}%", 100.0 * got))
        .collect();
    assert!(low.is_empty(), "{name}: {}", low.join(", "));
}

fn corpus(file: &str, floor: Floor) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let e = evaluate(file, &text);
    check(file, &e, &floor);
}

/// `corpus!(test_name, "file.tsv", accuracy, opt-out recall, emergency
/// recall, emergency precision)`, figures in percent.
macro_rules! corpus {
    ($name:ident, $file:literal, $acc:literal, $oo:literal, $er:literal, $ep:literal) => {
        #[test]
        fn $name() {
            corpus(
                $file,
                Floor {
                    accuracy: $acc,
                    opt_out_recall: $oo,
                    emergency_recall: $er,
                    emergency_precision: $ep,
                },
            );
        }
    };
}

// test, file, accuracy, opt-out recall, emergency recall, emergency precision
corpus!(tune_texts_a, "tune-texts-a.tsv", 100.0, 100.0, 100.0, 100.0);
corpus!(tune_texts_b, "tune-texts-b.tsv", 100.0, 100.0, 100.0, 100.0);
corpus!(tune_texts_d, "tune-texts-d.tsv", 99.5, 100.0, 100.0, 100.0);
corpus!(tune_texts_e, "tune-texts-e.tsv", 100.0, 100.0, 100.0, 100.0);
corpus!(tune_texts_h, "tune-texts-h.tsv", 97.2, 100.0, 100.0, 100.0);
corpus!(
    tune_voicemail_a,
    "tune-voicemail-a.tsv",
    99.6,
    100.0,
    100.0,
    100.0
);
corpus!(
    tune_voicemail_c,
    "tune-voicemail-c.tsv",
    100.0,
    100.0,
    100.0,
    100.0
);
corpus!(
    tune_voicemail_e,
    "tune-voicemail-e.tsv",
    97.5,
    100.0,
    100.0,
    100.0
);
corpus!(
    heldout1_texts_c,
    "heldout1-texts-c.tsv",
    96.9,
    100.0,
    100.0,
    97.3
);
corpus!(
    heldout1_voicemail_b,
    "heldout1-voicemail-b.tsv",
    98.4,
    100.0,
    100.0,
    100.0
);
corpus!(
    tune_round2_author,
    "tune-round2-author.tsv",
    98.8,
    100.0,
    100.0,
    98.8
);
corpus!(
    author_challenge,
    "author-challenge.tsv",
    99.8,
    100.0,
    100.0,
    100.0
);
corpus!(heldout, "heldout.tsv", 98.5, 100.0, 100.0, 100.0);
// Round 3's tuning corpora (first readings in docs/classifier.md).
corpus!(tune3_texts_i, "tune3-texts-i.tsv", 98.3, 98.8, 100.0, 100.0);
corpus!(
    tune3_voicemail_f,
    "tune3-voicemail-f.tsv",
    99.2,
    100.0,
    100.0,
    100.0
);
// Round 4's tuning corpora, tuned on (first readings in docs/classifier.md).
corpus!(
    tune4_texts_k,
    "tune4-texts-k.tsv",
    99.3,
    100.0,
    100.0,
    100.0
);
corpus!(
    tune4_voicemail_h,
    "tune4-voicemail-h.tsv",
    99.2,
    100.0,
    100.0,
    100.0
);
// Messages the round 4 tuner wrote per category from the label policy:
// regression data, not a measure of generalisation.
corpus!(tune4_author, "tune4-author.tsv", 99.2, 100.0, 100.0, 100.0);
// Round 2's held-out corpora: the reported result, never tuned on. Their
// floors are the figures the rules reach, below the targets (docs/classifier.md).
corpus!(
    heldout2_texts_g,
    "heldout2-texts-g.tsv",
    97.6,
    96.6,
    100.0,
    100.0
);
corpus!(
    heldout2_voicemail_d,
    "heldout2-voicemail-d.tsv",
    98.8,
    92.9,
    100.0,
    100.0
);
corpus!(
    heldout3_texts_j,
    "heldout3-texts-j.tsv",
    97.8,
    98.6,
    100.0,
    100.0
);
corpus!(
    heldout3_voicemail_g,
    "heldout3-voicemail-g.tsv",
    95.2,
    93.5,
    100.0,
    100.0
);
// Round 4's held-out corpora: round 4's reported result; tuned on in round 5.
corpus!(
    heldout4_texts_l,
    "heldout4-texts-l.tsv",
    97.2,
    100.0,
    100.0,
    100.0
);
corpus!(
    heldout4_voicemail_i,
    "heldout4-voicemail-i.tsv",
    96.1,
    100.0,
    100.0,
    100.0
);
// Round 5's held-out corpora: round 5's result, tuning data in round 6.
corpus!(
    heldout5_texts_n,
    "heldout5-texts-n.tsv",
    99.7,
    100.0,
    100.0,
    100.0
);
corpus!(
    heldout5_voicemail_j,
    "heldout5-voicemail-j.tsv",
    98.3,
    100.0,
    100.0,
    100.0
);
// Round 6's held-out corpora: round 6's result, tuning data in round 7
// (floors at what round 7's rules reach on them, tuned on).
corpus!(
    heldout6_texts_p,
    "heldout6-texts-p.tsv",
    98.1,
    100.0,
    100.0,
    100.0
);
corpus!(
    heldout6_voicemail_k,
    "heldout6-voicemail-k.tsv",
    98.7,
    100.0,
    100.0,
    100.0
);
// Round 7's held-out corpora: the reported result, never tuned on.
corpus!(
    heldout7_texts_q,
    "heldout7-texts-q.tsv",
    99.1,
    100.0,
    100.0,
    100.0
);
corpus!(
    heldout7_voicemail_l,
    "heldout7-voicemail-l.tsv",
    100.0,
    100.0,
    100.0,
    100.0
);
// Round 8's held-out corpora: the reported result, never tuned on.
corpus!(
    heldout8_texts_r,
    "heldout8-texts-r.tsv",
    99.7,
    100.0,
    100.0,
    100.0
);
corpus!(
    heldout8_voicemail_m,
    "heldout8-voicemail-m.tsv",
    100.0,
    100.0,
    100.0,
    100.0
);
// Round 9's held-out corpora: the reported result, never tuned on.
corpus!(
    heldout9_texts_s,
    "heldout9-texts-s.tsv",
    96.6,
    98.3,
    97.1,
    100.0
);
corpus!(
    heldout9_voicemail_n,
    "heldout9-voicemail-n.tsv",
    91.8,
    100.0,
    96.7,
    98.3
);
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
    assert!(
        e.accuracy() >= 0.958,
        "accuracy {:.3} < 0.958",
        e.accuracy()
    );
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
