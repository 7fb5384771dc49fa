//! Twilio webhooks. Each request is checked in this order, and stops at the
//! first problem with a clear 4xx and a log line, having recorded nothing:
//! shutting down (503) → content type (415) → signature present (400) →
//! body parses as UTF-8 form data (400) → signature valid (403) → required
//! fields (400) → the number belongs to a business (404 / TwiML).

use super::error::ApiError;
use super::AppState;
use crate::config::Business;
use crate::domain::{mask, MessageStatus, MissedTrigger};
use crate::provider::twilio::{signature, twiml};
use crate::shell::inbound::{AnswerSource, AnsweredCall, InboundSms, MissedReport, Received};
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

/// A verified Twilio request: its parameters, in order, repeats kept.
pub struct TwilioForm {
    pairs: Vec<(String, String)>,
    raw: String,
}

impl TwilioForm {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present and non-empty, and given once
    /// (two different `From`s would leave it to us which caller to text).
    /// A `…Sid` must look like one: at most 64 letters and digits (`-` and
    /// `_` let through), never control characters or a 10 KB blob.
    pub fn require(&self, name: &'static str) -> Result<&str, ApiError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim());
        let v = match values.next() {
            Some(v) if !v.is_empty() => v,
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "missing required parameter `{name}`"
                )))
            }
        };
        if values.any(|other| other != v) {
            return Err(ApiError::BadRequest(format!(
                "parameter `{name}` is given more than once, with different values"
            )));
        }
        if name.ends_with("Sid")
            && !(v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(ApiError::BadRequest(format!(
                "`{name}` must be a Twilio SID (at most 64 letters and digits); got {} characters",
                v.chars().count()
            )));
        }
        Ok(v)
    }
}

/// Parses `application/x-www-form-urlencoded`, refusing bytes that are not
/// UTF-8 after percent-decoding (a lossy decode would change what was signed).
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("body is not valid UTF-8".into()))?;
    let mut out = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let decode = |s: &str| -> Result<String, ApiError> {
            let plus = s.replace('+', " ");
            percent_encoding::percent_decode_str(&plus)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| ApiError::BadRequest(format!("form field {k:?} is not valid UTF-8")))
        };
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

/// [`parse_form`] for a body it refuses: bytes that are not UTF-8 become
/// U+FFFD, so the signature can still be checked before the body is.
fn parse_form_lossy(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `path` (with its query) under the URL Twilio calls us at: our public base
/// URL, so it matches what Twilio signed even behind Fly's proxy, or in
/// local development the request's own Host. Used both to check signatures
/// and to build the callback URLs we hand Twilio.
fn url(s: &AppState, headers: &HeaderMap, path: &str) -> String {
    match &s.public_url {
        Some(base) => format!("{base}{path}"),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}{path}")
        }
    }
}

/// Verifies and parses a Twilio webhook.
fn verify(
    s: &AppState,
    kind: &'static str,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &Bytes,
) -> Result<TwilioForm, ApiError> {
    if !s.is_accepting() {
        return Err(ApiError::Unavailable("shutting down; please retry".into()));
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = mime == "application/json";
    if mime != "application/x-www-form-urlencoded" && !is_json {
        return Err(ApiError::UnsupportedMediaType(format!(
            "{kind}: expected Content-Type application/x-www-form-urlencoded, got {:?}",
            ctype
        )));
    }
    let sig = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::MissingSignature(
            "X-Twilio-Signature header is required",
        ))?;
    let algorithm = signature::Algorithm::from_settings_header(
        headers
            .get("x-twilio-webhooks-signature-settings")
            .and_then(|v| v.to_str().ok()),
    );
    let url = url(
        s,
        headers,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
    );
    let Some(key) = s.webhook_keys.for_algorithm(algorithm) else {
        // Without the key we cannot tell a real request from a forgery.
        // (Anyone can send that header: the log line is kept to one a
        // minute.)
        if shared_key_warning_due(std::time::Instant::now()) {
            tracing::warn!(
                kind,
                "webhook signed with HMAC-SHA256 (a Twilio webhook shared key) but TWILIO_WEBHOOK_SHARED_KEY is not set; set it to that key's secret"
            );
        }
        return Err(ApiError::SharedKeyMissing);
    };
    let raw = String::from_utf8_lossy(body).into_owned();
    if is_json {
        if !signature::validate_json(key, sig, &url, body, algorithm) {
            return Err(ApiError::BadSignature);
        }
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| ApiError::BadRequest("JSON body must be an object".into()))?;
        let pairs = obj
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect();
        return Ok(TwilioForm { pairs, raw });
    }
    let pairs = match parse_form(body) {
        Ok(pairs) => pairs,
        Err(undecodable) => {
            // The signature still comes first: a forged request is a 403
            // (which the limiter counts) whatever its body holds, not a
            // 400 that would let it knock forever.
            if !signature::validate(key, sig, &url, &parse_form_lossy(body), algorithm) {
                return Err(ApiError::BadSignature);
            }
            return Err(undecodable);
        }
    };
    if !signature::validate(key, sig, &url, &pairs, algorithm) {
        return Err(ApiError::BadSignature);
    }
    Ok(TwilioForm { pairs, raw })
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// Logs and counts every webhook's outcome.
fn finish(s: &AppState, kind: &'static str, result: Result<Response, ApiError>) -> Response {
    match result {
        Ok(r) => {
            s.shell.metrics.inc(
                "ringback_webhooks_total",
                &[("kind", kind), ("outcome", "ok")],
            );
            r
        }
        Err(e) => {
            s.shell.metrics.inc(
                "ringback_webhooks_total",
                &[("kind", kind), ("outcome", e.outcome())],
            );
            match &e {
                ApiError::Store(_) => {}
                other => {
                    tracing::warn!(kind, status = other.status().as_u16(), error = %other, "webhook rejected")
                }
            }
            e.into_response()
        }
    }
}

/// At most once a minute: is it time to log the missing shared key again?
fn shared_key_warning_due(now: std::time::Instant) -> bool {
    static LAST: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let due = last.is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_secs(60));
    if due {
        *last = Some(now);
    }
    due
}

fn business<'a>(s: &'a AppState, number: &str) -> Result<&'a Business, ApiError> {
    s.shell
        .config
        .business_for(number)
        .ok_or_else(|| ApiError::NotFound(format!("no business owns the number {number}; add it to a business's `numbers` in ringback.toml")))
}

fn received<'a>(kind: &'static str, key: String, f: &'a TwilioForm) -> Received<'a> {
    Received {
        dedup_key: key,
        kind,
        payload: &f.raw,
    }
}

/// An incoming call: ring the business (optionally screened), or after hours
/// go straight to voicemail — which is a missed call at once.
pub async fn voice(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let (sid, from, to) = (f.require("CallSid")?, f.require("From")?, f.require("To")?);
        let Some(b) = s.shell.config.business_for(to) else {
            tracing::warn!(to, "call to a number no business owns");
            return Ok(xml(twiml::say_and_hangup("Sorry, this number is not in service.")));
        };
        let vars = b.vars(to);
        let now = s.shell.clock.now();
        if b.hours.is_open(b.time_zone, now) {
            s.shell.call_started(b, sid, from, to, &received(KIND, format!("twilio:voice:{sid}"), &f)).await?;
            let screen = b.call_screening.then(|| url(&s, &headers, &format!("/webhooks/twilio/voice/screen?parent={sid}")));
            tracing::info!(business = %b.id, caller = %mask(from), "ringing the business");
            Ok(xml(twiml::dial(
                b.ring_phone.as_str(),
                b.ring_seconds,
                &url(&s, &headers, "/webhooks/twilio/voice/dial"),
                None,
                screen.as_deref(),
            )))
        } else {
            let report = MissedReport {
                business: b,
                call_sid: sid,
                caller: from,
                tracking_number: to,
                trigger: MissedTrigger::AfterHours,
                recording_url: None,
                transcript: None,
            };
            let outcome = s.shell.missed_call(&report, &received(KIND, format!("twilio:voice:{sid}"), &f)).await?;
            let greeting = b.templates.after_hours_greeting.render(&vars);
            let recording = url(&s, &headers, "/webhooks/twilio/voice/recording");
            if b.emergency_menu && b.roster.is_some() {
                // "If this is an emergency, press 1": straight to the on-call tech.
                tracing::info!(business = %b.id, caller = %mask(from), ?outcome, "after-hours call: emergency menu, then voicemail");
                return Ok(xml(twiml::emergency_menu(
                    &b.escalation.emergency_menu(&b.name),
                    &url(&s, &headers, "/webhooks/twilio/voice/emergency"),
                    &greeting,
                    &recording,
                )));
            }
            tracing::info!(business = %b.id, caller = %mask(from), ?outcome, "after-hours call: straight to voicemail");
            Ok(xml(twiml::voicemail(&greeting, &recording)))
        }
    }
    .await;
    finish(&s, KIND, r)
}

/// The `<Dial action>` result: unanswered → missed call and voicemail.
pub async fn voice_dial(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_dial";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let (sid, from, to) = (f.require("CallSid")?, f.require("From")?, f.require("To")?);
        let status = f.require("DialCallStatus")?;
        let b = business(&s, to)?;
        let rx = received(KIND, format!("twilio:dial:{sid}"), &f);
        let trigger = match status {
            "no-answer" | "busy" | "failed" | "canceled" => Some(MissedTrigger::DialResult),
            "completed" | "answered" => {
                if b.call_screening && !s.shell.was_screen_accepted(sid).await? {
                    Some(MissedTrigger::ScreenNotAccepted)
                } else {
                    None
                }
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown DialCallStatus {other:?} (expected completed, answered, busy, no-answer, failed or canceled)"
                )))
            }
        };
        match trigger {
            Some(trigger) => {
                let report = MissedReport { business: b, call_sid: sid, caller: from, tracking_number: to, trigger, recording_url: None, transcript: None };
                let outcome = s.shell.missed_call(&report, &rx).await?;
                tracing::info!(business = %b.id, caller = %mask(from), dial_status = status, ?outcome, "missed call");
                if status == "canceled" {
                    // The caller hung up: nobody is there to hear a prompt.
                    return Ok(xml(twiml::hangup()));
                }
                let vars = b.vars(to);
                Ok(xml(twiml::voicemail(
                    &b.templates.voicemail_greeting.render(&vars),
                    &url(&s, &headers, "/webhooks/twilio/voice/recording"),
                )))
            }
            None => {
                let secs = f.get("DialCallDuration").and_then(|d| d.trim().parse().ok()).unwrap_or(0);
                s.shell.call_answered(&AnsweredCall { business: b, call_sid: sid, caller: from, to, seconds: secs, source: AnswerSource::Dial }, &rx).await?;
                Ok(xml(twiml::hangup()))
            }
        }
    }
    .await;
    finish(&s, KIND, r)
}

/// Call screening, played to whoever picks up the business phone.
pub async fn voice_screen(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_screen";
    let r = async {
        let _f = verify(&s, KIND, &headers, &uri, &body)?;
        let (parent, call, b) = screened_call(&s, &uri).await?;
        let vars = b.vars(&call.tracking_number);
        Ok(xml(twiml::screen(
            &b.templates.screen_prompt.render(&vars),
            &url(
                &s,
                &headers,
                &format!("/webhooks/twilio/voice/screen/result?parent={parent}"),
            ),
        )))
    }
    .await;
    finish(&s, KIND, r)
}

/// The screening keypress: 1 accepts (an empty response bridges the call).
pub async fn voice_screen_result(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_screen_result";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let (parent, call, b) = screened_call(&s, &uri).await?;
        if f.get("Digits").map(str::trim) == Some("1") {
            let rx = received(KIND, format!("twilio:screen:{parent}"), &f);
            s.shell
                .screen_accepted(b, &parent, &call.caller, &call.tracking_number, &rx)
                .await?;
            Ok(xml(twiml::empty()))
        } else {
            Ok(xml(twiml::hangup()))
        }
    }
    .await;
    finish(&s, KIND, r)
}

/// Status callbacks, for numbers whose calls ringback does not front.
pub async fn voice_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_status";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let (sid, from, to) = (f.require("CallSid")?, f.require("From")?, f.require("To")?);
        let status = f.require("CallStatus")?;
        let b = business(&s, to)?;
        let seq = f.get("SequenceNumber").unwrap_or("");
        let rx = received(KIND, format!("twilio:status:{sid}:{status}:{seq}"), &f);
        match status {
            "no-answer" | "busy" | "failed" | "canceled" => {
                let report = MissedReport { business: b, call_sid: sid, caller: from, tracking_number: to, trigger: MissedTrigger::StatusCallback, recording_url: None, transcript: None };
                let outcome = s.shell.missed_call(&report, &rx).await?;
                tracing::info!(business = %b.id, caller = %mask(from), call_status = status, ?outcome, "missed call (status callback)");
            }
            "completed" => {
                let secs = f.get("CallDuration").and_then(|d| d.trim().parse().ok()).unwrap_or(0);
                s.shell.call_answered(&AnsweredCall { business: b, call_sid: sid, caller: from, to, seconds: secs, source: AnswerSource::StatusCallback }, &rx).await?;
            }
            "queued" | "ringing" | "in-progress" | "initiated" | "answered" => {}
            other => return Err(ApiError::BadRequest(format!("unknown CallStatus {other:?}"))),
        }
        Ok(xml(twiml::empty()))
    }
    .await;
    finish(&s, KIND, r)
}

/// Voicemail: the `<Record action>` callback and the transcription callback.
pub async fn voice_recording(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_recording";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let (sid, from, to) = (f.require("CallSid")?, f.require("From")?, f.require("To")?);
        let b = business(&s, to)?;
        let recording_sid = f.get("RecordingSid").unwrap_or("");
        let transcript = f.get("TranscriptionText").filter(|t| !t.trim().is_empty());
        let which = f
            .get("TranscriptionSid")
            .unwrap_or(if transcript.is_some() {
                "transcript"
            } else {
                "recording"
            });
        let rx = received(
            KIND,
            format!("twilio:recording:{sid}:{recording_sid}:{which}"),
            &f,
        );
        let report = MissedReport {
            business: b,
            call_sid: sid,
            caller: from,
            tracking_number: to,
            trigger: MissedTrigger::Voicemail,
            recording_url: f.get("RecordingUrl"),
            transcript,
        };
        let outcome = s.shell.missed_call(&report, &rx).await?;
        tracing::info!(business = %b.id, caller = %mask(from), ?outcome, "voicemail");
        Ok(xml(twiml::hangup()))
    }
    .await;
    finish(&s, KIND, r)
}

/// An incoming text.
pub async fn sms(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "sms";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let (sid, from, to) = (
            f.require("MessageSid")?,
            f.require("From")?,
            f.require("To")?,
        );
        let text = f.get("Body").unwrap_or("");
        let b = business(&s, to)?;
        let rx = received(KIND, format!("twilio:sms:{sid}"), &f);
        let outcome = s
            .shell
            .inbound_sms(
                &InboundSms {
                    business: b,
                    message_sid: sid,
                    from,
                    to,
                    body: text,
                },
                &rx,
            )
            .await?;
        tracing::info!(business = %b.id, from = %mask(from), ?outcome, "inbound text");
        Ok(xml(twiml::empty()))
    }
    .await;
    finish(&s, KIND, r)
}

/// Delivery status of a text we sent. Callbacks can arrive out of order; the
/// store never moves a message backwards.
pub async fn sms_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "sms_status";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let sid = f.require("MessageSid")?;
        let status_raw = f
            .get("MessageStatus")
            .or(f.get("SmsStatus"))
            .ok_or_else(|| {
                ApiError::BadRequest("missing required parameter `MessageStatus`".into())
            })?;
        let from = f.require("From")?;
        let b = business(&s, from)?;
        let status = match status_raw {
            "queued" | "accepted" | "scheduled" | "sending" => MessageStatus::Sending,
            "sent" => MessageStatus::Sent,
            "delivered" | "read" => MessageStatus::Delivered,
            "undelivered" => MessageStatus::Undelivered,
            "failed" | "canceled" => MessageStatus::Failed,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown MessageStatus {other:?}"
                )))
            }
        };
        let code = f
            .get("ErrorCode")
            .filter(|c| !c.trim().is_empty() && *c != "0");
        let rx = received(KIND, format!("twilio:sms-status:{sid}:{status_raw}"), &f);
        let known = s
            .shell
            .delivery_status(&b.id, sid, status, code, &rx)
            .await?;
        if !known {
            tracing::info!(
                sid,
                "status callback repeated, or for a message not recorded (yet): kept for a second look; answered 200 so the carrier stops"
            );
        }
        Ok(xml(twiml::empty()))
    }
    .await;
    finish(&s, KIND, r)
}

/// The call being screened, named by the `parent` query parameter we put
/// in the screening URLs, and its business.
async fn screened_call<'a>(
    s: &'a AppState,
    uri: &axum::http::Uri,
) -> Result<(String, crate::domain::Call, &'a Business), ApiError> {
    let parent = query_param(uri, "parent")
        .ok_or_else(|| ApiError::BadRequest("missing `parent` query parameter".into()))?;
    let call = s
        .shell
        .store
        .call(&parent)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("unknown parent call {parent}")))?;
    let b = business(s, &call.tracking_number)?;
    Ok((parent, call, b))
}

fn query_param(uri: &axum::http::Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// The after-hours menu's keypress: 1 connects the caller to whoever is on
/// call now; anything else (or nothing) leaves a voicemail.
pub async fn voice_emergency(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_emergency";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let to = f.require("To")?;
        let b = business(&s, to)?;
        let recording = url(&s, &headers, "/webhooks/twilio/voice/recording");
        let on_call = b
            .roster
            .as_ref()
            .and_then(|r| r.chain_at(s.shell.clock.now()).into_iter().next());
        match (f.get("Digits").map(str::trim), on_call) {
            (Some("1"), Some(tech)) => {
                let sid = f.require("CallSid")?;
                tracing::warn!(business = %b.id, caller = %mask(f.get("From").unwrap_or("")), tech = %tech.name, "after-hours emergency: connecting the caller to the on-call tech");
                // Screened: the tech must press 1, so their phone's own
                // voicemail never counts as someone taking the emergency.
                let screen = url(&s, &headers, &format!("/webhooks/twilio/voice/screen?parent={sid}"));
                Ok(xml(twiml::connect_on_call(
                    &b.escalation.emergency_connecting(&b.name),
                    tech.phone.as_str(),
                    25,
                    &url(&s, &headers, "/webhooks/twilio/voice/emergency/dial"),
                    Some(to),
                    Some(&screen),
                )))
            }
            _ => {
                let vars = b.vars(to);
                Ok(xml(twiml::voicemail(
                    &b.templates.after_hours_greeting.render(&vars),
                    &recording,
                )))
            }
        }
    }
    .await;
    finish(&s, KIND, r)
}

/// The on-call tech's leg of an after-hours emergency ended. Answered: they
/// have it. Not answered: an emergency lead, and the whole chain is paged
/// while the caller leaves a message.
pub async fn voice_emergency_dial(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_emergency_dial";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let (sid, _from, to) = (f.require("CallSid")?, f.require("From")?, f.require("To")?);
        let status = f.require("DialCallStatus")?;
        let b = business(&s, to)?;
        let rx = received(KIND, format!("twilio:emergency_dial:{sid}"), &f);
        match status {
            "completed" | "answered" if s.shell.was_screen_accepted(sid).await? => {
                let secs = f
                    .get("DialCallDuration")
                    .and_then(|d| d.trim().parse().ok())
                    .unwrap_or(0);
                s.shell.ivr_emergency_connected(b, sid, secs, &rx).await?;
                Ok(xml(twiml::hangup()))
            }
            _ => {
                s.shell.ivr_emergency_unanswered(b, sid, &rx).await?;
                Ok(xml(twiml::voicemail(
                    &b.escalation.emergency_no_answer(&b.name),
                    &url(&s, &headers, "/webhooks/twilio/voice/recording"),
                )))
            }
        }
    }
    .await;
    finish(&s, KIND, r)
}

/// A key pressed on a page call (`?escalation=ID&step=N`): 1 takes the
/// emergency; the tech hears the caller's number.
pub async fn voice_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_page";
    let r = async {
        let f = verify(&s, KIND, &headers, &uri, &body)?;
        let sid = f.require("CallSid")?;
        // On a call we placed, `To` is the tech we called.
        let tech = f.require("To")?;
        let escalation: i64 = query_param(&uri, "escalation")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                ApiError::BadRequest("missing ?escalation= in the page callback URL".into())
            })?;
        let digits = f.get("Digits").unwrap_or("").trim();
        let rx = received(KIND, format!("twilio:page:{sid}:{digits}"), &f);
        let caller = s.shell.page_keypress(escalation, tech, digits, &rx).await?;
        let b = s.shell.config.business_for(f.get("From").unwrap_or(""));
        match (caller, b) {
            (Some(caller), Some(b)) => Ok(xml(twiml::say_and_hangup(
                &b.escalation.page_accepted(&caller),
            ))),
            _ => Ok(xml(twiml::say_and_hangup("Understood. Goodbye."))),
        }
    }
    .await;
    finish(&s, KIND, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_parsing_keeps_repeats_and_rejects_bad_utf8() {
        let p = parse_form(b"From=%2B15125550147&Body=hi+there&Digits=1&Digits=2").unwrap();
        assert_eq!(p[0], ("From".into(), "+15125550147".into()));
        assert_eq!(p[1].1, "hi there");
        assert_eq!(p.len(), 4);
        assert!(parse_form(b"Body=%FF%FE").is_err());
        assert!(parse_form(&[0x42, 0x6f, 0x64, 0x79, 0x3d, 0xff]).is_err());
        assert_eq!(
            parse_form(b"Trunc").unwrap(),
            vec![("Trunc".into(), "".into())]
        );
    }
}
