//! Prometheus metrics in the text exposition format, without a framework:
//! a handful of labelled counters and one latency histogram kept in memory,
//! plus gauges read from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Histogram bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += secs;
        self.count += 1;
    }
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    histograms: Mutex<BTreeMap<&'static str, Histogram>>,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "ringback_webhooks_total",
        "counter",
        "Webhooks received, by kind and outcome.",
    ),
    (
        "ringback_texts_total",
        "counter",
        "Outbound texts by outcome (sent, suppressed, failed, retried, held).",
    ),
    (
        "ringback_suppressed_total",
        "counter",
        "Texts not sent, by reason.",
    ),
    (
        "ringback_sender_at_risk_total",
        "counter",
        "Carrier errors that put a sending number at risk (30034, 30007, ...).",
    ),
    (
        "ringback_owner_alerts_total",
        "counter",
        "Alerts to a business owner's own phone (e.g. a sender refused), by outcome.",
    ),
    (
        "ringback_send_duration_seconds",
        "histogram",
        "Time the carrier's send API took to answer.",
    ),
    (
        "ringback_text_delay_seconds",
        "histogram",
        "From the event that caused a text (e.g. the missed call) to the carrier accepting it.",
    ),
];

impl Metrics {
    pub fn new() -> Self {
        Metrics::default()
    }

    /// Adds one to `name{labels}`; labels are pre-rendered `k="v",…`.
    pub fn inc(&self, name: &'static str, labels: &[(&str, &str)]) {
        let l = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect::<Vec<_>>()
            .join(",");
        *self.counters.lock().unwrap().entry((name, l)).or_default() += 1;
    }

    pub fn observe(&self, name: &'static str, secs: f64) {
        self.histograms
            .lock()
            .unwrap()
            .entry(name)
            .or_default()
            .observe(secs);
    }

    /// Reads a counter (tests).
    pub fn get(&self, name: &'static str, labels: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .get(&(name, labels.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Renders everything, with `gauges` (name, help, value) appended.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let counters = self.counters.lock().unwrap();
        let hists = self.histograms.lock().unwrap();
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            if *kind == "counter" {
                for ((n, l), v) in counters.iter().filter(|((n, _), _)| n == name) {
                    if l.is_empty() {
                        let _ = writeln!(out, "{n} {v}");
                    } else {
                        let _ = writeln!(out, "{n}{{{l}}} {v}");
                    }
                }
            } else if let Some(h) = hists.get(name) {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", h.counts[i]);
                }
                let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_sum {}", h.sum);
                let _ = writeln!(out, "{name}_count {}", h.count);
            }
        }
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.inc(
            "ringback_webhooks_total",
            &[("kind", "voice_dial"), ("outcome", "ok")],
        );
        m.inc(
            "ringback_webhooks_total",
            &[("kind", "voice_dial"), ("outcome", "ok")],
        );
        m.observe("ringback_send_duration_seconds", 0.02);
        let text = m.render(&[("ringback_job_queue_depth", "Jobs waiting.", 3.0)]);
        assert!(
            text.contains("ringback_webhooks_total{kind=\"voice_dial\",outcome=\"ok\"} 2"),
            "{text}"
        );
        assert!(text.contains("ringback_send_duration_seconds_bucket{le=\"0.025\"} 1"));
        assert!(text.contains("ringback_send_duration_seconds_bucket{le=\"0.01\"} 0"));
        assert!(text.contains("ringback_job_queue_depth 3"));
        assert_eq!(
            m.get(
                "ringback_webhooks_total",
                "kind=\"voice_dial\",outcome=\"ok\""
            ),
            2
        );
    }
}
