//! TwiML, the XML Twilio executes on a live call. Attribute names follow what
//! Twilio's own library emits (specs/providers.md §2.5).

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn doc(inner: &str) -> String {
    format!(r#"<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>"#)
}

/// Rings the business phone; when that leg ends Twilio posts to `action`.
/// With `screen_url` the person answering hears a prompt and must press 1,
/// so a cell phone's own voicemail never counts as answered.
/// Without `caller_id` the business phone shows the caller's own number.
pub fn dial(
    number: &str,
    timeout_secs: u32,
    action: &str,
    caller_id: Option<&str>,
    screen_url: Option<&str>,
) -> String {
    let url = screen_url
        .map(|u| format!(r#" url="{}""#, esc(u)))
        .unwrap_or_default();
    let caller_id = caller_id
        .map(|c| format!(r#" callerId="{}""#, esc(c)))
        .unwrap_or_default();
    doc(&format!(
        r#"<Dial action="{}" answerOnBridge="true"{} method="POST" timeout="{}"><Number{}>{}</Number></Dial>"#,
        esc(action),
        caller_id,
        timeout_secs,
        url,
        esc(number)
    ))
}

/// Plays `greeting`, records a voicemail of up to two minutes and asks for a
/// transcription; both callbacks go to `callback`.
pub fn voicemail(greeting: &str, callback: &str) -> String {
    doc(&format!(
        r#"<Say>{}</Say><Record action="{cb}" maxLength="120" playBeep="true" timeout="5" transcribe="true" transcribeCallback="{cb}" trim="trim-silence" /><Hangup />"#,
        esc(greeting),
        cb = esc(callback)
    ))
}

/// The call-screening prompt played to the person who picks up.
pub fn screen(prompt: &str, action: &str) -> String {
    doc(&format!(
        r#"<Gather action="{}" numDigits="1" timeout="6"><Say>{}</Say></Gather><Hangup />"#,
        esc(action),
        esc(prompt)
    ))
}

pub fn say_and_hangup(text: &str) -> String {
    doc(&format!("<Say>{}</Say><Hangup />", esc(text)))
}

pub fn hangup() -> String {
    doc("<Hangup />")
}

/// An empty response: on a screening leg it bridges the call; elsewhere it
/// tells Twilio there is nothing more to do.
pub fn empty() -> String {
    doc("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_matches_twilio_shape() {
        let x = dial(
            "+15558675310",
            20,
            "https://h/x?a=1&b=2",
            Some("+15005550006"),
            Some("https://h/screen"),
        );
        assert_eq!(
            x,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Dial action="https://h/x?a=1&amp;b=2" answerOnBridge="true" callerId="+15005550006" method="POST" timeout="20"><Number url="https://h/screen">+15558675310</Number></Dial></Response>"#
        );
    }

    #[test]
    fn text_is_escaped() {
        assert!(
            say_and_hangup("Tom & Jerry's <HVAC>").contains("Tom &amp; Jerry&apos;s &lt;HVAC&gt;")
        );
        assert!(voicemail("Hi", "https://h/r").contains(r#"transcribeCallback="https://h/r""#));
    }
}
