//! Consent, STOP/START/HELP and sender registration, black-box.

use crate::helpers::*;
use chrono::Duration;
use ringback::domain::ConsentAction;

async fn stop_gets_one_confirmation_and_then_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.missed_call("CA1", CALLER).await;
    app.wait_for_texts(1).await;
    app.settle().await;
    assert_eq!(app.sms("SM1", CALLER, "Stop!! 🛑").await.status(), 200);
    app.wait_for_texts(2).await;
    // A carrier retry of the same STOP, and a second STOP: no more confirmations.
    app.sms("SM1", CALLER, "Stop!! 🛑").await;
    app.sms("SM2", CALLER, "STOP").await;
    app.settle().await;
    let sent = app.mock.sent_to(CALLER);
    assert_eq!(
        sent.len(),
        2,
        "instant text + exactly one confirmation: {sent:?}"
    );
    assert!(
        sent[1].body.contains("Spartan Plumbing")
            && sent[1].body.contains("no more messages")
            && sent[1].body.contains("START"),
        "{}",
        sent[1].body
    );
    // They call again after the window: nothing is texted.
    app.advance(Duration::hours(25)).await;
    app.missed_call("CA2", CALLER).await;
    app.settle().await;
    assert_eq!(app.mock.sent_to(CALLER).len(), 2);
    let ledger = app
        .store()
        .consent_history("spartan", CALLER)
        .await
        .unwrap();
    assert_eq!(
        ledger.iter().filter(|e| e.0 == "opt_out").count(),
        2,
        "every opt-out is kept in the ledger"
    );
    assert_eq!(ledger[0].1, "keyword");
    assert_eq!(
        ledger[0].2.as_deref(),
        Some("Stop!! 🛑"),
        "the raw text is the evidence"
    );
}

async fn start_resubscribes_with_one_confirmation(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.sms("SM1", CALLER, "STOP").await;
    app.wait_for_texts(1).await;
    app.sms("SM2", CALLER, "start").await;
    app.wait_for_texts(2).await;
    app.settle().await;
    let sent = app.mock.sent_to(CALLER);
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].body.contains("subscribed again"),
        "{}",
        sent[1].body
    );
    assert_eq!(
        app.store().consent_state("spartan", CALLER).await.unwrap(),
        Some(ConsentAction::OptIn)
    );
    // START when not opted out: no confirmation.
    app.sms("SM3", CALLER, "START").await;
    app.settle().await;
    assert_eq!(app.mock.sent_to(CALLER).len(), 2);
}

async fn help_replies_with_business_and_opt_out(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.sms("SM1", CALLER, "HELP").await;
    let sent = app.wait_for_texts(1).await;
    assert!(
        sent[0].body.contains("Spartan Plumbing")
            && sent[0].body.contains(TRACKING)
            && sent[0].body.contains("STOP"),
        "{}",
        sent[0].body
    );
}

async fn plain_language_revocation_is_an_opt_out(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (i, text) in [
        "please stop texting me",
        "Take me off your list.",
        "ALTO",
        "No me manden más mensajes por favor",
    ]
    .iter()
    .enumerate()
    {
        let caller = format!("+1512555080{i}");
        app.sms(&format!("SMp{i}"), &caller, text).await;
        app.settle().await;
        assert_eq!(
            app.store().consent_state("spartan", &caller).await.unwrap(),
            Some(ConsentAction::OptOut),
            "{text}"
        );
        let ledger = app
            .store()
            .consent_history("spartan", &caller)
            .await
            .unwrap();
        assert!(
            ledger[0].1 == "plain_language" || ledger[0].1 == "keyword",
            "{ledger:?}"
        );
    }
    // Look-alikes are not opt-outs.
    for (i, text) in [
        "Can you stop by tomorrow?",
        "Liked “Hi, this is Spartan Plumbing. Reply STOP to opt out.”",
        "cancel my appointment",
    ]
    .iter()
    .enumerate()
    {
        let caller = format!("+1512555090{i}");
        app.sms(&format!("SMl{i}"), &caller, text).await;
        app.settle().await;
        assert_eq!(
            app.store().consent_state("spartan", &caller).await.unwrap(),
            None,
            "{text}"
        );
    }
}

async fn opt_out_cancels_a_text_waiting_for_retry(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.mock.push(Script::Fail {
        status: 429,
        code: 20429,
        retry_after: Some(30),
    });
    app.missed_call("CA1", CALLER).await;
    app.settle().await;
    assert!(app.mock.sent().is_empty());
    app.sms("SM1", CALLER, "STOP").await;
    app.advance(Duration::hours(1)).await;
    let sent = app.mock.sent_to(CALLER);
    assert_eq!(sent.len(), 1, "only the confirmation: {sent:?}");
    assert!(sent[0].body.contains("unsubscribed"));
    let msgs = app.store().messages(10).await.unwrap();
    let instant = msgs
        .iter()
        .find(|m| m.kind == ringback::domain::MessageKind::Instant)
        .unwrap();
    assert_eq!(instant.status, ringback::domain::MessageStatus::Canceled);
}

/// An in-doubt retry looks the text up at the carrier before sending: a
/// STOP that lands while that look-up is on the wire still wins.
async fn opt_out_during_an_in_doubt_look_up_wins(b: Backend) {
    let app = TestApp::spawn(b).await;
    // The first attempt gets a 500: it may have gone out, so it is in doubt.
    app.mock.push(Script::Fail {
        status: 500,
        code: 20500,
        retry_after: None,
    });
    app.missed_call("CA1", CALLER).await;
    app.settle().await;
    assert!(app.mock.sent().is_empty());
    // The retry's look-up is slow; the STOP arrives while it is out.
    app.mock.delay_lists(std::time::Duration::from_millis(800));
    app.clock.advance(Duration::minutes(1));
    for _ in 0..200 {
        if app.mock.list_requests() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(app.mock.list_requests(), 1, "the retry looks up first");
    assert_eq!(app.sms("SM1", CALLER, "STOP").await.status(), 200);
    app.settle().await;
    app.advance(Duration::hours(1)).await;
    let sent = app.mock.sent_to(CALLER);
    assert_eq!(sent.len(), 1, "only the confirmation: {sent:?}");
    assert!(sent[0].body.contains("unsubscribed"), "{}", sent[0].body);
    let msgs = app.store().messages(10).await.unwrap();
    let instant = msgs
        .iter()
        .find(|m| m.kind == ringback::domain::MessageKind::Instant)
        .unwrap();
    assert_eq!(instant.status, ringback::domain::MessageStatus::Suppressed);
    assert_eq!(instant.suppress_reason.as_deref(), Some("opted_out"));
}

async fn unregistered_sender_is_refused_at_send_time(b: Backend) {
    let businesses = DEFAULT_BUSINESS.replace(
        r#"status = "registered", mps = 1000 } }
"#,
        r#"status = "pending", mps = 1000 } }
"#,
    );
    assert_ne!(businesses, DEFAULT_BUSINESS);
    let app = TestApp::spawn_with(b, &businesses, "").await;
    app.missed_call("CA1", CALLER).await;
    app.advance(Duration::minutes(1)).await;
    assert!(
        app.mock.sent().is_empty(),
        "a pending 10DLC number must not send"
    );
    let msgs = app.store().messages(10).await.unwrap();
    assert_eq!(
        msgs[0].suppress_reason.as_deref(),
        Some("sender_not_registered")
    );
    assert_eq!(
        app.metrics().get(
            "ringback_suppressed_total",
            "reason=\"sender_not_registered\""
        ),
        1
    );
}

on_both_stores!(
    stop_gets_one_confirmation_and_then_nothing,
    start_resubscribes_with_one_confirmation,
    help_replies_with_business_and_opt_out,
    plain_language_revocation_is_an_opt_out,
    opt_out_cancels_a_text_waiting_for_retry,
    opt_out_during_an_in_doubt_look_up_wins,
    unregistered_sender_is_refused_at_send_time,
);
