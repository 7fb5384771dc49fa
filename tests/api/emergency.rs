//! Emergency escalation, black-box: detection by text, voicemail and the
//! after-hours menu; paging the chain with durable timeouts; ACK by text and
//! by keypress; restarts mid-chain.

use crate::helpers::*;
use chrono::Duration;

const MIKE: &str = "+15125550111";
const LUIS: &str = "+15125550112";
const DANA: &str = "+15125550199";
const OFFICE: &str = "+15125550177";

const BUSINESS: &str = r#"
[[business]]
id = "spartan"
name = "Spartan Plumbing"
time_zone = "America/Chicago"
numbers = ["+15125550100"]
ring_phone = "+15125550199"
dispatcher_phone = "+15125550177"
booking_link = "Book online: https://spartan.example/book"
follow_ups = []
hours = { mon = "07:00-18:00", tue = "07:00-18:00", wed = "07:00-18:00", thu = "07:00-18:00", fri = "07:00-18:00" }
senders = { "+15125550100" = { registration = "10dlc", campaign_id = "CSPARTAN1", status = "registered", mps = 1000 } }

[business.on_call]
owner = "Dana"
ack_timeout_minutes = 5
repages = 1
people = [ { name = "Dana", phone = "+15125550199" }, { name = "Mike", phone = "+15125550111" }, { name = "Luis", phone = "+15125550112" } ]

[[business.on_call.rotation]]
days = "daily"
hours = "all day"
primary = "Mike"
backup = "Luis"
"#;

async fn spawn(b: Backend) -> TestApp {
    TestApp::spawn_with(b, BUSINESS, "").await
}

fn pages_to(app: &TestApp, who: &str) -> usize {
    app.mock
        .sent_to(who)
        .iter()
        .filter(|s| s.body.starts_with("EMERGENCY") || s.body.starts_with("STILL OPEN"))
        .count()
}

fn calls_to(app: &TestApp, who: &str) -> usize {
    app.mock.calls().iter().filter(|c| c.to == who).count()
}

async fn gas_text_pages_the_chain_until_someone_acks(b: Backend) {
    let app = spawn(b).await;
    app.missed_call("CA1", CALLER).await;
    app.wait_for_texts(1).await;
    app.sms("SM1", CALLER, "I smell gas in the kitchen, 12 Elm St")
        .await;
    app.settle().await;
    // The caller: safety first, never a booking link.
    let to_caller = app.mock.sent_to(CALLER);
    assert_eq!(to_caller.len(), 2, "{to_caller:?}");
    assert!(
        to_caller[1].body.contains("leave the building"),
        "{}",
        to_caller[1].body
    );
    assert!(to_caller
        .iter()
        .all(|s| !s.body.contains("spartan.example/book")));
    // The office knows; the primary is texted and called at once.
    assert!(app.mock.sent_to(OFFICE)[0].body.contains("EMERGENCY"));
    assert_eq!((pages_to(&app, MIKE), calls_to(&app, MIKE)), (1, 1));
    let page = &app.mock.sent_to(MIKE)[0].body;
    for want in [CALLER, "gas smell", "12 Elm St", "Reply ACK"] {
        assert!(page.contains(want), "{want:?} in {page}");
    }
    assert!(app.mock.calls()[0]
        .instructions
        .contains("Press 1 to accept"));
    assert_eq!(pages_to(&app, LUIS), 0);
    // No ACK in 5 minutes: the backup is paged.
    app.advance(Duration::minutes(4)).await;
    assert_eq!(pages_to(&app, LUIS), 0, "not before the timeout");
    app.advance(Duration::minutes(1)).await;
    assert_eq!((pages_to(&app, LUIS), calls_to(&app, LUIS)), (1, 1));
    // Luis takes it by text.
    app.sms("SM2", LUIS, "On it!").await;
    app.settle().await;
    let last = app.mock.sent_to(CALLER).pop().unwrap();
    assert!(
        last.body.starts_with("Luis from Spartan Plumbing"),
        "{}",
        last.body
    );
    let told = app.mock.sent_to(MIKE);
    assert!(
        told.last().unwrap().body.contains("Luis has taken"),
        "{told:?}"
    );
    // And paging stops for good.
    app.advance(Duration::minutes(30)).await;
    assert_eq!(pages_to(&app, DANA), 0);
    assert_eq!(pages_to(&app, MIKE), 1);
    let lead = app.lead_json(CALLER).await;
    let events: Vec<String> = lead["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["kind"].as_str().unwrap(),
                e["detail"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("emergency_acked Luis took it after 300 s")),
        "{events:?}"
    );
    assert_eq!(lead["escalation"]["status"], "acked");
    assert_eq!(lead["escalation"]["acked_by"]["name"], "Luis");
    assert_eq!(lead["escalation"]["ack_latency_seconds"], 300);
    // Staff are not leads: their texts and their missed calls get no text.
    let all: serde_json::Value = app
        .admin_get("/api/v1/leads?status=engaged")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["leads"].as_array().unwrap().len(), 1);
    app.missed_call("CAmike", MIKE).await;
    app.settle().await;
    assert!(
        app.mock
            .sent_to(MIKE)
            .iter()
            .all(|s| !s.body.contains("Sorry we missed")),
        "a tech calling the shop is not texted like a customer"
    );
}

/// Found in review: what a caller says after the emergency began must not
/// get a booking link, nor close the lead and stop the paging.
/// Found in review: a business with no on-call roster told a caller with
/// a gas leak "We're paging our on-call tech now." Nobody was paged.
async fn without_a_roster_the_safety_text_promises_no_paging(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.missed_call("CA1", CALLER).await;
    app.wait_for_texts(1).await;
    app.sms("SM1", CALLER, "I smell gas in the kitchen").await;
    app.settle().await;
    let to_caller = app.mock.bodies_to(CALLER);
    assert_eq!(to_caller.len(), 2, "{to_caller:#?}");
    let safety = &to_caller[1];
    assert!(safety.contains("leave the building"), "{safety}");
    assert!(safety.contains("We've alerted our team."), "{safety}");
    assert!(!safety.contains("paging"), "{safety}");
}

async fn replies_during_an_emergency_go_to_the_office_and_paging_goes_on(b: Backend) {
    let app = spawn(b).await;
    app.missed_call("CA1", CALLER).await;
    app.wait_for_texts(1).await;
    app.sms("SM1", CALLER, "I smell gas in the kitchen, 12 Elm St")
        .await;
    app.settle().await;
    let before = app.mock.sent_to(CALLER).len();
    let office_before = app.mock.sent_to(OFFICE).len();
    app.sms("SM2", CALLER, "yes please send someone asap").await;
    app.sms("SM3", CALLER, "ok we're all outside now, we're fine")
        .await;
    app.settle().await;
    let to_caller = app.mock.bodies_to(CALLER);
    assert_eq!(
        to_caller.len(),
        before,
        "nothing more to the caller: {to_caller:#?}"
    );
    assert!(to_caller
        .iter()
        .all(|b| !b.contains("spartan.example/book")));
    assert!(
        app.mock.sent_to(OFFICE).len() > office_before,
        "the office hears what they said"
    );
    assert_ne!(app.lead_json(CALLER).await["lead"]["status"], "dismissed");
    // Nobody acked Mike's page: the backup is still paged on time.
    app.advance(Duration::minutes(5)).await;
    assert_eq!(pages_to(&app, LUIS), 1);
    // Luis takes it. A day later the emergency is over: a booking text
    // gets the booking reply again.
    app.sms("SM4", LUIS, "ACK").await;
    app.advance(Duration::hours(24)).await;
    app.sms(
        "SM5",
        CALLER,
        "can you come back next week to check the water heater?",
    )
    .await;
    app.settle().await;
    let last = app.mock.bodies_to(CALLER).pop().unwrap();
    assert!(last.contains("Glad to help"), "{last}");
}

/// "Got it, on my way" is not an ACK word: the tech is told how to take
/// it, instead of silence while the chain moves on.
async fn a_paged_tech_who_texts_something_else_is_told_how_to_take_it(b: Backend) {
    let app = spawn(b).await;
    app.sms("SM1", CALLER, "I smell gas in the kitchen, 12 Elm St")
        .await;
    app.settle().await;
    assert_eq!(pages_to(&app, MIKE), 1);
    app.sms("SM2", MIKE, "Got it, on my way").await;
    app.settle().await;
    let to_mike = app.mock.bodies_to(MIKE);
    let hint = to_mike.last().unwrap();
    assert!(
        hint.contains("not taken yet") && hint.contains("Reply ACK") && hint.contains(CALLER),
        "{hint}"
    );
    // Once, not for every text (an auto-responder must not ping-pong).
    app.sms("SM2b", MIKE, "Auto-reply: I'm driving").await;
    app.settle().await;
    let hints = app
        .mock
        .bodies_to(MIKE)
        .iter()
        .filter(|b| b.contains("not taken yet"))
        .count();
    assert_eq!(hints, 1);
    // Luis, never paged, texting the shop gets no such hint.
    app.sms("SM3", LUIS, "anyone need me tonight?").await;
    app.settle().await;
    assert!(app.mock.bodies_to(LUIS).is_empty());
    // Mike then takes it properly; nobody else is paged.
    app.sms("SM4", MIKE, "ACK").await;
    app.advance(Duration::minutes(10)).await;
    assert_eq!(pages_to(&app, LUIS), 0);
    assert_eq!(app.lead_json(CALLER).await["escalation"]["status"], "acked");
}

async fn pressing_1_on_the_page_call_takes_it(b: Backend) {
    let app = spawn(b).await;
    app.sms("SM1", CALLER, "water pouring through the ceiling!!")
        .await;
    app.settle().await;
    let call = app.mock.calls().into_iter().find(|c| c.to == MIKE).unwrap();
    let action = call
        .instructions
        .split("action=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let path = action
        .split_once("/webhooks")
        .map(|(_, p)| format!("/webhooks{p}"))
        .unwrap();
    let r = app
        .post_twilio(
            &path,
            &[
                ("CallSid", "CApage1"),
                ("From", "+15125550100"),
                ("To", MIKE),
                ("Digits", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let twiml = r.text().await.unwrap();
    assert!(
        twiml.contains("5 1 2, 5 5 5, 0 1 4 7"),
        "the caller's number, read out: {twiml}"
    );
    app.settle().await;
    let last = app.mock.sent_to(CALLER).pop().unwrap();
    assert!(
        last.body.starts_with("Mike from Spartan Plumbing"),
        "{}",
        last.body
    );
    app.advance(Duration::minutes(20)).await;
    assert_eq!(pages_to(&app, LUIS), 0, "taken: nobody else is paged");
    // The flooding advice, not the gas one.
    assert!(app.mock.sent_to(CALLER)[0]
        .body
        .to_lowercase()
        .contains("water"));
}

async fn a_restart_mid_chain_carries_on_where_it_was(b: Backend) {
    let mut app = spawn(b).await;
    app.sms("SM1", CALLER, "smells like gas in here").await;
    app.settle().await;
    assert_eq!(pages_to(&app, MIKE), 1);
    app.crash_and_restart().await;
    app.advance(Duration::minutes(5)).await;
    assert_eq!(pages_to(&app, MIKE), 1, "Mike is not paged again");
    assert_eq!(
        pages_to(&app, LUIS),
        1,
        "the chain moved on after the restart"
    );
    app.advance(Duration::minutes(5)).await;
    assert_eq!(pages_to(&app, DANA), 1, "then the owner");
}

async fn an_unanswered_chain_repages_everyone_then_tells_the_caller(b: Backend) {
    let app = spawn(b).await;
    app.sms("SM1", CALLER, "smoke coming from the furnace")
        .await;
    app.settle().await;
    for _ in 0..3 {
        app.advance(Duration::minutes(5)).await;
    }
    // Mike, Luis, Dana one by one, then one all-hands round (repages = 1).
    assert_eq!(pages_to(&app, MIKE), 2);
    assert!(app.mock.sent_to(MIKE)[1].body.starts_with("STILL OPEN"));
    assert_eq!(pages_to(&app, LUIS), 2);
    assert_eq!(pages_to(&app, DANA), 2);
    app.advance(Duration::minutes(5)).await;
    let last = app.mock.sent_to(CALLER).pop().unwrap();
    assert!(last.body.contains("still trying"), "{}", last.body);
    app.advance(Duration::hours(1)).await;
    assert_eq!(
        pages_to(&app, MIKE),
        2,
        "paging stops: it is the office's now"
    );
    let lead = app.lead_json(CALLER).await;
    assert!(lead["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "emergency_unanswered"));
    // And the office is told in so many words (found in review: only the
    // timeline and a log line said so).
    let office = app.mock.bodies_to(OFFICE);
    let loud = office
        .iter()
        .find(|b| b.contains("UNANSWERED EMERGENCY"))
        .unwrap_or_else(|| panic!("{office:#?}"));
    assert!(loud.contains(CALLER) && loud.contains("call now"), "{loud}");
}

async fn two_emergencies_for_one_tech_are_taken_one_ack_each(b: Backend) {
    let app = spawn(b).await;
    app.sms("SM1", CALLER, "gas smell in the basement").await;
    app.settle().await;
    app.advance(Duration::minutes(1)).await;
    app.sms("SM2", "+15125550402", "our basement is flooding")
        .await;
    app.settle().await;
    assert_eq!(pages_to(&app, MIKE), 2);
    app.sms("SM3", MIKE, "ACK").await;
    app.settle().await;
    assert!(app
        .mock
        .sent_to(CALLER)
        .pop()
        .unwrap()
        .body
        .starts_with("Mike"));
    assert!(!app
        .mock
        .sent_to("+15125550402")
        .pop()
        .unwrap()
        .body
        .starts_with("Mike"));
    app.sms("SM4", MIKE, "ok").await;
    app.settle().await;
    assert!(app
        .mock
        .sent_to("+15125550402")
        .pop()
        .unwrap()
        .body
        .starts_with("Mike"));
    app.advance(Duration::minutes(30)).await;
    assert_eq!(pages_to(&app, LUIS), 0);
}

async fn a_voicemail_about_flooding_is_an_emergency(b: Backend) {
    let app = spawn(b).await;
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/recording",
            &[
                ("CallSid", "CAvm1"),
                ("From", CALLER),
                ("To", "+15125550100"),
                ("RecordingSid", "RE1"),
                ("RecordingUrl", "https://api.twilio.com/rec/RE1"),
                ("TranscriptionStatus", "completed"),
                (
                    "TranscriptionText",
                    "hi yeah um we got water coming through the ceiling can someone call me back",
                ),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    app.settle().await;
    assert_eq!((pages_to(&app, MIKE), calls_to(&app, MIKE)), (1, 1));
    assert!(app.mock.sent_to(MIKE)[0]
        .body
        .contains("water coming through the ceiling"));
}

async fn after_hours_press_1_reaches_the_on_call_tech(b: Backend) {
    let app = spawn(b).await;
    app.advance(Duration::hours(10)).await; // 20:00, closed
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice",
            &[
                ("CallSid", "CAivr"),
                ("From", CALLER),
                ("To", "+15125550100"),
            ],
        )
        .await;
    let twiml = r.text().await.unwrap();
    assert!(
        twiml.contains("<Gather") && twiml.contains("/webhooks/twilio/voice/emergency"),
        "{twiml}"
    );
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/emergency",
            &[
                ("CallSid", "CAivr"),
                ("From", CALLER),
                ("To", "+15125550100"),
                ("Digits", "1"),
            ],
        )
        .await;
    let twiml = r.text().await.unwrap();
    assert!(
        twiml.contains(&format!(">{MIKE}</Number>")),
        "connects Mike: {twiml}"
    );
    // Mike does not pick up: an emergency lead, the chain is paged.
    let r = app
        .post_twilio(
            "/webhooks/twilio/voice/emergency/dial",
            &[
                ("CallSid", "CAivr"),
                ("From", CALLER),
                ("To", "+15125550100"),
                ("DialCallStatus", "no-answer"),
            ],
        )
        .await;
    assert!(r.text().await.unwrap().contains("<Record"));
    app.settle().await;
    assert_eq!(pages_to(&app, MIKE), 1);
    assert_eq!(app.lead_json(CALLER).await["lead"]["hazard"], "other");

    // Another caller: Mike's phone "answers" but it is his voicemail (no
    // one pressed 1 at the screen): that is not taking the emergency.
    let second = "+15125550402";
    let app = &app;
    let call = |sid: &'static str, from: &'static str| async move {
        app.post_twilio(
            "/webhooks/twilio/voice",
            &[("CallSid", sid), ("From", from), ("To", "+15125550100")],
        )
        .await;
        let r = app
            .post_twilio(
                "/webhooks/twilio/voice/emergency",
                &[
                    ("CallSid", sid),
                    ("From", from),
                    ("To", "+15125550100"),
                    ("Digits", "1"),
                ],
            )
            .await;
        r.text().await.unwrap()
    };
    let twiml = call("CAivr2", second).await;
    assert!(
        twiml.contains("/webhooks/twilio/voice/screen?parent=CAivr2"),
        "screened: {twiml}"
    );
    app.post_twilio(
        "/webhooks/twilio/voice/emergency/dial",
        &[
            ("CallSid", "CAivr2"),
            ("From", second),
            ("To", "+15125550100"),
            ("DialCallStatus", "completed"),
            ("DialCallDuration", "31"),
        ],
    )
    .await;
    app.settle().await;
    assert_eq!(pages_to(app, MIKE), 2, "a voicemail pickup pages the chain");

    // A third: Mike really answers and presses 1 at the screen.
    let third = "+15125550403";
    call("CAivr3", third).await;
    app.post_twilio(
        "/webhooks/twilio/voice/screen/result?parent=CAivr3",
        &[
            ("CallSid", "CAleg3"),
            ("From", "+15125550100"),
            ("To", MIKE),
            ("Digits", "1"),
        ],
    )
    .await;
    app.post_twilio(
        "/webhooks/twilio/voice/emergency/dial",
        &[
            ("CallSid", "CAivr3"),
            ("From", third),
            ("To", "+15125550100"),
            ("DialCallStatus", "completed"),
            ("DialCallDuration", "240"),
        ],
    )
    .await;
    app.advance(Duration::hours(3)).await;
    assert_eq!(pages_to(app, MIKE), 2, "he has it: nobody is paged");
    let lead = app.lead_json(third).await;
    assert_eq!(lead["lead"]["status"], "engaged");
    assert!(lead["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "ivr:connected"));
}

/// Found in review: after "press 1" (hazard unknown) the voicemail
/// transcript says what it is. The caller must get the advice for that,
/// the tech the update, and nobody a second chain, whether or not the
/// tech has taken it yet.
async fn a_transcript_after_press_1_updates_the_emergency_it_does_not_restart_it(b: Backend) {
    let app = spawn(b).await;
    app.advance(Duration::hours(10)).await; // 20:00, closed
    for (path, extra) in [
        ("/webhooks/twilio/voice", None),
        ("/webhooks/twilio/voice/emergency", Some(("Digits", "1"))),
        (
            "/webhooks/twilio/voice/emergency/dial",
            Some(("DialCallStatus", "no-answer")),
        ),
    ] {
        let mut form = vec![
            ("CallSid", "CAivr"),
            ("From", CALLER),
            ("To", "+15125550100"),
        ];
        form.extend(extra);
        assert_eq!(app.post_twilio(path, &form).await.status(), 200);
    }
    app.settle().await;
    assert_eq!(pages_to(&app, MIKE), 1);
    let transcript = |sid: &'static str, text: &'static str| {
        let app = &app;
        async move {
            app.post_twilio(
                "/webhooks/twilio/voice/recording",
                &[
                    ("CallSid", "CAivr"),
                    ("From", CALLER),
                    ("To", "+15125550100"),
                    ("RecordingSid", "RE1"),
                    ("TranscriptionSid", sid),
                    ("TranscriptionText", text),
                ],
            )
            .await
            .status()
        }
    };
    assert_eq!(
        transcript(
            "TR1",
            "I smell gas really strong in the basement, 12 Elm St"
        )
        .await,
        200
    );
    app.settle().await;
    let to_caller = app.mock.bodies_to(CALLER);
    assert!(
        to_caller.iter().any(|b| b.contains("leave the building")),
        "the gas advice: {to_caller:#?}"
    );
    assert_eq!(pages_to(&app, MIKE), 1, "not paged again");
    assert!(app
        .mock
        .bodies_to(MIKE)
        .last()
        .unwrap()
        .contains("update on the gas smell emergency"));
    // Mike takes it; a later transcript does not page anyone again.
    app.sms("SM1", MIKE, "ACK").await;
    app.settle().await;
    let told_caller = app.mock.bodies_to(CALLER).len();
    assert_eq!(
        transcript("TR2", "the gas smell is getting stronger, please hurry").await,
        200
    );
    app.advance(Duration::minutes(30)).await;
    assert_eq!((pages_to(&app, MIKE), pages_to(&app, LUIS)), (1, 0));
    let last = app.mock.bodies_to(MIKE).pop().unwrap();
    assert!(last.contains("getting stronger"), "{last}");
    assert_eq!(
        app.mock.bodies_to(CALLER).len(),
        told_caller,
        "same hazard: no new advice, and no 'we are paging' again"
    );
}

async fn opting_out_mid_emergency_stops_texts_to_the_caller_not_the_pages(b: Backend) {
    let app = spawn(b).await;
    app.sms("SM1", CALLER, "I smell gas").await;
    app.settle().await;
    app.sms("SM2", CALLER, "STOP").await;
    app.settle().await;
    let before = app.mock.sent_to(CALLER).len();
    app.advance(Duration::minutes(5)).await;
    assert_eq!(pages_to(&app, LUIS), 1, "the tech is still paged");
    app.sms("SM3", LUIS, "ACK").await;
    app.advance(Duration::minutes(1)).await;
    assert_eq!(
        app.mock.sent_to(CALLER).len(),
        before,
        "no text after STOP, not even 'Luis is calling you'"
    );
}

on_both_stores!(
    without_a_roster_the_safety_text_promises_no_paging,
    a_transcript_after_press_1_updates_the_emergency_it_does_not_restart_it,
    a_paged_tech_who_texts_something_else_is_told_how_to_take_it,
    replies_during_an_emergency_go_to_the_office_and_paging_goes_on,
    gas_text_pages_the_chain_until_someone_acks,
    pressing_1_on_the_page_call_takes_it,
    a_restart_mid_chain_carries_on_where_it_was,
    an_unanswered_chain_repages_everyone_then_tells_the_caller,
    two_emergencies_for_one_tech_are_taken_one_ack_each,
    a_voicemail_about_flooding_is_an_emergency,
    after_hours_press_1_reaches_the_on_call_tech,
    opting_out_mid_emergency_stops_texts_to_the_caller_not_the_pages,
);
