//! Failed admin logins: one log line each, and a per-address limit.
//!
//! Rule: a request to `/api/v1/…` answered 401 (no bearer token, or the
//! wrong one) is logged once, with the address and path, never the token
//! it carried. After [`FAILURES_ALLOWED`] failures from one address within
//! [`WINDOW`], every admin request from that address is answered 429 with
//! `Retry-After` until the window ends, the right token included: a
//! guesser learns nothing more, and the log gets one line saying the
//! address is locked out, not one per guess.
//!
//! The key is the TCP peer address (see `limit.rs` on proxies: behind one,
//! the lockout is shared by everyone behind it, which an owner who mistyped
//! the token notices as a 429 that says to wait).

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failed logins allowed per address per [`WINDOW`]…
pub const FAILURES_ALLOWED: u32 = 10;
/// …after which the address waits for the window to end.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most (older windows are forgotten first).
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub struct AdminGuard {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AdminGuard {
    pub fn new() -> Arc<AdminGuard> {
        Arc::new(AdminGuard::default())
    }

    /// How long `ip` must still wait, if it is locked out at `now`.
    fn locked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (start, n) = map.get(&ip)?;
        let end = *start + WINDOW;
        (*n >= FAILURES_ALLOWED && now < end).then(|| end - now)
    }

    /// Counts a failure; true when it is the one that locks `ip` out.
    fn failed(&self, ip: IpAddr, now: Instant) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 == FAILURES_ALLOWED
    }
}

fn locked_out(wait: Duration) -> Response {
    let secs = super::error::whole_seconds(wait);
    super::error::try_again_later(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("too many failed admin logins from this address; try again in {secs} s"),
        secs,
    )
}

/// The middleware (applies to `/api/…` only).
pub async fn admin(State(guard): State<Arc<AdminGuard>>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if let Some(wait) = guard.locked(ip, Instant::now()) {
        return locked_out(wait);
    }
    let method = req.method().clone();
    let path = crate::logging::clip(req.uri().path(), 120);
    let resp = next.run(req).await;
    if resp.status() == StatusCode::UNAUTHORIZED {
        let now = Instant::now();
        if guard.failed(ip, now) {
            tracing::warn!(%ip, %method, path, failures = FAILURES_ALLOWED, lockout_seconds = WINDOW.as_secs(), "admin API: too many failed logins from this address; it gets 429 until the window ends");
        } else {
            tracing::warn!(%ip, %method, path, "admin API: missing or wrong bearer token");
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_lock_an_address_for_the_window() {
        let g = AdminGuard::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        for n in 1..FAILURES_ALLOWED {
            assert!(!g.failed(a, t0), "failure {n} does not lock");
            assert!(g.locked(a, t0).is_none());
        }
        assert!(g.failed(a, t0), "the tenth locks");
        let wait = g.locked(a, t0 + Duration::from_secs(15)).unwrap();
        assert_eq!(wait, Duration::from_secs(45));
        assert!(g.locked(b, t0).is_none(), "another address is not locked");
        assert!(g.locked(a, t0 + WINDOW).is_none(), "the window ends");
        assert!(!g.failed(a, t0 + WINDOW), "and counting starts again");
    }
}
