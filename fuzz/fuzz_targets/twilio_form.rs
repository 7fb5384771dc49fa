//! The Twilio webhook body parser on any bytes: no panic; what it accepts
//! is exactly what the `form_urlencoded` crate reads (the lossy parse the
//! signature check falls back on agrees with the strict one whenever the
//! strict one succeeds), re-encoding round-trips, and `require` only hands
//! back trimmed, non-empty values, SIDs of at most 64 letters and digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringback::http::twilio::{parse_form, TwilioForm};

const NAMES: [&str; 8] = [
    "From",
    "To",
    "Body",
    "CallSid",
    "MessageSid",
    "AccountSid",
    "DialCallStatus",
    "Digits",
];

fuzz_target!(|data: &[u8]| {
    let strict = parse_form(data);
    let lossy: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    match &strict {
        Ok(pairs) => {
            assert!(std::str::from_utf8(data).is_ok());
            assert_eq!(pairs, &lossy, "strict and lossy parses differ");
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter())
                .finish();
            let again = parse_form(encoded.as_bytes()).expect("re-encoded body parses");
            // Empty keys with empty values vanish on re-encoding ("=" and
            // "" both read as nothing useful); compare what survives.
            let keep = |p: &&(String, String)| !(p.0.is_empty() && p.1.is_empty());
            let a: Vec<_> = pairs.iter().filter(keep).collect();
            let b: Vec<_> = again.iter().filter(keep).collect();
            assert_eq!(a, b, "round trip through {encoded:?}");
        }
        Err(_) => {
            // A body refused as not UTF-8 is still read (lossily) for the
            // signature check; that must not panic either.
            let _ = lossy;
        }
    }

    if let Ok(form) = TwilioForm::from_body_unverified(data) {
        for name in NAMES {
            let _ = form.get(name);
            if let Ok(v) = form.require(name) {
                assert!(!v.is_empty());
                assert_eq!(v, v.trim());
                if name.ends_with("Sid") {
                    assert!(v.len() <= 64);
                    assert!(v
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                }
            }
        }
    }
});
