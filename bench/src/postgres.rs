//! A fresh PostgreSQL database per run, so SQLite and PostgreSQL runs start
//! from the same empty state (`--compare-postgres`).

use anyhow::Context as _;
use sqlx::{Connection as _, PgConnection};

pub struct FreshDatabase {
    /// The server URL's database to connect to for CREATE / DROP.
    admin_url: String,
    name: String,
    /// DATABASE_URL for the service.
    pub url: String,
}

/// `postgres://u:p@host:5432/anything?x=y` → (`postgres://u:p@host:5432`, `?x=y`).
fn split_server_url(url: &str) -> (&str, &str) {
    let (before_query, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let authority_start = before_query.find("://").map_or(0, |i| i + 3);
    let server = match before_query[authority_start..].find('/') {
        Some(i) => &before_query[..authority_start + i],
        None => before_query,
    };
    (server, query)
}

impl FreshDatabase {
    pub async fn create(server_url: &str) -> anyhow::Result<FreshDatabase> {
        let (server, query) = split_server_url(server_url);
        let name = format!("ringback_bench_{:016x}", rand::random::<u64>());
        let admin_url = format!("{server}/postgres{query}");
        let mut conn = PgConnection::connect(&admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {server} (user and host only are needed; the bench creates its own database)"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .context("creating the bench database")?;
        let _ = conn.close().await;
        eprintln!("created PostgreSQL database {name}");
        Ok(FreshDatabase {
            url: format!("{server}/{name}{query}"),
            admin_url,
            name,
        })
    }

    /// Drops the database (the service has stopped by now); a failure is
    /// reported, not fatal.
    pub async fn drop_database(self) {
        let result = async {
            let mut conn = PgConnection::connect(&self.admin_url).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {}", self.name))
                .execute(&mut conn)
                .await?;
            conn.close().await
        }
        .await;
        if let Err(e) = result {
            eprintln!(
                "could not drop PostgreSQL database {}: {e} (drop it by hand)",
                self.name
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_server_url;

    #[test]
    fn server_url_loses_its_database_but_keeps_options() {
        assert_eq!(
            split_server_url("postgres://postgres@127.0.0.1:5432"),
            ("postgres://postgres@127.0.0.1:5432", "")
        );
        assert_eq!(
            split_server_url("postgres://u:p@db:5432/ringback?sslmode=require"),
            ("postgres://u:p@db:5432", "?sslmode=require")
        );
        assert_eq!(
            split_server_url("postgresql://u@h/"),
            ("postgresql://u@h", "")
        );
    }
}
