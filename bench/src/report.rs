//! Turning what the load generator and the mock saw into figures, printed as a
//! table or as one JSON line.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::classifier::ClassifierFigures;
use crate::load::{latency_histogram, LoadResult};
use mock_carrier::Snapshot;

#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// From a histogram of microseconds, in milliseconds.
    pub fn from_micros(hist: &Histogram<u64>) -> Option<Self> {
        (!hist.is_empty()).then(|| {
            let ms = |us: u64| us as f64 / 1000.0;
            let round = |v: f64| (v * 1000.0).round() / 1000.0;
            Self {
                count: hist.len(),
                p50: ms(hist.value_at_quantile(0.50)),
                p90: ms(hist.value_at_quantile(0.90)),
                p99: ms(hist.value_at_quantile(0.99)),
                max: ms(hist.max()),
                mean: round(hist.mean() / 1000.0),
            }
        })
    }
}

/// Everything a run measured. Field names are the JSON keys.
#[derive(Debug, Serialize)]
pub struct Report {
    pub target: String,
    /// The carrier played: `Twilio` or `Telnyx`.
    pub provider: String,
    pub webhook_path: String,
    pub database: String,
    pub calls: u64,
    pub rate: f64,
    pub duplicates: u32,
    pub fail_rate: f64,
    pub lost_reply_rate: f64,
    pub mock_latency_ms: u64,

    pub webhooks: u64,
    pub webhooks_offered_per_s: f64,
    pub webhooks_sustained_per_s: f64,
    pub webhooks_ok: u64,
    pub webhook_errors: BTreeMap<String, u64>,
    /// From each webhook's scheduled send time (corrected for coordinated omission).
    pub webhook_latency_ms: Option<Percentiles>,
    /// From each webhook's actual send time (uncorrected).
    pub webhook_service_time_ms: Option<Percentiles>,
    /// Scheduled → actual send.
    pub send_lag_ms: Option<Percentiles>,
    pub concurrency_cap: usize,
    pub concurrency_cap_hits: u64,
    pub peak_in_flight: usize,

    pub provider_latency_ms: Option<Percentiles>,
    pub e2e_calls_per_s: f64,

    pub callers_texted: u64,
    pub callers_not_texted: u64,
    pub callers_texted_more_than_once: u64,
    pub texts_accepted: u64,
    pub texts_to_non_callers: u64,
    pub texts_from_other_numbers: u64,
    pub provider_injected_failures: u64,
    pub provider_lost_replies: u64,
    pub provider_rejected: u64,
    pub provider_list_requests: u64,
    pub provider_fetch_requests: u64,
    pub drain_s: f64,

    pub service_peak_rss_mib: Option<f64>,
    pub bench_peak_rss_mib: Option<f64>,
    pub service_exit: String,

    /// Single-core throughput of the shipped intent rules, measured before
    /// the service started.
    pub classifier: Option<ClassifierFigures>,

    pub verdict: &'static str,
}

/// Run parameters that are echoed into the report.
pub struct RunInfo {
    pub target: String,
    pub provider: String,
    pub webhook_path: String,
    pub database: String,
    pub rate: f64,
    pub duplicates: u32,
    pub fail_rate: f64,
    pub lost_reply_rate: f64,
    pub mock_latency_ms: u64,
    pub concurrency_cap: usize,
    pub business_number: String,
}

impl Report {
    pub fn new(info: RunInfo, load: &LoadResult, mock: &Snapshot, drain: Duration) -> Self {
        let calls = load.callers.len() as u64;

        let mut provider_us = latency_histogram();
        let mut callers_texted = 0;
        let mut texted_more_than_once = 0;
        let mut last_text: Option<Instant> = None;
        for (caller, scheduled) in &load.callers {
            if let Some(&(arrived, count)) = mock.recipients.get(caller) {
                callers_texted += 1;
                if count > 1 {
                    texted_more_than_once += 1;
                }
                let micros = arrived.saturating_duration_since(*scheduled).as_micros() as u64;
                provider_us.saturating_record(micros.max(1));
                last_text = Some(last_text.map_or(arrived, |t| t.max(arrived)));
            }
        }
        let texts_to_non_callers = mock
            .recipients
            .iter()
            .filter(|(to, _)| !load.callers.contains_key(*to))
            .map(|(_, (_, count))| u64::from(*count))
            .sum();
        let texts_from_other_numbers = mock
            .senders
            .iter()
            .filter(|(from, _)| **from != info.business_number)
            .map(|(_, count)| count)
            .sum();

        let per_second = |count: u64, until: Instant| {
            let secs = until.saturating_duration_since(load.start).as_secs_f64();
            if secs > 0.0 {
                count as f64 / secs
            } else {
                0.0
            }
        };
        let verdict = if callers_texted == calls && texted_more_than_once == 0 {
            "OK"
        } else {
            "MISMATCH"
        };

        Self {
            target: info.target,
            provider: info.provider,
            webhook_path: info.webhook_path,
            database: info.database,
            calls,
            rate: info.rate,
            duplicates: info.duplicates,
            fail_rate: info.fail_rate,
            lost_reply_rate: info.lost_reply_rate,
            mock_latency_ms: info.mock_latency_ms,
            webhooks: load.webhooks,
            webhooks_offered_per_s: info.rate * f64::from(info.duplicates),
            webhooks_sustained_per_s: round1(per_second(load.ok, load.last_response)),
            webhooks_ok: load.ok,
            webhook_errors: load.errors.clone(),
            webhook_latency_ms: Percentiles::from_micros(&load.latency_us),
            concurrency_cap: info.concurrency_cap,
            concurrency_cap_hits: load.cap_hits,
            peak_in_flight: load.peak_in_flight,
            webhook_service_time_ms: Percentiles::from_micros(&load.service_us),
            send_lag_ms: Percentiles::from_micros(&load.send_lag_us),
            provider_latency_ms: Percentiles::from_micros(&provider_us),
            e2e_calls_per_s: round1(last_text.map_or(0.0, |t| per_second(callers_texted, t))),
            callers_texted,
            callers_not_texted: calls - callers_texted,
            callers_texted_more_than_once: texted_more_than_once,
            texts_accepted: mock.accepted,
            texts_to_non_callers,
            texts_from_other_numbers,
            provider_injected_failures: mock.injected_failures,
            provider_lost_replies: mock.lost_replies,
            provider_rejected: mock.rejected,
            provider_list_requests: mock.list_requests,
            provider_fetch_requests: mock.fetch_requests,
            drain_s: (drain.as_secs_f64() * 1000.0).round() / 1000.0,
            service_peak_rss_mib: None,
            bench_peak_rss_mib: None,
            service_exit: String::new(),
            classifier: None,
            verdict,
        }
    }

    pub fn ok(&self) -> bool {
        self.verdict == "OK"
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("report serializes")
    }

    pub fn to_table(&self) -> String {
        let pct = |p: &Option<Percentiles>| match p {
            Some(p) => format!(
                "{:.2} / {:.2} / {:.2} / {:.2} ms   (n={})",
                p.p50, p.p90, p.p99, p.max, p.count
            ),
            None => "-".to_string(),
        };
        let mib = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} MiB"));
        let errors = if self.webhook_errors.is_empty() {
            "none".to_string()
        } else {
            self.webhook_errors
                .iter()
                .map(|(kind, n)| format!("{kind}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let cap_warning = if self.concurrency_cap_hits > 0 {
            "  <-- CAP HIT: the offered rate was not kept"
        } else {
            ""
        };

        let mut t = Table::default();
        t.line(format!(
            "\nringback-bench: {} | carrier {} | database {} | {} calls at {}/s × {} webhook(s) | provider: fail rate {}, lost-reply rate {}, latency {} ms",
            self.target,
            self.provider,
            self.database,
            self.calls,
            self.rate,
            self.duplicates,
            self.fail_rate,
            self.lost_reply_rate,
            self.mock_latency_ms
        ));
        t.line(format!("Webhooks (POST {})", self.webhook_path));
        t.row("offered", format!("{:.1} /s", self.webhooks_offered_per_s));
        t.row(
            "sustained (ok / elapsed)",
            format!(
                "{:.1} /s   ({} ok of {})",
                self.webhooks_sustained_per_s, self.webhooks_ok, self.webhooks
            ),
        );
        t.row("errors", errors);
        t.row(
            "latency p50 / p90 / p99 / max",
            pct(&self.webhook_latency_ms),
        );
        t.row(
            "  (uncorrected, from actual send)",
            pct(&self.webhook_service_time_ms),
        );
        t.row("send lag behind schedule", pct(&self.send_lag_ms));
        t.row(
            "concurrency cap hits",
            format!(
                "{} (cap {}, peak in flight {}){cap_warning}",
                self.concurrency_cap_hits, self.concurrency_cap, self.peak_in_flight,
            ),
        );

        t.line(format!(
            "Missed call -> provider request (mock {} POST)",
            self.provider
        ));
        t.row(
            "latency p50 / p90 / p99 / max",
            pct(&self.provider_latency_ms),
        );
        t.row(
            "end-to-end missed calls",
            format!("{:.1} /s", self.e2e_calls_per_s),
        );

        t.line("Texts");
        t.row(
            "callers texted",
            format!("{} of {}", self.callers_texted, self.calls),
        );
        t.row(
            "callers texted more than once",
            self.callers_texted_more_than_once.to_string(),
        );
        t.row(
            "messages accepted by the mock",
            self.texts_accepted.to_string(),
        );
        t.row(
            "texts to other numbers (not callers)",
            self.texts_to_non_callers.to_string(),
        );
        t.row(
            "texts not from the business number",
            self.texts_from_other_numbers.to_string(),
        );
        t.row(
            "provider: injected fail / lost reply / 4xx",
            format!(
                "{} / {} / {}",
                self.provider_injected_failures, self.provider_lost_replies, self.provider_rejected
            ),
        );
        t.row(
            "provider: list / fetch requests",
            format!(
                "{} / {}",
                self.provider_list_requests, self.provider_fetch_requests
            ),
        );
        t.row("drain wait", format!("{:.2} s", self.drain_s));

        t.line("Memory (peak RSS, VmHWM)");
        t.row("service", mib(self.service_peak_rss_mib));
        t.row(
            &format!("bench (incl. mock {})", self.provider),
            mib(self.bench_peak_rss_mib),
        );
        t.row("service exit after SIGTERM", self.service_exit.clone());

        if let Some(c) = &self.classifier {
            t.line("Classifier (shipped rules, prompts/intents.rules)");
            t.row("throughput", c.summary());
        }

        if self.ok() {
            t.line(format!(
                "\nOK: {} of {} callers texted exactly once",
                self.callers_texted, self.calls
            ));
        } else {
            t.line(format!(
                "\n!!!!!!!! MISMATCH: {} of {} callers texted, {} texted more than once !!!!!!!!",
                self.callers_texted, self.calls, self.callers_texted_more_than_once
            ));
        }
        t.0
    }
}

/// The headline figures of several runs (e.g. SQLite and PostgreSQL at each
/// rate), one column per run, so the stores can be compared at a glance.
pub fn side_by_side(reports: &[Report]) -> String {
    let store = |db: &str| match db {
        "sqlite" => "SQLite".to_string(),
        "postgres" => "PostgreSQL".to_string(),
        other => other.to_string(),
    };
    // The carrier is named only when the runs are not all on one.
    let carriers = reports.iter().any(|r| r.provider != reports[0].provider);
    let header: Vec<String> = reports
        .iter()
        .map(|r| {
            let carrier = if carriers {
                format!("{}, ", r.provider)
            } else {
                String::new()
            };
            format!("{carrier}{} @ {}/s", store(&r.database), r.rate)
        })
        .collect();
    let both = |p: &Option<Percentiles>| match p {
        Some(p) => format!("{} / {}", human_ms(p.p50), human_ms(p.p99)),
        None => "-".to_string(),
    };
    let rows: Vec<(&str, Vec<String>)> = vec![
        (
            "missed calls/s end to end",
            reports
                .iter()
                .map(|r| format!("{:.0}", r.e2e_calls_per_s))
                .collect(),
        ),
        (
            "webhooks sustained/s",
            reports
                .iter()
                .map(|r| format!("{:.0}", r.webhooks_sustained_per_s))
                .collect(),
        ),
        (
            "webhook p50 / p99",
            reports
                .iter()
                .map(|r| both(&r.webhook_latency_ms))
                .collect(),
        ),
        (
            "missed call -> provider p50 / p99",
            reports
                .iter()
                .map(|r| both(&r.provider_latency_ms))
                .collect(),
        ),
        (
            "texts == calls",
            reports
                .iter()
                .map(|r| {
                    let verdict = if r.ok() { "OK" } else { "MISMATCH" };
                    let dup = if r.callers_texted_more_than_once > 0 {
                        format!(", {} twice", r.callers_texted_more_than_once)
                    } else {
                        String::new()
                    };
                    format!("{verdict} {}/{}{dup}", r.callers_texted, r.calls)
                })
                .collect(),
        ),
        (
            "webhook errors",
            reports
                .iter()
                .map(|r| r.webhook_errors.values().sum::<u64>().to_string())
                .collect(),
        ),
        (
            "service peak RSS",
            reports
                .iter()
                .map(|r| {
                    r.service_peak_rss_mib
                        .map_or("-".to_string(), |m| format!("{m:.0} MiB"))
                })
                .collect(),
        ),
    ];
    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..reports.len())
        .map(|i| {
            rows.iter()
                .map(|(_, v)| v[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut t = Table::default();
    t.line("\nSide by side (latencies from the scheduled send time; see each run's table above)");
    let line = |label: &str, cells: &[String]| {
        let mut out = format!("  {label:<label_width$}");
        for (cell, w) in cells.iter().zip(&widths) {
            out.push_str(&format!(" | {cell:>w$}"));
        }
        out
    };
    t.line(line("", &header));
    t.line(format!(
        "  {}",
        "-".repeat(label_width + widths.iter().map(|w| w + 3).sum::<usize>())
    ));
    for (label, cells) in &rows {
        t.line(line(label, cells));
    }
    t.0
}

/// 0.84 ms, 83 ms, 1.5 s.
fn human_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// A plain-text table: section lines and `label value` rows.
#[derive(Default)]
pub struct Table(pub String);

impl Table {
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }

    pub fn row(&mut self, label: &str, value: String) {
        self.line(format!("  {label:<44} {value}"));
    }
}

/// KiB → MiB, to 0.1.
pub fn mib(kib: Option<u64>) -> Option<f64> {
    kib.map(|kib| round1(kib as f64 / 1024.0))
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::human_ms;

    #[test]
    fn milliseconds_read_at_a_glance() {
        assert_eq!(human_ms(0.844), "0.84 ms");
        assert_eq!(human_ms(83.2), "83 ms");
        assert_eq!(human_ms(1534.0), "1.5 s");
    }
}
