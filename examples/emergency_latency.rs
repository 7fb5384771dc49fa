//! Emergency escalation latency, end to end against the real service
//! (in-process, SQLite, real clock) and a local stand-in for Twilio's
//! Messages and Calls APIs:
//!
//! - emergency reply → first page request at the provider (the on-call
//!   tech's SMS), p50/p99/max over N emergencies sent at a steady rate;
//! - ack-timeout firing accuracy: nobody acknowledges, so one ack timeout
//!   (1 minute, the shortest a roster allows) later the backup is paged;
//!   accuracy = (backup's page − primary's page) − 60 s.
//!
//! `cargo run --release --example emergency_latency [N]` (default 200;
//! takes about 70 s because the timeout is real time).

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Json, Router};
use ringback::clock::SystemClock;
use ringback::config::{Config, Settings};
use ringback::provider::twilio::signature::{sign, Algorithm};
use ringback::startup::{Options, Running};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "bench-token";
const PRIMARY: &str = "+15125550111";
const BACKUP: &str = "+15125550112";

type Seen = Arc<Mutex<Vec<(String, String, Instant)>>>;

async fn message(
    State(seen): State<Seen>,
    Form(f): Form<HashMap<String, String>>,
) -> Json<serde_json::Value> {
    let to = f.get("To").cloned().unwrap_or_default();
    let body = f.get("Body").cloned().unwrap_or_default();
    seen.lock().unwrap().push((to, body, Instant::now()));
    Json(
        serde_json::json!({"sid": format!("SM{}", uuid::Uuid::new_v4().simple()), "status": "queued"}),
    )
}

async fn call(Form(_f): Form<HashMap<String, String>>) -> Json<serde_json::Value> {
    Json(
        serde_json::json!({"sid": format!("CA{}", uuid::Uuid::new_v4().simple()), "status": "queued"}),
    )
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let seen: Seen = Arc::default();
    let mock = Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(message))
        .route("/2010-04-01/Accounts/{sid}/Calls.json", post(call))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mock_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, mock).await });

    let dir = tempfile::tempdir()?;
    let prompts = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts");
    let toml = format!(
        r#"[service]
prompts_dir = {prompts:?}
daily_cap = 1000
[[business]]
id = "spartan"
name = "Spartan Plumbing"
time_zone = "America/Chicago"
numbers = ["+15125550100"]
ring_phone = "+15125550199"
follow_ups = []
hours = {{ mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }}
senders = {{ "+15125550100" = {{ registration = "10dlc", campaign_id = "CBENCH1", status = "registered", mps = 100000 }} }}
[business.on_call]
owner = "Dana"
ack_timeout_minutes = 1
repages = 0
people = [ {{ name = "Dana", phone = "+15125550199" }}, {{ name = "Mike", phone = "{PRIMARY}" }}, {{ name = "Luis", phone = "{BACKUP}" }} ]
[[business.on_call.rotation]]
days = "daily"
hours = "all day"
primary = "Mike"
backup = "Luis"
"#
    );
    let config =
        Config::parse(&toml, "bench.toml", dir.path()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let vars: HashMap<&str, String> = [
        ("DATABASE_URL", db),
        ("PORT", "0".into()),
        ("RINGBACK_ADDR", "127.0.0.1".into()),
        ("TWILIO_ACCOUNT_SID", SID.into()),
        ("TWILIO_AUTH_TOKEN", TOKEN.into()),
        ("TWILIO_API_BASE", mock_url),
    ]
    .into_iter()
    .collect();
    let settings =
        Settings::from_lookup(|k| vars.get(k).cloned()).map_err(|e| anyhow::anyhow!(e))?;
    let mut opts = Options::new(settings, config);
    opts.clock = Arc::new(SystemClock);
    let app = Running::start(opts).await?;
    let base = app.url();
    let http = reqwest::Client::new();

    println!("{n} emergency replies at 20/s; nobody acknowledges (ack timeout 1 min)...");
    let mut sent_at = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let due = start + Duration::from_millis(50 * i as u64);
        tokio::time::sleep_until(due.into()).await;
        let caller = format!("+1512555{:04}", 2000 + i);
        let params: Vec<(String, String)> = [
            ("MessageSid", format!("SMbench{i}")),
            ("From", caller.clone()),
            ("To", "+15125550100".into()),
            ("Body", "I smell gas in the kitchen".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let url = format!("{base}/webhooks/twilio/sms");
        let sig = sign(TOKEN.as_bytes(), &url, &params, Algorithm::HmacSha1);
        let t0 = Instant::now();
        let r = http
            .post(&url)
            .header("X-Twilio-Signature", sig)
            .form(&params)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "webhook answered {}", r.status());
        sent_at.push((caller, t0));
    }
    // Wait for every backup page (one ack timeout after the primary's).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let backups = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(to, b, _)| to == BACKUP && b.starts_with("EMERGENCY"))
            .count();
        if backups >= n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = seen.lock().unwrap().clone();
    let page_of = |tech: &str, caller: &str| {
        seen.iter()
            .find(|(to, body, _)| {
                to == tech && body.starts_with("EMERGENCY") && body.contains(caller)
            })
            .map(|(_, _, at)| *at)
    };
    let (mut first_page, mut accuracy) = (Vec::new(), Vec::new());
    for (caller, t0) in &sent_at {
        if let Some(p) = page_of(PRIMARY, caller) {
            first_page.push(p.duration_since(*t0).as_secs_f64() * 1000.0);
            if let Some(b) = page_of(BACKUP, caller) {
                accuracy.push((b.duration_since(p).as_secs_f64() - 60.0) * 1000.0);
            }
        }
    }
    println!(
        "emergency reply -> first page request at the provider ({} of {n} paged):",
        first_page.len()
    );
    println!(
        "  p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms   (target p99 < 1000 ms)",
        pct(&mut first_page, 0.5),
        pct(&mut first_page, 0.99),
        pct(&mut first_page, 1.0)
    );
    println!(
        "ack timeout (60 s) firing accuracy, backup page - primary page - 60 s ({} timeouts):",
        accuracy.len()
    );
    println!(
        "  p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
        pct(&mut accuracy, 0.5),
        pct(&mut accuracy, 0.99),
        pct(&mut accuracy, 1.0)
    );
    app.shutdown().await;
    Ok(())
}
