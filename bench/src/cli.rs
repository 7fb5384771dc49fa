//! The bench's command line: every flag, its default and what it is for.
//!
//! Apart from `main.rs` (which measurement runs) and `run.rs` (how a load
//! run goes) because the flags are read by both and are most of the text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::carrier::ProviderChoice;
use crate::chaos;

/// End-to-end load benchmark for ringback: signed missed-call webhooks in,
/// texts out through a mock Twilio API.
///
/// Spawns `target/release/ringback serve` against an in-process mock of
/// Twilio's Messages API, drives missed-call webhooks open-loop at a fixed
/// rate (latency measured from the scheduled send time, so a slow service
/// cannot hide by slowing the bench down), waits for the texts, and prints
/// throughput, latency percentiles, texts-vs-calls (OK / MISMATCH) and peak
/// memory. Exits 0 when every caller got exactly one text, 2 on a mismatch,
/// 1 on an error.
#[derive(Debug, Parser)]
#[command(name = "ringback-bench", version, verbatim_doc_comment)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    /// New missed calls per second, each from a new caller (open loop).
    /// Several rates (`--rate 500,1000`) make one run each, in order.
    #[arg(long, default_value = "1000", value_name = "PER_SECOND", value_delimiter = ',', num_args = 1..)]
    pub(crate) rate: Vec<f64>,

    /// How long to offer load, in seconds; the run makes rate × duration calls.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub(crate) duration: f64,

    /// Make exactly this many calls instead of rate × duration.
    #[arg(long, value_name = "N")]
    pub(crate) calls: Option<u64>,

    /// The carrier whose webhooks come in and whose API takes the texts:
    /// `twilio`, `telnyx` (TeXML callbacks signed with Ed25519, texts via
    /// `POST /v2/messages`), or `both`, one after the other, then side by
    /// side.
    #[arg(long, value_enum, default_value = "twilio")]
    pub(crate) provider: ProviderChoice,

    /// Deliver every webhook this many times, concurrently (like Twilio's
    /// retries), to check that each caller is still texted only once.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) duplicates: u32,

    /// Fraction (0-1) of text sends the mock answers with 500 or with
    /// 429 + `Retry-After: 1`, to exercise the service's retries.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    pub(crate) fail_rate: f64,

    /// Fraction (0-1) of text sends the mock accepts and records but answers
    /// with 500, as if the reply was lost: ringback must find the message via
    /// GET Messages.json instead of texting the caller twice.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    pub(crate) lost_reply_rate: f64,

    /// Delay every mock Twilio response by this much (real Twilio: ~100-300 ms).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub(crate) mock_latency_ms: u64,

    /// After the load, wait at most this long for every caller's text.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub(crate) drain: f64,

    /// Once every caller has a text, keep watching this long for duplicates.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub(crate) settle: f64,

    /// Cap on webhooks in flight; hitting it is reported, since it means the
    /// offered rate could not be kept.
    #[arg(long, default_value_t = 2048, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_in_flight: u32,

    /// Per-webhook timeout, in seconds (Twilio's own is 15).
    #[arg(long, default_value_t = 15.0, value_name = "SECONDS")]
    pub(crate) timeout: f64,

    /// The ringback binary to run as `BIN serve`. Default:
    /// target/release/ringback, built with `cargo build --release -p ringback`
    /// if missing.
    #[arg(long, value_name = "PATH")]
    pub(crate) bin: Option<PathBuf>,

    /// Rebuild the default binary first even if it exists.
    #[arg(long)]
    pub(crate) build: bool,

    /// DATABASE_URL for the service, e.g. postgres://user:pass@127.0.0.1/ringback.
    /// Default: a fresh SQLite file in the run's temporary directory.
    #[arg(long, value_name = "URL", conflicts_with = "compare_postgres")]
    pub(crate) database: Option<String>,

    /// Run every rate twice, on a fresh SQLite file and on a fresh PostgreSQL
    /// database created on this server (and dropped after), then print the
    /// figures side by side. A server URL without a database name, e.g.
    /// postgres://postgres@127.0.0.1:5432.
    #[arg(long, value_name = "SERVER_URL")]
    pub(crate) compare_postgres: Option<String>,

    /// Use this ringback.toml instead of the built-in bench config (its
    /// business must own +15125550100).
    #[arg(long, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// RUST_LOG for the service.
    #[arg(long, default_value = "warn", value_name = "FILTER")]
    pub(crate) rust_log: String,

    /// Seconds to wait for GET /readyz to answer 200.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub(crate) ready_timeout: f64,

    /// Give the business's number this rate limit (messages per second)
    /// instead of one far above the load, and report how its texts left:
    /// per second, sustained rate, none dropped. E.g. `--calls 1000 --rate
    /// 5000 --sender-mps 50 --drain 60`.
    #[arg(long, alias = "mps", value_name = "MPS")]
    pub(crate) sender_mps: Option<f64>,

    /// Offer exactly N calls at once (all in the first millisecond), e.g.
    /// `--mps 1 --burst 60`: 60 callers missed in the same instant on one
    /// 1 text/s number; the report gives each text's lateness against the
    /// ideal schedule (one per period after the first).
    #[arg(long, value_name = "N")]
    pub(crate) burst: Option<u64>,

    /// Overload: offer more than the service takes and check it stays
    /// bounded: webhooks beyond its `[http]` caps answered 503 at once,
    /// accepted ones still fast (their own p99), every accepted caller
    /// texted once, peak RSS, and how long after the load webhooks are
    /// answered promptly again. E.g. `--overload --rate 10000 --duration 5`.
    #[arg(long)]
    pub(crate) overload: bool,

    /// With --overload: the service's `[http]` caps, webhooks in flight and
    /// waiting, as `INFLIGHT,QUEUED` (default: the service's, 1024,4096).
    #[arg(long, value_name = "CAPS", value_delimiter = ',')]
    pub(crate) webhook_caps: Option<Vec<u32>>,

    /// Print the figures as one JSON line on stdout instead of the table.
    #[arg(long)]
    pub(crate) json: bool,

    /// Print the last lines of the service's output at the end (they are
    /// printed anyway on a mismatch).
    #[arg(long)]
    pub(crate) show_log: bool,

    /// Keep the temporary directory (config, SQLite database) and print its path.
    #[arg(long)]
    pub(crate) keep_tmp: bool,

    /// Benchmark a trivial built-in stand-in instead of ringback, to check the
    /// bench itself (mock, signer, scheduling, measurements).
    #[arg(long)]
    pub(crate) self_test: bool,

    /// Measure follow-up timer accuracy instead of webhook load: seed this
    /// many pending follow-up timers (real leads), a stream of which falls
    /// due during the run, and report fire time minus due time p50/p99/max
    /// and the service's RSS as the pending set grows. --drain bounds the
    /// wait for the last texts after the stream.
    #[arg(long, value_name = "PENDING")]
    pub(crate) timers: Option<u64>,

    /// With --timers: stream timers falling due per second.
    #[arg(long, default_value_t = 300.0, value_name = "PER_SECOND")]
    pub(crate) timer_rate: f64,

    /// With --timers: how long the stream of due timers lasts, in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub(crate) timer_window: f64,

    /// With --timers: seconds from seeding the stream to its first due time;
    /// must cover the service's start and growing the pending set (a
    /// shortfall is reported).
    #[arg(long, default_value_t = 20.0, value_name = "SECONDS")]
    pub(crate) timer_lead_in: f64,

    /// Only measure the classifier's single-core throughput, print it, exit.
    #[arg(long)]
    pub(crate) classifier: bool,

    /// Seconds spent measuring classifier throughput at the start of every
    /// run, before the service starts (0 skips it).
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub(crate) classifier_seconds: f64,

    /// Reply corpus (`label<TAB>text`, header line) for the classifier
    /// figure. Default: $RINGBACK_CORPUS, else ../shared/corpus/replies-dev.tsv
    /// beside the workspace, else tests/data/heldout.tsv.
    #[arg(long, value_name = "PATH")]
    pub(crate) corpus: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Kill the service with SIGKILL 100 times under load (and restart
    /// PostgreSQL mid-run); report acknowledged calls never texted and
    /// callers texted twice. See docs/benchmarks.md.
    Chaos(Box<chaos::ChaosArgs>),
    /// The trivial service used by --self-test (reads ringback's environment).
    #[command(hide = true)]
    StandIn,
}
