//! `ringback-bench chaos`: the release service under steady load, killed
//! with SIGKILL at random moments and started again, over and over, while
//! the mock carrier fails, throttles and hangs sends and every webhook
//! arrives two or three times at different instances. With
//! `--store postgres`, two instances share one database on a private
//! PostgreSQL server that is itself restarted mid-run.
//!
//! The promise under test: every call whose webhook was acknowledged gets
//! exactly one text. The run reports the acknowledged calls that never got
//! one ("lost") and the callers texted more than once; both must be 0. It
//! exits 0 when they are, 2 when not, 1 on an error.

mod fleet;
mod pg_cluster;
mod report;
mod traffic;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mock_carrier::twilio::{new_sid, MockTwilio};
use rand::Rng as _;

use crate::load::Target;
use crate::service::{self, BUSINESS_NUMBER};
use fleet::Fleet;
use pg_cluster::{PgCluster, RestartMode};
use report::ChaosReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Store {
    /// One instance on a SQLite file.
    Sqlite,
    /// Instances sharing one database on a private PostgreSQL server.
    Postgres,
}

/// Kill the service over and over under load; report lost and duplicate texts.
#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    #[arg(long, value_enum, default_value = "sqlite")]
    store: Store,

    /// Service processes (default: 1 on SQLite, 2 on PostgreSQL).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    instances: Option<u16>,

    /// SIGKILLs to make, each followed by a restart.
    #[arg(long, default_value_t = 100, value_name = "N")]
    kills: u64,

    /// After each restart, the next kill comes after a random pause between
    /// these two, in milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    min_gap_ms: u64,
    #[arg(long, default_value_t = 1200, value_name = "MS")]
    max_gap_ms: u64,

    /// New missed calls per second, throughout.
    #[arg(long, default_value_t = 300.0, value_name = "PER_SECOND")]
    rate: f64,

    /// Each round delivers a call's webhook 2 up to this many times, to
    /// different instances when there are several.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
    max_copies: u32,

    /// Later copies of a webhook go out up to this long after the first.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    spread_ms: u64,

    /// Rounds of deliveries for a call none of whose webhooks was
    /// acknowledged, `--retry-after-ms` apart.
    #[arg(long, default_value_t = 8, value_name = "N")]
    rounds: u32,
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    retry_after_ms: u64,

    /// Webhooks in flight at once. Beyond what the service answers within
    /// the timeout, more only queue in front of it and time out: the carrier
    /// would see a dead service, and so would the readiness checks.
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_in_flight: usize,

    /// Per-webhook timeout, in seconds.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    timeout: f64,

    /// Fraction of sends the mock refuses with 500 or 429 + Retry-After.
    #[arg(long, default_value_t = 0.05, value_name = "FRACTION")]
    fail_rate: f64,
    /// Fraction of sends the mock accepts but answers with 500.
    #[arg(long, default_value_t = 0.01, value_name = "FRACTION")]
    lost_reply_rate: f64,
    /// Fraction of sends the mock accepts but answers only after
    /// `--hang-ms`, past the service's send timeout.
    #[arg(long, default_value_t = 0.01, value_name = "FRACTION")]
    hang_rate: f64,
    #[arg(long, default_value_t = 3000, value_name = "MS")]
    hang_ms: u64,

    /// PostgreSQL restarts, spread evenly over the kills (PostgreSQL only).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pg_restarts: u64,
    #[arg(long, value_enum, default_value = "fast")]
    pg_restart_mode: RestartMode,

    /// The service's `lease_seconds` and `send_timeout_seconds`: how soon a
    /// killed instance's claimed jobs are taken over.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    lease_seconds: u64,
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    send_timeout_seconds: f64,

    /// After the last kill, wait at most this long for every acknowledged
    /// call's text, then `--settle` more for duplicates.
    #[arg(long, default_value_t = 180.0, value_name = "SECONDS")]
    drain: f64,
    #[arg(long, default_value_t = 8.0, value_name = "SECONDS")]
    settle: f64,

    /// Seconds a (re)start may take to answer `/readyz` 200, retries included.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    ready_timeout: f64,

    /// The ringback binary (default: target/release/ringback).
    #[arg(long, value_name = "PATH")]
    bin: Option<PathBuf>,

    /// RUST_LOG for the service.
    #[arg(long, default_value = "warn", value_name = "FILTER")]
    rust_log: String,

    /// Print the figures as one JSON line instead of the table.
    #[arg(long)]
    json: bool,
}

/// One chaos run; `Ok(false)` when a call was lost or a caller texted twice.
pub async fn run(args: ChaosArgs) -> anyhow::Result<bool> {
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    anyhow::ensure!(
        args.min_gap_ms <= args.max_gap_ms,
        "--min-gap-ms > --max-gap-ms"
    );
    let program = match &args.bin {
        Some(bin) => bin.clone(),
        None => service::release_binary(false)?,
    };
    let instances = usize::from(args.instances.unwrap_or(match args.store {
        Store::Sqlite => 1,
        Store::Postgres => 2,
    }));

    let account_sid = new_sid("AC");
    let auth_token = format!("{:032x}", rand::rng().random::<u128>());
    let mock = MockTwilio::start_with(&account_sid, &auth_token)
        .await
        .context("binding the mock Twilio API")?;
    mock.set_fail_rate(args.fail_rate);
    mock.set_lost_reply_rate(args.lost_reply_rate);
    mock.set_hang_rate(args.hang_rate, Duration::from_millis(args.hang_ms));

    let tmp = tempfile::Builder::new()
        .prefix("ringback-chaos-")
        .tempdir()?;
    let config_path = tmp.path().join("ringback.toml");
    std::fs::write(&config_path, chaos_config(&args))?;
    let pg = match args.store {
        Store::Postgres => Some(Arc::new(
            tokio::task::spawn_blocking(PgCluster::start).await??,
        )),
        Store::Sqlite => None,
    };
    let database_url = match &pg {
        Some(pg) => pg.url.clone(),
        None => format!("sqlite://{}", tmp.path().join("chaos.db").display()),
    };
    if database_url.starts_with("sqlite") {
        std::fs::File::create(tmp.path().join("chaos.db"))?;
    }
    // One public URL for every instance, as behind a load balancer: the
    // webhooks are signed over it wherever they land. Nothing connects to it.
    let public_url = "https://ringback.example".to_string();
    let env = vec![
        ("RINGBACK_CONFIG", config_path.display().to_string()),
        ("DATABASE_URL", database_url),
        ("RINGBACK_ADDR", "127.0.0.1".to_string()),
        ("RINGBACK_PUBLIC_URL", public_url.clone()),
        ("TWILIO_ACCOUNT_SID", account_sid.clone()),
        ("TWILIO_AUTH_TOKEN", auth_token.clone()),
        ("TWILIO_API_BASE", mock.url.clone()),
        ("RUST_LOG", args.rust_log.clone()),
    ];
    let ready_timeout = Duration::from_secs_f64(args.ready_timeout);
    let mut fleet = Fleet::start(program, instances, env, ready_timeout).await?;
    eprintln!(
        "chaos on {:?}: {instances} instance(s) on ports {:?}, {} calls/s, {} kills",
        args.store,
        fleet.ports(),
        args.rate,
        args.kills
    );

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let plan = traffic::TrafficPlan {
        rate: args.rate,
        max_copies: args.max_copies,
        spread: Duration::from_millis(args.spread_ms),
        rounds: args.rounds.max(1),
        retry_after: Duration::from_millis(args.retry_after_ms),
        timeout: Duration::from_secs_f64(args.timeout),
        max_in_flight: args.max_in_flight.max(1),
    };
    let target = Target {
        provider: crate::carrier::Provider::Twilio,
        public_url,
        account_sid,
        auth_token,
        business_number: BUSINESS_NUMBER.to_string(),
    };
    let traffic = tokio::spawn(traffic::run(plan, target, fleet.ports(), stop.clone()));

    let pg_restart_points: Vec<u64> = match &pg {
        Some(_) => (1..=args.pg_restarts)
            .map(|k| (args.kills * k / (args.pg_restarts + 1)).max(1))
            .collect(),
        None => Vec::new(),
    };
    let mut pg_restarts = Vec::new();
    for n in 1..=args.kills {
        let gap = rand::rng().random_range(args.min_gap_ms..=args.max_gap_ms);
        tokio::time::sleep(Duration::from_millis(gap)).await;
        fleet.revive_exited().await?;
        if let Some(pg) = pg.as_ref().filter(|_| pg_restart_points.contains(&n)) {
            // Not awaited: the kill below lands while the server is down, so
            // the restarted instance first finds no database.
            let (pg, mode) = (pg.clone(), args.pg_restart_mode);
            eprintln!("  restarting PostgreSQL ({mode:?}) before kill {n}");
            pg_restarts.push(tokio::task::spawn_blocking(move || pg.restart(mode)));
        }
        let victim = rand::rng().random_range(0..fleet.len());
        fleet.crash_and_restart(victim).await?;
        if n % 10 == 0 {
            eprintln!(
                "  t={:>5.1}s  kills {n}/{}  restarts {}  failed starts {}",
                started.elapsed().as_secs_f64(),
                args.kills,
                fleet.counts.restarts,
                fleet.counts.failed_starts
            );
        }
    }
    let chaos_time = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut pg_restart_times = Vec::new();
    for restart in pg_restarts {
        pg_restart_times.push(restart.await??);
    }
    let traffic = traffic.await??;
    eprintln!(
        "load stopped after {:.1} s: {} calls, {} acknowledged; draining",
        started.elapsed().as_secs_f64(),
        traffic.calls,
        traffic.acked.len()
    );

    let drain_started = Instant::now();
    let drain = Duration::from_secs_f64(args.drain);
    while mock.count_texted(&traffic.acked) < traffic.acked.len() && drain_started.elapsed() < drain
    {
        fleet.revive_exited().await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained = drain_started.elapsed();
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    fleet.revive_exited().await?;
    let snapshot = mock.snapshot();
    let log_tails = fleet.log_tails(30);
    let counts = fleet.counts.clone();
    let stopped = fleet.stop(Duration::from_secs(25)).await;

    let report = ChaosReport::new(report::Inputs {
        store: args.store,
        instances,
        rate: args.rate,
        chaos_time,
        total_time: started.elapsed(),
        drain_time: drained,
        fleet: &counts,
        pg_restart_times: &pg_restart_times,
        traffic: &traffic,
        snapshot: &snapshot,
        stopped: &stopped,
    });
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    if !report.ok() {
        eprintln!("\nlast lines of the instances' output:\n{log_tails}");
    }
    Ok(report.ok())
}

/// The bench's config with short leases (a killed instance's claimed jobs
/// are taken over within seconds) and no follow-ups (every text in the run
/// is an instant text, so a second one is a duplicate).
fn chaos_config(args: &ChaosArgs) -> String {
    let config = service::render_config();
    let service_table = "instant_text_window_hours = 24\n";
    let business = "ring_seconds = 20\n";
    assert!(config.contains(service_table) && config.contains(business));
    config
        .replace(
            service_table,
            &format!(
                "{service_table}lease_seconds = {}\nsend_timeout_seconds = {:.1}\n",
                args.lease_seconds, args.send_timeout_seconds
            ),
        )
        .replace(business, &format!("{business}follow_ups = []\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        chaos: ChaosArgs,
    }

    #[test]
    fn config_has_short_leases_and_no_follow_ups() {
        let cli = Cli::parse_from(["chaos", "--store", "postgres"]);
        assert_eq!(cli.chaos.store, Store::Postgres);
        assert_eq!(cli.chaos.kills, 100);
        let config = chaos_config(&cli.chaos);
        assert!(config.contains("lease_seconds = 5\nsend_timeout_seconds = 2.0\n"));
        assert!(config.contains("follow_ups = []\n"));
    }
}
