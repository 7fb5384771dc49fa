//! The instances under chaos: `ringback serve` processes on one database,
//! each on a fixed port, killed with SIGKILL and started again on the same
//! port, as a supervisor (systemd, Fly, Kubernetes) would restart them.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::service::{free_port, Service};

pub struct Fleet {
    program: PathBuf,
    /// The environment every instance shares (not `PORT`).
    env: Vec<(&'static str, String)>,
    ready_timeout: Duration,
    slots: Vec<Slot>,
    pub counts: FleetCounts,
}

struct Slot {
    port: u16,
    service: Option<Service>,
}

#[derive(Debug, Default, Clone)]
pub struct FleetCounts {
    pub kills: u64,
    /// Starts that reached `/readyz` 200 after a kill or an exit.
    pub restarts: u64,
    /// Starts that exited before they were ready (e.g. the database was
    /// restarting); each was tried again.
    pub failed_starts: u64,
    /// Instances found dead that nobody killed.
    pub unexpected_exits: Vec<String>,
    /// From SIGKILL to `/readyz` 200 again, per restart.
    pub restart_times: Vec<Duration>,
}

impl Fleet {
    /// Starts `instances` processes and waits until each is ready.
    pub async fn start(
        program: PathBuf,
        instances: usize,
        env: Vec<(&'static str, String)>,
        ready_timeout: Duration,
    ) -> anyhow::Result<Fleet> {
        let mut slots = Vec::with_capacity(instances);
        for _ in 0..instances {
            slots.push(Slot {
                port: free_port()?,
                service: None,
            });
        }
        let mut fleet = Fleet {
            program,
            env,
            ready_timeout,
            slots,
            counts: FleetCounts::default(),
        };
        for i in 0..instances {
            fleet.bring_up(i).await?;
        }
        Ok(fleet)
    }

    pub fn ports(&self) -> Vec<u16> {
        self.slots.iter().map(|s| s.port).collect()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// SIGKILL instance `i` and reap it.
    pub async fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(service) = self.slots[i].service.take() {
            service.kill().await?;
            self.counts.kills += 1;
        }
        Ok(())
    }

    /// Starts instance `i` (again) and waits for `/readyz`; a start that
    /// exits first is counted and tried again until `ready_timeout`.
    pub async fn bring_up(&mut self, i: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let port = self.slots[i].port;
        let mut env = self.env.clone();
        env.push(("PORT", port.to_string()));
        let base = format!("http://127.0.0.1:{port}");
        loop {
            let mut service = Service::spawn(&self.program, &["serve"], &env)?;
            let left = self.ready_timeout.saturating_sub(started.elapsed());
            match service.wait_ready(&base, left).await {
                Ok(_) => {
                    self.slots[i].service = Some(service);
                    return Ok(started.elapsed());
                }
                Err(err) if started.elapsed() < self.ready_timeout => {
                    self.counts.failed_starts += 1;
                    let first_line = format!("{err:#}");
                    let first_line = first_line.lines().next().unwrap_or_default();
                    eprintln!("  instance {i} did not start ({first_line}); trying again");
                    drop(service);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(err) => bail!("instance {i} could not be started again: {err:#}"),
            }
        }
    }

    /// Kill, start again, wait until ready; the restart is counted.
    pub async fn crash_and_restart(&mut self, i: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        self.kill(i).await?;
        self.bring_up(i).await?;
        self.counts.restarts += 1;
        self.counts.restart_times.push(started.elapsed());
        Ok(())
    }

    /// Starts again any instance that exited on its own (recorded with its
    /// last output: that is a finding, not chaos).
    pub async fn revive_exited(&mut self) -> anyhow::Result<()> {
        for i in 0..self.slots.len() {
            let exited = match self.slots[i].service.as_mut() {
                Some(service) => service.exited()?,
                None => None,
            };
            if let Some(status) = exited {
                let service = self.slots[i].service.take().expect("checked above");
                let what = format!(
                    "instance {i} exited by itself ({status}); its last output:\n{}",
                    service.log_tail(20)
                );
                eprintln!("  {what}");
                self.counts.unexpected_exits.push(what);
                self.bring_up(i).await?;
                self.counts.restarts += 1;
            }
        }
        Ok(())
    }

    /// The last lines each live instance printed.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut text = String::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(service) = &slot.service {
                text.push_str(&format!(
                    "--- instance {i} ({} lines in all)\n{}\n",
                    service.log_lines(),
                    service.log_tail(lines)
                ));
            }
        }
        text
    }

    /// SIGTERM to each, `grace` to exit: (exit status, exited in time).
    pub async fn stop(self, grace: Duration) -> Vec<anyhow::Result<(ExitStatus, bool)>> {
        let mut stopped = Vec::new();
        for slot in self.slots {
            if let Some(service) = slot.service {
                stopped.push(service.stop(grace).await);
            }
        }
        stopped
    }
}
