//! `ringback.toml` parsing on any text: no panic, and every error names
//! the file. Templates are read from the repository's own `prompts/`.
//!
//! The config may name files to read (`prompts_dir`, `intent_rules`), so
//! inputs that could point outside the repository at a device or a
//! never-ending file (`/dev/zero`) are skipped: the config is the owner's,
//! not an attacker's, and such a run would only measure the disk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringback::config::Config;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains("/dev")
        || text.contains("/proc")
        || text.contains("/sys")
        || text.contains("\\u")
        || text.contains("\\U")
        || text.contains("..")
    {
        return;
    }
    let base = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    match Config::parse(text, "fuzz.toml", base) {
        Ok(_) => {}
        Err(errs) => {
            assert!(!errs.0.is_empty(), "an error without a message");
            for e in &errs.0 {
                assert!(!e.file.is_empty(), "an error naming no file: {e}");
                assert!(!e.message.is_empty(), "an error saying nothing: {e}");
            }
        }
    }
});
