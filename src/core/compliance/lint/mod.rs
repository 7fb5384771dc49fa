//! Template lint for `check-config`: catch texts that carriers will filter,
//! that break compliance rules, or that cost more than the owner expects.
//!
//! # How an SMS is sized
//!
//! An SMS carries 140 bytes. Which characters fit in it depends on the
//! *encoding*, chosen per message:
//!
//! * **GSM-7** (GSM 03.38): 7-bit "septets", so 160 characters fit in one
//!   SMS. Only the 127 characters of the *basic set* (Latin letters, digits,
//!   common punctuation, a few accented letters and Greek capitals) plus the
//!   *extension table* (`^ { } \ [ ~ ] | €` and form feed) are available.
//!   An extension character is sent as an escape septet plus the character,
//!   so it counts **2**.
//! * **UCS-2**: 16-bit UTF-16 code units, so only 70 fit. Used as soon as a
//!   single character is outside GSM-7 — a curly quote `’` pasted from a word
//!   processor is enough to more than double the cost. Characters outside the
//!   Basic Multilingual Plane (most emoji) take **2** code units.
//!
//! A longer message is split into parts, each of which loses a 6-byte header
//! telling the phone how to reassemble them: 153 septets or 67 code units per
//! part. Carriers bill, and rate-limit, per part ("segment"). An escape pair or
//! a surrogate pair is never split across parts, so a part may end one unit
//! short; [`segments`] models that.
//!
//! # What the lint checks
//!
//! See [`lint_template`].
//!
//! The tests are in `tests.rs`.

use crate::config::Business;

/// The SMS encoding a text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// GSM 03.38 7-bit default alphabet (with extension table).
    Gsm7,
    /// UCS-2 / UTF-16, needed for anything outside GSM-7.
    Ucs2,
}

/// The 127 printable characters of the GSM 03.38 basic set, in table order
/// (0x1B, the escape to the extension table, is not a character). Each costs
/// one septet.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The GSM 03.38 extension table: each costs two septets (escape + char).
const GSM_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// GSM-7 limits: one SMS, and one part of a multi-part SMS.
const GSM7_SINGLE: usize = 160;
const GSM7_PART: usize = 153;
/// UCS-2 limits in UTF-16 code units.
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// How many septets `c` costs in GSM-7, or `None` if it is not in GSM-7.
fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding `text` needs: GSM-7 if every character is in the GSM 03.38
/// basic set or extension table, else UCS-2.
pub fn encoding(text: &str) -> Encoding {
    if text.chars().all(|c| gsm_septets(c).is_some()) {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    }
}

/// The cost of each character in the units of `enc` (septets or UTF-16 units).
fn unit_costs(text: &str, enc: Encoding) -> impl Iterator<Item = usize> + '_ {
    text.chars().map(move |c| match enc {
        Encoding::Gsm7 => gsm_septets(c).unwrap_or(1),
        Encoding::Ucs2 => c.len_utf16(),
    })
}

/// Total length of `text` in the units of its encoding.
fn units(text: &str) -> usize {
    unit_costs(text, encoding(text)).sum()
}

/// Number of SMS segments `text` is sent as (0 for the empty string).
///
/// GSM-7: up to 160 septets is one segment, beyond that 153 per part.
/// UCS-2: up to 70 UTF-16 code units is one segment, beyond that 67 per part.
/// Extension characters (2 septets) and surrogate pairs (2 units) are kept
/// whole, so a part that cannot fit the next one is closed early.
pub fn segments(text: &str) -> usize {
    let enc = encoding(text);
    let (single, part) = match enc {
        Encoding::Gsm7 => (GSM7_SINGLE, GSM7_PART),
        Encoding::Ucs2 => (UCS2_SINGLE, UCS2_PART),
    };
    let total: usize = unit_costs(text, enc).sum();
    if total == 0 {
        return 0;
    }
    if total <= single {
        return 1;
    }
    let (mut parts, mut used) = (1, 0);
    for cost in unit_costs(text, enc) {
        if used + cost > part {
            parts += 1;
            used = 0;
        }
        used += cost;
    }
    parts
}

/// How serious a finding is: errors fail `check-config`, warnings don't.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Severity {
    /// The template must not be used as is.
    Error,
    /// The template works but costs more or risks filtering.
    Warning,
}

/// One problem found in a template, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, naming the template.
    pub message: String,
    /// How to fix it, as a concrete edit where possible.
    pub fix: String,
}

/// Public link shorteners whose domains carriers filter on 10DLC and
/// toll-free traffic (shared domains are abused by spammers). Use a branded
/// domain or the full URL instead.
const URL_SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "tinyurl.com",
    "goo.gl",
    "ow.ly",
    "t.co",
    "is.gd",
    "v.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "bit.do",
    "rb.gy",
    "t.ly",
    "s.id",
    "adf.ly",
    "shorte.st",
    "lnkd.in",
    "bl.ink",
    "x.co",
    "tr.im",
    "qr.net",
    "short.gy",
];

/// Lints one message template.
///
/// * `name` — the template's config key, used in messages.
/// * `source` — the raw template text with `{placeholders}`.
/// * `sample` — the template rendered with realistic sample values; this is
///   what is measured, because placeholders change the length.
/// * `first_message` — whether this can be the first text a number receives.
/// * `business_name` — the business's name as configured.
///
/// Checks, in order:
/// 1. **Empty** (only whitespace) → Error, and nothing else is checked.
/// 2. **Business name**: carriers require the sender to identify itself, so
///    the source must contain `{business}` or the sample must contain
///    `business_name` (case-insensitive) → Error if neither.
/// 3. **Opt-out wording** when `first_message`: "STOP" as a word, "opt out"
///    (or "opt-out", "optout") or "unsubscribe", case-insensitive → Error if none.
/// 4. **Public URL shorteners** (bit.ly, tinyurl.com, t.co, …) in source or
///    sample → one Error per domain.
/// 5. **More than one segment** → Warning naming the encoding and count, and
///    for UCS-2 the first character that forced it.
pub fn lint_template(
    name: &str,
    source: &str,
    sample: &str,
    first_message: bool,
    business_name: &str,
) -> Vec<Finding> {
    if source.trim().is_empty() {
        return vec![error(
            format!("template \"{name}\" is empty"),
            format!(
                "write the text for \"{name}\", e.g. \"Hi, this is {{business}}. Sorry we missed \
                 your call - how can we help? Reply STOP to opt out.\""
            ),
        )];
    }
    // Measure what is actually sent; fall back to the source if no sample was given.
    let text = if sample.trim().is_empty() {
        source
    } else {
        sample
    };
    let mut findings = Vec::new();

    let names_business = source.contains("{business}")
        || (!business_name.trim().is_empty()
            && text
                .to_lowercase()
                .contains(&business_name.trim().to_lowercase()));
    if !names_business {
        findings.push(error(
            format!("template \"{name}\" does not name the business; carriers filter texts whose sender is not identified"),
            format!("add {{business}} to \"{name}\", e.g. start it with \"{{business}}: \""),
        ));
    }

    if first_message && !has_opt_out_wording(text) {
        findings.push(error(
            format!(
                "template \"{name}\" can be the first text a number receives but has no opt-out instructions"
            ),
            format!("end \"{name}\" with \"Reply STOP to opt out.\""),
        ));
    }

    let mut seen = Vec::new();
    for domain in URL_SHORTENERS {
        if !seen.contains(domain)
            && (contains_domain(source, domain) || contains_domain(text, domain))
        {
            seen.push(domain);
            findings.push(error(
                format!("template \"{name}\" links via the public URL shortener {domain}, which carriers filter"),
                format!("replace the {domain} link with the full URL or a link on your own domain"),
            ));
        }
    }

    let count = segments(text);
    if count > 1 {
        findings.push(segment_warning(name, text, count));
    }
    findings
}

/// An [`Severity::Error`] finding.
fn error(message: String, fix: String) -> Finding {
    Finding {
        severity: Severity::Error,
        message,
        fix,
    }
}

/// The warning for a multi-segment text, explaining why and how to shrink it.
fn segment_warning(name: &str, text: &str, count: usize) -> Finding {
    let total = units(text);
    match encoding(text) {
        Encoding::Gsm7 => Finding {
            severity: Severity::Warning,
            message: format!(
                "template \"{name}\" is {count} SMS segments (GSM-7, {total} septets; one segment holds {GSM7_SINGLE})"
            ),
            fix: format!(
                "shorten \"{name}\" by {} characters to fit one segment",
                total - GSM7_SINGLE
            ),
        },
        Encoding::Ucs2 => {
            let first = text
                .chars()
                .find(|&c| gsm_septets(c).is_none())
                .expect("UCS-2 text has a non-GSM character");
            let what = if is_emoji(first) { "emoji" } else { "character" };
            let message = format!(
                "template \"{name}\" is {count} SMS segments (UCS-2, {total} UTF-16 units; one segment holds \
                 {UCS2_SINGLE}); UCS-2 is needed because of the non-GSM {what} {first} (U+{:04X})",
                u32::from(first)
            );
            Finding { severity: Severity::Warning, message, fix: gsm_fix(text) }
        }
    }
}

/// Suggests edits that turn `text` into GSM-7: one clause per distinct
/// non-GSM character, first one first, e.g. `replace ’ with '`.
fn gsm_fix(text: &str) -> String {
    let mut seen = Vec::new();
    let mut fixed = String::new();
    for c in text.chars() {
        if gsm_septets(c).is_some() {
            fixed.push(c);
            continue;
        }
        let replacement = gsm_lookalike(c);
        fixed.push_str(replacement.unwrap_or(""));
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    let mut steps: Vec<String> = seen
        .iter()
        .map(|&c| match gsm_lookalike(c) {
            Some(r) => format!("replace {c} with {r}"),
            None if is_emoji(c) => format!("remove the emoji {c}"),
            None => format!("remove or rewrite {c} (U+{:04X})", u32::from(c)),
        })
        .collect();
    if segments(&fixed) > 1 {
        steps.push(format!(
            "then shorten by {} characters to fit one segment",
            units(&fixed) - GSM7_SINGLE
        ));
    }
    steps.join("; ")
}

/// A GSM-7 stand-in for common "smart" punctuation that word processors and
/// phones insert.
fn gsm_lookalike(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}' | '`' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' => "\"",
        '\u{2013}' | '\u{2014}' | '\u{2012}' | '\u{2010}' | '\u{2011}' | '\u{2212}' => "-",
        '\u{2026}' => "...",
        '\u{00A0}' | '\u{2009}' | '\u{202F}' | '\u{2007}' => " ",
        '\u{2022}' | '\u{00B7}' => "-",
        _ => return None,
    })
}

/// A rough emoji test: astral-plane symbols, the BMP symbol blocks and the
/// emoji variation selector.
fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F)
}

/// True if `text` tells the reader how to opt out: "STOP" as a word,
/// "opt out"/"opt-out"/"optout", or "unsubscribe", in any case.
fn has_opt_out_wording(text: &str) -> bool {
    let lower = text.to_lowercase();
    ["opt out", "opt-out", "optout", "unsubscribe"]
        .iter()
        .any(|phrase| lower.contains(phrase))
        || lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word == "stop")
}

/// True if `domain` appears in `text` as a host name: not glued to a longer
/// name on the left (`start.co` is not `t.co`) or the right (`t.com`), but
/// possibly after a subdomain (`www.bit.ly`) or before a path (`bit.ly/x`).
fn contains_domain(text: &str, domain: &str) -> bool {
    let lower = text.to_lowercase();
    let bytes = lower.as_bytes();
    let is_name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80;
    lower.match_indices(domain).any(|(i, _)| {
        let end = i + domain.len();
        // A '.' on the left is fine: `www.bit.ly` is still bit.ly.
        let left_ok = i == 0 || !is_name_byte(bytes[i - 1]);
        let right_ok = match bytes.get(end) {
            None => true,
            Some(b'.') => bytes.get(end + 1).is_none_or(|&b| !is_name_byte(b)),
            Some(&b) => !is_name_byte(b),
        };
        left_ok && right_ok
    })
}

/// A lint finding about one template file.
pub struct TemplateFinding {
    pub file: String,
    pub severity: Severity,
    pub message: String,
    pub fix: String,
}

/// One texted template of a business, as it goes out.
pub struct Texted<'a> {
    pub template: &'a crate::domain::template::Template,
    /// It can be the first text a number gets from us (so it must carry
    /// opt-out wording).
    pub first_message: bool,
    /// Rendered with sample values: what is measured and shown.
    pub sample: String,
}

/// Every texted template of a business (spoken greetings are not texts),
/// rendered with sample values. The instant texts and the opt-in
/// confirmation can be the first text a number gets from us. Shared by the
/// lint (`check-config`) and the owner's settings page, so both show the
/// same text.
pub fn texted_templates(b: &Business) -> Vec<Texted<'_>> {
    let number = b.numbers.first().map(|n| n.to_string()).unwrap_or_default();
    let vars = b
        .vars(&number)
        .set("opens_at", "7:00 AM tomorrow")
        .set("caller", "+15125550147");
    let t = &b.templates;
    let mut texted = vec![
        (&t.instant_business_hours, true),
        (&t.instant_after_hours, true),
        (&t.opt_in_confirmation, true),
        (&t.opt_out_confirmation, false),
        (&t.help_reply, false),
        (&t.booking_reply, false),
        (&t.pricing_reply, false),
        (&t.acknowledgement, false),
        (&t.question_details, false),
        (&t.question_timing, false),
    ];
    texted.extend(b.follow_ups.iter().map(|s| (&s.template, false)));
    // The office's follow-ups after a job and on a quote (`[business.sla]`).
    texted.push((&b.sla.review_template, false));
    texted.push((&b.sla.quote_template, false));
    texted
        .into_iter()
        .map(|(template, first_message)| {
            // A question sent on its own goes out as "{business}: question".
            let sample = if std::ptr::eq(template, &t.question_details)
                || std::ptr::eq(template, &t.question_timing)
            {
                crate::core::conversation::standalone_question(b, &template.render(&vars))
            } else {
                template.render(&vars)
            };
            Texted {
                template,
                first_message,
                sample,
            }
        })
        .collect()
}

/// The findings about one texted template.
pub fn lint_texted(b: &Business, t: &Texted) -> Vec<Finding> {
    lint_template(
        &t.template.file,
        &t.template.source,
        &t.sample,
        t.first_message,
        &b.name,
    )
}

/// Lints every texted template of a business ([`texted_templates`]).
pub fn lint_business(b: &Business) -> Vec<TemplateFinding> {
    let mut out = Vec::new();
    for t in texted_templates(b) {
        for f in lint_texted(b, &t) {
            out.push(TemplateFinding {
                file: t.template.file.clone(),
                severity: f.severity,
                message: f.message,
                fix: f.fix,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
