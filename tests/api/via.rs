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

/// Who works for each carrier's business when it has an on-call roster
/// ([`on_call_businesses`]).
pub struct Staff {
    pub office: &'static str,
    /// The primary on call, paged first.
    pub mike: &'static str,
    /// The backup, paged when Mike does not take it in time.
    pub luis: &'static str,
}

/// The app's base URL as the carriers know it: Telnyx fetches a page
/// call's TeXML from it, so the emergency scenarios run with it set.
pub const PUBLIC_URL: &str = "https://ringback.example.com";

impl Via {
    pub fn staff(self) -> Staff {
        match self {
            Via::Twilio => Staff {
                office: "+15125550177",
                mike: "+15125550111",
                luis: "+15125550112",
            },
            Via::Telnyx => Staff {
                office: "+13125550177",
                mike: "+13125550111",
                luis: "+13125550112",
            },
        }
    }
}

/// Spartan on Twilio and Volt on Telnyx, each with a dispatcher and an
/// on-call roster (Mike, then Luis, 5 minutes each).
pub fn on_call_businesses() -> String {
    let business = |via: Via, id: &str, ring: &str, carrier: &str| {
        let s = via.staff();
        format!(
            r#"
[[business]]
id = "{id}"
name = "{name}"
time_zone = "America/Chicago"
numbers = ["{tracking}"]
ring_phone = "{ring}"
dispatcher_phone = "{office}"
follow_ups = []
hours = {{ mon = "07:00-18:00", tue = "07:00-18:00", wed = "07:00-18:00", thu = "07:00-18:00", fri = "07:00-18:00" }}
senders = {{ "{tracking}" = {{ registration = "10dlc", campaign_id = "C{id}01", status = "registered", mps = 1000 }} }}
{carrier}
[business.on_call]
owner = "Mike"
ack_timeout_minutes = 5
people = [ {{ name = "Mike", phone = "{mike}" }}, {{ name = "Luis", phone = "{luis}" }} ]

[[business.on_call.rotation]]
days = "daily"
hours = "all day"
primary = "Mike"
backup = "Luis"
"#,
            name = via.business_name(),
            tracking = via.tracking(),
            office = s.office,
            mike = s.mike,
            luis = s.luis,
        )
    };
    let telnyx = r#"provider = "telnyx"

[business.telnyx]
messaging_profile_id = "40017f5a-5ad1-4b6c-9d4e-0a1b2c3d4e5f"
connection_id = "1494404757140276705"
"#;
    format!(
        "{}{}",
        business(Via::Twilio, "spartan", RING_PHONE, ""),
        business(Via::Telnyx, "volt", VOLT_RING, telnyx),
    )
}

impl TestApp {
    /// Pages (texts) `who` got from `via`'s business: the first page and
    /// any re-page.
    pub fn pages_via(&self, via: Via, who: &str) -> usize {
        self.carrier(via)
            .bodies_to(who)
            .iter()
            .filter(|b| b.starts_with("EMERGENCY") || b.starts_with("STILL OPEN"))
            .count()
    }

    /// Page calls `via` placed to `who`.
    pub fn page_calls_via(&self, via: Via, who: &str) -> Vec<mock_carrier::Placed> {
        let calls = self.carrier(via).calls();
        calls.into_iter().filter(|c| c.to == who).collect()
    }

    /// `who` answers the page call `call` and presses `digits`, as each
    /// carrier runs it: Twilio got the markup with the call; Telnyx fetches
    /// it from our public URL when the call is answered. Returns what the
    /// call says after the keypress.
    pub async fn press_on_page_call(
        &self,
        via: Via,
        call: &mock_carrier::Placed,
        digits: &str,
    ) -> String {
        let sid = match via {
            Via::Twilio => "CApage",
            Via::Telnyx => "v3:page",
        };
        let mut leg = vec![
            ("CallSid", sid),
            ("From", via.tracking()),
            ("To", call.to.as_str()),
            ("CallStatus", "in-progress"),
        ];
        let flow = match via {
            Via::Twilio => call.instructions.clone(),
            Via::Telnyx => {
                let path = call
                    .instructions
                    .strip_prefix(PUBLIC_URL)
                    .unwrap_or_else(|| panic!("fetched from our public URL: {call:?}"));
                assert!(
                    path.starts_with("/webhooks/telnyx/texml/page/start?"),
                    "{path}"
                );
                let r = self.post_texml(path, &leg).await;
                assert_eq!(r.status(), 200, "{path}");
                r.text().await.unwrap()
            }
        };
        assert!(flow.contains("Press 1 to accept"), "{via:?}: {flow}");
        let action = flow
            .split("action=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("{via:?}: no keypress action in {flow}"))
            .replace("&amp;", "&");
        let path = action
            .strip_prefix(PUBLIC_URL)
            .unwrap_or_else(|| panic!("{via:?}: the keypress comes back to us: {action}"));
        assert!(path.starts_with(via.voice_path()), "{via:?}: {path}");
        leg.push(("Digits", digits));
        let r = match via {
            Via::Twilio => self.post_twilio(path, &leg).await,
            Via::Telnyx => self.post_texml(path, &leg).await,
        };
        assert_eq!(r.status(), 200, "{via:?}: {path}");
        r.text().await.unwrap()
    }

    /// A voicemail left with `via`'s business, with its transcription.
    pub async fn voicemail_via(
        &self,
        via: Via,
        call_sid: &str,
        from: &str,
        transcript: &str,
    ) -> reqwest::Response {
        let path = format!("{}/recording", via.voice_path());
        let (sid, recording) = match via {
            Via::Twilio => (format!("CA{call_sid}"), format!("RE{call_sid}")),
            Via::Telnyx => (format!("v3:{call_sid}"), format!("rec-{call_sid}")),
        };
        let form = [
            ("CallSid", sid.as_str()),
            ("From", from),
            ("To", via.tracking()),
            ("RecordingSid", recording.as_str()),
            ("RecordingUrl", "https://recordings.example/r.mp3"),
            ("TranscriptionStatus", "completed"),
            ("TranscriptionText", transcript),
        ];
        match via {
            Via::Twilio => self.post_twilio(&path, &form).await,
            Via::Telnyx => self.post_texml(&path, &form).await,
        }
    }

    /// Restarts the app as in production: with [`PUBLIC_URL`] (where
    /// carriers call us and fetch call flows from).
    pub async fn behind_public_url(&mut self) {
        self.public_url = Some(PUBLIC_URL.into());
        self.crash_and_restart().await;
    }
}
