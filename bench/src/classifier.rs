//! Classifier throughput: how many customer replies per second the shipped
//! intent rules (`prompts/intents.rules`, via `Classifier::default()`)
//! label on **one core**.
//!
//! It runs on a single dedicated thread, before the service under test is
//! started, over the lines of a reply corpus in a loop for a fixed time, so
//! the figure is messages per second of one core on this machine (other
//! processes on a shared machine still show up in it: compare runs made
//! close together). Same method as `examples/classify_throughput.rs`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ringback::core::classify::Classifier;
use serde::Serialize;

use crate::service::workspace_dir;

/// What the measurement found. Field names are JSON keys.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifierFigures {
    /// The corpus file the messages came from.
    pub corpus: String,
    /// Distinct messages in it.
    pub messages: usize,
    pub mean_bytes: usize,
    /// Classifications made, and over how long.
    pub classifications: u64,
    pub seconds: f64,
    /// Single-core throughput.
    pub msgs_per_s: f64,
}

/// The corpus to use: `RINGBACK_CORPUS`, else the shared dev corpus beside
/// the workspace (`../shared/corpus/replies-dev.tsv`, i.e.
/// /work/shared/corpus/replies-dev.tsv here), else the held-out sample that
/// ships in the repository (`tests/data/heldout.tsv`), so a fresh checkout
/// without the shared folder still measures something.
pub fn default_corpus() -> PathBuf {
    if let Some(path) = std::env::var_os("RINGBACK_CORPUS") {
        return PathBuf::from(path);
    }
    let workspace = workspace_dir();
    let candidates = [
        workspace.join("../shared/corpus/replies-dev.tsv"),
        PathBuf::from("/work/shared/corpus/replies-dev.tsv"),
    ];
    let path = candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| workspace.join("tests/data/heldout.tsv"));
    path.canonicalize().unwrap_or(path)
}

/// The message column of a `label<TAB>text` file with a header line.
pub fn read_corpus(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let messages: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t').map(|(_, m)| m.to_string()))
        .collect();
    anyhow::ensure!(
        !messages.is_empty(),
        "{} has no `label<TAB>text` lines",
        path.display()
    );
    Ok(messages)
}

/// Classifies the corpus in a loop for `duration` on one new thread.
pub fn measure(corpus: &Path, duration: Duration) -> anyhow::Result<ClassifierFigures> {
    let messages = read_corpus(corpus)?;
    let corpus_name = corpus.display().to_string();
    std::thread::Builder::new()
        .name("classifier-bench".into())
        .spawn(move || {
            let classifier = Classifier::default();
            let bytes: usize = messages.iter().map(String::len).sum();
            // One untimed pass: first-use costs (lazy regex state) are not
            // what a long-running service pays per message.
            for m in &messages {
                std::hint::black_box(classifier.classify(m));
            }
            let start = Instant::now();
            let mut count = 0u64;
            while start.elapsed() < duration {
                for m in &messages {
                    std::hint::black_box(classifier.classify(std::hint::black_box(m)));
                }
                count += messages.len() as u64;
            }
            let seconds = start.elapsed().as_secs_f64();
            ClassifierFigures {
                corpus: corpus_name,
                messages: messages.len(),
                mean_bytes: bytes / messages.len(),
                classifications: count,
                seconds: (seconds * 1000.0).round() / 1000.0,
                msgs_per_s: (count as f64 / seconds).round(),
            }
        })?
        .join()
        .map_err(|_| anyhow::anyhow!("the classifier thread panicked"))
}

impl ClassifierFigures {
    /// One line for the tables.
    pub fn summary(&self) -> String {
        format!(
            "{:.0} msgs/s on one core ({} classifications in {:.2} s; {} messages, mean {} bytes, from {})",
            self.msgs_per_s,
            self.classifications,
            self.seconds,
            self.messages,
            self.mean_bytes,
            self.corpus
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_the_shipped_rules_on_the_repository_sample() {
        let corpus = workspace_dir().join("tests/data/heldout.tsv");
        let f = measure(&corpus, Duration::from_millis(50)).unwrap();
        assert!(f.messages > 10);
        assert!(f.classifications >= f.messages as u64);
        assert!(f.msgs_per_s > 0.0);
        assert!(f.summary().contains("msgs/s on one core"));
    }

    #[test]
    fn default_corpus_exists() {
        assert!(default_corpus().is_file(), "{}", default_corpus().display());
    }
}
