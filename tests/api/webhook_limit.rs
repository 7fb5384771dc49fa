//! The per-source-IP limit on webhooks: unverified requests from one
//! address are cut off with 429 + Retry-After; verified carrier requests
//! from the same address never are.

use crate::helpers::*;
use ringback::http::limit::UNVERIFIED_BURST;

fn form() -> Vec<u8> {
    format!("AccountSid={ACCOUNT_SID}&MessageSid=SMx&From=%2B15125550147&To=%2B15125550100&Body=hi")
        .into_bytes()
}

/// A signed delivery-status callback (verified; texts nobody).
async fn status_callback(app: &TestApp, i: u32) -> reqwest::Response {
    app.post_twilio(
        "/webhooks/twilio/sms/status",
        &[
            ("MessageSid", &format!("SMstatus{i}")),
            ("MessageStatus", "delivered"),
            ("From", TRACKING),
            ("To", CALLER),
        ],
    )
    .await
}

async fn unverified_floods_get_429_but_signed_requests_always_pass(b: Backend) {
    let app = TestApp::spawn(b).await;
    let ctype = "application/x-www-form-urlencoded";
    // Unsigned requests spend the address's budget, then get 429.
    let mut statuses = Vec::new();
    for _ in 0..UNVERIFIED_BURST + 10 {
        let r = app
            .post_raw("/webhooks/twilio/sms", ctype, form(), None)
            .await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let after: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&after), "Retry-After {after}");
        }
    }
    assert!(
        statuses[..UNVERIFIED_BURST as usize - 5]
            .iter()
            .all(|s| *s == 400),
        "{statuses:?}"
    );
    // (The budget refills at one a second, so allow for a slow machine.)
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 5
            && statuses.iter().rev().take(3).all(|s| *s == 429),
        "{statuses:?}"
    );
    // Forged signatures from that address now get 429 too...
    let r = app
        .post_raw(
            "/webhooks/twilio/sms",
            ctype,
            form(),
            Some("bm90IGEgc2lnbmF0dXJl"),
        )
        .await;
    assert_eq!(r.status(), 429);
    // ...but the carrier's signed requests from the very same address are
    // all answered, however many.
    for i in 0..100 {
        let r = status_callback(&app, i).await;
        assert_eq!(r.status(), 200, "signed request {i}");
    }
    let r = app.missed_call("CA1", CALLER).await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    assert_eq!(
        app.mock.sent_to(CALLER).len(),
        1,
        "and acted on: the caller is texted"
    );
    // Other endpoints are not limited.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

async fn a_fresh_address_budget_is_not_spent_by_verified_requests(b: Backend) {
    let app = TestApp::spawn(b).await;
    for i in 0..(UNVERIFIED_BURST + 20) {
        let r = status_callback(&app, i).await;
        assert_eq!(r.status(), 200);
    }
    // The budget is intact: a forged request is refused as forged (403),
    // not yet rate limited.
    let r = app
        .post_raw(
            "/webhooks/twilio/sms",
            "application/x-www-form-urlencoded",
            form(),
            Some("bm90IGEgc2lnbmF0dXJl"),
        )
        .await;
    assert_eq!(r.status(), 403);
}

/// A forged request whose body is not even UTF-8 is still a forged
/// request (403), and one whose body is over the limit was never verified
/// (413): both spend the address's budget, then get 429 like any other.
async fn forged_undecodable_and_oversized_bodies_are_limited_too(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut statuses = Vec::new();
    for i in 0..UNVERIFIED_BURST + 10 {
        let body = if i % 2 == 0 {
            b"CallSid=CAx&X=\xff".to_vec()
        } else {
            format!("CallSid=CAx&Body={}", "x".repeat(70_000)).into_bytes()
        };
        let r = app
            .post_raw(
                "/webhooks/twilio/voice",
                "application/x-www-form-urlencoded",
                body,
                Some("forged"),
            )
            .await;
        statuses.push(r.status().as_u16());
    }
    assert!(
        statuses[..UNVERIFIED_BURST as usize - 5]
            .iter()
            .enumerate()
            .all(|(i, s)| *s == if i % 2 == 0 { 403 } else { 413 }),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().rev().take(3).all(|s| *s == 429),
        "{statuses:?}"
    );
}

on_both_stores!(
    forged_undecodable_and_oversized_bodies_are_limited_too,
    unverified_floods_get_429_but_signed_requests_always_pass,
    a_fresh_address_budget_is_not_spent_by_verified_requests,
);
