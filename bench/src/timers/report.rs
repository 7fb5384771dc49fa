//! What a timer run measured, and how it is printed.

use super::*;

/// The service's memory with so many timers pending.
#[derive(Debug, Clone, Serialize)]
pub struct RssSample {
    pub when: String,
    pub pending_jobs: i64,
    pub rss_mib: Option<f64>,
}

/// Fire lateness of the timers due in one slice of the stream.
#[derive(Debug, Serialize)]
pub struct Slice {
    pub from_s: u64,
    pub to_s: u64,
    pub late_ms: Option<Percentiles>,
    /// The service's threads during those 10 s of wall time: CPU time they
    /// got, and time they spent runnable but waiting for a CPU (Linux
    /// schedstat; a waiting service is a starved one).
    pub service_cpu_s: Option<f64>,
    pub service_cpu_wait_s: Option<f64>,
}

/// Everything a timer run measured. Field names are JSON keys.
#[derive(Debug, Serialize)]
pub struct TimerReport {
    pub mode: &'static str,
    pub database: String,
    pub pending_target: u64,
    pub stream_timers: u64,
    pub stream_rate_per_s: f64,
    pub stream_window_s: f64,
    /// Seconds between the end of seeding and the first stream timer's due
    /// time (negative: seeding overlapped the stream, which then starts late).
    pub seeding_margin_s: f64,
    pub seed_s: f64,
    /// Stream timers that fired (queued their follow-up text).
    pub fired: u64,
    /// Stream timers whose text reached the mock provider.
    pub texted: u64,
    pub texts_accepted: u64,
    pub callers_texted_more_than_once: u64,
    /// Stream timers neither fired nor texted by the end of the drain.
    pub not_fired: u64,
    /// Fire time minus due time.
    pub fired_late_ms: Option<Percentiles>,
    /// Provider (mock) receipt minus due time.
    pub provider_late_ms: Option<Percentiles>,
    /// Fire lateness by when in the stream the timer was due (10 s slices),
    /// to tell a steady drift from a stall.
    pub fired_late_by_slice: Vec<Slice>,
    /// 1-minute load average of the machine before and after the run (the
    /// machine may be shared).
    pub load_average: [f64; 2],
    pub rss: Vec<RssSample>,
    pub service_peak_rss_mib: Option<f64>,
    pub pending_at_end: i64,
    pub service_exit: String,
    pub classifier: Option<ClassifierFigures>,
    pub verdict: &'static str,
}

impl TimerReport {
    pub fn ok(&self) -> bool {
        self.verdict == "OK"
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("report serializes")
    }

    pub fn to_table(&self) -> String {
        let pct = |p: &Option<Percentiles>| match p {
            Some(p) => format!(
                "{:.0} / {:.0} / {:.0} / {:.0} ms   (n={})",
                p.p50, p.p90, p.p99, p.max, p.count
            ),
            None => "-".to_string(),
        };
        let mut t = Table::default();
        t.line(format!(
            "\nringback-bench --timers: database {} | {} pending | stream of {} timers at {}/s over {} s",
            self.database,
            self.pending_target,
            self.stream_timers,
            self.stream_rate_per_s,
            self.stream_window_s
        ));
        t.line("Follow-up timers (late = time minus job due_at)");
        t.row("fired late p50 / p90 / p99 / max", pct(&self.fired_late_ms));
        t.row(
            "  text at provider p50 / p90 / p99 / max",
            pct(&self.provider_late_ms),
        );
        for slice in &self.fired_late_by_slice {
            let sched = match (slice.service_cpu_s, slice.service_cpu_wait_s) {
                (Some(cpu), Some(wait)) => {
                    format!("   cpu {cpu:.1} s, waited for a cpu {wait:.2} s")
                }
                _ => String::new(),
            };
            t.row(
                &format!("  due at {}-{} s", slice.from_s, slice.to_s),
                format!("{}{sched}", pct(&slice.late_ms)),
            );
        }
        t.row(
            "fired / texted / not fired",
            format!(
                "{} / {} / {} of {}",
                self.fired, self.texted, self.not_fired, self.stream_timers
            ),
        );
        t.row(
            "texts accepted (callers texted twice)",
            format!(
                "{} ({})",
                self.texts_accepted, self.callers_texted_more_than_once
            ),
        );
        let margin_warning = if self.seeding_margin_s < 0.0 {
            "  <-- SEEDING OVERLAPPED THE STREAM: raise --timer-lead-in"
        } else {
            ""
        };
        t.row(
            "start-up + seeding / margin before first due",
            format!(
                "{:.1} s / {:.1} s{margin_warning}",
                self.seed_s, self.seeding_margin_s
            ),
        );
        t.row("pending timers at the end", self.pending_at_end.to_string());
        t.row(
            "load average (1 min) before / after",
            format!("{:.2} / {:.2}", self.load_average[0], self.load_average[1]),
        );
        t.line("Service memory (VmRSS) by pending jobs");
        for s in &self.rss {
            t.row(
                &format!("{} ({} pending)", s.when, s.pending_jobs),
                s.rss_mib.map_or("-".to_string(), |v| format!("{v:.1} MiB")),
            );
        }
        t.row(
            "peak (VmHWM)",
            self.service_peak_rss_mib
                .map_or("-".to_string(), |v| format!("{v:.1} MiB")),
        );
        t.row("service exit after SIGTERM", self.service_exit.clone());
        if let Some(c) = &self.classifier {
            t.line("Classifier (shipped rules)");
            t.row("throughput", c.summary());
        }
        match self.verdict {
            "OK" => t.line(format!(
                "\nOK: all {} stream timers fired, p99 {:.0} ms late (target < 1000 ms)",
                self.stream_timers,
                self.fired_late_ms.as_ref().map_or(0.0, |p| p.p99)
            )),
            other => t.line(format!(
                "\n!!!!!!!! {other}: {} of {} fired, p99 {} (target: all, p99 < 1000 ms) !!!!!!!!",
                self.fired,
                self.stream_timers,
                self.fired_late_ms
                    .as_ref()
                    .map_or("-".to_string(), |p| format!("{:.0} ms", p.p99))
            )),
        }
        t.0
    }
}
