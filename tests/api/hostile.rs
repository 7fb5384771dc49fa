//! Hostile input: what a stranger (or a careless paste) sends must not
//! forge the log, paint the operator's terminal, guess the admin token at
//! leisure, or slip control characters into what the office reads.

use crate::helpers::*;
use crate::process::{check_config, write_config, Served};
use ringback::config::DEV_ADMIN_TOKEN;
use ringback::provider::twilio::signature;

/// Posts a form signed with the development secret (console mode).
async fn post_dev_signed(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let url = format!("{base}{path}");
    let pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sig = signature::sign(
        ringback::config::DEV_WEBHOOK_SECRET.as_bytes(),
        &url,
        &pairs,
        signature::Algorithm::HmacSha1,
    );
    http.post(&url)
        .header("X-Twilio-Signature", sig)
        .form(params)
        .send()
        .await
        .unwrap()
}

/// A path, a signed webhook's fields and a bearer token carrying newlines
/// and escape sequences: the log keeps one line per event, escaped, with no
/// raw ESC at all (and no colour: stderr is a pipe here), and never the
/// token. Failed logins are logged once each and locked out after ten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_cannot_be_forged_and_failed_logins_are_throttled() {
    let _machine = side_by_side().await;
    let app = Served::start().await;
    let http = reqwest::Client::new();
    let forged = "/api/v1/leads/1%0AFORGED%20LINE%1B%5B2J";

    // After the token check: a 400 that does not quote the path back raw.
    let r = http
        .get(format!("{}{forged}", app.url))
        .bearer_auth(DEV_ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A path nobody serves, with the same payload.
    let r = http
        .get(format!("{}/nothing%0AFORGED%20LINE", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // A signed webhook whose numbers carry a line break and an escape.
    let to = "+15125550100\nFORGED LINE \u{1b}[2J";
    let r = post_dev_signed(
        &http,
        &app.url,
        "/webhooks/twilio/sms",
        &[
            ("AccountSid", "AC0"),
            ("MessageSid", "SMforged"),
            ("From", CALLER),
            ("To", to),
            ("Body", "hi"),
        ],
    )
    .await;
    assert_eq!(r.status(), 404, "no business owns that number");
    let r = post_dev_signed(
        &http,
        &app.url,
        "/webhooks/twilio/voice",
        &[
            ("AccountSid", "AC0"),
            ("CallSid", "CAforged"),
            ("From", CALLER),
            ("To", to),
        ],
    )
    .await;
    assert_eq!(r.status(), 200, "a call to an unknown number gets TwiML");

    // Before the token check: ten wrong tokens (one with a line break in
    // it), each logged once without the token, then 429 for everything
    // from this address, the right token included.
    let secret_guess = "guess-NOT-IN-LOG";
    for n in 0..10 {
        let r = http
            .get(format!("{}{forged}", app.url))
            .header("authorization", format!("Bearer {secret_guess}{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "guess {n}");
    }
    let r = http
        .get(format!("{}/api/v1/leads", app.url))
        .bearer_auth(DEV_ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "locked out, right token or not");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        http.get(format!("{}/healthz", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the rest of the service is not locked"
    );

    // The log is written by the process as it goes; the last event is the
    // lockout.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.lines_with("too many failed logins").is_empty() {
        assert!(std::time::Instant::now() < deadline, "no lockout line");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let log = app.log();
    let text = String::from_utf8_lossy(&log);
    assert!(
        !log.contains(&0x1b),
        "no raw ESC in the log (neither a caller's nor colour codes):\n{text}"
    );
    for line in text.lines() {
        assert!(!line.starts_with("FORGED"), "a forged line:\n{text}");
    }
    assert!(!text.contains(secret_guess), "a token was logged:\n{text}");
    assert_eq!(
        app.lines_with("missing or wrong bearer token").len(),
        9,
        "one line per failed login before the lockout:\n{text}"
    );
    assert_eq!(app.lines_with("too many failed logins").len(), 1, "{text}");
    let refused = app.lines_with("FORGED");
    assert!(
        refused
            .iter()
            .all(|l| l.contains("\\n") || l.contains("%0A")),
        "what a caller sent appears escaped, if at all:\n{text}"
    );
    assert_eq!(
        app.lines_with("request rejected").len(),
        1,
        "the 404 is logged once:\n{text}"
    );
    assert_eq!(app.lines_with("webhook rejected").len(), 1, "{text}");
    assert_eq!(app.lines_with("no business owns").len(), 2, "{text}");
}

on_both_stores!(
    office_fields_refuse_control_characters,
    an_oversized_patch_is_413,
);

/// Notes and owners are read on screens and phones: NUL, ESC, a tab and
/// the line and paragraph separators are refused with what to do.
async fn office_fields_refuse_control_characters(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.missed_call("CActl", CALLER).await;
    let id = app.lead_json(CALLER).await["lead"]["id"].as_i64().unwrap();
    let path = format!("/api/v1/leads/{id}");
    for bad in [
        "line\u{2028}break",
        "para\u{2029}graph",
        "nul\0byte",
        "\u{1b}[31mred",
        "tab\there",
    ] {
        for field in ["note", "owner"] {
            let r = app
                .admin_send(
                    reqwest::Method::PATCH,
                    &path,
                    serde_json::json!({ field: bad }),
                )
                .await;
            assert_eq!(r.status(), 400, "{field} = {bad:?}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert!(
                body["error"]
                    .as_str()
                    .unwrap()
                    .contains("control character"),
                "{body}"
            );
        }
    }
    let r = app
        .admin_send(
            reqwest::Method::PATCH,
            &path,
            serde_json::json!({ "note": "Caller prefers mornings — café OK", "owner": "Zoë" }),
        )
        .await;
    assert_eq!(r.status(), 200, "plain text, accents and dashes are fine");
}

/// A PATCH over `max_body_bytes` is a 413 that says so, not a 400 about
/// JSON syntax.
async fn an_oversized_patch_is_413(b: Backend) {
    let app = TestApp::spawn_with(b, DEFAULT_BUSINESS, "max_body_bytes = 4096").await;
    let r = app
        .admin_send(
            reqwest::Method::PATCH,
            "/api/v1/leads/1",
            serde_json::json!({ "note": "x".repeat(8000) }),
        )
        .await;
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("max_body_bytes"),
        "{body}"
    );
}

/// A JSON webhook naming `From` twice with different values is refused:
/// read into a map, the last one would have won silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_webhook_with_two_froms_is_refused() {
    use sha2::Digest;
    let _machine = side_by_side().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let body = format!(
        r#"{{"AccountSid":"{ACCOUNT_SID}","MessageSid":"SMdup","From":"{CALLER}","From":"+15125550148","To":"{TRACKING}","Body":"hi"}}"#
    );
    let hash: String = sha2::Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = format!("/webhooks/twilio/sms?bodySHA256={hash}");
    let sig = signature::sign(
        AUTH_TOKEN.as_bytes(),
        &format!("{}{path}", app.url),
        &[],
        signature::Algorithm::HmacSha1,
    );
    let r = app
        .post_raw(&path, "application/json", body.into_bytes(), Some(&sig))
        .await;
    assert_eq!(r.status(), 400);
    let said: serde_json::Value = r.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("more than once"),
        "{said}"
    );
    assert_eq!(app.store().count("messages").await.unwrap(), 0);
}

/// `check-config`: a `max_body_bytes` that refuses every webhook is an
/// error; every error names its line and column; a business that can never
/// send is a loud warning; a placeholder typo is answered with the
/// placeholders that template can use, and only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_names_lines_and_refuses_configs_that_cannot_work() {
    let _machine = side_by_side().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "max_body_bytes = 0", DEFAULT_BUSINESS);
    let (code, _, err) = check_config(&path);
    assert_ne!(code, 0, "{err}");
    let shown = path.display().to_string();
    assert!(
        err.contains(&format!("{shown}:3:1: `service.max_body_bytes`")),
        "{err}"
    );
    assert!(
        err.contains("every webhook would be refused with 413"),
        "{err}"
    );

    // A wrong value deep inside a business: its own line and column.
    let bad_status = DEFAULT_BUSINESS.replacen(
        "status = \"registered\", mps = 1000 } }\n# The",
        "status = \"approved\", mps = 1000 } }\n# The",
        1,
    );
    assert_ne!(bad_status, DEFAULT_BUSINESS);
    let path = write_config(dir.path(), "", &bad_status);
    let (code, _, err) = check_config(&path);
    assert_ne!(code, 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("\"approved\""))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(":{line}:"))
            && err.contains("\"approved\" is not a registration status"),
        "{err}"
    );
    // A TOML mistake too.
    let path = write_config(dir.path(), "lease_seconds = \"soon\"", DEFAULT_BUSINESS);
    let (code, _, err) = check_config(&path);
    assert_ne!(code, 0);
    assert!(err.contains(&format!("{shown}:3:")), "{err}");

    // Only pending numbers: it starts, and says loudly nothing can be sent.
    let pending = DEFAULT_BUSINESS.replace("status = \"registered\"", "status = \"pending\"");
    let path = write_config(dir.path(), "", &pending);
    let (code, out, err) = check_config(&path);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("NOTHING CAN BE SENT for business \"spartan\": +15125550100 is pending"),
        "{out}"
    );

    // A typo in an instant text's placeholder: the hint offers the instant
    // text's placeholders (`{caller}`, `{opens_at}`), never a page's.
    let prompts = dir.path().join("prompts");
    copy_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        &prompts,
    );
    std::fs::write(
        prompts.join("instant_business_hours.txt"),
        "Hi, this is {busines}. Sorry we missed you!",
    )
    .unwrap();
    let text = std::fs::read_to_string(write_config(dir.path(), "", DEFAULT_BUSINESS))
        .unwrap()
        .replacen(
            &format!(
                "prompts_dir = {:?}",
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("prompts")
                    .display()
                    .to_string()
            ),
            &format!("prompts_dir = {:?}", prompts.display().to_string()),
            1,
        );
    std::fs::write(&path, text).unwrap();
    let (code, _, err) = check_config(&path);
    assert_ne!(code, 0);
    assert!(err.contains("did you mean `{business}`?"), "{err}");
    assert!(err.contains("{opens_at}"), "{err}");
    for never in ["{tech}", "{hazard}", "{paging}"] {
        assert!(!err.contains(never), "{never} offered: {err}");
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
