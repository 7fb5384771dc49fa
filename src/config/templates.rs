//! A business's message templates: which file the owner named for each
//! (or the default `prompts/<key>.txt`), read and checked against the
//! placeholders that text is rendered with.
//!
//! Apart from the rest of the parsing because it reads `prompts/`, not
//! `ringback.toml`, and has its own errors (a template's file and line).

use super::{BusinessTemplates, ConfigError};
use crate::domain::template::{Template, TemplateError};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTemplates {
    instant_business_hours: Option<String>,
    instant_after_hours: Option<String>,
    voicemail_greeting: Option<String>,
    after_hours_greeting: Option<String>,
    screen_prompt: Option<String>,
    opt_out_confirmation: Option<String>,
    opt_in_confirmation: Option<String>,
    help_reply: Option<String>,
    booking_reply: Option<String>,
    pricing_reply: Option<String>,
    acknowledgement: Option<String>,
    question_details: Option<String>,
    question_timing: Option<String>,
}

impl RawTemplates {
    /// The file configured for template `key`, if any.
    pub(super) fn get(&self, key: &str) -> Option<String> {
        match key {
            "instant_business_hours" => self.instant_business_hours.clone(),
            "instant_after_hours" => self.instant_after_hours.clone(),
            "voicemail_greeting" => self.voicemail_greeting.clone(),
            "after_hours_greeting" => self.after_hours_greeting.clone(),
            "screen_prompt" => self.screen_prompt.clone(),
            "opt_out_confirmation" => self.opt_out_confirmation.clone(),
            "opt_in_confirmation" => self.opt_in_confirmation.clone(),
            "help_reply" => self.help_reply.clone(),
            "booking_reply" => self.booking_reply.clone(),
            "pricing_reply" => self.pricing_reply.clone(),
            "acknowledgement" => self.acknowledgement.clone(),
            "question_details" => self.question_details.clone(),
            "question_timing" => self.question_timing.clone(),
            _ => None,
        }
    }
}

impl BusinessTemplates {
    /// Loads every template through `load(key, default file)`; `None` if
    /// any failed (each failure was reported by `load`).
    pub(super) fn load(
        mut load: impl FnMut(&str, &str) -> Option<Template>,
    ) -> Option<BusinessTemplates> {
        let mut get = |k: &str| load(k, &format!("{k}.txt"));
        // Load all first so every broken template is reported, not just the first.
        let all = [
            get("instant_business_hours"),
            get("instant_after_hours"),
            get("voicemail_greeting"),
            get("after_hours_greeting"),
            get("screen_prompt"),
            get("opt_out_confirmation"),
            get("opt_in_confirmation"),
            get("help_reply"),
            get("booking_reply"),
            get("pricing_reply"),
            get("acknowledgement"),
            get("question_details"),
            get("question_timing"),
        ];
        let [a, b, c, d, e, f, g, h, i, j, k, l, m] = all;
        Some(BusinessTemplates {
            instant_business_hours: a?,
            instant_after_hours: b?,
            voicemail_greeting: c?,
            after_hours_greeting: d?,
            screen_prompt: e?,
            opt_out_confirmation: f?,
            opt_in_confirmation: g?,
            help_reply: h?,
            booking_reply: i?,
            pricing_reply: j?,
            acknowledgement: k?,
            question_details: l?,
            question_timing: m?,
        })
    }
}

/// Reads and parses the template `rel` (relative to `prompts_dir`),
/// reporting a mistake for `key` into `errs`.
pub(super) fn load_template(
    errs: &mut Vec<ConfigError>,
    file: &str,
    key: &str,
    prompts_dir: &Path,
    rel: &str,
    allowed: &[&str],
) -> Option<Template> {
    let path = prompts_dir.join(rel);
    let shown = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(t) => match Template::parse_for(&t, &shown, allowed).and_then(|t| {
            t.check_placeholders(allowed)?;
            Ok(t)
        }) {
            Ok(t) => Some(t),
            Err(TemplateError {
                file: f,
                line,
                message,
            }) => {
                errs.push(ConfigError::new(
                    &format!("{f}:{line}"),
                    key,
                    message,
                    "edit the template",
                ));
                None
            }
        },
        Err(e) => {
            errs.push(ConfigError::new(
                file,
                key,
                format!("cannot read {shown}: {e}"),
                "create the file or fix the path (relative to service.prompts_dir)",
            ));
            None
        }
    }
}
