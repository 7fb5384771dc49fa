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
    histograms: Mutex<BTreeMap<(&'static str, String), Histogram>>,
}

/// A gauge read at scrape time: its name, help, and a value per label set
/// (pre-rendered `k="v",…`, empty for none).
pub struct Gauge<'a> {
    pub name: &'a str,
    pub help: &'a str,
    pub values: Vec<(String, f64)>,
}

/// Renders labels as `k="v",…`, escaped.
pub fn labels(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect::<Vec<_>>()
        .join(",")
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "ringback_webhooks_total",
        "counter",
        "Webhooks received, by kind and outcome.",
    ),
    (
        "ringback_webhooks_shed_total",
        "counter",
        "Webhooks answered 503 unread because too many were in flight and waiting ([http] caps), by reason; the carrier retries them.",
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
    (
        "ringback_text_hold_seconds",
        "histogram",
        "How long texts were held before leaving, by reason (line: waiting for the sending number's pace behind other texts; quiet_hours; daily_cap) and class.",
    ),
    (
        "ringback_timer_lateness_seconds",
        "histogram",
        "How late timers (follow-ups, cold checks, ack timeouts) ran after they were due.",
    ),
    (
        "ringback_emergency_ack_seconds",
        "histogram",
        "From an emergency's first page to an on-call person taking it.",
    ),
    (
        "ringback_emergencies_total",
        "counter",
        "Emergencies paged, by hazard.",
    ),
    (
        "ringback_emergencies_unanswered_total",
        "counter",
        "Emergencies nobody on the on-call chain took before paging stopped.",
    ),
];

impl Metrics {
    pub fn new() -> Self {
        Metrics::default()
    }

    /// Adds one to `name{labels}`; labels are pre-rendered `k="v",…`.
    pub fn inc(&self, name: &'static str, l: &[(&str, &str)]) {
        *self
            .counters
            .lock()
            .unwrap()
            .entry((name, labels(l)))
            .or_default() += 1;
    }

    pub fn observe(&self, name: &'static str, secs: f64) {
        self.observe_with(name, &[], secs)
    }

    /// Observes `secs` in the histogram `name{labels}`.
    pub fn observe_with(&self, name: &'static str, l: &[(&str, &str)], secs: f64) {
        self.histograms
            .lock()
            .unwrap()
            .entry((name, labels(l)))
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

    /// Renders everything, with `gauges` appended.
    pub fn render(&self, gauges: &[Gauge<'_>]) -> String {
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
            } else {
                for ((_, l), h) in hists.iter().filter(|((n, _), _)| n == name) {
                    let sep = if l.is_empty() { "" } else { "," };
                    for (i, b) in BUCKETS.iter().enumerate() {
                        let _ =
                            writeln!(out, "{name}_bucket{{{l}{sep}le=\"{b}\"}} {}", h.counts[i]);
                    }
                    let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"+Inf\"}} {}", h.count);
                    let braces = |l: &str| {
                        if l.is_empty() {
                            String::new()
                        } else {
                            format!("{{{l}}}")
                        }
                    };
                    let _ = writeln!(out, "{name}_sum{} {}", braces(l), h.sum);
                    let _ = writeln!(out, "{name}_count{} {}", braces(l), h.count);
                }
            }
        }
        for g in gauges {
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", g.name, g.help, g.name);
            for (l, v) in &g.values {
                if l.is_empty() {
                    let _ = writeln!(out, "{} {v}", g.name);
                } else {
                    let _ = writeln!(out, "{}{{{l}}} {v}", g.name);
                }
            }
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
        m.observe_with(
            "ringback_text_hold_seconds",
            &[("reason", "line"), ("class", "instant")],
            0.7,
        );
        let text = m.render(&[Gauge {
            name: "ringback_job_queue_depth",
            help: "Jobs waiting.",
            values: vec![(String::new(), 3.0)],
        }]);
        assert!(
            text.contains(
                "ringback_text_hold_seconds_bucket{reason=\"line\",class=\"instant\",le=\"1\"} 1"
            ),
            "{text}"
        );
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

    /// Every metric the code records is described (and so rendered): one
    /// recorded under a name missing from HELP never shows on /metrics.
    #[test]
    fn every_recorded_metric_is_rendered() {
        let described: Vec<&str> = HELP.iter().map(|(n, _, _)| *n).collect();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut missing = Vec::new();
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                for call in [".inc(", ".observe(", ".observe_with("] {
                    for part in text.split(call).skip(1) {
                        let name = part.trim_start().trim_start_matches('"');
                        let name: String = name
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if name.starts_with("ringback_") && !described.contains(&name.as_str()) {
                            missing.push(format!("{}: {name}", p.display()));
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "recorded but never rendered: {missing:?}"
        );
    }
}
