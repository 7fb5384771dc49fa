//! ringback wins back the phone calls a trade business misses.
//!
//! The modules read as the architecture (see `../shared/design.md`):
//! - [`config`]: the owner's `ringback.toml` and `prompts/`, the operator's env;
//! - [`domain`]: the trade's vocabulary as types (phone numbers, leads, texts);
//! - [`classify`]: reading customers' replies;
//! - [`engine`]: pure decisions — state + event + time → actions;
//! - [`roster`], [`escalation`]: who is on call, and paging them until one
//!   owns the emergency (pure, like the engine);
//! - [`compliance`]: the one gate every outbound message passes;
//! - [`provider`]: Twilio and the console stand-in;
//! - [`store`]: SQLite and PostgreSQL, one contract;
//! - [`ingest`]: the shell that records events and applies decisions;
//! - [`worker`]: the only code that sends;
//! - [`http`]: webhooks, ops endpoints and the admin API.

pub mod architecture;
pub mod bench_queue;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod domain;

pub mod http;
pub mod logging;
pub mod metrics;

pub mod provider;
pub mod shell;

pub mod simulate;
pub mod startup;
pub mod store;
