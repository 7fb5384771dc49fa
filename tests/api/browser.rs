//! The office's web app in a real browser: Debian's headless Chromium,
//! driven through chromedriver. A dispatcher signs in with the owner's
//! one-time link, sees a missed call arrive in the open queue, watches its
//! SLA clock turn amber and red as the test clock moves, claims the lead,
//! texts the caller (the carrier gets exactly that text), and closes it
//! with a disposition, a reason and a note. And the queue and a lead's
//! page at a phone's and a desk screen's size: no sideways scrolling,
//! readable text, a label on every field, and the claim and send buttons
//! reached with Tab and pressed with Enter. Screenshots go to a temporary
//! directory (`RINGBACK_SCREENSHOTS=dir` keeps them there).
//!
//! Without chromedriver on the machine the tests say they skipped (see
//! `chrome.rs`).

mod chrome;

use crate::helpers::*;
use chrome::{png_size, Chrome, Driver, Screen};
use chrono::Duration;
use fantoccini::key::Key;
use ringback::core::people::{Businesses, Role};

/// Another caller, for a second lead.
const CALLER_2: &str = "+15125550148";
const PASSWORD: &str = "a long enough secret";

/// A dispatcher and their one-time sign-in link (as `ringback user add`).
async fn dispatcher_link(app: &TestApp, name: &str) -> String {
    let shell = &app.running.as_ref().unwrap().shell;
    let (_, token) = shell
        .add_person(name, Role::Dispatcher, &Businesses::All)
        .await
        .unwrap();
    format!("/app/welcome/{token}")
}

/// Waits for `caller`'s row in the queue shown; its lead's id.
async fn lead_in_queue(chrome: &Chrome, caller: &str) -> i64 {
    chrome.wait_for_text("#live-queue", caller).await;
    let id = chrome
        .run(&format!(
            "var row = [...document.querySelectorAll('li.lead')]
               .find(li => li.querySelector('.caller').innerText.trim() === {});
             return row ? Number(row.dataset.lead) : null",
            serde_json::json!(caller)
        ))
        .await;
    id.as_i64()
        .unwrap_or_else(|| panic!("no row for {caller} in the queue"))
}

/// The whole day of one missed call, in the browser, on either store.
async fn a_dispatcher_works_a_missed_call_in_chromium(b: Backend) {
    let Some(driver) =
        Driver::shared("browser::a_dispatcher_works_a_missed_call_in_chromium").await
    else {
        return;
    };
    let app = TestApp::spawn(b).await;
    let link = dispatcher_link(&app, "maria").await;
    let chrome = Chrome::open(&driver, Screen::Desktop, &app.url).await;

    // Signing in: the link asks for a password twice, then the queue.
    chrome.goto(&link).await;
    chrome.wait_for_text("h1", "Welcome, maria").await;
    chrome.type_into("#password", PASSWORD).await;
    chrome.type_into("#confirm", PASSWORD).await;
    chrome.click("main button[type=submit]").await;
    chrome.wait_for_text("h1", "Queue").await;
    assert_eq!(chrome.path().await, "/app");
    chrome
        .wait_for_text("header.top", "maria (dispatcher)")
        .await;
    chrome.wait_for_text("#live-queue", "Nothing here.").await;
    chrome.find("[data-live-open]").await;

    // A call is missed while the queue is open: it appears by itself.
    app.missed_call("CAbrowser1", CALLER).await;
    let id = lead_in_queue(&chrome, CALLER).await;
    let row = format!("li.lead[data-lead='{id}']");
    chrome.wait_for_text(&row, "Unclaimed").await;
    let clock = format!("{row} .sla");
    chrome.wait_for_text(&clock, "Call back in 15 min").await;
    assert_eq!(sla_state(&chrome, &clock).await, "ok");

    // The SLA clock: amber past the 5-minute stretch goal, red past 15.
    app.clock.advance(Duration::minutes(11));
    chrome.client.refresh().await.unwrap();
    chrome.wait_for_text(&clock, "Call back in 4 min").await;
    assert_eq!(sla_state(&chrome, &clock).await, "warn");
    app.clock.advance(Duration::minutes(5));
    chrome.client.refresh().await.unwrap();
    chrome.wait_for_text(&clock, "Overdue 1 min").await;
    assert_eq!(sla_state(&chrome, &clock).await, "late");

    // Claim it from its page.
    chrome.click(&format!("{row} a.who")).await;
    chrome.wait_for_text("h1", CALLER).await;
    assert_eq!(chrome.path().await, format!("/app/leads/{id}"));
    chrome.click("form[action$='/claim'] button").await;
    chrome.wait_for_text(".actions", "You own this lead").await;

    // Reply by text: queued through the one door, sent by the worker, and
    // the carrier receives exactly what was typed, once.
    app.settle().await;
    let before = app.mock.sent().len();
    let reply = "Hi, this is Maria from Spartan. Free at 3 today?";
    chrome.type_into("#body", reply).await;
    chrome.click("form[action$='/text'] button").await;
    chrome.wait_for_text("#live-timeline", reply).await;
    app.wait_for_texts(before + 1).await;
    app.settle().await;
    let sent = app.mock.sent();
    assert_eq!(sent.len(), before + 1, "one text more: {sent:?}");
    let last = sent.last().unwrap();
    assert_eq!((last.to.as_str(), last.from.as_str()), (CALLER, TRACKING));
    assert_eq!(last.body, reply);
    let messages = app.store().messages_for_lead(id).await.unwrap();
    let ours: Vec<_> = messages.iter().filter(|m| m.body == reply).collect();
    assert_eq!(ours.len(), 1, "{messages:?}");
    assert_eq!(ours[0].kind.as_str(), "office_reply");
    assert_eq!(ours[0].provider_sid.as_deref(), Some(last.sid.as_str()));

    // Close it: an estimate booked, the reason and a one-line note.
    chrome.choose("#disposition", "booked_estimate").await;
    chrome.choose("#reason", "price").await;
    let note = "estimate Tue 3pm, wants a price first";
    chrome.type_into("#close-note", note).await;
    chrome.click("form[action$='/disposition'] button").await;
    chrome.wait_for_text("main .note", note).await;
    chrome.wait_for_text("main", "resolved").await;
    let lead = app.store().lead(id).await.unwrap().unwrap();
    assert_eq!(lead.disposition.as_deref(), Some("booked_estimate"));
    assert_eq!(lead.disposition_reason.as_deref(), Some("price"));
    assert_eq!(lead.note.as_deref(), Some(note));
    assert_eq!(lead.owner.as_deref(), Some("maria"));

    // It left the Open tab for Done.
    chrome.goto("/app").await;
    chrome.wait_for_text("#live-queue", "Nothing here.").await;
    chrome.goto("/app?tab=done").await;
    chrome.wait_for_text(&row, "resolved").await;
    chrome.close().await;
}

/// The SLA badge's state: `ok`, `warn` or `late` (its colour).
async fn sla_state(chrome: &Chrome, css: &str) -> String {
    let class = chrome.find(css).await.attr("class").await.unwrap();
    let class = class.unwrap_or_default();
    ["ok", "warn", "late"]
        .into_iter()
        .find(|s| class.split(' ').any(|c| c == *s))
        .unwrap_or_else(|| panic!("an SLA badge of no state: {class:?}"))
        .to_string()
}

/// What a person with a small screen, poor eyesight or no mouse needs of
/// a page, checked in the page itself (after `const width = ` the
/// screen's width): returns the problems found.
const CHECK_PAGE: &str = r#"
const problems = [];
const de = document.documentElement;
// A phone shrinks a page that is too wide to fit (its layout viewport
// grows past the screen), so the screen's width is the measure.
const wide = Math.max(de.scrollWidth, window.innerWidth);
if (wide > width) {
  problems.push(`scrolls sideways: ${de.scrollWidth} px wide, ${window.innerWidth} px shown, in ${width}`);
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 0.5) problems.push(`  sticks out: ${el.outerHTML.slice(0, 90)}`);
  }
}
const body = parseFloat(getComputedStyle(document.body).fontSize);
if (body < 12) problems.push(`body text is ${body}px`);
for (const el of document.querySelectorAll('body *')) {
  const shown = el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const ownText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const size = parseFloat(getComputedStyle(el).fontSize);
  if (shown && ownText && size < 12) problems.push(`${size}px text: ${el.outerHTML.slice(0, 90)}`);
}
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden' || el.hidden) continue;
  const label = [...el.labels].map(l => l.innerText.trim()).join(' ')
    || (el.getAttribute('aria-label') || '').trim()
    || (el.getAttribute('aria-labelledby') || '').split(' ')
         .map(id => (document.getElementById(id) || {}).innerText || '').join(' ').trim();
  if (!label) problems.push(`no label: ${el.outerHTML.slice(0, 90)}`);
}
for (const el of document.querySelectorAll('button, a[href]')) {
  const name = (el.innerText || el.getAttribute('aria-label') || '').trim();
  if (!name) problems.push(`nameless ${el.tagName.toLowerCase()}: ${el.outerHTML.slice(0, 90)}`);
}
// Something a thumb can hit (WCAG's minimum target, 24 px): every control,
// and links that stand alone (a link inside a sentence is exempt).
for (const el of document.querySelectorAll('button, select, input, textarea, nav a, a.button')) {
  const r = el.getBoundingClientRect();
  if (el.type !== 'hidden' && !el.hidden && r.height < 24)
    problems.push(`a ${Math.round(r.height)} px tall target: ${el.outerHTML.slice(0, 90)}`);
}
if (!document.documentElement.lang) problems.push('no language on <html>');
if (!document.title.trim()) problems.push('no title');
if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one <h1>');
return problems;
"#;

fn check_script(screen: Screen) -> String {
    format!("const width = {};\n{CHECK_PAGE}", screen.size().0)
}

/// The checks see what they look for: the page shown, made worse, fails
/// each of them.
async fn the_checks_find_a_worse_page(chrome: &Chrome) {
    // (Through the style object: the app's CSP refuses style attributes.)
    chrome
        .run(
            "var main = document.querySelector('main');
             var wide = main.appendChild(document.createElement('div'));
             wide.textContent = 'wide'; wide.style.width = '600px';
             main.appendChild(document.createElement('input')).id = 'x';
             var tiny = main.appendChild(document.createElement('small'));
             tiny.textContent = 'tiny'; tiny.style.fontSize = '9px';",
        )
        .await;
    let problems = chrome.run(&check_script(Screen::Phone)).await;
    let problems: Vec<String> = serde_json::from_value(problems).unwrap();
    for expected in ["scrolls sideways", "9px text", "no label: <input id=\"x\">"] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected:?} not among {problems:?}"
        );
    }
}

/// Checks the page shown and saves its screenshot as `name`.png in `dir`.
async fn check_page(chrome: &Chrome, screen: Screen, name: &str, dir: &std::path::Path) {
    let problems = chrome.run(&check_script(screen)).await;
    let problems: Vec<String> = serde_json::from_value(problems).unwrap();
    assert!(
        problems.is_empty(),
        "{name} at {} size ({:?}):\n{}",
        screen.name(),
        screen.size(),
        problems.join("\n")
    );
    let png = chrome.screenshot().await;
    let (w, h) = screen.size();
    let ratio = screen.pixel_ratio();
    assert_eq!(
        png_size(&png),
        Some((w * ratio, h * ratio)),
        "{name}: a PNG of the screen ({} bytes)",
        png.len()
    );
    // A blank page compresses to almost nothing; a page with text does not.
    assert!(
        png.len() > 5_000,
        "{name}: a blank screenshot? {} bytes",
        png.len()
    );
    let file = dir.join(format!("{name}-{}.png", screen.name()));
    std::fs::write(&file, &png).unwrap();
}

/// The queue and a lead's page on a phone and on a desk screen: nothing
/// scrolls sideways, no text is under 12 px, every field is labelled, and
/// with the keyboard alone a dispatcher signs in, claims a lead and sends
/// a text. The page's layout does not depend on the store: SQLite only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone_and_a_desk_screen() {
    let _machine = side_by_side().await;
    let Some(driver) = Driver::shared("browser::pages_fit_a_phone_and_a_desk_screen").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let shell = &app.running.as_ref().unwrap().shell;
    let link = dispatcher_link(&app, "maria").await;
    let token = link.rsplit('/').next().unwrap();
    shell.set_password(token, PASSWORD).await.unwrap();
    // A reply with a long unbroken link, so the lead's page has something
    // hard to wrap.
    app.missed_call("CAlayout1", CALLER).await;
    app.missed_call("CAlayout2", CALLER_2).await;
    app.sms(
        "SMlayout1",
        CALLER,
        "How much to replace a 50 gallon water heater at 1234 Longwordstreetname Boulevard? \
         Photos: https://example.com/a/very/long/link/that/does/not/break/anywhere/at/all",
    )
    .await;
    app.settle().await;
    let kept = std::env::var_os("RINGBACK_SCREENSHOTS").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();

    for (screen, caller) in [(Screen::Phone, CALLER), (Screen::Desktop, CALLER_2)] {
        let chrome = Chrome::open(&driver, screen, &app.url).await;
        // Sign in (the page it opens on) with the keyboard: type, Tab,
        // type, Enter.
        chrome.click("#name").await;
        chrome.type_into("#name", "maria").await;
        chrome.press(Key::Tab).await;
        chrome.type_here(PASSWORD).await;
        chrome.press(Key::Enter).await;
        chrome.wait_for_text("h1", "Queue").await;
        chrome.wait_for_text("#live-queue", caller).await;
        check_page(&chrome, screen, "queue", &dir).await;

        let id = lead_in_queue(&chrome, caller).await;
        chrome.goto(&format!("/app/leads/{id}")).await;
        chrome.wait_for_text("h1", caller).await;
        check_page(&chrome, screen, "lead", &dir).await;

        // The claim button, with Tab and Enter.
        chrome.tab_to("form[action$='/claim'] button").await;
        chrome.press(Key::Enter).await;
        chrome.wait_for_text(".actions", "You own this lead").await;
        // The reply: Tab to the message, type, Tab to Send, Enter.
        let before = app.mock.sent().len();
        chrome.tab_to("#body").await;
        let reply = format!("Typed on a {}.", screen.name());
        chrome.type_here(&reply).await;
        chrome.tab_to("form[action$='/text'] button").await;
        chrome.press(Key::Enter).await;
        chrome.wait_for_text("#live-timeline", &reply).await;
        let sent = app.wait_for_texts(before + 1).await;
        assert_eq!(sent.last().map(|s| s.body.as_str()), Some(reply.as_str()));
        check_page(&chrome, screen, "lead-after-reply", &dir).await;
        if screen == Screen::Phone {
            the_checks_find_a_worse_page(&chrome).await;
        }
        chrome.close().await;
    }
    if let Some(d) = kept {
        eprintln!("screenshots in {}", d.display());
    }
}

on_both_stores!(a_dispatcher_works_a_missed_call_in_chromium);
