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

/// The service's config for this mode: the load mode's business with the
/// default three-step follow-up sequence, and quiet hours opened to the
/// whole day (but for the minute 23:59-24:00 in the recipient's time zone,
/// since a window cannot end at 24:00), so that the run measures timers,
/// not quiet-hours holds, whatever the time of day. Stream callers are
/// +1 212 numbers (New York: the default window applies).
pub const TIMER_CONFIG_TEMPLATE: &str = r#"[service]
prompts_dir = "{prompts_dir}"
instant_text_window_hours = 24
quiet_hours = { default = "00:00-23:59" }

[[business]]
id = "bench"
name = "Bench Plumbing"
time_zone = "America/Chicago"
numbers = ["+15125550100"]
ring_phone = "+15125550199"
ring_seconds = 20
hours = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }
senders = { "+15125550100" = { registration = "10dlc", campaign_id = "CBENCH01", status = "registered", mps = 100000 } }

[[business.follow_ups]]
after = "30m"
template = "follow_up_1.txt"

[[business.follow_ups]]
after = "2h"
template = "follow_up_2.txt"

[[business.follow_ups]]
at = "next_opening"
template = "follow_up_3.txt"
"#;

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

pub fn render_config() -> String {
    let prompts = service::workspace_dir().join("prompts");
    let prompts = prompts.canonicalize().unwrap_or(prompts);
    TIMER_CONFIG_TEMPLATE.replace("{prompts_dir}", &prompts.display().to_string())
}

/// What to run.
#[derive(Debug, Clone)]
pub struct TimerPlan {
    /// Pending timers to reach before the stream falls due.
    pub pending: u64,
    /// Stream timers falling due per second.
    pub rate: f64,
    /// How long the stream lasts.
    pub window: Duration,
    /// From seeding the stream to its first timer falling due.
    pub lead_in: Duration,
    /// After the window, how long to wait for the last texts.
    pub drain: Duration,
}

impl TimerPlan {
    pub fn stream_jobs(&self) -> u64 {
        ((self.rate * self.window.as_secs_f64()).round() as u64).max(1)
    }

    /// The pending counts at which RSS is sampled after start-up.
    pub fn levels(&self) -> Vec<u64> {
        let mut levels: Vec<u64> = [10_000, self.pending]
            .into_iter()
            .filter(|&n| n > self.stream_jobs() && n <= self.pending)
            .collect();
        levels.dedup();
        levels
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            bail!("--timer-rate must be positive");
        }
        if self.window.is_zero() {
            bail!("--timer-window must be positive");
        }
        if self.stream_jobs() > self.pending {
            bail!(
                "--timers {} is fewer than the {} timers the stream needs (rate × window)",
                self.pending,
                self.stream_jobs()
            );
        }
        if self.pending > MAX_PENDING {
            bail!("--timers: at most {MAX_PENDING}");
        }
        Ok(())
    }
}

/// The service's memory with so many timers pending.
#[derive(Debug, Clone, Serialize)]
pub struct RssSample {
    pub when: String,
    pub pending_jobs: i64,
    pub rss_mib: Option<f64>,
}

/// Fire lateness of the timers due in one slice of the stream.
#[derive(Debug, Serialize)]
pub struct Slice {
    pub from_s: u64,
    pub to_s: u64,
    pub late_ms: Option<Percentiles>,
    /// The service's threads during those 10 s of wall time: CPU time they
    /// got, and time they spent runnable but waiting for a CPU (Linux
    /// schedstat; a waiting service is a starved one).
    pub service_cpu_s: Option<f64>,
    pub service_cpu_wait_s: Option<f64>,
}

/// Everything a timer run measured. Field names are JSON keys.
#[derive(Debug, Serialize)]
pub struct TimerReport {
    pub mode: &'static str,
    pub database: String,
    pub pending_target: u64,
    pub stream_timers: u64,
    pub stream_rate_per_s: f64,
    pub stream_window_s: f64,
    /// Seconds between the end of seeding and the first stream timer's due
    /// time (negative: seeding overlapped the stream, which then starts late).
    pub seeding_margin_s: f64,
    pub seed_s: f64,
    /// Stream timers that fired (queued their follow-up text).
    pub fired: u64,
    /// Stream timers whose text reached the mock provider.
    pub texted: u64,
    pub texts_accepted: u64,
    pub callers_texted_more_than_once: u64,
    /// Stream timers neither fired nor texted by the end of the drain.
    pub not_fired: u64,
    /// Fire time minus due time.
    pub fired_late_ms: Option<Percentiles>,
    /// Provider (mock) receipt minus due time.
    pub provider_late_ms: Option<Percentiles>,
    /// Fire lateness by when in the stream the timer was due (10 s slices),
    /// to tell a steady drift from a stall.
    pub fired_late_by_slice: Vec<Slice>,
    /// 1-minute load average of the machine before and after the run (the
    /// machine may be shared).
    pub load_average: [f64; 2],
    pub rss: Vec<RssSample>,
    pub service_peak_rss_mib: Option<f64>,
    pub pending_at_end: i64,
    pub service_exit: String,
    pub classifier: Option<ClassifierFigures>,
    pub verdict: &'static str,
}

impl TimerReport {
    pub fn ok(&self) -> bool {
        self.verdict == "OK"
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("report serializes")
    }

    pub fn to_table(&self) -> String {
        let pct = |p: &Option<Percentiles>| match p {
            Some(p) => format!(
                "{:.0} / {:.0} / {:.0} / {:.0} ms   (n={})",
                p.p50, p.p90, p.p99, p.max, p.count
            ),
            None => "-".to_string(),
        };
        let mut t = Table::default();
        t.line(format!(
            "\nringback-bench --timers: database {} | {} pending | stream of {} timers at {}/s over {} s",
            self.database,
            self.pending_target,
            self.stream_timers,
            self.stream_rate_per_s,
            self.stream_window_s
        ));
        t.line("Follow-up timers (late = time minus job due_at)");
        t.row("fired late p50 / p90 / p99 / max", pct(&self.fired_late_ms));
        t.row(
            "  text at provider p50 / p90 / p99 / max",
            pct(&self.provider_late_ms),
        );
        for slice in &self.fired_late_by_slice {
            let sched = match (slice.service_cpu_s, slice.service_cpu_wait_s) {
                (Some(cpu), Some(wait)) => {
                    format!("   cpu {cpu:.1} s, waited for a cpu {wait:.2} s")
                }
                _ => String::new(),
            };
            t.row(
                &format!("  due at {}-{} s", slice.from_s, slice.to_s),
                format!("{}{sched}", pct(&slice.late_ms)),
            );
        }
        t.row(
            "fired / texted / not fired",
            format!(
                "{} / {} / {} of {}",
                self.fired, self.texted, self.not_fired, self.stream_timers
            ),
        );
        t.row(
            "texts accepted (callers texted twice)",
            format!(
                "{} ({})",
                self.texts_accepted, self.callers_texted_more_than_once
            ),
        );
        let margin_warning = if self.seeding_margin_s < 0.0 {
            "  <-- SEEDING OVERLAPPED THE STREAM: raise --timer-lead-in"
        } else {
            ""
        };
        t.row(
            "start-up + seeding / margin before first due",
            format!(
                "{:.1} s / {:.1} s{margin_warning}",
                self.seed_s, self.seeding_margin_s
            ),
        );
        t.row("pending timers at the end", self.pending_at_end.to_string());
        t.row(
            "load average (1 min) before / after",
            format!("{:.2} / {:.2}", self.load_average[0], self.load_average[1]),
        );
        t.line("Service memory (VmRSS) by pending jobs");
        for s in &self.rss {
            t.row(
                &format!("{} ({} pending)", s.when, s.pending_jobs),
                s.rss_mib.map_or("-".to_string(), |v| format!("{v:.1} MiB")),
            );
        }
        t.row(
            "peak (VmHWM)",
            self.service_peak_rss_mib
                .map_or("-".to_string(), |v| format!("{v:.1} MiB")),
        );
        t.row("service exit after SIGTERM", self.service_exit.clone());
        if let Some(c) = &self.classifier {
            t.line("Classifier (shipped rules)");
            t.row("throughput", c.summary());
        }
        match self.verdict {
            "OK" => t.line(format!(
                "\nOK: all {} stream timers fired, p99 {:.0} ms late (target < 1000 ms)",
                self.stream_timers,
                self.fired_late_ms.as_ref().map_or(0.0, |p| p.p99)
            )),
            other => t.line(format!(
                "\n!!!!!!!! {other}: {} of {} fired, p99 {} (target: all, p99 < 1000 ms) !!!!!!!!",
                self.fired,
                self.stream_timers,
                self.fired_late_ms
                    .as_ref()
                    .map_or("-".to_string(), |p| format!("{:.0} ms", p.p99))
            )),
        }
        t.0
    }
}

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
        database: crate::database_kind(database_url),
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

/// Lateness in microseconds, 1 µs to 1 h.
fn lateness_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Maps the mock's `Instant`s onto milliseconds since the epoch.
struct ClockAnchor {
    instant: Instant,
    epoch_ms: f64,
}

impl ClockAnchor {
    fn now() -> Self {
        let instant = Instant::now();
        let epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs_f64()
            * 1000.0;
        Self { instant, epoch_ms }
    }

    fn epoch_ms(&self, t: Instant) -> f64 {
        if t <= self.instant {
            self.epoch_ms - (self.instant - t).as_secs_f64() * 1000.0
        } else {
            self.epoch_ms + (t - self.instant).as_secs_f64() * 1000.0
        }
    }
}

/// Summed over the threads of `pid`: nanoseconds on a CPU and nanoseconds
/// runnable but waiting for one (`/proc/<pid>/task/*/schedstat`). Threads
/// that exit take their share with them, so this is a lower bound.
fn sched_totals(pid: u32) -> Option<(u64, u64)> {
    let mut totals = (0u64, 0u64);
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(text) = std::fs::read_to_string(task.ok()?.path().join("schedstat")) else {
            continue;
        };
        let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
        if let (Some(Some(cpu)), Some(Some(wait))) = (fields.next(), fields.next()) {
            totals.0 += cpu;
            totals.1 += wait;
        }
    }
    Some(totals)
}

/// The 1-minute load average (0 if unreadable).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The caller of lead `i`.
pub fn caller(i: i64) -> String {
    format!("{CALLER_PREFIX}{}", CALLER_BASE + i)
}

#[derive(Clone, Copy)]
enum Seed {
    /// Step 1 (`after = "30m"`) of leads that called 30 minutes before their
    /// timer's due time; lead `from + k` due at `first_due + k × step`.
    Stream { first_due: i64, step_us: i64 },
    /// Step 3 (`next_opening`) of leads that called three hours ago and had
    /// both earlier follow-ups; due from `first_due`, `step` apart.
    Far { first_due: i64, step_us: i64 },
}

/// [`seed`] while the service runs: on SQLite its transaction reads before
/// it writes, so a write by the service in between fails it at once with
/// "database is locked" (SQLite does not wait in that case); the chunk rolled
/// back and is simply tried again.
async fn seed_retrying(pool: &AnyPool, from: i64, to: i64, kind: Seed) -> anyhow::Result<()> {
    let mut tries = 0;
    loop {
        match seed(pool, from, to, kind).await {
            Err(err) if tries < 50 && format!("{err:#}").contains("database is locked") => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// Inserts leads `from..to` (callers `caller(from)`...) with their contact,
/// their sent instant text and one pending follow-up timer each, the way
/// the service writes them, in one transaction.
async fn seed(pool: &AnyPool, from: i64, to: i64, kind: Seed) -> anyhow::Result<()> {
    let now = now_ms();
    // Lead i: first call at `call_base + (i - from) × call_step_us / 1000`,
    // its timer (`step`) due at `due_base + (i - from) × due_step_us / 1000`.
    let (step, follow_ups_sent, call_base, call_step_us, due_base, due_step_us) = match kind {
        Seed::Stream { first_due, step_us } => (
            0,
            0,
            first_due - 30 * MINUTE_MS,
            step_us,
            first_due,
            step_us,
        ),
        Seed::Far { first_due, step_us } => (2, 2, now - 180 * MINUTE_MS, 0, first_due, step_us),
    };
    let mut tx = pool.begin().await?;
    let last_id: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM leads")
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
    // A recursive CTE: the same statement on SQLite and PostgreSQL.
    sqlx::query(
        "WITH RECURSIVE s(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i + 1 < $2)
         INSERT INTO leads (business_id, caller, tracking_number, status, call_count, first_call_at,
             window_ends_at, last_activity_at, created_at, updated_at, follow_ups_sent)
         SELECT $3, $4 || CAST($5 + i AS TEXT), $6, 'texted', 1, f, f + 86400000, f + 1000, f, f + 1000, $7
         FROM (SELECT i, $8 + ((i - $1) * $9) / 1000 AS f FROM s) t",
    )
    .bind(from)
    .bind(to)
    .bind(BUSINESS_ID)
    .bind(CALLER_PREFIX)
    .bind(CALLER_BASE)
    .bind(BUSINESS_NUMBER)
    .bind(follow_ups_sent as i64)
    .bind(call_base)
    .bind(call_step_us)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO contacts (business_id, phone, last_seen_at)
         SELECT business_id, caller, first_call_at FROM leads WHERE id > $1",
    )
    .bind(last_id)
    .execute(&mut *tx)
    .await?;
    // The instant text, sent 0.4 s after the call.
    sqlx::query(
        "INSERT INTO messages (business_id, lead_id, direction, kind, to_number, from_number, body,
             status, provider, provider_sid, attempts, trigger_at, created_at, send_started_at, sent_at,
             updated_at)
         SELECT business_id, id, 'outbound', 'instant', caller, tracking_number, $2, 'sent', 'twilio',
             'SMbench' || CAST(id AS TEXT), 1, first_call_at, first_call_at, first_call_at + 200,
             first_call_at + 400, first_call_at + 400
         FROM leads WHERE id > $1",
    )
    .bind(last_id)
    .bind("Sorry we missed your call at Bench Plumbing! How can we help? Reply STOP to opt out.")
    .execute(&mut *tx)
    .await?;
    // The timer, as `timers::follow_up_job(lead, step, due)` writes it.
    let key_suffix = format!(":{step}");
    let payload_suffix = format!(",\"step\":{step}}}");
    sqlx::query(
        "INSERT INTO jobs (kind, lead_id, unique_key, payload, status, run_at, due_at, attempts,
             max_attempts, created_at, updated_at)
         SELECT 'follow_up', id, 'follow_up:' || CAST(id AS TEXT) || $2,
             '{\"lead_id\":' || CAST(id AS TEXT) || $3, 'pending', d, d, 0, 5, $4, $4
         FROM (SELECT id, $5 + ((CAST(SUBSTR(caller, 6) AS BIGINT) - $6) * $7) / 1000 AS d
               FROM leads WHERE id > $1) t",
    )
    .bind(last_id)
    .bind(key_suffix)
    .bind(payload_suffix)
    .bind(now)
    .bind(due_base)
    .bind(CALLER_BASE + from)
    .bind(due_step_us)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn pending_jobs(pool: &AnyPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('pending', 'running')")
            .fetch_one(pool)
            .await?
            .try_get("n")?,
    )
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").context("not a URL")? + 3;
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// A new, empty database on the server of `url`: a benchmark needs a fresh
/// schema, and must not touch whatever the given database holds.
async fn fresh_postgres(url: &str) -> anyhow::Result<(String, String)> {
    let name = format!("ringback_bench_timers_{:08x}", rand::random::<u32>());
    let mut conn = sqlx::postgres::PgConnection::connect(url)
        .await
        .context("connecting to PostgreSQL to create a benchmark database")?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .context("creating a benchmark database (the user needs CREATEDB)")?;
    conn.close().await?;
    eprintln!("created PostgreSQL database {name} for this run");
    Ok((with_database(url, &name)?, name))
}

async fn drop_postgres(url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(pending: u64, rate: f64, window: u64) -> TimerPlan {
        TimerPlan {
            pending,
            rate,
            window: Duration::from_secs(window),
            lead_in: Duration::from_secs(10),
            drain: Duration::from_secs(10),
        }
    }

    #[test]
    fn levels_are_10k_and_the_target_above_the_stream() {
        assert_eq!(plan(100_000, 300.0, 30).stream_jobs(), 9_000);
        assert_eq!(plan(100_000, 300.0, 30).levels(), vec![10_000, 100_000]);
        assert_eq!(plan(5_000, 100.0, 10).levels(), vec![5_000]);
        assert_eq!(plan(1_000, 100.0, 10).levels(), Vec::<u64>::new());
        assert!(plan(500, 100.0, 10).validate().is_err());
        assert!(plan(100_000, 300.0, 30).validate().is_ok());
    }

    #[test]
    fn database_name_is_replaced_keeping_credentials_and_options() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5432/ringback", "x").unwrap(),
            "postgres://u:p@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
    }

    #[test]
    fn reads_scheduler_totals_of_a_process() {
        let (cpu, _wait) = sched_totals(std::process::id()).unwrap();
        assert!(cpu > 0);
        assert!(sched_totals(u32::MAX).is_none());
    }

    #[test]
    fn callers_are_new_york_numbers() {
        assert_eq!(caller(0), "+12122000000");
        assert_eq!(caller(99_999), "+12122099999");
        assert_eq!(
            ringback::core::compliance::quiet::area_code_info(&caller(0)).map(|(r, _)| r),
            Some("NY")
        );
    }

    #[test]
    fn config_parses_with_three_steps_and_open_quiet_hours() {
        let text = render_config();
        let dir = service::workspace_dir();
        let config = ringback::config::Config::parse(&text, "ringback.toml", &dir)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(config.business(BUSINESS_ID).unwrap().follow_ups.len(), 3);
    }

    /// Seeding writes rows the service's own code reads: leads, and jobs
    /// whose payload and key are those of `Job::FollowUp`.
    #[tokio::test]
    async fn seeded_rows_are_what_the_service_writes() {
        sqlx::any::install_default_drivers();
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", tmp.path().display());
        let store = ringback::store::Store::connect(&url, &Default::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let pool = AnyPool::connect(&url).await.unwrap();
        let due = now_ms() + 3_600_000;
        seed(
            &pool,
            0,
            3,
            Seed::Stream {
                first_due: due,
                step_us: 500_000,
            },
        )
        .await
        .unwrap();
        seed(
            &pool,
            3,
            5,
            Seed::Far {
                first_due: due + 7_200_000,
                step_us: 1_000_000,
            },
        )
        .await
        .unwrap();
        assert_eq!(pending_jobs(&pool).await.unwrap(), 5);
        let rows = sqlx::query("SELECT lead_id, unique_key, payload, due_at FROM jobs ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        let expected = ringback::core::jobs::Job::FollowUp {
            lead_id: 1,
            step: 0,
        };
        let key: String = rows[0].try_get("unique_key").unwrap();
        let payload: String = rows[0].try_get("payload").unwrap();
        assert_eq!(key, expected.unique_key(chrono::Utc::now()));
        assert_eq!(payload, expected.payload());
        let due_at: Vec<i64> = rows.iter().map(|r| r.try_get("due_at").unwrap()).collect();
        assert_eq!(
            due_at,
            vec![due, due + 500, due + 1000, due + 7_200_000, due + 7_201_000]
        );
        let key: String = rows[4].try_get("unique_key").unwrap();
        assert_eq!(key, "follow_up:5:2");
        let lead = store.lead(1).await.unwrap().unwrap();
        assert_eq!(lead.caller, caller(0));
        assert_eq!(lead.status, ringback::domain::LeadStatus::Texted);
        assert_eq!(lead.first_call_at.timestamp_millis(), due - 30 * MINUTE_MS);
        let (sent, _) = store
            .capped_texts_since(BUSINESS_ID, &caller(0), lead.first_call_at)
            .await
            .unwrap();
        assert_eq!(sent, 1);
        store.close().await;
    }
}
