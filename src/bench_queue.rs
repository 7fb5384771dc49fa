//! `ringback bench-queue`: how fast the office's queue page (`/app`) renders
//! with many open leads. It seeds a fresh SQLite database in a temporary
//! directory with `--leads` open leads of the config's first business,
//! starts the service on it, signs an owner in, and asks for the queue
//! page `--requests` times, one after another, over loopback; it prints the
//! latency percentiles (the whole request: session, queries, rendering).

use crate::clock::{to_ms, SystemClock};
use crate::config::{Config, Settings};
use crate::core::people::{Businesses, Role};
use crate::startup::{Options, Running};
use anyhow::Context;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchQueueArgs {
    /// Open leads to seed.
    #[arg(long, default_value_t = 10_000)]
    leads: usize,
    /// Queue pages to ask for (after 20 to warm up).
    #[arg(long, default_value_t = 500)]
    requests: usize,
    /// The page to time: the queue, or another page of the app on the same
    /// leads (`/app/scorecard`, `/app/review`).
    #[arg(long, default_value = "/app")]
    page: String,
}

pub async fn run(settings: Settings, args: BenchQueueArgs) -> anyhow::Result<()> {
    let config = Config::load(&settings.config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let business = config
        .businesses
        .first()
        .context("the config has no business")?;
    let (business_id, number) = (
        business.id.clone(),
        business
            .numbers
            .first()
            .map(|n| n.to_string())
            .context("the first business has no number")?,
    );
    let dir = tempfile_dir()?;
    let url = format!("sqlite://{}", dir.join("bench-queue.db").display());
    let vars = [
        ("DATABASE_URL", url.clone()),
        ("RINGBACK_ADDR", "127.0.0.1".to_string()),
        ("PORT", "0".to_string()),
    ];
    let settings = Settings::from_lookup(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .or_else(|| match k {
                "RINGBACK_CONFIG" => Some(settings.config_path.display().to_string()),
                _ => None,
            })
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let running = Running::start(Options {
        settings,
        config,
        clock: Arc::new(SystemClock),
    })
    .await?;
    let shell = running.shell.clone();
    seed(&shell.store, &business_id, &number, args.leads).await?;
    let (_, link) = shell
        .add_person("bench-owner", Role::Owner, &Businesses::All)
        .await?;
    let signed = shell.set_password(&link, "bench password 1234").await?;
    let http = reqwest::Client::new();
    anyhow::ensure!(
        args.page.starts_with("/app"),
        "--page must be a page of the app, e.g. /app/scorecard"
    );
    let page = format!("{}{}", running.url(), args.page);
    let cookie = format!("rb_session={}", signed.session);
    let mut took = Vec::with_capacity(args.requests);
    let mut bytes = 0;
    for i in 0..args.requests + 20 {
        let start = Instant::now();
        let resp = http.get(&page).header("cookie", &cookie).send().await?;
        anyhow::ensure!(
            resp.status() == 200,
            "{} answered {}",
            args.page,
            resp.status()
        );
        let body = resp.bytes().await?;
        if i >= 20 {
            took.push(start.elapsed());
            bytes = body.len();
        }
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{} page, {} open leads (SQLite), {} requests: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} KB a page)",
        args.page,
        args.leads,
        took.len(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(*took.last().unwrap_or(&Duration::ZERO)),
        bytes / 1024
    );
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ringback-bench-queue-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `n` open leads over the last 20 hours: a third claimed, a sixth with a
/// call-back attempt on their timeline.
async fn seed(
    store: &crate::store::Store,
    business_id: &str,
    number: &str,
    n: usize,
) -> anyhow::Result<()> {
    use sqlx::Executor;
    let now = to_ms(chrono::Utc::now());
    let mut conn = store.pool().acquire().await?;
    conn.execute("BEGIN").await?;
    for i in 0..n {
        let at = now - (i as i64 * 20 * 3600 * 1000 / n.max(1) as i64);
        let status = ["new", "texted", "engaged", "booking_requested"][i % 4];
        let owner = (i % 3 == 0).then(|| format!("dispatcher{}", i % 5));
        sqlx::query(
            "INSERT INTO leads (business_id, caller, tracking_number, status, call_count, first_call_at,
                 window_ends_at, last_activity_at, created_at, updated_at, owner, intent, call_attempts)
             VALUES ($1, $2, $3, $4, 1, $5, $5, $5, $5, $5, $6, $7, $8)",
        )
        .bind(business_id)
        .bind(format!("+1512{:07}", 2_000_000 + i))
        .bind(number)
        .bind(status)
        .bind(at)
        .bind(owner)
        .bind(["booking", "pricing", "other"][i % 3])
        .bind((i % 6 == 0) as i64)
        .execute(&mut *conn)
        .await?;
        if i % 6 == 0 {
            sqlx::query(
                "INSERT INTO lead_events (lead_id, kind, detail, at) VALUES (last_insert_rowid(), 'call_attempt', 'attempt 1 by bench: no_answer', $1)",
            )
            .bind(at + 600_000)
            .execute(&mut *conn)
            .await?;
        }
    }
    conn.execute("COMMIT").await?;
    Ok(())
}
