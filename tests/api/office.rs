//! A person at the office app over plain HTTP, as a browser is: cookies
//! kept, redirects not followed, the form token read off each page. Shared
//! by the app's tests (`app.rs`) and the SLA tests (`sla.rs`).

use crate::helpers::*;
use ringback::core::people::{Businesses, Role};
use std::collections::HashMap;

/// A browser: keeps cookies, does not follow redirects.
pub struct Browser {
    pub http: reqwest::Client,
    base: String,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.url.clone(),
            cookies: HashMap::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn read(&mut self, resp: reqwest::Response) -> Page {
        let set_cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string()),
            set_cookies,
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    /// The form token of the page at `path`.
    pub async fn csrf_of(&mut self, path: &str) -> String {
        csrf(&self.get(path).await.body)
    }
}

/// The form token on a page.
pub fn csrf(body: &str) -> String {
    let at = body
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    body[at..at + body[at..].find('"').unwrap()].to_string()
}

/// Adds a person through the shell (as `ringback user add` does) and signs
/// them in with their link in a new browser.
pub async fn signed_in(app: &TestApp, name: &str, role: Role, businesses: Businesses) -> Browser {
    let shell = &app.running.as_ref().unwrap().shell;
    let (_, token) = shell.add_person(name, role, &businesses).await.unwrap();
    let mut b = Browser::new(app);
    let welcome = b.get(&format!("/app/welcome/{token}")).await;
    assert_eq!(welcome.status, 200, "{}", welcome.body);
    assert!(welcome.body.contains(&format!("Welcome, {name}")));
    let done = b
        .post(
            &format!("/app/welcome/{token}"),
            &[
                ("csrf", &csrf(&welcome.body)),
                ("password", "a long enough secret"),
                ("confirm", "a long enough secret"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/app"));
    b
}
