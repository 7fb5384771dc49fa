//! Facts the compliance gate needs at send time.

use super::db::query;
use super::{get, Result, Store};
use crate::clock::to_ms;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Per (business, recipient): capped texts since a time, and the oldest.
pub type CapCounts = HashMap<(String, String), (i64, Option<DateTime<Utc>>)>;

impl Store {
    /// Texts that count toward the per-recipient cap (instant texts,
    /// follow-ups, replies) that left for `to` from `business_id` since
    /// `since`, and when the oldest of them left.
    pub async fn capped_texts_since(
        &self,
        business_id: &str,
        to: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>)> {
        let counts = self
            .capped_texts_since_many(&[(business_id, to)], since)
            .await?;
        Ok(counts
            .get(&(business_id.to_string(), to.to_string()))
            .copied()
            .unwrap_or((0, None)))
    }

    /// [`Store::capped_texts_since`] for many recipients in one query per
    /// business (a claimed batch of sends): a plain read, on a reader, so it
    /// does not queue behind SQLite's one writer. Recipients with none are
    /// absent.
    pub async fn capped_texts_since_many(
        &self,
        recipients: &[(&str, &str)],
        since: DateTime<Utc>,
    ) -> Result<CapCounts> {
        let mut by_business: HashMap<&str, Vec<&str>> = HashMap::new();
        for (b, to) in recipients {
            let v = by_business.entry(b).or_default();
            if !v.contains(to) {
                v.push(to);
            }
        }
        let mut out = CapCounts::new();
        for (business, numbers) in by_business {
            for chunk in numbers.chunks(500) {
                let params: Vec<String> = (3..chunk.len() + 3).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT to_number, COUNT(*) AS n, MIN(sent_at) AS oldest FROM messages
                     WHERE business_id = $1 AND sent_at > $2 AND to_number IN ({})
                       AND direction = 'outbound' AND kind IN ({})
                       AND status IN ('sent', 'delivered', 'undelivered')
                     GROUP BY to_number",
                    params.join(", "),
                    crate::core::compliance::capped_kinds_sql()
                );
                let mut q = query(&sql).bind(business).bind(to_ms(since));
                for n in chunk {
                    q = q.bind(*n);
                }
                for r in q.fetch_all(self.r().await.target()).await? {
                    let oldest: Option<i64> = get(&r, "oldest")?;
                    out.insert(
                        (business.to_string(), get(&r, "to_number")?),
                        (
                            get(&r, "n")?,
                            oldest.and_then(DateTime::from_timestamp_millis),
                        ),
                    );
                }
            }
        }
        Ok(out)
    }
}
