//! The main path, black-box: a call nobody answers produces exactly one
//! text to the caller, through the (mock) Twilio Messages API.

use crate::helpers::*;
use chrono::Duration;

async fn unanswered_call_texts_the_caller_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let resp = app.missed_call("CA0001", CALLER).await;
    assert_eq!(resp.status(), 200);
    let twiml = resp.text().await.unwrap();
    assert!(
        twiml.contains("<Record"),
        "voicemail prompt expected: {twiml}"
    );
    assert!(twiml.contains("/webhooks/twilio/voice/recording"));
    let sent = app.wait_for_texts(1).await;
    app.settle().await;
    assert_eq!(sent.len(), 1, "exactly one text");
    assert_eq!(sent[0].to, CALLER);
    assert_eq!(sent[0].from, TRACKING);
    assert!(
        sent[0]
            .body
            .starts_with("Hi, this is Spartan Plumbing. Sorry we missed your call!"),
        "{}",
        sent[0].body
    );
    assert!(sent[0].body.contains("Reply STOP to opt out"));
    let lead = app.lead_json(CALLER).await;
    assert_eq!(lead["lead"]["status"], "texted");
    assert_eq!(lead["lead"]["call_count"], 1);
    assert_eq!(lead["messages"][0]["status"], "sent");
    assert_eq!(lead["messages"][0]["provider_sid"], sent[0].sid.as_str());
}

async fn every_unanswered_dial_status_is_a_missed_call(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (i, status) in ["no-answer", "busy", "failed", "canceled"]
        .iter()
        .enumerate()
    {
        let caller = format!("+1512555020{i}");
        let resp = app
            .dial_result(&format!("CAdial{i}"), &caller, TRACKING, status)
            .await;
        assert_eq!(resp.status(), 200);
        let twiml = resp.text().await.unwrap();
        if *status == "canceled" {
            assert!(
                twiml.contains("<Hangup"),
                "caller hung up: no prompt: {twiml}"
            );
        }
    }
    app.wait_for_texts(4).await;
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 4);
    // An answered call is not missed.
    let resp = app
        .post_twilio(
            "/webhooks/twilio/voice/dial",
            &[
                ("CallSid", "CAanswered"),
                ("From", "+15125550299"),
                ("To", TRACKING),
                ("DialCallStatus", "completed"),
                ("DialCallDuration", "45"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 4, "no text for an answered call");
}

async fn status_callback_and_voicemail_are_triggers_too(b: Backend) {
    let app = TestApp::spawn(b).await;
    // A number whose calls ringback does not front: status callback.
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/status",
            &[
                ("CallSid", "CAst1"),
                ("From", "+15125550301"),
                ("To", TRACKING),
                ("CallStatus", "no-answer"),
                ("SequenceNumber", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    // A voicemail that arrives with no dial result before it.
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/recording",
            &[
                ("CallSid", "CAvm1"),
                ("From", "+15125550302"),
                ("To", TRACKING),
                ("RecordingSid", "RE1"),
                ("RecordingUrl", "https://api.twilio.com/rec/RE1"),
                ("RecordingDuration", "12"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let sent = app.wait_for_texts(2).await;
    app.settle().await;
    let mut to: Vec<_> = sent.iter().map(|s| s.to.clone()).collect();
    to.sort();
    assert_eq!(to, vec!["+15125550301", "+15125550302"]);
}

async fn all_reports_of_one_call_make_one_lead_and_one_text(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.missed_call("CAsame", CALLER).await;
    app.post_twilio(
        "/webhooks/twilio/voice/status",
        &[
            ("CallSid", "CAsame"),
            ("From", CALLER),
            ("To", TRACKING),
            ("CallStatus", "completed"),
            ("CallDuration", "75"),
        ],
    )
    .await;
    app.post_twilio(
        "/webhooks/twilio/voice/recording",
        &[
            ("CallSid", "CAsame"),
            ("From", CALLER),
            ("To", TRACKING),
            ("RecordingSid", "RE9"),
            ("RecordingUrl", "https://x/RE9"),
        ],
    )
    .await;
    app.post_twilio(
        "/webhooks/twilio/voice/recording",
        &[
            ("CallSid", "CAsame"),
            ("From", CALLER),
            ("To", TRACKING),
            ("RecordingSid", "RE9"),
            ("TranscriptionSid", "TR9"),
            ("TranscriptionText", "hi my water heater is leaking"),
        ],
    )
    .await;
    // A webhook retry of the dial result.
    app.missed_call("CAsame", CALLER).await;
    app.wait_for_texts(1).await;
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 1);
    let lead = app.lead_json(CALLER).await;
    assert_eq!(
        lead["lead"]["call_count"], 1,
        "one call, however many reports"
    );
    assert_eq!(
        lead["lead"]["status"], "texted",
        "the voicemail's long call duration must not resolve the lead"
    );
    assert_eq!(
        lead["calls"][0]["transcript"],
        "hi my water heater is leaking"
    );
    assert_eq!(lead["calls"][0]["recording_url"], "https://x/RE9");
}

async fn repeat_calls_inside_the_window_attach_to_one_lead(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.missed_call("CA1", CALLER).await;
    app.wait_for_texts(1).await;
    app.advance(Duration::hours(2)).await;
    app.missed_call("CA2", CALLER).await;
    app.advance(Duration::hours(21)).await;
    app.missed_call("CA3", CALLER).await;
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 1, "one text per caller per 24 h");
    let lead = app.lead_json(CALLER).await;
    assert_eq!(lead["lead"]["call_count"], 3);
    // After the window a new call is a new lead with its own text.
    app.advance(Duration::hours(2)).await;
    app.missed_call("CA4", CALLER).await;
    app.wait_for_texts(2).await;
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 2);
}

async fn fifty_concurrent_duplicates_send_one_text(b: Backend) {
    let app = std::sync::Arc::new(TestApp::spawn(b).await);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            // Half are retries of one webhook, half other reports of the call.
            if i % 2 == 0 {
                app.missed_call("CAdup", CALLER).await.status()
            } else {
                app.post_twilio(
                    "/webhooks/twilio/voice/status",
                    &[
                        ("CallSid", "CAdup"),
                        ("From", CALLER),
                        ("To", TRACKING),
                        ("CallStatus", "no-answer"),
                        ("SequenceNumber", &i.to_string()),
                    ],
                )
                .await
                .status()
            }
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    app.wait_for_texts(1).await;
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 1);
    assert_eq!(app.store().count("leads").await.unwrap(), 1);
}

async fn provider_errors_are_retried_into_exactly_one_text(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.mock.push(Script::Fail {
        status: 500,
        code: 20500,
        retry_after: None,
    });
    app.mock.push(Script::Fail {
        status: 429,
        code: 20429,
        retry_after: Some(7),
    });
    app.mock.push(Script::Fail {
        status: 503,
        code: 20503,
        retry_after: None,
    });
    app.missed_call("CAretry", CALLER).await;
    app.settle().await;
    assert_eq!(app.mock.requests(), 1);
    app.advance(Duration::seconds(5)).await;
    assert_eq!(app.mock.requests(), 2, "second attempt after backoff");
    app.advance(Duration::seconds(5)).await;
    assert_eq!(app.mock.requests(), 2, "429 Retry-After: 7 s is honoured");
    app.advance(Duration::seconds(5)).await;
    assert_eq!(app.mock.requests(), 3);
    app.advance(Duration::minutes(1)).await;
    app.wait_for_texts(1).await;
    app.advance(Duration::hours(1)).await;
    assert_eq!(
        app.mock.sent().len(),
        1,
        "exactly one text after the failures"
    );
    assert_eq!(app.mock.requests(), 4);
    assert!(
        app.mock.list_requests() >= 1,
        "5xx is in doubt: the message list is checked before resending"
    );
}

async fn accepted_but_unrecorded_send_is_reconciled_not_repeated(b: Backend) {
    let app = TestApp::spawn(b).await;
    // The carrier takes the message but we never see a usable answer.
    app.mock.push(Script::AcceptButGarble);
    app.missed_call("CAgarble", CALLER).await;
    app.settle().await;
    // And a timeout: accepted, answer comes after our 1 s timeout.
    app.mock
        .push(Script::AcceptButHang(std::time::Duration::from_secs(3)));
    app.missed_call("CAhang", "+15125550401").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    app.advance(Duration::minutes(5)).await;
    app.advance(Duration::hours(1)).await;
    assert_eq!(
        app.mock.sent_to(CALLER).len(),
        1,
        "garbled answer: no second text"
    );
    assert_eq!(
        app.mock.sent_to("+15125550401").len(),
        1,
        "timeout: no second text"
    );
    let lead = app.lead_json(CALLER).await;
    assert_eq!(lead["messages"][0]["status"], "sent");
    assert_eq!(
        lead["messages"][0]["provider_sid"],
        app.mock.sent_to(CALLER)[0].sid.as_str()
    );
}

async fn permanent_errors_are_recorded_and_never_retried(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.mock.push(Script::Fail {
        status: 400,
        code: 21211,
        retry_after: None,
    });
    app.missed_call("CAinv", "+15125550501").await;
    app.settle().await;
    app.mock.push(Script::Fail {
        status: 400,
        code: 21610,
        retry_after: None,
    });
    app.missed_call("CAunsub", "+15125550502").await;
    app.settle().await;
    app.mock.push(Script::Fail {
        status: 400,
        code: 30034,
        retry_after: None,
    });
    app.missed_call("CAunreg", "+15125550503").await;
    app.advance(Duration::hours(3)).await;
    assert_eq!(app.mock.requests(), 3, "no retries of permanent errors");
    assert!(app.mock.sent().is_empty());
    let l = app.lead_json("+15125550501").await;
    assert_eq!(l["messages"][0]["status"], "failed");
    assert_eq!(l["messages"][0]["error_code"], "21211");
    assert_eq!(
        app.store()
            .job_status(&format!("send:{}", l["messages"][0]["id"]))
            .await
            .unwrap()
            .unwrap()
            .0,
        ringback::store::JobStatus::Failed,
        "failed jobs are kept"
    );
    assert_eq!(
        app.store()
            .consent_state("spartan", "+15125550502")
            .await
            .unwrap(),
        Some(ringback::domain::ConsentAction::OptOut),
        "21610 marks the number opted out"
    );
    assert_eq!(
        app.metrics().get(
            "ringback_sender_at_risk_total",
            "sender=\"+15125550100\",code=\"30034\""
        ),
        1
    );
    // The unsubscribed caller calls again after the window: no text at all.
    app.advance(Duration::hours(25)).await;
    app.missed_call("CAunsub2", "+15125550502").await;
    app.settle().await;
    assert_eq!(app.mock.requests(), 3);
    let l = app.lead_json("+15125550502").await;
    assert_eq!(l["messages"][0]["status"], "suppressed");
    assert_eq!(l["messages"][0]["suppress_reason"], "opted_out");
}

async fn a_crash_with_jobs_pending_sends_each_once_after_restart(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    for i in 0..10 {
        app.mock.push(Script::Fail {
            status: 500,
            code: 20500,
            retry_after: None,
        });
        let _ = i;
    }
    for i in 0..10 {
        app.missed_call(&format!("CAcrash{i}"), &format!("+1512555060{i}"))
            .await;
    }
    app.settle().await;
    assert!(app.mock.sent().is_empty());
    app.crash_and_restart().await;
    app.advance(Duration::minutes(10)).await;
    app.wait_for_texts(10).await;
    app.advance(Duration::hours(1)).await;
    let sent = app.mock.sent();
    assert_eq!(sent.len(), 10);
    let mut to: Vec<_> = sent.iter().map(|s| s.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 10, "each caller once");
}

async fn suppressed_callers_get_no_text_and_a_recorded_reason(b: Backend) {
    let app = TestApp::spawn(b).await;
    let cases = [
        ("CAs1", "Anonymous", "withheld_number"),
        ("CAs2", "5125550147", "invalid_number"),
        ("CAs3", "+15125550150", "internal_number"),
        ("CAs4", "+15125550666", "block_list"),
        ("CAs5", "+12125550100", "own_number"),
        ("CAs6", RING_PHONE, "own_number"),
    ];
    for (sid, from, _) in cases {
        assert_eq!(app.missed_call(sid, from).await.status(), 200);
    }
    app.advance(Duration::minutes(5)).await;
    assert!(app.mock.sent().is_empty(), "{:?}", app.mock.sent());
    let msgs = app.store().messages(100).await.unwrap();
    for (_, from, reason) in cases {
        let m = msgs
            .iter()
            .find(|m| m.to == from)
            .unwrap_or_else(|| panic!("no record for {from}"));
        assert_eq!(m.status, ringback::domain::MessageStatus::Suppressed);
        assert_eq!(m.suppress_reason.as_deref(), Some(reason), "{from}");
    }
    assert_eq!(
        app.metrics()
            .get("ringback_suppressed_total", "reason=\"block_list\""),
        1
    );
}

async fn after_hours_calls_go_to_voicemail_and_get_the_after_hours_text(b: Backend) {
    let app = TestApp::spawn(b).await;
    // Tuesday 22:30 Chicago.
    app.clock
        .set(tuesday_10am() + Duration::minutes(12 * 60 + 30));
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", "CAnight"),
                ("From", CALLER),
                ("To", TRACKING),
                ("CallStatus", "ringing"),
            ],
        )
        .await;
    let twiml = r.text().await.unwrap();
    assert!(
        twiml.contains("<Record") && !twiml.contains("<Dial"),
        "{twiml}"
    );
    assert!(twiml.contains("closed right now"), "{twiml}");
    let sent = app.wait_for_texts(1).await;
    assert!(
        sent[0].body.contains("We're closed right now"),
        "{}",
        sent[0].body
    );
    assert!(
        sent[0].body.contains("7:00 AM tomorrow"),
        "{}",
        sent[0].body
    );
    // The voicemail that follows does not text again.
    app.post_twilio(
        "/webhooks/twilio/voice/recording",
        &[
            ("CallSid", "CAnight"),
            ("From", CALLER),
            ("To", TRACKING),
            ("RecordingSid", "RE2"),
        ],
    )
    .await;
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 1);
}

async fn business_hours_call_rings_the_business_phone(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", "CAday"),
                ("From", CALLER),
                ("To", TRACKING),
                ("CallStatus", "ringing"),
            ],
        )
        .await;
    let twiml = r.text().await.unwrap();
    assert!(
        twiml.contains(r#"timeout="20""#)
            && twiml.contains(&format!("<Number>{RING_PHONE}</Number>")),
        "{twiml}"
    );
    assert!(
        twiml.contains(&format!(
            r#"action="{}/webhooks/twilio/voice/dial""#,
            app.url
        )),
        "{twiml}"
    );
    app.settle().await;
    assert!(app.mock.sent().is_empty(), "ringing is not missing");
}

async fn call_status(app: &TestApp, sid: &str, from: &str, status: &str, seconds: &str) {
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/status",
            &[
                ("CallSid", sid),
                ("From", from),
                ("To", TRACKING),
                ("CallStatus", status),
                ("CallDuration", seconds),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
}

/// The call comes in (business hours: ringback rings the business).
async fn voice(app: &TestApp, sid: &str, from: &str) {
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", sid),
                ("From", from),
                ("To", TRACKING),
                ("CallStatus", "ringing"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("<Dial"));
}

async fn answered_dial(app: &TestApp, sid: &str, from: &str, seconds: &str) {
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/dial",
            &[
                ("CallSid", sid),
                ("From", from),
                ("To", TRACKING),
                ("DialCallStatus", "completed"),
                ("DialCallDuration", seconds),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
}

/// Talking to a person for more than 30 s resolves the caller's open lead
/// (no more follow-ups); a voicemail never does, whatever order the
/// carrier's callbacks arrive in.
async fn a_person_on_the_phone_resolves_the_lead_a_voicemail_does_not(b: Backend) {
    let app = TestApp::spawn(b).await;
    // A number ringback does not front: status callbacks only. Missed,
    // texted; the caller calls again and talks for 95 s: resolved.
    let (x, y, z) = ("+15125550381", "+15125550382", "+15125550383");
    call_status(&app, "CAx1", x, "no-answer", "0").await;
    app.wait_for_texts(1).await;
    app.settle().await;
    call_status(&app, "CAx2", x, "completed", "95").await;
    let lead = app.lead_json(x).await;
    assert_eq!(lead["lead"]["status"], "resolved", "{lead}");
    assert_eq!(lead["lead"]["closed_reason"], "talked_on_phone");

    // A call ringback fronts, with the status callback set as well by
    // mistake, arriving before the dial result: the 95 s are the voicemail.
    app.missed_call("CAy0", y).await;
    app.wait_for_texts(2).await;
    app.settle().await;
    voice(&app, "CAy1", y).await;
    call_status(&app, "CAy1", y, "completed", "95").await;
    assert_eq!(app.lead_json(y).await["lead"]["status"], "texted");
    app.missed_call("CAy1", y).await;
    app.settle().await;
    let lead = app.lead_json(y).await;
    assert_eq!(lead["lead"]["status"], "texted", "{lead}");
    assert_eq!(lead["lead"]["call_count"], 2);

    // Missed once, then a fronted call a person answers for 20 s (not
    // enough to resolve), whose status callback counts 50 s with the
    // ringing: the dial result's 20 s decide.
    app.missed_call("CAz1", z).await;
    app.wait_for_texts(3).await;
    app.settle().await;
    voice(&app, "CAz2", z).await;
    answered_dial(&app, "CAz2", z, "20").await;
    call_status(&app, "CAz2", z, "completed", "50").await;
    assert_eq!(app.lead_json(z).await["lead"]["status"], "texted");
    // 40 s with a person on a fronted call resolves it.
    voice(&app, "CAz3", z).await;
    answered_dial(&app, "CAz3", z, "40").await;
    assert_eq!(app.lead_json(z).await["lead"]["status"], "resolved");
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 3, "one text per caller, no more");
}

async fn call_screening_counts_only_a_human_pickup_as_answered(b: Backend) {
    let app = TestApp::spawn(b).await;
    let acme = "+12125550100";
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", "CAscr1"),
                ("From", CALLER),
                ("To", acme),
                ("CallStatus", "ringing"),
            ],
        )
        .await;
    let twiml = r.text().await.unwrap();
    assert!(
        twiml.contains("/webhooks/twilio/voice/screen?parent=CAscr1"),
        "{twiml}"
    );
    // The screen prompt itself.
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/screen?parent=CAscr1",
            &[
                ("CallSid", "CAleg1"),
                ("From", CALLER),
                ("To", "+12125550199"),
            ],
        )
        .await;
    let screen = r.text().await.unwrap();
    assert!(
        screen.contains("<Gather") && screen.contains("Press 1"),
        "{screen}"
    );
    // Voicemail picked up: "completed" but nobody pressed 1 -> missed.
    app.dial_result("CAscr1", CALLER, acme, "completed").await;
    // A human pressed 1 on another call -> answered, no text.
    app.post_twilio(
        "/webhooks/twilio/voice",
        &[
            ("CallSid", "CAscr2"),
            ("From", "+15125550701"),
            ("To", acme),
            ("CallStatus", "ringing"),
        ],
    )
    .await;
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/screen/result?parent=CAscr2",
            &[("CallSid", "CAleg2"), ("Digits", "1")],
        )
        .await;
    assert_eq!(r.status(), 200);
    app.dial_result("CAscr2", "+15125550701", acme, "completed")
        .await;
    app.wait_for_texts(1).await;
    app.settle().await;
    let sent = app.mock.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, CALLER);
    assert_eq!(sent[0].from, acme);
    assert!(sent[0].body.contains("Acme Electric"));
}

async fn forged_and_unsigned_webhooks_record_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let body = format!("CallSid=CAforged&From=%2B15125550147&To=%2B15125550100&DialCallStatus=no-answer&AccountSid={ACCOUNT_SID}").into_bytes();
    let form = "application/x-www-form-urlencoded";
    let r = app
        .post_raw("/webhooks/twilio/voice/dial", form, body.clone(), None)
        .await;
    assert_eq!(r.status(), 400, "missing signature");
    let r = app
        .post_raw(
            "/webhooks/twilio/voice/dial",
            form,
            body.clone(),
            Some("bm90IGEgc2lnbmF0dXJl"),
        )
        .await;
    assert_eq!(r.status(), 403, "wrong signature");
    // Signed with the right key but for another URL (a replay elsewhere).
    let pairs: Vec<(String, String)> = vec![("CallSid".into(), "CAforged".into())];
    let sig = ringback::provider::twilio::signature::sign(
        crate::helpers::AUTH_TOKEN.as_bytes(),
        "https://evil.example/webhooks/twilio/voice/dial",
        &pairs,
        ringback::provider::twilio::signature::Algorithm::HmacSha1,
    );
    let r = app
        .post_raw(
            "/webhooks/twilio/voice/dial",
            form,
            b"CallSid=CAforged".to_vec(),
            Some(&sig),
        )
        .await;
    assert_eq!(r.status(), 403);
    app.settle().await;
    assert_eq!(app.store().count("webhook_events").await.unwrap(), 0);
    assert_eq!(app.store().count("leads").await.unwrap(), 0);
    assert!(app.mock.sent().is_empty());
    assert_eq!(
        app.metrics().get(
            "ringback_webhooks_total",
            "kind=\"voice_dial\",outcome=\"bad_signature\""
        ),
        2
    );
}

/// A Twilio account can sign webhooks with a webhook shared key and
/// HMAC-SHA256 instead of its Auth Token: such webhooks work when
/// `TWILIO_WEBHOOK_SHARED_KEY` holds that key, and are refused, recording
/// nothing, when signed with anything else or when no shared key is set.
async fn webhooks_signed_with_the_shared_key_work(b: Backend) {
    use ringback::provider::twilio::signature::Algorithm;
    let mut app = TestApp::spawn(b).await;
    let dial = |sid: &'static str| {
        [
            ("AccountSid", ACCOUNT_SID),
            ("CallSid", sid),
            ("From", CALLER),
            ("To", TRACKING),
            ("CallStatus", "in-progress"),
            ("DialCallStatus", "no-answer"),
        ]
    };
    let path = "/webhooks/twilio/voice/dial";
    let auth_token = AUTH_TOKEN.as_bytes();
    let shared = WEBHOOK_SHARED_KEY.as_bytes();
    // The auth token does not make an HMAC-SHA256 signature, nor the shared
    // key an HMAC-SHA1 one.
    let r = app
        .post_twilio_signed(path, &dial("CAwrongkey"), Algorithm::HmacSha256, auth_token)
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_twilio_signed(path, &dial("CAwrongalg"), Algorithm::HmacSha1, shared)
        .await;
    assert_eq!(r.status(), 403);
    app.settle().await;
    assert_eq!(app.store().count("webhook_events").await.unwrap(), 0);
    assert!(app.mock.sent().is_empty());

    let r = app
        .post_twilio_signed(path, &dial("CAshared"), Algorithm::HmacSha256, shared)
        .await;
    assert_eq!(r.status(), 200);
    let sent = app.wait_for_texts(1).await;
    assert_eq!(sent[0].to, CALLER);
    // (Recorded before the restart: a crash mid-record leaves the job to
    // its lease, which the test clock never reaches.)
    app.settle().await;

    // No shared key configured: an HMAC-SHA256 webhook cannot be checked.
    app.webhook_shared_key = None;
    app.crash_and_restart().await;
    let r = app
        .post_twilio_signed(path, &dial("CAnokey"), Algorithm::HmacSha256, shared)
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.metrics().get(
            "ringback_webhooks_total",
            "kind=\"voice_dial\",outcome=\"shared_key_missing\""
        ),
        1,
        "counted apart from forgeries"
    );
    app.settle().await;
    assert_eq!(app.store().count("webhook_events").await.unwrap(), 1);
    assert_eq!(app.store().count("calls").await.unwrap(), 1);
    assert_eq!(app.mock.sent().len(), 1);
}

async fn bad_input_gets_a_clear_4xx_and_changes_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.missed_call("CAgood", CALLER).await;
    app.wait_for_texts(1).await;
    app.settle().await;
    let before = (
        app.store().count("leads").await.unwrap(),
        app.store().count("messages").await.unwrap(),
        app.store().count("calls").await.unwrap(),
    );

    // Missing field (signed correctly).
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/dial",
            &[("CallSid", "CAx"), ("From", CALLER), ("To", TRACKING)],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("DialCallStatus"));
    // Truncated body: keys cut off.
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/dial",
            &[("CallSid", "CAx"), ("Fro", "")],
        )
        .await;
    assert_eq!(r.status(), 400);
    // Unknown number.
    let r = app
        .dial_result("CAx", CALLER, "+19995550100", "no-answer")
        .await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no business owns"));
    // Unknown number on the voice webhook: TwiML the caller can hear.
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", "CAx2"),
                ("From", CALLER),
                ("To", "+19995550100"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("not in service"));
    // Two different callers in one request, or a CallSid that is not one.
    for params in [
        vec![
            ("CallSid", "CAtwo"),
            ("From", CALLER),
            ("From", "+15125550407"),
            ("To", TRACKING),
            ("DialCallStatus", "no-answer"),
        ],
        vec![
            ("CallSid", "CA%00x"),
            ("From", CALLER),
            ("To", TRACKING),
            ("DialCallStatus", "no-answer"),
        ],
    ] {
        let r = app
            .post_twilio("/webhooks/twilio/voice/dial", &params)
            .await;
        assert_eq!(r.status(), 400);
    }
    let long = format!("CA{}", "0".repeat(10_000));
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/dial",
            &[
                ("CallSid", &long),
                ("From", CALLER),
                ("To", TRACKING),
                ("DialCallStatus", "no-answer"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("must be a Twilio SID"));
    // Unknown dial status.
    let r = app.dial_result("CAx", CALLER, TRACKING, "exploded").await;
    assert_eq!(r.status(), 400);
    // Non-UTF-8: forged, it is refused as forged (403, which the limiter
    // counts); signed, as undecodable.
    let non_utf8 = b"CallSid=CA%FF%FE&From=x&To=%2B15125550100".to_vec();
    let r = app
        .post_raw(
            "/webhooks/twilio/voice/dial",
            "application/x-www-form-urlencoded",
            non_utf8.clone(),
            Some("c2ln"),
        )
        .await;
    assert_eq!(r.status(), 403);
    let url = format!("{}/webhooks/twilio/voice/dial", app.url);
    let lossy: Vec<(String, String)> = [
        ("CallSid", "CA\u{FFFD}\u{FFFD}"),
        ("From", "x"),
        ("To", TRACKING),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let sig = ringback::provider::twilio::signature::sign(
        AUTH_TOKEN.as_bytes(),
        &url,
        &lossy,
        ringback::provider::twilio::signature::Algorithm::HmacSha1,
    );
    let r = app
        .post_raw(
            "/webhooks/twilio/voice/dial",
            "application/x-www-form-urlencoded",
            non_utf8,
            Some(&sig),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("UTF-8"));
    // Wrong content type.
    let r = app
        .post_raw(
            "/webhooks/twilio/voice/dial",
            "text/plain",
            b"hello".to_vec(),
            Some("c2ln"),
        )
        .await;
    assert_eq!(r.status(), 415);
    // 1 MB body.
    let big = format!("CallSid=CA1&Body={}", "x".repeat(1024 * 1024)).into_bytes();
    let r = app
        .post_raw(
            "/webhooks/twilio/sms",
            "application/x-www-form-urlencoded",
            big,
            Some("c2ln"),
        )
        .await;
    assert_eq!(r.status(), 413);
    let said: serde_json::Value = r.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("max_body_bytes"),
        "{said}"
    );
    // A wrong method: the JSON error says which one to use.
    let r = app.get("/webhooks/twilio/voice").await;
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    let said: serde_json::Value = r.json().await.unwrap();
    assert!(
        said["error"]
            .as_str()
            .unwrap()
            .contains("GET is not allowed on /webhooks/twilio/voice; carriers POST webhooks"),
        "{said}"
    );
    // A body cut short: the connection ends before Content-Length bytes.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = app.url.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /webhooks/twilio/voice/dial HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: c2ln\r\nContent-Length: 500\r\n\r\nCallSid=CAcut&From="
        );
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.shutdown().await.unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer.contains(r#"{"error":"the request could not be read"#),
            "{answer}"
        );
    }
    // Malformed JSON with a valid-looking signature header.
    let r = app
        .post_raw(
            "/webhooks/twilio/sms?bodySHA256=00",
            "application/json",
            b"{not json".to_vec(),
            Some("c2ln"),
        )
        .await;
    assert_eq!(r.status(), 403);

    app.settle().await;
    let after = (
        app.store().count("leads").await.unwrap(),
        app.store().count("messages").await.unwrap(),
        app.store().count("calls").await.unwrap(),
    );
    assert_eq!(before, after, "nothing stored was changed");
    assert_eq!(app.mock.sent().len(), 1, "no text went out");
}

async fn delivery_callbacks_never_move_a_message_backwards(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.missed_call("CAdlr", CALLER).await;
    let sent = app.wait_for_texts(1).await;
    app.settle().await;
    assert!(
        sent[0].status_callback.is_none(),
        "no public URL configured: no status callback"
    );
    let sid = sent[0].sid.clone();
    let status = |s: &'static str| {
        let sid = sid.clone();
        let app = &app;
        async move {
            app.post_twilio(
                "/webhooks/twilio/sms/status",
                &[
                    ("MessageSid", &sid),
                    ("MessageStatus", s),
                    ("From", TRACKING),
                    ("To", CALLER),
                ],
            )
            .await
            .status()
        }
    };
    assert_eq!(status("delivered").await, 200);
    assert_eq!(status("sent").await, 200);
    assert_eq!(status("delivered").await, 200);
    let lead = app.lead_json(CALLER).await;
    assert_eq!(lead["messages"][0]["status"], "delivered");
    assert_eq!(status("bogus").await, 400);
}

/// A receipt can beat the record of its send: here the send's answer is
/// lost (in doubt, no SID stored) and the carrier reports the text
/// undelivered, unreachable handset, before the retry finds it in the
/// message list. The receipt is applied once the message is known.
async fn an_early_delivery_receipt_is_applied_once_the_send_is_recorded(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.mock.push(Script::AcceptButGarble);
    app.missed_call("CAearly", CALLER).await;
    let sent = app.wait_for_texts(1).await;
    app.settle().await;
    let lead = app.lead_json(CALLER).await;
    assert_eq!(lead["messages"][0]["status"], "sending", "in doubt: {lead}");
    let r = app
        .message_status(&sent[0].sid, "undelivered", Some("30006"), CALLER)
        .await;
    assert_eq!(r.status(), 200);
    // The retry reconciles (no second text); the receipt's second look
    // applies it.
    for _ in 0..4 {
        app.advance(Duration::seconds(20)).await;
    }
    assert_eq!(app.mock.sent_to(CALLER).len(), 1, "never texted twice");
    let lead = app.lead_json(CALLER).await;
    let m = &lead["messages"][0];
    assert_eq!(m["provider_sid"], sent[0].sid.as_str(), "{lead}");
    assert_eq!(m["status"], "undelivered", "{lead}");
    assert_eq!(m["error_code"], "30006", "{lead}");
    let timeline = lead["events"].to_string();
    assert!(timeline.contains("unreachable"), "{timeline}");
}

async fn landline_failure_marks_the_number_unreachable(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.missed_call("CAland", CALLER).await;
    let sent = app.wait_for_texts(1).await;
    app.settle().await;
    let r = app
        .message_status(&sent[0].sid, "undelivered", Some("30006"), CALLER)
        .await;
    assert_eq!(r.status(), 200);
    app.advance(Duration::hours(25)).await;
    app.missed_call("CAland2", CALLER).await;
    app.settle().await;
    assert_eq!(
        app.mock.sent().len(),
        1,
        "a known landline is not texted again"
    );
    let lead = app.lead_json(CALLER).await;
    assert_eq!(lead["messages"][0]["suppress_reason"], "unreachable");
}

async fn ops_endpoints_report_health_and_metrics(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.missed_call("CAm", CALLER).await;
    app.wait_for_texts(1).await;
    app.settle().await;
    let m = app.get("/metrics").await.text().await.unwrap();
    assert!(
        m.contains("ringback_webhooks_total{kind=\"voice_dial\",outcome=\"ok\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("ringback_texts_total{outcome=\"sent\"} 1"),
        "{m}"
    );
    assert!(m.contains("ringback_send_duration_seconds_count 1"), "{m}");
    assert!(m.contains("ringback_job_queue_depth 0"), "{m}");
    // SQLite's one writer: how often and how long transactions waited for it.
    let counter = |name: &str| -> Option<f64> {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .map(|v| v.parse().unwrap())
    };
    let waits = counter("ringback_sqlite_writer_waits_total");
    let waited = counter("ringback_sqlite_writer_wait_seconds_total");
    if app.database_url.starts_with("sqlite") {
        assert!(
            waits.is_some_and(|n| n >= 2.0),
            "the webhook's and the send's transactions waited: {m}"
        );
        assert!(waited.is_some_and(|s| s >= 0.0), "{m}");
    } else {
        assert_eq!(
            (waits, waited),
            (None, None),
            "PostgreSQL has no one writer"
        );
    }
    // The admin API needs its token.
    assert_eq!(app.get("/api/v1/leads").await.status(), 401);
}

async fn graceful_shutdown_finishes_in_flight_sends(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    app.mock
        .push(Script::AcceptButHang(std::time::Duration::from_millis(300)));
    app.missed_call("CAgrace", CALLER).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    app.shutdown().await;
    assert_eq!(app.mock.sent().len(), 1);
    let store = ringback::store::Store::connect(&app.database_url, &Default::default())
        .await
        .unwrap();
    let msgs = store.messages(10).await.unwrap();
    assert_eq!(
        msgs[0].status,
        ringback::domain::MessageStatus::Sent,
        "the in-flight send was recorded before exit"
    );
}

/// `worker_concurrency` is how many sends are in flight to the carrier at
/// once (Twilio limits concurrent API requests per account), however many
/// more jobs the worker has claimed meanwhile; every caller is still
/// texted, once.
async fn worker_concurrency_bounds_the_sends_in_flight(b: Backend) {
    let app = TestApp::spawn_with(b, DEFAULT_BUSINESS, "worker_concurrency = 2").await;
    app.mock.delay_sends(std::time::Duration::from_millis(200));
    let callers: Vec<String> = (0..8).map(|i| format!("+1512555031{i}")).collect();
    for (i, caller) in callers.iter().enumerate() {
        let resp = app.missed_call(&format!("CAslots{i}"), caller).await;
        assert_eq!(resp.status(), 200);
    }
    app.wait_for_texts(8).await;
    app.settle().await;
    for caller in &callers {
        assert_eq!(app.mock.sent_to(caller).len(), 1, "{caller} texted once");
    }
    assert_eq!(
        app.mock.max_sends_in_flight(),
        2,
        "two sends at a time: no more, and not one by one"
    );
}

/// A slow carrier and one send at a time: a job is claimed only when the
/// worker has room to send it, so no text waits past its job's lease (here
/// 3 s, with sends taking 0.8 s); were one to, its job would be claimed
/// again and the text looked up or sent twice. Everyone is texted once, and
/// every send job ran on its first claim.
async fn a_slow_carrier_never_lets_a_lease_run_out_under_a_waiting_text(b: Backend) {
    use sqlx::Row;
    let mut app = TestApp::spawn_with(b, DEFAULT_BUSINESS, "worker_concurrency = 1").await;
    app.config_text = app
        .config_text
        .replace("lease_seconds = 5\n", "lease_seconds = 3\n");
    assert!(app.config_text.contains("lease_seconds = 3\n"));
    app.crash_and_restart().await;
    app.mock.delay_sends(std::time::Duration::from_millis(800));
    let callers: Vec<String> = (0..6).map(|i| format!("+1512555032{i}")).collect();
    for (i, caller) in callers.iter().enumerate() {
        let resp = app.missed_call(&format!("CAlate{i}"), caller).await;
        assert_eq!(resp.status(), 200);
    }
    app.wait_for_texts_within(6, std::time::Duration::from_secs(15))
        .await;
    app.settle().await;
    for caller in &callers {
        assert_eq!(app.mock.sent_to(caller).len(), 1, "{caller} texted once");
    }
    assert_eq!(app.mock.max_sends_in_flight(), 1);
    let attempts: Vec<i64> = sqlx::query("SELECT attempts FROM jobs WHERE kind = 'send_message'")
        .fetch_all(app.store().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("attempts"))
        .collect();
    assert_eq!(attempts, vec![1; 6], "no lease ran out");
}

/// If the worker stops on its own, nothing texts the callers whose calls
/// the webhooks still take: `/readyz` says so (the load balancer and the
/// supervisor act on it; `ringback serve` exits), and the calls taken
/// meanwhile are texted once a worker runs again.
async fn a_stopped_worker_fails_readiness_and_loses_no_call(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let running = app.running.as_mut().unwrap();
    running.kill_worker();
    tokio::time::timeout(std::time::Duration::from_secs(5), running.worker_gone())
        .await
        .expect("the worker stops");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("worker"));

    // A call taken meanwhile is recorded, not texted...
    assert_eq!(app.missed_call("CAworkerless", CALLER).await.status(), 200);
    assert!(app.mock.sent().is_empty());
    // ...until a worker runs again: then exactly once.
    app.crash_and_restart().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let sent = app.wait_for_texts(1).await;
    assert_eq!(sent[0].to, CALLER);
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 1);
}

on_both_stores!(
    worker_concurrency_bounds_the_sends_in_flight,
    a_slow_carrier_never_lets_a_lease_run_out_under_a_waiting_text,
    a_stopped_worker_fails_readiness_and_loses_no_call,
    unanswered_call_texts_the_caller_once,
    every_unanswered_dial_status_is_a_missed_call,
    status_callback_and_voicemail_are_triggers_too,
    all_reports_of_one_call_make_one_lead_and_one_text,
    repeat_calls_inside_the_window_attach_to_one_lead,
    fifty_concurrent_duplicates_send_one_text,
    provider_errors_are_retried_into_exactly_one_text,
    accepted_but_unrecorded_send_is_reconciled_not_repeated,
    permanent_errors_are_recorded_and_never_retried,
    a_crash_with_jobs_pending_sends_each_once_after_restart,
    suppressed_callers_get_no_text_and_a_recorded_reason,
    after_hours_calls_go_to_voicemail_and_get_the_after_hours_text,
    business_hours_call_rings_the_business_phone,
    call_screening_counts_only_a_human_pickup_as_answered,
    a_person_on_the_phone_resolves_the_lead_a_voicemail_does_not,
    forged_and_unsigned_webhooks_record_nothing,
    webhooks_signed_with_the_shared_key_work,
    bad_input_gets_a_clear_4xx_and_changes_nothing,
    delivery_callbacks_never_move_a_message_backwards,
    an_early_delivery_receipt_is_applied_once_the_send_is_recorded,
    landline_failure_marks_the_number_unreachable,
    ops_endpoints_report_health_and_metrics,
    graceful_shutdown_finishes_in_flight_sends,
);
