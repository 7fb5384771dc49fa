//! # Follow-up timer accuracy (`--timers N`)
//!
//! ```text
//! cargo run --release -p ringback-bench -- --timers 100000 [--timer-rate 300] [--timer-window 30]
//! ```
//!
//! Does ringback fire follow-up timers on time while it holds many of them,
//! and does its memory stay flat as their number grows (they live in the
//! database, not in RAM)?
//!
//! 1. A fresh database (SQLite file, or a new database on the PostgreSQL
//!    server given with `--database`) gets the schema with `ringback migrate`.
//! 2. **The stream**: `rate × window` real leads (status `texted`, their
//!    instant text recorded as sent 30 minutes earlier) each with the
//!    follow-up step-1 timer (`follow_up:{lead}:0`, exactly what
//!    `timers::follow_up_job` writes), due evenly spread over `window`
//!    seconds starting `lead-in` seconds from now.
//! 3. `ringback serve` starts against the mock Twilio. RSS is sampled, the
//!    database grows to 10,000 and then to N pending timers (leads with
//!    their "next business morning" step due 1-24 h ahead, so they stay
//!    pending), and RSS is sampled after each step. PostgreSQL tables then
//!    get `VACUUM ANALYZE` (what autovacuum does on a running database). All
//!    of this happens before the stream's first timer falls due.
//! 4. The stream falls due. Each firing runs the real path: the worker
//!    claims the job, `timers::run_follow_up` queues a follow-up text and
//!    the next step's timer in one transaction, and the send path texts the
//!    caller through the mock.
//! 5. After every stream caller has a text (or `--drain` runs out) the
//!    service is stopped and the database read back.
//!
//! Two lateness figures per stream timer, both measured against the job's
//! `due_at`:
//! * **fired**: the follow-up message's `created_at`. `run_follow_up`
//!   stamps it with the clock read when the worker started running the
//!   claimed job (the same instant the service's own
//!   `ringback_timer_lateness_seconds` histogram observes), and it only
//!   exists if the timer's transaction committed. This is "the timer fired".
//! * **at provider**: when the mock Twilio received the follow-up text,
//!   i.e. fired + the compliance gate + the send path. What the customer
//!   sees, measured outside the service.
//!
//! Both are also given per 10 s slice of the stream's due times, with the
//! CPU time the service's threads got and the time they waited for a CPU in
//! that slice (schedstat), so a stall on a shared machine can be told from
//! a timer that fires late by itself.
//!
//! Database times are milliseconds since the epoch; the mock's arrival
//! instants are converted to the same clock, so both figures have
//! millisecond resolution.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use hdrhistogram::Histogram;
use rand::Rng as _;
use serde::Serialize;
use sqlx::{AnyPool, Connection as _, Row as _};

use crate::classifier::ClassifierFigures;
use crate::report::{mib, Percentiles, Table};
use crate::service::{self, Service};
use mock_carrier::twilio::{new_sid, MockTwilio};

mod plan;
mod probes;
mod report;
mod seed;
#[cfg(test)]
mod tests;

pub use plan::*;
use probes::*;
pub use report::*;
pub use seed::caller;
use seed::*;

const BUSINESS_ID: &str = "bench";
const BUSINESS_NUMBER: &str = crate::service::BUSINESS_NUMBER;
/// Lead `i` (0-based, stream first) calls from +1 212 (2,000,000 + i).
const CALLER_PREFIX: &str = "+1212";
const CALLER_BASE: i64 = 2_000_000;
const MAX_PENDING: u64 = 7_000_000;
const MINUTE_MS: i64 = 60_000;
/// Rows per seeding transaction while the service runs (SQLite has one
/// writer; keep each hold of it short).
const SEED_CHUNK: i64 = 10_000;
/// Lateness and scheduler figures are reported per slice of the stream.
const SLICE_MS: i64 = 10_000;

/// How to start the service.
pub struct Launch<'a> {
    pub bin: &'a Path,
    pub database: Option<&'a str>,
    pub config: Option<String>,
    pub rust_log: &'a str,
    pub ready_timeout: Duration,
    pub keep_tmp: bool,
    pub show_log: bool,
}

/// Runs the timer benchmark.
pub async fn run(
    plan: &TimerPlan,
    launch: &Launch<'_>,
    classifier: Option<ClassifierFigures>,
) -> anyhow::Result<TimerReport> {
    plan.validate()?;
    sqlx::any::install_default_drivers();
    let account_sid = new_sid("AC");
    let auth_token = format!("{:032x}", rand::rng().random::<u128>());
    let mock = MockTwilio::start_with(&account_sid, &auth_token)
        .await
        .context("binding the mock Twilio API")?;
    let tmp = tempfile::Builder::new()
        .prefix("ringback-bench-timers-")
        .tempdir()?;
    let config_path = tmp.path().join("ringback.toml");
    std::fs::write(
        &config_path,
        launch.config.clone().unwrap_or_else(render_config),
    )?;
    let (database_url, fresh_pg) = match launch.database {
        Some(url) if is_postgres(url) => {
            let (fresh, name) = fresh_postgres(url).await?;
            (fresh, Some((url.to_string(), name)))
        }
        Some(url) => (url.to_string(), None),
        None => {
            let path = tmp.path().join("timers.db");
            std::fs::File::create(&path)?;
            (format!("sqlite://{}", path.display()), None)
        }
    };
    let result = run_on(
        plan,
        launch,
        &mock,
        &config_path,
        &database_url,
        &account_sid,
        &auth_token,
    )
    .await;
    if let Some((admin_url, name)) = fresh_pg {
        if launch.keep_tmp {
            eprintln!("kept PostgreSQL database {name}");
        } else if let Err(e) = drop_postgres(&admin_url, &name).await {
            eprintln!("warning: could not drop PostgreSQL database {name}: {e:#}");
        }
    }
    if launch.keep_tmp {
        eprintln!("kept {}", tmp.keep().display());
    }
    let mut report = result?;
    report.classifier = classifier;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn run_on(
    plan: &TimerPlan,
    launch: &Launch<'_>,
    mock: &MockTwilio,
    config_path: &Path,
    database_url: &str,
    account_sid: &str,
    auth_token: &str,
) -> anyhow::Result<TimerReport> {
    let port = service::free_port()?;
    let public_url = format!("http://127.0.0.1:{port}");
    let env = [
        ("RINGBACK_CONFIG", config_path.display().to_string()),
        ("DATABASE_URL", database_url.to_string()),
        ("PORT", port.to_string()),
        ("RINGBACK_ADDR", "127.0.0.1".to_string()),
        ("RINGBACK_PUBLIC_URL", public_url.clone()),
        ("TWILIO_ACCOUNT_SID", account_sid.to_string()),
        ("TWILIO_AUTH_TOKEN", auth_token.to_string()),
        ("TWILIO_API_BASE", mock.url.clone()),
        ("RUST_LOG", launch.rust_log.to_string()),
    ];

    let load_before = load_average();
    // 1. Schema.
    let out = tokio::process::Command::new(launch.bin)
        .arg("migrate")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .with_context(|| format!("running {} migrate", launch.bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} migrate failed ({}):\n{}{}",
            launch.bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(database_url)
        .await
        .context("connecting to the benchmark database")?;

    // 2. The stream, due from `first_due` on.
    let stream = plan.stream_jobs() as i64;
    let seed_started = Instant::now();
    let first_due = now_ms() + plan.lead_in.as_millis() as i64;
    let step_us = (1e6 / plan.rate).round() as i64;
    seed(&pool, 0, stream, Seed::Stream { first_due, step_us })
        .await
        .context("seeding the stream")?;
    let stream_end = first_due + (stream - 1) * step_us / 1000;

    // 3. The service, and the pending timers growing under it.
    eprintln!(
        "starting {} serve on {public_url} (mock Twilio at {})",
        launch.bin.display(),
        mock.url
    );
    let mut service = Service::spawn(launch.bin, &["serve"], &env)?;
    let ready_after = service
        .wait_ready(&public_url, launch.ready_timeout)
        .await?;
    eprintln!("ready after {:.2} s", ready_after.as_secs_f64());
    let mut rss = Vec::new();
    let mut sample = |when: String, pending: i64, service: &Service| {
        let s = RssSample {
            when,
            pending_jobs: pending,
            rss_mib: mib(service.rss_kib()),
        };
        eprintln!(
            "  RSS {} with {} pending jobs ({})",
            s.rss_mib.map_or("-".into(), |v| format!("{v:.1} MiB")),
            s.pending_jobs,
            s.when
        );
        rss.push(s);
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    sample("at start".into(), pending_jobs(&pool).await?, &service);
    let mut seeded = stream;
    let far_from = first_due + plan.window.as_millis() as i64 + 60 * MINUTE_MS;
    let far_span_ms = 23 * 60 * MINUTE_MS;
    let far_step_us = (far_span_ms * 1000) / (plan.pending as i64).max(1);
    for level in plan.levels() {
        eprintln!("growing to {level} pending timers");
        while seeded < level as i64 {
            let to = (seeded + SEED_CHUNK).min(level as i64);
            seed_retrying(
                &pool,
                seeded,
                to,
                Seed::Far {
                    first_due: far_from,
                    step_us: far_step_us,
                },
            )
            .await
            .context("seeding far-future timers")?;
            seeded = to;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        sample("after growing".into(), pending_jobs(&pool).await?, &service);
    }
    if is_postgres(database_url) {
        // What autovacuum does to a database that has been running: the
        // planner gets statistics for the seeded rows, and the vacuum does
        // not start on its own in the middle of the measurement.
        for table in ["leads", "contacts", "messages", "jobs"] {
            sqlx::query(&format!("VACUUM ANALYZE {table}"))
                .execute(&pool)
                .await
                .with_context(|| format!("VACUUM ANALYZE {table}"))?;
        }
    }
    let seed_s = seed_started.elapsed().as_secs_f64();
    let margin_ms = first_due - now_ms();
    if margin_ms < 0 {
        eprintln!(
            "warning: seeding ended {:.1} s after the first stream timer fell due; raise --timer-lead-in",
            -margin_ms as f64 / 1000.0
        );
    } else {
        eprintln!(
            "{stream} stream timers fall due from {:.1} s from now, over {} s",
            margin_ms as f64 / 1000.0,
            plan.window.as_secs_f64()
        );
    }

    // 4. The stream falls due; wait for its texts.
    let callers: HashSet<String> = (0..stream).map(caller).collect();
    let deadline_ms = stream_end + plan.drain.as_millis() as i64;
    let mut last_progress = Instant::now();
    // Scheduler totals at each 10 s boundary of the stream's due times.
    let mut sched_at: Vec<Option<(u64, u64)>> = Vec::new();
    loop {
        let texted = mock.count_texted(&callers);
        if texted >= callers.len() || now_ms() > deadline_ms {
            break;
        }
        if now_ms() >= first_due + sched_at.len() as i64 * SLICE_MS {
            sched_at.push(sched_totals(service.pid()));
        }
        if last_progress.elapsed() >= Duration::from_secs(5) {
            last_progress = Instant::now();
            let until = (first_due - now_ms()) as f64 / 1000.0;
            if until > 0.0 {
                eprintln!("  first stream timer due in {until:.1} s");
            } else {
                eprintln!(
                    "  {texted} of {} stream callers texted, RSS {}",
                    callers.len(),
                    mib(service.rss_kib()).map_or("-".into(), |v| format!("{v:.1} MiB"))
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sched_at.push(sched_totals(service.pid()));
    // Let the last send be recorded, and catch duplicates.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pending_after = pending_jobs(&pool).await?;
    sample("after the stream".into(), pending_after, &service);
    let snapshot = mock.snapshot();
    let peak = mib(service.peak_rss_kib());
    let log_lines = service.log_lines();
    let log_tail = service.log_tail(40);
    let (status, graceful) = service.stop(Duration::from_secs(10)).await?;
    let service_exit = if graceful {
        status.to_string()
    } else {
        format!("{status} (killed: no exit within 10 s of SIGTERM)")
    };

    // 5. Read back.
    let rows = sqlx::query(
        "SELECT l.caller AS caller, j.due_at AS due_at, m.created_at AS queued_at
         FROM jobs j JOIN leads l ON l.id = j.lead_id
         LEFT JOIN messages m ON m.lead_id = j.lead_id AND m.kind = 'follow_up'
         WHERE j.kind = 'follow_up' AND j.unique_key LIKE 'follow_up:%:0'",
    )
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    let anchor = ClockAnchor::now();
    let mut fired_us = lateness_histogram();
    let mut provider_us = lateness_histogram();
    let slice_ms = SLICE_MS;
    let slices = ((stream_end - first_due) / slice_ms + 1) as usize;
    let mut by_slice: Vec<Histogram<u64>> = (0..slices).map(|_| lateness_histogram()).collect();
    let mut fired = 0u64;
    let mut texted = 0u64;
    let mut not_fired = 0u64;
    let mut twice = 0u64;
    let mut seen: HashSet<String> = HashSet::new();
    for r in &rows {
        let caller: String = r.try_get("caller")?;
        let due: i64 = r.try_get("due_at")?;
        let queued: Option<i64> = r.try_get("queued_at")?;
        if !seen.insert(caller.clone()) {
            // More than one follow-up message for this lead's step 1.
            continue;
        }
        let at_provider = snapshot.recipients.get(&caller);
        if let Some(q) = queued {
            fired += 1;
            let us = ((q - due).max(0) * 1000) as u64;
            fired_us.saturating_record(us);
            let k = ((due - first_due).max(0) / slice_ms) as usize;
            by_slice[k.min(slices - 1)].saturating_record(us);
        }
        if let Some(&(arrived, count)) = at_provider {
            texted += 1;
            if count > 1 {
                twice += 1;
            }
            let late_ms = anchor.epoch_ms(arrived) - due as f64;
            provider_us.saturating_record((late_ms.max(0.0) * 1000.0) as u64);
        }
        if queued.is_none() && at_provider.is_none() {
            not_fired += 1;
        }
    }
    if rows.len() as i64 != stream {
        bail!(
            "read back {} stream timers, seeded {stream}: the database was not fresh?",
            rows.len()
        );
    }
    let fired_late_ms = Percentiles::from_micros(&fired_us);
    let verdict = match &fired_late_ms {
        _ if not_fired > 0 || fired < stream as u64 => "INCOMPLETE",
        Some(p) if p.p99 < 1000.0 => "OK",
        _ => "TARGET MISSED",
    };
    if launch.show_log || verdict != "OK" {
        eprintln!("\nlast lines of the service's output ({log_lines} lines in all):\n{log_tail}");
    }
    Ok(TimerReport {
        mode: "timers",
        database: crate::run::database_kind(database_url),
        pending_target: plan.pending,
        stream_timers: stream as u64,
        stream_rate_per_s: plan.rate,
        stream_window_s: plan.window.as_secs_f64(),
        seeding_margin_s: margin_ms as f64 / 1000.0,
        seed_s: (seed_s * 10.0).round() / 10.0,
        fired,
        texted,
        texts_accepted: snapshot.accepted,
        callers_texted_more_than_once: twice,
        not_fired,
        fired_late_ms,
        provider_late_ms: Percentiles::from_micros(&provider_us),
        fired_late_by_slice: by_slice
            .iter()
            .enumerate()
            .map(|(k, h)| {
                // CPU and wait between this slice's boundary and the next
                // (the last slice runs to the end of the drain).
                let between = match (
                    sched_at.get(k).copied().flatten(),
                    sched_at.get(k + 1).copied().flatten(),
                ) {
                    (Some((cpu0, wait0)), Some((cpu1, wait1))) => Some((
                        cpu1.saturating_sub(cpu0) as f64 / 1e9,
                        wait1.saturating_sub(wait0) as f64 / 1e9,
                    )),
                    _ => None,
                };
                Slice {
                    from_s: k as u64 * slice_ms as u64 / 1000,
                    to_s: ((k as u64 + 1) * slice_ms as u64 / 1000)
                        .min(plan.window.as_secs().max(1)),
                    late_ms: Percentiles::from_micros(h),
                    service_cpu_s: between.map(|(cpu, _)| (cpu * 100.0).round() / 100.0),
                    service_cpu_wait_s: between.map(|(_, wait)| (wait * 100.0).round() / 100.0),
                }
            })
            .collect(),
        load_average: [load_before, load_average()],
        rss,
        service_peak_rss_mib: peak,
        pending_at_end: pending_after,
        service_exit,
        classifier: None,
        verdict,
    })
}
