//! Classifies the corpus lines in a loop for about two seconds on one thread
//! and prints messages per second: per second of wall time, and (on Linux)
//! per second this thread actually spent on a CPU, which is the figure to
//! compare on a machine shared with other work.
//!
//! `cargo run --release --example classify_throughput [path/to/replies.tsv]`
//!
//! Without an argument (or `RINGBACK_CORPUS`) it reads the shared dev corpus
//! beside the workspace, and on a fresh checkout without it the held-out
//! sample in `tests/data/heldout.tsv`. `ringback-bench --classifier` prints
//! the same figure as part of the benchmark.

use ringback::core::classify::Classifier;
use std::time::{Duration, Instant};

/// The allocator the service runs with (src/main.rs), so the figure is the
/// service's: classification makes many small, short-lived allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let path = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("RINGBACK_CORPUS").ok())
        .unwrap_or_else(default_corpus);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let messages: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t').map(|(_, m)| m))
        .collect();
    let classifier = Classifier::default();
    let bytes: usize = messages.iter().map(|m| m.len()).sum();
    println!(
        "{} messages, mean {} bytes",
        messages.len(),
        bytes / messages.len().max(1)
    );

    let cpu_start = thread_cpu_seconds();
    let start = Instant::now();
    let mut count = 0u64;
    let mut emergencies = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for m in &messages {
            let c = classifier.classify(std::hint::black_box(m));
            emergencies += u64::from(c.hazard.is_some());
            count += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{count} classifications in {secs:.2} s: {:.0} messages/s ({emergencies} emergencies)",
        count as f64 / secs
    );
    if let (Some(a), Some(b)) = (cpu_start, thread_cpu_seconds()) {
        let cpu = b - a;
        println!(
            "{cpu:.2} s on a CPU: {:.0} messages per CPU-second",
            count as f64 / cpu
        );
    }
}

/// Time this thread has spent on a CPU, from /proc (Linux only).
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// The shared dev corpus if it is there, else the sample in the repository.
fn default_corpus() -> String {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        manifest.join("../shared/corpus/replies-dev.tsv"),
        std::path::PathBuf::from("/work/shared/corpus/replies-dev.tsv"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .unwrap_or_else(|| manifest.join("tests/data/heldout.tsv"))
    .display()
    .to_string()
}
