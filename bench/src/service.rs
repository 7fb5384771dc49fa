//! The service under test as a child process: its config file, environment,
//! readiness wait, memory sampling and shutdown.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The business every webhook is for; `To` of the webhooks, `From` of the texts.
pub const BUSINESS_NUMBER: &str = "+15125550100";

/// ringback's config file. `{prompts_dir}` is replaced with an absolute path.
/// Keep in step with the service's config format.
pub const CONFIG_TEMPLATE: &str = r#"[service]
prompts_dir = "{prompts_dir}"
instant_text_window_hours = 24

[[business]]
id = "bench"
name = "Bench Plumbing"
time_zone = "America/Chicago"
numbers = ["+15125550100"]
ring_phone = "+15125550199"
ring_seconds = 20
hours = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }
# A registered sender with a rate far above the offered load, so the
# benchmark measures ringback, not the per-sender throttle.
senders = { "+15125550100" = { registration = "10dlc", campaign_id = "CBENCH01", status = "registered", mps = 100000 } }
"#;

/// The workspace root (`bench/..`).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench lives inside the workspace")
        .to_path_buf()
}

pub fn render_config() -> String {
    let prompts = workspace_dir().join("prompts");
    let prompts = prompts.canonicalize().unwrap_or(prompts);
    CONFIG_TEMPLATE.replace("{prompts_dir}", &prompts.display().to_string())
}

/// `target/release/ringback` (honouring `CARGO_TARGET_DIR`), built with
/// `cargo build --release -p ringback` when missing or when `rebuild` is set.
pub fn release_binary(rebuild: bool) -> anyhow::Result<PathBuf> {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target"));
    let binary = target_dir.join("release").join("ringback");
    if rebuild || !binary.exists() {
        eprintln!("building the service: cargo build --release -p ringback");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--release", "-p", "ringback"])
            .current_dir(workspace_dir())
            .status()
            .context("running cargo")?;
        if !status.success() {
            bail!("cargo build --release -p ringback failed ({status})");
        }
    }
    if !binary.exists() {
        bail!("{} does not exist", binary.display());
    }
    Ok(binary)
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The running service.
pub struct Service {
    child: Child,
    pid: u32,
    log: Arc<Mutex<LogTail>>,
    peak_rss_kib: Arc<AtomicU64>,
}

#[derive(Default)]
struct LogTail {
    lines: VecDeque<String>,
    total: u64,
}

const LOG_TAIL_LINES: usize = 200;

impl Service {
    pub fn spawn(program: &Path, args: &[&str], env: &[(&str, String)]) -> anyhow::Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let pid = child.id().context("child has no pid")?;

        let log = Arc::new(Mutex::new(LogTail::default()));
        tokio::spawn(collect_lines(
            child.stdout.take().expect("piped"),
            log.clone(),
        ));
        tokio::spawn(collect_lines(
            child.stderr.take().expect("piped"),
            log.clone(),
        ));

        let peak_rss_kib = Arc::new(AtomicU64::new(0));
        let peak = peak_rss_kib.clone();
        tokio::spawn(async move {
            // VmHWM is already a high-water mark; sampling keeps the last value
            // seen before the process goes away.
            while let Some(kib) = peak_rss_of(&format!("/proc/{pid}/status")) {
                peak.fetch_max(kib, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });

        Ok(Self {
            child,
            pid,
            log,
            peak_rss_kib,
        })
    }

    /// Polls `GET {base_url}/readyz` until it answers 200.
    pub async fn wait_ready(
        &mut self,
        base_url: &str,
        timeout: Duration,
    ) -> anyhow::Result<Duration> {
        // Generous: a service restarted under load (the chaos run) answers
        // /readyz only after the webhooks queued ahead of it.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let url = format!("{base_url}/readyz");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                // Let the log readers catch the last lines.
                tokio::time::sleep(Duration::from_millis(200)).await;
                bail!(
                    "the service exited ({status}) before it was ready; its output:\n{}",
                    self.log_tail(LOG_TAIL_LINES)
                );
            }
            let last = match client.get(&url).send().await {
                Ok(response) if response.status().is_success() => return Ok(started.elapsed()),
                Ok(response) => format!("{url} answered {}", response.status()),
                Err(err) => format!("{url}: {err}"),
            };
            if started.elapsed() > timeout {
                bail!(
                    "the service was not ready after {timeout:?} ({last}); its output:\n{}",
                    self.log_tail(LOG_TAIL_LINES)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Peak resident set size (VmHWM) seen so far, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        if let Some(kib) = peak_rss_of(&format!("/proc/{}/status", self.pid)) {
            self.peak_rss_kib.fetch_max(kib, Ordering::Relaxed);
        }
        Some(self.peak_rss_kib.load(Ordering::Relaxed)).filter(|&kib| kib > 0)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Resident set size right now (VmRSS), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_of(&format!("/proc/{}/status", self.pid))
    }

    /// The last `n` lines the service printed.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log.lock().unwrap();
        let skip = log.lines.len().saturating_sub(n);
        let mut text: Vec<&str> = log.lines.iter().skip(skip).map(String::as_str).collect();
        if text.is_empty() {
            text.push("(nothing)");
        }
        text.join("\n")
    }

    pub fn log_lines(&self) -> u64 {
        self.log.lock().unwrap().total
    }

    /// `kill -9`: no shutdown, no flush, as a crash or an OOM kill would
    /// end it. Returns once the process is reaped.
    pub async fn kill(mut self) -> anyhow::Result<ExitStatus> {
        self.child.kill().await?;
        Ok(self.child.wait().await?)
    }

    /// The exit status if the process has ended on its own.
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// SIGTERM, then up to `grace` for it to exit, then SIGKILL.
    /// Returns the exit status and whether it exited within the grace period.
    pub async fn stop(mut self, grace: Duration) -> anyhow::Result<(ExitStatus, bool)> {
        if let Some(status) = self.child.try_wait()? {
            return Ok((status, true));
        }
        // SAFETY: plain kill(2) on our own child's pid, which we have not reaped.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => Ok((status?, true)),
            Err(_) => {
                self.child.kill().await?;
                Ok((self.child.wait().await?, false))
            }
        }
    }
}

async fn collect_lines(stream: impl AsyncRead + Unpin, log: Arc<Mutex<LogTail>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut log = log.lock().unwrap();
        log.total += 1;
        if log.lines.len() == LOG_TAIL_LINES {
            log.lines.pop_front();
        }
        log.lines.push_back(line);
    }
}

/// `VmHWM` from a `/proc/<pid>/status` file, in KiB.
pub fn peak_rss_of(status_file: &str) -> Option<u64> {
    status_kib(status_file, "VmHWM:")
}

/// `VmRSS` (resident now) from a `/proc/<pid>/status` file, in KiB.
pub fn rss_of(status_file: &str) -> Option<u64> {
    status_kib(status_file, "VmRSS:")
}

fn status_kib(status_file: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_points_at_the_workspace_prompts_and_parses_as_toml_shape() {
        let config = render_config();
        assert!(!config.contains("{prompts_dir}"));
        let prompts_line = config
            .lines()
            .find(|l| l.starts_with("prompts_dir"))
            .unwrap();
        assert!(prompts_line.contains("/prompts\""), "{prompts_line}");
        assert!(config.contains(&format!("numbers = [\"{BUSINESS_NUMBER}\"]")));
    }

    #[test]
    fn reads_own_peak_rss() {
        assert!(peak_rss_of("/proc/self/status").unwrap() > 0);
        assert!(peak_rss_of("/proc/does-not-exist/status").is_none());
        let now = rss_of("/proc/self/status").unwrap();
        assert!(now > 0 && now <= peak_rss_of("/proc/self/status").unwrap());
    }
}
