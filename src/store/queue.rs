//! The office's queue (the web app's `/app`): leads by tab and filter, the
//! first human attempt of each, and a change counter the live page waits
//! on.

use super::db::query;
use super::rows::FromDbRow;
use super::{get, Result, Store};
use crate::clock::{from_ms, to_ms};
use crate::domain::Lead;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The queue's tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Open and being worked (or new).
    Open,
    /// Gone cold, or nobody has touched it for a day.
    Cold,
    /// Resolved or dismissed.
    Done,
}

impl Tab {
    pub fn parse(s: &str) -> Option<Tab> {
        match s {
            "open" => Some(Tab::Open),
            "cold" => Some(Tab::Cold),
            "done" => Some(Tab::Done),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tab::Open => "open",
            Tab::Cold => "cold",
            Tab::Done => "done",
        }
    }
}

/// What a queue page asks for. Every filter is optional; values are bound.
#[derive(Debug, Clone)]
pub struct QueueFilter {
    pub tab: Tab,
    /// `None`: every business; else only these (a person's own).
    pub businesses: Option<Vec<String>>,
    pub business: Option<String>,
    pub tracking_numbers: Option<Vec<String>>,
    pub intent: Option<String>,
    /// Who works it; `""`: nobody yet.
    pub owner: Option<String>,
    /// First call at or after.
    pub since: Option<DateTime<Utc>>,
    /// First call at or before.
    pub until: Option<DateTime<Utc>>,
    /// An open lead nobody has claimed or called since before this is cold.
    pub unreviewed_before: DateTime<Utc>,
    pub limit: i64,
}

const OPEN: &str = "('new', 'texted', 'engaged', 'booking_requested')";

impl QueueFilter {
    /// The WHERE clause and its text parameters (numbered from `$1`), then
    /// the next parameter's number.
    fn clause(&self) -> Option<(String, Vec<String>)> {
        let mut sql = String::new();
        let mut texts: Vec<String> = Vec::new();
        let any_of = |sql: &mut String, texts: &mut Vec<String>, col: &str, vs: &[String]| {
            let mut ph = Vec::new();
            for v in vs {
                texts.push(v.clone());
                ph.push(format!("${}", texts.len()));
            }
            sql.push_str(&format!(" AND {col} IN ({})", ph.join(", ")));
        };
        if let Some(bs) = &self.businesses {
            if bs.is_empty() {
                return None;
            }
            any_of(&mut sql, &mut texts, "business_id", bs);
        }
        if let Some(ns) = &self.tracking_numbers {
            if ns.is_empty() {
                return None;
            }
            any_of(&mut sql, &mut texts, "tracking_number", ns);
        }
        // An empty owner: nobody has claimed it.
        if self.owner.as_deref() == Some("") {
            sql.push_str(" AND owner IS NULL");
        }
        let owner = self.owner.clone().filter(|o| !o.is_empty());
        for (col, v) in [
            ("business_id", &self.business),
            ("intent", &self.intent),
            ("owner", &owner),
        ] {
            if let Some(v) = v {
                texts.push(v.clone());
                sql.push_str(&format!(" AND {col} = ${}", texts.len()));
            }
        }
        Some((sql, texts))
    }
}

impl Store {
    /// A page of the queue: open and cold leads oldest first (the longest
    /// waiting on top), done leads newest first.
    pub async fn queue(&self, f: &QueueFilter) -> Result<Vec<Lead>> {
        let Some((filters, texts)) = f.clause() else {
            return Ok(Vec::new());
        };
        let n = texts.len();
        let (since, until, cutoff, limit) = (n + 1, n + 2, n + 3, n + 4);
        let unreviewed =
            format!("(owner IS NULL AND call_attempts = 0 AND last_activity_at < ${cutoff})");
        let (tab, order) = match f.tab {
            Tab::Open => (
                format!("status IN {OPEN} AND NOT {unreviewed}"),
                "first_call_at, id",
            ),
            Tab::Cold => (
                format!("(status = 'cold' OR (status IN {OPEN} AND {unreviewed}))"),
                "first_call_at, id",
            ),
            Tab::Done => (
                format!("status IN ('resolved', 'dismissed') AND ${cutoff} = ${cutoff}"),
                "first_call_at DESC, id DESC",
            ),
        };
        let sql = format!(
            "SELECT * FROM leads WHERE {tab}{filters}
               AND first_call_at >= ${since} AND first_call_at <= ${until}
             ORDER BY {order} LIMIT ${limit}"
        );
        let mut q = query(&sql);
        for t in texts {
            q = q.bind(t);
        }
        let rows = q
            .bind(f.since.map(to_ms).unwrap_or(0))
            .bind(f.until.map(to_ms).unwrap_or(i64::MAX))
            .bind(to_ms(f.unreviewed_before))
            .bind(f.limit.clamp(1, 1000))
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(Lead::from_row).collect()
    }

    /// When each of these leads had its first human call-back attempt.
    pub async fn first_attempts(&self, lead_ids: &[i64]) -> Result<HashMap<i64, DateTime<Utc>>> {
        if lead_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ph: Vec<String> = (1..=lead_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT lead_id, MIN(at) AS at FROM lead_events
             WHERE kind = 'call_attempt' AND lead_id IN ({}) GROUP BY lead_id",
            ph.join(", ")
        );
        let mut q = query(&sql);
        for id in lead_ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(self.r().await.target()).await?;
        rows.iter()
            .map(|r| Ok((get(r, "lead_id")?, from_ms(get(r, "at")?))))
            .collect()
    }

    /// The newest timeline entry's id: it moves whenever any lead changes
    /// (a missed call, a text, an office action), on any instance.
    pub async fn latest_change(&self, lead_id: Option<i64>) -> Result<i64> {
        let row = match lead_id {
            None => query("SELECT COALESCE(MAX(id), 0) AS n FROM lead_events"),
            Some(id) => {
                query("SELECT COALESCE(MAX(id), 0) AS n FROM lead_events WHERE lead_id = $1")
                    .bind(id)
            }
        }
        .fetch_one(self.r().await.target())
        .await?;
        get(&row, "n")
    }
}
