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
mod cli;
mod load;
mod overload;
mod postgres;
mod report;
mod run;
mod service;
mod signature;
mod stand_in;
mod throughput;
mod timers;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Parser;

use crate::carrier::ProviderChoice;
use crate::cli::{Cli, Command};
use crate::run::bench;

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

#[cfg(test)]
mod tests;
