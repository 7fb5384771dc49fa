//! Headless Chromium through chromedriver (WebDriver), for the browser
//! tests: one chromedriver on a free port, shared by the tests that run at
//! once and shut down when the last of them is done; one browser session
//! per test, at a phone's or a desk screen's size.
//!
//! No chromedriver on the machine (a developer's laptop): the tests say
//! they skipped and pass. `.ci/run` installs Debian's `chromium` and
//! `chromium-driver`, so CI runs them. `CHROMEDRIVER` names another driver.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long a page may take to show what a test waits for. Generous: the
/// tests share two cores with the rest of the suite.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running chromedriver.
pub struct Driver {
    child: std::process::Child,
    port: u16,
}

/// The chromedriver the running tests share (none when none runs).
static SHARED: tokio::sync::Mutex<Weak<Driver>> = tokio::sync::Mutex::const_new(Weak::new());

/// Where chromedriver is: `CHROMEDRIVER`, else on the `PATH`, else where
/// Debian's `chromium-driver` puts it.
fn chromedriver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMEDRIVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("chromedriver"));
    on_path
        .chain([PathBuf::from("/usr/bin/chromedriver")])
        .find(|p| p.is_file())
}

impl Driver {
    /// The shared chromedriver, started if none runs; `None` (and a line
    /// saying the test skipped) when the machine has none.
    pub async fn shared(test: &str) -> Option<Arc<Driver>> {
        let Some(path) = chromedriver() else {
            eprintln!(
                "skipped: {test}: chromedriver not found \
                 (apt-get install chromium chromium-driver, or set CHROMEDRIVER)"
            );
            return None;
        };
        let mut shared = SHARED.lock().await;
        if let Some(d) = shared.upgrade() {
            return Some(d);
        }
        let d = Arc::new(Driver::start(&path).await);
        *shared = Arc::downgrade(&d);
        Some(d)
    }

    async fn start(path: &std::path::Path) -> Driver {
        // A free port: the system's choice, released for the driver to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(path)
            .arg(format!("--port={port}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let d = Driver { child, port };
        let status = format!("{}/status", d.url());
        let http = reqwest::Client::new();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(r) = http.get(&status).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        return d;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {port} within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Ask it to quit (it closes the browsers it started), then make sure.
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = write!(
                s,
                "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The screen a page is looked at on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Screen {
    /// A phone, 390 × 844 CSS pixels at 3 device pixels each, with touch
    /// (Chrome's mobile emulation: the page's viewport tag counts).
    Phone,
    /// A desk screen's window, 1280 × 800.
    Desktop,
}

impl Screen {
    pub fn size(self) -> (u32, u32) {
        match self {
            Screen::Phone => (390, 844),
            Screen::Desktop => (1280, 800),
        }
    }

    pub fn pixel_ratio(self) -> u32 {
        match self {
            Screen::Phone => 3,
            Screen::Desktop => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Screen::Phone => "phone",
            Screen::Desktop => "desktop",
        }
    }
}

/// One browser session (its own profile: cookies start empty).
pub struct Chrome {
    pub client: Client,
    base: String,
    _driver: Arc<Driver>,
}

impl Chrome {
    /// A new headless Chromium at `screen`'s size, for the app at `base`,
    /// showing its sign-in page.
    pub async fn open(driver: &Arc<Driver>, screen: Screen, base: &str) -> Chrome {
        let (w, h) = screen.size();
        let mut options = json!({
            "args": [
                "--headless=new",
                // The tests run as root in CI, where Chromium's sandbox
                // cannot start; the pages are the app's own.
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--disable-extensions",
                "--no-first-run",
                format!("--window-size={w},{h}"),
            ],
        });
        if screen == Screen::Phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": w, "height": h, "pixelRatio": screen.pixel_ratio(), "touch": true },
            });
        }
        if std::path::Path::new("/usr/bin/chromium").is_file() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}"));
        let chrome = Chrome {
            client,
            base: base.to_string(),
            _driver: driver.clone(),
        };
        // The page must be looked at on the size asked for: the window's
        // frame (headless Chrome still reserves room for one) is added. On
        // a phone, the app's viewport tag is what makes a page 390 px wide
        // (a page without one is laid out 980 px wide and shrunk).
        chrome.goto("/app/signin").await;
        let inner = || async {
            let v = chrome
                .run("return [window.innerWidth, window.innerHeight]")
                .await;
            serde_json::from_value::<(u32, u32)>(v).unwrap()
        };
        let (mut iw, mut ih) = inner().await;
        if screen == Screen::Desktop && (iw, ih) != (w, h) {
            chrome
                .client
                .set_window_size(2 * w - iw, 2 * h - ih)
                .await
                .unwrap();
            (iw, ih) = inner().await;
        }
        assert_eq!((iw, ih), (w, h), "the {} viewport", screen.name());
        chrome
    }

    /// Opens a page of the app (`/app/...`).
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The element at `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no `{css}` on {}: {e}", self.path().await),
        }
    }

    /// Clicks the element at `css`.
    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        e.click()
            .await
            .unwrap_or_else(|err| panic!("click `{css}`: {err}"));
    }

    /// Types `text` into the field at `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("type into `{css}`: {err}"));
    }

    /// Types `text` into whatever has the focus.
    pub async fn type_here(&self, text: &str) {
        let e = self
            .client
            .active_element()
            .await
            .expect("a focused element");
        e.send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("type: {err}"));
    }

    /// Chooses the option of value `value` in the list at `css`.
    pub async fn choose(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        e.select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("choose {value:?} in `{css}`: {err}"));
    }

    /// Waits until the element at `css` shows `text` (the page may be
    /// loading or refreshing itself meanwhile); returns its text.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        let script = format!(
            "var e = document.querySelector({}); return e ? e.innerText : null",
            json!(css)
        );
        loop {
            // A page between two loads may refuse a script: not yet.
            let now = self.client.execute(&script, vec![]).await;
            if let Some(t) = now
                .as_ref()
                .ok()
                .and_then(Value::as_str)
                .filter(|t| t.contains(text))
            {
                return t.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` on {} never showed {text:?}; it shows {now:?}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        match self.client.current_url().await {
            Ok(u) => match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_string(),
            },
            Err(e) => format!("(no page: {e})"),
        }
    }

    /// Runs `script` in the page; its `return` value.
    pub async fn run(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Types on the keyboard: one key pressed and released.
    pub async fn press(&self, key: Key) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// Presses Tab until the element at `css` has the focus (as a person
    /// without a mouse gets there), and checks that it shows it has (an
    /// outline); how many presses it took.
    pub async fn tab_to(&self, css: &str) -> usize {
        let focused = format!(
            "return document.activeElement === document.querySelector({})",
            json!(css)
        );
        for presses in 1..=40 {
            self.press(Key::Tab).await;
            if self.run(&focused).await == true {
                let outline = self
                    .run(
                        "var s = getComputedStyle(document.activeElement);
                         return s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth)",
                    )
                    .await;
                assert!(
                    outline.as_f64().unwrap_or(0.0) >= 2.0,
                    "`{css}` has the focus and does not show it (outline {outline})"
                );
                return presses;
            }
        }
        let at = self
            .run("return document.activeElement.outerHTML.slice(0, 120)")
            .await;
        panic!(
            "40 presses of Tab never reached `{css}` on {} (the focus is on {at})",
            self.path().await
        );
    }

    /// A screenshot of what is on the screen (PNG).
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"))
    }

    /// Ends the session (and its browser).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A PNG's width and height, read from its header; `None` if the bytes are
/// not a PNG.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || !bytes.starts_with(SIGNATURE) || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    Some((be(16), be(20)))
}
