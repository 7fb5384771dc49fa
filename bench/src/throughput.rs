//! `--sender-mps`: does a burst from one number leave at the configured
//! rate, with nothing dropped? Counts the mock's accepted requests from the
//! business's number per second, from the first one.

use std::time::Instant;

pub struct SenderThroughput {
    pub mps: f64,
    pub calls: u64,
    /// Texts the mock accepted from the number.
    pub texts: usize,
    /// Per second since the first text.
    pub per_second: Vec<u64>,
    /// First to last text, in seconds.
    pub span_secs: f64,
    /// Each text's lateness against the ideal schedule, in ms, sorted.
    pub lateness_ms: Vec<f64>,
}

/// Each text's lateness against the ideal schedule of a number allowed
/// `mps` texts a second: the first `burst` (a tenth of a second's worth)
/// at the first text's arrival, then one per period. Early texts count 0.
pub fn lateness_ms(arrivals: &[Instant], mps: f64) -> Vec<f64> {
    let Some(&first) = arrivals.first() else {
        return Vec::new();
    };
    let burst = ((mps / 10.0).ceil() as usize).max(1);
    let period = 1.0 / mps;
    let mut out: Vec<f64> = arrivals
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let ideal = i.saturating_sub(burst - 1) as f64 * period;
            let actual = t.duration_since(first).as_secs_f64();
            ((actual - ideal) * 1000.0).max(0.0)
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl SenderThroughput {
    pub fn new(arrivals: &[Instant], mps: f64, calls: u64) -> SenderThroughput {
        let first = arrivals.first().copied();
        let mut per_second = Vec::new();
        for t in arrivals {
            let s = t.duration_since(first.expect("non-empty")).as_secs() as usize;
            if per_second.len() <= s {
                per_second.resize(s + 1, 0);
            }
            per_second[s] += 1;
        }
        let span_secs = match (arrivals.first(), arrivals.last()) {
            (Some(a), Some(b)) => b.duration_since(*a).as_secs_f64(),
            _ => 0.0,
        };
        SenderThroughput {
            mps,
            calls,
            texts: arrivals.len(),
            per_second,
            span_secs,
            lateness_ms: lateness_ms(arrivals, mps),
        }
    }

    /// The limiter lets a tenth of a second's worth (`ceil(mps / 10)`) go
    /// at once, then `mps`: the rate after that first burst.
    pub fn sustained_rate(&self) -> f64 {
        let burst = ((self.mps / 10.0).ceil() as usize).max(1);
        if self.texts <= burst || self.span_secs <= 0.0 {
            return 0.0;
        }
        (self.texts - burst) as f64 / self.span_secs
    }

    pub fn to_table(&self) -> String {
        let full: Vec<u64> = if self.per_second.len() > 2 {
            // Whole seconds only: drop the first (burst) and the last (partial).
            self.per_second[1..self.per_second.len() - 1].to_vec()
        } else {
            Vec::new()
        };
        let max_full = full.iter().max().copied().unwrap_or(0);
        let min_full = full.iter().min().copied().unwrap_or(0);
        let seconds: Vec<String> = self.per_second.iter().map(|n| n.to_string()).collect();
        format!(
            "\nper-sender throughput (configured {} texts/s for the number)\n  \
             texts from the number:  {} for {} calls ({} not sent)\n  \
             first to last text:     {:.2} s\n  \
             texts per second:       [{}]\n  \
             whole seconds after the first: min {} / max {} per second\n  \
             sustained rate after the first second's burst: {:.2} texts/s\n  \
             lateness against the ideal schedule p50 / p99 / max: {:.1} / {:.1} / {:.1} ms\n",
            self.mps,
            self.texts,
            self.calls,
            self.calls.saturating_sub(self.texts as u64),
            self.span_secs,
            seconds.join(", "),
            min_full,
            max_full,
            self.sustained_rate(),
            percentile(&self.lateness_ms, 50.0),
            percentile(&self.lateness_ms, 99.0),
            self.lateness_ms.last().copied().unwrap_or(0.0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_per_second_and_the_sustained_rate() {
        let t0 = Instant::now();
        // One at once, then one every 100 ms for 3 s.
        let mut a: Vec<Instant> = vec![t0];
        a.extend((1..=30).map(|i| t0 + Duration::from_millis(100 * i)));
        let s = SenderThroughput::new(&a, 10.0, 31);
        assert_eq!(s.per_second, vec![10, 10, 10, 1]);
        assert!((s.sustained_rate() - 10.0).abs() < 1e-9);
        assert!(s.to_table().contains("0 not sent"));
        assert!(s.lateness_ms.iter().all(|l| *l < 1e-6), "on schedule");
    }

    #[test]
    fn lateness_is_measured_against_one_text_per_period() {
        let t0 = Instant::now();
        // 1/s: on time, on time, 250 ms late, on time (early counts 0).
        let a = [0, 1000, 2250, 2900].map(|ms| t0 + Duration::from_millis(ms));
        let l = lateness_ms(&a, 1.0);
        assert_eq!(l.len(), 4);
        assert!((l[3] - 250.0).abs() < 1e-6, "{l:?}");
        assert!(l[..3].iter().all(|x| *x < 1e-6), "{l:?}");
        assert!((percentile(&l, 50.0) - 0.0).abs() < 1e-9);
    }
}
