//! A stand-in for Twilio's Messages API that behaves like the real one
//! (201 + message JSON, error JSON with codes, Retry-After on 429, the
//! message list for reconciliation) and can fail on demand.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token-1234";

#[derive(Debug, Clone)]
pub struct Sent {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
    pub at: Instant,
    pub date_created: chrono::DateTime<chrono::Utc>,
}

/// What the next send request gets.
#[derive(Debug, Clone)]
pub enum Script {
    /// An error answer; the message is not recorded.
    Fail {
        status: u16,
        code: u32,
        retry_after: Option<u64>,
    },
    /// The message is accepted and recorded, but the answer is garbage: the
    /// client cannot know it went out (like a crash before recording).
    AcceptButGarble,
    /// Accepted and recorded, then the answer is delayed past the client's
    /// timeout.
    AcceptButHang(Duration),
}

/// A call placed through the Calls API.
#[derive(Debug, Clone)]
pub struct Placed {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub twiml: String,
}

#[derive(Default)]
struct Inner {
    sent: Vec<Sent>,
    calls: Vec<Placed>,
    script: VecDeque<Script>,
    requests: usize,
    list_requests: usize,
    /// How long each message-list request takes to answer.
    list_delay: Duration,
    /// How long each send takes to answer, and the sends being answered
    /// now and at most so far.
    send_delay: Duration,
    sends_in_flight: usize,
    max_sends_in_flight: usize,
}

#[derive(Clone)]
pub struct MockTwilio {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl MockTwilio {
    pub async fn start() -> MockTwilio {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                post(send).get(list),
            )
            .route("/2010-04-01/Accounts/{sid}/Calls.json", post(call))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockTwilio { inner, url }
    }

    pub fn push(&self, s: Script) {
        self.inner.lock().unwrap().script.push_back(s);
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.inner.lock().unwrap().sent.clone()
    }

    /// Calls placed (emergency pages).
    pub fn calls(&self) -> Vec<Placed> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn sent_to(&self, to: &str) -> Vec<Sent> {
        self.sent().into_iter().filter(|s| s.to == to).collect()
    }

    /// The texts `to` got, oldest first.
    pub fn bodies_to(&self, to: &str) -> Vec<String> {
        self.sent_to(to).into_iter().map(|s| s.body).collect()
    }

    /// Send attempts seen, including failed ones.
    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }

    /// Makes every message-list request take `d` (a slow carrier API).
    pub fn delay_lists(&self, d: Duration) {
        self.inner.lock().unwrap().list_delay = d;
    }

    /// Makes every send take `d` to answer (a slow carrier API).
    pub fn delay_sends(&self, d: Duration) {
        self.inner.lock().unwrap().send_delay = d;
    }

    /// The most send requests that were ever being answered at once.
    pub fn max_sends_in_flight(&self) -> usize {
        self.inner.lock().unwrap().max_sends_in_flight
    }

    pub fn list_requests(&self) -> usize {
        self.inner.lock().unwrap().list_requests
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Basic {expected}"))
}

fn error(status: u16, code: u32, message: &str) -> Response {
    let body = serde_json::json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status});
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

fn resource(s: &Sent) -> serde_json::Value {
    serde_json::json!({
        "sid": s.sid, "status": "queued", "to": s.to, "from": s.from, "body": s.body,
        "account_sid": ACCOUNT_SID, "date_created": s.date_created.to_rfc2822(),
        "error_code": null, "error_message": null, "num_segments": "1", "direction": "outbound-api",
        "api_version": "2010-04-01", "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{}.json", s.sid)
    })
}

async fn send(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if sid != ACCOUNT_SID || !authorized(&headers) {
        return error(401, 20003, "Authenticate");
    }
    let (Some(to), Some(from), Some(body)) = (form.get("To"), form.get("From"), form.get("Body"))
    else {
        return error(400, 21604, "A 'To' phone number is required.");
    };
    // Counted out again however the answer ends (a client that gives up
    // drops this handler mid-sleep).
    struct InFlight(Arc<Mutex<Inner>>);
    impl Drop for InFlight {
        fn drop(&mut self) {
            self.0.lock().unwrap().sends_in_flight -= 1;
        }
    }
    let delay = {
        let mut i = inner.lock().unwrap();
        i.sends_in_flight += 1;
        i.max_sends_in_flight = i.max_sends_in_flight.max(i.sends_in_flight);
        i.send_delay
    };
    let _in_flight = InFlight(inner.clone());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (script, record) = {
        let mut i = inner.lock().unwrap();
        i.requests += 1;
        let script = i.script.pop_front();
        let record = Sent {
            sid: format!("SM{}", uuid::Uuid::new_v4().simple()),
            to: to.clone(),
            from: from.clone(),
            body: body.clone(),
            status_callback: form.get("StatusCallback").cloned(),
            at: Instant::now(),
            date_created: chrono::Utc::now(),
        };
        if !matches!(script, Some(Script::Fail { .. })) {
            i.sent.push(record.clone());
        }
        (script, record)
    };
    match script {
        None => (StatusCode::CREATED, Json(resource(&record))).into_response(),
        Some(Script::Fail {
            status,
            code,
            retry_after,
        }) => {
            let mut r = error(status, code, "scripted failure");
            if let Some(s) = retry_after {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().unwrap());
            }
            r
        }
        Some(Script::AcceptButGarble) => {
            (StatusCode::CREATED, "<html>proxy error</html>").into_response()
        }
        Some(Script::AcceptButHang(d)) => {
            tokio::time::sleep(d).await;
            (StatusCode::CREATED, Json(resource(&record))).into_response()
        }
    }
}

async fn list(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&headers) {
        return error(401, 20003, "Authenticate");
    }
    let delay = {
        let mut i = inner.lock().unwrap();
        i.list_requests += 1;
        i.list_delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let i = inner.lock().unwrap();
    let msgs: Vec<serde_json::Value> = i
        .sent
        .iter()
        .filter(|s| {
            q.get("To").is_none_or(|t| *t == s.to) && q.get("From").is_none_or(|f| *f == s.from)
        })
        .map(resource)
        .collect();
    Json(serde_json::json!({"messages": msgs, "page": 0, "page_size": 50, "next_page_uri": null}))
        .into_response()
}

async fn call(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if sid != ACCOUNT_SID || !authorized(&headers) {
        return error(401, 20003, "Authenticate");
    }
    let (Some(to), Some(from)) = (form.get("To"), form.get("From")) else {
        return error(400, 21201, "No 'To' number is specified");
    };
    let Some(twiml) = form.get("Twiml").or(form.get("Url")) else {
        return error(400, 21205, "Url or Twiml is required");
    };
    let placed = Placed {
        sid: format!("CA{}", uuid::Uuid::new_v4().simple()),
        to: to.clone(),
        from: from.clone(),
        twiml: twiml.clone(),
    };
    inner.lock().unwrap().calls.push(placed.clone());
    (
        StatusCode::CREATED,
        Json(serde_json::json!({"sid": placed.sid, "status": "queued", "to": placed.to, "from": placed.from})),
    )
        .into_response()
}
