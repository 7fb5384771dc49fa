//! Contact rows: the per-person lock every change to a conversation takes
//! first, and what carriers said about a number's reachability.
//!
//! Apart from `store/mod.rs` so that the store's plumbing (connecting,
//! transactions, dialects) is not mixed with the queries of one table.

use super::db::query;
use super::{Dialect, Result, Tx};
use crate::clock::to_ms;
use chrono::{DateTime, Utc};

impl Tx {
    /// Takes the per-person lock and returns why the person cannot be
    /// texted, if a carrier said so.
    ///
    /// PostgreSQL: locks the contact's row, creating it on first sight, so
    /// that transactions touching one person from several connections or
    /// instances run one after another. SQLite: a plain read, because its
    /// one writer already runs every transaction alone; writing the row
    /// would only add a write at a random place in the contacts index to
    /// every missed call.
    pub async fn lock_contact(
        &mut self,
        business_id: &str,
        phone: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let q = match self.dialect {
            Dialect::Postgres => query(
                "INSERT INTO contacts (business_id, phone, last_seen_at) VALUES ($1, $2, $3)
                 ON CONFLICT (business_id, phone) DO UPDATE SET last_seen_at = excluded.last_seen_at
                 RETURNING unreachable",
            )
            .bind(business_id)
            .bind(phone)
            .bind(to_ms(now)),
            Dialect::Sqlite => {
                query("SELECT unreachable FROM contacts WHERE business_id = $1 AND phone = $2")
                    .bind(business_id)
                    .bind(phone)
            }
        };
        let row = q.fetch_optional(self.conn()).await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<String>>("unreachable")?,
            None => None,
        })
    }

    /// Do carriers say texts cannot reach `phone`?
    pub async fn unreachable(&mut self, business_id: &str, phone: &str) -> Result<bool> {
        let row = query("SELECT unreachable FROM contacts WHERE business_id = $1 AND phone = $2")
            .bind(business_id)
            .bind(phone)
            .fetch_optional(self.conn())
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<String>>("unreachable")?.is_some(),
            None => false,
        })
    }

    /// `phone` just texted us: whatever carriers said, it takes texts.
    pub async fn clear_unreachable(&mut self, business_id: &str, phone: &str) -> Result<()> {
        query("UPDATE contacts SET unreachable = NULL WHERE business_id = $1 AND phone = $2 AND unreachable IS NOT NULL")
            .bind(business_id)
            .bind(phone)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn mark_unreachable(
        &mut self,
        business_id: &str,
        phone: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        query(
            "INSERT INTO contacts (business_id, phone, last_seen_at, unreachable) VALUES ($1, $2, $3, $4)
             ON CONFLICT (business_id, phone) DO UPDATE SET last_seen_at = excluded.last_seen_at,
                 unreachable = excluded.unreachable",
        )
        .bind(business_id)
        .bind(phone)
        .bind(to_ms(now))
        .bind(reason)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
