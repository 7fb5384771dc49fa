//! Black-box test harness: the real app on port 0, a fresh database per
//! test (SQLite file, or a new PostgreSQL database), a mock Twilio (the
//! `mock-carrier` crate, shared with the bench), and a clock the test moves.

use chrono::{DateTime, Duration, TimeZone, Utc};
pub use mock_carrier::telnyx::MockTelnyx;
pub use mock_carrier::twilio::{MockTwilio, ACCOUNT_SID, AUTH_TOKEN};
pub use mock_carrier::{Script, Sent};
use ringback::clock::ManualClock;
use ringback::config::{Config, Settings};
use ringback::provider::twilio::signature;
use ringback::startup::{Options, Running};
use ringback::store::Store;
use std::sync::Arc;

pub const TRACKING: &str = "+15125550100";
pub const RING_PHONE: &str = "+15125550199";
pub const CALLER: &str = "+15125550147";

/// Which store a test runs against.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL, if `RINGBACK_TEST_POSTGRES_URL` names a server
    /// (e.g. `postgres://postgres@127.0.0.1:5432`). `.ci/run` sets it.
    pub fn postgres() -> Option<Backend> {
        std::env::var("RINGBACK_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(Backend::Postgres)
    }
}

/// Runs `$f(backend)` once per store: `sqlite` always, `postgres` when a
/// server is configured (and says clearly that it skipped otherwise). Each
/// runs [`side_by_side`] with the other tests.
macro_rules! on_both_stores {
    ($($f:ident),* $(,)?) => {$(
        mod $f {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let _machine = $crate::helpers::side_by_side().await;
                super::$f($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::helpers::Backend::postgres() {
                    Some(b) => {
                        let _machine = $crate::helpers::side_by_side().await;
                        super::$f(b).await
                    }
                    None => eprintln!("skipped: {} on PostgreSQL (set RINGBACK_TEST_POSTGRES_URL to run it)", stringify!($f)),
                }
            }
        }
    )*};
}

/// All the tests share one process and the machine's cores; the harness
/// runs as many at once as there are cores (`--test-threads`). Most run
/// [`side_by_side`]. A test that times database locks, pools and outages
/// to the millisecond, or runs a fleet of service processes, runs
/// [`alone`]: it waits for the running tests to finish, and the others
/// wait for it (first come, first served), as when it had a test binary
/// of its own and ran one at a time.
static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Shares the machine with other [`side_by_side`] tests. Take it once per
/// test, at its start.
pub async fn side_by_side() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MACHINE.read().await
}

/// Has the machine to itself while the guard lives. Take it once per
/// test, at its start.
pub async fn alone() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

/// Tuesday 2026-11-24 10:00 in America/Chicago: the business is open.
pub fn tuesday_10am() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap()
}

pub const DEFAULT_BUSINESS: &str = r#"
[[business]]
id = "spartan"
name = "Spartan Plumbing"
time_zone = "America/Chicago"
numbers = ["+15125550100"]
ring_phone = "+15125550199"
ring_seconds = 20
internal_numbers = ["+15125550150"]
block_list = ["+15125550666"]
hours = { mon = "07:00-18:00", tue = "07:00-18:00", wed = "07:00-18:00", thu = "07:00-18:00", fri = "07:00-18:00" }
senders = { "+15125550100" = { registration = "10dlc", campaign_id = "CSPARTAN1", status = "registered", mps = 1000 } }
# The foundation tests count instant texts; tests/api/replies.rs turns follow-ups on.
follow_ups = []

[[business]]
id = "acme"
name = "Acme Electric"
time_zone = "America/New_York"
numbers = ["+12125550100"]
ring_phone = "+12125550199"
call_screening = true
hours = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }
senders = { "+12125550100" = { registration = "10dlc", campaign_id = "CACME0001", status = "registered", mps = 1000 } }
"#;

/// The `[[business]]` tables of the shipped `ringback.toml`.
pub fn shipped_businesses() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ringback.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let at = text
        .find("[[business]]")
        .expect("the shipped config has a business");
    text[at..].to_string()
}

pub struct TestApp {
    pub running: Option<Running>,
    pub url: String,
    pub mock: MockTwilio,
    /// The mock Telnyx API: the carrier of businesses with
    /// `provider = "telnyx"` (see `via.rs`).
    pub telnyx: MockTelnyx,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub config_text: String,
    /// `TWILIO_WEBHOOK_SHARED_KEY` at the next (re)start.
    pub webhook_shared_key: Option<&'static str>,
    /// `RINGBACK_PUBLIC_URL` at the next (re)start (Twilio signatures are
    /// then checked against it; [`TestApp::post_twilio`] signs for it).
    pub public_url: Option<String>,
    /// `TELNYX_PUBLIC_KEY` at the next (re)start (default: the mock's).
    pub telnyx_public_key: String,
    pub(crate) http: reqwest::Client,
    /// The PostgreSQL database this app created, dropped when the app is.
    /// Last, so the app's own connections close first.
    pub(crate) owned_database: Option<DroppedAtEnd>,
}

/// The webhook shared key the test app is configured with (HMAC-SHA256).
pub const WEBHOOK_SHARED_KEY: &str = "test-webhook-shared-key-5678";

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, DEFAULT_BUSINESS, "").await
    }

    /// `service` is extra `[service]` keys (it may end with more sections,
    /// e.g. `[database]`).
    pub async fn spawn_with(backend: Backend, businesses: &str, service: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("test.db").display()),
            Backend::Postgres(base) => fresh_postgres_database(&base).await,
        };
        let owned = database_url
            .starts_with("postgres")
            .then(|| DroppedAtEnd(database_url.clone()));
        let mut app = Self::spawn_in(dir, database_url, businesses, service).await;
        app.owned_database = owned;
        app
    }

    /// Like [`TestApp::spawn_with`], on a database URL the test prepared
    /// (e.g. one that goes through a proxy the test can cut).
    pub async fn spawn_at(database_url: &str, businesses: &str, service: &str) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        Self::spawn_in(dir, database_url.to_string(), businesses, service).await
    }

    async fn spawn_in(
        dir: tempfile::TempDir,
        database_url: String,
        businesses: &str,
        service: &str,
    ) -> TestApp {
        if let Ok(filter) = std::env::var("RINGBACK_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let prompts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let config_text = format!(
            "[service]\nprompts_dir = {:?}\nlease_seconds = 5\nsend_timeout_seconds = 1.0\n{service}\n{businesses}",
            prompts.display().to_string()
        );
        let mock = MockTwilio::start().await;
        let telnyx = MockTelnyx::start().await;
        let clock = ManualClock::new(tuesday_10am());
        let mut app = TestApp {
            running: None,
            url: String::new(),
            mock,
            telnyx,
            clock,
            dir,
            database_url,
            config_text,
            webhook_shared_key: Some(WEBHOOK_SHARED_KEY),
            public_url: None,
            telnyx_public_key: mock_carrier::telnyx::public_key(),
            http: reqwest::Client::new(),
            owned_database: None,
        };
        app.start().await;
        app
    }

    /// The app with the businesses of the shipped `ringback.toml`, as a
    /// new user runs it: its senders' real pace (1 text a second), roster,
    /// dispatcher and follow-ups. (Its `[service]` and `[database]` give
    /// way to the harness's test settings.)
    pub async fn spawn_shipped(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &shipped_businesses(), "").await
    }

    /// Another instance of the service on the same database, clock and
    /// carrier (PostgreSQL: several instances behind one load balancer).
    pub async fn another_instance(&self) -> Running {
        let config = Config::parse(&self.config_text, "test.toml", self.dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        Running::start(Options {
            settings: self.settings(),
            config,
            clock: Arc::new(self.clock.clone()),
        })
        .await
        .expect("the second instance starts")
    }

    /// Stops, and starts again on the same database with the config edited
    /// by `edit` (what an owner's deploy of a changed `ringback.toml` does).
    pub async fn restart_with(&mut self, edit: impl Fn(&str) -> String) {
        let edited = edit(&self.config_text);
        assert_ne!(edited, self.config_text, "the edit changed nothing");
        self.config_text = edited;
        self.crash_and_restart().await;
    }

    pub fn settings(&self) -> Settings {
        let mut vars = vec![
            ("DATABASE_URL", self.database_url.clone()),
            ("RINGBACK_ADDR", "127.0.0.1".to_string()),
            ("PORT", "0".to_string()),
            ("TWILIO_ACCOUNT_SID", ACCOUNT_SID.to_string()),
            ("TWILIO_AUTH_TOKEN", AUTH_TOKEN.to_string()),
            ("TWILIO_API_BASE", self.mock.url.clone()),
            ("RINGBACK_ADMIN_TOKEN", "admin-secret".to_string()),
            ("TELNYX_API_KEY", mock_carrier::telnyx::API_KEY.to_string()),
            ("TELNYX_PUBLIC_KEY", self.telnyx_public_key.clone()),
            ("TELNYX_API_BASE", self.telnyx.url.clone()),
        ];
        if let Some(k) = self.webhook_shared_key {
            vars.push(("TWILIO_WEBHOOK_SHARED_KEY", k.to_string()));
        }
        if let Some(u) = &self.public_url {
            vars.push(("RINGBACK_PUBLIC_URL", u.clone()));
        }
        Settings::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap()
    }

    async fn start(&mut self) {
        let config = Config::parse(&self.config_text, "test.toml", self.dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        let running = Running::start(Options {
            settings: self.settings(),
            config,
            clock: Arc::new(self.clock.clone()),
        })
        .await
        .expect("app starts");
        self.url = running.url();
        self.running = Some(running);
    }

    pub fn store(&self) -> &Store {
        &self.running.as_ref().unwrap().shell.store
    }

    pub fn metrics(&self) -> &ringback::metrics::Metrics {
        &self.running.as_ref().unwrap().shell.metrics
    }

    /// Stops like a crash (no graceful shutdown) and starts again on the
    /// same database.
    pub async fn crash_and_restart(&mut self) {
        self.running.take().unwrap().kill().await;
        self.start().await;
    }

    pub async fn shutdown(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// Posts a form signed as Twilio would sign it.
    pub async fn post_twilio(&self, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
        self.post_twilio_signed(
            path,
            params,
            signature::Algorithm::HmacSha1,
            AUTH_TOKEN.as_bytes(),
        )
        .await
    }

    /// Posts a form signed with `algorithm` and `key`; for HMAC-SHA256 with
    /// the header Twilio adds when a webhook shared key signs.
    pub async fn post_twilio_signed(
        &self,
        path: &str,
        params: &[(&str, &str)],
        algorithm: signature::Algorithm,
        key: &[u8],
    ) -> reqwest::Response {
        let url = format!("{}{path}", self.url);
        // Behind a public URL Twilio signs the URL it called, not ours.
        let signed = format!("{}{path}", self.public_url.as_deref().unwrap_or(&self.url));
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sig = signature::sign(key, &signed, &pairs, algorithm);
        let mut req = self.http.post(&url).header("X-Twilio-Signature", sig);
        if algorithm == signature::Algorithm::HmacSha256 {
            req = req.header(
                "X-Twilio-Webhooks-Signature-Settings",
                "key=KS0123,algorithm=HMAC_SHA256",
            );
        }
        req.form(params).send().await.unwrap()
    }

    /// Posts a form signed as Twilio would sign it to another instance at
    /// `base` (`http://127.0.0.1:port`).
    pub async fn post_twilio_to(
        &self,
        base: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        let url = format!("{base}{path}");
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sig = signature::sign(
            AUTH_TOKEN.as_bytes(),
            &url,
            &pairs,
            signature::Algorithm::HmacSha1,
        );
        self.http
            .post(&url)
            .header("X-Twilio-Signature", sig)
            .form(params)
            .send()
            .await
            .unwrap()
    }

    /// Posts raw bytes with the given headers (for bad-input tests).
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        signature: Option<&str>,
    ) -> reqwest::Response {
        // A fresh connection each time: the server closes a connection whose
        // oversized body it refused (413), and a pooled client would reuse it.
        let mut req = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .header("connection", "close")
            .body(body);
        if let Some(s) = signature {
            req = req.header("X-Twilio-Signature", s);
        }
        req.send().await.unwrap()
    }

    /// The `<Dial action>` callback for an unanswered call.
    pub async fn dial_result(
        &self,
        call_sid: &str,
        from: &str,
        to: &str,
        status: &str,
    ) -> reqwest::Response {
        self.post_twilio(
            "/webhooks/twilio/voice/dial",
            &[
                ("AccountSid", ACCOUNT_SID),
                ("CallSid", call_sid),
                ("From", from),
                ("To", to),
                ("CallStatus", "in-progress"),
                ("Direction", "inbound"),
                ("DialCallStatus", status),
                ("DialCallSid", "CAdial"),
                ("DialCallDuration", "0"),
            ],
        )
        .await
    }

    pub async fn missed_call(&self, call_sid: &str, from: &str) -> reqwest::Response {
        self.dial_result(call_sid, from, TRACKING, "no-answer")
            .await
    }

    pub async fn sms(&self, message_sid: &str, from: &str, body: &str) -> reqwest::Response {
        self.post_twilio(
            "/webhooks/twilio/sms",
            &[
                ("AccountSid", ACCOUNT_SID),
                ("MessageSid", message_sid),
                ("From", from),
                ("To", TRACKING),
                ("Body", body),
                ("NumMedia", "0"),
            ],
        )
        .await
    }

    /// A signed delivery receipt for the text `sid` to `to`.
    pub async fn message_status(
        &self,
        sid: &str,
        status: &str,
        error_code: Option<&str>,
        to: &str,
    ) -> reqwest::Response {
        let mut form = vec![
            ("MessageSid", sid),
            ("MessageStatus", status),
            ("From", TRACKING),
            ("To", to),
        ];
        if let Some(code) = error_code {
            form.push(("ErrorCode", code));
        }
        self.post_twilio("/webhooks/twilio/sms/status", &form).await
    }

    /// Waits (real time, bounded) until the mock has received `n` texts.
    pub async fn wait_for_texts(&self, n: usize) -> Vec<Sent> {
        self.wait_for_texts_within(n, std::time::Duration::from_secs(5))
            .await
    }

    /// Like [`TestApp::wait_for_texts`], for up to `limit` (a slow mock).
    pub async fn wait_for_texts_within(&self, n: usize, limit: std::time::Duration) -> Vec<Sent> {
        let deadline = std::time::Instant::now() + limit;
        while self.mock.sent().len() < n && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        self.mock.sent()
    }

    /// Waits until no job is due now and none is running: every send that
    /// can happen at this clock time has happened.
    ///
    /// Strict about work nobody picked up: whatever queues a job wakes the
    /// worker, so a job due now and never attempted is claimed within
    /// milliseconds (the slowest settle measured with the whole suite
    /// running: 0.03 s). One still waiting after 3 s means a path queued
    /// it without waking the worker, which would then sit until its next
    /// timer or lease (up to 30 s in life): that fails here, naming the
    /// jobs. Running and retried jobs get longer (a lease can expire).
    pub async fn settle(&self) {
        let start = std::time::Instant::now();
        for _ in 0..400 {
            if self.idle().await {
                // Give just-finished sends a moment to record their outcome.
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                if self.idle().await {
                    return;
                }
            }
            if start.elapsed() > std::time::Duration::from_secs(3) {
                let left = self.unsettled().await;
                if !left.is_empty()
                    && left
                        .iter()
                        .all(|(_, _, status, attempts)| status == "pending" && *attempts == 0)
                {
                    panic!(
                        "jobs due now were not picked up within 3 s (queued without waking the worker?): {left:?}"
                    );
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("jobs never settled: {:?}", self.unsettled().await);
    }

    /// Jobs due now or running: (id, kind, status, attempts).
    /// Texts due but waiting in a sending number's line for its pace are
    /// settled: nothing will happen to them until time moves on.
    async fn unsettled(&self) -> Vec<(i64, String, String, i64)> {
        use sqlx::Row;
        let now = self.clock.now_utc();
        let config = &self.running.as_ref().unwrap().shell.config;
        let line_ready = self
            .store()
            .next_due(&|n| ringback::core::compliance::pacing::pace_of(config, n))
            .await
            .unwrap()
            .is_some_and(|due| due <= now);
        sqlx::query(
            "SELECT id, kind, status, attempts FROM jobs
             WHERE (status = 'pending' AND run_at <= $1 AND (sender IS NULL OR $2 = 1))
                OR status = 'running' ORDER BY id",
        )
        .bind(now.timestamp_millis())
        .bind(line_ready as i64)
        .fetch_all(self.store().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("kind"),
                r.get("status"),
                r.get("attempts"),
            )
        })
        .collect()
    }

    async fn idle(&self) -> bool {
        self.unsettled().await.is_empty()
    }

    /// Moves time forward (timers and retries fall due) and lets them run.
    pub async fn advance(&self, by: Duration) {
        // Let in-flight work finish first: leaping over a running job's
        // lease would (correctly) hand it to another claim.
        self.settle().await;
        self.clock.advance(by);
        self.settle().await;
    }

    /// The admin API's detail of `caller`'s newest lead (panics if none).
    pub async fn lead_json(&self, caller: &str) -> serde_json::Value {
        let v: serde_json::Value = self
            .admin_get(&format!("/api/v1/leads?caller=%2B{}", &caller[1..]))
            .await
            .json()
            .await
            .unwrap();
        let id = v["leads"][0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no lead for {caller}: {v}"));
        self.admin_get(&format!("/api/v1/leads/{id}"))
            .await
            .json()
            .await
            .unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth("admin-secret")
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
    }
}

pub trait ClockExt {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl ClockExt for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        use ringback::clock::Clock;
        self.now()
    }
}

/// A test's PostgreSQL database, dropped when the test is done with it.
///
/// Every PostgreSQL test makes a database of its own (about 8 MB each), and
/// a full run makes over a hundred: left behind, they fill a small CI disk
/// within a few runs, and every later test fails on it. Dropping is best
/// effort (`WITH (FORCE)` closes connections still open); `.ci/run` also
/// clears what a killed run left.
pub(crate) struct DroppedAtEnd(pub String);

impl Drop for DroppedAtEnd {
    fn drop(&mut self) {
        let Some((base, name)) = self.0.rsplit_once('/') else {
            return;
        };
        if !name.starts_with("ringback_test_") {
            return;
        }
        let (admin, sql) = (
            format!("{base}/postgres"),
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a thread of its own with a small runtime does the work.
        let _ = std::thread::spawn(move || {
            use sqlx::Connection;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                sqlx::query(&sql).execute(&mut conn).await.ok()
            })
        })
        .join();
    }
}

/// Creates a new, empty database on the server and returns its URL.
pub async fn fresh_postgres_database(base: &str) -> String {
    use sqlx::Connection;
    let base = base.trim_end_matches('/');
    let name = format!("ringback_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    format!("{base}/{name}")
}

impl TestApp {
    /// An admin API call with a JSON body.
    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth("admin-secret")
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}
