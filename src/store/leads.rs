//! Lead rows: reading them for the API and the office (filtered, paged),
//! and creating, locking and updating them inside a transaction, with the
//! timeline events that go with them.
//!
//! Apart from `store/mod.rs` so that the store's plumbing (connecting,
//! transactions, dialects) is not mixed with the queries of one table.

use super::db::{self, query, Target};
use super::rows::FromDbRow;
use super::{get, NewLead, Result, Store, StoreError, Tx};
use crate::clock::to_ms;
use crate::domain::{Lead, LeadEvent, LeadStatus};
use chrono::{DateTime, Utc};

impl Store {
    pub async fn lead(&self, id: i64) -> Result<Option<Lead>> {
        let row = query("SELECT * FROM leads WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r().await.target())
            .await?;
        row.map(|r| Lead::from_row(&r)).transpose()
    }

    /// Leads, newest first, filtered. Every filter is optional; values are
    /// bound, never spliced into the SQL.
    pub async fn leads(&self, filter: &LeadFilter) -> Result<Vec<Lead>> {
        let mut sql = String::from("SELECT * FROM leads WHERE 1 = 1");
        let mut texts: Vec<String> = Vec::new();
        let mut cond = |sql: &mut String, col: &str, v: &Option<String>| {
            if let Some(v) = v {
                texts.push(v.clone());
                sql.push_str(&format!(" AND {col} = ${}", texts.len()));
            }
        };
        cond(&mut sql, "business_id", &filter.business_id);
        cond(
            &mut sql,
            "status",
            &filter.status.map(|s| s.as_str().to_string()),
        );
        cond(&mut sql, "caller", &filter.caller);
        cond(&mut sql, "intent", &filter.intent);
        cond(&mut sql, "owner", &filter.owner);
        if let Some(numbers) = &filter.tracking_numbers {
            if numbers.is_empty() {
                return Ok(Vec::new());
            }
            let mut ph = Vec::new();
            for n in numbers {
                texts.push(n.clone());
                ph.push(format!("${}", texts.len()));
            }
            sql.push_str(&format!(" AND tracking_number IN ({})", ph.join(", ")));
        }
        let n = texts.len();
        sql.push_str(&format!(
            " AND first_call_at >= ${} AND first_call_at <= ${} AND id < ${} ORDER BY id DESC LIMIT ${}",
            n + 1,
            n + 2,
            n + 3,
            n + 4
        ));
        let mut q = query(&sql);
        for t in &texts {
            q = q.bind(t.clone());
        }
        let rows = q
            .bind(filter.since.map(to_ms).unwrap_or(0))
            .bind(filter.until.map(to_ms).unwrap_or(i64::MAX))
            .bind(filter.before_id.unwrap_or(i64::MAX))
            .bind(filter.limit.unwrap_or(100).clamp(1, 1000))
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(Lead::from_row).collect()
    }

    /// What the caller said to this lead (see [`Tx::what_they_said`]).
    pub async fn what_they_said(&self, lead_id: i64) -> Result<(Vec<String>, Vec<String>)> {
        what_they_said(self.r().await.target(), lead_id).await
    }

    pub async fn lead_events(&self, lead_id: i64) -> Result<Vec<LeadEvent>> {
        let rows = query("SELECT * FROM lead_events WHERE lead_id = $1 ORDER BY id")
            .bind(lead_id)
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(LeadEvent::from_row).collect()
    }
}

impl Tx {
    /// The caller's most recent lead at this business.
    pub async fn latest_lead(&mut self, business_id: &str, caller: &str) -> Result<Option<Lead>> {
        let row = query("SELECT * FROM leads WHERE business_id = $1 AND caller = $2 ORDER BY first_call_at DESC, id DESC LIMIT 1")
            .bind(business_id)
            .bind(caller)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| Lead::from_row(&r)).transpose()
    }

    pub async fn lead(&mut self, id: i64) -> Result<Option<Lead>> {
        let row = query("SELECT * FROM leads WHERE id = $1")
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| Lead::from_row(&r)).transpose()
    }

    pub async fn insert_lead(&mut self, l: &NewLead) -> Result<i64> {
        let row = query(
            "INSERT INTO leads (business_id, caller, tracking_number, status, call_count, first_call_at,
                 window_ends_at, last_activity_at, suppressed_reason, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8, $6, $6) RETURNING id",
        )
        .bind(&l.business_id)
        .bind(&l.caller)
        .bind(&l.tracking_number)
        .bind(l.status.as_str())
        .bind(l.call_count)
        .bind(to_ms(l.at))
        .bind(to_ms(l.window_ends_at))
        .bind(l.suppressed_reason.map(|r| r.as_str().to_string()))
        .insert_id(self.conn())
        .await?;
        row.ok_or_else(|| StoreError::Corrupt("a lead insert inserted nothing".into()))
    }

    /// Writes back the mutable parts of a lead.
    pub async fn update_lead(&mut self, l: &Lead, now: DateTime<Utc>) -> Result<()> {
        query(
            // `new` is only ever a lead's first status. The recorder moves a
            // lead to `texted` without the contact lock (it only touches the
            // status), so a full-row write from a transaction that read the
            // lead earlier must not move it back (a lost update that once
            // left leads `new` and their follow-ups waiting forever).
            "UPDATE leads SET status = CASE WHEN $2 = 'new' THEN status ELSE $2 END, call_count = $3, last_activity_at = $4, suppressed_reason = $5,
                 closed_reason = $6, updated_at = $7, intent = $8, hazard = $9, questions_asked = $10,
                 awaiting_answer = $11, acknowledged = $12, follow_ups_sent = $13, owner = $14,
                 disposition = $15, disposition_reason = $16, note = $17, call_attempts = $18
             WHERE id = $1",
        )
        .bind(l.id)
        .bind(l.status.as_str())
        .bind(l.call_count)
        .bind(to_ms(l.last_activity_at))
        .bind(l.suppressed_reason.clone())
        .bind(l.closed_reason.clone())
        .bind(to_ms(now))
        .bind(l.intent.clone())
        .bind(l.hazard.clone())
        .bind(l.questions_asked)
        .bind(l.awaiting_answer as i64)
        .bind(l.acknowledged as i64)
        .bind(l.follow_ups_sent)
        .bind(l.owner.clone())
        .bind(l.disposition.clone())
        .bind(l.disposition_reason.clone())
        .bind(l.note.clone())
        .bind(l.call_attempts)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn lead_event(
        &mut self,
        lead_id: i64,
        kind: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.lead_events(&[(lead_id, kind, detail)], now).await
    }

    /// Appends several events (lead, kind, detail) in one statement, in
    /// order.
    pub async fn lead_events(
        &mut self,
        events: &[(i64, &str, &str)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        // A missed call appends two at once.
        static SQL: [std::sync::OnceLock<String>; 4] = [const { std::sync::OnceLock::new() }; 4];
        let sql = db::sql_for_rows(&SQL, events.len(), |n| {
            let rows: Vec<String> = (0..n)
                .map(|i| format!("({})", db::placeholders(i, 4).join(", ")))
                .collect();
            format!(
                "INSERT INTO lead_events (lead_id, kind, detail, at) VALUES {}",
                rows.join(", ")
            )
        });
        let mut q = query(&sql);
        for (lead_id, kind, detail) in events {
            q = q.bind(*lead_id).bind(*kind).bind(*detail).bind(to_ms(now));
        }
        q.execute(self.conn()).await?;
        Ok(())
    }

    /// Loads a lead and takes its caller's contact lock, then reads the
    /// lead again: what the caller decides on is what holds under the lock
    /// (an inbound text or an opt-out for the same person either committed
    /// first, and is seen, or waits). Also returns why the number is
    /// unreachable, if it is.
    pub async fn lead_locked(
        &mut self,
        lead_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<(Lead, Option<String>)>> {
        let Some(lead) = self.lead(lead_id).await? else {
            return Ok(None);
        };
        let unreachable = self
            .lock_contact(&lead.business_id, &lead.caller, now)
            .await?;
        Ok(self.lead(lead_id).await?.map(|l| (l, unreachable)))
    }

    /// What the caller said to this lead: voicemail transcripts and their
    /// texts, each oldest first.
    pub async fn what_they_said(&mut self, lead_id: i64) -> Result<(Vec<String>, Vec<String>)> {
        what_they_said(self.conn(), lead_id).await
    }
}

async fn what_they_said(exec: Target<'_>, lead_id: i64) -> Result<(Vec<String>, Vec<String>)> {
    // One round trip: transcripts first, then texts, each in order.
    let rows = query(
        "SELECT CAST(0 AS BIGINT) AS src, id, transcript AS body FROM calls WHERE lead_id = $1 AND transcript IS NOT NULL
         UNION ALL
         SELECT CAST(1 AS BIGINT) AS src, id, body FROM messages WHERE lead_id = $1 AND direction = 'inbound'
         ORDER BY src, id",
    )
    .bind(lead_id)
    .fetch_all(exec)
    .await?;
    let (mut transcripts, mut texts) = (Vec::new(), Vec::new());
    for r in &rows {
        let body: String = get(r, "body")?;
        if get::<i64>(r, "src")? == 0 {
            transcripts.push(body);
        } else {
            texts.push(body);
        }
    }
    Ok((transcripts, texts))
}

/// Filters for [`Store::leads`].
#[derive(Debug, Default, Clone)]
pub struct LeadFilter {
    pub business_id: Option<String>,
    pub status: Option<LeadStatus>,
    pub caller: Option<String>,
    /// Any of these tracking numbers (a number, or a campaign's numbers).
    pub tracking_numbers: Option<Vec<String>>,
    pub intent: Option<String>,
    pub owner: Option<String>,
    /// First call at or after (the lead is at most this old).
    pub since: Option<DateTime<Utc>>,
    /// First call at or before (the lead is at least this old).
    pub until: Option<DateTime<Utc>>,
    /// Only leads older than this one (ids below it): the next page.
    pub before_id: Option<i64>,
    pub limit: Option<i64>,
}
