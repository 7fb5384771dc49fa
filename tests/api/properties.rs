//! Property tests: the carrier-keyword normaliser, and quiet hours across
//! DST changes and time zones.

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use proptest::prelude::*;
use ringback::core::classify::{keyword, normalize_keyword, Keyword};
use ringback::core::compliance::quiet::{area_code_info, QuietHours};

// ---- keywords ---------------------------------------------------------------

const KEYWORDS: &[(&str, Keyword)] = &[
    ("STOP", Keyword::Stop),
    ("STOPALL", Keyword::Stop),
    ("UNSUBSCRIBE", Keyword::Stop),
    ("CANCEL", Keyword::Stop),
    ("END", Keyword::Stop),
    ("QUIT", Keyword::Stop),
    ("REVOKE", Keyword::Stop),
    ("OPTOUT", Keyword::Stop),
    ("ALTO", Keyword::Stop),
    ("PARAR", Keyword::Stop),
    ("BASTA", Keyword::Stop),
    ("START", Keyword::Start),
    ("UNSTOP", Keyword::Start),
    ("HELP", Keyword::Help),
    ("INFO", Keyword::Help),
];

fn known(normalized: &str) -> Option<Keyword> {
    KEYWORDS
        .iter()
        .find(|(k, _)| *k == normalized)
        .map(|(_, kw)| *kw)
}

/// Characters people (and phones) put around and inside a keyword: spaces,
/// punctuation, emoji, zero-width and non-breaking spaces.
fn noise() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            " ", "  ", "\t", "\n", ".", "!", "!!", "?", ",", "-", "_", "'", "\"", "*", "(", ")",
            "🛑", "🙏", "👍", "😡", "\u{a0}", "\u{200b}", "…", "¡", "¿",
        ]),
        0..4,
    )
    .prop_map(|v| v.concat())
}

/// `word` in random case, with noise between some letters ("S.T.O.P",
/// "opt out", "Un-Subscribe").
fn decorated(word: &'static str) -> impl Strategy<Value = String> {
    let n = word.len();
    (
        prop::collection::vec(any::<bool>(), n),
        prop::collection::vec(prop::option::weighted(0.15, noise()), n),
        noise(),
        noise(),
    )
        .prop_map(move |(upper, inner, pre, post)| {
            let mut s = pre;
            for (i, c) in word.chars().enumerate() {
                if i > 0 {
                    if let Some(n) = &inner[i] {
                        s.push_str(n);
                    }
                }
                if upper[i] {
                    s.push(c);
                } else {
                    s.extend(c.to_lowercase());
                }
            }
            s.push_str(&post);
            s
        })
}

fn a_keyword() -> impl Strategy<Value = (&'static str, Keyword)> {
    prop::sample::select(KEYWORDS.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Case, punctuation, emoji and spacing never hide a keyword.
    #[test]
    fn decorated_keywords_still_match(
        (msg, kw) in a_keyword().prop_flat_map(|(k, kw)| (decorated(k), Just(kw)))
    ) {
        prop_assume!(msg.len() <= 64);
        prop_assert_eq!(keyword(&msg), Some(kw), "{:?}", msg);
    }

    /// A keyword with another word in the message is not a keyword message
    /// ("STOP PLEASE", "please stop", "info about pricing") — unless the two
    /// together spell a keyword ("STOP ALL", "UN STOP").
    #[test]
    fn another_word_means_no_match(
        (k, _) in a_keyword(),
        word in "[a-zA-Z0-9]{1,10}",
        sep in noise(),
        before in any::<bool>(),
    ) {
        let msg = if before { format!("{word}{sep}{k}") } else { format!("{k}{sep}{word}") };
        let joined = if before { format!("{word}{k}") } else { format!("{k}{word}") };
        let expected = known(&joined.to_uppercase());
        prop_assert_eq!(keyword(&msg), expected, "{:?}", msg);
    }

    /// Nothing else matches: on any text, a match means the normalised text
    /// is exactly one of the keywords.
    #[test]
    fn only_exact_keywords_match(msg in "\\PC{0,40}") {
        let n = normalize_keyword(&msg);
        // (Messages over 64 bytes are never a bare keyword: skipped early.)
        let expected = if msg.len() <= 64 { known(&n) } else { None };
        prop_assert_eq!(keyword(&msg), expected);
        // Normalising is idempotent and leaves only upper-case letters and digits.
        prop_assert_eq!(normalize_keyword(&n), n.clone());
        prop_assert!(n.chars().all(|c| c.is_alphanumeric() && !c.is_lowercase()));
    }
}

#[test]
fn look_alikes_are_not_keywords() {
    for msg in [
        "STOP PLEASE",
        "please stop",
        "Can you stop by tomorrow?",
        "cancel my appointment",
        "end of the day works",
        "help me my basement is flooding",
        "STOP1",
        "STOPP",
        "STO P P",
        "",
        "🛑",
    ] {
        assert_eq!(keyword(msg), None, "{msg:?}");
    }
}

// ---- quiet hours ------------------------------------------------------------

/// Recipients across zones, including ones without DST (Arizona, Hawaii)
/// and stricter states (Florida, Texas), and fall-backs to the business's
/// zone (toll-free, foreign).
const RECIPIENTS: &[&str] = &[
    "+12125550100", // New York
    "+13055550100", // Miami, Florida: 8-20
    "+18505550100", // Florida panhandle, Central time
    "+15125550100", // Austin, Texas: Sunday from noon
    "+16025550100", // Phoenix: no DST
    "+18085550100", // Honolulu: no DST
    "+19075550100", // Anchorage
    "+12065550100", // Seattle, Washington: 8-20
    "+14015550100", // Rhode Island: weekdays 9-18
    "+18005550100", // toll-free: business zone
    "+442071234567",
];

const BUSINESS_ZONES: &[chrono_tz::Tz] = &[
    chrono_tz::America::Chicago,
    chrono_tz::America::New_York,
    chrono_tz::America::Los_Angeles,
    chrono_tz::America::Phoenix,
];

/// Instants in 2026–2027, half of them within two days of a US DST change.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let dst_days = [
        Utc.with_ymd_and_hms(2026, 3, 8, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2027, 3, 14, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2027, 11, 7, 0, 0, 0).unwrap(),
    ];
    let year = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    prop_oneof![
        (0i64..2 * 365 * 24 * 60).prop_map(move |m| year + Duration::minutes(m)),
        (
            prop::sample::select(dst_days.to_vec()),
            -2 * 24 * 60i64..3 * 24 * 60
        )
            .prop_map(|(d, m)| d + Duration::minutes(m)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Whatever the state's rules, nothing is allowed outside the federal
    /// 8:00–21:00 in the recipient's own time zone; and a held text's
    /// release time is the very first allowed minute after now: allowed
    /// itself, not allowed a minute earlier, and nothing allowed between.
    #[test]
    fn quiet_hours_hold_until_the_first_allowed_minute(
        to in prop::sample::select(RECIPIENTS.to_vec()),
        business_tz in prop::sample::select(BUSINESS_ZONES.to_vec()),
        at in instant(),
        probes in prop::collection::vec(0.0f64..1.0, 8),
    ) {
        let q = QuietHours::us_defaults();
        let tz = area_code_info(to).map(|(_, tz)| tz).unwrap_or(business_tz);
        match q.check(to, business_tz, at) {
            Ok(()) => {
                let local = at.with_timezone(&tz);
                prop_assert!(
                    (8..21).contains(&local.hour()),
                    "{to} allowed at {local} (local)"
                );
            }
            Err(next) => {
                prop_assert!(next > at);
                prop_assert!(next - at <= Duration::days(7), "{to}: {at} -> {next}");
                prop_assert_eq!(q.check(to, business_tz, next), Ok(()), "{} at {}: release {} not allowed", to, at, next);
                let before = next - Duration::minutes(1);
                if before > at {
                    prop_assert!(q.check(to, business_tz, before).is_err(), "{} at {}: {} already allowed", to, at, before);
                }
                for p in probes {
                    let between = at + Duration::seconds(((next - at).num_seconds() as f64 * p) as i64);
                    if between < next {
                        prop_assert!(q.check(to, business_tz, between).is_err(),
                            "{} at {}: {} is allowed but the text was held until {}", to, at, between, next);
                    }
                }
            }
        }
    }

    /// The business's zone only matters when the recipient's is unknown.
    #[test]
    fn business_zone_matters_only_for_unknown_numbers(
        to in prop::sample::select(RECIPIENTS.to_vec()),
        at in instant(),
    ) {
        let q = QuietHours::us_defaults();
        let a = q.check(to, chrono_tz::America::New_York, at);
        let b = q.check(to, chrono_tz::Pacific::Honolulu, at);
        if area_code_info(to).is_some() {
            prop_assert_eq!(a, b);
        }
    }
}
