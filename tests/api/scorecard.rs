//! The manager's pages from outside: the scorecard (figures, charts, CSV),
//! the daily review, and the owner's settings view. A day of an office is
//! played with the test clock: missed calls come in through the carrier's
//! webhooks, the office logs call-backs and dispositions through the same
//! shell functions as the app, and the pages are read as a browser does.

use crate::helpers::*;
use chrono::Duration;
use ringback::core::people::{Businesses, Role};
use ringback::shell::office::{CallAttempt, LeadUpdate};

/// A signed-in browser (cookie only; these pages are read, not posted).
struct Desk {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Desk {
    /// Adds a person (as `ringback user add` does) and signs them in with
    /// their one-time link.
    async fn signed_in(app: &TestApp, name: &str, role: Role) -> Desk {
        Desk::of(app, name, role, Businesses::All).await
    }

    async fn of(app: &TestApp, name: &str, role: Role, businesses: Businesses) -> Desk {
        let shell = &app.running.as_ref().unwrap().shell;
        let (_, link) = shell.add_person(name, role, &businesses).await.unwrap();
        let signed = shell
            .set_password(&link, "a long enough secret")
            .await
            .unwrap();
        Desk {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.url.clone(),
            cookie: format!("rb_session={}", signed.session),
        }
    }

    async fn get(&self, path: &str) -> Got {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        Got {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }
}

const A: &str = "+15125550201";
const B: &str = "+15125550202";
const C: &str = "+15125550203";
const D: &str = "+15125550204";
const E: &str = "+15125550205";

/// Spartan Plumbing (weekdays 7–18, Chicago) with its tracking number
/// labelled as a campaign whose name needs quoting in CSV.
fn spartan_with_campaign() -> String {
    DEFAULT_BUSINESS.replacen(
        "ring_seconds = 20\n",
        "ring_seconds = 20\nsources = { \"+15125550100\" = \"Google Ads, \\\"search\\\"\" }\n",
        1,
    )
}

async fn lead_of(app: &TestApp, caller: &str) -> i64 {
    app.lead_json(caller).await["lead"]["id"].as_i64().unwrap()
}

async fn call_back(app: &TestApp, caller: &str, outcome: &str) {
    let shell = &app.running.as_ref().unwrap().shell;
    let attempt = CallAttempt {
        by: Some("maria".into()),
        outcome: outcome.into(),
        note: None,
    };
    shell
        .log_call_attempt(lead_of(app, caller).await, &attempt)
        .await
        .unwrap();
}

async fn close(app: &TestApp, caller: &str, disposition: &str, reason: Option<&str>) {
    let shell = &app.running.as_ref().unwrap().shell;
    let update = LeadUpdate {
        disposition: Some(disposition.into()),
        reason: reason.map(str::to_string),
        ..Default::default()
    };
    shell
        .update_lead_by_office(lead_of(app, caller).await, &update)
        .await
        .unwrap();
}

/// Tuesday 2026-11-24 in Chicago, then Wednesday morning:
/// - A, B, C, E missed at 10:00 (A and E left voicemails); A called back at 10:04 (reached, booked);
///   B at 10:12 and 10:40 (no answer twice, closed "no response"); C
///   texted STOP and was never called; E called at 10:30 (no answer; it
///   left a voicemail);
/// - D missed at 18:30 (closed) and called back Wednesday 08:00.
async fn a_day_of_the_office(app: &TestApp) {
    for (sid, caller) in [("CAa", A), ("CAb", B), ("CAc", C), ("CAe", E)] {
        assert_eq!(app.missed_call(sid, caller).await.status(), 200);
    }
    for (sid, caller) in [("CAa", A), ("CAe", E)] {
        let url = format!("https://api.twilio.com/rec/RE{sid}");
        let r = app
            .post_twilio(
                "/webhooks/twilio/voice/recording",
                &[
                    ("CallSid", sid),
                    ("From", caller),
                    ("To", TRACKING),
                    ("RecordingSid", &format!("RE{sid}")),
                    ("RecordingUrl", &url),
                    ("RecordingDuration", "9"),
                ],
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    app.settle().await;
    app.sms("SMstopC", C, "STOP").await;
    app.advance(Duration::minutes(4)).await;
    call_back(app, A, "reached").await;
    close(app, A, "booked_job", None).await;
    app.advance(Duration::minutes(8)).await;
    call_back(app, B, "no_answer").await;
    app.advance(Duration::minutes(18)).await;
    call_back(app, E, "no_answer").await;
    app.advance(Duration::minutes(10)).await;
    call_back(app, B, "no_answer").await;
    close(app, B, "no_answer_2_attempts", Some("no response")).await;
    // 18:30: the office closed at 18:00.
    app.advance(Duration::minutes(7 * 60 + 50)).await;
    assert_eq!(app.missed_call("CAd", D).await.status(), 200);
    app.settle().await;
    // Wednesday 08:00.
    app.advance(Duration::minutes(13 * 60 + 30)).await;
    call_back(app, D, "no_answer").await;
}

/// The figures a manager reads on Wednesday morning: median first
/// call-back 21 min (4, 12, 30 min and 13.5 h), two attempts done for 2 of
/// 5 (A reached, B twice), 1 booked of 5 reachable, the after-hours caller
/// called back before 8:30, 1 opt-out of 5 texted (20 %: the alarm), and
/// the reason given. Charts are inline SVG; the CSV has the same figures,
/// quoted where needed, as a download.
async fn the_scorecard_shows_the_week(b: Backend) {
    let app = TestApp::spawn_with(b, &spartan_with_campaign(), "").await;
    a_day_of_the_office(&app).await;
    // Signed in on Wednesday morning (a session lasts a working day).
    let maria = Desk::signed_in(&app, "maria", Role::Dispatcher).await;

    let page = maria.get("/app/scorecard").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    for figure in [
        "<dt>Missed callers</dt><dd>5</dd>",
        "<dd>21 min</dd>",
        "<dd>40 % (2 of 5)</dd>",
        "<dd>20 % (1 of 5)</dd>",
        "<dd>100 % (1 of 1)</dd>",
        "<dd>20 % (1 of 5 texted)</dd>",
        "no response — 1",
    ] {
        assert!(body.contains(figure), "{figure} not in {body}");
    }
    assert!(body.contains("role=\"alert\""), "the opt-out alarm");
    assert!(body.contains("Opt-outs are at 20 %"));
    assert_eq!(body.matches("<svg").count(), 3, "three charts");
    assert!(
        body.contains("<title>Nov 23: 20 %</title>"),
        "a bar says its week and value"
    );
    assert!(!body.contains("<script>"), "no inline script");
    // By week: the last four Mondays, this week's with the figures.
    for week in ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"] {
        assert!(
            body.contains(&format!("<th scope=\"row\">{week}</th>")),
            "{week}"
        );
    }
    assert!(
        body.contains("href=\"/app/scorecard\">Scorecard</a>"),
        "in the menu"
    );

    let csv = maria.get("/app/scorecard.csv?by=campaign").await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let disposition = csv.headers["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        "attachment; filename=\"scorecard-by-campaign-2026-11-25.csv\""
    );
    let lines: Vec<&str> = csv.body.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "campaign,callers,median_first_attempt_minutes,two_attempts_done,two_attempts_of,booked,reachable,after_hours_on_time,after_hours_of,opted_out,texted,opt_out_alarm,top_reasons"
    );
    assert_eq!(
        lines[1],
        "\"Spartan Plumbing: Google Ads, \"\"search\"\"\",5,21.0,2,5,1,5,1,1,1,5,yes,no response (1)"
    );
    assert_eq!(lines[2], "total,5,21.0,2,5,1,5,1,1,1,5,yes,no response (1)");
    assert_eq!(lines[3], "", "ends with a line break");

    // Acme's dispatcher sees none of Spartan's callers, and cannot ask.
    let dan = Desk::of(
        &app,
        "dan",
        Role::Dispatcher,
        Businesses::Only(vec!["acme".into()]),
    )
    .await;
    let page = dan.get("/app/scorecard?by=business").await;
    assert!(
        page.body.contains("<dt>Missed callers</dt><dd>0</dd>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Spartan"), "{}", page.body);
    assert_eq!(dan.get("/app/scorecard?business=spartan").await.status, 404);
    assert_eq!(
        dan.get("/app/scorecard.csv?business=spartan").await.status,
        404
    );
    assert!(!dan.get("/app/review").await.body.contains(B));

    // A week later, only that week: nothing yet, and no alarm.
    app.clock.advance(Duration::days(7));
    let maria = Desk::signed_in(&app, "maria2", Role::Dispatcher).await;
    let page = maria.get("/app/scorecard?weeks=1").await;
    assert!(page.body.contains("<dt>Missed callers</dt><dd>0</dd>"));
    assert!(!page.body.contains("role=\"alert\""), "no leads, no alarm");
    assert_eq!(maria.get("/app/scorecard?by=month").await.status, 400);
    assert_eq!(maria.get("/app/scorecard?weeks=0").await.status, 400);
}

/// Wednesday's review of Tuesday: the four callers nobody booked, and
/// three of maria's four calls, the same three every time the page is
/// opened (the core's draw), with the voicemail when the sample has it.
async fn the_daily_review_lists_yesterday(b: Backend) {
    let app = TestApp::spawn(b).await;
    a_day_of_the_office(&app).await;
    let manager = Desk::signed_in(&app, "sam", Role::Manager).await;

    let page = manager.get("/app/review").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let spartan = &page.body[page.body.find("Spartan Plumbing, Tuesday Nov 24").unwrap()..];
    let (unrecovered, sampled) = spartan.split_once("Calls to review").unwrap();
    assert!(unrecovered.contains("Not recovered (4)"), "{unrecovered}");
    for caller in [B, C, D, E] {
        assert!(unrecovered.contains(caller), "{caller}");
    }
    assert!(!unrecovered.contains(A), "A was booked");

    let now = app.clock.now_utc();
    let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let (day, start, end) = ringback::core::scorecard::yesterday(now, tz).unwrap();
    let facts = app
        .store()
        .scorecard_leads(Some(&["spartan".to_string()]), start, end)
        .await
        .unwrap();
    assert_eq!(facts.len(), 5);
    let sample = ringback::core::scorecard::sample_per_csr(&facts, day);
    assert_eq!(sample.len(), 1, "only maria called back: {sample:?}");
    let picked: Vec<i64> = sample["maria"].iter().map(|l| l.lead_id).collect();
    assert_eq!(picked.len(), 3);
    let maria = &sampled[sampled.find("data-csr=\"maria\"").unwrap()..];
    let shown: Vec<i64> = maria
        .match_indices("<li data-lead=\"")
        .map(|(i, m)| {
            let rest = &maria[i + m.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(shown, picked);
    // A and E left voicemails: each shows exactly when its call is drawn.
    for (caller, sid) in [(A, "CAa"), (E, "CAe")] {
        let id = lead_of(&app, caller).await;
        assert_eq!(
            maria.contains(&format!("https://api.twilio.com/rec/RE{sid}")),
            picked.contains(&id),
            "{caller}'s voicemail"
        );
    }
    assert!(maria.contains("maria: no answer"), "{maria}");
    assert_eq!(
        manager.get("/app/review").await.body,
        page.body,
        "same draw"
    );
}

/// Only the owner sees the settings; they show the hours, the on-call
/// roster, each sending number (registration, pace, at risk) and each text
/// as it goes out with its segments, encoding and the lint's findings.
async fn the_owner_checks_the_settings(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    // A help reply with a curly apostrophe: UCS-2, two segments.
    let help = dir.path().join("help.txt");
    std::fs::write(
        &help,
        "{business}: we’re here to help. Call us back on this number or reply with your address and what is wrong. Reply STOP to opt out.",
    )
    .unwrap();
    let businesses = DEFAULT_BUSINESS.replacen(
        "ring_seconds = 20\n",
        &format!(
            "ring_seconds = 20\ntemplates = {{ help_reply = {:?} }}\n",
            help.display().to_string()
        ),
        1,
    );
    let app = TestApp::spawn_with(b, &businesses, "").await;
    let owner = Desk::signed_in(&app, "olga", Role::Owner).await;
    let manager = Desk::signed_in(&app, "sam", Role::Manager).await;
    let dispatcher = Desk::signed_in(&app, "dan", Role::Dispatcher).await;
    assert_eq!(manager.get("/app/settings").await.status, 403);
    assert_eq!(dispatcher.get("/app/settings").await.status, 403);
    assert!(!dispatcher.get("/app").await.body.contains("/app/settings"));

    // A carrier refused a text from Spartan's number.
    let mut tx = app.store().begin().await.unwrap();
    tx.mark_sender_at_risk("spartan", TRACKING, "30034", app.clock.now_utc())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let page = owner.get("/app/settings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("href=\"/app/settings\">Settings</a>"));
    assert!(body.contains("Hours (America/Chicago)"));
    assert!(body.contains("<th scope=\"row\">mon</th><td>07:00-18:00</td>"));
    assert!(body.contains("<th scope=\"row\">sat</th><td>closed</td>"));
    let spartan_sender = &body[body.find("data-sender=\"+15125550100\"").unwrap()..];
    let row = &spartan_sender[..spartan_sender.find("</tr>").unwrap()];
    assert!(row.contains("10DLC, campaign CSPARTAN1"), "{row}");
    assert!(row.contains("registered") && row.contains("1000 texts a second"));
    assert!(row.contains("at risk") && row.contains("30034"), "{row}");
    let acme_sender = &body[body.find("data-sender=\"+12125550100\"").unwrap()..];
    assert!(acme_sender[..acme_sender.find("</tr>").unwrap()].contains("<td>ok</td>"));
    assert!(body.contains("No on-call roster"));

    // The help reply as it goes out, measured and linted.
    let at = body
        .find(&format!("data-template=\"{}\"", help.display()))
        .unwrap();
    let help_card = &body[at..at + body[at..].find("</article>").unwrap()];
    assert!(
        help_card.contains("Spartan Plumbing: we’re here to help."),
        "{help_card}"
    );
    assert!(help_card.contains("2 segments, UCS-2"), "{help_card}");
    assert!(help_card.contains("Warning: "), "{help_card}");
    // The instant text is one GSM-7 segment with nothing to fix.
    let at = body.find("instant_business_hours.txt\"").unwrap();
    let instant = &body[at..at + body[at..].find("</article>").unwrap()];
    assert!(instant.contains("1 segment, GSM-7"), "{instant}");
    assert!(instant.contains("No findings."), "{instant}");
}

/// The shipped config's on-call roster, as the owner reads it: each
/// rotation with its primary and backups, the repages and the owner.
async fn the_settings_show_the_on_call_roster(b: Backend) {
    let app = TestApp::spawn_shipped(b).await;
    let owner = Desk::signed_in(&app, "dana", Role::Owner).await;
    let page = owner.get("/app/settings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(
        body.contains("Owner (last in every chain): Dana."),
        "{body}"
    );
    assert!(body.contains("repeat 3 times, 5 minutes apart"), "{body}");
    assert!(
        body.contains(
            "<td>days</td><td>Mon,Tue,Wed,Thu,Fri 07:00-18:00</td><td>Luis</td><td>Mike</td>"
        ),
        "{body}"
    );
    assert!(body.contains("Spartan Plumbing &amp; Air"));
    assert!(
        body.contains("<td>1 text a second</td>"),
        "the shipped pace"
    );
}

on_both_stores!(
    the_settings_show_the_on_call_roster,
    the_scorecard_shows_the_week,
    the_daily_review_lists_yesterday,
    the_owner_checks_the_settings,
);
