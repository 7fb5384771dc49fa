//! Templates in the customer's language: `prompts/<lang>/<name>.txt` (e.g.
//! `prompts/es/opt_out_confirmation.txt`) stands in for `prompts/<name>.txt`
//! when the customer writes in that language. A language ships only the
//! templates the owner translated; every other text falls back to the main
//! one. Each translation is checked like its original: it may use only the
//! placeholders the original is rendered with.

use super::escalation_templates::{placeholders_of, TEMPLATE_FILES};
use super::ConfigError;
use crate::domain::template::{Template, BUSINESS_VARS, INSTANT_VARS};
use std::collections::BTreeMap;
use std::path::Path;

/// The templates the business's conversation renders (not the escalation's).
const CONVERSATION: [&str; 13] = [
    "instant_business_hours",
    "instant_after_hours",
    "voicemail_greeting",
    "after_hours_greeting",
    "screen_prompt",
    "opt_out_confirmation",
    "opt_in_confirmation",
    "help_reply",
    "booking_reply",
    "pricing_reply",
    "acknowledgement",
    "question_details",
    "question_timing",
];

/// Translated templates by language code (`es`) and template name.
#[derive(Debug, Clone, Default)]
pub struct Translations {
    by_language: BTreeMap<String, BTreeMap<String, Template>>,
}

impl Translations {
    /// Reads every `prompts/<lang>/` directory (a two-letter, lowercase
    /// name) under `prompts_dir`. Unknown files and bad templates are
    /// errors naming the file and line.
    pub fn load(prompts_dir: &Path, errs: &mut Vec<ConfigError>) -> Translations {
        let mut by_language = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(prompts_dir) else {
            return Translations::default();
        };
        let mut dirs: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let Some(lang) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            if lang.len() != 2 || !lang.chars().all(|c| c.is_ascii_lowercase()) {
                continue;
            }
            let mut templates = BTreeMap::new();
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect();
            files.sort();
            for path in files {
                let shown = path.display().to_string();
                let name = path
                    .file_stem()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                let Some(allowed) = allowed_placeholders(&name) else {
                    errs.push(ConfigError::new(
                        &shown,
                        &format!("prompts/{lang}"),
                        format!("{name}.txt is not a template ringback sends"),
                        "name it after a template in prompts/ (e.g. opt_out_confirmation.txt), or remove it",
                    ));
                    continue;
                };
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        errs.push(ConfigError::new(
                            &shown,
                            &format!("prompts/{lang}"),
                            format!("cannot read it: {e}"),
                            "fix its permissions",
                        ));
                        continue;
                    }
                };
                match Template::parse_for(&text, &shown, allowed).and_then(|t| {
                    t.check_placeholders(allowed)?;
                    Ok(t)
                }) {
                    Ok(t) => {
                        templates.insert(name, t);
                    }
                    Err(e) => errs.push(ConfigError::new(
                        &format!("{}:{}", e.file, e.line),
                        &format!("prompts/{lang}"),
                        e.message,
                        "edit the translation",
                    )),
                }
            }
            by_language.insert(lang, templates);
        }
        Translations { by_language }
    }

    /// The translation of template `name` into `lang`, if the owner ships
    /// one.
    pub fn get(&self, lang: &str, name: &str) -> Option<&Template> {
        self.by_language.get(lang)?.get(name)
    }

    /// The languages shipped, by code.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.by_language.keys().map(String::as_str)
    }
}

/// The placeholders template `name` is rendered with, if ringback sends a
/// template of that name.
fn allowed_placeholders(name: &str) -> Option<&'static [&'static str]> {
    if name.starts_with("instant_") && CONVERSATION.contains(&name) {
        return Some(INSTANT_VARS);
    }
    if CONVERSATION.contains(&name) || name.starts_with("follow_up_") {
        return Some(BUSINESS_VARS);
    }
    TEMPLATE_FILES
        .iter()
        .any(|(k, _, _)| *k == name)
        .then(|| placeholders_of(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_spanish_templates_load_and_unknown_files_are_errors() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let mut errs = Vec::new();
        let t = Translations::load(&shipped, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        assert!(t.languages().any(|l| l == "es"));
        for name in ["opt_out_confirmation", "help_reply", "safety_gas"] {
            assert!(t.get("es", name).is_some(), "{name} ships in Spanish");
        }
        assert!(t.get("vi", "help_reply").is_none());

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("es")).unwrap();
        std::fs::write(dir.path().join("es/mystery.txt"), "hola").unwrap();
        std::fs::write(dir.path().join("es/help_reply.txt"), "{business} {tech}").unwrap();
        let mut errs = Vec::new();
        Translations::load(dir.path(), &mut errs);
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 2, "{text:?}");
        assert!(text.iter().any(|e| e.contains("mystery.txt")), "{text:?}");
        assert!(
            text.iter().any(|e| e.contains("help_reply.txt")),
            "{text:?}"
        );
    }
}
