//! The template lint's tests: encodings, segment counts (with property
//! tests against a reference count) and every template check.
//!
//! Apart from the code so that each file holds one concern.

use super::*;
use proptest::prelude::*;

const BIZ: &str = "Acme Plumbing";

/// A well-formed first message.
fn good() -> (&'static str, &'static str) {
    (
        "Hi, this is {business}. Sorry we missed your call! Reply here. Reply STOP to opt out.",
        "Hi, this is Acme Plumbing. Sorry we missed your call! Reply here. Reply STOP to opt out.",
    )
}

fn errors(findings: &[Finding]) -> Vec<&str> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.as_str())
        .collect()
}

// ---- encoding -------------------------------------------------------------

#[test]
fn gsm_tables_have_the_right_sizes() {
    assert_eq!(GSM_BASIC.chars().count(), 127);
    assert_eq!(GSM_EXTENSION.chars().count(), 10);
}

#[test]
fn encoding_detects_non_gsm_characters() {
    assert_eq!(encoding("Hello @ £5, café? ¿Qué? Ñ ü à Δ"), Encoding::Gsm7);
    assert_eq!(encoding("braces {} and € are GSM too"), Encoding::Gsm7);
    assert_eq!(encoding("we’re here"), Encoding::Ucs2); // curly apostrophe
    assert_eq!(encoding("thanks 👍"), Encoding::Ucs2);
    assert_eq!(encoding("façade"), Encoding::Ucs2); // ç is not GSM (only Ç is)
    assert_eq!(encoding("`tick`"), Encoding::Ucs2);
    assert_eq!(encoding(""), Encoding::Gsm7);
}

// ---- segment boundaries --------------------------------------------------

#[test]
fn gsm_single_segment_boundary() {
    assert_eq!(segments(&"a".repeat(160)), 1);
    assert_eq!(segments(&"a".repeat(161)), 2);
    assert_eq!(segments(&"a".repeat(306)), 2);
    assert_eq!(segments(&"a".repeat(307)), 3);
    assert_eq!(segments(""), 0);
}

#[test]
fn gsm_extension_characters_count_two() {
    // 158 + 2 = 160 septets: one segment; one more septet: two.
    assert_eq!(segments(&format!("{}€", "a".repeat(158))), 1);
    assert_eq!(segments(&format!("{}€", "a".repeat(159))), 2);
    assert_eq!(segments(&"{".repeat(80)), 1);
    assert_eq!(segments(&"{".repeat(81)), 2);
}

#[test]
fn gsm_escape_pair_is_not_split_across_parts() {
    // 152 septets + a 2-septet char cannot share a 153-septet part.
    let s = format!("{}^{}", "a".repeat(152), "a".repeat(152));
    assert_eq!(units(&s), 306);
    assert_eq!(segments(&s), 3); // naive ceil(306 / 153) would say 2
}

#[test]
fn ucs2_single_segment_boundary() {
    let s = |n: usize| format!("’{}", "a".repeat(n - 1));
    assert_eq!(segments(&s(70)), 1);
    assert_eq!(segments(&s(71)), 2);
    assert_eq!(segments(&s(134)), 2);
    assert_eq!(segments(&s(135)), 3);
}

#[test]
fn emoji_counts_two_utf16_units() {
    // 68 + 2 = 70 units: one segment; 69 + 2 = 71: two.
    assert_eq!(segments(&format!("{}😀", "a".repeat(68))), 1);
    assert_eq!(segments(&format!("{}😀", "a".repeat(69))), 2);
    assert_eq!(segments(&"😀".repeat(35)), 1);
    assert_eq!(segments(&"😀".repeat(36)), 2);
}

// ---- lint rules -------------------------------------------------------------

#[test]
fn clean_template_has_no_findings() {
    let (source, sample) = good();
    assert_eq!(
        lint_template("missed_call", source, sample, true, BIZ),
        vec![]
    );
}

#[test]
fn empty_template_is_an_error() {
    for source in ["", "   \n"] {
        let f = lint_template("missed_call", source, "", true, BIZ);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("\"missed_call\" is empty"));
    }
}

#[test]
fn business_name_required() {
    let f = lint_template(
        "followup",
        "Still need help? Reply STOP to opt out.",
        "Still need help? Reply STOP to opt out.",
        true,
        BIZ,
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("does not name the business"));
    assert!(f[0].fix.contains("{business}"));
}

#[test]
fn business_name_literal_in_sample_is_enough() {
    let text = "ACME PLUMBING here - still need help?";
    assert_eq!(lint_template("followup", text, text, false, BIZ), vec![]);
    // An empty configured name never matches.
    assert_eq!(
        errors(&lint_template(
            "followup", "Hi there", "Hi there", false, ""
        ))
        .len(),
        1
    );
}

#[test]
fn first_message_needs_opt_out_wording() {
    let source = "{business}: sorry we missed your call.";
    let sample = "Acme Plumbing: sorry we missed your call.";
    let f = lint_template("missed_call", source, sample, true, BIZ);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("no opt-out"));
    assert_eq!(
        f[0].fix,
        "end \"missed_call\" with \"Reply STOP to opt out.\""
    );
    // Not needed when it cannot be the first message.
    assert_eq!(
        lint_template("followup", source, sample, false, BIZ),
        vec![]
    );
}

#[test]
fn opt_out_wording_variants_accepted() {
    for tail in [
        "Reply STOP to opt out",
        "reply stop",
        "Text Stop.",
        "To opt-out reply END",
        "Opt out anytime",
        "Reply UNSUBSCRIBE to unsubscribe",
    ] {
        let sample = format!("Acme Plumbing: we missed your call. {tail}");
        assert_eq!(
            lint_template("m", &sample, &sample, true, BIZ),
            vec![],
            "{tail}"
        );
    }
    // "stop" inside another word is not an instruction.
    let sample = "Acme Plumbing: nonstop service, 24/7.";
    assert_eq!(
        errors(&lint_template("m", sample, sample, true, BIZ)).len(),
        1
    );
}

#[test]
fn url_shorteners_are_errors() {
    for link in [
        "bit.ly/abc",
        "https://tinyurl.com/x",
        "http://t.co/abc",
        "www.bit.ly/q",
        "Book: RB.GY/123.",
        "see is.gd",
    ] {
        let sample = format!("Acme Plumbing: book at {link}");
        let f = lint_template("m", &sample, &sample, false, BIZ);
        assert_eq!(f.len(), 1, "{link}: {f:?}");
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("URL shortener"), "{link}");
        assert!(f[0].fix.contains("full URL"), "{link}");
    }
}

#[test]
fn ordinary_domains_are_not_mistaken_for_shorteners() {
    for link in [
        "https://start.co/x",
        "att.com",
        "https://acme.com/book",
        "t.com",
        "bit.lyx.com/a",
        "my-t.co",
    ] {
        let sample = format!("Acme Plumbing: book at {link}");
        assert_eq!(
            lint_template("m", &sample, &sample, false, BIZ),
            vec![],
            "{link}"
        );
    }
}

#[test]
fn shortener_in_source_found_even_if_sample_differs() {
    let f = lint_template(
        "m",
        "{business}: https://bit.ly/x",
        "Acme Plumbing: {link}",
        false,
        BIZ,
    );
    assert_eq!(errors(&f).len(), 1);
}

#[test]
fn long_gsm_text_warns_with_count_and_shortening_fix() {
    let sample = format!("Acme Plumbing: {}", "a".repeat(150)); // 165 septets
    let f = lint_template("m", &sample, &sample, false, BIZ);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(
        f[0].message.contains("2 SMS segments (GSM-7, 165 septets"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].fix, "shorten \"m\" by 5 characters to fit one segment");
}

#[test]
fn ucs2_warning_names_first_non_gsm_char_and_fix() {
    let sample = format!("Acme Plumbing: we’re sorry we missed you{}", ".".repeat(40));
    let f = lint_template("m", &sample, &sample, false, BIZ);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(
        f[0].message.contains("2 SMS segments (UCS-2"),
        "{}",
        f[0].message
    );
    assert!(f[0].message.contains("’ (U+2019)"), "{}", f[0].message);
    assert_eq!(f[0].fix, "replace ’ with '");
}

#[test]
fn ucs2_warning_for_emoji() {
    let sample = format!("Acme Plumbing: thanks! 👍 {}", "a".repeat(50));
    let f = lint_template("m", &sample, &sample, false, BIZ);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("emoji 👍"), "{}", f[0].message);
    assert_eq!(f[0].fix, "remove the emoji 👍");
}

#[test]
fn ucs2_fix_lists_every_char_and_remaining_length() {
    let sample = format!("“Acme Plumbing” — {}", "a".repeat(170));
    let f = lint_template("m", &sample, &sample, false, BIZ);
    assert_eq!(f[0].fix, "replace “ with \"; replace ” with \"; replace — with -; then shorten by 28 characters to fit one segment");
}

#[test]
fn single_segment_ucs2_is_fine() {
    let sample = "Acme Plumbing: we’re on it 👍";
    assert_eq!(lint_template("m", sample, sample, false, BIZ), vec![]);
}

// ---- properties ------------------------------------------------------------

/// Any character: mostly GSM, some extension, some BMP and astral non-GSM.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::sample::select(GSM_BASIC.chars().collect::<Vec<_>>()),
        1 => proptest::sample::select(GSM_EXTENSION.chars().collect::<Vec<_>>()),
        1 => any::<char>(),
        1 => proptest::sample::select(vec!['’', '😀', 'ç', '—', '中']),
    ]
}

proptest! {
    #[test]
    fn non_empty_text_has_at_least_one_segment(s in proptest::collection::vec(any_char(), 1..400)) {
        let s: String = s.into_iter().collect();
        prop_assert!(segments(&s) >= 1);
    }

    #[test]
    fn appending_never_reduces_segments(s in proptest::collection::vec(any_char(), 0..400), c in any_char()) {
        let s: String = s.into_iter().collect();
        let longer = format!("{s}{c}");
        prop_assert!(segments(&longer) >= segments(&s), "{:?} + {:?}", s, c);
    }

    #[test]
    fn gsm_basic_text_is_gsm7(s in proptest::collection::vec(proptest::sample::select(GSM_BASIC.chars().collect::<Vec<_>>()), 0..400)) {
        let s: String = s.into_iter().collect();
        prop_assert_eq!(encoding(&s), Encoding::Gsm7);
        prop_assert_eq!(segments(&s), if s.is_empty() { 0 } else if s.chars().count() <= 160 { 1 } else { s.chars().count().div_ceil(153) });
    }
}
