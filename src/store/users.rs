//! The office's people (migration 0008): users, their one-time sign-in
//! links, sessions and failed sign-ins. Tokens are kept only as SHA-256
//! digests, passwords only as argon2 hashes (made by the shell): a copy of
//! the database signs nobody in.

use super::db::{query, Row};
use super::{get, Result, Store, StoreError};
use crate::clock::to_ms;
use chrono::{DateTime, Utc};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// `*` or business ids separated by commas.
    pub businesses: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
}

impl UserRow {
    fn from_row(r: &Row) -> Result<UserRow> {
        Ok(UserRow {
            id: get(r, "id")?,
            name: get(r, "name")?,
            role: get(r, "role")?,
            businesses: get(r, "businesses")?,
            password_hash: get(r, "password_hash")?,
            disabled: get::<i64>(r, "disabled")? != 0,
        })
    }
}

const USER_COLS: &str = "u.id, u.name, u.role, u.businesses, u.password_hash, u.disabled";

impl Store {
    /// Adds a user with a one-time sign-in link (its token's digest).
    /// `None` when the name is taken.
    pub async fn add_user(
        &self,
        name: &str,
        role: &str,
        businesses: &str,
        link_hash: &str,
        link_expires: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let taken = query("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(tx.conn())
            .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let id = query(
            "INSERT INTO users (name, role, businesses, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(name)
        .bind(role)
        .bind(businesses)
        .bind(to_ms(now))
        .insert_id(tx.conn())
        .await?
        .ok_or_else(|| StoreError::Corrupt("a user insert inserted nothing".into()))?;
        query("INSERT INTO sign_in_links (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(link_hash)
            .bind(id)
            .bind(to_ms(link_expires))
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// A new one-time link for an existing user (a forgotten password).
    pub async fn add_sign_in_link(
        &self,
        user_id: i64,
        link_hash: &str,
        link_expires: DateTime<Utc>,
    ) -> Result<()> {
        let mut one = self.one().await?;
        query("INSERT INTO sign_in_links (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(link_hash)
            .bind(user_id)
            .bind(to_ms(link_expires))
            .execute(one.target())
            .await?;
        one.done().await
    }

    /// The user a link is good for, if it is unused, unexpired and the user
    /// is not disabled (the page that asks for the password).
    pub async fn link_user(&self, link_hash: &str, now: DateTime<Utc>) -> Result<Option<UserRow>> {
        let row = query(&format!(
            "SELECT {USER_COLS} FROM sign_in_links l JOIN users u ON u.id = l.user_id
             WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND u.disabled = 0"
        ))
        .bind(link_hash)
        .bind(to_ms(now))
        .fetch_optional(self.r().await.target())
        .await?;
        row.map(|r| UserRow::from_row(&r)).transpose()
    }

    /// Uses a link once: sets the password and ends every session the user
    /// had. `None` if the link was used, expired or unknown.
    pub async fn redeem_link(
        &self,
        link_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let row = query(
            "UPDATE sign_in_links SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
        )
        .bind(link_hash)
        .bind(to_ms(now))
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id: i64 = get(&row, "user_id")?;
        query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(password_hash)
            .bind(to_ms(now))
            .execute(tx.conn())
            .await?;
        query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<UserRow>> {
        let row = query(&format!(
            "SELECT {USER_COLS} FROM users u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(self.r().await.target())
        .await?;
        row.map(|r| UserRow::from_row(&r)).transpose()
    }

    /// Everyone, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>> {
        let rows = query(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.name"))
            .fetch_all(self.r().await.target())
            .await?;
        rows.iter().map(UserRow::from_row).collect()
    }

    /// Disables (or enables) a user; disabling ends their sessions.
    pub async fn set_user_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        query("UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(disabled as i64)
            .bind(to_ms(now))
            .execute(tx.conn())
            .await?;
        if disabled {
            query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await
    }

    /// Changes a user's role; false if there is no such user. Their
    /// sessions stay: each request reads the role afresh.
    pub async fn set_user_role(
        &self,
        user_id: i64,
        role: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut one = self.one().await?;
        let n = query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(role)
            .bind(to_ms(now))
            .execute(one.target())
            .await?;
        one.done().await?;
        Ok(n == 1)
    }

    /// Failed sign-ins under `key` since `since`.
    pub async fn sign_in_failures(&self, key: &str, since: DateTime<Utc>) -> Result<i64> {
        let row = query("SELECT COUNT(*) AS n FROM sign_in_failures WHERE key = $1 AND at > $2")
            .bind(key)
            .bind(to_ms(since))
            .fetch_one(self.r().await.target())
            .await?;
        get(&row, "n")
    }

    /// Records a failed sign-in under each key, and forgets those older
    /// than `forget_before` (the table stays the size of one window).
    pub async fn record_sign_in_failure(
        &self,
        keys: &[&str],
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        for k in keys {
            query("INSERT INTO sign_in_failures (key, at) VALUES ($1, $2)")
                .bind(*k)
                .bind(to_ms(now))
                .execute(tx.conn())
                .await?;
        }
        query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(to_ms(forget_before))
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        let mut one = self.one().await?;
        query(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(to_ms(now))
        .bind(to_ms(expires))
        .execute(one.target())
        .await?;
        one.done().await
    }

    /// The live session's user and form token; `None` if the session is
    /// unknown, expired, or its user disabled.
    pub async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserRow, String)>> {
        let row = query(&format!(
            "SELECT {USER_COLS}, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
        ))
        .bind(id_hash)
        .bind(to_ms(now))
        .fetch_optional(self.r().await.target())
        .await?;
        row.map(|r| Ok((UserRow::from_row(&r)?, get(&r, "csrf")?)))
            .transpose()
    }

    pub async fn end_session(&self, id_hash: &str) -> Result<()> {
        let mut one = self.one().await?;
        query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(one.target())
            .await?;
        one.done().await
    }

    /// Signs a user out everywhere: every session of theirs ends.
    pub async fn end_sessions_of(&self, user_id: i64) -> Result<u64> {
        let mut one = self.one().await?;
        let n = query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(one.target())
            .await?;
        one.done().await?;
        Ok(n)
    }
}
