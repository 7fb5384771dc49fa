//! Wiring: build the store, provider, worker and HTTP server from settings,
//! bind (port 0 in tests), and shut down gracefully.

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Settings, DEV_ADMIN_TOKEN, DEV_WEBHOOK_SECRET};
use crate::http::{router, AppState};
use crate::metrics::Metrics;
use crate::provider::twilio::signature::WebhookKeys;
use crate::provider::{console::Console, router::Router, telnyx::Telnyx, twilio::Twilio, Provider};
use crate::shell::worker::{status_callback_url, Worker};
use crate::shell::Shell;
use crate::store::Store;
use anyhow::Context;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// A running ringback: HTTP server + worker.
pub struct Running {
    pub addr: SocketAddr,
    pub shell: Shell,
    pub provider_name: &'static str,
    accepting: Arc<AtomicBool>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    worker: WorkerRun,
    /// True while the worker runs (see [`Running::worker_gone`]).
    worker_up: watch::Receiver<bool>,
}

/// The running worker: a task on the service's runtime, and a kill switch
/// that stops it and every task it spawned at once, as a crash would
/// ([`Running::kill`]).
struct WorkerRun {
    task: JoinHandle<()>,
    kill: watch::Sender<bool>,
}

impl WorkerRun {
    /// `up` turns false when the worker ends, for whatever reason (a
    /// shutdown, a kill, a panic).
    fn start(
        worker: Worker,
        shutdown: watch::Receiver<bool>,
        up: watch::Sender<bool>,
    ) -> WorkerRun {
        let down = WorkerDown(up);
        let kill = worker.kill_switch.clone();
        let task = tokio::spawn(async move {
            let _down = down;
            worker.run(shutdown).await
        });
        WorkerRun { task, kill }
    }

    /// Stops the worker now, abandoning its jobs in flight (their leases
    /// expire); then wait for [`WorkerRun::stopped`].
    fn kill(&mut self) {
        self.kill.send_replace(true);
        self.task.abort();
    }

    /// Waits for the worker to stop (after the shutdown signal, or a kill).
    async fn stopped(self) {
        if self.task.await.is_err_and(|e| e.is_panic()) {
            tracing::error!("the worker panicked; queued jobs wait for the next start");
        }
    }
}

/// Says the worker is down when dropped: when it returns, and also when
/// it unwinds from a panic or is dropped by a kill.
struct WorkerDown(watch::Sender<bool>);

impl Drop for WorkerDown {
    fn drop(&mut self) {
        self.0.send_replace(false);
    }
}

/// What to build the service from. Tests swap the clock.
pub struct Options {
    pub settings: Settings,
    pub config: Config,
    pub clock: Arc<dyn Clock>,
}

impl Options {
    pub fn new(settings: Settings, config: Config) -> Options {
        Options {
            settings,
            config,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Connects to the database (pool sized by `[database]` in the config) and
/// applies migrations.
pub async fn open_store(
    settings: &Settings,
    pool: &crate::config::DatabaseConfig,
) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database_url, pool)
        .await
        .with_context(|| {
            format!(
                "cannot open the database at {}",
                crate::config::redact_url(&settings.database_url)
            )
        })?;
    // Proven before anything is served (and before migrations, whose own
    // errors would name neither cause nor fix): the database can be
    // written, and its schema is ringback's, not from a newer release.
    let named = || {
        format!(
            "cannot use the database at {}",
            crate::config::redact_url(&settings.database_url)
        )
    };
    store.check_writable().await.with_context(named)?;
    store.check_schema().await.with_context(named)?;
    store
        .migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(store)
}

impl Running {
    /// Builds and starts everything; returns once the port is bound.
    pub async fn start(opts: Options) -> anyhow::Result<Running> {
        let Options {
            settings,
            config,
            clock,
        } = opts;
        let policy =
            Arc::new(crate::core::Policy::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?);
        for w in &policy.warnings {
            tracing::warn!("config: {w}");
        }
        let pool = config.database.clone();
        let store = open_store(&settings, &pool).await?;
        match store.dialect() {
            crate::store::Dialect::Postgres => tracing::info!(
                max_connections = pool.max_connections,
                acquire_timeout_ms = pool.acquire_timeout.as_millis() as u64,
                statement_timeout_ms = pool.statement_timeout.as_millis() as u64,
                "database: PostgreSQL pool"
            ),
            crate::store::Dialect::Sqlite => tracing::info!(
                acquire_timeout_ms = pool.acquire_timeout.as_millis() as u64,
                "database: SQLite, one writer connection and two readers ([database] max_connections and statement_timeout_seconds do not apply)"
            ),
        }
        let missing = crate::config::carrier::missing_credentials(&config, &settings);
        if !missing.is_empty() {
            anyhow::bail!("{}", missing.join("\n"));
        }
        let twilio: Arc<dyn Provider> = match &settings.twilio {
            Some(t) => Arc::new(
                Twilio::new(
                    &t.api_base,
                    &t.account_sid,
                    t.auth_token.clone(),
                    config.service.send_timeout,
                )
                .map_err(|e| anyhow::anyhow!(e))?,
            ),
            None => Arc::new(Console),
        };
        let telnyx: Option<Arc<dyn Provider>> = match &settings.telnyx {
            Some(t) => Some(Arc::new(
                Telnyx::new(
                    &t.api_base,
                    t.api_key.clone(),
                    telnyx_profiles(&config),
                    settings.public_url.as_deref(),
                    config.service.send_timeout,
                )
                .map_err(|e| anyhow::anyhow!(e))?,
            )),
            None => None,
        };
        let provider: Arc<dyn Provider> = Arc::new(Router::new(&config, twilio, telnyx));
        let admin_token = match &settings.admin_token {
            Some(t) => Some(Arc::new(t.clone())),
            None if settings.console_mode() => Some(Arc::new(SecretString::from(DEV_ADMIN_TOKEN))),
            None => None,
        };
        let config = Arc::new(config);
        let metrics = Arc::new(Metrics::new());
        let wake = Arc::new(Notify::new());
        let shell = Shell {
            config: config.clone(),
            policy: policy.clone(),
            store: store.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            wake: wake.clone(),
        };
        let accepting = Arc::new(AtomicBool::new(true));
        let (worker_up, worker_up_rx) = watch::channel(true);
        let state = AppState {
            shell: shell.clone(),
            public_url: settings.public_url.clone(),
            webhook_keys: Arc::new(webhook_keys(&settings)),
            telnyx_key: telnyx_public_key(&settings),
            admin_token,
            accepting: accepting.clone(),
            worker_up: worker_up_rx.clone(),
            overload: crate::http::overload::Overload::new(&config.http, metrics.clone()),
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let worker = Worker {
            store: store.clone(),
            provider: provider.clone(),
            clock: clock.clone(),
            config: config.clone(),
            metrics: metrics.clone(),
            wake,
            status_callback: status_callback_url(settings.public_url.as_deref()),
            public_url: settings.public_url.clone(),
            policy: policy.clone(),
            kill_switch: watch::channel(false).0,
        };
        let worker = WorkerRun::start(worker, shutdown_rx.clone(), worker_up);

        let bind = format!("{}:{}", settings.addr, settings.port);
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let addr = listener.local_addr()?;
        let app = router(state);
        let http = config.http.clone();
        let rx = shutdown_rx;
        let server = tokio::spawn(async move {
            crate::http::serve::serve(listener, app, &http, rx).await;
        });
        tracing::info!(
            %addr,
            provider = provider.name(),
            database = %crate::config::redact_url(&settings.database_url),
            public_url = settings.public_url.as_deref().unwrap_or("(from Host header)"),
            "ringback is listening"
        );
        if settings.telnyx.as_ref().is_some_and(|t| {
            t.public_key
                == crate::provider::telnyx::signature::public_key_of(
                    &crate::provider::telnyx::signature::DEV_SIGNING_SEED,
                )
        }) {
            tracing::warn!("TELNYX_PUBLIC_KEY is ringback's public development key: anyone can sign Telnyx webhooks for this instance; use it only with `ringback simulate --provider telnyx` on a local instance");
        }
        if settings.console_mode() {
            tracing::warn!("console mode: no carrier credentials, texts are logged, not sent; webhooks are verified with the development secret");
        }
        if !settings.console_mode()
            && settings.public_url.is_none()
            && config.businesses.iter().any(|b| b.roster.is_some())
        {
            tracing::warn!("RINGBACK_PUBLIC_URL is not set: page calls cannot report a tech pressing 1 (texted ACKs still work); set it to the https URL Twilio reaches you at");
        }
        Ok(Running {
            addr,
            shell,
            provider_name: provider.name(),
            accepting,
            shutdown,
            server,
            worker,
            worker_up: worker_up_rx,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resolves once the worker has stopped: after a shutdown or a kill,
    /// or on its own (a panic), when nothing would text the callers whose
    /// calls the webhooks still take. `serve` then stops the process, so
    /// that its supervisor starts it again (queued jobs wait in the
    /// database), and `/readyz` fails meanwhile.
    pub async fn worker_gone(&self) {
        let mut up = self.worker_up.clone();
        let _ = up.wait_for(|up| !*up).await;
    }

    /// Stops the worker alone, as a crash of it would, leaving the HTTP
    /// server up: what [`Running::worker_gone`] is there for. (Tests.)
    #[doc(hidden)]
    pub fn kill_worker(&mut self) {
        self.worker.kill();
    }

    /// Graceful stop: refuse new webhooks (503, the carrier retries), finish
    /// requests and jobs in flight, then close the database.
    pub async fn shutdown(self) {
        self.accepting.store(false, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        self.worker.stopped().await;
        self.shell.store.close().await;
    }

    /// Stops abruptly, as a crash would: in-flight work is abandoned and
    /// leases are left to expire. Tests use it to prove nothing is lost.
    pub async fn kill(self) {
        let mut worker = self.worker;
        worker.kill();
        self.server.abort();
        let _ = self.server.await;
        worker.stopped().await;
        self.shell.store.close().await;
    }
}

/// Reads the config at `path` and compiles its policy: what `serve`,
/// `check-config` and `classify` start from.
pub fn load_config(
    path: &std::path::Path,
) -> Result<(Config, crate::core::Policy), crate::config::ConfigErrors> {
    let config = Config::load(path)?;
    let policy = crate::core::Policy::new(&config)?;
    Ok((config, policy))
}

/// `ringback serve`: run until SIGTERM / Ctrl-C.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let config = Config::load(&settings.config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let running = Running::start(Options::new(settings, config)).await?;
    let worker_died = tokio::select! {
        _ = shutdown_signal() => false,
        _ = running.worker_gone() => true,
    };
    if worker_died {
        tracing::error!("the worker stopped on its own: stopping ringback so that it is restarted (queued texts wait in the database)");
        running.shutdown().await;
        anyhow::bail!("the worker stopped unexpectedly");
    }
    tracing::info!("shutdown requested: finishing in-flight work");
    running.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Logs to stderr; `RUST_LOG` picks the level (default: info). Every
/// value is escaped onto one line (see [`crate::logging`]).
pub fn init_tracing() {
    crate::logging::init();
}

/// The keys webhooks are checked against (and `simulate` signs with).
pub fn webhook_keys(settings: &Settings) -> WebhookKeys {
    match &settings.twilio {
        Some(t) => WebhookKeys {
            auth_token: t.auth_token.clone(),
            shared_key: t.webhook_shared_key.clone(),
        },
        None => WebhookKeys {
            auth_token: SecretString::from(DEV_WEBHOOK_SECRET),
            shared_key: None,
        },
    }
}

/// A shell on the configured database, without a server or a worker: for
/// the command line's office tasks (`ringback user ...`).
pub async fn office_shell(settings: &Settings) -> anyhow::Result<Shell> {
    let config = Config::load(&settings.config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let policy = Arc::new(crate::core::Policy::new(&config).map_err(|e| anyhow::anyhow!("{e}"))?);
    let store = open_store(settings, &crate::config::DatabaseConfig::default()).await?;
    Ok(Shell {
        config: Arc::new(config),
        policy,
        store,
        clock: Arc::new(SystemClock),
        metrics: Arc::new(Metrics::new()),
        wake: Arc::new(Notify::new()),
    })
}

/// Where this instance is reached, for links it prints.
pub fn base_url(settings: &Settings) -> String {
    settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{}", settings.port))
}

/// The public key Telnyx webhooks are checked against: the account's, or
/// in console mode the development key's.
pub fn telnyx_public_key(settings: &Settings) -> [u8; 32] {
    match &settings.telnyx {
        Some(t) => t.public_key,
        None => crate::provider::telnyx::signature::public_key_of(
            &crate::provider::telnyx::signature::DEV_SIGNING_SEED,
        ),
    }
}

/// Each Telnyx sending number's messaging profile and voice app.
fn telnyx_profiles(
    config: &Config,
) -> std::collections::HashMap<String, crate::config::TelnyxBusiness> {
    config
        .businesses
        .iter()
        .filter_map(|b| b.carriers.telnyx.as_ref().map(|t| (b, t)))
        .flat_map(|(b, t)| {
            b.numbers
                .iter()
                .map(move |n| (n.as_str().to_string(), t.clone()))
        })
        .collect()
}
