//! Reading customers' replies. (Carrier keywords for now; the rule-based
//! intent classifier lands next.)

/// The carrier-style keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Stop,
    Start,
    Help,
}

/// Uppercases and drops everything but letters and digits: `" Stop!!! 🛑 "`
/// becomes `"STOP"`.
pub fn normalize_keyword(message: &str) -> String {
    message.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect()
}

/// Whole-message keyword match.
pub fn keyword(message: &str) -> Option<Keyword> {
    match normalize_keyword(message).as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE" | "OPTOUT" | "ALTO" | "PARAR" | "BASTA" => Some(Keyword::Stop),
        "START" | "UNSTOP" => Some(Keyword::Start),
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}
