//! What only Telnyx has: TeXML call flows (screening, the after-hours
//! menu), Call Control `call.hangup` events, hostile JSON, and what a
//! Telnyx send carries (messaging profile, a per-message reference). The
//! scenarios every carrier shares (emergency paging with page calls
//! fetched by URL among them) are in `carriers.rs`.

use crate::helpers::*;
use crate::via::*;
use chrono::Duration;
use serde_json::json;

const MIKE: &str = "+13125550111";

/// Volt on Telnyx with an on-call roster and screening.
const VOLT_ON_CALL: &str = r#"
[[business]]
id = "volt"
name = "Volt Plumbing"
time_zone = "America/Chicago"
provider = "telnyx"
numbers = ["+13125550100"]
ring_phone = "+13125550199"
call_screening = true
dispatcher_phone = "+13125550177"
follow_ups = []
hours = { mon = "07:00-18:00", tue = "07:00-18:00", wed = "07:00-18:00", thu = "07:00-18:00", fri = "07:00-18:00" }
senders = { "+13125550100" = { registration = "10dlc", campaign_id = "CVOLT0001", status = "registered", mps = 1000 } }

[business.telnyx]
messaging_profile_id = "40017f5a-5ad1-4b6c-9d4e-0a1b2c3d4e5f"
connection_id = "1494404757140276705"

[business.on_call]
owner = "Mike"
ack_timeout_minutes = 5
people = [ { name = "Mike", phone = "+13125550111" } ]

[[business.on_call.rotation]]
days = "daily"
hours = "all day"
primary = "Mike"
"#;

fn texml_call<'a>(sid: &'a str, from: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", "6a09cdc3-8948-47f0-aa62-74ac943d6c58"),
        ("CallSid", sid),
        ("From", from),
        ("To", VOLT),
        ("CallStatus", "ringing"),
    ]
}

/// Ringing the shop is screened: a "completed" dial nobody accepted at the
/// screen (a cell's voicemail) is a missed call; pressing 1 is answered.
async fn screened_calls_through_texml(b: Backend) {
    let app = TestApp::spawn_with(b, VOLT_ON_CALL, "").await;
    let caller = "+15125554001";
    let r = app
        .post_texml("/webhooks/telnyx/texml/voice", &texml_call("v3:c1", caller))
        .await;
    assert_eq!(r.status(), 200);
    let flow = r.text().await.unwrap();
    assert!(flow.contains("<Dial") && flow.contains(VOLT_RING), "{flow}");
    assert!(
        flow.contains("/webhooks/telnyx/texml/screen?parent=v3:c1")
            && flow.contains("/webhooks/telnyx/texml/dial"),
        "{flow}"
    );
    let screen = app
        .post_texml(
            "/webhooks/telnyx/texml/screen?parent=v3:c1",
            &texml_call("v3:leg", caller),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        screen.contains("<Gather") && screen.contains("/webhooks/telnyx/texml/screen/result"),
        "{screen}"
    );
    // Voicemail picked up: "completed", but nobody pressed 1.
    let mut dial = texml_call("v3:c1", caller);
    dial.extend([("DialCallStatus", "completed"), ("DialCallDuration", "31")]);
    app.post_texml("/webhooks/telnyx/texml/dial", &dial).await;
    app.settle().await;
    assert_eq!(app.telnyx.sent_to(caller).len(), 1, "a missed call");
    // Another caller: the tech presses 1.
    let other = "+15125554002";
    app.post_texml("/webhooks/telnyx/texml/voice", &texml_call("v3:c2", other))
        .await;
    let mut press = texml_call("v3:leg2", other);
    press.push(("Digits", "1"));
    app.post_texml("/webhooks/telnyx/texml/screen/result?parent=v3:c2", &press)
        .await;
    let mut dial = texml_call("v3:c2", other);
    dial.extend([("DialCallStatus", "completed"), ("DialCallDuration", "95")]);
    app.post_texml("/webhooks/telnyx/texml/dial", &dial).await;
    app.settle().await;
    assert!(app.telnyx.sent_to(other).is_empty(), "answered: no text");
}

/// After hours: the menu; a 1 connects the on-call tech; voicemail with
/// transcription otherwise, which reads the emergency and pages.
async fn after_hours_menu_and_voicemail_through_texml(b: Backend) {
    let app = TestApp::spawn_with(b, VOLT_ON_CALL, "").await;
    app.clock.advance(Duration::hours(10)); // 20:00 Chicago: closed
    let caller = "+15125554003";
    let flow = app
        .post_texml("/webhooks/telnyx/texml/voice", &texml_call("v3:n1", caller))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        flow.contains("<Gather") && flow.contains("/webhooks/telnyx/texml/emergency"),
        "{flow}"
    );
    let mut one = texml_call("v3:n1", caller);
    one.push(("Digits", "1"));
    let flow = app
        .post_texml("/webhooks/telnyx/texml/emergency", &one)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        flow.contains(MIKE) && flow.contains("/webhooks/telnyx/texml/emergency/dial"),
        "{flow}"
    );
    // A voicemail with its transcription.
    let mut vm = texml_call("v3:n2", "+15125554004");
    vm.extend([
        ("RecordingSid", "rec-1"),
        (
            "RecordingUrl",
            "https://api.telnyx.com/recordings/rec-1.mp3",
        ),
        (
            "TranscriptionText",
            "Water is pouring through the ceiling, please call back",
        ),
    ]);
    let r = app
        .post_texml("/webhooks/telnyx/texml/recording", &vm)
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    let lead = app.lead_json("+15125554004").await;
    assert!(
        lead.to_string().contains("pouring through the ceiling"),
        "{lead}"
    );
}

/// Every Telnyx text carries our reference in its `webhook_url`, the same
/// on every attempt, and an in-doubt one is found by it.
async fn a_send_carries_the_profile_and_our_reference(b: Backend) {
    let mut app = TestApp::spawn_with(b, &both_businesses(), "").await;
    app.behind_public_url().await;
    let caller = "+15125554007";
    app.missed_via(Via::Telnyx, "r1", caller).await;
    app.settle().await;
    let sent = app.telnyx.sent_to(caller);
    let hook = sent[0].status_callback.clone().unwrap();
    assert!(
        hook.starts_with("https://ringback.example.com/webhooks/telnyx?ref=rb-"),
        "{hook}"
    );
    // The retry of an in-doubt send finds it by that reference.
    app.telnyx.push(mock_carrier::Script::AcceptButLoseReply);
    let other = "+15125554009";
    app.missed_via(Via::Telnyx, "r2", other).await;
    app.settle().await;
    app.advance(Duration::minutes(5)).await;
    assert_eq!(app.telnyx.sent_to(other).len(), 1);
    let lead = app.lead_json(other).await;
    assert_eq!(lead["messages"][0]["status"], "sent");
}

/// A number a Call Control app fronts: `call.hangup` of an incoming call
/// maps by its cause (specs/providers.md §4.2).
async fn call_control_hangups_map_by_cause(b: Backend) {
    let app = TestApp::spawn_with(b, &both_businesses(), "").await;
    let hangup = |id: &str, from: &str, cause: &str| {
        MockTelnyx::event(
            id,
            "call.hangup",
            json!({
                "call_control_id": format!("v3:{id}"),
                "call_leg_id": id,
                "call_session_id": format!("s-{id}"),
                "connection_id": "1494404757140276705",
                "from": from,
                "to": VOLT,
                "direction": "incoming",
                "state": "hangup",
                "hangup_cause": cause,
                "hangup_source": "caller",
                "sip_hangup_cause": "487",
                "start_time": "2026-11-24T16:00:00Z",
                "end_time": "2026-11-24T16:01:40Z",
            }),
        )
    };
    let causes = [
        "no_answer",
        "timeout",
        "user_busy",
        "originator_cancel",
        "call_rejected",
    ];
    for (i, cause) in causes.iter().enumerate() {
        let r = app
            .post_telnyx(&hangup(
                &format!("h{i}"),
                &format!("+151255550{i:02}"),
                cause,
            ))
            .await;
        assert_eq!(r.status(), 200, "{cause}");
    }
    // Answered, and an event we do not use: no text.
    app.post_telnyx(&hangup("h9", "+15125555099", "normal_clearing"))
        .await;
    let other = MockTelnyx::event("x1", "call.initiated", json!({"call_control_id": "v3:x"}));
    assert_eq!(app.post_telnyx(&other).await.status(), 200);
    app.settle().await;
    assert_eq!(app.telnyx.sent().len(), causes.len());
    assert!(app.telnyx.sent_to("+15125555099").is_empty());
    // Telnyx retries an event: still one text.
    app.post_telnyx(&hangup("h0", "+15125555000", "no_answer"))
        .await;
    app.settle().await;
    assert_eq!(app.telnyx.sent().len(), causes.len());
}

/// Hostile JSON: a clear 400, nothing recorded, and the service goes on.
async fn hostile_json_is_refused(b: Backend) {
    let app = TestApp::spawn_with(b, &both_businesses(), "").await;
    let caller = "+15125554010";
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let dup = format!(
        r#"{{"data":{{"id":"d1","event_type":"message.received","payload":{{"id":"m1","text":"hi","text":"STOP","from":{{"phone_number":"{caller}"}},"to":[{{"phone_number":"{VOLT}"}}]}}}}}}"#
    );
    let wrong = format!(
        r#"{{"data":{{"id":"d2","event_type":"message.received","payload":{{"id":"m2","text":7,"from":{{"phone_number":"{caller}"}},"to":[{{"phone_number":"{VOLT}"}}]}}}}}}"#
    );
    let huge_id = format!(
        r#"{{"data":{{"id":"{}","event_type":"message.received","payload":{{}}}}}}"#,
        "9".repeat(10_000)
    );
    for body in [
        deep.as_str(),
        dup.as_str(),
        wrong.as_str(),
        huge_id.as_str(),
        "not json",
        "[]",
    ] {
        let r = app.post_telnyx(body).await;
        assert_eq!(r.status(), 400, "{}", &body[..body.len().min(80)]);
        let why = r.text().await.unwrap();
        assert!(why.contains("error"), "{why}");
    }
    // Bigger than the body limit: refused before anything is read.
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(2_000_000));
    assert_eq!(app.post_telnyx(&big).await.status(), 413);
    app.settle().await;
    assert!(app.leads_of(caller).await.is_empty());
    // And a good event still works.
    let ok = MockTelnyx::event(
        "d3",
        "message.received",
        MockTelnyx::inbound_text("m3", caller, VOLT, "hello"),
    );
    assert_eq!(app.post_telnyx(&ok).await.status(), 200);
}

/// `ringback simulate --provider telnyx` plays a missed call and a reply
/// against an instance that trusts the development key.
async fn simulate_plays_telnyx(b: Backend) {
    let mut app = TestApp::spawn_with(b, &both_businesses(), "").await;
    app.telnyx_public_key = ringback::provider::telnyx::signature::DEV_PUBLIC_KEY.into();
    app.crash_and_restart().await;
    // simulate signs with the wall clock's time, as Telnyx would.
    app.clock.set(chrono::Utc::now());
    let caller = "+15125554011";
    let settings = ringback::config::Settings::from_lookup(|k| {
        (k == "RINGBACK_ADMIN_TOKEN").then(|| "admin-secret".to_string())
    })
    .unwrap();
    let args = ringback::simulate::SimulateArgs {
        url: app.url.clone(),
        from: caller.into(),
        to: Some(VOLT.into()),
        reply: Some("Can someone come out tomorrow?".into()),
        dial_status: "no-answer".into(),
        provider: "telnyx".into(),
    };
    ringback::simulate::run(settings, args).await.unwrap();
    app.settle().await;
    // The instant text goes at any hour; the answer to the reply may wait
    // for the caller's quiet hours, whenever this runs.
    let texts = app.telnyx.bodies_to(caller);
    assert!(
        texts[0].starts_with("Hi, ") && texts[0].contains("Volt Plumbing"),
        "{texts:?}"
    );
    let lead = app.lead_json(caller).await;
    assert!(
        lead.to_string().contains("Can someone come out tomorrow?"),
        "{lead}"
    );
}

on_both_stores!(
    simulate_plays_telnyx,
    screened_calls_through_texml,
    after_hours_menu_and_voicemail_through_texml,
    a_send_carries_the_profile_and_our_reference,
    call_control_hangups_map_by_cause,
    hostile_json_is_refused,
);
