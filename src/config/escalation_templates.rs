//! The escalation templates of a business: pages, safety texts, the
//! after-hours menu. Loaded (and their placeholders checked) with the rest of
//! the config; rendered by [`crate::core::escalation`].

use crate::domain::template::{Template, TemplateError};

/// Every escalation template: key, file in `prompts/`, shipped default.
pub const TEMPLATE_FILES: [(&str, &str, &str); 18] = [
    (
        "page_sms",
        "page_sms.txt",
        include_str!("../../prompts/page_sms.txt"),
    ),
    (
        "page_call",
        "page_call.txt",
        include_str!("../../prompts/page_call.txt"),
    ),
    (
        "page_taken",
        "page_taken.txt",
        include_str!("../../prompts/page_taken.txt"),
    ),
    (
        "tech_accepted",
        "tech_accepted.txt",
        include_str!("../../prompts/tech_accepted.txt"),
    ),
    (
        "emergency_unanswered",
        "emergency_unanswered.txt",
        include_str!("../../prompts/emergency_unanswered.txt"),
    ),
    (
        "page_accepted",
        "page_accepted.txt",
        include_str!("../../prompts/page_accepted.txt"),
    ),
    (
        "emergency_menu",
        "emergency_menu.txt",
        include_str!("../../prompts/emergency_menu.txt"),
    ),
    (
        "emergency_connecting",
        "emergency_connecting.txt",
        include_str!("../../prompts/emergency_connecting.txt"),
    ),
    (
        "emergency_no_answer",
        "emergency_no_answer.txt",
        include_str!("../../prompts/emergency_no_answer.txt"),
    ),
    (
        "safety_gas",
        "safety_gas.txt",
        include_str!("../../prompts/safety_gas.txt"),
    ),
    (
        "safety_carbon_monoxide",
        "safety_carbon_monoxide.txt",
        include_str!("../../prompts/safety_carbon_monoxide.txt"),
    ),
    (
        "safety_fire",
        "safety_fire.txt",
        include_str!("../../prompts/safety_fire.txt"),
    ),
    (
        "safety_electrical",
        "safety_electrical.txt",
        include_str!("../../prompts/safety_electrical.txt"),
    ),
    (
        "safety_flooding",
        "safety_flooding.txt",
        include_str!("../../prompts/safety_flooding.txt"),
    ),
    (
        "safety_sewage",
        "safety_sewage.txt",
        include_str!("../../prompts/safety_sewage.txt"),
    ),
    (
        "safety_no_heat",
        "safety_no_heat.txt",
        include_str!("../../prompts/safety_no_heat.txt"),
    ),
    (
        "safety_no_cooling",
        "safety_no_cooling.txt",
        include_str!("../../prompts/safety_no_cooling.txt"),
    ),
    (
        "safety_other",
        "safety_other.txt",
        include_str!("../../prompts/safety_other.txt"),
    ),
];

/// What each escalation template is rendered with (see the methods of
/// [`EscalationTemplates`]).
pub(crate) fn placeholders_of(key: &str) -> &'static [&'static str] {
    match key {
        "page_sms" | "page_call" => &[
            "business",
            "hazard",
            "caller",
            "address",
            "what_they_said",
            "time",
        ],
        "page_taken" => &["business", "tech", "hazard"],
        "tech_accepted" => &["business", "tech"],
        "page_accepted" => &["caller"],
        k if k.starts_with("safety_") => &["business", "paging"],
        // The spoken prompts and the text when nobody answered.
        _ => &["business"],
    }
}

/// The parsed escalation templates of one business.
#[derive(Debug, Clone)]
pub struct EscalationTemplates {
    pub(crate) templates: Vec<(&'static str, Template)>,
}

impl EscalationTemplates {
    /// The shipped templates.
    pub fn defaults() -> EscalationTemplates {
        Self::load(|_| None).unwrap_or_else(|e| panic!("shipped escalation templates: {e:?}"))
    }

    /// Parses every template in [`TEMPLATE_FILES`]. `read(file)` returns
    /// `Some((path shown in errors, text))` for a file the owner has in
    /// `prompts/`, or `None` to use the shipped default. All errors are
    /// returned at once.
    pub fn load(
        mut read: impl FnMut(&str) -> Option<(String, String)>,
    ) -> Result<EscalationTemplates, Vec<TemplateError>> {
        let mut templates = Vec::new();
        let mut errs = Vec::new();
        for (key, file, default) in TEMPLATE_FILES {
            let (shown, text) =
                read(file).unwrap_or_else(|| (format!("prompts/{file}"), default.to_string()));
            match Template::parse_for(&text, &shown, placeholders_of(key)).and_then(|t| {
                t.check_placeholders(placeholders_of(key))?;
                Ok(t)
            }) {
                Ok(t) => templates.push((key, t)),
                Err(e) => errs.push(e),
            }
        }
        if errs.is_empty() {
            Ok(EscalationTemplates { templates })
        } else {
            Err(errs)
        }
    }

    pub(crate) fn get(&self, key: &str) -> &Template {
        // Every key is loaded by `load`, which fails otherwise.
        &self
            .templates
            .iter()
            .find(|(k, _)| *k == key)
            .expect("every escalation template is loaded")
            .1
    }
}
