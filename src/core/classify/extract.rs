//! Rule-based extraction of callback details from a customer's free text:
//! where (street address, town, ZIP), what (job types), how urgent, when
//! (time phrases) and which number to call back.
//!
//! Everything is best effort and pattern based. Patterns are compiled once
//! (see [`Patterns`]) and shared by every call to [`extract`].

use regex::{Regex, RegexSet};
use std::sync::OnceLock;

/// How soon the customer needs someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Urgency {
    /// A hazard or an explicit emergency.
    Emergency,
    /// Today, ASAP, right away.
    Today,
    /// Tomorrow, this week, a named weekday.
    Soon,
    /// No rush, next week, whenever.
    NotUrgent,
}

impl Urgency {
    /// How a dispatcher reads it.
    pub fn label(self) -> &'static str {
        match self {
            Urgency::Emergency => "EMERGENCY",
            Urgency::Today => "today",
            Urgency::Soon => "soon (this week)",
            Urgency::NotUrgent => "not urgent",
        }
    }

    /// Higher is more urgent.
    fn rank(self) -> u8 {
        match self {
            Urgency::Emergency => 3,
            Urgency::Today => 2,
            Urgency::Soon => 1,
            Urgency::NotUrgent => 0,
        }
    }
}

/// Details found in one or more messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// A 5-digit ZIP code (ZIP+4 is reduced to 5 digits).
    pub zip: Option<String>,
    /// House number, street and unit, e.g. `88 Orchard St Apt 2`.
    pub street_address: Option<String>,
    /// A place name after "in"/"near"/"service", e.g. `Overland Park`.
    pub town: Option<String>,
    /// Canonical job types, most specific first, without duplicates.
    pub job_types: Vec<String>,
    /// How soon they need someone.
    pub urgency: Option<Urgency>,
    /// Time phrases as written, e.g. `tomorrow after 3`, `Friday 10-12`.
    pub time_phrases: Vec<String>,
    /// A phone number written in the text, E.164 (`+1XXXXXXXXXX` for NANP).
    pub callback_number: Option<String>,
}

impl Extracted {
    /// Combines a later message into this one: fields already known are
    /// kept, missing ones are filled, lists are unioned. Urgency is the more
    /// urgent of the two, so "actually it's flooding now" escalates while a
    /// later "no rush" never hides an earlier emergency.
    pub fn merge(&mut self, other: Extracted) {
        self.zip = self.zip.take().or(other.zip);
        self.street_address = self.street_address.take().or(other.street_address);
        self.town = self.town.take().or(other.town);
        self.callback_number = self.callback_number.take().or(other.callback_number);
        self.urgency = match (self.urgency, other.urgency) {
            (Some(a), Some(b)) => Some(if b.rank() > a.rank() { b } else { a }),
            (a, b) => a.or(b),
        };
        for job in other.job_types {
            if !self.job_types.contains(&job) {
                self.job_types.push(job);
            }
        }
        for time in other.time_phrases {
            if !self
                .time_phrases
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&time))
            {
                self.time_phrases.push(time);
            }
        }
    }

    /// What we still need to ask for, in asking order: any of `"problem"`,
    /// `"address"`, `"urgency"`, `"best_time"`.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.job_types.is_empty() {
            missing.push("problem");
        }
        if self.street_address.is_none() {
            missing.push("address");
        }
        if self.urgency.is_none() {
            missing.push("urgency");
        }
        if self.time_phrases.is_empty() && self.urgency != Some(Urgency::Emergency) {
            missing.push("best_time");
        }
        missing
    }
}

/// Canonical job types and the (case-insensitive) patterns that signal them,
/// in the order they are reported.
const JOB_TYPES: [(&str, &str); 22] = [
    (
        "gas",
        r"\bgas (leak|smell|line|odor)|smell(s|ed|ing)? (\w+ ){0,2}gas\b|huele a gas",
    ),
    (
        "no heat",
        r"\bno heat\b|heat (won't|isn't|is not|doesn't)|furnace (died|is out|went out|quit|not working|isn't working)|heater went out|not heating|no calienta",
    ),
    (
        "no cooling",
        r"\bno (ac|a/c|air)\b|(ac|a/c|air conditioner|air conditioning|unit)( is)? (not|isn't|won't|doesn't) cool|not cooling|blowing (warm|hot)|(ac|a/c) (is out|went out|died|quit)",
    ),
    (
        "flooding",
        r"\bflood(ing|ed)?\b|\bburst\b|water (is )?(pouring|gushing|spraying|everywhere)|se revent",
    ),
    ("sewer", r"\bsew(er|age)\b|main line"),
    ("leak", r"\bleak(s|ing|y)?\b|\bdrip(s|ping)?\b|gotea"),
    (
        "clog",
        r"\bclog(s|ged|ging)?\b|backed up|backing up|\bsnake\b|se tap[oó]",
    ),
    ("drain", r"\bdrains?\b|draining"),
    (
        "water heater",
        r"water heater|hot water|tankless|calentador",
    ),
    (
        "furnace",
        r"\bfurnace\b|heat pump|\bboiler\b|^heater\b|[^r] heater\b",
    ),
    (
        "ac",
        r"\bac\b|\ba/c\b|air condition|condenser|heat pump|mini.?split|\baire\b",
    ),
    ("thermostat", r"thermostat"),
    ("ductwork", r"\bducts?(work)?\b|\bvents?\b"),
    ("toilet", r"\btoilets?\b|\binodoro\b|\bba[nñ]o\b"),
    ("faucet", r"\bfaucets?\b|\bsink\b"),
    ("garbage disposal", r"disposal"),
    ("sump pump", r"sump pump"),
    (
        "electrical",
        r"\boutlets?\b|\bbreakers?\b|\bpanel\b|\bwir(es?|ing)\b|light switch|\bswitch\b|electric|\bgfci\b|light fixture|recessed light|ceiling fan|sparks?\b|\bamps?\b",
    ),
    ("roof", r"\broof(s|ing|er)?\b|shingles|\bhail\b|gutters?"),
    (
        "garage door",
        r"garage door|door opener|\bopener\b|garage spring",
    ),
    (
        "appliance",
        r"dishwasher|\bwasher\b|\bdryer\b|fridge|refrigerator|ice maker|\boven\b|\bstove\b",
    ),
    ("inspection", r"inspection|tune.?up|maintenance|check.?up"),
];

const DAY: &str = r"(?:today|tonight|tomorrow|ma[nñ]ana|this (?:morning|afternoon|evening|week|weekend)|next (?:week|month|mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)|(?:mon|tues|wednes|thurs|fri|satur|sun)day|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|weekend)";
const TIME: &str = r"(?:noon|midnight|\d{1,2}(?::\d\d)?(?: ?[ap]\.?m\.?)?)";

/// Compiled patterns, built once on first use.
struct Patterns {
    jobs: RegexSet,
    time: Regex,
    phone: Regex,
    intl_phone: Regex,
    address: Regex,
    zip: Regex,
    town: Regex,
    not_urgent: Regex,
    emergency: Regex,
    negation: Regex,
    today: Regex,
    soon: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = |s: &str| Regex::new(&format!("(?i){s}")).expect("built-in pattern");
        Patterns {
            jobs: RegexSet::new(JOB_TYPES.iter().map(|(_, p)| format!("(?i){p}"))).expect("built-in job patterns"),
            time: re(&format!(
                r"\b(?:{DAY}(?: (?:morning|afternoon|evening|night))?(?:,? (?:at|after|before|around|by|from|between) {TIME}(?: ?(?:-|to|and) ?{TIME})?| {TIME} ?(?:-|to) ?{TIME})?|(?:after|before|around|by|between|from) {TIME}(?: ?(?:-|to|and) ?{TIME})?|\d{{1,2}}(?::\d\d)? ?(?:-|to) ?\d{{1,2}}(?::\d\d)?(?: ?[ap]m)?|\d{{1,2}}(?::\d\d)? ?[ap]\.?m\.?|(?:first thing in the |in the )?(?:morning|afternoon|evening)s?|end of (?:the )?day|next week)\b"
            )),
            phone: re(r"(?:\+?1[\s.-]?)?\(?\b([2-9]\d{2})\)?[\s.-]?([2-9]\d{2})[\s.-]?(\d{4})\b"),
            intl_phone: re(r"\+(\d[\d\s.-]{7,16}\d)"),
            address: re(r"\b\d{1,6}(?: [NSEW]\.?)? (?:[A-Za-z][A-Za-z'.-]* ){1,3}(?:St|Street|Ave|Avenue|Rd|Road|Ln|Lane|Dr|Drive|Ct|Court|Blvd|Boulevard|Way|Pl|Place|Cir|Circle|Ter|Terrace|Pkwy|Parkway|Hwy|Highway|Trl|Trail|Loop|Row|Sq|Square)\b\.?(?:,? (?:Apt|Apartment|Unit|Suite|Ste|#) ?#?[A-Za-z0-9-]+)?"),
            zip: re(r"\b(\d{5})(?:-\d{4})?\b"),
            town: Regex::new(r"\b(?:[Ii]n|[Nn]ear|[Ss]ervice|[Ss]erve|[Oo]ut in|[Oo]ver in|[Ll]ive in)\s+((?:[A-Z][a-z]+)(?:\s+[A-Z][a-z]+){0,2})").expect("built-in pattern"),
            not_urgent: re(r"\b(not urgent|no rush|no hurry|not an emergency|not a big deal|whenever|no emergency|nothing urgent|not in a hurry|when you get a chance|at your convenience|before summer|before winter)\b"),
            emergency: re(r"\b(emergency|emergancy|urgent|asap|right now|right away|immediately|hurry|flood\w*|burst|pouring|gushing|spraying|gas leak|smells? (like |of )?gas|gas smell|smoke|smoking|sparks?|sparking|fire|burning|carbon monoxide|co (alarm|detector)|sewage|backing up|live wires?|exposed wires?|huele a gas)\b"),
            negation: re(r"\b(no|not|never|without|don't|dont|isn't|nothing)\b"),
            today: re(r"\b(today|tonight|this (morning|afternoon|evening)|2day|as soon as possible|same day|hoy)\b"),
            soon: re(r"\b(tomorrow|tmrw|ma[nñ]ana|this week|this weekend|soon|(mon|tues|wednes|thurs|fri|satur|sun)day|next few days)\b"),
        }
    })
}

/// Words that look like a town after "in" but are not.
const NOT_TOWNS: [&str; 24] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "The",
    "My",
    "Our",
    "I",
    "Spanish",
];

/// Pulls callback details out of one message.
pub fn extract(message: &str) -> Extracted {
    let p = patterns();
    let callback_number = phone_number(message);
    let street_address = p
        .address
        .find(message)
        .map(|m| m.as_str().trim_end_matches('.').to_string());

    // ZIP: a 5-digit number that is not a house number or part of a phone number.
    let zip = p
        .zip
        .captures_iter(message)
        .filter(|c| {
            let m = c.get(0).expect("whole match");
            let in_address = p
                .address
                .find_iter(message)
                .any(|a| a.start() <= m.start() && m.end() <= a.end());
            let in_phone = p
                .phone
                .find_iter(message)
                .any(|a| a.start() < m.end() && m.start() < a.end());
            !in_address && !in_phone
        })
        .map(|c| c[1].to_string())
        .next();

    let town = p
        .town
        .captures_iter(message)
        .map(|c| c[1].to_string())
        .find(|t| !NOT_TOWNS.contains(&t.split(' ').next().unwrap_or_default()));

    let lower = message.to_lowercase();
    let job_types = p
        .jobs
        .matches(&lower)
        .iter()
        .map(|i| JOB_TYPES[i].0.to_string())
        .collect();

    let mut time_phrases: Vec<String> = Vec::new();
    for m in p.time.find_iter(message) {
        // Skip numbers that belong to a phone number or address.
        let inside = |re: &Regex| {
            re.find_iter(message)
                .any(|a| a.start() <= m.start() && m.end() <= a.end())
        };
        if inside(&p.phone) || inside(&p.address) {
            continue;
        }
        let phrase = m.as_str().trim().to_string();
        if !time_phrases.iter().any(|t| t.eq_ignore_ascii_case(&phrase)) {
            time_phrases.push(phrase);
        }
    }

    Extracted {
        zip,
        street_address,
        town,
        job_types,
        urgency: urgency(&lower),
        time_phrases,
        callback_number,
    }
}

/// Urgency from the lowercased message: explicit "no rush" wins, then
/// un-negated hazard or emergency words, then today, then soon.
fn urgency(lower: &str) -> Option<Urgency> {
    let p = patterns();
    if p.not_urgent.is_match(lower) {
        return Some(Urgency::NotUrgent);
    }
    let emergency = p.emergency.find_iter(lower).any(|m| {
        // "no smoke", "not backing up": a negation among the two words before.
        let before = &lower[..m.start()];
        let window: Vec<&str> = before.split_whitespace().rev().take(2).collect();
        !window.iter().any(|w| p.negation.is_match(w))
            || before.trim_end().ends_with([',', '.', '!'])
    });
    if emergency {
        Some(Urgency::Emergency)
    } else if p.today.is_match(lower) {
        Some(Urgency::Today)
    } else if p.soon.is_match(lower) {
        Some(Urgency::Soon)
    } else if lower.contains("next week") || lower.contains("next month") {
        Some(Urgency::NotUrgent)
    } else {
        None
    }
}

/// The first phone number in the text, normalised to E.164.
fn phone_number(message: &str) -> Option<String> {
    let p = patterns();
    if let Some(c) = p.phone.captures(message) {
        return Some(format!("+1{}{}{}", &c[1], &c[2], &c[3]));
    }
    p.intl_phone.captures(message).and_then(|c| {
        let digits: String = c[1].chars().filter(char::is_ascii_digit).collect();
        (8..=15)
            .contains(&digits.len())
            .then(|| format!("+{digits}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emergency_with_address_and_number() {
        let e = extract(
            "This is Linda Patterson at 1423 Birchwood Ln. Water line burst in the crawlspace, \
             water pouring out, please send someone. My number is 615-555-0193",
        );
        assert_eq!(e.street_address.as_deref(), Some("1423 Birchwood Ln"));
        assert_eq!(e.callback_number.as_deref(), Some("+16155550193"));
        assert_eq!(e.urgency, Some(Urgency::Emergency));
        assert!(
            e.job_types.contains(&"flooding".to_string()),
            "{:?}",
            e.job_types
        );
        assert_eq!(e.zip, None);
        assert!(e.time_phrases.is_empty(), "{:?}", e.time_phrases);
        assert_eq!(e.missing(), Vec::<&str>::new());
    }

    #[test]
    fn apartment_and_leak() {
        let e = extract(
            "I'm a tenant at 88 Orchard St Apt 2. The unit above is leaking through my ceiling",
        );
        assert_eq!(e.street_address.as_deref(), Some("88 Orchard St Apt 2"));
        assert!(e.job_types.contains(&"leak".to_string()));
    }

    #[test]
    fn town_zip_and_jobs() {
        let e = extract(
            "Getting quotes to replace our furnace and AC, 2400 sq ft ranch in Overland Park 66212",
        );
        assert_eq!(e.town.as_deref(), Some("Overland Park"));
        assert_eq!(e.zip.as_deref(), Some("66212"));
        assert_eq!(e.job_types, ["furnace", "ac"]);
        let e = extract("Do you service Maple Grove?");
        assert_eq!(e.town.as_deref(), Some("Maple Grove"));
        assert_eq!(
            extract("The water heater you installed in March").town,
            None
        );
    }

    #[test]
    fn time_phrases() {
        let cases: [(&str, &[&str]); 7] = [
            ("tomorrow after 3 works", &["tomorrow after 3"]),
            (
                "Monday morning is best, anytime before noon",
                &["Monday morning", "before noon"],
            ),
            ("Friday 10-12 window works", &["Friday 10-12"]),
            ("anytime after 5 works", &["after 5"]),
            ("any day next week works", &["next week"]),
            ("Does 8am work? I have to leave by 10", &["8am", "by 10"]),
            ("call me at 480-555-0112 about 1423 Birchwood Ln", &[]),
        ];
        for (message, want) in cases {
            assert_eq!(extract(message).time_phrases, want, "{message}");
        }
    }

    #[test]
    fn urgency_levels() {
        let cases = [
            ("GAS LEAK!!! call me now", Some(Urgency::Emergency)),
            ("No smoke, no sparks, outlet is dead", None),
            ("not urgent, the faucet drips", Some(Urgency::NotUrgent)),
            (
                "Not an emergency but the water heater drips",
                Some(Urgency::NotUrgent),
            ),
            ("can u send sum1 out 2day", Some(Urgency::Today)),
            ("can someone come tomorrow", Some(Urgency::Soon)),
            ("any day next week works", Some(Urgency::NotUrgent)),
        ];
        for (message, want) in cases {
            assert_eq!(extract(message).urgency, want, "{message}");
        }
    }

    #[test]
    fn job_types_are_canonical() {
        let cases: [(&str, &[&str]); 5] = [
            ("AC is blowing warm air", &["no cooling", "ac"]),
            (
                "toilet keeps clogging, need someone to snake it",
                &["clog", "toilet"],
            ),
            ("garage door opener stopped working", &["garage door"]),
            (
                "I smell gas near the water heater",
                &["gas", "water heater"],
            ),
            ("breaker keeps tripping", &["electrical"]),
        ];
        for (message, want) in cases {
            assert_eq!(extract(message).job_types, want, "{message}");
        }
    }

    #[test]
    fn phone_numbers() {
        let cases = [
            ("my cell is (303) 555-0178", Some("+13035550178")),
            ("call 1-210-555-0166", Some("+12105550166")),
            ("text +1 480.555.0112", Some("+14805550112")),
            ("my UK number is +44 20 7946 0958", Some("+442079460958")),
            ("gate code is 4471", None),
        ];
        for (message, want) in cases {
            assert_eq!(
                extract(message).callback_number.as_deref(),
                want,
                "{message}"
            );
        }
    }

    #[test]
    fn merge_fills_gaps_without_erasing() {
        let mut first = extract("Water heater is leaking, not urgent. 3319 Creekview Dr");
        first.merge(extract(
            "Actually I'm at 12 Elm St. Tomorrow after 3 works. 615-555-0193",
        ));
        assert_eq!(first.street_address.as_deref(), Some("3319 Creekview Dr"));
        assert_eq!(first.time_phrases, ["Tomorrow after 3"]);
        assert_eq!(first.callback_number.as_deref(), Some("+16155550193"));
        // "tomorrow" is more urgent than the earlier "not urgent".
        assert_eq!(first.urgency, Some(Urgency::Soon));
        first.merge(extract("now it's flooding!"));
        assert_eq!(first.urgency, Some(Urgency::Emergency));
        assert!(first
            .job_types
            .starts_with(&["leak".to_string(), "water heater".to_string()]));
        assert!(first.job_types.contains(&"flooding".to_string()));
    }

    #[test]
    fn missing_lists_what_to_ask() {
        assert_eq!(
            extract("hi").missing(),
            ["problem", "address", "urgency", "best_time"]
        );
        let e = extract("furnace is squealing, 500 Elm Ct, can someone come Monday morning?");
        assert_eq!(e.missing(), Vec::<&str>::new());
    }
}
