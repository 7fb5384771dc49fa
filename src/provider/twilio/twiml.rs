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

// ---------------------------------------------------------------------------
// Emergencies
// ---------------------------------------------------------------------------

/// The page call to an on-call tech: reads the packet and asks them to press
/// 1, twice, then hangs up. Pressing any key posts `Digits` to `action`
/// (answer with [`say_and_hangup`]); only "1" accepts. Silence is not an
/// acceptance, so a tech's voicemail picking up never takes the job: the
/// escalation simply times out to the next person.
///
/// Two `<Gather>`s because a `<Gather>` that hears nothing falls through to
/// the next verb; the second one is the "repeat once".
pub fn page_call(script: &str, action: &str) -> String {
    let gather = |intro: &str| {
        format!(
            r#"<Gather action="{}" method="POST" numDigits="1" timeout="8"><Say>{}{}</Say><Say>Press 1 to accept this emergency.</Say></Gather>"#,
            esc(action),
            intro,
            esc(script)
        )
    };
    doc(&format!(
        "{}{}<Say>No answer. We will page the next person. Goodbye.</Say><Hangup />",
        gather(""),
        gather("Again. ")
    ))
}

/// The after-hours menu: "press 1 if this is an emergency such as a gas
/// smell, flooding or no heat; otherwise stay on the line to leave a
/// message". A 1 posts to `action` (answer with [`connect_on_call`]); any
/// other key also posts there and should get the voicemail. Saying nothing
/// falls through to the voicemail right here, so the menu never strands a
/// caller who does not press anything.
pub fn emergency_menu(
    prompt: &str,
    action: &str,
    voicemail_greeting: &str,
    recording_callback: &str,
) -> String {
    doc(&format!(
        r#"<Gather action="{}" method="POST" numDigits="1" timeout="5"><Say>{}</Say></Gather><Say>{}</Say><Record action="{cb}" maxLength="120" playBeep="true" timeout="5" transcribe="true" transcribeCallback="{cb}" trim="trim-silence" /><Hangup />"#,
        esc(action),
        esc(prompt),
        esc(voicemail_greeting),
        cb = esc(recording_callback)
    ))
}

/// Connects an emergency caller straight to the on-call tech. When that leg
/// ends Twilio posts `DialCallStatus` to `action`: if nobody answered, reply
/// with [`voicemail`] (an emergency greeting) and start the escalation, so a
/// missed connect still pages the whole chain. `screen_url` makes the tech
/// press 1 ([`screen`]), so their own voicemail cannot swallow the call.
pub fn connect_on_call(
    say_first: &str,
    number: &str,
    timeout_secs: u32,
    action: &str,
    caller_id: Option<&str>,
    screen_url: Option<&str>,
) -> String {
    let dial = dial(number, timeout_secs, action, caller_id, screen_url);
    let inner = dial
        .split_once("<Response>")
        .map(|(_, rest)| rest.trim_end_matches("</Response>"))
        .unwrap_or_default();
    doc(&format!("<Say>{}</Say>{inner}", esc(say_first)))
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

    #[test]
    fn page_call_asks_twice_then_hangs_up() {
        let x = page_call("Gas smell at 12 Oak & Main.", "https://h/page/7/0?x=1&y=2");
        let gather = r#"<Gather action="https://h/page/7/0?x=1&amp;y=2" method="POST" numDigits="1" timeout="8">"#;
        assert_eq!(x.matches(gather).count(), 2, "{x}");
        assert_eq!(x.matches("Press 1 to accept this emergency.").count(), 2);
        assert!(x.contains("<Say>Gas smell at 12 Oak &amp; Main.</Say>"));
        assert!(x.contains("<Say>Again. Gas smell at 12 Oak &amp; Main.</Say>"));
        assert!(x.ends_with("Goodbye.</Say><Hangup /></Response>"), "{x}");
        assert!(x.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather"#));
    }

    #[test]
    fn emergency_menu_falls_through_to_voicemail() {
        let x = emergency_menu(
            "If this is an emergency such as a gas smell, flooding or no heat, press 1.",
            "https://h/voice/emergency",
            "Please leave a message after the tone.",
            "https://h/voice/recording",
        );
        assert_eq!(
            x,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="https://h/voice/emergency" method="POST" numDigits="1" timeout="5"><Say>If this is an emergency such as a gas smell, flooding or no heat, press 1.</Say></Gather><Say>Please leave a message after the tone.</Say><Record action="https://h/voice/recording" maxLength="120" playBeep="true" timeout="5" transcribe="true" transcribeCallback="https://h/voice/recording" trim="trim-silence" /><Hangup /></Response>"#
        );
    }

    #[test]
    fn connect_on_call_says_then_dials_with_an_action() {
        let x = connect_on_call(
            "Connecting you to our on-call technician.",
            "+15125550111",
            25,
            "https://h/voice/dial?emergency=1",
            Some("+15125550100"),
            Some("https://h/screen"),
        );
        assert_eq!(
            x,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Connecting you to our on-call technician.</Say><Dial action="https://h/voice/dial?emergency=1" answerOnBridge="true" callerId="+15125550100" method="POST" timeout="25"><Number url="https://h/screen">+15125550111</Number></Dial></Response>"#
        );
    }
}
