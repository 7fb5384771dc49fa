use super::*;
use crate::Script;
use chrono::TimeDelta;
use serde_json::Value;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const TOKEN: &str = "secret-token";

async fn mock() -> (MockTwilio, String) {
    let account_sid = new_sid("AC");
    let mock = MockTwilio::start_with(&account_sid, TOKEN).await.unwrap();
    (mock, account_sid)
}

fn messages_url(mock: &MockTwilio, account_sid: &str) -> String {
    format!(
        "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
        mock.url
    )
}

async fn send(
    client: &reqwest::Client,
    mock: &MockTwilio,
    account_sid: &str,
    to: &str,
) -> reqwest::Response {
    client
        .post(messages_url(mock, account_sid))
        .basic_auth(account_sid, Some(TOKEN))
        .form(&[
            ("To", to),
            ("From", "+15125550100"),
            ("Body", "Sorry we missed your call!"),
            ("StatusCallback", "http://127.0.0.1:9/status"),
        ])
        .send()
        .await
        .unwrap()
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn create_returns_twilio_shaped_message_and_records_it() {
    let (mock, account_sid) = mock().await;
    let client = reqwest::Client::new();

    let response = send(&client, &mock, &account_sid, "+12025550123").await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    let body = json(response).await;
    let sid = body["sid"].as_str().unwrap();
    // Twilio's Message resource, every field, as a created message.
    let created = body["date_created"].as_str().unwrap();
    let uri = format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}");
    let whole = json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": "Sorry we missed your call!",
        "date_created": created,
        "date_sent": null,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": "+15125550100",
        "messaging_service_sid": null,
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": { "media": format!("{uri}/Media.json") },
        "to": "+12025550123",
        "uri": format!("{uri}.json"),
    });
    assert_eq!(body, whole);
    assert_eq!(sid.len(), 34);
    assert!(sid.starts_with("SM"));
    assert!(sid[2..]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    DateTime::parse_from_rfc2822(created).unwrap();
    let recorded = mock.sent_to("+12025550123");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].sid, sid);
    assert_eq!(
        recorded[0].status_callback.as_deref(),
        Some("http://127.0.0.1:9/status")
    );

    send(&client, &mock, &account_sid, "+12025550123").await;
    send(&client, &mock, &account_sid, "+12025550124").await;
    let snapshot = mock.snapshot();
    assert_eq!(snapshot.accepted, 3);
    assert_eq!(snapshot.recipients["+12025550123"].1, 2);
    assert_eq!(snapshot.recipients["+12025550124"].1, 1);
    assert_eq!(snapshot.senders["+15125550100"], 3);
    assert_eq!(snapshot.arrivals_by_sender["+15125550100"].len(), 3);
    assert_eq!(mock.arrivals_from("+15125550100").len(), 3);
    assert_eq!(mock.requests(), 3);
    let expected: HashSet<String> = ["+12025550123", "+19995550000"].map(String::from).into();
    assert_eq!(mock.count_texted(&expected), 1);

    // Fetched later, the carrier has it: sent, with a send date.
    let fetched = json(
        client
            .get(format!("{}{}", mock.url, body["uri"].as_str().unwrap()))
            .basic_auth(&account_sid, Some(TOKEN))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut listed = whole.clone();
    listed["status"] = json!("sent");
    listed["date_sent"] = json!(created);
    assert_eq!(fetched, listed);
    assert_eq!(mock.snapshot().fetch_requests, 1);
}

#[tokio::test]
async fn wrong_credentials_get_401_in_twilio_error_shape() {
    let (mock, account_sid) = mock().await;
    let response = reqwest::Client::new()
        .post(messages_url(&mock, &account_sid))
        .basic_auth(&account_sid, Some("wrong"))
        .form(&[
            ("To", "+12025550123"),
            ("From", "+15125550100"),
            ("Body", "hi"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    let body = json(response).await;
    assert_eq!(body["code"], 20003);
    assert_eq!(body["status"], 401);
    assert_eq!(body["message"], "Authenticate");
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/20003"
    );

    let missing = reqwest::Client::new()
        .post(messages_url(&mock, &account_sid))
        .form(&[("To", "+12025550123")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    // Right credentials, someone else's account.
    let other = reqwest::Client::new()
        .post(messages_url(&mock, &new_sid("AC")))
        .basic_auth(&account_sid, Some(TOKEN))
        .form(&[("To", "+12025550123")])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    assert_eq!(json(other).await["code"], 20404);
    assert_eq!(mock.snapshot().accepted, 0);
    assert_eq!(mock.snapshot().rejected, 3);
    assert_eq!(mock.requests(), 0);
}

#[tokio::test]
async fn missing_or_invalid_parameters_get_400() {
    let (mock, account_sid) = mock().await;
    let post = |form: Vec<(&'static str, &'static str)>| {
        let request = reqwest::Client::new()
            .post(messages_url(&mock, &account_sid))
            .basic_auth(&account_sid, Some(TOKEN))
            .form(&form);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 400);
            json(response).await
        }
    };
    let body = post(vec![("To", "+12025550123"), ("From", "+15125550100")]).await;
    assert_eq!(body["code"], 21602);
    let body = post(vec![("From", "+15125550100"), ("Body", "hi")]).await;
    assert_eq!(body["code"], 21604);
    let body = post(vec![("To", "+12025550123"), ("Body", "hi")]).await;
    assert_eq!(body["code"], 21603);
    let body = post(vec![
        ("To", "2025550123"),
        ("From", "+15125550100"),
        ("Body", "hi"),
    ])
    .await;
    assert_eq!(body["code"], 21211);
    assert_eq!(body["message"], "Invalid 'To' Phone Number: 2025550123");
    assert_eq!(mock.snapshot().rejected, 4);
    assert!(mock.sent().is_empty());
}

#[tokio::test]
async fn list_filters_by_to_from_and_date_sent() {
    let (mock, account_sid) = mock().await;
    let client = reqwest::Client::new();
    for to in ["+12025550123", "+12025550123", "+12025550124"] {
        assert_eq!(send(&client, &mock, &account_sid, to).await.status(), 201);
    }
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let list = |query: String| {
        let request = client
            .get(format!("{}?{query}", messages_url(&mock, &account_sid)))
            .basic_auth(&account_sid, Some(TOKEN));
        async move { json(request.send().await.unwrap()).await }
    };

    let page = list(format!(
        "To=%2B12025550123&From=%2B15125550100&DateSent>={today}"
    ))
    .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    assert_eq!(page["page"], 0);
    assert_eq!(page["page_size"], 50);
    assert!(page["next_page_uri"].is_null());
    assert_eq!(page["messages"][0]["status"], "sent");
    assert_eq!(page["messages"][0]["to"], "+12025550123");
    // Newest first.
    let sent = mock.sent_to("+12025550123");
    assert_eq!(page["messages"][0]["sid"], sent[1].sid.as_str());
    assert_eq!(page["messages"][1]["sid"], sent[0].sid.as_str());

    // Encoded `>=` and an RFC 3339 instant in the future: nothing yet.
    let later = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
    let page = list(format!(
        "To=%2B12025550123&DateSent%3E%3D={}",
        later.replace('+', "%2B")
    ))
    .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);

    let page = list("From=%2B19995550000".to_string()).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);

    let page = list("PageSize=2".to_string()).await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    let next = page["next_page_uri"].as_str().unwrap();
    assert!(next.contains("Page=1"));
    let page = json(
        client
            .get(format!("{}{next}", mock.url))
            .basic_auth(&account_sid, Some(TOKEN))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert!(page["next_page_uri"].is_null());
    assert_eq!(mock.snapshot().list_requests, 5);
    assert_eq!(mock.list_requests(), 5);
}

#[tokio::test]
async fn fail_rate_injects_500_or_429_with_retry_after() {
    let (mock, account_sid) = mock().await;
    mock.set_fail_rate(1.0);
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let response = send(&client, &mock, &account_sid, "+12025550123").await;
        match response.status().as_u16() {
            429 => {
                assert_eq!(response.headers()[header::RETRY_AFTER], "1");
                assert_eq!(json(response).await["code"], 20429);
            }
            500 => assert_eq!(json(response).await["code"], 20500),
            other => panic!("unexpected status {other}"),
        }
    }
    let snapshot = mock.snapshot();
    assert_eq!(snapshot.accepted, 0);
    assert_eq!(snapshot.injected_failures, 20);
    assert_eq!(mock.requests(), 20);
}

#[tokio::test]
async fn lost_replies_are_recorded_and_listed() {
    let (mock, account_sid) = mock().await;
    mock.set_lost_reply_rate(1.0);
    let client = reqwest::Client::new();
    assert_eq!(
        send(&client, &mock, &account_sid, "+12025550123")
            .await
            .status(),
        500
    );
    let snapshot = mock.snapshot();
    assert_eq!((snapshot.accepted, snapshot.lost_replies), (1, 1));
    let list = json(
        client
            .get(format!(
                "{}?To=%2B12025550123",
                messages_url(&mock, &account_sid)
            ))
            .basic_auth(&account_sid, Some(TOKEN))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["messages"].as_array().unwrap().len(), 1);
}

/// A hung answer comes too late for a client with a shorter timeout, yet
/// the carrier has the message: the in-doubt case a sender must reconcile.
#[tokio::test]
async fn hung_sends_are_recorded_but_answered_late() {
    let (mock, account_sid) = mock().await;
    mock.set_hang_rate(1.0, Duration::from_secs(5));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let outcome = client
        .post(messages_url(&mock, &account_sid))
        .basic_auth(&account_sid, Some(TOKEN))
        .form(&[
            ("To", "+12025550123"),
            ("From", "+15125550100"),
            ("Body", "Sorry we missed your call!"),
        ])
        .send()
        .await;
    assert!(outcome.unwrap_err().is_timeout());
    let snapshot = mock.snapshot();
    assert_eq!((snapshot.accepted, snapshot.hangs), (1, 1));
    assert_eq!(mock.bodies_to("+12025550123").len(), 1);
}

#[tokio::test]
async fn scripts_answer_the_next_sends_in_order() {
    let (mock, account_sid) = mock().await;
    let client = reqwest::Client::new();
    mock.push(Script::Fail {
        status: 429,
        code: 20429,
        retry_after: Some(3),
    });
    mock.push(Script::Fail {
        status: 400,
        code: 21610,
        retry_after: None,
    });
    mock.push(Script::AcceptButGarble);
    mock.push(Script::AcceptButHang(Duration::from_millis(300)));
    mock.push(Script::AcceptButLoseReply);

    let r = send(&client, &mock, &account_sid, "+12025550123").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()[header::RETRY_AFTER], "3");
    assert_eq!(json(r).await["code"], 20429);
    let r = send(&client, &mock, &account_sid, "+12025550123").await;
    assert_eq!(r.status(), 400);
    let body = json(r).await;
    assert_eq!(body["code"], 21610);
    assert_eq!(body["message"], "Attempt to send to unsubscribed recipient");
    assert!(mock.sent().is_empty(), "failures are not recorded");

    let r = send(&client, &mock, &account_sid, "+12025550123").await;
    assert_eq!(r.status(), 201);
    assert!(r.json::<Value>().await.is_err(), "garbled");
    let started = Instant::now();
    let r = send(&client, &mock, &account_sid, "+12025550123").await;
    assert_eq!(r.status(), 201);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let r = send(&client, &mock, &account_sid, "+12025550123").await;
    assert_eq!(r.status(), 500);
    // Scripts used up: plain acceptance again.
    let r = send(&client, &mock, &account_sid, "+12025550123").await;
    assert_eq!(r.status(), 201);
    assert_eq!(mock.sent().len(), 4, "accepted ones are recorded");
    assert_eq!(mock.requests(), 6);
    assert_eq!(mock.snapshot().lost_replies, 1);
}

#[tokio::test]
async fn refused_recipients_get_twilio_codes() {
    let (mock, account_sid) = mock().await;
    let client = reqwest::Client::new();
    mock.refuse("+12025550123", Refusal::Unsubscribed);
    mock.refuse("+12025550124", Refusal::NotMobile);
    let r = send(&client, &mock, &account_sid, "+12025550123").await;
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await["code"], 21610);
    let r = send(&client, &mock, &account_sid, "+12025550124").await;
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await["code"], 21614);
    assert_eq!(
        send(&client, &mock, &account_sid, "+12025550125")
            .await
            .status(),
        201
    );
    assert_eq!(mock.sent().len(), 1);
    assert_eq!(mock.snapshot().rejected, 2);
}

#[tokio::test]
async fn calls_are_placed_with_their_twiml() {
    let (mock, account_sid) = mock().await;
    let url = format!("{}/2010-04-01/Accounts/{account_sid}/Calls.json", mock.url);
    let client = reqwest::Client::new();
    let r = client
        .post(&url)
        .basic_auth(&account_sid, Some(TOKEN))
        .form(&[
            ("To", "+15125550111"),
            ("From", "+15125550100"),
            ("Twiml", "<Response><Say>Emergency</Say></Response>"),
            ("Timeout", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body = json(r).await;
    assert!(body["sid"].as_str().unwrap().starts_with("CA"));
    assert_eq!(body["status"], "queued");
    assert_eq!(body["to"], "+15125550111");
    let calls = mock.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].sid, body["sid"].as_str().unwrap());
    assert!(calls[0].instructions.contains("Emergency"));

    let r = client
        .post(&url)
        .basic_auth(&account_sid, Some(TOKEN))
        .form(&[("To", "+15125550111"), ("From", "+15125550100")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(json(r).await["code"], 21205);
    let r = client
        .post(&url)
        .form(&[("To", "+15125550111")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(mock.calls().len(), 1);
}

#[tokio::test]
async fn slow_sends_are_counted_in_flight_and_a_client_that_gives_up_sent_nothing() {
    let (mock, account_sid) = mock().await;
    mock.delay_sends(Duration::from_millis(300));
    let client = reqwest::Client::new();
    let sends = ["+12025550121", "+12025550122", "+12025550123"]
        .map(|to| send(&client, &mock, &account_sid, to));
    for r in futures_join(sends).await {
        assert_eq!(r.status(), 201);
    }
    assert_eq!(mock.max_sends_in_flight(), 3);
    assert_eq!(mock.sent().len(), 3);

    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let gave_up = impatient
        .post(messages_url(&mock, &account_sid))
        .basic_auth(&account_sid, Some(TOKEN))
        .form(&[
            ("To", "+12025550124"),
            ("From", "+15125550100"),
            ("Body", "hi"),
        ])
        .send()
        .await;
    assert!(gave_up.is_err());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(mock.sent().len(), 3, "the abandoned send was not taken");
    assert_eq!(mock.requests(), 3);
    assert_eq!(mock.max_sends_in_flight(), 3);

    // Lists can be slow too.
    mock.delay_lists(Duration::from_millis(200));
    let started = Instant::now();
    let r = client
        .get(messages_url(&mock, &account_sid))
        .basic_auth(&account_sid, Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn latency_delays_answers_not_arrivals() {
    let (mock, account_sid) = mock().await;
    mock.set_latency(Duration::from_millis(200));
    let client = reqwest::Client::new();
    let started = Instant::now();
    assert_eq!(
        send(&client, &mock, &account_sid, "+12025550123")
            .await
            .status(),
        201
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    let arrived = mock.sent()[0].at.duration_since(started);
    assert!(arrived < Duration::from_millis(200), "{arrived:?}");
}

/// Runs the three requests at once.
async fn futures_join<F: std::future::Future>(fs: [F; 3]) -> [F::Output; 3] {
    let [a, b, c] = fs;
    let (a, b, c) = tokio::join!(a, b, c);
    [a, b, c]
}
