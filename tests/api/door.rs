//! The door out, with the shipped `ringback.toml` as a new user runs it: its
//! tracking number sends 1 text a second (a 10DLC number's real pace), so
//! every burst queues. Texts leave one class after another (life-safety,
//! conversation, instant, background), first in first out within a class,
//! at their number's pace; every suppression is checked at send time; staff,
//! own and blocked numbers never become customer leads.
//!
//! Time is the test clock: a text due at its number's next slot leaves when
//! the clock reaches it, never later (the worker sleeps until then).

use crate::helpers::*;
use chrono::Duration;
use ringback::domain::MessageStatus;

/// The shipped config's people and numbers.
const DISPATCHER: &str = "+15125550177";
const OWNER_DANA: &str = "+15125550199";
const LUIS: &str = "+15125550112";
const INTERNAL: &str = "+15125550150";

fn caller(i: usize) -> String {
    format!("+1512555{:04}", 3000 + i)
}

/// Texts the carrier took from the tracking number.
fn from_tracking(app: &TestApp) -> Vec<Sent> {
    app.mock.sent_from(TRACKING)
}

/// Eight callers miss the business in the same second: texted one a
/// second, in the order they called, each once.
async fn a_burst_on_the_shipped_number_is_texted_one_a_second(b: Backend) {
    let app = TestApp::spawn_shipped(b).await;
    for i in 0..8 {
        assert_eq!(
            app.missed_call(&format!("CAburst{i}"), &caller(i))
                .await
                .status(),
            200
        );
    }
    app.settle().await;
    assert_eq!(
        from_tracking(&app).len(),
        1,
        "one text at once from a 1/s number"
    );
    for second in 1..=7 {
        app.advance(Duration::seconds(1)).await;
        assert_eq!(from_tracking(&app).len(), 1 + second, "after {second} s");
    }
    let sent: Vec<String> = from_tracking(&app).into_iter().map(|s| s.to).collect();
    let callers: Vec<String> = (0..8).map(caller).collect();
    assert_eq!(sent, callers, "first come, first served; each once");
    app.advance(Duration::seconds(5)).await;
    assert_eq!(from_tracking(&app).len(), 8, "none twice");
    // The owner sees the wait (line waits up to 7 s).
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            "ringback_text_hold_seconds_bucket{reason=\"line\",class=\"instant\",le=\"10\"} 8"
        ),
        "{metrics}"
    );
}

/// Twelve instant texts wait on the number when a caller reports a gas
/// smell: the caller's safety text and the tech's page take the next two
/// slots (2 s), the page call rings at once, then the office's packet.
async fn an_emergency_goes_ahead_of_the_queued_texts(b: Backend) {
    let app = TestApp::spawn_shipped(b).await;
    for i in 0..12 {
        app.missed_call(&format!("CAq{i}"), &caller(i)).await;
    }
    app.settle().await;
    assert_eq!(from_tracking(&app).len(), 1);
    let in_danger = caller(11);
    assert_eq!(
        app.sms("SMgas", &in_danger, "gas smell all over the kitchen")
            .await
            .status(),
        200
    );
    app.settle().await;
    let calls = app.mock.calls();
    assert_eq!(calls.len(), 1, "the page call does not wait for the texts");
    assert_eq!(calls[0].to, LUIS, "weekday on-call: Luis");
    app.advance(Duration::seconds(1)).await;
    app.advance(Duration::seconds(1)).await;
    let sent = from_tracking(&app);
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1].to, in_danger, "the safety text first");
    assert!(
        sent[1].body.to_lowercase().contains("gas"),
        "{}",
        sent[1].body
    );
    assert_eq!(sent[2].to, LUIS, "then the page");
    app.advance(Duration::seconds(1)).await;
    let sent = from_tracking(&app);
    assert_eq!(sent[3].to, DISPATCHER, "then the office's packet");
    assert!(sent[3].body.contains("EMERGENCY"), "{}", sent[3].body);
    app.advance(Duration::seconds(1)).await;
    assert_eq!(
        from_tracking(&app)[4].to,
        caller(1),
        "then the instant texts, in order"
    );
}

/// A follow-up waiting in line behind instant texts is canceled by the
/// customer's reply, and never sent; the reply's answer goes ahead of it.
async fn a_held_follow_up_the_reply_cancels_is_never_sent(b: Backend) {
    let app = TestApp::spawn_shipped(b).await;
    let customer = caller(0);
    app.missed_call("CAfirst", &customer).await;
    app.settle().await;
    assert_eq!(app.mock.sent_to(&customer).len(), 1);
    // Just before the +30 min follow-up, five more calls fill the line.
    app.advance(Duration::seconds(30 * 60 - 2)).await;
    for i in 1..=5 {
        app.missed_call(&format!("CAbusy{i}"), &caller(i)).await;
    }
    app.settle().await;
    app.advance(Duration::seconds(2)).await;
    let follow_up = |app: &TestApp| {
        let store = app.store().clone();
        let customer = customer.clone();
        async move {
            store
                .messages(100)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.to == customer && m.kind == ringback::domain::MessageKind::FollowUp)
                .collect::<Vec<_>>()
        }
    };
    let queued = follow_up(&app).await;
    assert_eq!(queued.len(), 1, "the follow-up is queued");
    assert_eq!(queued[0].status, MessageStatus::Queued, "waiting in line");
    app.sms(
        "SMyes",
        &customer,
        "yes please, can someone come tomorrow morning?",
    )
    .await;
    app.settle().await;
    for _ in 0..10 {
        app.advance(Duration::seconds(1)).await;
    }
    let to_customer = app.mock.bodies_to(&customer);
    assert_eq!(
        to_customer.len(),
        2,
        "the instant text and the reply: {to_customer:?}"
    );
    assert_eq!(follow_up(&app).await[0].status, MessageStatus::Canceled);
}

/// Two instances on one PostgreSQL database keep one number at its pace:
/// its budget is one row, shared.
async fn two_instances_keep_one_number_at_its_pace(b: Backend) {
    if matches!(b, Backend::Sqlite) {
        return; // One SQLite file is one instance.
    }
    let app = TestApp::spawn_shipped(b).await;
    let other = app.another_instance().await;
    let other_url = other.url();
    for i in 0..6 {
        if i % 2 == 0 {
            app.missed_call(&format!("CAtwo{i}"), &caller(i)).await;
        } else {
            let params = dial_params(&format!("CAtwo{i}"), &caller(i));
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app
                .post_twilio_to(&other_url, "/webhooks/twilio/voice/dial", &pairs)
                .await;
            assert_eq!(r.status(), 200);
        }
    }
    app.settle().await;
    assert_eq!(from_tracking(&app).len(), 1);
    for second in 1..=5 {
        app.advance(Duration::seconds(1)).await;
        assert_eq!(
            from_tracking(&app).len(),
            1 + second,
            "after {second} s, both instances"
        );
    }
    other.shutdown().await;
}

fn dial_params(sid: &str, from: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AccountSid", ACCOUNT_SID.to_string()),
        ("CallSid", sid.to_string()),
        ("From", from.to_string()),
        ("To", TRACKING.to_string()),
        ("CallStatus", "in-progress".to_string()),
        ("DialCallStatus", "no-answer".to_string()),
    ]
}

/// Staff, our own numbers and blocked numbers never become customer leads:
/// a text from one gets no reply and puts no packet in front of the
/// dispatcher; a call from the dispatcher gets no text.
async fn staff_own_and_blocked_numbers_are_never_customers(b: Backend) {
    let businesses =
        shipped_businesses().replace("block_list = []", "block_list = [\"+15125550666\"]");
    let app = TestApp::spawn_with(b, &businesses, "").await;
    for (i, from) in [INTERNAL, DISPATCHER, TRACKING, "+15125550666", OWNER_DANA]
        .into_iter()
        .enumerate()
    {
        assert_eq!(
            app.sms(
                &format!("SMstaff{i}"),
                from,
                "Can someone come out tomorrow? How much is it?"
            )
            .await
            .status(),
            200
        );
    }
    app.missed_call("CAdispatch", DISPATCHER).await;
    app.settle().await;
    app.advance(Duration::seconds(10)).await;
    assert!(app.mock.sent().is_empty(), "{:?}", app.mock.sent());
    let leads = app
        .admin_get("/api/v1/leads")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let leads = leads["leads"].as_array().unwrap();
    assert_eq!(
        leads.len(),
        1,
        "only the dispatcher's call is on record: {leads:?}"
    );
    assert_eq!(leads[0]["status"], "dismissed");
    assert_eq!(leads[0]["suppressed_reason"], "internal_number");
}

/// A text queued for a customer who becomes a staff or blocked number
/// before it leaves is refused at send time, with the reason recorded: on
/// the reply path and on the follow-up path.
async fn customer_texts_are_refused_at_send_time_to_staff_and_blocked_numbers(b: Backend) {
    let mut app = TestApp::spawn_shipped(b).await;
    let (first, asks) = (caller(0), caller(1));
    app.missed_call("CA0", &first).await;
    app.missed_call("CA1", &asks).await;
    app.settle().await;
    // The second caller's instant text waits its slot; their question's
    // reply joins the line too.
    app.sms("SMprice", &asks, "how much do you charge to come out?")
        .await;
    app.settle().await;
    // The owner blocks the number before the line reaches it.
    app.restart_with(|c| c.replace("block_list = []", &format!("block_list = [\"{asks}\"]")))
        .await;
    for _ in 0..5 {
        app.advance(Duration::seconds(1)).await;
    }
    assert!(
        app.mock.sent_to(&asks).is_empty(),
        "{:?}",
        app.mock.sent_to(&asks)
    );
    let refused: Vec<_> = app
        .store()
        .messages(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to == asks && m.direction == "outbound")
        .collect();
    assert!(!refused.is_empty());
    for m in &refused {
        assert_eq!(m.status, MessageStatus::Suppressed, "{m:?}");
        assert_eq!(m.suppress_reason.as_deref(), Some("block_list"), "{m:?}");
    }
    // The follow-up path: the first caller turns out to be staff.
    app.restart_with(|c| {
        c.replace(
            "internal_numbers = [\"+15125550150\"]",
            &format!("internal_numbers = [\"+15125550150\", \"{first}\"]"),
        )
    })
    .await;
    app.advance(Duration::minutes(31)).await;
    app.advance(Duration::seconds(2)).await;
    assert_eq!(
        app.mock.sent_to(&first).len(),
        1,
        "only the instant text, before"
    );
    let follow_up: Vec<_> = app
        .store()
        .messages(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to == first && m.kind == ringback::domain::MessageKind::FollowUp)
        .collect();
    assert_eq!(follow_up.len(), 1);
    assert_eq!(
        follow_up[0].suppress_reason.as_deref(),
        Some("staff_number")
    );
}

/// Staff-facing texts (a packet full of a customer's details, a page) go
/// only to numbers the config names as staff: a packet and a page queued
/// for people who are no longer staff when they leave are refused.
async fn staff_texts_go_only_to_staff(b: Backend) {
    let mut app = TestApp::spawn_shipped(b).await;
    // Three instant texts fill the line; then an emergency's page and
    // packet queue behind the safety text.
    for i in 0..3 {
        app.missed_call(&format!("CAs{i}"), &caller(i)).await;
    }
    app.settle().await;
    app.sms(
        "SMflood",
        &caller(0),
        "water pouring through the ceiling, can't stop it",
    )
    .await;
    app.settle().await;
    // Luis leaves the roster and the dispatcher changes before they go out.
    let new_dispatcher = "+15125550188";
    app.restart_with(|c| {
        c.replace("  { name = \"Luis\", phone = \"+15125550112\" },\n", "")
            .replace("primary = \"Luis\"", "primary = \"Mike\"")
            .replace("backup = \"Luis\"", "backup = \"Dana\"")
            .replace(DISPATCHER, new_dispatcher)
    })
    .await;
    for _ in 0..8 {
        app.advance(Duration::seconds(1)).await;
    }
    assert!(
        app.mock.sent_to(LUIS).is_empty(),
        "no page to a former tech"
    );
    assert!(
        app.mock.sent_to(DISPATCHER).is_empty(),
        "no packet to a former dispatcher"
    );
    let refused: Vec<_> = app
        .store()
        .messages(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to == LUIS || m.to == DISPATCHER)
        .collect();
    assert!(refused.len() >= 2, "{refused:?}");
    for m in &refused {
        assert_eq!(m.suppress_reason.as_deref(), Some("not_staff"), "{m:?}");
    }
}

/// The office texts a customer through the same door and gate: refused
/// with the reason when they opted out, queued (202) and sent otherwise.
async fn the_office_texts_a_customer_through_the_door(b: Backend) {
    let app = TestApp::spawn_shipped(b).await;
    let (ok, out) = (caller(0), caller(1));
    app.missed_call("CAo0", &ok).await;
    app.missed_call("CAo1", &out).await;
    app.settle().await;
    app.sms("SMstop", &out, "STOP").await;
    app.settle().await;
    let lead_of = |who: String| {
        let app = &app;
        async move { app.lead_json(&who).await["lead"]["id"].as_i64().unwrap() }
    };
    let refused = app
        .admin_send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{}/texts", lead_of(out.clone()).await),
            serde_json::json!({ "body": "Hi, this is Sam from Spartan. Still need help?" }),
        )
        .await;
    assert_eq!(refused.status(), 409);
    let v: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(v["conflict"], "not_textable", "{v}");
    let queued = app
        .admin_send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{}/texts", lead_of(ok.clone()).await),
            serde_json::json!({ "body": "Hi, this is Sam from Spartan. Tomorrow at 9 works.", "by": "Sam" }),
        )
        .await;
    assert_eq!(queued.status(), 202);
    let empty = app
        .admin_send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{}/texts", lead_of(ok.clone()).await),
            serde_json::json!({ "body": "  " }),
        )
        .await;
    assert_eq!(empty.status(), 400);
    for _ in 0..4 {
        app.advance(Duration::seconds(1)).await;
    }
    let bodies = app.mock.bodies_to(&ok);
    assert!(
        bodies.iter().any(|b| b.contains("Tomorrow at 9")),
        "{bodies:?}"
    );
    assert!(
        !app.mock.bodies_to(&out).iter().any(|b| b.contains("Sam")),
        "nothing after STOP"
    );
}

on_both_stores!(
    a_burst_on_the_shipped_number_is_texted_one_a_second,
    an_emergency_goes_ahead_of_the_queued_texts,
    a_held_follow_up_the_reply_cancels_is_never_sent,
    two_instances_keep_one_number_at_its_pace,
    staff_own_and_blocked_numbers_are_never_customers,
    customer_texts_are_refused_at_send_time_to_staff_and_blocked_numbers,
    staff_texts_go_only_to_staff,
    the_office_texts_a_customer_through_the_door,
);
