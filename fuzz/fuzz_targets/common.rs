//! Checks shared by the targets that classify text.

use ringback::core::classify::{keyword, normalize_keyword, Classification, Intent, Keyword};

/// What every classification must satisfy, whatever the message: the
/// hazard is set exactly for an emergency, the primary intent comes first
/// in `intents`, which are in priority order without repeats, a possible
/// emergency is never also a paged one, and a carrier keyword alone
/// decides the intent.
pub fn check_classification(message: &str, got: &Classification) {
    assert_eq!(
        got.hazard.is_some(),
        got.intent == Intent::Emergency,
        "{message:?}: {got:?}"
    );
    assert_eq!(
        got.intents.first(),
        Some(&got.intent),
        "{message:?}: {got:?}"
    );
    let order: Vec<usize> = got
        .intents
        .iter()
        .map(|i| Intent::ALL.iter().position(|x| x == i).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{message:?}: intents out of order or repeated: {got:?}"
    );
    assert!(
        !(got.possible_emergency && got.intent == Intent::Emergency),
        "{message:?}: {got:?}"
    );
    assert_eq!(
        got.possible_emergency,
        got.possible_hazard.is_some(),
        "{message:?}: {got:?}"
    );
    let normalized = normalize_keyword(message);
    assert_eq!(normalize_keyword(&normalized), normalized, "{message:?}");
    assert!(!normalized.chars().any(char::is_lowercase), "{message:?}");
}

/// The intent a carrier keyword alone must give.
pub fn keyword_intent(message: &str) -> Option<Intent> {
    keyword(message).map(|k| match k {
        Keyword::Stop => Intent::OptOut,
        Keyword::Start => Intent::OptIn,
        Keyword::Help => Intent::Help,
    })
}
