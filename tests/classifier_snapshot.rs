//! Speed work on the classifier must not change what it decides: every
//! message in every `tests/data/*.tsv` must classify exactly as recorded in
//! `tests/data/classifier-snapshot.txt` (intent, hazard, rule, every intent,
//! possible emergency, language and every match with its text), one
//! fingerprint per corpus file.
//!
//! A deliberate change to the rules or the reading changes the
//! fingerprints of the corpora it affects; check those with
//! `cargo test --test classifier_corpus -- --nocapture`, then record the new
//! ones with
//! `RINGBACK_UPDATE_SNAPSHOT=1 cargo test --test classifier_snapshot`.

use ringback::core::classify::Classifier;
use std::path::Path;

const SNAPSHOT: &str = "tests/data/classifier-snapshot.txt";

/// FNV-1a: a fingerprint that is stable across Rust versions and platforms
/// (the standard hasher is not).
fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `file fingerprint messages` per corpus, sorted by file name.
fn fingerprints(classifier: &Classifier) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    let mut out = String::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut n = 0;
        for line in text.lines().skip(1) {
            let Some((_, message)) = line.split_once('\t') else {
                continue;
            };
            let c = classifier.classify(message);
            h = fnv1a(format!("{message}\n{c:?}\n").as_bytes(), h);
            n += 1;
        }
        let name = path.file_name().unwrap().to_string_lossy();
        out.push_str(&format!("{name} {h:016x} {n}\n"));
    }
    out
}

#[test]
fn every_corpus_message_classifies_as_recorded() {
    let now = fingerprints(&Classifier::default());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    if std::env::var_os("RINGBACK_UPDATE_SNAPSHOT").is_some() {
        std::fs::write(&path, &now).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_default();
    let changed: Vec<&str> = now
        .lines()
        .filter(|l| !recorded.lines().any(|r| r == *l))
        .collect();
    assert!(
        changed.is_empty() && recorded.lines().count() == now.lines().count(),
        "classification changed for (file fingerprint messages):\n{}\nrecorded:\n{recorded}\
         If the change is deliberate, record it: \
         RINGBACK_UPDATE_SNAPSHOT=1 cargo test --test classifier_snapshot",
        changed.join("\n")
    );
}
