//! What a chaos run found, as a table or one JSON line.

use std::collections::BTreeMap;
use std::process::ExitStatus;
use std::time::Duration;

use serde::Serialize;

use super::fleet::FleetCounts;
use super::traffic::TrafficResult;
use super::Store;
use mock_carrier::Snapshot;

pub struct Inputs<'a> {
    pub store: Store,
    pub instances: usize,
    pub rate: f64,
    pub chaos_time: Duration,
    pub total_time: Duration,
    pub drain_time: Duration,
    pub fleet: &'a FleetCounts,
    pub pg_restart_times: &'a [Duration],
    pub traffic: &'a TrafficResult,
    pub snapshot: &'a Snapshot,
    pub stopped: &'a [anyhow::Result<(ExitStatus, bool)>],
}

#[derive(Debug, Serialize)]
pub struct ChaosReport {
    pub store: String,
    pub instances: usize,
    pub rate: f64,
    pub kills: u64,
    pub restarts: u64,
    pub failed_starts: u64,
    pub unexpected_exits: usize,
    pub restart_ms_p50: f64,
    pub restart_ms_max: f64,
    pub pg_restarts: usize,
    pub pg_restart_ms: Vec<f64>,
    pub chaos_seconds: f64,
    pub total_seconds: f64,
    pub drain_seconds: f64,

    pub calls: u64,
    pub webhooks: u64,
    pub webhook_outcomes: BTreeMap<String, u64>,
    pub retry_rounds: u64,
    pub calls_acknowledged: u64,
    pub calls_never_acknowledged: u64,

    pub callers_texted: u64,
    /// Acknowledged calls whose caller never got a text. Must be 0.
    pub lost: u64,
    /// Callers who got more than one text. Must be 0.
    pub texted_twice: u64,
    /// Texted although no delivery was acknowledged (the instance died
    /// between its commit and its answer): expected, not a fault.
    pub texted_unacknowledged: u64,
    pub texts_accepted: u64,
    pub provider_failures_injected: u64,
    pub provider_lost_replies: u64,
    pub provider_hangs: u64,
    pub provider_list_requests: u64,

    pub final_shutdowns: Vec<String>,
    pub verdict: String,
}

impl ChaosReport {
    pub fn new(i: Inputs<'_>) -> ChaosReport {
        let ms = |d: &Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
        let mut restart_ms: Vec<f64> = i.fleet.restart_times.iter().map(ms).collect();
        restart_ms.sort_by(f64::total_cmp);
        let acked = &i.traffic.acked;
        let recipients = &i.snapshot.recipients;
        let lost = acked
            .iter()
            .filter(|c| !recipients.contains_key(*c))
            .count() as u64;
        let texted_twice = recipients.values().filter(|(_, n)| *n > 1).count() as u64;
        let texted_unacknowledged = recipients.keys().filter(|c| !acked.contains(*c)).count();
        let final_shutdowns = i
            .stopped
            .iter()
            .map(|s| match s {
                Ok((status, true)) => status.to_string(),
                Ok((status, false)) => format!("{status} (killed: no exit within the grace)"),
                Err(err) => format!("error: {err:#}"),
            })
            .collect();
        let ok = lost == 0 && texted_twice == 0 && i.fleet.unexpected_exits.is_empty();
        ChaosReport {
            store: format!("{:?}", i.store).to_lowercase(),
            instances: i.instances,
            rate: i.rate,
            kills: i.fleet.kills,
            restarts: i.fleet.restarts,
            failed_starts: i.fleet.failed_starts,
            unexpected_exits: i.fleet.unexpected_exits.len(),
            restart_ms_p50: restart_ms.get(restart_ms.len() / 2).copied().unwrap_or(0.0),
            restart_ms_max: restart_ms.last().copied().unwrap_or(0.0),
            pg_restarts: i.pg_restart_times.len(),
            pg_restart_ms: i.pg_restart_times.iter().map(ms).collect(),
            chaos_seconds: ms(&i.chaos_time) / 1000.0,
            total_seconds: ms(&i.total_time) / 1000.0,
            drain_seconds: ms(&i.drain_time) / 1000.0,
            calls: i.traffic.calls,
            webhooks: i.traffic.webhooks,
            webhook_outcomes: i.traffic.outcomes.clone(),
            retry_rounds: i.traffic.retry_rounds,
            calls_acknowledged: acked.len() as u64,
            calls_never_acknowledged: i.traffic.never_acked,
            callers_texted: recipients.len() as u64,
            lost,
            texted_twice,
            texted_unacknowledged: texted_unacknowledged as u64,
            texts_accepted: i.snapshot.accepted,
            provider_failures_injected: i.snapshot.injected_failures,
            provider_lost_replies: i.snapshot.lost_replies,
            provider_hangs: i.snapshot.hangs,
            provider_list_requests: i.snapshot.list_requests,
            final_shutdowns,
            verdict: if ok { "OK" } else { "FAIL" }.to_string(),
        }
    }

    pub fn ok(&self) -> bool {
        self.verdict == "OK"
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("report serializes")
    }

    pub fn to_table(&self) -> String {
        let outcomes: Vec<String> = self
            .webhook_outcomes
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let rows = [
            ("store", format!("{} ({} instance(s))", self.store, self.instances)),
            ("load", format!("{} missed calls/s", self.rate)),
            (
                "kills (SIGKILL)",
                format!(
                    "{} in {:.1} s; {} restarts (kill → ready p50 {:.0} ms, max {:.0} ms), {} failed starts retried, {} unexpected exits",
                    self.kills,
                    self.chaos_seconds,
                    self.restarts,
                    self.restart_ms_p50,
                    self.restart_ms_max,
                    self.failed_starts,
                    self.unexpected_exits
                ),
            ),
            (
                "PostgreSQL restarts",
                format!("{} (took {:?} ms)", self.pg_restarts, self.pg_restart_ms),
            ),
            (
                "calls",
                format!(
                    "{} offered, {} acknowledged, {} never acknowledged",
                    self.calls, self.calls_acknowledged, self.calls_never_acknowledged
                ),
            ),
            (
                "webhooks",
                format!(
                    "{} delivered ({}); {} retry rounds",
                    self.webhooks,
                    outcomes.join(", "),
                    self.retry_rounds
                ),
            ),
            (
                "carrier faults",
                format!(
                    "{} sends refused 500/429, {} accepted but answered 500, {} answered after the send timeout; {} message-list look-ups",
                    self.provider_failures_injected,
                    self.provider_lost_replies,
                    self.provider_hangs,
                    self.provider_list_requests
                ),
            ),
            (
                "texts",
                format!(
                    "{} callers texted ({} texts accepted), {} of them unacknowledged calls",
                    self.callers_texted, self.texts_accepted, self.texted_unacknowledged
                ),
            ),
            ("lost (acknowledged, no text)", self.lost.to_string()),
            ("texted twice", self.texted_twice.to_string()),
            (
                "time",
                format!(
                    "{:.1} s in all; drain after the load {:.1} s",
                    self.total_seconds, self.drain_seconds
                ),
            ),
            ("final SIGTERM", self.final_shutdowns.join("; ")),
            ("verdict", self.verdict.clone()),
        ];
        let mut table = String::from("\nringback chaos run\n");
        for (name, value) in rows {
            table.push_str(&format!("  {name:<30} {value}\n"));
        }
        table
    }
}
