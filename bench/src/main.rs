//! # ringback-bench — end-to-end load benchmark for ringback
//!
//! ```text
//! cargo run --release -p ringback-bench -- [--rate 1000] [--duration 10] [--json] ...
//! ```
//!
//! The bench starts an in-process **mock of Twilio's Messages API** (or of
//! Telnyx's, `--provider telnyx`: see `src/carrier.rs`), spawns the
//! ringback release binary (`ringback serve`) pointed at it with a fresh config
//! and database, and fires **signed missed-call webhooks** (the `<Dial>` action
//! callback with `DialCallStatus=no-answer`, one new caller each) at a fixed
//! rate. ringback should answer each with TwiML and send exactly one text to
//! each caller, which the mock records. After the load it waits for the texts
//! to drain and prints:
//!
//! * **webhooks offered/s vs sustained/s** and errors by status: can the
//!   service take the rate at all?
//! * **webhook response latency** p50/p90/p99/max: what Twilio sees (Twilio
//!   gives up on a webhook after 15 s, and slow answers hold up the caller).
//! * **missed call → provider request latency**: from sending the webhook to
//!   the mock receiving the `POST …/Messages.json` for that caller, i.e. how
//!   long until the text leaves, whether ringback sends inline or via a queue.
//!   (Telnyx: `POST /v2/messages`.)
//! * **end-to-end missed calls/s**: texts received over the time from the
//!   first webhook to the last text — the throughput that matters.
//! * **texts vs calls and duplicates**: the correctness check, `OK` or
//!   `MISMATCH` (also with `--duplicates N`, where every webhook is delivered N
//!   times concurrently the way Twilio retries, and `--fail-rate`, where the
//!   mock fails sends with 500/429 so ringback's retries are exercised).
//! * **peak RSS** (VmHWM) of the service and of the bench.
//!
//! ## Open loop, and why
//!
//! A closed-loop generator (N workers each waiting for a response before
//! sending the next request) slows down exactly when the service does, so
//! a stall produces few samples and hides itself: *coordinated omission*.
//! This bench is **open loop**: request `i` is scheduled at `start + i/rate`
//! no matter how earlier requests fared, and its latency is measured from that
//! *scheduled* instant, not from when it was actually sent. Requests in flight
//! are capped (`--max-in-flight`) to bound the bench's own resources; if the
//! cap is hit, the scheduler waits, the hits are reported loudly, and the wait
//! still counts in the latencies. Percentiles come from HDR histograms.
//!
//! Bench, mock and service share the machine, so the figures are for the
//! whole loop on loopback; compare runs made on the same machine only.
//! `--self-test` replaces ringback with a trivial stand-in (this binary's
//! hidden `stand-in` subcommand) to check the measurement pipeline itself.
//!
//! ## The other two measurements
//!
//! * `--timers N`: follow-up timer accuracy with N timers pending (fire time
//!   minus due time p50/p99/max, and the service's RSS as the pending set
//!   grows). See the module comment of `src/timers.rs`.
//! * **Classifier throughput**: every run (and `--classifier` alone) first
//!   measures how many replies per second the shipped intent rules label on
//!   one core, before the service starts. See `src/classifier.rs`.

mod carrier;
mod chaos;
mod classifier;
mod load;
mod overload;
mod postgres;
mod report;
mod service;
mod signature;
mod stand_in;
mod throughput;
mod timers;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use mock_carrier::twilio::new_sid;
use mock_carrier::{Carrier, Snapshot};
use rand::Rng as _;

use crate::carrier::{MockApi, Provider, ProviderChoice};
use crate::load::{CallerNumbers, Plan, Target};
use crate::report::{mib, Report, RunInfo};
use crate::service::{Service, BUSINESS_NUMBER};

/// End-to-end load benchmark for ringback: signed missed-call webhooks in,
/// texts out through a mock Twilio API.
///
/// Spawns `target/release/ringback serve` against an in-process mock of
/// Twilio's Messages API, drives missed-call webhooks open-loop at a fixed
/// rate (latency measured from the scheduled send time, so a slow service
/// cannot hide by slowing the bench down), waits for the texts, and prints
/// throughput, latency percentiles, texts-vs-calls (OK / MISMATCH) and peak
/// memory. Exits 0 when every caller got exactly one text, 2 on a mismatch,
/// 1 on an error.
#[derive(Debug, Parser)]
#[command(name = "ringback-bench", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// New missed calls per second, each from a new caller (open loop).
    /// Several rates (`--rate 500,1000`) make one run each, in order.
    #[arg(long, default_value = "1000", value_name = "PER_SECOND", value_delimiter = ',', num_args = 1..)]
    rate: Vec<f64>,

    /// How long to offer load, in seconds; the run makes rate × duration calls.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    duration: f64,

    /// Make exactly this many calls instead of rate × duration.
    #[arg(long, value_name = "N")]
    calls: Option<u64>,

    /// The carrier whose webhooks come in and whose API takes the texts:
    /// `twilio`, `telnyx` (TeXML callbacks signed with Ed25519, texts via
    /// `POST /v2/messages`), or `both`, one after the other, then side by
    /// side.
    #[arg(long, value_enum, default_value = "twilio")]
    provider: ProviderChoice,

    /// Deliver every webhook this many times, concurrently (like Twilio's
    /// retries), to check that each caller is still texted only once.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    duplicates: u32,

    /// Fraction (0-1) of text sends the mock answers with 500 or with
    /// 429 + `Retry-After: 1`, to exercise the service's retries.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    fail_rate: f64,

    /// Fraction (0-1) of text sends the mock accepts and records but answers
    /// with 500, as if the reply was lost: ringback must find the message via
    /// GET Messages.json instead of texting the caller twice.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    lost_reply_rate: f64,

    /// Delay every mock Twilio response by this much (real Twilio: ~100-300 ms).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    mock_latency_ms: u64,

    /// After the load, wait at most this long for every caller's text.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    drain: f64,

    /// Once every caller has a text, keep watching this long for duplicates.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    settle: f64,

    /// Cap on webhooks in flight; hitting it is reported, since it means the
    /// offered rate could not be kept.
    #[arg(long, default_value_t = 2048, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,

    /// Per-webhook timeout, in seconds (Twilio's own is 15).
    #[arg(long, default_value_t = 15.0, value_name = "SECONDS")]
    timeout: f64,

    /// The ringback binary to run as `BIN serve`. Default:
    /// target/release/ringback, built with `cargo build --release -p ringback`
    /// if missing.
    #[arg(long, value_name = "PATH")]
    bin: Option<PathBuf>,

    /// Rebuild the default binary first even if it exists.
    #[arg(long)]
    build: bool,

    /// DATABASE_URL for the service, e.g. postgres://user:pass@127.0.0.1/ringback.
    /// Default: a fresh SQLite file in the run's temporary directory.
    #[arg(long, value_name = "URL", conflicts_with = "compare_postgres")]
    database: Option<String>,

    /// Run every rate twice, on a fresh SQLite file and on a fresh PostgreSQL
    /// database created on this server (and dropped after), then print the
    /// figures side by side. A server URL without a database name, e.g.
    /// postgres://postgres@127.0.0.1:5432.
    #[arg(long, value_name = "SERVER_URL")]
    compare_postgres: Option<String>,

    /// Use this ringback.toml instead of the built-in bench config (its
    /// business must own +15125550100).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// RUST_LOG for the service.
    #[arg(long, default_value = "warn", value_name = "FILTER")]
    rust_log: String,

    /// Seconds to wait for GET /readyz to answer 200.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    ready_timeout: f64,

    /// Give the business's number this rate limit (messages per second)
    /// instead of one far above the load, and report how its texts left:
    /// per second, sustained rate, none dropped. E.g. `--calls 1000 --rate
    /// 5000 --sender-mps 50 --drain 60`.
    #[arg(long, alias = "mps", value_name = "MPS")]
    sender_mps: Option<f64>,

    /// Offer exactly N calls at once (all in the first millisecond), e.g.
    /// `--mps 1 --burst 60`: 60 callers missed in the same instant on one
    /// 1 text/s number; the report gives each text's lateness against the
    /// ideal schedule (one per period after the first).
    #[arg(long, value_name = "N")]
    burst: Option<u64>,

    /// Overload: offer more than the service takes and check it stays
    /// bounded: webhooks beyond its `[http]` caps answered 503 at once,
    /// accepted ones still fast (their own p99), every accepted caller
    /// texted once, peak RSS, and how long after the load webhooks are
    /// answered promptly again. E.g. `--overload --rate 10000 --duration 5`.
    #[arg(long)]
    overload: bool,

    /// With --overload: the service's `[http]` caps, webhooks in flight and
    /// waiting, as `INFLIGHT,QUEUED` (default: the service's, 1024,4096).
    #[arg(long, value_name = "CAPS", value_delimiter = ',')]
    webhook_caps: Option<Vec<u32>>,

    /// Print the figures as one JSON line on stdout instead of the table.
    #[arg(long)]
    json: bool,

    /// Print the last lines of the service's output at the end (they are
    /// printed anyway on a mismatch).
    #[arg(long)]
    show_log: bool,

    /// Keep the temporary directory (config, SQLite database) and print its path.
    #[arg(long)]
    keep_tmp: bool,

    /// Benchmark a trivial built-in stand-in instead of ringback, to check the
    /// bench itself (mock, signer, scheduling, measurements).
    #[arg(long)]
    self_test: bool,

    /// Measure follow-up timer accuracy instead of webhook load: seed this
    /// many pending follow-up timers (real leads), a stream of which falls
    /// due during the run, and report fire time minus due time p50/p99/max
    /// and the service's RSS as the pending set grows. --drain bounds the
    /// wait for the last texts after the stream.
    #[arg(long, value_name = "PENDING")]
    timers: Option<u64>,

    /// With --timers: stream timers falling due per second.
    #[arg(long, default_value_t = 300.0, value_name = "PER_SECOND")]
    timer_rate: f64,

    /// With --timers: how long the stream of due timers lasts, in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    timer_window: f64,

    /// With --timers: seconds from seeding the stream to its first due time;
    /// must cover the service's start and growing the pending set (a
    /// shortfall is reported).
    #[arg(long, default_value_t = 20.0, value_name = "SECONDS")]
    timer_lead_in: f64,

    /// Only measure the classifier's single-core throughput, print it, exit.
    #[arg(long)]
    classifier: bool,

    /// Seconds spent measuring classifier throughput at the start of every
    /// run, before the service starts (0 skips it).
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    classifier_seconds: f64,

    /// Reply corpus (`label<TAB>text`, header line) for the classifier
    /// figure. Default: $RINGBACK_CORPUS, else ../shared/corpus/replies-dev.tsv
    /// beside the workspace, else tests/data/heldout.tsv.
    #[arg(long, value_name = "PATH")]
    corpus: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Kill the service with SIGKILL 100 times under load (and restart
    /// PostgreSQL mid-run); report acknowledged calls never texted and
    /// callers texted twice. See docs/benchmarks.md.
    Chaos(Box<chaos::ChaosArgs>),
    /// The trivial service used by --self-test (reads ringback's environment).
    #[command(hide = true)]
    StandIn,
}

/// The bench runs on the same cores as the service it measures: the less CPU
/// it spends, the more the figures are the service's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::StandIn) => stand_in::serve_from_env().await.map(|()| true),
            Some(Command::Chaos(args)) => chaos::run(*args).await,
            None if cli.classifier => classifier_only(&cli),
            None if cli.timers.is_some() => bench_timers(cli).await,
            None => bench(cli).await,
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(err) => {
            eprintln!("ringback-bench: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The classifier's throughput, measured on this thread's core before
/// anything else of the run starts; `None` (with a warning) when skipped or
/// the corpus is missing.
fn measure_classifier(cli: &Cli) -> Option<classifier::ClassifierFigures> {
    if cli.classifier_seconds.is_nan() || cli.classifier_seconds <= 0.0 {
        return None;
    }
    let corpus = cli
        .corpus
        .clone()
        .unwrap_or_else(classifier::default_corpus);
    eprintln!(
        "classifier: {} s on one core over {}",
        cli.classifier_seconds,
        corpus.display()
    );
    match classifier::measure(&corpus, Duration::from_secs_f64(cli.classifier_seconds)) {
        Ok(figures) => Some(figures),
        Err(err) => {
            eprintln!("warning: no classifier figure: {err:#}");
            None
        }
    }
}

/// `--classifier`: the throughput alone.
fn classifier_only(cli: &Cli) -> anyhow::Result<bool> {
    let Some(figures) = measure_classifier(cli) else {
        bail!(
            "no classifier figure (--classifier-seconds must be positive, and the corpus readable)"
        );
    };
    if cli.json {
        println!("{}", serde_json::to_string(&figures)?);
    } else {
        println!("classifier (shipped rules): {}", figures.summary());
    }
    Ok(true)
}

/// `--timers N`; `Ok(false)` when a timer did not fire or p99 missed 1 s.
async fn bench_timers(cli: Cli) -> anyhow::Result<bool> {
    anyhow::ensure!(!cli.self_test, "--timers does not work with --self-test");
    anyhow::ensure!(
        cli.provider == ProviderChoice::Twilio,
        "--timers runs on Twilio only"
    );
    let plan = timers::TimerPlan {
        pending: cli.timers.unwrap_or_default(),
        rate: cli.timer_rate,
        window: Duration::try_from_secs_f64(cli.timer_window)
            .context("--timer-window must be a number of seconds")?,
        lead_in: Duration::try_from_secs_f64(cli.timer_lead_in)
            .context("--timer-lead-in must be a number of seconds")?,
        drain: Duration::try_from_secs_f64(cli.drain)
            .context("--drain must be a number of seconds")?,
    };
    plan.validate()?;
    let classifier = measure_classifier(&cli);
    let bin = match &cli.bin {
        Some(bin) => bin.clone(),
        None => service::release_binary(cli.build)?,
    };
    let config = match &cli.config {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };
    let launch = timers::Launch {
        bin: &bin,
        database: cli.database.as_deref(),
        config,
        rust_log: &cli.rust_log,
        ready_timeout: Duration::from_secs_f64(cli.ready_timeout),
        keep_tmp: cli.keep_tmp,
        show_log: cli.show_log,
    };
    let report = timers::run(&plan, &launch, classifier).await?;
    if cli.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    Ok(report.ok())
}

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
async fn bench(cli: Cli) -> anyhow::Result<bool> {
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

struct Measured {
    load: load::LoadResult,
    mock: Snapshot,
    drain: Duration,
    overload: Option<overload::Overload>,
}

/// Offers the load, then waits (at most `drain`) until every caller has a
/// text, then `settle` more for late duplicates.
async fn measure(
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
fn database_kind(url: &str) -> String {
    match url.split_once("://").map_or(url, |(scheme, _)| scheme) {
        "postgresql" => "postgres".to_string(),
        scheme => scheme.to_string(),
    }
}

#[cfg(test)]
mod tests;
