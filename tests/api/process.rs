//! The `ringback` binary as a child process, for what only the process
//! shows: its log on stderr (one line per event, no colour codes when
//! stderr is not a terminal) and `check-config`'s output and exit code.

use crate::helpers::DEFAULT_BUSINESS;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A config file for the binary in `dir`: the shipped prompts, `extra`
/// (e.g. `[http]` keys) and the test businesses.
pub fn write_config(dir: &std::path::Path, service: &str, businesses: &str) -> std::path::PathBuf {
    let prompts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let text = format!(
        "[service]\nprompts_dir = {:?}\n{service}\n{businesses}",
        prompts.display().to_string()
    );
    let path = dir.join("ringback.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `ringback serve` in console mode (no carrier credentials: webhooks are
/// signed with the development secret, the admin token is the development
/// one), on a SQLite file in `dir`, with stderr captured.
pub struct Served {
    child: Child,
    pub url: String,
    log: Arc<Mutex<Vec<u8>>>,
    _dir: tempfile::TempDir,
}

impl Served {
    pub async fn start() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), "", DEFAULT_BUSINESS);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringback"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RINGBACK_CONFIG", &config)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("r.db").display()),
            )
            .env("RINGBACK_ADDR", "127.0.0.1")
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ringback binary starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut line = Vec::new();
            let mut told = false;
            while r.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                if !told {
                    let text = String::from_utf8_lossy(&line);
                    if let Some(at) = text.find("addr=") {
                        let addr: String = text[at + 5..]
                            .chars()
                            .take_while(|c| !c.is_whitespace())
                            .collect();
                        let _ = tx.send(addr);
                        told = true;
                    }
                }
                sink.lock().unwrap().extend_from_slice(&line);
                line.clear();
            }
        });
        let addr = tokio::task::spawn_blocking(move || {
            rx.recv_timeout(std::time::Duration::from_secs(30))
        })
        .await
        .unwrap()
        .unwrap_or_else(|_| panic!("ringback did not say where it listens"));
        Served {
            child,
            url: format!("http://{addr}"),
            log,
            _dir: dir,
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn log(&self) -> Vec<u8> {
        self.log.lock().unwrap().clone()
    }

    /// The log's lines that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.log())
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `ringback check-config PATH`: (exit code, stdout, stderr).
pub fn check_config(path: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ringback"))
        .arg("check-config")
        .arg(path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("the ringback binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
