//! One load run from start to end: the mock carrier, the service's config
//! and database, the open-loop load, the drain, and the report printed.
//!
//! Apart from `main.rs` because it is the bulk of the bench, and the
//! timers and classifier measurements share none of it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use mock_carrier::twilio::new_sid;
use mock_carrier::{Carrier, Snapshot};
use rand::Rng as _;

use crate::carrier::{MockApi, Provider};
use crate::cli::Cli;
use crate::load::{self, CallerNumbers, Plan, Target};
use crate::report::{self, mib, Report, RunInfo};
use crate::service::{self, Service, BUSINESS_NUMBER};
use crate::{measure_classifier, overload, postgres, throughput};

/// Where one run keeps its data.
#[derive(Debug, Clone, PartialEq)]
enum Database {
    /// A fresh SQLite file in the run's temporary directory.
    Sqlite,
    /// A URL given with `--database`, used as is.
    Given(String),
    /// A fresh database created on this PostgreSQL server for the run.
    FreshPostgres(String),
}

/// Runs the benchmark (every rate on every database); `Ok(false)` on a
/// texts/calls mismatch in any run.
pub(crate) async fn bench(cli: Cli) -> anyhow::Result<bool> {
    if cli.rate.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        bail!("--rate must be positive");
    }
    if !(0.0..=1.0).contains(&cli.fail_rate) || !(0.0..=1.0).contains(&cli.lost_reply_rate) {
        bail!("--fail-rate and --lost-reply-rate must be between 0 and 1");
    }
    let databases = match (&cli.compare_postgres, &cli.database) {
        (Some(server), _) => vec![Database::Sqlite, Database::FreshPostgres(server.clone())],
        (None, Some(url)) => vec![Database::Given(url.clone())],
        (None, None) => vec![Database::Sqlite],
    };
    let mut reports = Vec::new();
    for provider in cli.provider.providers() {
        for &rate in &cli.rate {
            for database in &databases {
                let report = match database {
                    Database::FreshPostgres(server) => {
                        let fresh = postgres::FreshDatabase::create(server).await?;
                        let result = run(&cli, provider, rate, Some(fresh.url.clone())).await;
                        fresh.drop_database().await;
                        result?
                    }
                    Database::Given(url) => run(&cli, provider, rate, Some(url.clone())).await?,
                    Database::Sqlite => run(&cli, provider, rate, None).await?,
                };
                reports.push(report);
            }
        }
    }
    if reports.len() > 1 && !cli.json {
        print!("{}", report::side_by_side(&reports));
    }
    Ok(reports.iter().all(Report::ok))
}

/// One run through `provider` at `rate` against `database` (None: a fresh
/// SQLite file).
async fn run(
    cli: &Cli,
    provider: Provider,
    rate: f64,
    database: Option<String>,
) -> anyhow::Result<Report> {
    // A burst: every call in the first millisecond.
    let rate = match cli.burst {
        Some(n) => (n as f64) * 1000.0,
        None => rate,
    };
    let calls = match cli.burst.or(cli.calls) {
        Some(calls) => calls,
        None if cli.duration > 0.0 => ((rate * cli.duration).round() as u64).max(1),
        None => bail!("--duration must be positive"),
    };
    anyhow::ensure!(calls > 0, "--calls must be positive");
    let classifier = measure_classifier(cli);

    let account_sid = new_sid("AC");
    let auth_token = format!("{:032x}", rand::rng().random::<u128>());
    let api = MockApi::start(provider, &account_sid, &auth_token)
        .await
        .with_context(|| format!("binding the mock {} API", provider.name()))?;
    let mock = api.carrier();
    mock.set_fail_rate(cli.fail_rate);
    mock.set_lost_reply_rate(cli.lost_reply_rate);
    mock.set_latency(Duration::from_millis(cli.mock_latency_ms));

    let tmp = tempfile::Builder::new()
        .prefix("ringback-bench-")
        .tempdir()?;
    let config_path = tmp.path().join("ringback.toml");
    let config = match &cli.config {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => provider.business_config(match cli.sender_mps {
            Some(mps) => service::render_config().replace("mps = 100000", &format!("mps = {mps}")),
            None => service::render_config(),
        }),
    };
    let config = match (&cli.webhook_caps, cli.overload) {
        (Some(caps), _) if caps.len() != 2 => {
            bail!("--webhook-caps takes two numbers: INFLIGHT,QUEUED")
        }
        (Some(caps), true) => format!(
            "{config}\n[http]\nmax_inflight_webhooks = {}\nmax_queued_webhooks = {}\n",
            caps[0], caps[1]
        ),
        _ => config,
    };
    std::fs::write(&config_path, config)?;
    let database_url = match database {
        Some(url) => url,
        None => {
            // An empty file is a valid SQLite database, so the URL works whether
            // or not the service asks SQLite to create missing files.
            let path = tmp.path().join("bench.db");
            std::fs::File::create(&path)?;
            format!("sqlite://{}", path.display())
        }
    };

    let (program, args, target_name) = if cli.self_test {
        (
            std::env::current_exe()?,
            vec!["stand-in"],
            "self-test stand-in".to_string(),
        )
    } else {
        let bin = match &cli.bin {
            Some(bin) => bin.clone(),
            None => service::release_binary(cli.build)?,
        };
        let name = format!("{} serve", bin.display());
        (bin, vec!["serve"], name)
    };

    let port = service::free_port()?;
    let public_url = format!("http://127.0.0.1:{port}");
    let mut env = vec![
        ("RINGBACK_CONFIG", config_path.display().to_string()),
        ("DATABASE_URL", database_url.clone()),
        ("PORT", port.to_string()),
        ("RINGBACK_ADDR", "127.0.0.1".to_string()),
        ("RINGBACK_PUBLIC_URL", public_url.clone()),
        ("RUST_LOG", cli.rust_log.clone()),
    ];
    env.extend(api.env(&account_sid, &auth_token));
    eprintln!(
        "starting {target_name} on {public_url} (mock {} at {})",
        provider.name(),
        api.url()
    );
    let mut service = Service::spawn(&program, &args, &env)?;
    let ready_after = service
        .wait_ready(&public_url, Duration::from_secs_f64(cli.ready_timeout))
        .await?;
    eprintln!("ready after {:.2} s", ready_after.as_secs_f64());

    let target = Target {
        provider,
        public_url,
        account_sid,
        auth_token,
        business_number: BUSINESS_NUMBER.to_string(),
    };
    let plan = Plan {
        calls,
        rate,
        duplicates: cli.duplicates,
        max_in_flight: cli.max_in_flight as usize,
        timeout: Duration::from_secs_f64(cli.timeout),
        progress: true,
    };
    eprintln!(
        "offering {calls} missed calls at {rate}/s ({} webhook(s) each)",
        cli.duplicates
    );
    let measured = measure(
        &plan,
        &target,
        mock,
        Duration::from_secs_f64(cli.drain),
        Duration::from_secs_f64(cli.settle),
        cli.overload,
    )
    .await?;

    let info = RunInfo {
        target: if cli.self_test {
            "self-test stand-in"
        } else {
            "ringback"
        }
        .to_string(),
        provider: provider.name().to_string(),
        webhook_path: provider.webhook_path().to_string(),
        database: database_kind(&database_url),
        rate,
        duplicates: cli.duplicates,
        fail_rate: cli.fail_rate,
        lost_reply_rate: cli.lost_reply_rate,
        mock_latency_ms: cli.mock_latency_ms,
        concurrency_cap: plan.max_in_flight,
        business_number: target.business_number.clone(),
    };
    let mut report = Report::new(info, &measured.load, &measured.mock, measured.drain);
    report.service_peak_rss_mib = mib(service.peak_rss_kib());
    report.bench_peak_rss_mib = mib(service::peak_rss_of("/proc/self/status"));
    report.classifier = classifier;

    let log_lines = service.log_lines();
    let log_tail = service.log_tail(40);
    let (status, graceful) = service.stop(Duration::from_secs(10)).await?;
    report.service_exit = if graceful {
        status.to_string()
    } else {
        format!("{status} (killed: no exit within 10 s of SIGTERM)")
    };

    if cli.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    if let Some(o) = &measured.overload {
        eprint!(
            "{}",
            o.to_table(&measured.load, report.service_peak_rss_mib)
        );
    }
    if let Some(mps) = cli.sender_mps {
        let empty = Vec::new();
        let arrivals = measured
            .mock
            .arrivals_by_sender
            .get(BUSINESS_NUMBER)
            .unwrap_or(&empty);
        eprint!(
            "{}",
            throughput::SenderThroughput::new(arrivals, mps, calls).to_table()
        );
    }
    if cli.show_log || (!report.ok() && log_lines > 0) {
        eprintln!("\nlast lines of the service's output ({log_lines} lines in all):\n{log_tail}");
    }
    if cli.keep_tmp {
        eprintln!("kept {}", tmp.keep().display());
    }
    Ok(report)
}

pub(crate) struct Measured {
    pub(crate) load: load::LoadResult,
    pub(crate) mock: Snapshot,
    pub(crate) drain: Duration,
    pub(crate) overload: Option<overload::Overload>,
}

/// Offers the load, then waits (at most `drain`) until every caller has a
/// text, then `settle` more for late duplicates.
pub(crate) async fn measure(
    plan: &Plan,
    target: &Target,
    mock: &Carrier,
    drain: Duration,
    settle: Duration,
    overload: bool,
) -> anyhow::Result<Measured> {
    let mut load = load::run(plan, target, &CallerNumbers::random()).await?;
    let overload = if overload {
        Some(overload::after_load(target, &mut load).await)
    } else {
        None
    };

    let expected: HashSet<String> = load.callers.keys().cloned().collect();
    let drain_start = Instant::now();
    while mock.count_texted(&expected) < expected.len() && drain_start.elapsed() < drain {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained = drain_start.elapsed();
    tokio::time::sleep(settle).await;

    Ok(Measured {
        mock: mock.snapshot(),
        load,
        drain: drained,
        overload,
    })
}

/// `sqlite`, `postgres`, ... from a database URL, without its credentials.
pub(crate) fn database_kind(url: &str) -> String {
    match url.split_once("://").map_or(url, |(scheme, _)| scheme) {
        "postgresql" => "postgres".to_string(),
        scheme => scheme.to_string(),
    }
}
