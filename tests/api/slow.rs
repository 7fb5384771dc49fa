//! Slow clients and overload: a client that dribbles its request, many
//! connections at once, or more webhooks than the database can take, must
//! not hold the service: the slow are cut off at the `[http]` deadlines,
//! the excess is answered 503 at once (the carrier retries), and the work
//! accepted stays fast.

use crate::helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIGHT: &str =
    "[http]\nheader_timeout_seconds = 1\nbody_timeout_seconds = 1\nmax_connections = 200";

fn addr(app: &TestApp) -> String {
    app.url.trim_start_matches("http://").to_string()
}

/// Writes `bytes` one a second until the server closes the connection;
/// returns how long that took (or panics after `limit`).
async fn dribble(addr: String, bytes: &'static [u8], limit: Duration) -> Duration {
    let start = Instant::now();
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 512];
    for b in bytes.iter().cycle() {
        if conn.write_all(&[*b]).await.is_err() {
            return start.elapsed();
        }
        // Whatever the server answers (a 408, or nothing), it closes.
        match tokio::time::timeout(Duration::from_secs(1), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {
                // An answer; wait for the close after it.
                let mut rest = Vec::new();
                let _ = tokio::time::timeout(limit, conn.read_to_end(&mut rest)).await;
                return start.elapsed();
            }
            Err(_) => {}
        }
        assert!(start.elapsed() < limit, "still open after {limit:?}");
    }
    unreachable!()
}

/// 50 connections sending their headers a byte a second are closed within
/// the header deadline (1 s here), while ordinary requests are served
/// meanwhile; a keep-alive connection left idle is closed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_others_are_served() {
    let _machine = side_by_side().await;
    let app = TestApp::spawn_with(Backend::Sqlite, DEFAULT_BUSINESS, TIGHT).await;
    let slow: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(dribble(
                addr(&app),
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
                Duration::from_secs(8),
            ))
        })
        .collect();
    let http = reqwest::Client::new();
    for _ in 0..10 {
        let t = Instant::now();
        let r = http
            .get(format!("{}/readyz", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
    for s in slow {
        let took = s.await.unwrap();
        // The deadline, plus the dribbler's own one-second read wait.
        assert!(took < Duration::from_secs(3), "closed after {took:?}");
    }

    // Idle keep-alive: one request, then nothing.
    let mut conn = TcpStream::connect(addr(&app)).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut all))
        .await
        .expect("an idle connection is closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

/// A body that does not arrive within the body deadline is answered 408
/// and the connection closed; nothing is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_gets_408() {
    let _machine = side_by_side().await;
    let app = TestApp::spawn_with(Backend::Sqlite, DEFAULT_BUSINESS, TIGHT).await;
    let mut conn = TcpStream::connect(addr(&app)).await.unwrap();
    let head = "POST /webhooks/twilio/voice/dial HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: c2ln\r\nContent-Length: 400\r\n\r\nCallSid=CAslow";
    conn.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answer))
        .await
        .expect("answered and closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(app.store().count("webhook_events").await.unwrap(), 0);
}

/// Beyond `max_connections`, new connections wait (in the kernel's accept
/// queue) and are served as soon as one closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let _machine = side_by_side().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        DEFAULT_BUSINESS,
        "[http]\nheader_timeout_seconds = 10\nmax_connections = 3",
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr(&app)).await.unwrap());
    }
    let url = format!("{}/healthz", app.url);
    let mut waiting = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(8))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut waiting)
            .await
            .is_err(),
        "served beyond the cap"
    );
    drop(held.pop());
    let t = Instant::now();
    assert_eq!(waiting.await.unwrap().unwrap(), 200);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

on_both_stores!(overload_is_answered_503_at_once_and_recovers);

/// With the database stalled, 2 webhooks in flight and 2 waiting fill the
/// caps: the other 6 are answered 503 with `Retry-After` at once, not
/// after the stall. When it ends, the accepted ones complete (each caller
/// texted once) and new webhooks are served again.
async fn overload_is_answered_503_at_once_and_recovers(b: Backend) {
    let pg = matches!(b, Backend::Postgres(_));
    let app = TestApp::spawn_with(
        b,
        DEFAULT_BUSINESS,
        "[http]\nmax_inflight_webhooks = 2\nmax_queued_webhooks = 2\nqueue_wait_seconds = 10\n[database]\nacquire_timeout_seconds = 10\nstatement_timeout_seconds = 10",
    )
    .await;
    // Stall every write: SQLite's one writer held, or PostgreSQL's
    // webhook table locked.
    let sqlite_stall = if pg {
        None
    } else {
        Some(app.store().begin().await.unwrap())
    };
    let pg_stall = if pg {
        let mut tx = app.store().pool().begin().await.unwrap();
        sqlx::query("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .unwrap();
        Some(tx)
    } else {
        None
    };
    let callers: Vec<String> = (0..10)
        .map(|i| format!("+1512555{:04}", 2000 + i))
        .collect();
    let mut calls = tokio::task::JoinSet::new();
    for (i, caller) in callers.iter().enumerate() {
        let (url, caller) = (app.url.clone(), caller.clone());
        let sid = format!("CAover{i}");
        let form = [
            ("AccountSid", ACCOUNT_SID.to_string()),
            ("CallSid", sid),
            ("From", caller),
            ("To", TRACKING.to_string()),
            ("CallStatus", "in-progress".into()),
            ("Direction", "inbound".into()),
            ("DialCallStatus", "no-answer".into()),
            ("DialCallSid", "CAdial".into()),
            ("DialCallDuration", "0".into()),
        ];
        calls.spawn(async move {
            let path = "/webhooks/twilio/voice/dial";
            let full = format!("{url}{path}");
            let pairs: Vec<(String, String)> = form
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            let sig = ringback::provider::twilio::signature::sign(
                AUTH_TOKEN.as_bytes(),
                &full,
                &pairs,
                ringback::provider::twilio::signature::Algorithm::HmacSha1,
            );
            let start = Instant::now();
            let r = reqwest::Client::new()
                .post(&full)
                .header("X-Twilio-Signature", sig)
                .form(&form)
                .send()
                .await
                .unwrap();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status().as_u16(), retry, start.elapsed())
        });
    }
    // The six beyond the caps come back while the stall lasts.
    for _ in 0..6 {
        let (status, retry, took) = calls.join_next().await.unwrap().unwrap();
        assert_eq!(status, 503);
        assert_eq!(retry.as_deref(), Some("1"));
        assert!(took < Duration::from_secs(2), "answered after {took:?}");
    }
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(m.contains("ringback_webhooks_in_flight 2"), "{m}");
    assert!(m.contains("ringback_webhooks_waiting 2"), "{m}");
    assert!(
        m.contains("ringback_webhooks_shed_total{reason=\"queue_full\"} 6"),
        "{m}"
    );
    drop(sqlite_stall);
    if let Some(tx) = pg_stall {
        tx.rollback().await.unwrap();
    }
    for _ in 0..4 {
        let (status, _, _) = calls.join_next().await.unwrap().unwrap();
        assert_eq!(status, 200, "accepted work completes");
    }
    // Recovered: a new call is served, and every accepted caller texted.
    assert_eq!(app.missed_call("CAafter", CALLER).await.status(), 200);
    let sent = app.wait_for_texts(5).await;
    assert_eq!(sent.len(), 5, "{sent:?}");
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(m.contains("ringback_webhooks_in_flight 0"), "{m}");
    assert!(m.contains("ringback_webhooks_waiting 0"), "{m}");
}
