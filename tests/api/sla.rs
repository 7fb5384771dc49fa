//! SLA and reminders from outside: a late lead's texts to the manager at 5
//! and 15 minutes of open time (and none after a claim or a call, nor
//! twice across a restart), a promised callback as a timed queue item that
//! reminds, the follow-up after a job (offered, or sent by itself), the
//! stale quote's draft that goes only once a person approves it, and the
//! owner managing people's roles. Time moves with the test clock; nothing
//! sleeps waiting for a timer.

use crate::helpers::*;
use crate::office::{signed_in as signed_in_to, Browser, Page};
use chrono::Duration;
use ringback::core::people::{Businesses, Role};

const MANAGER: &str = "+15125550188";

/// The test businesses, Spartan with a manager to remind (and `extra`
/// keys in its `[business.sla]`).
fn businesses(extra: &str) -> String {
    DEFAULT_BUSINESS.replacen(
        "follow_ups = []",
        &format!("follow_ups = []\nsla = {{ manager_phone = \"{MANAGER}\"{extra} }}"),
        1,
    )
}

async fn spawn(b: Backend, extra: &str) -> TestApp {
    TestApp::spawn_with(b, &businesses(extra), "").await
}

fn to(app: &TestApp, number: &str) -> Vec<Sent> {
    app.mock
        .sent()
        .into_iter()
        .filter(|s| s.to == number)
        .collect()
}

async fn lead_id(app: &TestApp, caller: &str) -> i64 {
    app.lead_json(caller).await["lead"]["id"].as_i64().unwrap()
}

async fn patch(app: &TestApp, lead: i64, body: serde_json::Value) {
    let r = app
        .admin_send(
            reqwest::Method::PATCH,
            &format!("/api/v1/leads/{lead}"),
            body,
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn signed_in(app: &TestApp, name: &str, role: Role) -> Browser {
    signed_in_to(app, name, role, Businesses::All).await
}

/// The id of the first timed item on the queue page.
fn task_id(queue: &str) -> String {
    let at = queue.find("data-task=\"").expect("a timed item") + 11;
    queue[at..at + queue[at..].find('"').unwrap()].to_string()
}

/// Unclaimed at 5 minutes and uncalled at 15: the manager is texted once
/// each, a staff text from the tracking number, and never again.
async fn late_leads_text_the_manager_at_5_and_15_minutes(b: Backend) {
    let app = spawn(b, "").await;
    app.missed_call("CAlate", CALLER).await;
    app.settle().await;
    assert_eq!(to(&app, CALLER).len(), 1, "the instant text");
    app.advance(Duration::minutes(4)).await;
    assert!(to(&app, MANAGER).is_empty(), "not before 5 minutes");
    app.advance(Duration::minutes(1)).await;
    let texts = to(&app, MANAGER);
    assert_eq!(texts.len(), 1);
    assert!(texts[0].body.contains("unclaimed") && texts[0].body.contains(CALLER));
    assert_eq!(texts[0].from, TRACKING);
    app.advance(Duration::minutes(9)).await;
    assert_eq!(to(&app, MANAGER).len(), 1);
    app.advance(Duration::minutes(1)).await;
    let texts = to(&app, MANAGER);
    assert_eq!(texts.len(), 2);
    assert!(
        texts[1].body.contains("no call-back in 15 min"),
        "{}",
        texts[1].body
    );
    app.advance(Duration::hours(2)).await;
    assert_eq!(to(&app, MANAGER).len(), 2, "each reminder once");
}

/// A claim before 5 minutes means no "unclaimed" text; a call-back logged
/// before 15 means no second one either: nothing after the fact.
async fn a_claim_and_a_call_back_cancel_the_reminders(b: Backend) {
    let app = spawn(b, "").await;
    app.missed_call("CAclaim", CALLER).await;
    app.settle().await;
    let lead = lead_id(&app, CALLER).await;
    app.advance(Duration::minutes(2)).await;
    patch(
        &app,
        lead,
        serde_json::json!({ "owner": "maria", "owner_was": "" }),
    )
    .await;
    app.advance(Duration::minutes(8)).await;
    assert!(to(&app, MANAGER).is_empty(), "claimed: no unclaimed text");
    let r = app
        .admin_send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{lead}/attempts"),
            serde_json::json!({ "by": "maria", "outcome": "no_answer" }),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    app.advance(Duration::minutes(30)).await;
    assert!(
        to(&app, MANAGER).is_empty(),
        "called back: no reminder at all"
    );
}

/// A call at night is counted from opening: 07:05 and 07:15.
async fn a_night_call_is_reminded_after_opening(b: Backend) {
    let app = spawn(b, "").await;
    // Tuesday 10:00 → 22:00, the office closed since 18:00.
    app.advance(Duration::hours(12)).await;
    app.missed_call("CAnight", CALLER).await;
    app.settle().await;
    app.advance(Duration::hours(9)).await; // 07:00 Wednesday
    assert!(to(&app, MANAGER).is_empty(), "nothing through the night");
    app.advance(Duration::minutes(5)).await;
    assert_eq!(to(&app, MANAGER).len(), 1, "at 07:05");
}

/// Scheduled, then the service dies and comes back: the reminder still
/// fires, once.
async fn a_reminder_survives_a_restart_and_fires_once(b: Backend) {
    let mut app = spawn(b, "").await;
    app.missed_call("CArestart", CALLER).await;
    app.settle().await;
    app.crash_and_restart().await;
    app.advance(Duration::minutes(5)).await;
    assert_eq!(to(&app, MANAGER).len(), 1);
    app.crash_and_restart().await;
    app.advance(Duration::minutes(5)).await;
    assert_eq!(
        to(&app, MANAGER).len(),
        1,
        "not again after a second restart"
    );
    app.advance(Duration::minutes(5)).await;
    assert_eq!(to(&app, MANAGER).len(), 2, "and the 15-minute one");
}

/// "Call back by 3 pm" from the lead page: a timed item in the queue, and
/// at 3 pm the owner of the lead (here the manager: the owner has no
/// phone in the roster) is texted.
async fn a_promised_callback_is_a_timed_queue_item_that_reminds(b: Backend) {
    let app = spawn(b, "").await;
    app.missed_call("CAcb", CALLER).await;
    app.settle().await;
    let lead = lead_id(&app, CALLER).await;
    let mut maria = signed_in(&app, "maria", Role::Dispatcher).await;
    // Claimed and called at once (the SLA reminders stay quiet); they
    // asked to be called back at 3 pm.
    patch(&app, lead, serde_json::json!({ "owner": "maria" })).await;
    let r = app
        .admin_send(
            reqwest::Method::POST,
            &format!("/api/v1/leads/{lead}/attempts"),
            serde_json::json!({ "by": "maria", "outcome": "reached" }),
        )
        .await;
    assert!(r.status().is_success());
    let page = format!("/app/leads/{lead}");
    let csrf = maria.csrf_of(&page).await;
    let Page { status, body, .. } = maria
        .post(
            &format!("{page}/callback"),
            &[("csrf", &csrf), ("by", "3 pm")],
        )
        .await;
    assert_eq!(status, 400, "a time the form cannot read is refused");
    assert!(body.contains("2026-11-24T15:00"), "{body}");
    let Page { status, .. } = maria
        .post(
            &format!("{page}/callback"),
            &[("csrf", &csrf), ("by", "2026-11-24T15:00")],
        )
        .await;
    assert_eq!(status, 303);
    let Page { body: queue, .. } = maria.get("/app").await;
    assert!(
        queue.contains("Call back") && queue.contains("promised by maria"),
        "{queue}"
    );
    app.advance(Duration::minutes(4 * 60 + 59)).await; // 14:59
    assert!(to(&app, MANAGER).is_empty());
    app.advance(Duration::minutes(1)).await;
    let texts = to(&app, MANAGER);
    assert_eq!(texts.len(), 1, "reminded at 15:00");
    assert!(
        texts[0].body.contains("call +15125550147 back now") && texts[0].body.contains("maria")
    );
    let Page { body: queue, .. } = maria.get("/app").await;
    assert!(queue.contains("due since"), "{queue}");
}

/// "Booked job": a day later the follow-up with the review ask waits in
/// the queue; a person sends it (edited), through the door to the caller.
async fn the_post_job_follow_up_is_offered_then_sent_by_a_person(b: Backend) {
    let app = spawn(b, "").await;
    app.missed_call("CAjob", CALLER).await;
    app.settle().await;
    let lead = lead_id(&app, CALLER).await;
    patch(&app, lead, serde_json::json!({ "owner": "maria" })).await;
    patch(
        &app,
        lead,
        serde_json::json!({ "disposition": "booked_job" }),
    )
    .await;
    app.advance(Duration::hours(23)).await;
    // (Signed in now: a session lasts a shift, not a day.)
    let mut maria = signed_in(&app, "maria", Role::Dispatcher).await;
    let Page {
        status,
        body: queue,
        ..
    } = maria.get("/app").await;
    assert_eq!(status, 200);
    assert!(!queue.contains("Follow up after the job"));
    app.advance(Duration::hours(1)).await;
    let Page { body: queue, .. } = maria.get("/app").await;
    assert!(queue.contains("Follow up after the job"), "{queue}");
    assert!(
        queue.contains("a quick review helps"),
        "the owner's template: {queue}"
    );
    assert_eq!(to(&app, CALLER).len(), 1, "nothing sent by itself");
    let task = task_id(&queue);
    let csrf = maria.csrf_of("/app").await;
    let Page { status, .. } = maria
        .post(
            &format!("/app/tasks/{task}/send"),
            &[
                ("csrf", &csrf),
                (
                    "body",
                    "Spartan Plumbing: how did it go? A review would help.",
                ),
            ],
        )
        .await;
    assert_eq!(status, 303);
    app.settle().await;
    let texts = to(&app, CALLER);
    assert_eq!(texts.len(), 2);
    assert_eq!(
        texts[1].body,
        "Spartan Plumbing: how did it go? A review would help."
    );
    // Sent once: a second click is refused.
    let Page { status, .. } = maria
        .post(
            &format!("/app/tasks/{task}/send"),
            &[("csrf", &csrf), ("body", "again")],
        )
        .await;
    assert_eq!(status, 400);
    app.settle().await;
    assert_eq!(to(&app, CALLER).len(), 2);
}

/// With `review_auto_send`, the follow-up goes by itself, through the
/// gate: a caller who opted out in the meantime gets nothing.
async fn the_post_job_follow_up_goes_by_itself_unless_they_opted_out(b: Backend) {
    let app = spawn(b, ", review_auto_send = true").await;
    let other = "+15125550148";
    for (sid, who) in [("CAauto1", CALLER), ("CAauto2", other)] {
        app.missed_call(sid, who).await;
        app.settle().await;
        let lead = lead_id(&app, who).await;
        patch(&app, lead, serde_json::json!({ "owner": "sam" })).await;
        patch(&app, lead, serde_json::json!({ "disposition": "job_done" })).await;
    }
    app.sms("SMstop", other, "STOP").await;
    app.settle().await;
    let before = to(&app, other).len();
    app.advance(Duration::hours(24)).await;
    let texts = to(&app, CALLER);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[1].body.contains("a quick review helps"));
    assert_eq!(
        to(&app, other).len(),
        before,
        "opted out: nothing after STOP"
    );
}

/// "Quoted" and no answer for 3 days: a drafted follow-up waits for a
/// person; nothing goes until they approve it. A customer who answers in
/// the meantime gets no draft at all.
async fn a_stale_quote_draft_goes_only_once_approved(b: Backend) {
    let app = spawn(b, "").await;
    let answers = "+15125550148";
    for (sid, who) in [("CAq1", CALLER), ("CAq2", answers)] {
        app.missed_call(sid, who).await;
        app.settle().await;
        let lead = lead_id(&app, who).await;
        patch(
            &app,
            lead,
            serde_json::json!({ "owner": "sam", "disposition": "quoted" }),
        )
        .await;
    }
    app.advance(Duration::days(1)).await;
    app.sms("SManswer", answers, "Let me think about it").await;
    app.settle().await;
    let answers_before = to(&app, answers).len();
    app.advance(Duration::days(2)).await;
    let mut sam = signed_in(&app, "sam", Role::Manager).await;
    let Page { body: queue, .. } = sam.get("/app").await;
    assert_eq!(
        queue.matches("Follow up on the quote").count(),
        1,
        "{queue}"
    );
    assert!(queue.contains("Just checking in on the quote"), "{queue}");
    app.advance(Duration::hours(6)).await;
    assert_eq!(to(&app, CALLER).len(), 1, "not sent without approval");
    assert_eq!(to(&app, answers).len(), answers_before);
    let task = task_id(&queue);
    let csrf = sam.csrf_of("/app").await;
    let Page { status, .. } = sam
        .post(
            &format!("/app/tasks/{task}/send"),
            &[("csrf", "forged"), ("body", "x")],
        )
        .await;
    assert_eq!(status, 403, "a forged form token: refused");
    let Page { status, .. } = sam
        .post(
            &format!("/app/tasks/{task}/send"),
            &[
                ("csrf", &csrf),
                ("body", "Spartan Plumbing: any questions on the quote?"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    app.settle().await;
    let texts = to(&app, CALLER);
    assert_eq!(texts.len(), 2);
    assert_eq!(
        texts[1].body,
        "Spartan Plumbing: any questions on the quote?"
    );
}

/// The owner changes a dispatcher into a manager and disables them (their
/// sessions end); a dispatcher cannot, and no form goes without its token.
async fn the_owner_changes_roles_and_disables_people(b: Backend) {
    let app = spawn(b, "").await;
    let mut dana = signed_in(&app, "dana", Role::Owner).await;
    let mut maria = signed_in(&app, "maria", Role::Dispatcher).await;
    let maria_id = app
        .store()
        .user_by_name("maria")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let dana_id = app
        .store()
        .user_by_name("dana")
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let Page { body: people, .. } = dana.get("/app/people").await;
    assert!(
        people.contains("maria") && people.contains("dana"),
        "{people}"
    );
    let theirs = maria.csrf_of("/app").await;
    let Page { status, .. } = maria
        .post(
            &format!("/app/people/{dana_id}/role"),
            &[("csrf", &theirs), ("role", "dispatcher")],
        )
        .await;
    assert_eq!(status, 403, "only the owner manages people");
    let csrf = dana.csrf_of("/app/people").await;
    let role = format!("/app/people/{maria_id}/role");
    let Page { status, .. } = dana
        .post(&role, &[("csrf", "forged"), ("role", "manager")])
        .await;
    assert_eq!(status, 403, "a form without its token changes nothing");
    let Page { status, .. } = dana
        .post(&role, &[("csrf", &csrf), ("role", "admin")])
        .await;
    assert_eq!(status, 400);
    let Page { body: page, .. } = maria.get("/app").await;
    assert!(page.contains("maria (dispatcher)"));
    let Page { status, .. } = dana
        .post(&role, &[("csrf", &csrf), ("role", "manager")])
        .await;
    assert_eq!(status, 303);
    let Page { body: page, .. } = maria.get("/app").await;
    assert!(
        page.contains("maria (manager)"),
        "the new role at once: {page}"
    );
    let Page { status, .. } = dana
        .post(
            &format!("/app/people/{dana_id}/role"),
            &[("csrf", &csrf), ("role", "manager")],
        )
        .await;
    assert_eq!(status, 400, "not one's own role");
    let Page { status, .. } = dana
        .post(
            &format!("/app/people/{maria_id}/disable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, 303);
    let Page { status, .. } = maria.get("/app").await;
    assert_eq!(status, 303, "disabled: signed out");
    let Page { body: people, .. } = dana.get("/app/people").await;
    assert!(people.contains("disabled"), "{people}");
}

on_both_stores!(
    late_leads_text_the_manager_at_5_and_15_minutes,
    a_claim_and_a_call_back_cancel_the_reminders,
    a_night_call_is_reminded_after_opening,
    a_reminder_survives_a_restart_and_fires_once,
    a_promised_callback_is_a_timed_queue_item_that_reminds,
    the_post_job_follow_up_is_offered_then_sent_by_a_person,
    the_post_job_follow_up_goes_by_itself_unless_they_opted_out,
    a_stale_quote_draft_goes_only_once_approved,
    the_owner_changes_roles_and_disables_people,
);
