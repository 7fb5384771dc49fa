//! Proofs that the database is usable before the service says it is: it
//! can be written, and its schema is ringback's own and not from a newer
//! release. Each failure is one sentence naming the cause and the fix,
//! instead of the driver's text, or worse, a service that starts, answers
//! `/readyz` and then fails every webhook.

use super::db::query;
use super::{Dialect, Result, Store, StoreError, TxConn};

impl Store {
    /// Before migrations: a write in a transaction (rolled back) succeeds.
    /// SQLite: `PRAGMA user_version` read and written back, which needs the
    /// file writable (a read-only file, directory, mount or `mode=ro`).
    /// PostgreSQL: the session is not read-only (a standby, or
    /// `default_transaction_read_only`).
    pub async fn check_writable(&self) -> Result<()> {
        match self.dialect {
            Dialect::Sqlite => {
                let attempt = async {
                    let mut tx = self.begin().await?;
                    let TxConn::Lite(lite) = &mut tx.conn else {
                        unreachable!("a SQLite store has SQLite transactions")
                    };
                    let c = lite.conn();
                    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                    c.execute_batch(&format!("PRAGMA user_version = {v}"))?;
                    drop(tx);
                    Ok::<(), StoreError>(())
                };
                attempt.await.map_err(|e| match &e {
                    StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                        if f.code == rusqlite::ErrorCode::ReadOnly =>
                    {
                        let uid = uid();
                        StoreError::Unusable(format!(
                            "the database file {} is read-only for uid {uid}: ringback records every call and must write to it; give uid {uid} write access to the file and its directory (SQLite writes -wal and -shm files beside it), check the disk is not mounted read-only, and drop mode=ro from DATABASE_URL",
                            super::sqlite_path(&self.url).unwrap_or_default()
                        ))
                    }
                    _ => e,
                })
            }
            Dialect::Postgres => {
                let row = query("SHOW transaction_read_only")
                    .fetch_one(self.r().await.target())
                    .await?;
                let ro: String = row.try_get("transaction_read_only")?;
                if ro == "on" {
                    return Err(StoreError::Unusable(format!(
                        "the PostgreSQL database at {} is read-only (transaction_read_only = on: a standby, or default_transaction_read_only): point DATABASE_URL at the primary",
                        crate::config::redact_url(&self.url)
                    )));
                }
                Ok(())
            }
        }
    }

    /// Before migrations: the schema is ringback's, at a version this build
    /// knows. A database migrated by a newer ringback is refused (running
    /// older code on it could lose what the new columns mean); one holding
    /// another program's tables is refused rather than mixed into.
    pub async fn check_schema(&self) -> Result<()> {
        let migrator = match self.dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Dialect::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        let ours = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let (tables_sql, has_migrations_sql) = match self.dialect {
            Dialect::Sqlite => (
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            ),
            Dialect::Postgres => (
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
            ),
        };
        let count = |sql: &'static str| async move {
            query(sql)
                .fetch_one(self.r().await.target())
                .await?
                .try_get::<i64>("n")
        };
        let tables = count(tables_sql).await?;
        if count(has_migrations_sql).await? == 0 {
            if tables > 0 {
                return Err(StoreError::Unusable(format!(
                    "the database at {} has {tables} table(s) but no ringback migrations: it belongs to something else; point DATABASE_URL at an empty database or ringback's own",
                    crate::config::redact_url(&self.url)
                )));
            }
            return Ok(());
        }
        let applied: Vec<i64> = query("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(self.r().await.target())
            .await?
            .iter()
            .map(|r| r.try_get::<i64>("version"))
            .collect::<Result<_>>()?;
        if let Some(&newest) = applied.last() {
            if newest > ours {
                return Err(StoreError::Unusable(format!(
                    "database schema version {newest} is newer than this ringback ({ours}): upgrade ringback"
                )));
            }
        }
        if let Some(v) = applied
            .iter()
            .find(|v| !migrator.iter().any(|m| m.version == **v))
        {
            return Err(StoreError::Unusable(format!(
                "database schema version {v} is not one this ringback knows (it has 1 to {ours}): the database was migrated by a different build; use that build or a fresh database"
            )));
        }
        Ok(())
    }

    /// A real write, rolled back: `/readyz` asks this, so a database that
    /// answers reads but refuses writes (a full disk, a file turned
    /// read-only, a failover to a standby) takes the instance out of the
    /// load balancer instead of failing every webhook behind a green check.
    pub async fn probe_write(&self, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.record_webhook("ringback:write-probe", "write_probe", None, "", now)
            .await?;
        drop(tx);
        Ok(())
    }
}

/// The user id the process runs as, for the read-only message.
fn uid() -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata("/proc/self") {
            return m.uid().to_string();
        }
    }
    "?".to_string()
}
