//! The configuration's unit tests: the environment, `ringback.toml`'s
//! checks and the template placeholders.
//!
//! Apart from the code so that each file holds one concern.

use super::*;
use crate::domain::template::{BUSINESS_VARS, INSTANT_VARS};
use std::path::Path;

#[test]
fn settings_require_both_twilio_credentials() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(a, _)| *a == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert!(Settings::from_lookup(env(&[("TWILIO_ACCOUNT_SID", "AC1")])).is_err());
    // Telnyx needs its key and its public key, each named when missing.
    let e = Settings::from_lookup(env(&[("TELNYX_API_KEY", "KEY0123")])).unwrap_err();
    assert!(e.contains("TELNYX_PUBLIC_KEY"), "{e}");
    let e = Settings::from_lookup(env(&[("TELNYX_PUBLIC_KEY", "x")])).unwrap_err();
    assert!(e.contains("TELNYX_API_KEY"), "{e}");
    let e = Settings::from_lookup(env(&[
        ("TELNYX_API_KEY", "KEY0123"),
        ("TELNYX_PUBLIC_KEY", "c2hvcnQ="),
    ]))
    .unwrap_err();
    assert!(e.contains("32-byte") && e.contains("5 bytes"), "{e}");
    let telnyx = Settings::from_lookup(env(&[
        ("TELNYX_API_KEY", "KEY0123"),
        (
            "TELNYX_PUBLIC_KEY",
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        ),
    ]))
    .unwrap();
    let t = telnyx.telnyx.as_ref().unwrap();
    assert_eq!(t.api_base, "https://api.telnyx.com");
    assert_eq!(t.public_key[0], 0xd7);
    assert!(!telnyx.console_mode());
    let sid = |v: &'static str| {
        let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([
            ("TWILIO_ACCOUNT_SID", v),
            ("TWILIO_AUTH_TOKEN", "token"),
        ]));
        Settings::from_lookup(env(pairs))
    };
    // Both carriers side by side.
    let both = Settings::from_lookup(env(&[
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "token"),
        ("TELNYX_API_KEY", "KEY0123"),
        (
            "TELNYX_PUBLIC_KEY",
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        ),
    ]))
    .unwrap();
    assert!(both.twilio.is_some() && both.telnyx.is_some());
    // A webhook shared key belongs to a Twilio account.
    let e = Settings::from_lookup(env(&[("TWILIO_WEBHOOK_SHARED_KEY", "k")])).unwrap_err();
    assert!(
        e.contains("TWILIO_WEBHOOK_SHARED_KEY") && e.contains("TWILIO_AUTH_TOKEN"),
        "{e}"
    );
    let shared = Settings::from_lookup(env(&[
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "token"),
        ("TWILIO_WEBHOOK_SHARED_KEY", "k"),
    ]))
    .unwrap();
    assert_eq!(
        shared
            .twilio
            .and_then(|t| t.webhook_shared_key)
            .map(|k| secrecy::ExposeSecret::expose_secret(&k).to_string()),
        Some("k".to_string())
    );
    let good = sid("AC0123456789abcdef0123456789ABCDEF").unwrap();
    assert_eq!(
        good.twilio.unwrap().account_sid,
        "AC0123456789abcdef0123456789ABCDEF"
    );
    for (bad, says) in [
        ("AC123", "5 characters given"),
        ("SK0123456789abcdef0123456789abcdef", "API key SID"),
        ("AC0123456789abcdef0123456789abcdef\n", "line break"),
        ("AC0123456789abcdef0123456789abcdeg", "Account Info"),
        ("AC0123456789abcdef/../Keys/abcdefg", "Account Info"),
    ] {
        let e = sid(bad).unwrap_err();
        assert!(
            e.contains("TWILIO_ACCOUNT_SID") && e.contains(says),
            "{bad:?}: {e}"
        );
    }
    let s = Settings::from_lookup(env(&[])).unwrap();
    assert!(s.twilio.is_none());
    assert_eq!(s.port, 8080);
    assert!(Settings::from_lookup(env(&[("PORT", "eighty")]))
        .unwrap_err()
        .contains("PORT"));
    assert!(
        Settings::from_lookup(env(&[("RINGBACK_PUBLIC_URL", "ringback.example.com")])).is_err()
    );
    let e = Settings::from_lookup(env(&[("TWILIO_API_BASE", "api.twilio.com")])).unwrap_err();
    assert!(
        e.contains("TWILIO_API_BASE") && e.contains("https://"),
        "{e}"
    );
}

fn parse_with(extra: &str) -> Result<Config, ConfigErrors> {
    let prompts = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let text = format!(
        "[service]\nprompts_dir = {:?}\n[[business]]\nid = \"s\"\nname = \"Spartan\"\ntime_zone = \"America/Chicago\"\nnumbers = [\"+15125550100\"]\nring_phone = \"+15125550199\"\nsenders = {{ \"+15125550100\" = {{ registration = \"10dlc\", campaign_id = \"C1\", status = \"registered\" }} }}\n{extra}",
        prompts.display().to_string()
    );
    Config::parse(&text, "ringback.toml", Path::new("."))
}

/// A minimal valid config with `extra` prepended (the repository's
/// prompts directory supplies templates and rules).
fn parse_prefixed(extra: &str) -> Result<Config, ConfigErrors> {
    let text = format!(
        "{extra}\n[service]\nprompts_dir = {:?}\n\n[[business]]\nid = \"b\"\nname = \"B Plumbing\"\ntime_zone = \"America/Chicago\"\nnumbers = [\"+15125550100\"]\nring_phone = \"+15125550199\"\n",
        concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")
    );
    Config::parse(&text, "ringback.toml", Path::new("."))
}

/// A placeholder a template is never rendered with is a config error
/// (it would go out empty); the instant texts alone know `{caller}`
/// and `{opens_at}`.
#[test]
fn a_template_may_use_only_the_placeholders_it_is_rendered_with() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let instant = write(
        "instant.txt",
        "{business}: sorry we missed you, we open {opens_at}. Reply STOP to opt out.",
    );
    let follow = write(
        "follow.txt",
        "{business}: still need help?\nWe open {opens_at}.",
    );
    let tech = write("ack.txt", "{tech} will call you.");
    parse_with(&format!(
        "templates = {{ instant_after_hours = {instant:?} }}"
    ))
    .unwrap();
    let errs = parse_with(&format!(
        "templates = {{ acknowledgement = {tech:?} }}\nfollow_ups = [{{ after = \"30m\", template = {follow:?} }}]"
    ))
    .unwrap_err()
    .0;
    let said: Vec<(String, String)> = errs
        .iter()
        .map(|e| (e.file.clone(), e.key.clone()))
        .collect();
    assert_eq!(
        said,
        [
            (
                format!("{tech}:1"),
                "business[0].templates.acknowledgement".to_string()
            ),
            (
                format!("{follow}:2"),
                "business[0].follow_ups[0].template".to_string()
            ),
        ],
        "{errs:?}"
    );
    assert!(errs.iter().all(|e| e.message.contains("has no value")));
    // The lists agree with what the texts are rendered with.
    let c = parse_with("").unwrap();
    let mut rendered: Vec<&str> = c.businesses[0].vars("+15125550100").names().collect();
    let mut declared = BUSINESS_VARS.to_vec();
    rendered.sort_unstable();
    declared.sort_unstable();
    assert_eq!(rendered, declared);
    assert_eq!(INSTANT_VARS[..BUSINESS_VARS.len()], *BUSINESS_VARS);
    assert_eq!(INSTANT_VARS[BUSINESS_VARS.len()..], ["caller", "opens_at"]);
}

#[test]
fn follow_up_steps_default_parse_and_are_checked() {
    let c = parse_with("").unwrap();
    let steps: Vec<StepTime> = c.businesses[0].follow_ups.iter().map(|s| s.when).collect();
    assert_eq!(
        steps,
        vec![
            StepTime::After(Duration::minutes(30)),
            StepTime::After(Duration::hours(2)),
            StepTime::NextOpening
        ]
    );
    assert!(parse_with("follow_ups = []").unwrap().businesses[0]
        .follow_ups
        .is_empty());
    let custom = parse_with(
        "follow_ups = [{ after = \"15m\", template = \"follow_up_1.txt\" }, { after = \"1d\", template = \"follow_up_2.txt\" }]",
    )
    .unwrap();
    assert_eq!(
        custom.businesses[0].follow_ups[1].when,
        StepTime::After(Duration::days(1))
    );
    // Every mistake at once, each naming its key and a fix.
    let errs = parse_with(
        "follow_ups = [{ after = \"soon\", template = \"follow_up_1.txt\" }, { at = \"dawn\", template = \"follow_up_2.txt\" }, { template = \"follow_up_3.txt\" }, { after = \"2h\", template = \"nope.txt\" }]\ndispatcher_phone = \"555-1234\"\nsources = { \"+19995550000\" = \"Ads\" }",
    )
    .unwrap_err()
    .0;
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    for want in [
        "business[0].follow_ups[0].after",
        "business[0].follow_ups[1].at",
        "business[0].follow_ups[2]",
        "business[0].follow_ups[3].template",
        "business[0].dispatcher_phone",
        "business[0].sources.\"+19995550000\"",
    ] {
        assert!(keys.contains(&want), "{want} in {keys:?}");
    }
    assert!(errs.iter().all(|e| !e.fix.is_empty()));
    let order = parse_with(
        "follow_ups = [{ after = \"2h\", template = \"follow_up_1.txt\" }, { after = \"30m\", template = \"follow_up_2.txt\" }]",
    )
    .unwrap_err();
    assert!(
        order.to_string().contains("not later than the step before"),
        "{order}"
    );
}

#[test]
fn the_lease_outlasts_a_look_up_and_a_send() {
    let c = parse_prefixed("").unwrap();
    assert_eq!(c.service.lease, Duration::seconds(30));
    assert_eq!(c.service.send_timeout, std::time::Duration::from_secs(10));
    let errs = Config::parse(
        &format!(
            "[service]\nprompts_dir = {:?}\nlease_seconds = 20\nsend_timeout_seconds = 10\n[[business]]\nid = \"b\"\nname = \"B\"\ntime_zone = \"America/Chicago\"\nnumbers = [\"+15125550100\"]\nring_phone = \"+15125550199\"\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")
        ),
        "ringback.toml",
        Path::new("."),
    )
    .unwrap_err()
    .0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].key, "service.lease_seconds");
    assert!(
        errs[0].message.contains("twice send_timeout_seconds"),
        "{}",
        errs[0].message
    );
}

#[test]
fn durations_read_like_people_write_them() {
    assert_eq!(parse_duration("30m"), Some(Duration::minutes(30)));
    assert_eq!(parse_duration(" 2h "), Some(Duration::hours(2)));
    assert_eq!(parse_duration("1d"), Some(Duration::days(1)));
    assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
    for bad in ["", "m", "30", "30 minutes", "-5m", "2.5h"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn database_section_is_optional_and_typed() {
    let c = parse_prefixed("").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.database, DatabaseConfig::default());
    let c = parse_prefixed(
        "[database]\nmax_connections = 40\nacquire_timeout_seconds = 2.5\nstatement_timeout_seconds = 3",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let p = &c.database;
    assert_eq!(p.max_connections, 40);
    assert_eq!(p.acquire_timeout, std::time::Duration::from_millis(2500));
    assert_eq!(p.statement_timeout, std::time::Duration::from_secs(3));
}

#[test]
fn bad_database_values_name_file_key_and_fix_all_at_once() {
    let e = parse_prefixed(
        "[database]\nmax_connections = 1\nacquire_timeout_seconds = 0\nstatement_timeout_seconds = 30",
    )
    .unwrap_err();
    let keys: Vec<&str> = e.0.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "database.acquire_timeout_seconds",
            "database.statement_timeout_seconds",
            "database.max_connections"
        ],
        "{e}"
    );
    for err in &e.0 {
        assert_eq!(err.file, "ringback.toml");
        assert!(err.fix.contains("default"), "{err}");
    }
    let e = parse_prefixed("[database]\npool_size = 10").unwrap_err();
    assert!(e.to_string().contains("pool_size"), "{e}");
}

#[test]
fn redacts_database_password() {
    assert_eq!(
        redact_url("postgres://u:secret@h:5432/db"),
        "postgres://u:***@h:5432/db"
    );
    assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
}

/// `provider = "telnyx"` needs `[business.telnyx]`; both carriers'
/// businesses live in one file; every mistake names its key and fix.
#[test]
fn the_carrier_is_chosen_per_business_or_number() {
    let c = parse_with(
        "provider = \"telnyx\"\n[business.telnyx]\nmessaging_profile_id = \"P1\"\nconnection_id = \"C1\"\n",
    )
    .unwrap();
    assert_eq!(c.carrier_of("+15125550100"), CarrierKind::Telnyx);
    let t = c.businesses[0].carriers.telnyx.as_ref().unwrap();
    assert_eq!(
        (t.messaging_profile_id.as_str(), t.connection_id.as_deref()),
        ("P1", Some("C1"))
    );
    // Twilio by default.
    assert_eq!(
        parse_with("").unwrap().carrier_of("+15125550100"),
        CarrierKind::Twilio
    );
    // One number of a Twilio business on Telnyx.
    let c = parse_with(
        "number_providers = { \"+15125550100\" = \"telnyx\" }\n[business.telnyx]\nmessaging_profile_id = \"P1\"\n",
    )
    .unwrap();
    assert_eq!(c.carrier_of("+15125550100"), CarrierKind::Telnyx);
    for (extra, key, says) in [
        ("provider = \"telnyx\"\n", "business[0].telnyx", "is missing"),
        (
            "provider = \"telnyx\"\n[business.telnyx]\nconnection_id = \"C1\"\n",
            "business[0].telnyx.messaging_profile_id",
            "is missing",
        ),
        ("provider = \"plivo\"\n", "business[0].provider", "not a carrier"),
        (
            "[business.telnyx]\nmessaging_profile_id = \"P1\"\n",
            "business[0].telnyx",
            "no number of this business uses Telnyx",
        ),
        (
            "number_providers = { \"+15125550101\" = \"telnyx\" }\n[business.telnyx]\nmessaging_profile_id = \"P1\"\n",
            "business[0].number_providers.\"+15125550101\"",
            "not one of this business's numbers",
        ),
    ] {
        let e = parse_with(extra).unwrap_err();
        assert!(
            e.0.iter().any(|e| e.key == key && e.message.contains(says)),
            "{extra:?}: {e}"
        );
    }
}

/// A Telnyx business without its keys is refused, naming the business
/// and the variables; a Twilio one in console mode is not.
#[test]
fn a_carrier_without_credentials_is_named() {
    let telnyx =
        parse_with("provider = \"telnyx\"\n[business.telnyx]\nmessaging_profile_id = \"P1\"\n")
            .unwrap();
    let none = Settings::from_lookup(|_| None).unwrap();
    let missing = carrier::missing_credentials(&telnyx, &none);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0].contains("\"s\"")
            && missing[0].contains("TELNYX_API_KEY")
            && missing[0].contains("TELNYX_PUBLIC_KEY"),
        "{missing:?}"
    );
    assert!(carrier::missing_credentials(&parse_with("").unwrap(), &none).is_empty());
    let keys = [
        ("TELNYX_API_KEY", "KEY1"),
        (
            "TELNYX_PUBLIC_KEY",
            "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        ),
    ];
    let with_telnyx = Settings::from_lookup(|k| {
        keys.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    assert!(carrier::missing_credentials(&telnyx, &with_telnyx).is_empty());
    // Telnyx keys but a Twilio business without Twilio's: named too.
    let twilio = parse_with("").unwrap();
    let m = carrier::missing_credentials(&twilio, &with_telnyx);
    assert!(m.len() == 1 && m[0].contains("TWILIO_ACCOUNT_SID"), "{m:?}");
}
