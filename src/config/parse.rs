//! Reading `ringback.toml` into the typed [`Config`]: every key checked,
//! every mistake reported with the file, the key and a fix, all at once.
//!
//! Apart from the types (in `config/mod.rs`) so that what the rest of the
//! service reads is not buried under how it is validated.

use super::raw::{RawConfig, RawDatabase};
use super::templates::load_template;
use super::{
    Business, BusinessTemplates, Config, ConfigError, ConfigErrors, DatabaseConfig, FollowUpStep,
    Registration, RegistrationStatus, RulesFile, Sender, ServiceConfig, StepTime,
    DEFAULT_DISPOSITION_REASONS,
};
use crate::domain::template::{BUSINESS_VARS, INSTANT_VARS};
use crate::domain::{BusinessHours, PhoneNumber};
use chrono::Duration;
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::Path;

impl DatabaseConfig {
    /// Twilio gives up on a webhook after 15 s; an answer must come well
    /// before that, so a database wait is bounded by this.
    const MAX_WAIT_SECONDS: f64 = 10.0;

    fn parse(raw: Option<RawDatabase>, file: &str, errs: &mut Vec<ConfigError>) -> Self {
        let d = DatabaseConfig::default();
        let Some(raw) = raw else { return d };
        let mut seconds = |key: &str, v: Option<f64>, default: std::time::Duration| match v {
            None => default,
            Some(s) if s.is_finite() && s > 0.0 && s <= Self::MAX_WAIT_SECONDS => {
                std::time::Duration::from_secs_f64(s)
            }
            Some(s) => {
                errs.push(ConfigError::new(
                    file,
                    &format!("database.{key}"),
                    format!("{s} is out of range (more than 0, at most {} seconds)", Self::MAX_WAIT_SECONDS),
                    format!(
                        "use e.g. {} (the default); Twilio waits 15 s for a webhook answer, so a database wait must end well before that",
                        default.as_secs_f64()
                    ),
                ));
                default
            }
        };
        let acquire_timeout = seconds(
            "acquire_timeout_seconds",
            raw.acquire_timeout_seconds,
            d.acquire_timeout,
        );
        let statement_timeout = seconds(
            "statement_timeout_seconds",
            raw.statement_timeout_seconds,
            d.statement_timeout,
        );
        let max_connections = match raw.max_connections {
            None => d.max_connections,
            Some(n) if (2..=1000).contains(&n) => n,
            Some(n) => {
                errs.push(ConfigError::new(
                    file,
                    "database.max_connections",
                    format!("{n} is out of range (2 to 1000)"),
                    format!(
                        "use e.g. {} (the default); at least 2, because a webhook's transaction and the worker run at once, and all instances together must stay under PostgreSQL's own max_connections",
                        d.max_connections
                    ),
                ));
                d.max_connections
            }
        };
        DatabaseConfig {
            max_connections,
            acquire_timeout,
            statement_timeout,
        }
    }
}

impl Config {
    /// Loads and validates `path` and the templates it refers to.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(
                &file,
                "",
                format!("cannot read the config file: {e}"),
                "create it (copy ringback.toml from the repository) or point RINGBACK_CONFIG at it",
            )])
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, &file, base)
    }

    /// Parses config text; relative paths are resolved against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let mut err = ConfigError::new(
                file,
                "",
                e.message().trim().to_string(),
                "fix the TOML syntax or the key named above (see README: configuration reference)",
            );
            err.at = e.span().map(|s| super::locate::line_col(text, s.start));
            ConfigErrors(vec![err])
        })?;
        Config::check(raw, file, base).map_err(|mut errs| {
            // Each mistake in this file names its line and column (the
            // templates' own files name theirs).
            for e in errs
                .0
                .iter_mut()
                .filter(|e| e.file == file && e.at.is_none())
            {
                e.at = Some(
                    super::locate::locate(text, &e.key)
                        // Not in the file at all: where it would be added.
                        .unwrap_or_else(|| super::locate::line_col(text, text.len())),
                );
            }
            errs
        })
    }

    /// Checks every key of the parsed file.
    fn check(raw: RawConfig, file: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let mut errs = Vec::new();
        let database = DatabaseConfig::parse(raw.database, file, &mut errs);
        let http = super::HttpConfig::parse(raw.http, file, &mut errs);
        let s = raw.service.unwrap_or_default();
        let prompts_dir = base.join(s.prompts_dir.as_deref().unwrap_or("prompts"));
        let service = ServiceConfig {
            prompts_dir: prompts_dir.clone(),
            instant_text_window: Duration::hours(s.instant_text_window_hours.unwrap_or(24) as i64),
            lease: Duration::seconds(s.lease_seconds.unwrap_or(30) as i64),
            max_attempts: s.max_attempts.unwrap_or(8) as i64,
            // Sends wait on the carrier's answer (100-300 ms), so the worker
            // keeps many in flight; each sender's pace still limits a number.
            worker_concurrency: s.worker_concurrency.unwrap_or(256).max(1) as usize,
            max_body_bytes: s.max_body_bytes.unwrap_or(64 * 1024) as usize,
            send_timeout: std::time::Duration::from_millis(
                (s.send_timeout_seconds.unwrap_or(10.0) * 1000.0) as u64,
            ),
            quiet_hours: s.quiet_hours.clone(),
            intent_rules: RulesFile::default(),
            examples: None,
            daily_cap: s.daily_cap.unwrap_or(3) as i64,
            instant_any_hour: s.instant_any_hour.unwrap_or(true),
            cold_after: Duration::hours(s.cold_after_hours.unwrap_or(24).max(1) as i64),
        };
        if s.instant_text_window_hours == Some(0) {
            errs.push(ConfigError::new(
                file,
                "service.instant_text_window_hours",
                "must be at least 1",
                "use 24 (the default)",
            ));
        }
        // An in-doubt retry looks the text up (bounded by one send timeout)
        // and then sends it: both must end inside the lease, or another
        // worker takes the job over mid-send and may text the person again.
        if (service.lease.num_milliseconds().max(0) as u128)
            <= service.send_timeout.as_millis().saturating_mul(2)
        {
            errs.push(ConfigError::new(
                file,
                "service.lease_seconds",
                format!(
                    "{} s is not more than twice send_timeout_seconds ({} s): a retry that looks up an in-doubt text and then sends it could outlive its lease and be sent twice",
                    service.lease.num_seconds(),
                    service.send_timeout.as_secs_f64()
                ),
                "raise lease_seconds or lower send_timeout_seconds (defaults: 30 and 10)",
            ));
        }
        // A carrier's webhook is a few hundred bytes to a few KB (a long
        // text, a transcript): below 1 KB every one would be answered 413
        // and nothing would ever be recorded.
        if s.max_body_bytes.is_some_and(|n| n < 1024) {
            errs.push(ConfigError::new(
                file,
                "service.max_body_bytes",
                format!(
                    "{} is too small: every webhook would be refused with 413 and no call or text recorded",
                    s.max_body_bytes.unwrap_or(0)
                ),
                "use 65536 (the default); a carrier's webhook is up to a few KB",
            ));
        }
        if s.max_attempts == Some(0) {
            errs.push(ConfigError::new(
                file,
                "service.max_attempts",
                "must be at least 1",
                "use 8 (the default)",
            ));
        }

        let rules_path = prompts_dir.join(s.intent_rules.as_deref().unwrap_or("intents.rules"));
        let mut service = service;
        match std::fs::read_to_string(&rules_path) {
            Ok(text) => {
                service.intent_rules = RulesFile {
                    path: rules_path.display().to_string(),
                    text,
                }
            }
            Err(e) => errs.push(ConfigError::new(
                file,
                "service.intent_rules",
                format!("cannot read {}: {e}", rules_path.display()),
                "restore prompts/intents.rules from the repository or fix the path",
            )),
        }
        let examples_path = prompts_dir.join("examples.tsv");
        service.examples = std::fs::read_to_string(&examples_path)
            .ok()
            .map(|text| RulesFile {
                path: examples_path.display().to_string(),
                text,
            });
        let translations = std::sync::Arc::new(super::translations::Translations::load(
            &prompts_dir,
            &mut errs,
        ));
        let mut businesses = Vec::new();
        let mut by_number = HashMap::new();
        if raw.business.is_empty() {
            errs.push(ConfigError::new(
                file,
                "business",
                "no business is configured",
                "add a [[business]] table with id, name, time_zone, numbers and ring_phone",
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for (i, mut rb) in raw.business.into_iter().enumerate() {
            let key = |k: &str| format!("business[{i}].{k}");
            let carriers = super::carrier::Carriers::parse(&mut rb, file, &key, &mut errs);
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
            let mut phone = |k: &str, v: &str| phone_again(&mut errs, file, &key(k), v);
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
                        errs.push(ConfigError::new(file, &key(&format!("{k}.campaign_id")), "is required for a 10DLC number", "copy the campaign id (e.g. \"CABC123\") from your carrier's 10DLC console"));
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
                errs.push(ConfigError::new(file, &key("ring_seconds"), format!("{ring_seconds} is out of range"), "use 5 to 120 seconds, below the time the phone's own voicemail picks up (often 20-25)"));
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
            let template = |errs: &mut Vec<ConfigError>,
                            k: &str,
                            configured: &Option<String>,
                            default_file: &str| {
                let allowed = match k {
                    "instant_business_hours" | "instant_after_hours" => INSTANT_VARS,
                    _ => BUSINESS_VARS,
                };
                load_template(
                    errs,
                    file,
                    &key(&format!("templates.{k}")),
                    &prompts_dir,
                    configured.as_deref().unwrap_or(default_file),
                    allowed,
                )
            };
            let t = rb.templates.unwrap_or_default();
            let templates = BusinessTemplates::load(|k, default_file| {
                template(&mut errs, k, &t.get(k), default_file)
            });
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
                        &mut errs,
                        file,
                        &key(&format!("follow_ups[{n}].template")),
                        &prompts_dir,
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
                                errs.push(ConfigError::new(file, &format!("{k}.at"), format!("{at:?} is not a known time"), "use at = \"next_opening\" (the next business morning at opening time)"));
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
                            &mut errs,
                            file,
                            &format!("{k}.template"),
                            &prompts_dir,
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
                .and_then(|n| phone_again(&mut errs, file, &key("dispatcher_phone"), n));
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
            let escalation =
                match crate::config::escalation_templates::EscalationTemplates::load(|f| {
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
                &mut errs,
                file,
                &key,
                &prompts_dir,
                rb.on_call.is_some(),
            );
            if let (
                Some(tz),
                Some(ring_phone),
                Some(hours),
                Some(templates),
                Some(escalation),
                Some(sla),
            ) = (tz, ring_phone, hours, templates, escalation, sla)
            {
                let emergency_menu = rb.emergency_menu.unwrap_or(roster.is_some());
                businesses.push(Business {
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
        }
        if !errs.is_empty() {
            return Err(ConfigErrors(errs));
        }
        Ok(Config {
            file: file.to_string(),
            service,
            database,
            http,
            businesses,
            by_number,
        })
    }
}

/// "30m", "2h", "90s", "1d" -> a duration.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    match unit.trim() {
        "s" => Some(Duration::seconds(n)),
        "m" | "min" => Some(Duration::minutes(n)),
        "h" => Some(Duration::hours(n)),
        "d" => Some(Duration::days(n)),
        _ => None,
    }
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
