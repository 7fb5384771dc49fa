//! Facts the compliance gate needs at send time.

use super::db::query;
use super::{Result, Store};
use crate::clock::to_ms;
use chrono::{DateTime, Utc};

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
        let row = query(
            "SELECT COUNT(*) AS n, MIN(sent_at) AS oldest FROM messages
             WHERE business_id = $1 AND to_number = $2 AND direction = 'outbound'
               AND kind IN ('instant', 'follow_up', 'reply')
               AND status IN ('sent', 'delivered', 'undelivered') AND sent_at > $3",
        )
        .bind(business_id)
        .bind(to)
        .bind(to_ms(since))
        // A plain read: it must not queue behind SQLite's one writer.
        .fetch_one(self.r().await.target())
        .await?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        Ok((
            row.try_get::<i64>("n")?,
            oldest.and_then(DateTime::from_timestamp_millis),
        ))
    }
}
