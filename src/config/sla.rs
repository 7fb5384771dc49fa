//! `[business.sla]`: who is texted when a lead waits too long, and the
//! timed follow-ups after a job and after a quote.
//!
//! ```toml
//! [business.sla]
//! remind = "manager"           # "manager", "on_call" (the roster's primary now) or "off"
//! manager_phone = "+15125550177"
//! review_after_hours = 24      # 24-48: the follow-up (with the review ask) after a job
//! review_auto_send = false     # true: sent by itself; false: a person sends it from the queue
//! review_template = "job_follow_up.txt"
//! quote_after_days = 3         # 1-30: a quote unanswered this long gets a drafted follow-up
//! quote_template = "quote_follow_up.txt"
//! ```
//!
//! Without the table nobody is reminded (there is nobody to text), and the
//! follow-ups keep their defaults.

use super::templates::load_template;
use super::ConfigError;
use crate::domain::template::{Template, BUSINESS_VARS};
use crate::domain::PhoneNumber;
use chrono::Duration;
use serde::Deserialize;
use std::path::Path;

/// Whom a late lead's reminder goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remind {
    /// Nobody: the queue's clock is all there is.
    Off,
    /// The manager's phone (`manager_phone`).
    Manager(PhoneNumber),
    /// Whoever is first in the on-call roster's chain at the time.
    OnCall,
}

/// The business's SLA reminders and timed follow-ups.
#[derive(Debug, Clone)]
pub struct Sla {
    pub remind: Remind,
    /// The manager's phone, if configured (a staff number either way).
    pub manager_phone: Option<PhoneNumber>,
    /// How long after "booked job" / "job done" the follow-up is due.
    pub review_after: Duration,
    /// Send the post-job follow-up by itself instead of offering it.
    pub review_auto_send: bool,
    pub review_template: Template,
    /// How long a quote may go unanswered before a follow-up is drafted.
    pub quote_after: Duration,
    pub quote_template: Template,
}

pub const REVIEW_AFTER_HOURS: std::ops::RangeInclusive<u32> = 24..=48;
pub const DEFAULT_REVIEW_AFTER_HOURS: u32 = 24;
pub const QUOTE_AFTER_DAYS: std::ops::RangeInclusive<u32> = 1..=30;
pub const DEFAULT_QUOTE_AFTER_DAYS: u32 = 3;

/// `[business.sla]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    pub remind: Option<String>,
    pub manager_phone: Option<String>,
    pub review_after_hours: Option<u32>,
    pub review_auto_send: Option<bool>,
    pub review_template: Option<String>,
    pub quote_after_days: Option<u32>,
    pub quote_template: Option<String>,
}

impl Sla {
    /// Validates the table (absent: defaults, nobody reminded). Every
    /// mistake is reported into `errs` with its key; `None` if any.
    pub(super) fn parse(
        raw: Option<&RawSla>,
        errs: &mut Vec<ConfigError>,
        file: &str,
        key: &dyn Fn(&str) -> String,
        prompts_dir: &Path,
        has_roster: bool,
    ) -> Option<Sla> {
        let default = RawSla::default();
        let raw = raw.unwrap_or(&default);
        let before = errs.len();
        let manager_phone = raw.manager_phone.as_deref().and_then(|v| {
            PhoneNumber::parse(v)
                .map_err(|e| {
                    errs.push(ConfigError::new(
                        file,
                        &key("sla.manager_phone"),
                        format!("{v:?}: {e}"),
                        "write numbers in E.164, e.g. \"+15125550177\"",
                    ))
                })
                .ok()
        });
        let remind = match (raw.remind.as_deref(), &manager_phone) {
            (None, Some(p)) | (Some("manager"), Some(p)) => Remind::Manager(p.clone()),
            (None, None) | (Some("off"), _) => Remind::Off,
            (Some("manager"), None) => {
                errs.push(ConfigError::new(
                    file,
                    &key("sla.remind"),
                    "is \"manager\" but no manager_phone is set",
                    "add manager_phone = \"+1...\", or remind = \"on_call\" / \"off\"",
                ));
                Remind::Off
            }
            (Some("on_call"), _) if has_roster => Remind::OnCall,
            (Some("on_call"), _) => {
                errs.push(ConfigError::new(
                    file,
                    &key("sla.remind"),
                    "is \"on_call\" but the business has no on-call roster",
                    "add a [business.on_call] table, or remind = \"manager\" with manager_phone",
                ));
                Remind::Off
            }
            (Some(other), _) => {
                errs.push(ConfigError::new(
                    file,
                    &key("sla.remind"),
                    format!("{other:?} is not who to remind"),
                    "use \"manager\", \"on_call\" or \"off\"",
                ));
                Remind::Off
            }
        };
        let hours = raw.review_after_hours.unwrap_or(DEFAULT_REVIEW_AFTER_HOURS);
        if !REVIEW_AFTER_HOURS.contains(&hours) {
            errs.push(ConfigError::new(
                file,
                &key("sla.review_after_hours"),
                format!("{hours} is outside 24-48"),
                "the day after the job, or the one after: 24 to 48",
            ));
        }
        let days = raw.quote_after_days.unwrap_or(DEFAULT_QUOTE_AFTER_DAYS);
        if !QUOTE_AFTER_DAYS.contains(&days) {
            errs.push(ConfigError::new(
                file,
                &key("sla.quote_after_days"),
                format!("{days} is outside 1-30"),
                "a number of days from 1 to 30",
            ));
        }
        let review_template = load_template(
            errs,
            file,
            &key("sla.review_template"),
            prompts_dir,
            raw.review_template
                .as_deref()
                .unwrap_or("job_follow_up.txt"),
            BUSINESS_VARS,
        );
        let quote_template = load_template(
            errs,
            file,
            &key("sla.quote_template"),
            prompts_dir,
            raw.quote_template
                .as_deref()
                .unwrap_or("quote_follow_up.txt"),
            BUSINESS_VARS,
        );
        if errs.len() > before {
            return None;
        }
        Some(Sla {
            remind,
            manager_phone,
            review_after: Duration::hours(i64::from(hours)),
            review_auto_send: raw.review_auto_send.unwrap_or(false),
            review_template: review_template?,
            quote_after: Duration::days(i64::from(days)),
            quote_template: quote_template?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigErrors};

    fn parse(sla: &str) -> Result<Config, ConfigErrors> {
        let text = format!(
            "[service]\nprompts_dir = {:?}\n[[business]]\nid = \"s\"\nname = \"Spartan\"\ntime_zone = \"America/Chicago\"\nnumbers = [\"+15125550100\"]\nring_phone = \"+15125550199\"\n{sla}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")
        );
        Config::parse(&text, "ringback.toml", Path::new("."))
    }

    #[test]
    fn without_the_table_nobody_is_reminded_and_follow_ups_keep_their_defaults() {
        let c = parse("").unwrap();
        let s = &c.businesses[0].sla;
        assert_eq!(s.remind, Remind::Off);
        assert_eq!(s.review_after, Duration::hours(24));
        assert!(!s.review_auto_send);
        assert_eq!(s.quote_after, Duration::days(3));
    }

    #[test]
    fn a_manager_phone_is_reminded_and_is_staff() {
        let c = parse("sla = { manager_phone = \"+15125550188\", quote_after_days = 5 }").unwrap();
        let b = &c.businesses[0];
        let p = PhoneNumber::parse("+15125550188").unwrap();
        assert_eq!(b.sla.remind, Remind::Manager(p.clone()));
        assert!(
            b.is_staff(&p),
            "the gate lets staff texts reach the manager"
        );
        assert_eq!(b.sla.quote_after, Duration::days(5));
    }

    #[test]
    fn every_mistake_names_its_key_and_a_fix() {
        let errs = parse(
            "sla = { remind = \"on_call\", manager_phone = \"555\", review_after_hours = 12, quote_after_days = 0, quote_template = \"nope.txt\" }",
        )
        .unwrap_err()
        .0;
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "business[0].sla.manager_phone",
            "business[0].sla.remind",
            "business[0].sla.review_after_hours",
            "business[0].sla.quote_after_days",
            "business[0].sla.quote_template",
        ] {
            assert!(keys.contains(&want), "{want} in {keys:?}");
        }
        assert!(errs.iter().all(|e| !e.fix.is_empty()));
        let e = parse("sla = { remind = \"manager\" }").unwrap_err();
        assert!(e.to_string().contains("no manager_phone"), "{e}");
        let e = parse("sla = { remind = \"boss\" }").unwrap_err();
        assert!(e.to_string().contains("\"boss\""), "{e}");
        assert!(
            parse("sla = { remnd = \"off\" }").is_err(),
            "unknown keys are refused"
        );
    }
}
