//! The policy the core decides by: what is compiled from the owner's config
//! (the intent rules, the quiet-hours table) and checked before anything
//! runs. Built once at start-up and by `ringback check-config`, which both
//! refuse a config whose rules or templates cannot work.

use crate::config::{Business, Config, ConfigError, ConfigErrors};
use crate::core::classify::Classifier;
use crate::core::compliance::{lint, quiet::QuietHours, Rules};

/// The compiled, checked policy of one config.
#[derive(Debug)]
pub struct Policy {
    /// The owner's intent rules (`prompts/intents.rules`), compiled.
    pub classifier: Classifier,
    /// The compliance gate's rules (quiet hours, the daily cap...).
    pub rules: Rules,
    /// Things worth fixing that do not stop the service: template lint,
    /// on-call gaps.
    pub warnings: Vec<String>,
}

impl Policy {
    /// Compiles and checks `config`: every error at once, each naming its
    /// file, line or key, and the fix.
    pub fn new(config: &Config) -> Result<Policy, ConfigErrors> {
        let mut errs = Vec::new();
        let s = &config.service;
        let classifier = match Classifier::from_rules(&s.intent_rules.text, &s.intent_rules.path) {
            Ok(c) => Some(c),
            Err(e) => {
                errs.push(ConfigError::new(
                    &format!("{}:{}", e.file, e.line),
                    "service.intent_rules",
                    e.message.clone(),
                    "fix that line of the rules file (its header explains the format), then run `ringback check-config`",
                ));
                None
            }
        };
        // An edit to the rules must still read the owner's own examples as
        // they are labelled.
        if let (Some(c), Some(examples)) = (&classifier, &s.examples) {
            for m in crate::core::classify::eval::check_examples(c, &examples.text, &examples.path)
            {
                errs.push(ConfigError::new(
                    &format!("{}:{}", m.file, m.line),
                    "prompts/examples.tsv",
                    format!(
                        "the intent rules read {:?} as {}, the example says {}",
                        m.message, m.got, m.expected
                    ),
                    "fix the rules (or the example's label), then run `ringback check-config`",
                ));
            }
        }
        let quiet_hours = match QuietHours::from_config(&s.quiet_hours) {
            Ok(q) => q,
            Err(e) => {
                errs.push(ConfigError::new(
                    &config.file,
                    "service.quiet_hours",
                    e,
                    "write e.g. quiet_hours = { default = \"08:00-21:00\", FL = \"08:00-20:00\" }",
                ));
                QuietHours::us_defaults()
            }
        };
        let mut warnings = Vec::new();
        for b in &config.businesses {
            warnings.extend(on_call_gaps(b));
            warnings.extend(nothing_can_send(b));
            for f in lint::lint_business(b) {
                match f.severity {
                    lint::Severity::Error => errs.push(ConfigError::new(
                        &f.file,
                        &format!("business \"{}\"", b.id),
                        f.message,
                        f.fix,
                    )),
                    lint::Severity::Warning => {
                        warnings.push(format!("{}: {} (fix: {})", f.file, f.message, f.fix))
                    }
                }
            }
        }
        match classifier {
            Some(classifier) if errs.is_empty() => Ok(Policy {
                classifier,
                rules: Rules {
                    quiet_hours,
                    daily_cap: s.daily_cap,
                    instant_any_hour: s.instant_any_hour,
                },
                warnings,
            }),
            _ => Err(ConfigErrors(errs)),
        }
    }
}

/// A business none of whose numbers may send (all pending, rejected or not
/// registered): calls are recorded, but no caller is ever texted back, no
/// reply answered, no tech paged by text. Not an error (a number awaiting
/// its 10DLC approval is a normal first week), but said loudly, at every
/// start and by `check-config`, with each number's state.
fn nothing_can_send(b: &Business) -> Option<String> {
    if b.numbers
        .iter()
        .any(|n| b.sender(n.as_str()).is_some_and(|s| s.may_send()))
    {
        return None;
    }
    let states: Vec<String> = b
        .numbers
        .iter()
        .map(|n| match b.sender(n.as_str()) {
            Some(s) => format!("{n} is {}", s.status.as_str()),
            None => format!("{n} has no `senders` entry"),
        })
        .collect();
    Some(format!(
        "NOTHING CAN BE SENT for business \"{}\": {}; until a number is registered (10DLC) or verified (toll-free), missed calls are recorded but no caller is texted back (fix: when the carrier approves it, set status = \"registered\" in its `senders` entry)",
        b.id,
        states.join(", ")
    ))
}

/// Stretches of the week nobody is on call: the owner alone is paged then.
fn on_call_gaps(b: &Business) -> Vec<String> {
    let Some(r) = &b.roster else {
        return Vec::new();
    };
    r.coverage_gaps()
        .into_iter()
        .map(|gap| {
            format!(
                "business \"{}\" on_call: nobody is on call {gap}; the owner alone is paged then (fix: add a rotation covering it)",
                b.id
            )
        })
        .collect()
}
