//! `[http]`: how the server treats connections and load. Every limit has a
//! default that serves a busy shop; the section exists so an operator can
//! tighten it (and so tests can make it small).
//!
//! - Slow clients: a connection must send a request's headers within
//!   `header_timeout_seconds` (counted from the connection opening or the
//!   previous answer, so an idle keep-alive connection is closed after it
//!   too) and its body within `body_timeout_seconds`; at most
//!   `max_connections` are open at once (more wait in the kernel's accept
//!   queue until one closes).
//! - Overload: at most `max_inflight_webhooks` webhooks are handled at
//!   once, and `max_queued_webhooks` more wait (at most
//!   `queue_wait_seconds`) for a turn; any beyond that is answered 503 with
//!   `Retry-After` at once, which the carrier retries, so the accepted ones
//!   stay fast and memory stays bounded.

use super::ConfigError;
use serde::Deserialize;
use std::time::Duration;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    header_timeout_seconds: Option<f64>,
    body_timeout_seconds: Option<f64>,
    max_connections: Option<u32>,
    max_inflight_webhooks: Option<u32>,
    max_queued_webhooks: Option<u32>,
    queue_wait_seconds: Option<f64>,
}

/// The validated `[http]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub max_inflight_webhooks: usize,
    pub max_queued_webhooks: usize,
    pub queue_wait: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        // Twilio gives up on a webhook after 15 s: a request that has not
        // even sent its headers in 10 s is not a carrier's. The webhook
        // caps bound how long an accepted webhook waits: in flight plus
        // waiting, divided by what the store takes (about 1,300 a second
        // on SQLite when overloaded on 2 cores), is about a second, and no
        // webhook waits more than `queue_wait` for its turn. Below
        // capacity webhooks take milliseconds, so only a burst or load
        // beyond capacity meets the caps. A waiting webhook is its head
        // only (a few KB).
        HttpConfig {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 8192,
            max_inflight_webhooks: 256,
            max_queued_webhooks: 1024,
            queue_wait: Duration::from_secs(1),
        }
    }
}

impl HttpConfig {
    /// Twilio waits 15 s for an answer; no wait of ours may come near it.
    const MAX_SECONDS: f64 = 14.0;

    pub(super) fn parse(raw: Option<RawHttp>, file: &str, errs: &mut Vec<ConfigError>) -> Self {
        let d = HttpConfig::default();
        let Some(raw) = raw else { return d };
        let mut seconds = |key: &str, v: Option<f64>, default: Duration| match v {
            None => default,
            Some(s) if s.is_finite() && s > 0.0 && s <= Self::MAX_SECONDS => {
                Duration::from_secs_f64(s)
            }
            Some(s) => {
                errs.push(ConfigError::new(
                    file,
                    &format!("http.{key}"),
                    format!(
                        "{s} is out of range (more than 0, at most {} seconds)",
                        Self::MAX_SECONDS
                    ),
                    format!(
                        "use e.g. {} (the default); Twilio gives up on a webhook after 15 s",
                        default.as_secs_f64()
                    ),
                ));
                default
            }
        };
        let header_timeout = seconds(
            "header_timeout_seconds",
            raw.header_timeout_seconds,
            d.header_timeout,
        );
        let body_timeout = seconds(
            "body_timeout_seconds",
            raw.body_timeout_seconds,
            d.body_timeout,
        );
        let queue_wait = seconds("queue_wait_seconds", raw.queue_wait_seconds, d.queue_wait);
        let mut count = |key: &str, v: Option<u32>, default: usize, min: u32| match v {
            None => default,
            Some(n) if (min..=1_000_000).contains(&n) => n as usize,
            Some(n) => {
                errs.push(ConfigError::new(
                    file,
                    &format!("http.{key}"),
                    format!("{n} is out of range ({min} to 1000000)"),
                    format!("use e.g. {default} (the default)"),
                ));
                default
            }
        };
        HttpConfig {
            header_timeout,
            body_timeout,
            max_connections: count("max_connections", raw.max_connections, d.max_connections, 1),
            max_inflight_webhooks: count(
                "max_inflight_webhooks",
                raw.max_inflight_webhooks,
                d.max_inflight_webhooks,
                1,
            ),
            max_queued_webhooks: count(
                "max_queued_webhooks",
                raw.max_queued_webhooks,
                d.max_queued_webhooks,
                0,
            ),
            queue_wait,
        }
    }
}
