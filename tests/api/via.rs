//! One way to drive the app whichever carrier serves the business: a
//! scenario takes a [`Via`] and runs the same steps (a missed call, a text,
//! a delivery receipt, a keypress) through Twilio's webhooks or Telnyx's,
//! and reads what the carrier's mock accepted. `carriers.rs` runs every
//! scenario through both, on one app where a Twilio business (`spartan`)
//! and a Telnyx one (`volt`) run side by side.

use crate::helpers::*;
use mock_carrier::Carrier;

/// Which carrier a scenario goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Twilio,
    Telnyx,
}

pub const BOTH: [Via; 2] = [Via::Twilio, Via::Telnyx];

/// Volt's tracking number (Telnyx) and the phone it rings.
pub const VOLT: &str = "+13125550100";
pub const VOLT_RING: &str = "+13125550199";

/// A Telnyx business shaped like `spartan` of [`DEFAULT_BUSINESS`].
pub const TELNYX_BUSINESS: &str = r#"
[[business]]
id = "volt"
name = "Volt Plumbing"
time_zone = "America/Chicago"
provider = "telnyx"
numbers = ["+13125550100"]
ring_phone = "+13125550199"
ring_seconds = 20
hours = { mon = "07:00-18:00", tue = "07:00-18:00", wed = "07:00-18:00", thu = "07:00-18:00", fri = "07:00-18:00" }
senders = { "+13125550100" = { registration = "10dlc", campaign_id = "CVOLT0001", status = "registered", mps = 1000 } }
follow_ups = []

[business.telnyx]
messaging_profile_id = "40017f5a-5ad1-4b6c-9d4e-0a1b2c3d4e5f"
connection_id = "1494404757140276705"
"#;

/// Spartan on Twilio, Acme on Twilio, Volt on Telnyx.
pub fn both_businesses() -> String {
    format!("{DEFAULT_BUSINESS}{TELNYX_BUSINESS}")
}

impl Via {
    /// The number callers dial.
    pub fn tracking(self) -> &'static str {
        match self {
            Via::Twilio => TRACKING,
            Via::Telnyx => VOLT,
        }
    }

    pub fn business_name(self) -> &'static str {
        match self {
            Via::Twilio => "Spartan Plumbing",
            Via::Telnyx => "Volt Plumbing",
        }
    }

    /// A caller of this carrier's business (`n` picks another one), so
    /// the two carriers' leads never meet in one test.
    pub fn caller(self, n: u32) -> String {
        match self {
            Via::Twilio => format!("+1512555{:04}", 3000 + n),
            Via::Telnyx => format!("+1512555{:04}", 4000 + n),
        }
    }

    /// Where its call-flow callbacks are served.
    pub fn voice_path(self) -> &'static str {
        match self {
            Via::Twilio => "/webhooks/twilio/voice",
            Via::Telnyx => "/webhooks/telnyx/texml",
        }
    }
}

/// A delivery receipt, in neither carrier's words.
#[derive(Debug, Clone, Copy)]
pub enum Receipt {
    Sent,
    Delivered,
    Undelivered,
}

impl TestApp {
    /// The mock carrier `via` sends through.
    pub fn carrier(&self, via: Via) -> &Carrier {
        match via {
            Via::Twilio => self.mock.carrier(),
            Via::Telnyx => self.telnyx.carrier(),
        }
    }

    /// Waits (real time, bounded) until `via`'s carrier has `n` texts.
    pub async fn wait_via(&self, via: Via, n: usize) -> Vec<Sent> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.carrier(via).sent().len() < n && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        self.carrier(via).sent()
    }

    /// A call to `via`'s business that nobody answered: the dial result.
    /// (`call_sid` gets each carrier's shape: `CA…`, `v3:…`.)
    pub async fn missed_via(&self, via: Via, call_sid: &str, from: &str) -> reqwest::Response {
        match via {
            Via::Twilio => {
                self.dial_result(&format!("CA{call_sid}"), from, TRACKING, "no-answer")
                    .await
            }
            Via::Telnyx => {
                let call_sid = format!("v3:{call_sid}");
                self.post_texml(
                    "/webhooks/telnyx/texml/dial",
                    &[
                        ("AccountSid", "6a09cdc3-8948-47f0-aa62-74ac943d6c58"),
                        ("CallSid", &call_sid),
                        ("From", from),
                        ("To", VOLT),
                        ("CallStatus", "in-progress"),
                        ("DialCallStatus", "no-answer"),
                        ("DialCallDuration", "0"),
                    ],
                )
                .await
            }
        }
    }

    /// A text from `from` to `via`'s business (`id` gets each carrier's
    /// shape: `SM…`, a UUID-like one).
    pub async fn text_via(&self, via: Via, id: &str, from: &str, body: &str) -> reqwest::Response {
        match via {
            Via::Twilio => self.sms(&format!("SM{id}"), from, body).await,
            Via::Telnyx => {
                let event = MockTelnyx::event(
                    &format!("ev-{id}"),
                    "message.received",
                    MockTelnyx::inbound_text(&format!("b301ed3f-{id}"), from, VOLT, body),
                );
                self.post_telnyx(&event).await
            }
        }
    }

    /// A delivery receipt for `sent`, with a carrier error code if any.
    pub async fn receipt_via(
        &self,
        via: Via,
        sent: &Sent,
        receipt: Receipt,
        code: Option<&str>,
    ) -> reqwest::Response {
        match via {
            Via::Twilio => {
                let status = match receipt {
                    Receipt::Sent => "sent",
                    Receipt::Delivered => "delivered",
                    Receipt::Undelivered => "undelivered",
                };
                self.post_twilio(
                    "/webhooks/twilio/sms/status",
                    &[
                        ("MessageSid", sent.sid.as_str()),
                        ("MessageStatus", status),
                        ("From", sent.from.as_str()),
                        ("To", sent.to.as_str()),
                        ("ErrorCode", code.unwrap_or("")),
                    ],
                )
                .await
            }
            Via::Telnyx => {
                let (event_type, status) = match receipt {
                    Receipt::Sent => ("message.sent", "sent"),
                    Receipt::Delivered => ("message.finalized", "delivered"),
                    Receipt::Undelivered => ("message.finalized", "delivery_failed"),
                };
                let event = MockTelnyx::event(
                    &format!("ev-{}-{status}", sent.sid),
                    event_type,
                    MockTelnyx::delivery_update(sent, status, code),
                );
                self.post_telnyx(&event).await
            }
        }
    }

    /// A Telnyx API v2 event, signed now (by the test clock) with the
    /// mock's key.
    pub async fn post_telnyx(&self, body: &str) -> reqwest::Response {
        let at = self.clock.now_utc().timestamp();
        self.post_telnyx_signed(body, at, &mock_carrier::telnyx::sign(at, body.as_bytes()).1)
            .await
    }

    /// A Telnyx event with the given timestamp and signature headers.
    pub async fn post_telnyx_signed(
        &self,
        body: &str,
        timestamp: i64,
        signature: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/webhooks/telnyx", self.url))
            .header("content-type", "application/json")
            .header("telnyx-timestamp", timestamp.to_string())
            .header("telnyx-signature-ed25519", signature)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// A TeXML callback (form-encoded), signed as Telnyx signs it.
    pub async fn post_texml(&self, path: &str, params: &[(&str, &str)]) -> reqwest::Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let at = self.clock.now_utc().timestamp();
        let (ts, sig) = mock_carrier::telnyx::sign(at, body.as_bytes());
        self.http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("telnyx-timestamp", ts)
            .header("telnyx-signature-ed25519", sig)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The newest lead of `caller`, if any (admin API).
    pub async fn leads_of(&self, caller: &str) -> Vec<serde_json::Value> {
        let v: serde_json::Value = self
            .admin_get(&format!("/api/v1/leads?caller=%2B{}", &caller[1..]))
            .await
            .json()
            .await
            .unwrap();
        v["leads"].as_array().cloned().unwrap_or_default()
    }
}
