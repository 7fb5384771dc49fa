//! Reading `ringback.toml` into the typed [`Config`]: every key checked,
//! every mistake reported with the file, the key and a fix, all at once.
//!
//! Apart from the types (in `config/mod.rs`) so that what the rest of the
//! service reads is not buried under how it is validated.

use super::raw::{RawConfig, RawDatabase};
use super::{Config, ConfigError, ConfigErrors, DatabaseConfig, RulesFile, ServiceConfig};
use chrono::Duration;
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
        let shared = super::business::Shared {
            file,
            prompts_dir: &prompts_dir,
            translations: &translations,
        };
        for (i, rb) in raw.business.into_iter().enumerate() {
            if let Some(b) =
                super::business::check_business(i, rb, shared, &mut ids, &mut by_number, &mut errs)
            {
                businesses.push(b);
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
