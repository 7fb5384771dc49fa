//! The scorecard's and the daily review's facts: each lead of a period
//! with its call-backs, whether its caller was texted and opted out, and
//! the voicemails the review plays. The figures are `core::scorecard`'s.

use super::db::query;
use super::{get, Result, Store};
use crate::clock::{from_ms, to_ms};
use crate::core::scorecard::{Attempt, LeadFacts, Outcome};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What the review shows of a lead's voicemail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voicemail {
    pub recording_url: Option<String>,
    pub transcript: Option<String>,
}

/// The `AND l.business_id IN (...)` of a person who sees only some
/// businesses, its parameters numbered after `first`. `None`: they see
/// none, nothing to ask.
fn only(businesses: Option<&[String]>, first: usize) -> Option<String> {
    match businesses {
        None => Some(String::new()),
        Some([]) => None,
        Some(bs) => {
            let ph: Vec<String> = (0..bs.len()).map(|i| format!("${}", first + i)).collect();
            Some(format!(" AND l.business_id IN ({})", ph.join(", ")))
        }
    }
}

/// A statement over a period and a person's businesses (`$1`, `$2`, then
/// the businesses).
fn period<'q>(
    sql: &'q str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    businesses: Option<&[String]>,
) -> super::db::Query<'q> {
    let mut q = query(sql).bind(to_ms(since)).bind(to_ms(until));
    for b in businesses.unwrap_or(&[]) {
        q = q.bind(b.clone());
    }
    q
}

/// Reads a call-back's timeline line, "attempt 2 by maria: reached (note)",
/// into who and how. The outcome is the first of the three words that
/// follows ": " and ends the line or opens the note.
fn parse_attempt(detail: &str, at: DateTime<Utc>) -> Option<Attempt> {
    let rest = detail.strip_prefix("attempt ")?;
    let (_, rest) = rest.split_once(" by ")?;
    for (i, _) in rest.match_indices(": ") {
        let after = &rest[i + 2..];
        for word in ["no_answer", "voicemail", "reached"] {
            if let Some(tail) = after.strip_prefix(word) {
                if tail.is_empty() || tail.starts_with(" (") {
                    return Some(Attempt {
                        at,
                        by: rest[..i].to_string(),
                        outcome: Outcome::parse(word)?,
                    });
                }
            }
        }
    }
    None
}

impl Store {
    /// Every lead first missed in `[since, until)` (of `businesses`, or of
    /// all), oldest first, with the facts the scorecard needs.
    pub async fn scorecard_leads(
        &self,
        businesses: Option<&[String]>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<LeadFacts>> {
        let Some(filter) = only(businesses, 3) else {
            return Ok(Vec::new());
        };
        // A text counts once it left the door to the caller themself (not
        // a notice about the lead to the office); an opt-out counts from
        // the missed call on.
        let leads_sql = format!(
            "SELECT l.id, l.business_id, l.caller, l.tracking_number, l.first_call_at, l.owner,
               l.disposition, l.disposition_reason, l.suppressed_reason,
               (SELECT COUNT(*) FROM messages m WHERE m.lead_id = l.id AND m.direction = 'outbound'
                  AND m.to_number = l.caller AND m.sent_at IS NOT NULL) AS texts_sent,
               (SELECT COUNT(*) FROM consent_events c WHERE c.business_id = l.business_id
                  AND c.phone = l.caller AND c.action = 'opt_out' AND c.at >= l.first_call_at) AS opt_outs
             FROM leads l WHERE l.first_call_at >= $1 AND l.first_call_at < $2{filter}
             ORDER BY l.first_call_at, l.id"
        );
        let attempts_sql = format!(
            "SELECT e.lead_id, e.detail, e.at FROM lead_events e JOIN leads l ON l.id = e.lead_id
             WHERE e.kind = 'call_attempt' AND l.first_call_at >= $1 AND l.first_call_at < $2{filter}
             ORDER BY e.lead_id, e.at, e.id"
        );
        let rows = period(&leads_sql, since, until, businesses)
            .fetch_all(self.r().await.target())
            .await?;
        let events = period(&attempts_sql, since, until, businesses)
            .fetch_all(self.r().await.target())
            .await?;
        let mut attempts: HashMap<i64, Vec<Attempt>> = HashMap::new();
        for e in &events {
            let detail: String = get(e, "detail")?;
            let at = from_ms(get(e, "at")?);
            if let Some(a) = parse_attempt(&detail, at) {
                attempts.entry(get(e, "lead_id")?).or_default().push(a);
            }
        }
        // Only the columns the figures use: a period can hold tens of
        // thousands of leads, and decoding whole rows was most of the time.
        rows.iter()
            .map(|r| {
                let id: i64 = get(r, "id")?;
                Ok(LeadFacts {
                    attempts: attempts.remove(&id).unwrap_or_default(),
                    texted: get::<i64>(r, "texts_sent")? > 0,
                    opted_out: get::<i64>(r, "opt_outs")? > 0,
                    lead_id: id,
                    business_id: get(r, "business_id")?,
                    tracking_number: get(r, "tracking_number")?,
                    caller: get(r, "caller")?,
                    missed_at: from_ms(get(r, "first_call_at")?),
                    owner: get(r, "owner")?,
                    disposition: get(r, "disposition")?,
                    reason: get(r, "disposition_reason")?,
                    suppressed: get(r, "suppressed_reason")?,
                })
            })
            .collect()
    }

    /// The voicemails left on these leads' calls (the latest per lead).
    pub async fn voicemails(&self, lead_ids: &[i64]) -> Result<HashMap<i64, Voicemail>> {
        if lead_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ph: Vec<String> = (1..=lead_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT lead_id, recording_url, transcript FROM calls
             WHERE lead_id IN ({}) AND (recording_url IS NOT NULL OR transcript IS NOT NULL)
             ORDER BY id",
            ph.join(", ")
        );
        let mut q = query(&sql);
        for id in lead_ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(self.r().await.target()).await?;
        let mut out = HashMap::new();
        for r in &rows {
            out.insert(
                get(r, "lead_id")?,
                Voicemail {
                    recording_url: get(r, "recording_url")?,
                    transcript: get(r, "transcript")?,
                },
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn attempt_lines_read_back_into_who_and_how() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 16, 0, 0).unwrap();
        let a = parse_attempt("attempt 2 by maria: reached (booked: reached her)", at).unwrap();
        assert_eq!((a.by.as_str(), a.outcome), ("maria", Outcome::Reached));
        let a = parse_attempt("attempt 1 by office: no_answer", at).unwrap();
        assert_eq!((a.by.as_str(), a.outcome), ("office", Outcome::NoAnswer));
        let a = parse_attempt("attempt 1 by Dr: Who: voicemail", at).unwrap();
        assert_eq!((a.by.as_str(), a.outcome), ("Dr: Who", Outcome::Voicemail));
        assert_eq!(parse_attempt("owner maria", at), None);
    }
}
