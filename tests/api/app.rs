//! The office's web app (`/app`) from outside, as a browser uses it: plain
//! HTTP with cookies and forms, no redirects followed. Signing in with a
//! one-time link, the form token on every form, the sign-in limit, the
//! queue with its SLA clock (moved with the test clock), a lead's page:
//! claim, reply by text (through the gate), attempt, disposition; each
//! person seeing only their businesses; live updates when a call comes in.

use crate::helpers::*;
use crate::office::*;
use chrono::Duration;
use ringback::core::people::{Businesses, Role};

fn lead_id(app_page: &str) -> i64 {
    let at = app_page
        .find("href=\"/app/leads/")
        .expect("a lead in the queue")
        + 17;
    app_page[at..at + app_page[at..].find('"').unwrap()]
        .parse()
        .unwrap()
}

/// A person is added with a one-time link, chooses a password, and is
/// signed in with a cookie the page's script cannot read; the link works
/// once; signing out ends the session; signing in again works.
async fn a_person_signs_in_with_a_one_time_link(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut anon = Browser::new(&app);
    let r = anon.get("/app").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some("/app/signin?next=%2Fapp"));

    let shell = &app.running.as_ref().unwrap().shell;
    let (_, token) = shell
        .add_person("maria", Role::Dispatcher, &Businesses::All)
        .await
        .unwrap();
    let mut maria = Browser::new(&app);
    let welcome = maria.get(&format!("/app/welcome/{token}")).await;
    // Two different passwords: asked again.
    let r = maria
        .post(
            &format!("/app/welcome/{token}"),
            &[
                ("csrf", &csrf(&welcome.body)),
                ("password", "a long enough secret"),
                ("confirm", "another secret"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("not the same"), "{}", r.body);
    let r = maria
        .post(
            &format!("/app/welcome/{token}"),
            &[
                ("csrf", &csrf(&r.body)),
                ("password", "a long enough secret"),
                ("confirm", "a long enough secret"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let session = r
        .set_cookies
        .iter()
        .find(|c| c.starts_with("rb_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    let queue = maria.get("/app").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains("maria (dispatcher)"), "{}", queue.body);
    // Pages are not framed, run no inline script, leak no referrer.
    let resp = reqwest::get(format!("{}/app/signin", app.url))
        .await
        .unwrap();
    let csp = resp.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));

    // The link is spent.
    assert_eq!(anon.get(&format!("/app/welcome/{token}")).await.status, 410);

    // Signing out ends the session (the old cookie no longer works).
    let old = maria.cookies.clone();
    let r = maria
        .post("/app/signout", &[("csrf", &csrf(&queue.body))])
        .await;
    assert_eq!(r.status, 303);
    let mut replay = Browser::new(&app);
    replay.cookies = old;
    assert_eq!(replay.get("/app").await.status, 303);

    // And the password signs in.
    let form = maria.get("/app/signin?next=/app/people").await;
    let r = maria
        .post(
            "/app/signin",
            &[
                ("csrf", &csrf(&form.body)),
                ("name", "maria"),
                ("password", "a long enough secret"),
                ("next", "/app?tab=done"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/app?tab=done"));
    assert_eq!(maria.get("/app").await.status, 200);
}

async fn attempt(b: &mut Browser, name: &str, password: &str) -> Page {
    let form = b.get("/app/signin").await;
    b.post(
        "/app/signin",
        &[
            ("csrf", &csrf(&form.body)),
            ("name", name),
            ("password", password),
        ],
    )
    .await
}

/// Wrong passwords are refused without saying which part was wrong; after
/// five for one name, even the right one waits out the window. The log
/// line for a failure has the name escaped.
async fn failed_sign_ins_are_limited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let _maria = signed_in(&app, "maria", Role::Dispatcher, Businesses::All).await;
    let mut b = Browser::new(&app);
    for _ in 0..5 {
        let r = attempt(&mut b, "maria", "wrong password!").await;
        assert_eq!(r.status, 401);
        assert!(r.body.contains("wrong name or password"));
    }
    let r = attempt(&mut b, "maria", "a long enough secret").await;
    assert_eq!(r.status, 429, "{}", r.body);
    // The window passes.
    app.clock.advance(Duration::minutes(16));
    let r = attempt(&mut b, "maria", "a long enough secret").await;
    assert_eq!(r.status, 303, "{}", r.body);
    // A form without its token is refused.
    let mut fresh = Browser::new(&app);
    let r = fresh
        .post(
            "/app/signin",
            &[
                ("csrf", "x"),
                ("name", "maria"),
                ("password", "a long enough secret"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
}

/// A missed call is in the queue with its clock; 16 minutes later it is
/// overdue. Maria claims it, texts the caller (through the gate: the
/// carrier gets it), logs her call, and books the job: it leaves the Open
/// tab for Done. A form without the session's token changes nothing.
async fn the_office_works_a_lead_from_the_queue(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut maria = signed_in(&app, "maria", Role::Dispatcher, Businesses::All).await;
    app.missed_call("CAapp1", CALLER).await;
    app.settle().await;
    assert_eq!(app.mock.sent().len(), 1, "the instant text");
    let queue = maria.get("/app").await;
    assert!(queue.body.contains(CALLER), "{}", queue.body);
    assert!(queue.body.contains("Call back in 15 min"), "{}", queue.body);
    assert!(queue.body.contains("Unclaimed"));
    app.clock.advance(Duration::minutes(16));
    let queue = maria.get("/app").await;
    assert!(queue.body.contains("Overdue 1 min"), "{}", queue.body);
    let id = lead_id(&queue.body);

    let lead = maria.get(&format!("/app/leads/{id}")).await;
    assert_eq!(lead.status, 200);
    assert!(lead.body.contains(&format!("href=\"tel:{CALLER}\"")));
    let token = csrf(&lead.body);
    // Without the token: refused, nothing changes.
    let r = maria
        .post(
            &format!("/app/leads/{id}/claim"),
            &[("csrf", "forged"), ("owner_was", "")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = maria
        .post(
            &format!("/app/leads/{id}/claim"),
            &[("csrf", &token), ("owner_was", "")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(maria
        .get(&format!("/app/leads/{id}"))
        .await
        .body
        .contains("You own this lead"));

    let r = maria
        .post(
            &format!("/app/leads/{id}/text"),
            &[("csrf", &token), ("body", "Hi, this is Maria. Free at 3?")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let sent = app.wait_for_texts(2).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].body, "Hi, this is Maria. Free at 3?");
    assert_eq!(sent[1].to, CALLER);

    let r = maria
        .post(
            &format!("/app/leads/{id}/attempt"),
            &[
                ("csrf", &token),
                ("outcome", "reached"),
                ("note", "booked for 3pm"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let lead = maria.get(&format!("/app/leads/{id}")).await;
    assert!(lead.body.contains("Called back late"), "{}", lead.body);
    assert!(lead
        .body
        .contains("attempt 1 by maria: reached (booked for 3pm)"));
    assert!(lead.body.contains("Hi, this is Maria. Free at 3?"));

    // Two attempts are needed for "no answer": refused with the reason.
    let r = maria
        .post(
            &format!("/app/leads/{id}/disposition"),
            &[("csrf", &token), ("disposition", "no_answer_2_attempts")],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(
        r.body.contains("needs two logged call attempts"),
        "{}",
        r.body
    );
    let r = maria
        .post(
            &format!("/app/leads/{id}/disposition"),
            &[
                ("csrf", &token),
                ("disposition", "booked_job"),
                ("note", "3pm Tue"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!maria.get("/app").await.body.contains(CALLER));
    assert!(maria.get("/app?tab=done").await.body.contains(CALLER));
    // The admin API sees the same lead (the token still works).
    let v = app.lead_json(CALLER).await;
    assert_eq!(v["lead"]["disposition"], "booked_job");
    assert_eq!(v["lead"]["owner"], "maria");
}

/// A reply to a caller who opted out is refused on the page with the
/// reason; nothing reaches the carrier.
async fn a_reply_to_an_opted_out_caller_is_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut maria = signed_in(&app, "maria", Role::Dispatcher, Businesses::All).await;
    app.missed_call("CAapp2", CALLER).await;
    app.settle().await;
    app.sms("SMstop", CALLER, "STOP").await;
    app.settle().await;
    let before = app.mock.sent().len();
    let id = lead_id(&maria.get("/app").await.body);
    let lead = maria.get(&format!("/app/leads/{id}")).await;
    let r = maria
        .post(
            &format!("/app/leads/{id}/text"),
            &[
                ("csrf", &csrf(&lead.body)),
                ("body", "Still want that quote?"),
            ],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(r.body.contains("opted_out"), "{}", r.body);
    app.settle().await;
    assert_eq!(app.mock.sent().len(), before);
}

/// A dispatcher of one business sees only its leads: another's lead is not
/// in the queue and its page is "not found". Only the owner manages people.
async fn each_person_sees_only_their_businesses(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut dan = signed_in(
        &app,
        "dan",
        Role::Dispatcher,
        Businesses::Only(vec!["acme".into()]),
    )
    .await;
    let mut olga = signed_in(&app, "olga", Role::Owner, Businesses::All).await;
    app.missed_call("CAspartan", CALLER).await;
    app.settle().await;
    let owner_view = olga.get("/app").await;
    let id = lead_id(&owner_view.body);
    assert!(!dan.get("/app").await.body.contains(CALLER));
    assert_eq!(dan.get(&format!("/app/leads/{id}")).await.status, 404);
    assert_eq!(dan.get("/app?business=spartan").await.status, 404);
    let dan_queue = dan.get("/app").await;
    let r = dan
        .post(
            &format!("/app/leads/{id}/claim"),
            &[("csrf", &csrf(&dan_queue.body)), ("owner_was", "")],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(dan.get("/app/people").await.status, 403);

    // The owner adds someone and gets their link once; disabling them
    // ends their sessions.
    let people = olga.get("/app/people").await;
    assert_eq!(people.status, 200);
    let r = olga
        .post(
            "/app/people",
            &[
                ("csrf", &csrf(&people.body)),
                ("name", "sam"),
                ("role", "manager"),
                ("business", "spartan"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.contains("/app/welcome/"), "{}", r.body);
    let dan_id = app.store().user_by_name("dan").await.unwrap().unwrap().id;
    let r = olga
        .post(
            &format!("/app/people/{dan_id}/disable"),
            &[("csrf", &csrf(&people.body))],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(dan.get("/app").await.status, 303, "dan is signed out");
}

/// An open queue page hears of a new missed call within a second.
async fn a_new_call_reaches_an_open_queue_page_live(b: Backend) {
    let app = TestApp::spawn(b).await;
    let maria = signed_in(&app, "maria", Role::Dispatcher, Businesses::All).await;
    let mut events = maria
        .http
        .get(format!("{}/app/events", app.url))
        .header("cookie", maria.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert!(events.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let start = std::time::Instant::now();
    app.missed_call("CAlive", CALLER).await;
    let mut seen = String::new();
    while !seen.contains("event: change") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(2), events.chunk())
            .await
            .expect("an event within 2 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
}

on_both_stores!(
    a_person_signs_in_with_a_one_time_link,
    failed_sign_ins_are_limited,
    the_office_works_a_lead_from_the_queue,
    a_reply_to_an_opted_out_caller_is_refused,
    each_person_sees_only_their_businesses,
    a_new_call_reaches_an_open_queue_page_live,
);
