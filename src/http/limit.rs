//! A per-source-IP limit on the webhook endpoints that never drops a
//! verified carrier request.
//!
//! Why it only counts requests that fail verification: a carrier sends all
//! of its webhooks from a handful of addresses, and at peak (a storm of
//! missed calls) one address legitimately sends hundreds per second. A
//! plain per-IP limit would answer some of those with 429, and a carrier
//! that gets a 429 may give up on the webhook: a missed call nobody texts
//! back, or a STOP we never record. So the budget is spent only by
//! requests that could never have been accepted anyway:
//! - a request with no signature header can never verify: it spends budget
//!   *before* its body is read, and once the IP's budget is gone it is
//!   answered 429 without reading the body or touching anything else;
//! - a request with a signature is always verified (HMAC over at most
//!   `max_body_bytes`, microseconds of work, no database) — it is the only
//!   way to know whether it is the carrier's. If it verifies, the limit
//!   plays no part whatever the IP has done; if it fails (403 bad
//!   signature, 415 wrong content type, which is checked before the
//!   signature), it spends budget, and once the budget is gone it is
//!   answered 429 instead. So does a 4xx axum gives before any handler
//!   runs (a body over `max_body_bytes` or cut short, a wrong method):
//!   such a request was never verified either.
//!
//! 429s carry `Retry-After`. A 400 a handler gives (a missing field, after
//! verification) is not counted: it carries the
//! [`Explained`](super::error::Explained) mark, so this never turns a
//! verified answer into a 429.
//!
//! The key is the TCP peer address. Behind a proxy (Fly.io) that is the
//! proxy, so the budget is shared by all unverified traffic — still
//! harmless to carriers, whose requests verify. Forwarded-for headers are
//! not trusted: anyone can write them.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Unverified webhook requests allowed per source IP: a burst of this many…
pub const UNVERIFIED_BURST: u32 = 60;
/// …refilled at one per this long.
pub const UNVERIFIED_REFILL: Duration = Duration::from_secs(1);

pub struct WebhookIpLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl WebhookIpLimit {
    pub fn new(burst: u32, refill: Duration) -> Arc<WebhookIpLimit> {
        let quota = Quota::with_period(refill)
            .expect("refill period is positive")
            .allow_burst(NonZeroU32::new(burst.max(1)).expect("at least one"));
        Arc::new(WebhookIpLimit {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        })
    }

    /// Spends one unit of `ip`'s budget; `Err(wait)` if there is none.
    pub fn spend(&self, ip: IpAddr) -> Result<(), Duration> {
        // Forget idle addresses now and then, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&ip)
            .map_err(|nu| nu.wait_time_from(self.limiter.clock().now()))
    }
}

fn too_many(wait: Duration) -> Response {
    super::error::try_again_later(
        StatusCode::TOO_MANY_REQUESTS,
        "too many unverified webhook requests from this address; signed carrier requests are not limited",
        super::error::whole_seconds(wait),
    )
}

/// Did this answer come from a request that was never verified? A wrong
/// signature or content type, or a 4xx axum gave before any handler ran
/// (a body over the limit or cut short, a wrong method): those carry no
/// [`Explained`](super::error::Explained) mark.
fn unverified(resp: &Response) -> bool {
    let status = resp.status();
    status == StatusCode::FORBIDDEN
        || status == StatusCode::UNSUPPORTED_MEDIA_TYPE
        || (status.is_client_error()
            && resp.extensions().get::<super::error::Explained>().is_none())
}

/// The middleware (applies to `/webhooks/…` only).
pub async fn webhooks(
    State(limit): State<Arc<WebhookIpLimit>>,
    req: Request,
    next: Next,
) -> Response {
    if !req.uri().path().starts_with("/webhooks/") {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let signed = ["x-twilio-signature", "telnyx-signature-ed25519"]
        .iter()
        .any(|h| req.headers().get(*h).is_some_and(|v| !v.is_empty()));
    if !signed {
        if let Err(wait) = limit.spend(ip) {
            tracing::warn!(%ip, path = %req.uri().path(), "unsigned webhook request over this address's limit: 429");
            return too_many(wait);
        }
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    if unverified(&resp) {
        if let Err(wait) = limit.spend(ip) {
            tracing::warn!(%ip, %path, "unverified webhook request over this address's limit: 429");
            return too_many(wait);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_per_address() {
        let l = WebhookIpLimit::new(3, Duration::from_secs(60));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.spend(a).is_ok());
        }
        let wait = l.spend(a).unwrap_err();
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        assert!(l.spend(b).is_ok(), "another address has its own budget");
        let r = too_many(Duration::from_millis(1500));
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[axum::http::header::RETRY_AFTER], "2");
    }
}
