//! Twilio: the Messages REST API, request signatures and TwiML.

pub mod signature;
pub mod twiml;

use super::{
    lookup_failed, network_error, retry_after, OutboundSms, Provider, SendError, SendReceipt,
};
use crate::domain::CarrierError;
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

/// Twilio error codes that must never be retried (specs/providers.md §3.4).
pub mod codes {
    /// The recipient replied STOP: mark the number opted out.
    pub const UNSUBSCRIBED: &str = "21610";
    pub const INVALID_TO: &str = "21211";
    pub const NOT_MOBILE: &str = "21614";
    pub const LANDLINE: &str = "21635";
    pub const LANDLINE_UNREACHABLE: &str = "30006";
    pub const FILTERED: &str = "30007";
    /// A2P 10DLC: the sender is not registered.
    pub const UNREGISTERED_SENDER: &str = "30034";
    pub const TOLL_FREE_UNVERIFIED: &str = "30032";
    /// SMS-pumping protection: a temporary block, lifted after 15-30 min.
    pub const PUMPING_BLOCK: &str = "30450";
    /// The sending number's queue at Twilio is full: nothing was queued.
    pub const QUEUE_FULL: &str = "21611";
}

/// What a Twilio error code means.
pub fn meaning(code: &str) -> Option<CarrierError> {
    use codes::*;
    Some(match code {
        INVALID_TO | NOT_MOBILE | LANDLINE | LANDLINE_UNREACHABLE => {
            CarrierError::RecipientUnreachable
        }
        UNSUBSCRIBED => CarrierError::RecipientOptedOut,
        UNREGISTERED_SENDER => CarrierError::SenderAtRisk("unregistered 10DLC number (blocked)"),
        TOLL_FREE_UNVERIFIED => {
            CarrierError::SenderAtRisk("toll-free number not verified (blocked)")
        }
        FILTERED => CarrierError::SenderAtRisk("message filtered as spam or policy"),
        PUMPING_BLOCK | QUEUE_FULL | "20429" => CarrierError::Transient,
        _ => return None,
    })
}

pub struct Twilio {
    http: reqwest::Client,
    account_sid: String,
    auth_token: SecretString,
    /// The account's Messages and Calls resources, parsed once: parsing
    /// the URL for every send showed up in profiles at thousands a second.
    messages_url: reqwest::Url,
    calls_url: reqwest::Url,
}

impl Twilio {
    pub fn new(
        api_base: &str,
        account_sid: &str,
        auth_token: SecretString,
        timeout: Duration,
    ) -> Result<Twilio, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .pool_max_idle_per_host(64)
            // Twilio's API answers where it is asked: a redirect means a
            // wrong TWILIO_API_BASE, reported as such (see classify_error).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client for Twilio: {e}"))?;
        let base = api_base.trim_end_matches('/');
        let url = |resource: &str| {
            let u = format!("{base}/2010-04-01/Accounts/{account_sid}/{resource}");
            reqwest::Url::parse(&u).map_err(|e| {
                format!("TWILIO_API_BASE={api_base:?} does not make a URL ({u}: {e}); unset it to use https://api.twilio.com")
            })
        };
        Ok(Twilio {
            http,
            account_sid: account_sid.to_string(),
            auth_token,
            messages_url: url("Messages.json")?,
            calls_url: url("Calls.json")?,
        })
    }
}

#[derive(Deserialize)]
struct MessageResource {
    sid: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    date_created: Option<String>,
}

#[derive(Deserialize)]
struct MessageList {
    #[serde(default)]
    messages: Vec<MessageResource>,
    /// Relative URI of the next page, if any.
    #[serde(default)]
    next_page_uri: Option<String>,
}

/// Most pages of the message list [`Twilio::find_sent`] reads (50 each,
/// newest first) for one business number and one person.
const FIND_SENT_PAGES: usize = 5;

#[derive(Deserialize)]
struct TwilioErrorBody {
    code: Option<serde_json::Value>,
    message: Option<String>,
}

/// Maps a non-2xx answer to retryable or permanent.
async fn classify_error(resp: reqwest::Response) -> SendError {
    let status = resp.status();
    let after = retry_after(&resp);
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().await.unwrap_or_default();
    let parsed: Option<TwilioErrorBody> = serde_json::from_str(&text).ok();
    let code = parsed
        .as_ref()
        .and_then(|b| b.code.as_ref())
        .map(|c| c.to_string().trim_matches('"').to_string())
        .unwrap_or_else(|| status.as_u16().to_string());
    let message = parsed
        .and_then(|b| b.message)
        .unwrap_or_else(|| text.chars().take(200).collect());
    if status.as_u16() == 429 {
        // 20429: never processed, always safe to retry.
        SendError::Retryable {
            message: format!("429 ({code}): {message}"),
            retry_after: after,
            in_doubt: false,
        }
    } else if status.is_server_error() {
        SendError::Retryable {
            message: format!("{status} ({code}): {message}"),
            retry_after: after,
            in_doubt: true,
        }
    } else if status.as_u16() == 401 || status.as_u16() == 403 {
        // Credentials can be fixed by the operator; keep the message.
        SendError::Retryable {
            message: format!(
                "{status} ({code}): {message} - check TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN"
            ),
            retry_after: Some(Duration::from_secs(60)),
            in_doubt: false,
        }
    } else if code == codes::PUMPING_BLOCK || code == codes::QUEUE_FULL {
        // Refused for now, not for good: back off (at least 15 minutes for
        // a pumping block, as Twilio lifts it after 15-30), then try again.
        let floor = Duration::from_secs(if code == codes::PUMPING_BLOCK {
            15 * 60
        } else {
            60
        });
        SendError::Retryable {
            message: format!("{status} ({code}): {message}"),
            retry_after: Some(after.map_or(floor, |a| a.max(floor))),
            in_doubt: false,
        }
    } else if status.is_redirection() {
        // Twilio's API does not redirect: the base URL is wrong (e.g. http://
        // for https://). Nothing was sent; retry once the operator fixes it.
        SendError::Retryable {
            message: format!("{status}: redirected to {location:?} - check TWILIO_API_BASE"),
            retry_after: Some(Duration::from_secs(60)),
            in_doubt: false,
        }
    } else {
        SendError::Permanent { code, message }
    }
}

#[async_trait]
impl Provider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn send_sms(&self, sms: &OutboundSms) -> Result<SendReceipt, SendError> {
        let mut form = vec![
            ("To", sms.to.as_str()),
            ("From", sms.from.as_str()),
            ("Body", sms.body.as_str()),
        ];
        if let Some(cb) = &sms.status_callback {
            form.push(("StatusCallback", cb.as_str()));
        }
        let resp = self
            .http
            .post(self.messages_url.clone())
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(network_error)?;
        if !resp.status().is_success() {
            return Err(classify_error(resp).await);
        }
        let m: MessageResource = resp.json().await.map_err(|e| SendError::Retryable {
            message: format!("unreadable answer to a send: {e}"),
            retry_after: None,
            in_doubt: true,
        })?;
        Ok(SendReceipt {
            provider_sid: m.sid,
        })
    }

    async fn place_call(
        &self,
        call: &crate::provider::OutboundCall,
    ) -> Result<SendReceipt, SendError> {
        let timeout = call.timeout_secs.clamp(5, 600).to_string();
        let resp = self
            .http
            .post(self.calls_url.clone())
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&[
                ("To", call.to.as_str()),
                ("From", call.from.as_str()),
                ("Twiml", call.twiml.as_str()),
                ("Timeout", timeout.as_str()),
            ])
            .send()
            .await
            .map_err(network_error)?;
        if !resp.status().is_success() {
            return Err(classify_error(resp).await);
        }
        let v: serde_json::Value = resp.json().await.map_err(|e| SendError::Retryable {
            message: format!("unreadable answer to a call: {e}"),
            retry_after: None,
            in_doubt: true,
        })?;
        Ok(SendReceipt {
            provider_sid: v["sid"].as_str().unwrap_or_default().to_string(),
        })
    }

    async fn find_sent(
        &self,
        sms: &OutboundSms,
        since: DateTime<Utc>,
    ) -> Result<Option<SendReceipt>, SendError> {
        // No `DateSent` filter: a message Twilio accepted but has not sent
        // yet (still `queued` or `accepted`, just what a timed-out send under
        // load leaves) has no `date_sent`, and such a filter would hide the
        // very message we are looking for. To and From narrow the list to
        // this business and this person; the creation time is checked here,
        // with a minute of slack for clock skew.
        let earliest = since - ChronoDuration::minutes(1);
        let mut url = self.messages_url.clone();
        url.query_pairs_mut()
            .append_pair("To", &sms.to)
            .append_pair("From", &sms.from)
            .append_pair("PageSize", "50");
        for _ in 0..FIND_SENT_PAGES {
            let resp = self
                .http
                .get(url.clone())
                .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
                .send()
                .await
                .map_err(network_error)?;
            if !resp.status().is_success() {
                return Err(lookup_failed(
                    "message list lookup",
                    classify_error(resp).await,
                ));
            }
            let list: MessageList = resp.json().await.map_err(|e| SendError::Retryable {
                message: format!("unreadable message list: {e}"),
                retry_after: None,
                in_doubt: true,
            })?;
            let created = |m: &MessageResource| {
                m.date_created
                    .as_deref()
                    .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
                    .map(|d| d.with_timezone(&Utc))
            };
            let found = list.messages.iter().find(|m| {
                m.body.as_deref() == Some(sms.body.as_str())
                    && created(m).is_none_or(|d| d >= earliest)
            });
            if let Some(m) = found {
                return Ok(Some(SendReceipt {
                    provider_sid: m.sid.clone(),
                }));
            }
            // Newest first: once a page reaches back before our first
            // attempt, later pages are older still.
            if list
                .messages
                .iter()
                .any(|m| created(m).is_some_and(|d| d < earliest))
            {
                return Ok(None);
            }
            match list.next_page_uri.as_deref().filter(|u| !u.is_empty()) {
                Some(next) => {
                    url = self
                        .messages_url
                        .join(next)
                        .map_err(|e| SendError::Retryable {
                            message: format!("unusable next_page_uri {next:?}: {e}"),
                            retry_after: None,
                            in_doubt: true,
                        })?
                }
                None => return Ok(None),
            }
        }
        // More pages of texts between these two numbers than anyone
        // exchanges: the in-doubt text is not among the newest ones.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// A client of the mock `server`, account AC1.
    fn client(server: &MockServer) -> Twilio {
        Twilio::new(
            &server.uri(),
            "AC1",
            SecretString::from("token".to_string()),
            Duration::from_secs(5),
        )
        .unwrap()
    }

    fn sms() -> OutboundSms {
        OutboundSms {
            to: "+15125550123".into(),
            from: "+15125550100".into(),
            body: "Sorry we missed you".into(),
            status_callback: None,
            reference: None,
        }
    }

    /// A redirect is not followed (it would mean a wrong TWILIO_API_BASE):
    /// the send is reported retryable, not in doubt, and names the setting
    /// to fix, instead of failing the text for good.
    #[tokio::test]
    async fn a_redirect_is_a_retryable_configuration_error() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/2010-04-01/Accounts/AC1/Messages.json"))
            .respond_with(
                ResponseTemplate::new(301).insert_header("Location", "https://api.twilio.com/"),
            )
            .expect(1)
            .mount(&server)
            .await;
        let t = client(&server);
        match t.send_sms(&sms()).await {
            Err(SendError::Retryable {
                message, in_doubt, ..
            }) => {
                assert!(!in_doubt, "a redirected request was not processed");
                assert!(message.contains("TWILIO_API_BASE"), "{message}");
                assert!(message.contains("https://api.twilio.com/"), "{message}");
            }
            other => panic!("expected a retryable error, got {other:?}"),
        }
    }

    #[test]
    fn a_base_that_makes_no_url_is_refused_with_the_setting_named() {
        let e = Twilio::new(
            "not a url",
            "AC1",
            SecretString::from("token".to_string()),
            Duration::from_secs(5),
        )
        .err()
        .expect("refused");
        assert!(e.contains("TWILIO_API_BASE"), "{e}");
    }

    /// An in-doubt text Twilio accepted but has not sent yet has no
    /// `date_sent`: the lookup must not filter on it, and must read on to
    /// the next page when the first does not hold it.
    #[tokio::test]
    async fn find_sent_sees_a_queued_message_on_a_later_page() {
        let server = MockServer::start().await;
        let list = "/2010-04-01/Accounts/AC1/Messages.json";
        let now = Utc::now();
        Mock::given(method("GET"))
            .and(path(list))
            .and(query_param("To", "+15125550123"))
            .and(query_param("From", "+15125550100"))
            .and(query_param_is_missing("DateSent>"))
            .and(query_param_is_missing("Page"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "messages": [{"sid": "SMother", "body": "Another text", "status": "delivered",
                              "date_created": now.to_rfc2822(), "date_sent": now.to_rfc2822()}],
                "next_page_uri": format!("{list}?To=%2B15125550123&From=%2B15125550100&PageSize=50&Page=1&PageToken=PA1"),
            })))
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(list))
            .and(query_param("Page", "1"))
            .and(query_param("PageToken", "PA1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "messages": [{"sid": "SMqueued", "body": "Sorry we missed you", "status": "queued",
                              "date_created": now.to_rfc2822(), "date_sent": null}],
                "next_page_uri": null,
            })))
            .expect(1)
            .mount(&server)
            .await;
        let t = client(&server);
        let found = t
            .find_sent(&sms(), now - ChronoDuration::seconds(5))
            .await
            .unwrap();
        assert_eq!(found.map(|r| r.provider_sid).as_deref(), Some("SMqueued"));
        // Created long before this send: not ours, and page 1 already
        // reaches back before it, so page 2 is not read.
        let found = t.find_sent(&sms(), now + ChronoDuration::minutes(10)).await;
        assert!(
            matches!(found, Ok(None)),
            "{:?}",
            found.map(|f| f.map(|r| r.provider_sid))
        );
    }

    /// A temporary refusal (SMS-pumping block, a full sender queue) is
    /// retried later, not failed for good: the caller still gets the text.
    #[tokio::test]
    async fn temporary_refusals_are_retried_after_a_wait() {
        for (code, at_least) in [(30450u32, 15 * 60u64), (21611, 60)] {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/2010-04-01/Accounts/AC1/Messages.json"))
                .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
                    "code": code, "message": "try later", "status": 400
                })))
                .mount(&server)
                .await;
            match client(&server).send_sms(&sms()).await {
                Err(SendError::Retryable {
                    retry_after: Some(wait),
                    in_doubt: false,
                    ..
                }) => assert!(wait >= Duration::from_secs(at_least), "{code}: {wait:?}"),
                other => panic!("{code}: {:?}", other.map(|r| r.provider_sid)),
            }
        }
    }
}
