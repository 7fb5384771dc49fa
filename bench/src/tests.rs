//! The bench's own tests of its command line, its report and its whole
//! measurement pipeline (against the stand-in, through both carriers).

use super::*;
use crate::carrier::{MockApi, Provider};
use crate::load::{Plan, Target};
use crate::report::{Report, RunInfo};
use crate::run::{database_kind, measure};
use crate::service::BUSINESS_NUMBER;
use clap::CommandFactory as _;
use mock_carrier::twilio::new_sid;

#[test]
fn cli_is_consistent() {
    Cli::command().debug_assert();
    let cli = Cli::parse_from([
        "ringback-bench",
        "--rate",
        "5000",
        "--duplicates",
        "2",
        "--json",
    ]);
    assert_eq!(cli.rate, [5000.0]);
    assert_eq!(cli.duplicates, 2);
    assert!(cli.json && cli.command.is_none());
    assert!(Cli::try_parse_from(["ringback-bench", "--duplicates", "0"]).is_err());
    let cli = Cli::parse_from([
        "ringback-bench",
        "--rate",
        "500,1000",
        "--compare-postgres",
        "postgres://postgres@127.0.0.1:5432",
    ]);
    assert_eq!(cli.rate, [500.0, 1000.0]);
    assert!(cli.compare_postgres.is_some());
    assert!(Cli::try_parse_from([
        "ringback-bench",
        "--database",
        "postgres://x/db",
        "--compare-postgres",
        "postgres://x"
    ])
    .is_err());
}

#[test]
fn database_kind_hides_credentials() {
    assert_eq!(database_kind("sqlite:///tmp/x/bench.db"), "sqlite");
    assert_eq!(
        database_kind("postgres://u:secret@127.0.0.1/db"),
        "postgres"
    );
    assert_eq!(
        database_kind("postgresql://u:secret@127.0.0.1/db"),
        "postgres"
    );
}

/// The whole measurement pipeline against the in-process stand-in:
/// signed webhooks → stand-in → mock carrier (with injected failures
/// and duplicate webhooks) → report, through Twilio and then Telnyx
/// (TeXML callbacks signed with Ed25519, texts via `POST /v2/messages`)
/// as `--provider both` runs them, and their side-by-side table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_against_stand_in_reports_ok() {
    let twilio = pipeline_reports_ok(Provider::Twilio).await;
    let telnyx = pipeline_reports_ok(Provider::Telnyx).await;
    let table = report::side_by_side(&[twilio, telnyx]);
    for column in ["Twilio, none @ 1000/s", "Telnyx, none @ 1000/s"] {
        assert!(table.contains(column), "{table}");
    }
    assert_eq!(table.matches("OK 300/300").count(), 2, "{table}");
}

async fn pipeline_reports_ok(provider: Provider) -> Report {
    let account_sid = new_sid("AC");
    let auth_token = "bench-token".to_string();
    let api = MockApi::start(provider, &account_sid, &auth_token)
        .await
        .unwrap();
    let mock = api.carrier();
    mock.set_fail_rate(0.2);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let config = stand_in::StandInConfig {
        public_url: public_url.clone(),
        account_sid: account_sid.clone(),
        auth_token: auth_token.clone(),
        api_base: api.url().to_string(),
        telnyx: (provider == Provider::Telnyx).then(|| stand_in::TelnyxKeys {
            api_key: mock_carrier::telnyx::API_KEY.to_string(),
            public_key: base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                mock_carrier::telnyx::public_key(),
            )
            .unwrap()
            .try_into()
            .unwrap(),
        }),
    };
    tokio::spawn(stand_in::serve(listener, config, std::future::pending()));

    let target = Target {
        provider,
        public_url,
        account_sid,
        auth_token,
        business_number: BUSINESS_NUMBER.to_string(),
    };
    let plan = Plan {
        calls: 300,
        rate: 1000.0,
        duplicates: 2,
        max_in_flight: 64,
        timeout: Duration::from_secs(5),
        progress: false,
    };
    let measured = measure(
        &plan,
        &target,
        mock,
        Duration::from_secs(20),
        Duration::from_millis(100),
        false,
    )
    .await
    .unwrap();
    let info = RunInfo {
        target: "stand-in".to_string(),
        provider: provider.name().to_string(),
        webhook_path: provider.webhook_path().to_string(),
        database: "none".to_string(),
        rate: plan.rate,
        duplicates: plan.duplicates,
        fail_rate: 0.2,
        lost_reply_rate: 0.0,
        mock_latency_ms: 0,
        concurrency_cap: plan.max_in_flight,
        business_number: BUSINESS_NUMBER.to_string(),
    };
    let report = Report::new(info, &measured.load, &measured.mock, measured.drain);

    assert_eq!(report.verdict, "OK", "{}", report.to_table());
    assert_eq!(report.calls, 300);
    assert_eq!(report.webhooks, 600);
    assert_eq!(report.webhooks_ok, 600, "{:?}", report.webhook_errors);
    assert_eq!(report.callers_texted, 300);
    assert_eq!(report.callers_texted_more_than_once, 0);
    assert_eq!(report.texts_accepted, 300);
    assert_eq!(report.texts_from_other_numbers, 0);
    assert!(report.provider_injected_failures > 0);
    assert_eq!(report.webhook_latency_ms.as_ref().unwrap().count, 600);
    assert_eq!(report.provider_latency_ms.as_ref().unwrap().count, 300);
    assert!(report.e2e_calls_per_s > 0.0);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["verdict"], "OK");
    assert!(report
        .to_table()
        .contains("OK: 300 of 300 callers texted exactly once"));
    assert!(
        report
            .to_table()
            .contains(&format!("mock {} POST", provider.name())),
        "{}",
        report.to_table()
    );
    let table = report::side_by_side(std::slice::from_ref(&report));
    assert!(table.contains("none @ 1000/s"), "{table}");
    assert!(table.contains("OK 300/300"), "{table}");
    report
}

/// `--provider both`: one column per carrier, each named.
#[test]
fn both_carriers_stand_side_by_side() {
    let cli = Cli::parse_from(["ringback-bench", "--provider", "both"]);
    assert_eq!(cli.provider.providers().len(), 2);
    assert!(Cli::try_parse_from(["ringback-bench", "--provider", "vonage"]).is_err());
}

/// A service that answers but never texts must be reported as a mismatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_service_is_a_mismatch() {
    let api = MockApi::start(Provider::Twilio, &new_sid("AC"), "t")
        .await
        .unwrap();
    let mock = api.carrier();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        load::WEBHOOK_PATH,
        axum::routing::post(|| async { "<Response/>" }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let target = Target {
        provider: Provider::Twilio,
        public_url,
        account_sid: new_sid("AC"),
        auth_token: "t".to_string(),
        business_number: BUSINESS_NUMBER.to_string(),
    };
    let plan = Plan {
        calls: 20,
        rate: 1000.0,
        duplicates: 1,
        max_in_flight: 8,
        timeout: Duration::from_secs(5),
        progress: false,
    };
    let measured = measure(
        &plan,
        &target,
        mock,
        Duration::from_millis(200),
        Duration::ZERO,
        false,
    )
    .await
    .unwrap();
    let info = RunInfo {
        target: "silent".to_string(),
        provider: "Twilio".to_string(),
        webhook_path: load::WEBHOOK_PATH.to_string(),
        database: "none".to_string(),
        rate: plan.rate,
        duplicates: 1,
        fail_rate: 0.0,
        lost_reply_rate: 0.0,
        mock_latency_ms: 0,
        concurrency_cap: 8,
        business_number: BUSINESS_NUMBER.to_string(),
    };
    let report = Report::new(info, &measured.load, &measured.mock, measured.drain);
    assert_eq!(report.verdict, "MISMATCH");
    assert_eq!(report.callers_not_texted, 20);
    assert!(report.provider_latency_ms.is_none());
    assert!(report.to_table().contains("MISMATCH"));
}
