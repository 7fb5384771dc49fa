//! Telnyx: the Messages API (`POST /v2/messages`), the message detail
//! records an in-doubt send is looked up in, TeXML page calls, and the
//! Ed25519 webhook signatures (`signature.rs`).
//!
//! An in-doubt send (a timeout or a reset after the request may have been
//! accepted) is never repeated blindly. Telnyx has no list of messages to
//! search by body as Twilio has, so every text carries our reference in its
//! per-message `webhook_url` (`…/webhooks/telnyx?ref=rb-{message id}`), and
//! before a retry [`Telnyx::find_sent`] searches the message detail records
//! from that number to that person since the first attempt for one whose
//! `delivery_status_webhook_url` carries the reference. Without a public URL
//! (no reference), any outbound record between the two numbers since the
//! first attempt counts as the text: a duplicate is worse than a retry
//! that waits for the office to notice.

pub mod signature;

use super::{
    lookup_failed, network_error, retry_after, OutboundCall, OutboundSms, Provider, SendError,
    SendReceipt,
};
use crate::config::TelnyxBusiness;
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// How long an in-doubt text's detail record is waited for before "not
/// found" is believed ([`Provider::record_lag`]).
pub const RECORD_LAG: ChronoDuration = ChronoDuration::minutes(2);

pub struct Telnyx {
    http: reqwest::Client,
    api_key: SecretString,
    base: String,
    messages_url: reqwest::Url,
    records_url: reqwest::Url,
    /// Per sending number: its business's messaging profile and voice app.
    profiles: HashMap<String, TelnyxBusiness>,
    /// `{RINGBACK_PUBLIC_URL}/webhooks/telnyx`, where delivery updates go.
    webhook_url: Option<String>,
}

impl Telnyx {
    pub fn new(
        api_base: &str,
        api_key: SecretString,
        profiles: HashMap<String, TelnyxBusiness>,
        public_url: Option<&str>,
        timeout: Duration,
    ) -> Result<Telnyx, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .pool_max_idle_per_host(64)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client for Telnyx: {e}"))?;
        let base = api_base.trim_end_matches('/').to_string();
        let url = |path: &str| {
            reqwest::Url::parse(&format!("{base}{path}")).map_err(|e| {
                format!("TELNYX_API_BASE={api_base:?} does not make a URL ({e}); unset it to use https://api.telnyx.com")
            })
        };
        Ok(Telnyx {
            http,
            api_key,
            messages_url: url("/v2/messages")?,
            records_url: url("/v2/detail_records")?,
            base,
            profiles,
            webhook_url: public_url.map(|u| format!("{}/webhooks/telnyx", u.trim_end_matches('/'))),
        })
    }

    fn webhook_url_for(&self, reference: Option<&str>) -> Option<String> {
        let base = self.webhook_url.as_ref()?;
        Some(match reference {
            Some(r) => format!("{base}?ref={r}"),
            None => base.clone(),
        })
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    data: CreatedData,
}

#[derive(Deserialize)]
struct CreatedData {
    id: String,
}

#[derive(Deserialize)]
struct Records {
    #[serde(default)]
    data: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    delivery_status_webhook_url: Option<String>,
}

/// Maps a non-2xx answer to retryable or permanent, by the error code
/// (`provider::meaning`) first and the HTTP status second.
async fn classify_error(resp: reqwest::Response) -> SendError {
    let status = resp.status();
    let after = retry_after(&resp);
    let text = resp.text().await.unwrap_or_default();
    let first = serde_json::from_str::<ErrorBody>(&text)
        .ok()
        .and_then(|b| b.errors.into_iter().next());
    let code = first
        .as_ref()
        .and_then(|e| e.code.as_ref())
        .map(|c| c.to_string().trim_matches('"').to_string())
        .unwrap_or_else(|| status.as_u16().to_string());
    let message = first
        .map(|e| match (e.title, e.detail) {
            (Some(t), Some(d)) => format!("{t}: {d}"),
            (t, d) => t.or(d).unwrap_or_default(),
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    let meaning = super::meaning(&code);
    if status.as_u16() == 429 || meaning == crate::domain::CarrierError::Transient {
        // Refused for now, never processed: safe to send again later.
        SendError::Retryable {
            message: format!("{status} ({code}): {message}"),
            retry_after: after.or(Some(Duration::from_secs(1))),
            in_doubt: false,
        }
    } else if status.is_server_error() {
        SendError::Retryable {
            message: format!("{status} ({code}): {message}"),
            retry_after: after,
            in_doubt: true,
        }
    } else if status.as_u16() == 401 || code == "10009" {
        SendError::Retryable {
            message: format!("{status} ({code}): {message} - check TELNYX_API_KEY"),
            retry_after: Some(Duration::from_secs(60)),
            in_doubt: false,
        }
    } else if status.is_redirection() {
        SendError::Retryable {
            message: format!("{status}: redirected - check TELNYX_API_BASE"),
            retry_after: Some(Duration::from_secs(60)),
            in_doubt: false,
        }
    } else {
        SendError::Permanent { code, message }
    }
}

fn unreadable(what: &str, e: impl std::fmt::Display) -> SendError {
    SendError::Retryable {
        message: format!("unreadable answer to {what}: {e}"),
        retry_after: None,
        in_doubt: true,
    }
}

#[async_trait]
impl Provider for Telnyx {
    fn name(&self) -> &'static str {
        "telnyx"
    }

    fn voice_path(&self, _from: &str) -> &'static str {
        "/webhooks/telnyx/texml"
    }

    /// Telnyx does not say how soon a message's detail record can be
    /// searched (docs/http.md); Twilio's message list has the text as soon
    /// as the send is accepted.
    fn record_lag(&self, _from: &str) -> ChronoDuration {
        RECORD_LAG
    }

    async fn send_sms(&self, sms: &OutboundSms) -> Result<SendReceipt, SendError> {
        let mut body = serde_json::json!({
            "from": sms.from,
            "to": sms.to,
            "text": sms.body,
            "type": "SMS",
        });
        if let Some(p) = self.profiles.get(&sms.from) {
            body["messaging_profile_id"] = p.messaging_profile_id.clone().into();
        }
        if let Some(url) = self.webhook_url_for(sms.reference.as_deref()) {
            body["webhook_url"] = url.into();
        }
        let resp = self
            .http
            .post(self.messages_url.clone())
            .bearer_auth(self.api_key.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(network_error)?;
        if !resp.status().is_success() {
            return Err(classify_error(resp).await);
        }
        let m: Created = resp.json().await.map_err(|e| unreadable("a send", e))?;
        Ok(SendReceipt {
            provider_sid: m.data.id,
        })
    }

    async fn find_sent(
        &self,
        sms: &OutboundSms,
        since: DateTime<Utc>,
    ) -> Result<Option<SendReceipt>, SendError> {
        let earliest = since - ChronoDuration::minutes(1);
        let mut url = self.records_url.clone();
        url.query_pairs_mut()
            .append_pair("filter[record_type]", "messaging")
            .append_pair("filter[direction]", "outbound")
            .append_pair("filter[cli]", &sms.from)
            .append_pair("filter[cld]", &sms.to)
            .append_pair(
                "filter[created_at][gte]",
                &earliest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )
            .append_pair("sort", "-created_at")
            .append_pair("page[size]", "50");
        let resp = self
            .http
            .get(url)
            .bearer_auth(self.api_key.expose_secret())
            .send()
            .await
            .map_err(network_error)?;
        if !resp.status().is_success() {
            return Err(lookup_failed(
                "detail record look-up",
                classify_error(resp).await,
            ));
        }
        let list: Records = resp
            .json()
            .await
            .map_err(|e| unreadable("a detail record search", e))?;
        // The reference went out only inside a webhook URL.
        let tag = sms
            .reference
            .as_deref()
            .filter(|_| self.webhook_url.is_some())
            .map(|r| format!("ref={r}"));
        let found = list.data.into_iter().find(|r| {
            let recent = r
                .created_at
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
                .is_none_or(|d| d.with_timezone(&Utc) >= earliest);
            let ours = match &tag {
                Some(tag) => r
                    .delivery_status_webhook_url
                    .as_deref()
                    .is_some_and(|u| u.ends_with(tag.as_str())),
                None => true,
            };
            recent && ours
        });
        Ok(found
            .and_then(|r| r.id.or(r.uuid))
            .map(|provider_sid| SendReceipt { provider_sid }))
    }

    async fn place_call(&self, call: &OutboundCall) -> Result<SendReceipt, SendError> {
        let permanent = |message: String| SendError::Permanent {
            code: "config".into(),
            message,
        };
        let app = self
            .profiles
            .get(&call.from)
            .and_then(|p| p.connection_id.clone())
            .ok_or_else(|| {
                permanent(format!(
                    "no [business.telnyx] connection_id for {}: a page call needs the voice app",
                    call.from
                ))
            })?;
        let url = call.url.clone().ok_or_else(|| {
            permanent(
                "RINGBACK_PUBLIC_URL is not set: Telnyx fetches a page call's TeXML from us".into(),
            )
        })?;
        let endpoint = format!("{}/v2/texml/calls/{app}", self.base);
        let resp = self
            .http
            .post(&endpoint)
            .bearer_auth(self.api_key.expose_secret())
            .json(&serde_json::json!({
                "From": call.from,
                "To": call.to,
                "Url": url,
                "UrlMethod": "POST",
                "Timeout": call.timeout_secs.clamp(5, 120),
            }))
            .send()
            .await
            .map_err(network_error)?;
        if !resp.status().is_success() {
            return Err(classify_error(resp).await);
        }
        let v: serde_json::Value = resp.json().await.map_err(|e| unreadable("a call", e))?;
        let sid = ["call_sid", "sid"]
            .iter()
            .find_map(|k| v[k].as_str().or(v["data"][k].as_str()))
            .unwrap_or_default();
        Ok(SendReceipt {
            provider_sid: sid.to_string(),
        })
    }
}
