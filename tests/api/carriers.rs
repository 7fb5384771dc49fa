//! The end-to-end scenarios, carrier-neutral: each runs through Twilio and
//! through Telnyx on one app where both carriers' businesses run side by
//! side (`via.rs`), on both stores. What a customer, a tech or the owner
//! notices must not depend on the carrier: texts the carrier took, pages
//! and page calls, and never a duplicate.

use crate::helpers::*;
use crate::via::*;
use chrono::Duration;
use mock_carrier::{Refusal, Script};

async fn spawn(b: Backend) -> TestApp {
    TestApp::spawn_with(b, &both_businesses(), "").await
}

async fn a_missed_call_texts_the_caller_exactly_once(b: Backend) {
    let app = spawn(b).await;
    for via in BOTH {
        let caller = via.caller(1);
        let r = app.missed_via(via, "c1", &caller).await;
        assert_eq!(r.status(), 200, "{via:?}");
        let flow = r.text().await.unwrap();
        assert!(flow.contains("<Record"), "{via:?}: voicemail next: {flow}");
        assert!(
            flow.contains(&format!("{}/recording", via.voice_path())),
            "{via:?}: the voicemail reports back to its own carrier: {flow}"
        );
        // The carrier retries the same callback: still one text.
        app.missed_via(via, "c1", &caller).await;
        app.wait_via(via, 1).await;
        app.settle().await;
        let sent = app.carrier(via).sent_to(&caller);
        assert_eq!(sent.len(), 1, "{via:?}: {sent:?}");
        assert_eq!(sent[0].from, via.tracking());
        assert!(
            sent[0]
                .body
                .starts_with(&format!("Hi, this is {}.", via.business_name())),
            "{}",
            sent[0].body
        );
        let lead = app.lead_json(&caller).await;
        assert_eq!(lead["lead"]["status"], "texted", "{via:?}");
        assert_eq!(lead["messages"][0]["provider_sid"], sent[0].sid.as_str());
    }
    // Each business's texts left through its own carrier only.
    assert!(app.mock.sent().iter().all(|s| s.from == TRACKING));
    assert!(app.telnyx.sent().iter().all(|s| s.from == VOLT));
}

async fn replies_help_stop_and_start(b: Backend) {
    let app = spawn(b).await;
    for via in BOTH {
        let caller = via.caller(2);
        let name = via.business_name();
        app.missed_via(via, "c2", &caller).await;
        app.settle().await;
        let said = |n: usize| {
            let got = app.carrier(via).bodies_to(&caller);
            assert_eq!(got.len(), n, "{via:?}: {got:?}");
            got[n - 1].clone()
        };
        said(1);
        app.text_via(
            via,
            "M1",
            &caller,
            "Can someone come out tomorrow? The sink is clogged",
        )
        .await;
        app.settle().await;
        assert!(
            said(2).starts_with(&format!("{name}: Glad to help.")),
            "{via:?}"
        );
        app.text_via(via, "M2", &caller, "HELP").await;
        app.settle().await;
        assert!(said(3).contains("To reach a person, call"), "{via:?}");
        let r = app.text_via(via, "M3", &caller, "STOP").await;
        assert_eq!(r.status(), 200);
        // The carrier retries the STOP: one confirmation.
        app.text_via(via, "M3", &caller, "STOP").await;
        app.settle().await;
        assert!(said(4).contains("You're unsubscribed"), "{via:?}");
        // A new call after STOP: nothing is sent.
        app.advance(Duration::hours(25)).await;
        app.missed_via(via, "c3", &caller).await;
        app.settle().await;
        said(4);
        app.text_via(via, "M4", &caller, "START").await;
        app.settle().await;
        assert!(said(5).contains("You're subscribed again"), "{via:?}");
    }
}

async fn delivery_receipts_move_forward_only(b: Backend) {
    let app = spawn(b).await;
    for via in BOTH {
        let caller = via.caller(3);
        app.missed_via(via, "c3", &caller).await;
        app.settle().await;
        let sent = app.carrier(via).sent_to(&caller).remove(0);
        let r = app.receipt_via(via, &sent, Receipt::Delivered, None).await;
        assert_eq!(r.status(), 200, "{via:?}");
        // A late "sent" arrives after "delivered": the status stays.
        app.receipt_via(via, &sent, Receipt::Sent, None).await;
        let lead = app.lead_json(&caller).await;
        assert_eq!(lead["messages"][0]["status"], "delivered", "{via:?}");
    }
}

/// The carrier's own error codes, given late in a receipt, mean the same
/// from either: a landline is never texted again.
async fn an_undeliverable_number_is_not_texted_again(b: Backend) {
    let app = spawn(b).await;
    for (via, code) in [(Via::Twilio, "30006"), (Via::Telnyx, "40001")] {
        let caller = via.caller(4);
        app.missed_via(via, "c4", &caller).await;
        app.settle().await;
        let sent = app.carrier(via).sent_to(&caller).remove(0);
        app.receipt_via(via, &sent, Receipt::Undelivered, Some(code))
            .await;
        let lead = app.lead_json(&caller).await;
        assert_eq!(lead["messages"][0]["status"], "undelivered", "{via:?}");
        app.advance(Duration::hours(25)).await;
        app.missed_via(via, "c5", &caller).await;
        app.settle().await;
        assert_eq!(app.carrier(via).sent_to(&caller).len(), 1, "{via:?}");
    }
}

/// Refusals at send time: an opted-out recipient (21610 / 40300) is
/// recorded as opted out; a landline (21614 / 40001) as unreachable; an
/// unregistered sender (30034 / 40010) puts the number at risk.
async fn carrier_refusals_mean_the_same(b: Backend) {
    let app = spawn(b).await;
    for via in BOTH {
        let (stopped, landline) = (via.caller(5), via.caller(6));
        app.carrier(via).refuse(&stopped, Refusal::Unsubscribed);
        app.carrier(via).refuse(&landline, Refusal::NotMobile);
        app.missed_via(via, "c6", &stopped).await;
        app.missed_via(via, "c7", &landline).await;
        app.settle().await;
        let before = app.carrier(via).requests();
        app.advance(Duration::hours(25)).await;
        app.missed_via(via, "c8", &stopped).await;
        app.missed_via(via, "c9", &landline).await;
        app.settle().await;
        assert_eq!(
            app.carrier(via).requests(),
            before,
            "{via:?}: neither is tried again"
        );
        for (who, why) in [(&stopped, "opted_out"), (&landline, "unreachable")] {
            let lead = app.lead_json(who).await;
            assert_eq!(lead["lead"]["suppressed_reason"], why, "{via:?}: {lead}");
        }
    }
    for (via, code) in [(Via::Twilio, 30034), (Via::Telnyx, 40010)] {
        app.carrier(via).push(Script::Fail {
            status: 400,
            code,
            retry_after: None,
        });
        app.missed_via(via, "c10", &via.caller(7)).await;
        app.settle().await;
        let v: serde_json::Value = app.admin_get("/api/v1/senders").await.json().await.unwrap();
        let s = v["senders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["number"] == via.tracking())
            .cloned()
            .unwrap();
        assert_eq!(s["at_risk"], true, "{via:?}: {s}");
    }
}

/// A registration error from either carrier (Twilio 30034, Telnyx 40010)
/// texts the owner: once a day per number, from the shop's one number
/// when it has no other, whether the error came from the send API or a
/// later delivery receipt; the alert never alerts about itself.
async fn a_registration_error_texts_the_owner_once_a_day(b: Backend) {
    let owner = |via: Via| match via {
        Via::Twilio => "+15125550177",
        Via::Telnyx => "+13125550177",
    };
    let businesses = format!(
        "{}{}",
        DEFAULT_BUSINESS.replace(
            "ring_seconds = 20\n",
            &format!(
                "ring_seconds = 20\nowner_phone = \"{}\"\n",
                owner(Via::Twilio)
            )
        ),
        TELNYX_BUSINESS.replace(
            "ring_seconds = 20\n",
            &format!(
                "ring_seconds = 20\nowner_phone = \"{}\"\n",
                owner(Via::Telnyx)
            )
        ),
    );
    let app = TestApp::spawn_with(b, &businesses, "").await;
    for (via, code, code_text) in [(Via::Twilio, 30034, "30034"), (Via::Telnyx, 40010, "40010")] {
        // The send API refuses the caller's text: the owner hears of it.
        app.carrier(via).push(Script::Fail {
            status: 400,
            code,
            retry_after: None,
        });
        app.missed_via(via, "r1", &via.caller(20)).await;
        app.settle().await;
        let alerts = app.carrier(via).sent_to(owner(via));
        assert_eq!(alerts.len(), 1, "{via:?}: {alerts:?}");
        assert_eq!(alerts[0].from, via.tracking(), "{via:?}: its one number");
        for part in [via.tracking(), code_text, via.business_name()] {
            assert!(alerts[0].body.contains(part), "{via:?}: {}", alerts[0].body);
        }
        // The same day, a receipt with the same error: no second alert.
        app.missed_via(via, "r2", &via.caller(21)).await;
        app.settle().await;
        let sent = app.carrier(via).sent_to(&via.caller(21)).remove(0);
        app.receipt_via(via, &sent, Receipt::Undelivered, Some(code_text))
            .await;
        app.settle().await;
        assert_eq!(app.carrier(via).sent_to(owner(via)).len(), 1, "{via:?}");
        // A day later the receipt alone alerts again.
        app.advance(Duration::hours(25)).await;
        app.missed_via(via, "r3", &via.caller(22)).await;
        app.settle().await;
        let sent = app.carrier(via).sent_to(&via.caller(22)).remove(0);
        app.receipt_via(via, &sent, Receipt::Undelivered, Some(code_text))
            .await;
        app.settle().await;
        assert_eq!(app.carrier(via).sent_to(owner(via)).len(), 2, "{via:?}");
    }
    assert_eq!(
        app.metrics().get(
            "ringback_owner_alerts_total",
            "reason=\"carrier_error\",outcome=\"queued\""
        ),
        4
    );
}

/// The carrier took the text but its answer was lost: the retry finds it
/// at the carrier (Twilio's message list, Telnyx's detail records) and
/// does not send it again.
async fn an_in_doubt_send_is_never_repeated(b: Backend) {
    let app = spawn(b).await;
    for via in BOTH {
        let caller = via.caller(8);
        app.carrier(via).push(Script::AcceptButLoseReply);
        app.missed_via(via, "c11", &caller).await;
        app.settle().await;
        app.advance(Duration::minutes(5)).await;
        let sent = app.carrier(via).sent_to(&caller);
        assert_eq!(sent.len(), 1, "{via:?}: one text, never two: {sent:?}");
        assert!(app.carrier(via).list_requests() >= 1, "{via:?}: looked up");
        let lead = app.lead_json(&caller).await;
        assert_eq!(lead["messages"][0]["status"], "sent", "{via:?}");
        assert_eq!(lead["messages"][0]["provider_sid"], sent[0].sid.as_str());
    }
}

/// Telnyx's detail records may lag behind its sends (how long is not
/// documented): an in-doubt text not found yet is looked for again once
/// its record would be searchable, never sent a second time meanwhile;
/// one truly lost is sent once that wait is over.
async fn a_late_telnyx_record_is_waited_for(b: Backend) {
    let app = spawn(b).await;
    let via = Via::Telnyx;
    let carrier = app.carrier(via);
    // Taken by Telnyx, the answer lost, and its record not searchable yet.
    let (taken, lost) = (via.caller(30), via.caller(31));
    carrier.hide_records(true);
    carrier.push(Script::AcceptButLoseReply);
    app.missed_via(via, "l1", &taken).await;
    app.settle().await;
    app.advance(Duration::minutes(1)).await;
    assert!(carrier.list_requests() >= 1, "looked up");
    assert_eq!(
        carrier.sent_to(&taken).len(),
        1,
        "not sent again while the record may lag"
    );
    carrier.hide_records(false);
    app.advance(Duration::minutes(2)).await;
    let sent = carrier.sent_to(&taken);
    assert_eq!(sent.len(), 1, "found, not sent again: {sent:?}");
    let lead = app.lead_json(&taken).await;
    assert_eq!(lead["messages"][0]["status"], "sent", "{lead}");
    assert_eq!(lead["messages"][0]["provider_sid"], sent[0].sid.as_str());
    // A server error before Telnyx took it: in doubt, never found.
    carrier.push(Script::Fail {
        status: 500,
        code: 10007,
        retry_after: None,
    });
    app.missed_via(via, "l2", &lost).await;
    app.settle().await;
    app.advance(Duration::minutes(1)).await;
    assert!(
        carrier.sent_to(&lost).is_empty(),
        "still waiting for a record"
    );
    app.advance(Duration::minutes(2)).await;
    assert_eq!(
        carrier.sent_to(&lost).len(),
        1,
        "sent once the wait is over"
    );
    let lead = app.lead_json(&lost).await;
    assert_eq!(lead["messages"][0]["status"], "sent", "{lead}");
    // Lost once, then taken with its answer lost too: the wait starts
    // again from the second attempt, and looking is not trying.
    let twice = via.caller(32);
    carrier.hide_records(true);
    carrier.push(Script::Fail {
        status: 500,
        code: 10007,
        retry_after: None,
    });
    carrier.push(Script::AcceptButLoseReply);
    app.missed_via(via, "l3", &twice).await;
    app.settle().await;
    app.advance(Duration::minutes(1)).await;
    app.advance(Duration::minutes(2)).await;
    assert_eq!(
        carrier.sent_to(&twice).len(),
        1,
        "the second attempt reached Telnyx"
    );
    app.advance(Duration::seconds(30)).await;
    app.advance(Duration::seconds(30)).await;
    assert_eq!(
        carrier.sent_to(&twice).len(),
        1,
        "its record may still lag: not sent again"
    );
    carrier.hide_records(false);
    app.advance(Duration::minutes(2)).await;
    let sent = carrier.sent_to(&twice);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let lead = app.lead_json(&twice).await;
    assert_eq!(lead["messages"][0]["status"], "sent", "{lead}");
    assert_eq!(lead["messages"][0]["provider_sid"], sent[0].sid.as_str());
    // Two tries at the carrier and the look-up that found the second;
    // the look-ups that found nothing yet are not counted.
    assert_eq!(lead["messages"][0]["attempts"], 3, "{lead}");
}

/// The default follow-up sequence runs on the test clock for both, and a
/// reply stops it.
async fn follow_ups_fire_and_stop_on_a_reply(b: Backend) {
    let businesses = both_businesses().replace("follow_ups = []\n", "");
    let app = TestApp::spawn_with(b, &businesses, "").await;
    for via in BOTH {
        app.missed_via(via, "c12", &via.caller(9)).await;
    }
    app.settle().await;
    app.advance(Duration::minutes(29)).await;
    for via in BOTH {
        assert_eq!(
            app.carrier(via).sent_to(&via.caller(9)).len(),
            1,
            "{via:?}: not before +30 min"
        );
    }
    app.advance(Duration::minutes(1)).await;
    for via in BOTH {
        let texts = app.carrier(via).bodies_to(&via.caller(9));
        assert_eq!(texts.len(), 2, "{via:?}: +30 min");
        assert!(
            texts[1].contains("Still need a hand"),
            "{via:?}: {}",
            texts[1]
        );
        app.text_via(via, "f1", &via.caller(9), "I'll think about it")
            .await;
    }
    app.advance(Duration::hours(24)).await;
    for via in BOTH {
        let lead = app.lead_json(&via.caller(9)).await;
        let follow_ups = lead["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "follow_up")
            .count();
        assert_eq!(follow_ups, 1, "{via:?}: the reply stopped the rest: {lead}");
    }
}

/// A carrier that says "too many requests" (429: Twilio 20429, Telnyx
/// 10011) did not take the text: it goes out once, after the wait.
async fn a_throttled_text_is_sent_once_after_the_wait(b: Backend) {
    let app = spawn(b).await;
    for (via, code) in [(Via::Twilio, 20429), (Via::Telnyx, 10011)] {
        let caller = via.caller(12);
        app.carrier(via).push(Script::Fail {
            status: 429,
            code,
            retry_after: Some(3),
        });
        app.missed_via(via, "c13", &caller).await;
        app.settle().await;
        assert!(app.carrier(via).sent_to(&caller).is_empty(), "{via:?}");
        app.advance(Duration::seconds(2)).await;
        assert!(
            app.carrier(via).sent_to(&caller).is_empty(),
            "{via:?}: not before the carrier's Retry-After"
        );
        app.advance(Duration::seconds(30)).await;
        let sent = app.carrier(via).sent_to(&caller);
        assert_eq!(sent.len(), 1, "{via:?}: {sent:?}");
        let lead = app.lead_json(&caller).await;
        assert_eq!(lead["messages"][0]["status"], "sent", "{via:?}");
        assert_eq!(lead["lead"]["status"], "texted", "{via:?}");
    }
}

/// The caller's number as a page call reads it out: its last four digits,
/// one by one ("0 1 4 7").
fn read_out_last_four(number: &str) -> String {
    let digits: Vec<String> = number[number.len() - 4..]
        .chars()
        .map(|c| c.to_string())
        .collect();
    digits.join(" ")
}

/// An emergency text pages the on-call tech by text and by a call, and
/// tells the office; pressing 1 on the page call takes it: the call reads
/// out the caller's number, the caller is told who is coming, and nobody
/// is paged again. Telnyx fetches the call's flow from us; Twilio gets it
/// with the call.
async fn an_emergency_is_taken_by_keypress_on_the_page_call(b: Backend) {
    let mut app = TestApp::spawn_with(b, &on_call_businesses(), "").await;
    app.behind_public_url().await;
    for via in BOTH {
        let (caller, staff, name) = (via.caller(10), via.staff(), via.business_name());
        app.missed_via(via, "e1", &caller).await;
        app.settle().await;
        app.text_via(via, "E1", &caller, "I smell gas in the kitchen, 12 Elm St")
            .await;
        app.settle().await;
        let to_caller = app.carrier(via).bodies_to(&caller);
        assert_eq!(to_caller.len(), 2, "{via:?}: {to_caller:#?}");
        assert!(to_caller[1].contains("leave the building"), "{via:?}");
        assert!(
            app.carrier(via).bodies_to(staff.office)[0].contains("EMERGENCY"),
            "{via:?}: the office knows"
        );
        let page = app.carrier(via).bodies_to(staff.mike);
        assert_eq!(page.len(), 1, "{via:?}: {page:?}");
        for want in [caller.as_str(), "gas smell", "12 Elm St", "Reply ACK"] {
            assert!(page[0].contains(want), "{via:?}: {want:?} in {}", page[0]);
        }
        let calls = app.page_calls_via(via, staff.mike);
        assert_eq!(calls.len(), 1, "{via:?}: {calls:?}");
        assert_eq!(calls[0].from, via.tracking(), "{via:?}");
        let said = app.press_on_page_call(via, &calls[0], "1").await;
        assert!(
            said.contains(&read_out_last_four(&caller)),
            "{via:?}: the caller's number, read out: {said}"
        );
        app.settle().await;
        let taken = format!("Mike from {name}");
        let last = app.carrier(via).bodies_to(&caller).pop().unwrap();
        assert!(last.starts_with(&taken), "{via:?}: {last}");
        // The carrier posts the keypress again: the caller is told once.
        app.press_on_page_call(via, &calls[0], "1").await;
        app.advance(Duration::minutes(30)).await;
        let told = app.carrier(via).bodies_to(&caller);
        assert_eq!(
            told.iter().filter(|b| b.starts_with(&taken)).count(),
            1,
            "{via:?}: {told:#?}"
        );
        assert_eq!(app.pages_via(via, staff.mike), 1, "{via:?}");
        assert_eq!(app.page_calls_via(via, staff.mike).len(), 1, "{via:?}");
        assert_eq!(app.pages_via(via, staff.luis), 0, "{via:?}: taken");
        assert!(app.page_calls_via(via, staff.luis).is_empty(), "{via:?}");
        let lead = app.lead_json(&caller).await;
        assert_eq!(lead["escalation"]["status"], "acked", "{via:?}");
        assert_eq!(lead["escalation"]["acked_by"]["name"], "Mike", "{via:?}");
    }
}

/// A voicemail about flooding pages Mike; nobody takes it in 5 minutes, so
/// Luis is paged by text and call; his "ACK" text takes it: the caller
/// hears Luis is coming, Mike that Luis has it, and paging stops. The
/// carrier delivering the ACK twice changes nothing.
async fn an_emergency_is_taken_by_an_ack_text(b: Backend) {
    let mut app = TestApp::spawn_with(b, &on_call_businesses(), "").await;
    app.behind_public_url().await;
    for via in BOTH {
        let (caller, staff, name) = (via.caller(11), via.staff(), via.business_name());
        let r = app
            .voicemail_via(
                via,
                "vm1",
                &caller,
                "hi yeah we got water coming through the ceiling can someone call me back",
            )
            .await;
        assert_eq!(r.status(), 200, "{via:?}");
        app.settle().await;
        assert_eq!(app.pages_via(via, staff.mike), 1, "{via:?}");
        assert_eq!(app.page_calls_via(via, staff.mike).len(), 1, "{via:?}");
        let page = app.carrier(via).bodies_to(staff.mike).remove(0);
        assert!(
            page.contains("water coming through the ceiling"),
            "{via:?}: {page}"
        );
        app.advance(Duration::minutes(4)).await;
        assert_eq!(app.pages_via(via, staff.luis), 0, "{via:?}: not yet");
        app.advance(Duration::minutes(1)).await;
        assert_eq!(app.pages_via(via, staff.luis), 1, "{via:?}");
        assert_eq!(app.page_calls_via(via, staff.luis).len(), 1, "{via:?}");
        app.text_via(via, "A1", staff.luis, "ACK").await;
        app.text_via(via, "A1", staff.luis, "ACK").await;
        app.settle().await;
        let taken = format!("Luis from {name}");
        let told = app.carrier(via).bodies_to(&caller);
        assert_eq!(
            told.iter().filter(|b| b.starts_with(&taken)).count(),
            1,
            "{via:?}: {told:#?}"
        );
        let to_mike = app.carrier(via).bodies_to(staff.mike);
        assert!(
            to_mike.last().unwrap().contains("Luis has taken"),
            "{via:?}: {to_mike:#?}"
        );
        app.advance(Duration::minutes(30)).await;
        assert_eq!(
            (
                app.pages_via(via, staff.mike),
                app.pages_via(via, staff.luis)
            ),
            (1, 1),
            "{via:?}: paging stopped"
        );
        let lead = app.lead_json(&caller).await;
        assert_eq!(lead["escalation"]["acked_by"]["name"], "Luis", "{via:?}");
    }
}

/// Forged, replayed or tampered webhooks are refused and change nothing.
async fn forged_webhooks_are_refused(b: Backend) {
    let app = spawn(b).await;
    let caller = "+15125559999";
    // Twilio: a wrong signature.
    let r = app
        .http
        .post(format!("{}/webhooks/twilio/voice/dial", app.url))
        .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
        .form(&[
            ("CallSid", "CAforged"),
            ("From", caller),
            ("To", TRACKING),
            ("DialCallStatus", "no-answer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Telnyx: the JSON events.
    let event = MockTelnyx::event(
        "ev-forged",
        "message.received",
        MockTelnyx::inbound_text("m-forged", caller, VOLT, "STOP"),
    );
    let now = app.clock.now_utc().timestamp();
    let good = mock_carrier::telnyx::sign(now, event.as_bytes()).1;
    let stale = mock_carrier::telnyx::sign(now - 301, event.as_bytes()).1;
    let future = mock_carrier::telnyx::sign(now + 301, event.as_bytes()).1;
    let tampered = event.replace("STOP", "STAR");
    for (body, ts, sig, want) in [
        (&event, now - 301, stale.as_str(), 403),
        (&event, now + 301, future.as_str(), 403),
        (&tampered, now, good.as_str(), 403),
        (&event, now, "", 400),
        (&event, now, "bm90IGEgc2lnbmF0dXJl", 400),
    ] {
        let r = app.post_telnyx_signed(body, ts, sig).await;
        assert_eq!(r.status(), want, "{ts} {sig:?}");
    }
    // TeXML: a Twilio signature is not a Telnyx one.
    let r = app
        .http
        .post(format!("{}/webhooks/telnyx/texml/dial", app.url))
        .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
        .form(&[
            ("CallSid", "v3:forged"),
            ("From", caller),
            ("To", VOLT),
            ("DialCallStatus", "no-answer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.settle().await;
    assert!(app.leads_of(caller).await.is_empty(), "nothing recorded");
    assert!(app.mock.sent().is_empty() && app.telnyx.sent().is_empty());
    // The genuine event still goes through afterwards.
    assert_eq!(app.post_telnyx(&event).await.status(), 200);
}

/// Telnyx reports "this number replied STOP" (40300) for a text whose
/// answer was lost and whose record lags: the receipt beats the send's
/// record by minutes. It is kept until the send is reconciled, and the
/// caller is then never texted again.
async fn a_carrier_stop_that_beats_its_send_is_kept(b: Backend) {
    let app = spawn(b).await;
    let via = Via::Telnyx;
    let carrier = app.carrier(via);
    let caller = via.caller(33);
    carrier.hide_records(true);
    carrier.push(Script::AcceptButLoseReply);
    app.missed_via(via, "s1", &caller).await;
    app.settle().await;
    let sent = carrier.sent_to(&caller).remove(0);
    let r = app
        .receipt_via(via, &sent, Receipt::Undelivered, Some("40300"))
        .await;
    assert_eq!(r.status(), 200);
    // A minute and more of second looks while the record is not found.
    for _ in 0..5 {
        app.advance(Duration::seconds(20)).await;
    }
    carrier.hide_records(false);
    app.advance(Duration::minutes(2)).await;
    app.advance(Duration::minutes(5)).await;
    let lead = app.lead_json(&caller).await;
    let m = &lead["messages"][0];
    assert_eq!(m["provider_sid"], sent.sid.as_str(), "reconciled: {lead}");
    assert_eq!(m["error_code"], "40300", "the receipt was applied: {lead}");
    app.advance(Duration::hours(25)).await;
    app.missed_via(via, "s2", &caller).await;
    app.settle().await;
    assert_eq!(carrier.sent_to(&caller).len(), 1, "never texted again");
    let lead = app.lead_json(&caller).await;
    assert_eq!(lead["lead"]["suppressed_reason"], "opted_out", "{lead}");
}

on_both_stores!(
    a_missed_call_texts_the_caller_exactly_once,
    replies_help_stop_and_start,
    delivery_receipts_move_forward_only,
    an_undeliverable_number_is_not_texted_again,
    carrier_refusals_mean_the_same,
    a_registration_error_texts_the_owner_once_a_day,
    an_in_doubt_send_is_never_repeated,
    a_late_telnyx_record_is_waited_for,
    a_carrier_stop_that_beats_its_send_is_kept,
    follow_ups_fire_and_stop_on_a_reply,
    forged_webhooks_are_refused,
    a_throttled_text_is_sent_once_after_the_wait,
    an_emergency_is_taken_by_keypress_on_the_page_call,
    an_emergency_is_taken_by_an_ack_text,
);
