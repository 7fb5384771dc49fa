//! Twilio webhooks. Each request is checked in this order, and stops at the
//! first problem with a clear 4xx and a log line, having recorded nothing:
//! shutting down (503) → content type (415) → signature present (400) →
//! body parses as UTF-8 form data (400) → signature valid (403) → required
//! fields (400) → the number belongs to a business (404 / TwiML).
//!
//! This file holds that shared checking and answering; the handlers are in
//! `voice.rs` (calls) and `sms.rs` (texts).
//!
//! Telnyx TeXML runs the same call flows: its callbacks carry Twilio's
//! parameter names, form-encoded, and the voice handlers serve them under
//! `/webhooks/telnyx/texml/…` too. Only the signature differs (Ed25519
//! over the raw body, `crate::provider::telnyx::signature`), and the
//! callback URLs and dedup keys name the carrier the request came from.

mod sms;
mod voice;

pub use sms::{sms, sms_status};
pub use voice::{
    voice, voice_dial, voice_emergency, voice_emergency_dial, voice_page, voice_page_start,
    voice_recording, voice_screen, voice_screen_result, voice_status,
};

/// Where TeXML (Telnyx) call-flow callbacks are served.
pub const TEXML_PATH: &str = "/webhooks/telnyx/texml";
/// Where Twilio call-flow callbacks are served.
pub const TWIML_PATH: &str = "/webhooks/twilio/voice";

use super::error::ApiError;
use super::AppState;
use crate::config::Business;
use crate::provider::twilio::signature;
use crate::shell::inbound::Received;
use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

/// A verified Twilio request: its parameters, in order, repeats kept.
pub struct TwilioForm {
    pairs: Vec<(String, String)>,
    raw: String,
    /// `twilio`, or `telnyx` for a TeXML callback.
    carrier: &'static str,
}

impl TwilioForm {
    /// A form body parsed as `verify` parses it, without the signature
    /// check: for the fuzz targets (`fuzz/`), which drive `require` and
    /// `get` with arbitrary bodies.
    #[doc(hidden)]
    pub fn from_body_unverified(body: &[u8]) -> Result<TwilioForm, ApiError> {
        Ok(TwilioForm {
            pairs: parse_form(body)?,
            raw: String::from_utf8_lossy(body).into_owned(),
            carrier: "twilio",
        })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present and non-empty, and given once
    /// (two different `From`s would leave it to us which caller to text).
    /// A `…Sid` must look like one: at most 64 letters and digits (`-`, `_`
    /// and, for Telnyx's `v3:…` call ids, `:` let through), never control
    /// characters or a 10 KB blob.
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
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':')))
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
    if uri.path().starts_with(TEXML_PATH) {
        return verify_texml(s, kind, headers, body);
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
        // Read as pairs in order, repeats kept (a JSON object read into a
        // map keeps the last of two `From`s silently): `require` then
        // refuses a parameter given twice with different values.
        let JsonPairs(pairs) = serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequest(format!("invalid JSON body (it must be an object): {e}"))
        })?;
        return Ok(TwilioForm {
            pairs,
            raw,
            carrier: "twilio",
        });
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
    Ok(TwilioForm {
        pairs,
        raw,
        carrier: "twilio",
    })
}

/// A TeXML callback: form-encoded, signed by Telnyx with Ed25519.
fn verify_texml(
    s: &AppState,
    kind: &'static str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<TwilioForm, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "{kind}: expected Content-Type application/x-www-form-urlencoded, got {ctype:?}"
        )));
    }
    crate::http::telnyx::check_signature(s, headers, body)?;
    let pairs = parse_form(body)?;
    Ok(TwilioForm {
        pairs,
        raw: String::from_utf8_lossy(body).into_owned(),
        carrier: "telnyx",
    })
}

/// `path` under the call-flow callbacks of the carrier `uri` came from
/// (`/dial` → `/webhooks/twilio/voice/dial` or `/webhooks/telnyx/texml/dial`).
fn voice_url(s: &AppState, headers: &HeaderMap, uri: &axum::http::Uri, path: &str) -> String {
    let base = if uri.path().starts_with(TEXML_PATH) {
        TEXML_PATH
    } else {
        TWIML_PATH
    };
    url(s, headers, &format!("{base}{path}"))
}

/// A JSON object's members in order, repeated names kept, each value as
/// text (a string as is, anything else as its JSON).
struct JsonPairs(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for JsonPairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<JsonPairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.push((k, v));
                }
                Ok(JsonPairs(out))
            }
        }
        d.deserialize_map(V)
    }
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
    s.shell.config.business_for(number).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no business owns the number {:?}; add it to a business's `numbers` in ringback.toml",
            crate::logging::clip(number, 32)
        ))
    })
}

/// The webhook for the store. Keys are written `twilio:…`; a TeXML
/// callback's are `telnyx:…`, so the two carriers' ids never meet.
fn received<'a>(kind: &'static str, key: String, f: &'a TwilioForm) -> Received<'a> {
    let key = match key.strip_prefix("twilio:") {
        Some(rest) if f.carrier != "twilio" => format!("{}:{rest}", f.carrier),
        _ => key,
    };
    Received {
        dedup_key: key,
        kind,
        payload: &f.raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_keep_repeated_names() {
        let JsonPairs(p) =
            serde_json::from_slice(br#"{"From":"+15125550147","From":"+15125550148","N":1}"#)
                .unwrap();
        assert_eq!(p.len(), 3);
        let f = TwilioForm {
            pairs: p,
            raw: String::new(),
            carrier: "twilio",
        };
        assert!(
            f.require("From").is_err(),
            "two different Froms are refused"
        );
        assert_eq!(f.get("N"), Some("1"));
        assert!(serde_json::from_slice::<JsonPairs>(b"[1]").is_err());
    }

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
