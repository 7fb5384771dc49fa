//! Per-sender throughput (messages per second per number), black-box: the
//! test clock is the limiter's clock, so the queue drains exactly as time
//! is moved, with no sleeping.

use crate::helpers::*;
use chrono::Duration;

/// Spartan's number may send 1 text per second; Acme's is unlimited.
fn one_mps() -> String {
    let b = DEFAULT_BUSINESS.replace(
        r#"campaign_id = "CSPARTAN1", status = "registered", mps = 1000"#,
        r#"campaign_id = "CSPARTAN1", status = "registered", mps = 1"#,
    );
    assert_ne!(b, DEFAULT_BUSINESS);
    b
}

async fn a_burst_queues_at_the_senders_rate_and_loses_nothing(b: Backend) {
    let app = TestApp::spawn_with(b, &one_mps(), "").await;
    for i in 0..5 {
        app.missed_call(&format!("CAb{i}"), &format!("+1512555070{i}"))
            .await;
    }
    app.settle().await;
    assert_eq!(
        app.mock.sent().len(),
        1,
        "one text per second from a 1 MPS number"
    );
    // Another business's number is not held back by this backlog.
    app.dial_result("CAacme", CALLER, "+12125550100", "no-answer")
        .await;
    app.settle().await;
    assert_eq!(app.mock.sent_to(CALLER).len(), 1);
    assert_eq!(app.mock.sent().len(), 2);
    for second in 1..=4 {
        app.advance(Duration::seconds(1)).await;
        let from_spartan: Vec<_> = app
            .mock
            .sent()
            .into_iter()
            .filter(|s| s.from == TRACKING)
            .collect();
        assert_eq!(from_spartan.len(), 1 + second, "after {second} s");
    }
    // All five went, each exactly once, none failed or suppressed.
    let mut to: Vec<_> = app
        .mock
        .sent()
        .into_iter()
        .filter(|s| s.from == TRACKING)
        .map(|s| s.to)
        .collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 5);
    for m in app.store().messages(100).await.unwrap() {
        assert_eq!(m.status, ringback::domain::MessageStatus::Sent, "{m:?}");
    }
    assert_eq!(app.mock.requests(), 6, "no attempt was wasted on a 429");
}

async fn opt_out_confirmations_count_against_the_rate(b: Backend) {
    let app = TestApp::spawn_with(b, &one_mps(), "").await;
    app.missed_call("CA1", CALLER).await;
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 1);
    app.sms("SM1", "+15125550702", "STOP").await;
    app.settle().await;
    assert_eq!(
        app.mock.sent().len(),
        1,
        "the confirmation waits for the number's next slot"
    );
    app.advance(Duration::seconds(1)).await;
    let sent = app.mock.sent_to("+15125550702");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains("unsubscribed"), "{}", sent[0].body);
}

on_both_stores!(
    a_burst_queues_at_the_senders_rate_and_loses_nothing,
    opt_out_confirmations_count_against_the_rate,
);
