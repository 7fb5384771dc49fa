//! Runs the built `ringback-bench` binary end to end against its own stand-in
//! service (spawned as a child process, like ringback would be).

use std::process::Command;

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ringback-bench"))
}

#[test]
fn self_test_run_prints_ok_json() {
    let output = bench()
        .args([
            "--self-test",
            "--calls",
            "300",
            "--rate",
            "1000",
            "--duplicates",
            "2",
            "--json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["verdict"], "OK");
    assert_eq!(report["calls"], 300);
    assert_eq!(report["webhooks"], 600);
    assert_eq!(report["webhooks_ok"], 600);
    assert_eq!(report["callers_texted"], 300);
    assert_eq!(report["callers_texted_more_than_once"], 0);
    assert_eq!(report["database"], "sqlite");
    assert_eq!(report["service_exit"], "exit status: 0");
    assert!(report["service_peak_rss_mib"].as_f64().unwrap() > 0.0);
    assert!(report["webhook_latency_ms"]["p99"].as_f64().unwrap() > 0.0);
}

/// `--provider both`: the stand-in played as Twilio, then as Telnyx
/// (Ed25519-signed TeXML callbacks, texts via `POST /v2/messages`), and a
/// table with a column for each.
#[test]
fn self_test_through_both_carriers_prints_them_side_by_side() {
    let output = bench()
        .args([
            "--self-test",
            "--calls",
            "200",
            "--rate",
            "1000",
            "--provider",
            "both",
            "--classifier-seconds",
            "0",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for want in [
        "carrier Twilio",
        "carrier Telnyx",
        "POST /webhooks/telnyx/texml/dial",
        "Side by side",
        "Twilio, SQLite @ 1000/s",
        "Telnyx, SQLite @ 1000/s",
    ] {
        assert!(stdout.contains(want), "{want:?} in\n{stdout}");
    }
    assert_eq!(stdout.matches("OK 200/200").count(), 2, "{stdout}");
}

#[test]
fn a_service_that_dies_is_reported_with_its_output() {
    let output = bench()
        .args(["--bin", "/bin/sh", "--calls", "1", "--ready-timeout", "5"])
        .output()
        .unwrap();
    // `/bin/sh serve` fails at once: "can't open serve" or similar.
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("exited"), "{stderr}");
    assert!(stderr.contains("serve"), "{stderr}");
}

#[test]
fn help_explains_the_options() {
    let output = bench().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--rate",
        "--duration",
        "--calls",
        "--duplicates",
        "--fail-rate",
        "--lost-reply-rate",
        "--drain",
        "--max-in-flight",
        "--bin",
        "--database",
        "--json",
        "--self-test",
        "--provider",
    ] {
        assert!(help.contains(option), "{option} missing from --help");
    }
    assert!(help.contains("chaos"), "the chaos run is listed");
    assert!(
        !help.lines().any(|l| l.trim_start().starts_with("stand-in")),
        "the stand-in subcommand is internal"
    );
}
