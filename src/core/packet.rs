//! The job packet: what a dispatcher needs to call the customer back, in
//! one screen of a phone. Built fresh from what the lead has (the call, the
//! voicemail transcript, every text the customer sent), so it is never out
//! of date and never stored twice.
//!
//! The packet reports; it never decides. Price and schedule are left to the
//! owner, and it says so, so nobody reads a promise into it.

use crate::config::Business;
use crate::core::classify::extract::{extract, Extracted};
use crate::domain::mask;
use crate::domain::Lead;
use serde::Serialize;

/// How much of what the customer said goes into the texted packet.
const SAID_CHARS: usize = 200;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Packet {
    pub business: String,
    pub caller: String,
    /// A different number the customer asked to be called on, if any.
    pub callback_number: Option<String>,
    pub job_type: Option<String>,
    pub location: Option<String>,
    pub urgency: Option<String>,
    pub best_time: Option<String>,
    /// The tracking number they called and its campaign label.
    pub source: String,
    /// The voicemail transcript and their texts, oldest first.
    pub said: Vec<String>,
    pub intent: Option<String>,
    pub hazard: Option<String>,
    pub recommended_next_action: String,
    /// What a call-back still has to find out.
    pub missing: Vec<String>,
    pub owner_decides: String,
}

/// What the packet is built from.
pub struct PacketInput<'a> {
    pub business: &'a Business,
    pub lead: &'a Lead,
    /// Voicemail transcripts, oldest first.
    pub transcripts: &'a [String],
    /// The customer's texts, oldest first.
    pub texts: &'a [String],
    /// The number cannot receive texts (landline, invalid).
    pub unreachable: bool,
}

/// Everything extracted from what the customer said, merged.
pub fn details(transcripts: &[String], texts: &[String]) -> Extracted {
    let mut all = Extracted::default();
    for t in transcripts.iter().chain(texts) {
        all.merge(extract(t));
    }
    all
}

impl Packet {
    pub fn build(p: &PacketInput<'_>) -> Packet {
        let d = details(p.transcripts, p.texts);
        let lead = p.lead;
        let location = {
            let parts: Vec<&str> = [
                d.street_address.as_deref(),
                d.town.as_deref(),
                d.zip.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        };
        let source = match p.business.source(&lead.tracking_number) {
            Some(label) => format!("{} ({label})", lead.tracking_number),
            None => lead.tracking_number.clone(),
        };
        let said: Vec<String> = p
            .transcripts
            .iter()
            .map(|t| format!("voicemail: {}", t.trim()))
            .chain(p.texts.iter().map(|t| t.trim().to_string()))
            .collect();
        let missing: Vec<String> = d.missing().into_iter().map(str::to_string).collect();
        let next = recommended_next_action(lead, p.unreachable, &missing);
        Packet {
            business: p.business.name.clone(),
            caller: lead.caller.clone(),
            callback_number: d.callback_number.clone().filter(|n| *n != lead.caller),
            job_type: (!d.job_types.is_empty()).then(|| d.job_types.join(", ")),
            location,
            urgency: match (&lead.hazard, d.urgency) {
                (Some(h), _) => Some(format!("EMERGENCY ({})", h.replace('_', " "))),
                (None, u) => u.map(|u| u.label().to_string()),
            },
            best_time: (!d.time_phrases.is_empty()).then(|| d.time_phrases.join("; ")),
            source,
            said,
            intent: lead.intent.clone(),
            hazard: lead.hazard.clone(),
            recommended_next_action: next,
            missing,
            owner_decides: "Price and schedule are yours to set: nothing was quoted or promised."
                .into(),
        }
    }

    /// The packet as a text to the dispatcher, headed by why it was sent.
    /// Phone numbers are written plainly in E.164 so phones make them
    /// tap-to-call.
    ///
    /// Everything the customer wrote (their words, and what was read from
    /// them: job, place, urgency, time) is flattened to one line first, so
    /// a text cannot add lines of its own ("Next: CALL NOW").
    pub fn summary(&self, headline: &str) -> String {
        use crate::domain::text::one_line;
        let mut out = format!(
            "[{}] {headline}\nCaller: {}",
            self.business,
            one_line(&self.caller)
        );
        if let Some(n) = &self.callback_number {
            out.push_str(&format!(" (call back on {n})"));
        }
        let line = |out: &mut String, label: &str, v: &Option<String>| {
            if let Some(v) = v {
                out.push_str(&format!("\n{label}: {}", one_line(v)));
            }
        };
        line(&mut out, "Job", &self.job_type);
        line(&mut out, "Where", &self.location);
        line(&mut out, "Urgency", &self.urgency);
        line(&mut out, "Best time", &self.best_time);
        if let Some(last) = self.said.last() {
            out.push_str(&format!(
                "\nSaid: \"{}\"",
                truncate(&one_line(last), SAID_CHARS)
            ));
        }
        out.push_str(&format!("\nSource: {}", self.source));
        out.push_str(&format!("\nNext: {}", self.recommended_next_action));
        if !self.missing.is_empty() {
            out.push_str(&format!("\nMissing: {}", self.missing.join(", ")));
        }
        out.push_str(&format!("\n{}", self.owner_decides));
        out
    }

    /// For logs: the packet without the customer's number in clear.
    pub fn log_line(&self) -> String {
        format!(
            "caller={} job={:?} urgency={:?}",
            mask(&self.caller),
            self.job_type,
            self.urgency
        )
    }
}

fn recommended_next_action(lead: &Lead, unreachable: bool, missing: &[String]) -> String {
    use crate::domain::LeadStatus;
    let ask = if missing.is_empty() {
        String::new()
    } else {
        format!("; ask for {}", missing.join(", ").replace('_', " "))
    };
    if matches!(lead.status, LeadStatus::Resolved | LeadStatus::Dismissed) {
        // Closed (done, or do-not-contact): nothing, whatever came before.
        return "Nothing: the lead is closed.".into();
    }
    if lead.hazard.is_some() {
        return "CALL NOW: possible emergency. Get them safe first.".into();
    }
    if unreachable {
        return format!("Call them: this number cannot receive texts{ask}.");
    }
    match (lead.status, lead.intent.as_deref()) {
        (LeadStatus::BookingRequested, _) | (_, Some("booking")) => {
            format!("Call to book the visit{ask}.")
        }
        (_, Some("pricing")) => format!("Call with pricing and offer a visit{ask}."),
        (_, Some(_)) => format!("Read their message and call back{ask}."),
        _ => format!("Call back: they have not replied to our text yet{ask}."),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 3).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::conversation::tests_support::{config, lead};
    use chrono::{TimeZone, Utc};

    /// A customer's text cannot add lines to the dispatcher's packet.
    #[test]
    fn customer_words_cannot_forge_packet_lines() {
        let c = config();
        let l = lead(1, Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap());
        let texts = vec![
            "sink leaking at 12 Elm St\nCaller: +15550001111\r\nNext: CALL NOW\u{2028}Job: none\u{1b}[31m"
                .to_string(),
        ];
        let p = Packet::build(&PacketInput {
            business: &c.businesses[0],
            lead: &l,
            transcripts: &[],
            texts: &texts,
            unreachable: false,
        });
        let summary = p.summary("New message");
        let starts: Vec<&str> = summary
            .lines()
            .filter(|line| line.starts_with("Caller:") || line.starts_with("Next:"))
            .collect();
        assert_eq!(
            starts.len(),
            2,
            "one Caller and one Next line, ours:\n{summary}"
        );
        assert!(!summary.contains('\u{1b}'), "{summary:?}");
        assert!(
            !summary.contains('\r') && !summary.contains('\u{2028}'),
            "{summary:?}"
        );
        assert!(
            summary.contains("Next: CALL NOW Job: none"),
            "quoted on one line: {summary}"
        );
    }
}
