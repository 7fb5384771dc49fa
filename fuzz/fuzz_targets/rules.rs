//! The rules-file compiler on any text: no panic; an error names a line of
//! the file; a file that compiles gives a classifier that keeps the
//! classification invariants on a few messages (and carrier keywords still
//! win, whatever the rules say).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use ringback::core::classify::Classifier;

const MESSAGES: [&str; 6] = [
    "stop",
    "i smell gas but no rush",
    "how much for a new water heater? can you come tomorrow at 9",
    "no heat and it's 12 degrees, baby here",
    "quote me a price, not interested anymore",
    "huele a gas 煤气味 po",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Classifier::from_rules(text, "fuzz.rules") {
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!(
                e.line >= 1 && e.line <= lines + 1,
                "error points outside the file ({lines} lines): {e}"
            );
            assert!(!e.message.is_empty());
        }
        Ok(c) => {
            for m in MESSAGES.iter().copied().chain([text]) {
                let got = c.classify(m);
                common::check_classification(m, &got);
                if let Some(want) = common::keyword_intent(m) {
                    assert_eq!(got.intent, want, "{m:?}");
                }
            }
        }
    }
});
