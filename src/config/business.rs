//! Checking one `[[business]]` table: its numbers, senders, hours,
//! templates, follow-ups, roster and SLA.
//!
//! Apart from `parse.rs` (the file, `[service]` and `[database]`) because a
//! business is most of the file, and its checks need from the service part
//! only where the prompts live and the translations loaded once.

use super::raw::RawBusiness;
use super::templates::load_template;
use super::translations::Translations;
use super::{
    parse_duration, Business, BusinessTemplates, ConfigError, FollowUpStep, Registration,
    RegistrationStatus, Sender, StepTime, DEFAULT_DISPOSITION_REASONS,
};
use crate::domain::template::{BUSINESS_VARS, INSTANT_VARS};
use crate::domain::{BusinessHours, PhoneNumber};
use chrono::Duration;
use chrono_tz::Tz;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// What every business's check reads but does not own: the file being
/// read, where its templates live and the translations loaded once.
#[derive(Clone, Copy)]
pub(super) struct Shared<'a> {
    pub file: &'a str,
    pub prompts_dir: &'a Path,
    pub translations: &'a Arc<Translations>,
}

/// Checks `business[i]`, reporting every mistake into `errs`; `ids` and
/// `by_number` hold what earlier businesses claimed, so a duplicate id or
/// number is caught. `None` when the business cannot be built.
pub(super) fn check_business(
    i: usize,
    mut rb: RawBusiness,
    shared: Shared,
    ids: &mut HashSet<String>,
    by_number: &mut HashMap<String, usize>,
    errs: &mut Vec<ConfigError>,
) -> Option<Business> {
    let Shared {
        file,
        prompts_dir,
        translations,
    } = shared;
    let key = |k: &str| format!("business[{i}].{k}");
    let carriers = super::carrier::Carriers::parse(&mut rb, file, &key, errs);
    if rb.id.trim().is_empty()
        || !rb
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errs.push(ConfigError::new(
            file,
            &key("id"),
            format!("{:?} is not a valid id", rb.id),
            "use letters, digits, - and _ only, e.g. \"spartan-plumbing\"",
        ));
    }
    if !ids.insert(rb.id.clone()) {
        errs.push(ConfigError::new(
            file,
            &key("id"),
            format!("{:?} is used by two businesses", rb.id),
            "give each business its own id",
        ));
    }
    if rb.name.trim().is_empty() {
        errs.push(ConfigError::new(
            file,
            &key("name"),
            "is empty",
            "set the name customers know, e.g. \"Spartan Plumbing\"",
        ));
    }
    let tz: Option<Tz> = match rb.time_zone.parse() {
        Ok(tz) => Some(tz),
        Err(_) => {
            errs.push(ConfigError::new(
                file,
                &key("time_zone"),
                format!("{:?} is not a known time zone", rb.time_zone),
                "use an IANA name such as \"America/Chicago\"",
            ));
            None
        }
    };
    let mut phone = |k: &str, v: &str| phone_again(errs, file, &key(k), v);
    let numbers: Vec<PhoneNumber> = rb
        .numbers
        .iter()
        .filter_map(|n| phone("numbers", n))
        .collect();
    let ring_phone = phone("ring_phone", &rb.ring_phone);
    let internal: Vec<PhoneNumber> = rb
        .internal_numbers
        .iter()
        .filter_map(|n| phone("internal_numbers", n))
        .collect();
    let block: Vec<PhoneNumber> = rb
        .block_list
        .iter()
        .filter_map(|n| phone("block_list", n))
        .collect();
    let owner_phone = rb
        .owner_phone
        .as_deref()
        .and_then(|n| phone("owner_phone", n));
    let mut senders = HashMap::new();
    for (number, raw) in &rb.senders {
        let k = format!("senders.\"{number}\"");
        if !rb.numbers.contains(number) {
            errs.push(ConfigError::new(
                file,
                &key(&k),
                "is not one of this business's numbers",
                "list it under `numbers` too, or remove this entry",
            ));
        }
        let Some(status) = RegistrationStatus::parse(&raw.status) else {
            errs.push(ConfigError::new(
                file,
                &key(&format!("{k}.status")),
                format!("{:?} is not a registration status", raw.status),
                "use registered, verified, pending, rejected or unregistered",
            ));
            continue;
        };
        let registration = match (raw.registration.as_str(), &raw.campaign_id) {
            ("10dlc", Some(c)) if !c.trim().is_empty() => Registration::TenDlc {
                campaign_id: c.clone(),
            },
            ("10dlc", _) => {
                errs.push(ConfigError::new(
                    file,
                    &key(&format!("{k}.campaign_id")),
                    "is required for a 10DLC number",
                    "copy the campaign id (e.g. \"CABC123\") from your carrier's 10DLC console",
                ));
                continue;
            }
            ("toll_free", _) => {
                let tf = [
                    "+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888",
                ];
                if !tf.iter().any(|p| number.starts_with(p)) {
                    errs.push(ConfigError::new(
                        file,
                        &key(&format!("{k}.registration")),
                        "toll_free, but the number is not toll-free",
                        "use registration = \"10dlc\" for a local number",
                    ));
                }
                Registration::TollFree
            }
            ("none", _) => Registration::None,
            (other, _) => {
                errs.push(ConfigError::new(
                    file,
                    &key(&format!("{k}.registration")),
                    format!("{other:?} is not a registration type"),
                    "use \"10dlc\", \"toll_free\" or \"none\"",
                ));
                continue;
            }
        };
        let mps = raw.mps.unwrap_or(1.0);
        if !(mps > 0.0 && mps <= 100_000.0) {
            errs.push(ConfigError::new(
                file,
                &key(&format!("{k}.mps")),
                format!("{mps} is out of range"),
                "use the campaign's messages per second, e.g. 1 for a long code",
            ));
        }
        senders.insert(
            number.clone(),
            Sender {
                number: number.clone(),
                registration,
                status,
                mps,
            },
        );
    }
    if rb.numbers.is_empty() {
        errs.push(ConfigError::new(
            file,
            &key("numbers"),
            "no tracking number",
            "list the numbers callers dial, e.g. numbers = [\"+15125550100\"]",
        ));
    }
    for n in &numbers {
        if let Some(prev) = by_number.insert(n.as_str().to_string(), i) {
            if prev != i {
                errs.push(ConfigError::new(
                    file,
                    &key("numbers"),
                    format!("{n} is also owned by business[{prev}]"),
                    "a number belongs to exactly one business",
                ));
            }
        }
    }
    let ring_seconds = rb.ring_seconds.unwrap_or(20);
    if !(5..=120).contains(&ring_seconds) {
        errs.push(ConfigError::new(
            file,
            &key("ring_seconds"),
            format!("{ring_seconds} is out of range"),
            "use 5 to 120 seconds, below the time the phone's own voicemail picks up (often 20-25)",
        ));
    }
    let hours = match BusinessHours::parse(&rb.hours) {
        Ok(h) => Some(h),
        Err((day, msg)) => {
            errs.push(ConfigError::new(
                file,
                &key(&format!("hours.{day}")),
                msg,
                "write \"07:00-18:00\", \"00:00-24:00\" or \"closed\"",
            ));
            None
        }
    };
    let template =
        |errs: &mut Vec<ConfigError>, k: &str, configured: &Option<String>, default_file: &str| {
            let allowed = match k {
                "instant_business_hours" | "instant_after_hours" => INSTANT_VARS,
                _ => BUSINESS_VARS,
            };
            load_template(
                errs,
                file,
                &key(&format!("templates.{k}")),
                prompts_dir,
                configured.as_deref().unwrap_or(default_file),
                allowed,
            )
        };
    let t = rb.templates.unwrap_or_default();
    let templates =
        BusinessTemplates::load(|k, default_file| template(errs, k, &t.get(k), default_file));
    let follow_ups = match &rb.follow_ups {
        None => vec![
            (StepTime::After(Duration::minutes(30)), "follow_up_1.txt"),
            (StepTime::After(Duration::hours(2)), "follow_up_2.txt"),
            (StepTime::NextOpening, "follow_up_3.txt"),
        ]
        .into_iter()
        .enumerate()
        .filter_map(|(n, (when, f))| {
            load_template(
                errs,
                file,
                &key(&format!("follow_ups[{n}].template")),
                prompts_dir,
                f,
                BUSINESS_VARS,
            )
            .map(|template| FollowUpStep { when, template })
        })
        .collect(),
        Some(steps) => {
            let mut out = Vec::new();
            for (n, raw) in steps.iter().enumerate() {
                let k = key(&format!("follow_ups[{n}]"));
                let when = match (&raw.after, &raw.at) {
                    (Some(a), None) => match parse_duration(a) {
                        Some(d) if d >= Duration::minutes(1) => Some(StepTime::After(d)),
                        _ => {
                            errs.push(ConfigError::new(
                                file,
                                &format!("{k}.after"),
                                format!("{a:?} is not a delay of at least a minute"),
                                "write e.g. \"30m\", \"2h\" or \"1d\"",
                            ));
                            None
                        }
                    },
                    (None, Some(at)) if at == "next_opening" => Some(StepTime::NextOpening),
                    (None, Some(at)) => {
                        errs.push(ConfigError::new(
                            file,
                            &format!("{k}.at"),
                            format!("{at:?} is not a known time"),
                            "use at = \"next_opening\" (the next business morning at opening time)",
                        ));
                        None
                    }
                    _ => {
                        errs.push(ConfigError::new(
                            file,
                            &k,
                            "needs exactly one of `after` or `at`",
                            "write after = \"30m\" or at = \"next_opening\"",
                        ));
                        None
                    }
                };
                let template = load_template(
                    errs,
                    file,
                    &format!("{k}.template"),
                    prompts_dir,
                    &raw.template,
                    BUSINESS_VARS,
                );
                if let (Some(when), Some(template)) = (when, template) {
                    out.push(FollowUpStep { when, template });
                }
            }
            let mut last = Duration::zero();
            for (n, step) in out.iter().enumerate() {
                if let StepTime::After(d) = step.when {
                    if d <= last {
                        errs.push(ConfigError::new(
                            file,
                            &key(&format!("follow_ups[{n}].after")),
                            "is not later than the step before it",
                            "list the steps in the order they happen",
                        ));
                    }
                    last = d;
                }
            }
            out
        }
    };
    let disposition_reasons = rb.disposition_reasons.clone().unwrap_or_else(|| {
        DEFAULT_DISPOSITION_REASONS
            .iter()
            .map(|r| r.to_string())
            .collect()
    });
    let dispatcher_phone = rb
        .dispatcher_phone
        .as_deref()
        .and_then(|n| phone_again(errs, file, &key("dispatcher_phone"), n));
    for n in rb.sources.keys() {
        if !rb.numbers.contains(n) {
            errs.push(ConfigError::new(
                file,
                &key(&format!("sources.\"{n}\"")),
                "is not one of this business's numbers",
                "label only numbers listed under `numbers`",
            ));
        }
    }
    let roster = match (&rb.on_call, tz) {
        (Some(raw), Some(tz)) => {
            match crate::config::roster::Roster::parse(raw, file, &key("on_call"), tz) {
                Ok(r) => Some(r),
                Err(e) => {
                    errs.extend(e);
                    None
                }
            }
        }
        _ => None,
    };
    let escalation = match crate::config::escalation_templates::EscalationTemplates::load(|f| {
        let path = prompts_dir.join(f);
        std::fs::read_to_string(&path)
            .ok()
            .map(|t| (path.display().to_string(), t))
    }) {
        Ok(t) => Some(std::sync::Arc::new(t)),
        Err(es) => {
            for e in es {
                errs.push(ConfigError::new(
                    &format!("{}:{}", e.file, e.line),
                    &key("templates"),
                    e.message,
                    "edit the template",
                ));
            }
            None
        }
    };
    if rb.emergency_menu == Some(true) && rb.on_call.is_none() {
        errs.push(ConfigError::new(
            file,
            &key("emergency_menu"),
            "needs an on-call roster to connect emergencies to",
            "add a [business.on_call] table, or set emergency_menu = false",
        ));
    }
    let sla = super::sla::Sla::parse(
        rb.sla.as_ref(),
        errs,
        file,
        &key,
        prompts_dir,
        rb.on_call.is_some(),
    );
    if let (Some(tz), Some(ring_phone), Some(hours), Some(templates), Some(escalation), Some(sla)) =
        (tz, ring_phone, hours, templates, escalation, sla)
    {
        let emergency_menu = rb.emergency_menu.unwrap_or(roster.is_some());
        return Some(Business {
            id: rb.id,
            name: rb.name,
            time_zone: tz,
            numbers,
            ring_phone,
            ring_seconds,
            call_screening: rb.call_screening.unwrap_or(false),
            internal_numbers: internal,
            block_list: block,
            hours,
            templates,
            senders,
            owner_phone,
            dispatcher_phone,
            booking_link: rb.booking_link.unwrap_or_else(|| {
                "Reply with a day and time that works for you and we'll confirm.".into()
            }),
            service_fee: rb.service_fee.unwrap_or_else(|| {
                "A tech will look at the job and give you a price before any work starts.".into()
            }),
            sources: rb.sources.into_iter().collect(),
            follow_ups,
            disposition_reasons,
            roster,
            emergency_menu,
            escalation,
            translations: translations.clone(),
            carriers,
            sla,
        });
    }
    None
}

/// Parses a phone number for `key`, reporting a mistake into `errs`.
fn phone_again(errs: &mut Vec<ConfigError>, file: &str, key: &str, v: &str) -> Option<PhoneNumber> {
    match PhoneNumber::parse(v) {
        Ok(p) => Some(p),
        Err(e) => {
            errs.push(ConfigError::new(
                file,
                key,
                format!("{v:?}: {e}"),
                "write numbers in E.164, e.g. \"+15125550100\"",
            ));
            None
        }
    }
}
