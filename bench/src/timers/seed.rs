//! Seeding the bench database with leads and their pending timers, and
//! the PostgreSQL databases each run creates and drops.

use super::*;

/// The caller of lead `i`.
pub fn caller(i: i64) -> String {
    format!("{CALLER_PREFIX}{}", CALLER_BASE + i)
}

#[derive(Clone, Copy)]
pub(super) enum Seed {
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
pub(super) async fn seed_retrying(
    pool: &AnyPool,
    from: i64,
    to: i64,
    kind: Seed,
) -> anyhow::Result<()> {
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
pub(super) async fn seed(pool: &AnyPool, from: i64, to: i64, kind: Seed) -> anyhow::Result<()> {
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

pub(super) async fn pending_jobs(pool: &AnyPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('pending', 'running')")
            .fetch_one(pool)
            .await?
            .try_get("n")?,
    )
}

pub(super) fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` with its database name replaced by `name`.
pub(super) fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
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
pub(super) async fn fresh_postgres(url: &str) -> anyhow::Result<(String, String)> {
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

pub(super) async fn drop_postgres(url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}
