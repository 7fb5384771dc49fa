//! Phone numbers in E.164, parsed once at the edge ("parse, don't validate").
//!
//! Carriers hand us whatever the caller's network put in the `From` field:
//! `+15125550147` most of the time, but also `Anonymous`, `+266696687`
//! (Twilio's "restricted"), `7378742833` without a country code, or a SIP
//! URI. Only a [`PhoneNumber`] can be texted, so the type system makes sure
//! nobody sends to a string that was never checked.

use std::fmt;

/// A phone number in E.164 form: `+`, a country code that does not start with
/// 0, and at most 15 digits in all. North American numbers (`+1`) must also
/// have the NANP shape `+1 NXX NXX XXXX` (N = 2..9).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a string is not a textable phone number. The message is shown to
/// owners in config errors and recorded as the reason a text was suppressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("empty phone number")]
    Empty,
    #[error("not in E.164 form (expected + then 8 to 15 digits, e.g. +15125550147)")]
    NotE164,
    #[error("not a valid North American number (+1 then NXX NXX XXXX)")]
    BadNanp,
    #[error("a withheld, anonymous or restricted caller ID")]
    Withheld,
}

impl PhoneNumber {
    /// Parses a number that must already be E.164. Surrounding white space is
    /// ignored; nothing else is "fixed up", because a number we guessed at
    /// could text a stranger.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        let lower = s.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "anonymous"
                | "restricted"
                | "unknown"
                | "private"
                | "unavailable"
                | "+266696687"
                | "+7378742833"
                | "+2562533"
                | "+8656696"
        ) {
            return Err(PhoneError::Withheld);
        }
        let digits = s.strip_prefix('+').ok_or(PhoneError::NotE164)?;
        if digits.len() < 8
            || digits.len() > 15
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(PhoneError::NotE164);
        }
        if let Some(national) = digits.strip_prefix('1') {
            let b = national.as_bytes();
            if b.len() != 10 || b[0] < b'2' || b[3] < b'2' {
                return Err(PhoneError::BadNanp);
            }
        }
        Ok(PhoneNumber(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden, for logs: `+1512***0147`.
    pub fn masked(&self) -> Masked<'_> {
        Masked(&self.0)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    /// Debug output ends up in logs, so it is masked too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// Stored (e.g. in an escalation's state) as the plain E.164 string.
impl serde::Serialize for PhoneNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Parsed again on the way in, so stored data cannot smuggle in a number
/// that was never checked.
impl<'de> serde::Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PhoneNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl AsRef<str> for PhoneNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Any phone-like string with all but its first five and last four characters
/// hidden. Logs carry customers' numbers only in this form.
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let n = s.chars().count();
        if n <= 6 {
            return f.write_str("***");
        }
        let head: String = s.chars().take(5.min(n - 4)).collect();
        let tail: String = s.chars().skip(n - 4).collect();
        write!(f, "{head}***{tail}")
    }
}

/// Masks a raw string that may or may not be a valid number.
pub fn mask(s: &str) -> Masked<'_> {
    Masked(s)
}

/// `text` (a carrier's error message, say) with every phone number in it
/// masked like [`mask`]: a run of 7 or more digits, with an optional
/// leading `+` and the spaces, dots, dashes and brackets numbers are
/// written with. Carriers quote the `To` number in their errors (Twilio's
/// 21211), and logs must not carry it in clear.
pub fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let start_digit = chars[i].is_ascii_digit()
            || (matches!(chars[i], '+' | '(')
                && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()));
        if !start_digit {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The longest run of digits and separators from here.
        let mut j = i + 1;
        while j < chars.len()
            && (chars[j].is_ascii_digit() || matches!(chars[j], ' ' | '.' | '-' | '(' | ')'))
        {
            j += 1;
        }
        // Separators at the end belong to the text around it.
        while j > i && !chars[j - 1].is_ascii_digit() {
            j -= 1;
        }
        let run: String = chars[i..j].iter().collect();
        let digits = run.chars().filter(char::is_ascii_digit).count();
        if digits >= 7 {
            let compact: String = run
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect();
            out.push_str(&mask(&compact).to_string());
        } else {
            out.push_str(&run);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_inside_carrier_messages_are_masked() {
        assert_eq!(
            mask_numbers("The 'To' number +15125550147 is not a valid phone number."),
            "The 'To' number +1512***0147 is not a valid phone number."
        );
        assert_eq!(
            mask_numbers("to (512) 555-0147 failed with code 30006 after 12 tries"),
            "to 51255***0147 failed with code 30006 after 12 tries"
        );
        assert_eq!(mask_numbers("no numbers here"), "no numbers here");
    }

    #[test]
    fn accepts_e164() {
        assert_eq!(
            PhoneNumber::parse(" +15125550147 ").unwrap().as_str(),
            "+15125550147"
        );
        assert!(PhoneNumber::parse("+442071838750").is_ok());
    }

    #[test]
    fn rejects_what_cannot_be_texted() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("5125550147"), Err(PhoneError::NotE164));
        assert_eq!(
            PhoneNumber::parse("+1 512 555 0147"),
            Err(PhoneError::NotE164)
        );
        assert_eq!(PhoneNumber::parse("+1512555014"), Err(PhoneError::BadNanp));
        assert_eq!(PhoneNumber::parse("+11125550147"), Err(PhoneError::BadNanp));
        assert_eq!(PhoneNumber::parse("+15121550147"), Err(PhoneError::BadNanp));
        assert_eq!(PhoneNumber::parse("Anonymous"), Err(PhoneError::Withheld));
        assert_eq!(PhoneNumber::parse("+266696687"), Err(PhoneError::Withheld));
        assert_eq!(PhoneNumber::parse("+0123456789"), Err(PhoneError::NotE164));
        assert_eq!(
            PhoneNumber::parse("+1234567890123456"),
            Err(PhoneError::NotE164)
        );
    }

    #[test]
    fn masks_for_logs() {
        let p = PhoneNumber::parse("+15125550147").unwrap();
        assert_eq!(p.masked().to_string(), "+1512***0147");
        assert_eq!(format!("{p:?}"), "PhoneNumber(+1512***0147)");
        assert_eq!(mask("12").to_string(), "***");
    }
}
