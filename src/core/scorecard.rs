//! The SOP's scorecard and daily review, as pure functions of the leads'
//! facts: how fast the office calls missed callers back, whether it keeps
//! at it, how many it books, and how many it drives away.
//!
//! The figures, for a set of leads (a business, a campaign, a week):
//! - **Median time to first attempt**: from the missed call to the first
//!   call-back a person logged, wall-clock, over the leads that have one.
//! - **Two-attempt completion**: the SOP asks for two call-backs unless the
//!   caller is reached (or books) first. Done: reached on an attempt, two
//!   or more attempts, or booked. Out of the leads that are real callers
//!   (not wrong number / spam); a lead still being worked counts as not
//!   done yet (the week's figure firms up as its leads are closed).
//! - **Recovery**: booked (job or estimate) out of the reachable leads: not
//!   wrong number / spam, and with a number one can call back (not withheld
//!   or invalid).
//! - **After-hours first attempt**: a reachable caller missed while the
//!   business was closed is called back by 8:30 on the next opening day, in the
//!   business's zone (a business opening at or after 8:30 gets 30 minutes
//!   from opening). A lead whose deadline is still ahead and not yet called
//!   back is not counted either way.
//! - **Opt-out rate**: texted leads whose caller opted out since the call,
//!   out of the texted leads; over 3 % is an alarm (carriers watch opt-out
//!   rates, and a high one says the texts annoy people).
//! - **Top reasons** given with dispositions.
//!
//! Leads from the business's own, staff or blocked numbers are not callers
//! and are left out of every figure.

use crate::domain::BusinessHours;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// Over this share of opt-outs the scorecard raises its alarm.
pub const OPT_OUT_ALARM: f64 = 0.03;
/// How many reasons the scorecard lists.
pub const TOP_REASONS: usize = 5;
/// How many calls per CSR the daily review samples.
pub const SAMPLE_PER_CSR: usize = 3;
/// The after-hours deadline on the next opening day (local time), and the
/// grace a business opening at or after it gets.
const AFTER_HOURS_BY: (u32, u32) = (8, 30);
const AFTER_HOURS_GRACE: Duration = Duration::minutes(30);

/// How a call-back went, as the office logged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    NoAnswer,
    Voicemail,
    Reached,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "no_answer" => Some(Outcome::NoAnswer),
            "voicemail" => Some(Outcome::Voicemail),
            "reached" => Some(Outcome::Reached),
            _ => None,
        }
    }

    /// As a person reads it.
    pub fn words(self) -> &'static str {
        match self {
            Outcome::NoAnswer => "no answer",
            Outcome::Voicemail => "left voicemail",
            Outcome::Reached => "reached",
        }
    }
}

/// One call-back a person logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub by: String,
    pub outcome: Outcome,
}

/// What the scorecard needs to know about one lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadFacts {
    pub lead_id: i64,
    pub business_id: String,
    pub tracking_number: String,
    pub caller: String,
    pub missed_at: DateTime<Utc>,
    pub owner: Option<String>,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
    pub disposition: Option<String>,
    pub reason: Option<String>,
    /// Why no instant text went (`withheld_number`, `block_list`...).
    pub suppressed: Option<String>,
    /// A text to the caller about this lead left the door.
    pub texted: bool,
    /// The caller opted out of this business's texts since the call.
    pub opted_out: bool,
}

impl LeadFacts {
    /// A real caller (not the business's own, a staff or a blocked number).
    pub fn is_caller(&self) -> bool {
        !matches!(
            self.suppressed.as_deref(),
            Some("own_number" | "internal_number" | "block_list")
        )
    }

    pub fn booked(&self) -> bool {
        matches!(
            self.disposition.as_deref(),
            Some("booked_job" | "booked_estimate")
        )
    }

    fn spam(&self) -> bool {
        self.disposition.as_deref() == Some("wrong_number_spam")
    }

    /// Someone could call them back: a real number, not spam.
    pub fn reachable(&self) -> bool {
        !self.spam()
            && !matches!(
                self.suppressed.as_deref(),
                Some("withheld_number" | "invalid_number")
            )
    }

    pub fn first_attempt(&self) -> Option<DateTime<Utc>> {
        self.attempts.iter().map(|a| a.at).min()
    }

    /// The SOP's two attempts are done (or were not needed).
    fn worked(&self) -> bool {
        self.booked()
            || self.attempts.len() >= 2
            || self.attempts.iter().any(|a| a.outcome == Outcome::Reached)
    }

    /// The person answerable for the lead: its owner, else whoever called
    /// first.
    pub fn csr(&self) -> Option<&str> {
        self.owner
            .as_deref()
            .or_else(|| self.attempts.first().map(|a| a.by.as_str()))
    }
}

/// A business's hours in its own zone.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub hours: BusinessHours,
    pub tz: Tz,
}

/// `part` out of `whole`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ratio {
    pub part: usize,
    pub whole: usize,
}

impl Ratio {
    /// The share, or `None` when there is nothing to divide by.
    pub fn share(self) -> Option<f64> {
        (self.whole > 0).then(|| self.part as f64 / self.whole as f64)
    }

    /// "42 %" (or "–" for none).
    pub fn percent(self) -> String {
        match self.share() {
            Some(s) => format!("{:.0} %", s * 100.0),
            None => "–".into(),
        }
    }
}

/// The scorecard of a set of leads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Real callers counted.
    pub leads: usize,
    pub median_first_attempt: Option<Duration>,
    pub two_attempts: Ratio,
    pub recovery: Ratio,
    pub after_hours: Ratio,
    pub opt_out: Ratio,
    /// Reason and how many times it was given, most first.
    pub top_reasons: Vec<(String, usize)>,
}

impl Figures {
    /// More than 3 % of texted callers opted out.
    pub fn opt_out_alarm(&self) -> bool {
        self.opt_out.share().is_some_and(|s| s > OPT_OUT_ALARM)
    }
}

/// The moment a call missed while closed should have had its first
/// call-back: 8:30 on the next opening day, or 30 minutes after opening
/// for a business that opens at 8:30 or later. `None` if the business was
/// open at `missed_at` (the 15-minute clock applies) or is never open.
pub fn after_hours_deadline(cal: &Calendar, missed_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if cal.hours.is_open(cal.tz, missed_at) {
        return None;
    }
    let opens = cal.hours.next_open(cal.tz, missed_at)?;
    let day = opens.with_timezone(&cal.tz).date_naive();
    let by = NaiveTime::from_hms_opt(AFTER_HOURS_BY.0, AFTER_HOURS_BY.1, 0)?;
    let by = local_instant(cal.tz, day, by)?;
    Some(if by > opens {
        by
    } else {
        opens + AFTER_HOURS_GRACE
    })
}

/// A local wall time as an instant (the first one in a fall-back hour;
/// in a spring-forward gap, an hour later).
fn local_instant(tz: Tz, day: NaiveDate, t: NaiveTime) -> Option<DateTime<Utc>> {
    let naive = day.and_time(t);
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

/// The scorecard of `leads` at `now`; `calendar` gives each business's
/// hours (a business without one has no after-hours figure).
pub fn figures<'a>(
    leads: impl IntoIterator<Item = &'a LeadFacts>,
    calendar: &dyn Fn(&str) -> Option<&'a Calendar>,
    now: DateTime<Utc>,
) -> Figures {
    let mut f = Figures::default();
    let mut waits: Vec<Duration> = Vec::new();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for l in leads.into_iter().filter(|l| l.is_caller()) {
        f.leads += 1;
        let first = l.first_attempt();
        if let Some(at) = first {
            waits.push((at - l.missed_at).max(Duration::zero()));
        }
        if !l.spam() {
            f.two_attempts.whole += 1;
            f.two_attempts.part += usize::from(l.worked());
        }
        if l.reachable() {
            f.recovery.whole += 1;
            f.recovery.part += usize::from(l.booked());
        }
        if let Some(deadline) = calendar(&l.business_id)
            .filter(|_| l.reachable())
            .and_then(|c| after_hours_deadline(c, l.missed_at))
        {
            let on_time = first.is_some_and(|at| at <= deadline);
            // Not yet due and not yet called: too early to judge.
            if on_time || now > deadline {
                f.after_hours.whole += 1;
                f.after_hours.part += usize::from(on_time);
            }
        }
        if l.texted {
            f.opt_out.whole += 1;
            f.opt_out.part += usize::from(l.opted_out);
        }
        if let Some(r) = l.reason.as_deref().filter(|r| !r.is_empty()) {
            *reasons.entry(r).or_default() += 1;
        }
    }
    f.median_first_attempt = median(&mut waits);
    let mut top: Vec<(String, usize)> = reasons
        .into_iter()
        .map(|(r, n)| (r.to_string(), n))
        .collect();
    // Most given first; ties in name order (stable, so pages do not shuffle).
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(TOP_REASONS);
    f.top_reasons = top;
    f
}

/// The middle value (the mean of the two middle ones for an even count,
/// to the second).
fn median(v: &mut [Duration]) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        Duration::seconds((v[n / 2 - 1].num_seconds() + v[n / 2].num_seconds()) / 2)
    })
}

/// The Monday that starts the week of `at` in the business's zone.
pub fn week_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let d = at.with_timezone(&tz).date_naive();
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// Is `at` within the last `weeks` weeks (this one included) in the
/// business's zone?
pub fn in_last_weeks(at: DateTime<Utc>, tz: Tz, now: DateTime<Utc>, weeks: u32) -> bool {
    let first = week_of(now, tz) - Duration::weeks(i64::from(weeks.max(1)) - 1);
    let w = week_of(at, tz);
    w >= first && at <= now
}

/// Yesterday in the business's zone, as `[start, end)`.
pub fn yesterday(now: DateTime<Utc>, tz: Tz) -> Option<(NaiveDate, DateTime<Utc>, DateTime<Utc>)> {
    let today = now.with_timezone(&tz).date_naive();
    let day = today.pred_opt()?;
    let start = local_instant(tz, day, NaiveTime::MIN)?;
    let end = local_instant(tz, today, NaiveTime::MIN)?;
    Some((day, start, end))
}

/// Leads of the review's day nobody recovered: real, reachable callers
/// not booked.
pub fn unrecovered(leads: &[LeadFacts]) -> Vec<&LeadFacts> {
    leads
        .iter()
        .filter(|l| l.is_caller() && l.reachable() && !l.booked())
        .collect()
}

/// Up to [`SAMPLE_PER_CSR`] of each CSR's leads of `day` for the manager
/// to listen to. Deterministic (a hash of the day and the lead), so the
/// same day always shows the same calls, yet not always the first ones.
pub fn sample_per_csr(leads: &[LeadFacts], day: NaiveDate) -> BTreeMap<String, Vec<&LeadFacts>> {
    let mut by: BTreeMap<String, Vec<&LeadFacts>> = BTreeMap::new();
    for l in leads.iter().filter(|l| l.is_caller()) {
        if let Some(csr) = l.csr() {
            by.entry(csr.to_string()).or_default().push(l);
        }
    }
    for list in by.values_mut() {
        list.sort_by_key(|l| (draw(day, l.lead_id), l.lead_id));
        list.truncate(SAMPLE_PER_CSR);
    }
    by
}

/// FNV-1a of the day and the lead id: a fixed, even spread.
fn draw(day: NaiveDate, lead_id: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{day}:{lead_id}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// One CSV line (RFC 4180): a field with a comma, a quote or a line break
/// is quoted, its quotes doubled. A text field starting with `=`, `+`, `-`
/// or `@` gets a leading `'`, so a spreadsheet shows it instead of running
/// it as a formula (a campaign label or reason is the owner's text).
pub fn csv_line(fields: &[Field]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let text = match f {
            Field::Number(n) => n.clone(),
            Field::Text(t) if t.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{t}"),
            Field::Text(t) => t.clone(),
        };
        if text.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out.push_str("\r\n");
    out
}

/// A CSV cell: a figure as is, or text (guarded against formulas).
#[derive(Debug, Clone)]
pub enum Field {
    Number(String),
    Text(String),
}

#[cfg(test)]
mod tests;
