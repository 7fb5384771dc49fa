//! A private PostgreSQL server for the chaos run: its own data directory in
//! a temporary folder and its own port, so restarting it mid-run disturbs
//! nothing else on the machine (the shared server other tests use stays up).
//!
//! `initdb` refuses to run as root, so when the bench is root the server's
//! commands run as the `postgres` user (`runuser -u postgres`), which then
//! owns the temporary folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

/// How the mid-run restart stops the server (`pg_ctl -m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RestartMode {
    /// Clients are disconnected, transactions rolled back, then a clean stop
    /// (what `pg_ctlcluster 15 main restart` does).
    Fast,
    /// The server is killed without a checkpoint and recovers from its WAL
    /// on start, as after a crash.
    Immediate,
}

impl RestartMode {
    fn arg(self) -> &'static str {
        match self {
            RestartMode::Fast => "fast",
            RestartMode::Immediate => "immediate",
        }
    }
}

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as_postgres: bool,
    /// DATABASE_URL for the service.
    pub url: String,
}

impl PgCluster {
    /// `initdb` and start a server on a free loopback port.
    pub fn start() -> anyhow::Result<PgCluster> {
        let bin = postgres_bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("ringback-chaos-pg-")
            .tempdir()?;
        // SAFETY: geteuid has no preconditions.
        let run_as_postgres = unsafe { libc::geteuid() } == 0;
        if run_as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path()))
                .context("giving the temporary folder to the postgres user")?;
        }
        let port = crate::service::free_port()?;
        let cluster = PgCluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            bin,
            run_as_postgres,
        };
        let data = cluster.data_dir();
        let started = Instant::now();
        run(cluster
            .command("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data))
        .context("initdb")?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            cluster.dir.path().display()
        );
        run(cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(cluster.log_file())
            .args(["-w", "-o", &options, "start"]))
        .context("starting the private PostgreSQL server")?;
        eprintln!(
            "private PostgreSQL server on 127.0.0.1:{port} ({}), ready after {:.1} s",
            cluster.dir.path().display(),
            started.elapsed().as_secs_f64()
        );
        Ok(cluster)
    }

    /// `pg_ctl restart -m MODE`, blocking until the server accepts
    /// connections again; returns how long it took.
    pub fn restart(&self, mode: RestartMode) -> anyhow::Result<Duration> {
        let started = Instant::now();
        run(self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-m", mode.arg(), "restart"]))
        .context("restarting the private PostgreSQL server")?;
        Ok(started.elapsed())
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.run_as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        // The postgres user may not be allowed into the bench's directory.
        command.current_dir(self.dir.path());
        command
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let stopped = run(self.command("pg_ctl").arg("-D").arg(self.data_dir()).args([
            "-w",
            "-m",
            "immediate",
            "stop",
        ]));
        if let Err(err) = stopped {
            eprintln!("could not stop the private PostgreSQL server: {err:#}");
        }
    }
}

/// Where `initdb` and `pg_ctl` are: beside `pg_ctl` on the PATH, else the
/// newest `/usr/lib/postgresql/*/bin` (Debian keeps them off the PATH).
fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("pg_ctl").exists() && dir.join("initdb").exists());
    if let Some(dir) = on_path {
        return Ok(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.retain(|dir| dir.join("initdb").exists());
    versions.sort_by_key(|dir| version_of(dir));
    versions.pop().context(
        "no initdb / pg_ctl found (install PostgreSQL's server package, e.g. postgresql-15)",
    )
}

/// `15` from `/usr/lib/postgresql/15/bin`.
fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .and_then(|v| v.to_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_directory_wins() {
        assert_eq!(version_of(Path::new("/usr/lib/postgresql/15/bin")), 15);
        assert_eq!(version_of(Path::new("/usr/lib/postgresql/x/bin")), 0);
    }
}
