//! Several ringback processes on one PostgreSQL database, behind a "load
//! balancer" that spreads each call's webhooks over different instances; one
//! instance is SIGKILLed a third of the way through. Black-box: the real
//! binary, real HTTP, a mock Twilio. The promise under test: every caller
//! gets exactly one text, no matter which instance heard which webhook, how
//! many times, or which one died holding claimed jobs — including texts the
//! carrier had already accepted when the instance died (in doubt), which the
//! survivors must reconcile with the carrier's message list, not resend.
//!
//! Figures are printed with `--nocapture`; a failure prints, per bad caller,
//! which instance heard which webhook and what the database holds.
//!
//! Needs a PostgreSQL server: `RINGBACK_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432`.
//! Without it both tests print that they skipped and pass.

use crate::helpers::fresh_postgres_database;
use crate::helpers::{MockTwilio, Script, Sent, ACCOUNT_SID, AUTH_TOKEN};
use futures::StreamExt;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use ringback::provider::twilio::signature::{self, Algorithm};
use sqlx::Connection;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TRACKING: &str = "+15125550100";
const INSTANCES: usize = 3;
/// HTTP requests in flight at once (each call is two concurrent requests).
const IN_FLIGHT_CALLS: usize = 16;

/// The two tests share a 2-core machine: each runs alone (one after the
/// other, and with no other test beside it) so that its figures mean
/// something.
async fn serial() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    crate::helpers::alone().await
}

fn postgres_base() -> Option<String> {
    let url = std::env::var("RINGBACK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped: multi-instance test needs PostgreSQL (set RINGBACK_TEST_POSTGRES_URL)");
    }
    url
}

const BUSINESS: &str = r#"
[[business]]
id = "acme"
name = "Acme Electric"
time_zone = "America/Chicago"
numbers = ["+15125550100"]
ring_phone = "+15125550199"
call_screening = false
hours = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }
senders = { "+15125550100" = { registration = "10dlc", campaign_id = "CACME0001", status = "registered", mps = 1000 } }
"#;

/// `business_extra` goes into the business table (e.g. its follow-ups).
fn write_config(dir: &Path, business_extra: &str) -> PathBuf {
    let prompts = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let text = format!(
        "[service]\nprompts_dir = {:?}\nlease_seconds = 5\nsend_timeout_seconds = 2.0\n\
         # real time here: texts must not wait for the recipient's daytime\n\
         instant_any_hour = true\n\
         quiet_hours = {{ default = \"00:00-23:59\", TX = \"00:00-23:59\" }}\n{BUSINESS}{business_extra}\n",
        prompts.display().to_string()
    );
    let path = dir.join("ringback.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

struct Instance {
    url: String,
    child: Option<Child>,
    log: PathBuf,
}

/// The running processes. Dropping it (also on a panic) kills them all, so a
/// failing test leaves nothing behind.
struct Fleet {
    instances: Vec<Instance>,
}

impl Fleet {
    fn spawn(n: usize, dir: &Path, config: &Path, database_url: &str, mock_url: &str) -> Fleet {
        let mut instances = Vec::new();
        for i in 0..n {
            let port = free_port();
            let log = dir.join(format!("instance-{i}.log"));
            let out = std::fs::File::create(&log).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_ringback"))
                .arg("serve")
                .env("RINGBACK_CONFIG", config)
                .env("DATABASE_URL", database_url)
                .env("RINGBACK_ADDR", "127.0.0.1")
                .env("PORT", port.to_string())
                .env("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
                .env("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
                .env("TWILIO_API_BASE", mock_url)
                .env("RINGBACK_ADMIN_TOKEN", "admin")
                .env("RUST_LOG", "warn")
                .env_remove("RINGBACK_PUBLIC_URL")
                .env_remove("TELNYX_API_KEY")
                .env_remove("TELNYX_PUBLIC_KEY")
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .expect("spawn ringback");
            instances.push(Instance {
                url: format!("http://127.0.0.1:{port}"),
                child: Some(child),
                log,
            });
        }
        Fleet { instances }
    }

    fn urls(&self) -> Vec<String> {
        self.instances.iter().map(|i| i.url.clone()).collect()
    }

    fn log_tail(&self, i: usize, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.instances[i].log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn print_logs(&self, lines: usize) {
        for i in 0..self.instances.len() {
            eprintln!(
                "---- instance {i} ({}) log, last {lines} lines ----\n{}",
                self.instances[i].url,
                self.log_tail(i, lines)
            );
        }
    }

    async fn wait_ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for i in 0..self.instances.len() {
            loop {
                if let Some(status) = self.instances[i]
                    .child
                    .as_mut()
                    .unwrap()
                    .try_wait()
                    .unwrap()
                {
                    panic!(
                        "instance {i} exited during start-up ({status}):\n{}",
                        self.log_tail(i, 50)
                    );
                }
                let ok = http
                    .get(format!("{}/readyz", self.instances[i].url))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                if ok {
                    break;
                }
                if Instant::now() > deadline {
                    panic!(
                        "instance {i} not ready after 30 s:\n{}",
                        self.log_tail(i, 50)
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// SIGKILL: no graceful shutdown, claimed jobs keep their lease.
    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.instances[i].child.take() {
            c.kill().expect("SIGKILL");
            let _ = c.wait();
        }
    }

    fn assert_alive(&mut self, except: Option<usize>) {
        for i in 0..self.instances.len() {
            if Some(i) == except {
                continue;
            }
            if let Some(status) = self.instances[i]
                .child
                .as_mut()
                .and_then(|c| c.try_wait().unwrap())
            {
                panic!(
                    "instance {i} died on its own ({status}):\n{}",
                    self.log_tail(i, 50)
                );
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in 0..self.instances.len() {
            self.kill(i);
        }
    }
}

/// What the "carrier" saw while delivering webhooks.
#[derive(Default)]
struct Delivery {
    /// Requests that failed at the connection level (dead instance, reset, timeout).
    connection_errors: AtomicUsize,
    /// Requests answered 5xx.
    server_errors: AtomicUsize,
    /// 2xx answers per instance.
    answered_by: [AtomicUsize; INSTANCES],
    /// Requests given up on or answered 4xx: each is a failure of the test.
    failures: Mutex<Vec<String>>,
    /// Per caller: which webhook went where (for evidence on failure).
    trail: Mutex<HashMap<String, Vec<String>>>,
    /// Distinct 5xx bodies, for the report.
    server_error_samples: Mutex<BTreeSet<String>>,
}

/// Posts a signed Twilio webhook to instance `first`; on a connection
/// failure or a 5xx, retries on the next instance, as a carrier retries a
/// failed webhook. Signs for the URL actually posted to. Returns the
/// instance that answered.
async fn deliver(
    http: &reqwest::Client,
    urls: &[String],
    first: usize,
    path: &str,
    params: &[(String, String)],
    d: &Delivery,
) -> Option<usize> {
    let mut last = String::new();
    for attempt in 0..40usize {
        let i = (first + attempt) % urls.len();
        let url = format!("{}{path}", urls[i]);
        let sig = signature::sign(AUTH_TOKEN.as_bytes(), &url, params, Algorithm::HmacSha1);
        match http
            .post(&url)
            .header("X-Twilio-Signature", sig)
            .form(params)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                d.answered_by[i].fetch_add(1, Ordering::Relaxed);
                let _ = r.bytes().await;
                return Some(i);
            }
            Ok(r) if r.status().is_server_error() => {
                d.server_errors.fetch_add(1, Ordering::Relaxed);
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                let sample = format!("{status} {}", body.chars().take(200).collect::<String>());
                d.server_error_samples
                    .lock()
                    .unwrap()
                    .insert(sample.clone());
                last = format!("instance {i}: {sample}");
                tokio::time::sleep(Duration::from_millis(20 * (attempt as u64 + 1).min(10))).await;
            }
            Ok(r) => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                d.failures.lock().unwrap().push(format!(
                    "{path} {params:?} -> instance {i} answered {status}: {body}"
                ));
                return None;
            }
            Err(e) => {
                d.connection_errors.fetch_add(1, Ordering::Relaxed);
                last = format!("instance {i}: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    d.failures.lock().unwrap().push(format!(
        "{path} {params:?}: gave up after 40 attempts; last: {last}"
    ));
    None
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn dial_params(call_sid: &str, from: &str) -> Vec<(String, String)> {
    pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", call_sid),
        ("From", from),
        ("To", TRACKING),
        ("CallStatus", "in-progress"),
        ("Direction", "inbound"),
        ("DialCallStatus", "no-answer"),
        ("DialCallDuration", "0"),
    ])
}

fn status_params(call_sid: &str, from: &str) -> Vec<(String, String)> {
    pairs(&[
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", call_sid),
        ("From", from),
        ("To", TRACKING),
        ("CallStatus", "no-answer"),
        ("Direction", "inbound"),
        ("CallDuration", "0"),
        ("SequenceNumber", "3"),
    ])
}

/// Distinct, valid NANP callers (+1 512 555 2000, 2001, ...), clear of the
/// business's own numbers.
fn callers(n: usize) -> Vec<String> {
    assert!(n <= 7000);
    (0..n).map(|i| format!("+1512555{}", 2000 + i)).collect()
}

async fn scalar(conn: &mut sqlx::PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// What the database says about one caller, for a failure report.
async fn db_evidence(conn: &mut sqlx::PgConnection, phone: &str) -> String {
    use sqlx::Row;
    let mut out = String::new();
    let leads = sqlx::query(
        "SELECT id, status, call_count, first_call_at FROM leads WHERE caller = $1 ORDER BY id",
    )
    .bind(phone)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in leads {
        out += &format!(
            "    lead id={} status={} call_count={} first_call_at={}\n",
            r.get::<i64, _>("id"),
            r.get::<String, _>("status"),
            r.get::<i64, _>("call_count"),
            r.get::<i64, _>("first_call_at")
        );
    }
    let calls = sqlx::query(
        "SELECT call_sid, lead_id, status, missed_trigger FROM calls WHERE caller = $1 ORDER BY id",
    )
    .bind(phone)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in calls {
        out += &format!(
            "    call {} lead={:?} status={} trigger={:?}\n",
            r.get::<String, _>("call_sid"),
            r.get::<Option<i64>, _>("lead_id"),
            r.get::<String, _>("status"),
            r.get::<Option<String>, _>("missed_trigger")
        );
    }
    let msgs = sqlx::query(
        "SELECT id, lead_id, kind, status, provider_sid, attempts, send_started_at, sent_at, created_at
         FROM messages WHERE to_number = $1 OR from_number = $1 ORDER BY id",
    )
    .bind(phone)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in msgs {
        let id: i64 = r.get("id");
        out += &format!(
            "    message id={id} lead={:?} kind={} status={} sid={:?} attempts={} created={} send_started={:?} sent={:?}\n",
            r.get::<Option<i64>, _>("lead_id"),
            r.get::<String, _>("kind"),
            r.get::<String, _>("status"),
            r.get::<Option<String>, _>("provider_sid"),
            r.get::<i64, _>("attempts"),
            r.get::<i64, _>("created_at"),
            r.get::<Option<i64>, _>("send_started_at"),
            r.get::<Option<i64>, _>("sent_at"),
        );
        let jobs = sqlx::query("SELECT id, unique_key, status, attempts, lease_token, last_error, run_at FROM jobs WHERE payload LIKE $1")
            .bind(format!("%\"message_id\":{id}}}%"))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        for j in jobs {
            out += &format!(
                "      job id={} key={} status={} attempts={} lease_token={} run_at={} last_error={:?}\n",
                j.get::<i64, _>("id"),
                j.get::<String, _>("unique_key"),
                j.get::<String, _>("status"),
                j.get::<i64, _>("attempts"),
                j.get::<i64, _>("lease_token"),
                j.get::<i64, _>("run_at"),
                j.get::<Option<String>, _>("last_error"),
            );
        }
    }
    out
}

fn group_by_to(sent: &[Sent]) -> BTreeMap<String, Vec<&Sent>> {
    let mut m: BTreeMap<String, Vec<&Sent>> = BTreeMap::new();
    for s in sent {
        m.entry(s.to.clone()).or_default().push(s);
    }
    m
}

/// Everything a multi-instance test needs, torn down on drop.
struct Env {
    fleet: Fleet,
    mock: MockTwilio,
    http: reqwest::Client,
    db: sqlx::PgConnection,
    _dir: tempfile::TempDir,
}

async fn start_env(base: &str, business_extra: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), business_extra);
    let database_url = fresh_postgres_database(base).await;
    let mock = MockTwilio::start().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let started = Instant::now();
    // All at once: they race to migrate the same fresh database, as a
    // rolling deploy of several replicas would.
    let mut fleet = Fleet::spawn(INSTANCES, dir.path(), &config, &database_url, &mock.url);
    fleet.wait_ready(&http).await;
    eprintln!(
        "{INSTANCES} instances ready in {:.1}s: {:?}",
        started.elapsed().as_secs_f64(),
        fleet.urls()
    );
    let db = sqlx::PgConnection::connect(&database_url)
        .await
        .expect("connect to the test database");
    Env {
        fleet,
        mock,
        http,
        db,
        _dir: dir,
    }
}

/// Waits (bounded) until `done(sent, db)` holds; returns whether it did.
async fn wait_until<F>(env: &mut Env, limit: Duration, mut done: F) -> bool
where
    F: for<'a> FnMut(&'a [Sent], i64, i64) -> bool,
{
    let deadline = Instant::now() + limit;
    loop {
        let sent = env.mock.sent();
        let pending_jobs =
            scalar(&mut env.db, "SELECT COUNT(*) FROM jobs WHERE kind = 'send_message' AND status IN ('pending', 'running')").await;
        let unsettled =
            scalar(&mut env.db, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND status IN ('queued', 'sending')").await;
        if done(&sent, pending_jobs, unsettled) {
            return true;
        }
        if Instant::now() > deadline {
            eprintln!("gave up waiting: texts={} pending send jobs={pending_jobs} queued/sending messages={unsettled}", sent.len());
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_one_killed_every_caller_texted_exactly_once() {
    let Some(base) = postgres_base() else { return };
    let _serial = serial().await;
    // One follow-up a minute after each call: fired by whichever live
    // instance claims it, exactly once.
    let mut env = start_env(
        &base,
        "follow_ups = [{ after = \"1m\", template = \"follow_up_1.txt\" }]",
    )
    .await;

    const CALLERS: usize = 1000;
    const REPEATERS: usize = 500;
    const KILLED: usize = 1;
    const HUNG_SENDS: usize = 24;
    let seed: u64 = std::env::var("RINGBACK_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("seed {seed} (set RINGBACK_TEST_SEED to replay the same order)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let callers = callers(CALLERS);
    // (caller, CallSid): every caller once, the first REPEATERS twice.
    let mut calls: Vec<(String, String)> = callers
        .iter()
        .chain(callers.iter().take(REPEATERS))
        .map(|c| (c.clone(), format!("CA{}", uuid::Uuid::new_v4().simple())))
        .collect();
    calls.shuffle(&mut rng);
    let offsets: Vec<usize> = (0..calls.len())
        .map(|_| rng.random_range(0..INSTANCES))
        .collect();
    let kill_at = calls.len() / 3;

    let urls = env.fleet.urls();
    let delivery = Delivery::default();
    let fleet = Mutex::new(&mut env.fleet);
    let killed_after = Mutex::new(None::<Duration>);
    let started = Instant::now();
    futures::stream::iter(calls.iter().enumerate())
        .map(|(n, (from, sid))| {
            let (urls, http, d, fleet, killed_after, started, mock) = (
                &urls,
                &env.http,
                &delivery,
                &fleet,
                &killed_after,
                started,
                &env.mock,
            );
            let first = offsets[n];
            async move {
                if n == kill_at {
                    // Make the next sends hang (accepted and recorded by the
                    // carrier, answered late but within the send timeout), so
                    // the killed instance most likely dies with texts the
                    // carrier has but its database calls in doubt
                    // (`sending`). Whoever reclaims them must find them in
                    // the carrier's list instead of sending them again.
                    let before = mock.requests();
                    for _ in 0..HUNG_SENDS {
                        mock.push(Script::AcceptButHang(Duration::from_millis(1500)));
                    }
                    let t = Instant::now();
                    while mock.requests() < before + HUNG_SENDS
                        && t.elapsed() < Duration::from_secs(2)
                    {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    fleet.lock().unwrap().kill(KILLED);
                    *killed_after.lock().unwrap() = Some(started.elapsed());
                    eprintln!(
                        "SIGKILLed instance {KILLED} after {n} calls started ({:.2}s)",
                        started.elapsed().as_secs_f64()
                    );
                }
                // The dial result to one instance and the duplicate status
                // callback to another, at the same moment.
                let (dp, sp) = (dial_params(sid, from), status_params(sid, from));
                let dial = deliver(http, urls, first, "/webhooks/twilio/voice/dial", &dp, d);
                let status = deliver(
                    http,
                    urls,
                    first + 1,
                    "/webhooks/twilio/voice/status",
                    &sp,
                    d,
                );
                let (a, b) = futures::join!(dial, status);
                d.trail
                    .lock()
                    .unwrap()
                    .entry(from.clone())
                    .or_default()
                    .push(format!(
                        "{sid}: dial -> instance {a:?}, status -> instance {b:?}"
                    ));
            }
        })
        .buffer_unordered(IN_FLIGHT_CALLS)
        .collect::<Vec<()>>()
        .await;
    let drive = started.elapsed();
    env.fleet.assert_alive(Some(KILLED));
    eprintln!(
        "delivered {} calls ({} webhooks) in {:.2}s ({:.0} webhooks/s); answered per instance {:?}; connection errors {}, 5xx {}",
        calls.len(),
        calls.len() * 2,
        drive.as_secs_f64(),
        (calls.len() * 2) as f64 / drive.as_secs_f64(),
        delivery.answered_by.iter().map(|a| a.load(Ordering::Relaxed)).collect::<Vec<_>>(),
        delivery.connection_errors.load(Ordering::Relaxed),
        delivery.server_errors.load(Ordering::Relaxed),
    );
    for s in delivery.server_error_samples.lock().unwrap().iter().take(5) {
        eprintln!("  5xx sample: {s}");
    }
    let failures = delivery.failures.lock().unwrap().clone();
    if !failures.is_empty() {
        env.fleet.print_logs(40);
        panic!(
            "{} webhooks were not accepted; first few:\n{}",
            failures.len(),
            failures[..failures.len().min(10)].join("\n")
        );
    }

    // The killed instance's claimed jobs come back after their 5 s lease.
    let settled = wait_until(
        &mut env,
        Duration::from_secs(60),
        |sent, pending, unsettled| {
            let distinct: BTreeSet<&str> = sent.iter().map(|s| s.to.as_str()).collect();
            distinct.len() >= CALLERS && pending == 0 && unsettled == 0
        },
    )
    .await;
    let all_texted = started.elapsed();
    // A moment more, so that a late duplicate has a chance to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    env.fleet.assert_alive(Some(KILLED));

    // The instant texts (follow-ups come a minute later and are checked
    // below).
    let sent: Vec<Sent> = env
        .mock
        .sent()
        .into_iter()
        .filter(|s| !is_follow_up(s))
        .collect();
    let by_to = group_by_to(&sent);
    let caller_set: BTreeSet<&str> = callers.iter().map(String::as_str).collect();
    let duplicates: Vec<(&String, &Vec<&Sent>)> =
        by_to.iter().filter(|(_, v)| v.len() > 1).collect();
    let missing: Vec<&str> = caller_set
        .iter()
        .copied()
        .filter(|c| !by_to.contains_key(*c))
        .collect();
    let strangers: Vec<&String> = by_to
        .keys()
        .filter(|t| !caller_set.contains(t.as_str()))
        .collect();
    let leads = scalar(&mut env.db, "SELECT COUNT(*) FROM leads").await;
    let call_rows = scalar(&mut env.db, "SELECT COUNT(*) FROM calls").await;
    let call_count_sum = scalar(
        &mut env.db,
        "SELECT COALESCE(SUM(call_count), 0)::BIGINT FROM leads",
    )
    .await;
    let unsettled =
        scalar(&mut env.db, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND status IN ('queued', 'sending')").await;
    let outbound_sent =
        scalar(&mut env.db, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND status IN ('sent', 'delivered')").await;
    let reclaimed = scalar(
        &mut env.db,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'send_message' AND lease_token > 1",
    )
    .await;
    let in_doubt_looked_up = env.mock.list_requests();
    let retried_messages = scalar(
        &mut env.db,
        "SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND attempts > 1",
    )
    .await;

    eprintln!(
        "figures: calls={} callers={} repeat callers={} duplicate deliveries (same CallSid, other instance)={} texts={} distinct recipients={} \
         duplicate texts={} missing={} strangers={} | db: leads={leads} calls={call_rows} sum(call_count)={call_count_sum} \
         outbound sent={outbound_sent} queued/sending={unsettled} send jobs claimed more than once={reclaimed} \
         messages attempted more than once={retried_messages} \
         | provider send requests={} message-list look-ups={in_doubt_looked_up} | killed instance {KILLED} at {:.2}s, \
         drive {:.2}s, all texted by {:.2}s",
        calls.len(),
        CALLERS,
        REPEATERS,
        calls.len(), // every call's status callback repeats its dial result
        sent.len(),
        by_to.len(),
        duplicates.len(),
        missing.len(),
        strangers.len(),
        env.mock.requests(),
        killed_after.lock().unwrap().unwrap_or_default().as_secs_f64(),
        drive.as_secs_f64(),
        all_texted.as_secs_f64(),
    );

    let ok = settled
        && duplicates.is_empty()
        && missing.is_empty()
        && strangers.is_empty()
        && leads == CALLERS as i64
        && unsettled == 0;
    if !ok {
        // A copy: the report below awaits database reads.
        let trail = delivery.trail.lock().unwrap().clone();
        for (to, texts) in duplicates.iter().take(10) {
            eprintln!("DUPLICATE: {to} got {} texts:", texts.len());
            for t in texts.iter() {
                eprintln!(
                    "    {} at {:?} after start: {:?}",
                    t.sid,
                    t.at.saturating_duration_since(started),
                    t.body
                );
            }
            for line in trail.get(*to).into_iter().flatten() {
                eprintln!("    webhook {line}");
            }
            eprint!("{}", db_evidence(&mut env.db, to).await);
        }
        for to in missing.iter().take(10) {
            eprintln!("MISSING: {to} got no text");
            for line in trail.get(*to).into_iter().flatten() {
                eprintln!("    webhook {line}");
            }
            eprint!("{}", db_evidence(&mut env.db, to).await);
        }
        env.fleet.print_logs(40);
    }
    assert!(
        settled,
        "the outbox never settled within 60 s (see figures above)"
    );
    assert!(
        duplicates.is_empty(),
        "{} callers got more than one text: {:?}",
        duplicates.len(),
        duplicates.iter().map(|d| d.0).take(20).collect::<Vec<_>>()
    );
    assert!(
        missing.is_empty(),
        "{} callers got no text: {:?}",
        missing.len(),
        &missing[..missing.len().min(20)]
    );
    assert!(
        strangers.is_empty(),
        "texts to numbers that never called: {strangers:?}"
    );
    assert_eq!(leads, CALLERS as i64, "one lead per caller");
    assert_eq!(call_rows, calls.len() as i64, "every call recorded once");
    assert_eq!(unsettled, 0, "no message left queued or sending");

    // A minute after each call its follow-up timer falls due; the two live
    // instances race to claim them. Each fires exactly once.
    // (Bounded generously: a timer that finds its lead not yet texted looks
    // again a minute later.)
    let followed = wait_until(
        &mut env,
        Duration::from_secs(240),
        |sent, pending, unsettled| {
            sent.iter().filter(|s| is_follow_up(s)).count() >= CALLERS
                && pending == 0
                && unsettled == 0
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let follow_ups: Vec<Sent> = env.mock.sent().into_iter().filter(is_follow_up).collect();
    let by_to = group_by_to(&follow_ups);
    let twice: Vec<&String> = by_to
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, _)| k)
        .collect();
    let timers_not_done = scalar(
        &mut env.db,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'follow_up' AND status <> 'done'",
    )
    .await;
    let timers_claimed_again = scalar(
        &mut env.db,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'follow_up' AND lease_token > 1",
    )
    .await;
    eprintln!(
        "follow-ups: {} texts to {} callers, {} twice, timers not done {timers_not_done}, claimed more than once {timers_claimed_again}",
        follow_ups.len(),
        by_to.len(),
        twice.len()
    );
    if !followed {
        let missing: Vec<&String> = callers.iter().filter(|c| !by_to.contains_key(*c)).collect();
        for c in missing.iter().take(5) {
            eprintln!("NO FOLLOW-UP: {c}");
            eprint!("{}", db_evidence(&mut env.db, c).await);
            let rows = sqlx::query("SELECT j.status, j.run_at, j.attempts, j.last_error, j.lease_token FROM jobs j JOIN leads l ON l.id = j.lead_id WHERE l.caller = $1 AND j.kind = 'follow_up'")
                .bind(c.as_str())
                .fetch_all(&mut env.db)
                .await
                .unwrap();
            for r in rows {
                use sqlx::Row;
                eprintln!(
                    "    timer status={} run_at={} attempts={} error={:?} token={}",
                    r.get::<String, _>(0),
                    r.get::<i64, _>(1),
                    r.get::<i64, _>(2),
                    r.get::<Option<String>, _>(3),
                    r.get::<i64, _>(4)
                );
            }
        }
    }
    assert!(followed, "the follow-ups never all fired within 240 s");
    assert!(twice.is_empty(), "follow-ups sent twice: {twice:?}");
    assert_eq!(by_to.len(), CALLERS, "every caller's follow-up fired");
    assert_eq!(timers_not_done, 0, "every follow-up timer completed");
}

/// The follow-up text (`prompts/follow_up_1.txt`), not the instant one.
fn is_follow_up(s: &Sent) -> bool {
    s.body.contains("Still need a hand")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_spread_across_instances_confirm_opt_out_once() {
    let Some(base) = postgres_base() else { return };
    let _serial = serial().await;
    let mut env = start_env(&base, "follow_ups = []").await;
    const CALLERS: usize = 100;
    let callers: Vec<String> = (0..CALLERS)
        .map(|i| format!("+1512555{}", 8000 + i))
        .collect();
    let urls = env.fleet.urls();
    let delivery = Delivery::default();
    let started = Instant::now();

    // First the missed calls, so each caller has been texted.
    futures::stream::iter(callers.iter().enumerate())
        .map(|(n, from)| {
            let (urls, http, d) = (&urls, &env.http, &delivery);
            async move {
                let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
                deliver(
                    http,
                    urls,
                    n,
                    "/webhooks/twilio/voice/dial",
                    &dial_params(&sid, from),
                    d,
                )
                .await;
            }
        })
        .buffer_unordered(IN_FLIGHT_CALLS)
        .collect::<Vec<()>>()
        .await;
    let texted = wait_until(
        &mut env,
        Duration::from_secs(30),
        |sent, pending, unsettled| sent.len() >= CALLERS && pending == 0 && unsettled == 0,
    )
    .await;
    assert!(texted, "the first texts never went out");

    // Then STOP from each, the same message delivered to two instances at once.
    futures::stream::iter(callers.iter().enumerate())
        .map(|(n, from)| {
            let (urls, http, d) = (&urls, &env.http, &delivery);
            async move {
                let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
                let p = pairs(&[
                    ("AccountSid", ACCOUNT_SID),
                    ("MessageSid", &sid),
                    ("From", from),
                    ("To", TRACKING),
                    ("Body", "STOP"),
                    ("NumMedia", "0"),
                ]);
                let (a, b) = futures::join!(
                    deliver(http, urls, n, "/webhooks/twilio/sms", &p, d),
                    deliver(http, urls, n + 1, "/webhooks/twilio/sms", &p, d)
                );
                d.trail
                    .lock()
                    .unwrap()
                    .entry(from.clone())
                    .or_default()
                    .push(format!("{sid}: STOP -> instances {a:?} and {b:?}"));
            }
        })
        .buffer_unordered(IN_FLIGHT_CALLS)
        .collect::<Vec<()>>()
        .await;
    let failures = delivery.failures.lock().unwrap().clone();
    if !failures.is_empty() {
        env.fleet.print_logs(40);
        panic!(
            "{} webhooks were not accepted; first few:\n{}",
            failures.len(),
            failures[..failures.len().min(10)].join("\n")
        );
    }
    let is_confirmation = |s: &Sent| s.body.contains("unsubscribed");
    let settled = wait_until(
        &mut env,
        Duration::from_secs(30),
        |sent, pending, unsettled| {
            sent.iter().filter(|s| is_confirmation(s)).count() >= CALLERS
                && pending == 0
                && unsettled == 0
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    env.fleet.assert_alive(None);

    let sent = env.mock.sent();
    let confirmations: Vec<Sent> = sent
        .iter()
        .filter(|s| is_confirmation(s))
        .cloned()
        .collect();
    let by_to = group_by_to(&confirmations);
    let duplicates: Vec<&String> = by_to
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(k, _)| k)
        .collect();
    let missing: Vec<&String> = callers.iter().filter(|c| !by_to.contains_key(*c)).collect();
    let opt_outs = scalar(
        &mut env.db,
        "SELECT COUNT(*) FROM consent_events WHERE action = 'opt_out'",
    )
    .await;
    let inbound = scalar(
        &mut env.db,
        "SELECT COUNT(*) FROM messages WHERE direction = 'inbound'",
    )
    .await;
    eprintln!(
        "figures: callers={CALLERS} STOP webhooks={} texts={} confirmations={} distinct confirmed={} duplicate confirmations={} \
         missing={} | db: opt_out ledger rows={opt_outs} inbound messages={inbound} | answered per instance {:?}, 5xx {} | {:.2}s",
        CALLERS * 2,
        sent.len(),
        confirmations.len(),
        by_to.len(),
        duplicates.len(),
        missing.len(),
        delivery.answered_by.iter().map(|a| a.load(Ordering::Relaxed)).collect::<Vec<_>>(),
        delivery.server_errors.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    );
    if !(settled && duplicates.is_empty() && missing.is_empty()) {
        // A copy: the report below awaits database reads.
        let trail = delivery.trail.lock().unwrap().clone();
        for to in duplicates
            .iter()
            .map(|s| s.as_str())
            .chain(missing.iter().map(|s| s.as_str()))
            .take(10)
        {
            eprintln!(
                "PROBLEM: {to} got {} confirmations",
                by_to.get(to).map_or(0, |v| v.len())
            );
            for line in trail.get(to).into_iter().flatten() {
                eprintln!("    webhook {line}");
            }
            eprint!("{}", db_evidence(&mut env.db, to).await);
        }
        env.fleet.print_logs(40);
    }
    assert!(settled, "the opt-out confirmations never settled");
    assert!(
        duplicates.is_empty(),
        "callers with more than one opt-out confirmation: {duplicates:?}"
    );
    assert!(
        missing.is_empty(),
        "callers with no opt-out confirmation: {missing:?}"
    );
    assert_eq!(
        opt_outs, CALLERS as i64,
        "one opt-out in the consent ledger per STOP (the duplicate delivery changes nothing)"
    );
    assert_eq!(inbound, CALLERS as i64, "each inbound STOP recorded once");
}
