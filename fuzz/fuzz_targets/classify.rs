//! The classifier, with the shipped rules, on any text: no panic, the
//! invariants of `common::check_classification`, the same answer twice,
//! and STOP alone (any case, with any punctuation, emoji or spaces from the
//! input around it) is always an opt-out. Callback details are extracted
//! from the same text.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use ringback::core::classify::{extract::extract, Classifier, Intent};
use std::sync::OnceLock;

fn classifier() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(Classifier::default)
}

fuzz_target!(|data: &[u8]| {
    let message = String::from_utf8_lossy(data);
    let c = classifier();
    let got = c.classify(&message);
    common::check_classification(&message, &got);
    if let Some(want) = common::keyword_intent(&message) {
        assert_eq!(got.intent, want, "{message:?}");
    }
    assert_eq!(c.classify(&message), got, "not deterministic: {message:?}");
    let _ = c.normalize(&message);
    let _ = extract(&message);

    // The input's non-alphanumeric characters around a STOP in any case.
    let noise: String = message.chars().filter(|c| !c.is_alphanumeric()).collect();
    if noise.len() <= 48 {
        let cut = noise
            .char_indices()
            .map(|(i, _)| i)
            .nth(noise.chars().count() / 2)
            .unwrap_or(noise.len());
        let word: String = "stop"
            .chars()
            .zip(data.iter().chain(std::iter::repeat(&0)))
            .map(|(ch, b)| {
                if b & 1 == 1 {
                    ch.to_ascii_uppercase()
                } else {
                    ch
                }
            })
            .collect();
        let stop = format!("{}{word}{}", &noise[..cut], &noise[cut..]);
        let got = c.classify(&stop);
        assert_eq!(got.intent, Intent::OptOut, "{stop:?}: {got:?}");
        assert!(got.has(Intent::OptOut));
    }
});
