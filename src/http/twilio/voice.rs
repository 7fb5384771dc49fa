//! Twilio's voice webhooks: an incoming call, the `<Dial>` result, call
//! screening, status and voicemail callbacks, the after-hours emergency
//! menu and the on-call page call, each answered with TwiML.
//!
//! Apart from the request checking they share (`twilio/mod.rs`) and from
//! texts (`sms.rs`), so each file is one kind of traffic.

use super::{business, finish, received, verify, voice_url, xml};
use crate::config::Business;
use crate::domain::{mask, MissedTrigger};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::provider::twilio::twiml;
use crate::shell::inbound::{AnswerSource, AnsweredCall, MissedReport};
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;

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
            let screen = b.call_screening.then(|| voice_url(&s, &headers, &uri, &format!("/screen?parent={sid}")));
            tracing::info!(business = %b.id, caller = %mask(from), "ringing the business");
            Ok(xml(twiml::dial(
                b.ring_phone.as_str(),
                b.ring_seconds,
                &voice_url(&s, &headers, &uri, "/dial"),
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
            let recording = voice_url(&s, &headers, &uri, "/recording");
            if b.emergency_menu && b.roster.is_some() {
                // "If this is an emergency, press 1": straight to the on-call tech.
                tracing::info!(business = %b.id, caller = %mask(from), ?outcome, "after-hours call: emergency menu, then voicemail");
                return Ok(xml(twiml::emergency_menu(
                    &b.escalation.emergency_menu(&b.name),
                    &voice_url(&s, &headers, &uri, "/emergency"),
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
                    &voice_url(&s, &headers, &uri, "/recording"),
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
            &voice_url(
                &s,
                &headers,
                &uri,
                &format!("/screen/result?parent={parent}"),
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
        let recording = voice_url(&s, &headers, &uri, "/recording");
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
                let screen = voice_url(&s, &headers, &uri, &format!("/screen?parent={sid}"));
                Ok(xml(twiml::connect_on_call(
                    &b.escalation.emergency_connecting(&b.name),
                    tech.phone.as_str(),
                    25,
                    &voice_url(&s, &headers, &uri, "/emergency/dial"),
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
                    &voice_url(&s, &headers, &uri, "/recording"),
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

/// The flow of a page call, fetched by a carrier that takes a URL rather
/// than the markup (Telnyx TeXML: `?escalation=ID&step=N`): the same page
/// the worker would hand Twilio inline, its keypress posted to `/page`.
pub async fn voice_page_start(
    State(s): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    const KIND: &str = "voice_page_start";
    let r = async {
        let _f = verify(&s, KIND, &headers, &uri, &body)?;
        let (escalation, step) = (
            query_param(&uri, "escalation").and_then(|v| v.parse::<i64>().ok()),
            query_param(&uri, "step").and_then(|v| v.parse::<u32>().ok()),
        );
        let (Some(escalation), Some(step)) = (escalation, step) else {
            return Err(ApiError::BadRequest(
                "missing ?escalation= or ?step= in the page call URL".into(),
            ));
        };
        let Some((_, esc)) = s.shell.store.escalation(escalation).await? else {
            return Err(ApiError::NotFound(format!(
                "unknown escalation {escalation}"
            )));
        };
        let action = voice_url(
            &s,
            &headers,
            &uri,
            &format!("/page?escalation={escalation}&step={step}"),
        );
        Ok(xml(twiml::page_call(&esc.page.script, &action)))
    }
    .await;
    finish(&s, KIND, r)
}
