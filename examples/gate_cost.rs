//! The compliance gate's cost per message, on one thread: the pure rules
//! (`compliance::check`: business, number, A2P 10DLC registration, daily
//! cap, quiet hours by the recipient's area code and time zone) and the
//! per-sender rate limiter (`SenderRates::admit`, governor). Not included:
//! the two database reads the worker makes around it (the recipient's texts
//! in the last 24 h, and the consent check under the contact lock).
//!
//! `cargo run --release --example gate_cost [path/to/ringback.toml]`

use chrono::{Duration, TimeZone, Utc};
use ringback::config::Config;
use ringback::core::compliance::pacing::Pace;
use ringback::core::compliance::{check, Outgoing, Verdict};
use ringback::domain::MessageKind;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/ringback.toml").to_string());
    let config = Config::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    let rules = ringback::core::Policy::new(&config).unwrap().rules;
    let b = &config.businesses[0];
    let from = b.numbers[0].as_str().to_string();
    // Recipients across zones and state rules; instants across a day.
    let recipients: Vec<String> = [
        "212", "305", "512", "602", "808", "907", "206", "401", "800", "415",
    ]
    .iter()
    .map(|npa| format!("+1{npa}5550147"))
    .collect();
    let day = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
    let kinds = [
        MessageKind::FollowUp,
        MessageKind::Instant,
        MessageKind::OptOutConfirmation,
    ];
    let n = 2_000_000u64;

    let start = Instant::now();
    let mut allowed = 0u64;
    for i in 0..n {
        let o = Outgoing {
            kind: kinds[(i % 3) as usize],
            to: &recipients[(i % 10) as usize],
            from: &from,
            business: Some(b),
            own_number: false,
            now: day + Duration::minutes((i % 1440) as i64),
            sent_last_24h: (i % 4) as i64,
            cap_frees_at: None,
            rules: &rules,
        };
        allowed += u64::from(black_box(check(black_box(&o))) == Verdict::Allow);
    }
    let rules_ns = start.elapsed().as_nanos() as f64 / n as f64;

    // The pace rule a claim applies per sending number (GCRA arithmetic).
    let pace = Pace::of(1.0);
    let start = Instant::now();
    let mut taken = 0i64;
    for i in 0..n {
        let (k, _) = black_box(pace.take(black_box(0), i as i64, 1));
        taken += k;
    }
    let pace_ns = start.elapsed().as_nanos() as f64 / n as f64;

    println!(
        "compliance::check: {:.3} µs per message ({allowed} of {n} allowed)",
        rules_ns / 1000.0
    );
    println!(
        "pacing rule (per sending number, per claim): {:.3} µs ({taken} taken)",
        pace_ns / 1000.0
    );
}
