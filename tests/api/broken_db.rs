//! Ready while broken: a database ringback cannot write, one that would
//! not survive a restart, or one from a newer ringback is refused at start
//! with one sentence saying why; and `/readyz` fails whenever writes fail,
//! not only when the database stops answering.

use crate::helpers::*;
use ringback::clock::ManualClock;
use ringback::config::{Config, Settings};
use ringback::startup::{Options, Running};
use std::sync::Arc;

/// Starts the service on `database_url` with `app`'s config and carrier,
/// expecting it to refuse; returns the error as `serve` prints it.
async fn refused(app: &TestApp, database_url: &str) -> String {
    let mut settings: Settings = app.settings();
    settings.database_url = database_url.to_string();
    let config = Config::parse(&app.config_text, "test.toml", app.dir.path()).unwrap();
    match Running::start(Options {
        settings,
        config,
        clock: Arc::new(ManualClock::new(tuesday_10am())),
    })
    .await
    {
        Ok(r) => {
            r.shutdown().await;
            panic!("started on {database_url}")
        }
        Err(e) => format!("{e:#}"),
    }
}

on_both_stores!(
    a_database_from_a_newer_ringback_is_refused,
    a_read_only_database_is_refused,
    readyz_fails_while_writes_fail,
);

/// A database migrated by a newer release: refused before anything runs,
/// with the versions and the fix, not sqlx's "previously applied but
/// missing".
async fn a_database_from_a_newer_ringback_is_refused(b: Backend) {
    let pg = matches!(b, Backend::Postgres(_));
    let mut app = TestApp::spawn(b).await;
    let checksum = if pg { "'\\x00'::bytea" } else { "X'00'" };
    sqlx::query(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', TRUE, {checksum}, 0)"
    ))
    .execute(app.store().pool())
    .await
    .unwrap();
    app.shutdown().await;
    let url = app.database_url.clone();
    let e = refused(&app, &url).await;
    let ours = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .filter_map(|f| f.ok()?.file_name().to_str()?.get(..4)?.parse::<u32>().ok())
        .max()
        .unwrap();
    assert!(
        e.contains(&format!(
            "database schema version 9999 is newer than this ringback ({ours}): upgrade ringback"
        )),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "one line: {e}");
}

/// A database ringback may read but not write. SQLite: the tests run as
/// root here, for whom `chmod 0444` does not stop a write, so then the
/// file is opened with `?mode=ro` (a non-root run uses chmod on the file
/// and its directory). PostgreSQL: `default_transaction_read_only`, as on
/// a standby.
async fn a_read_only_database_is_refused(b: Backend) {
    let pg = matches!(b, Backend::Postgres(_));
    let mut app = TestApp::spawn(b).await;
    let url = app.database_url.clone();
    if pg {
        let name = url.rsplit('/').next().unwrap();
        sqlx::query(&format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = on"
        ))
        .execute(app.store().pool())
        .await
        .unwrap();
        app.shutdown().await;
        let e = refused(&app, &url).await;
        assert!(
            e.contains("is read-only (transaction_read_only = on"),
            "{e}"
        );
        assert!(e.contains("point DATABASE_URL at the primary"), "{e}");
        return;
    }
    app.shutdown().await;
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let e = if root {
        refused(&app, &format!("{url}?mode=ro")).await
    } else {
        use std::os::unix::fs::PermissionsExt;
        let file = url.trim_start_matches("sqlite://");
        let set = |p: &str, mode| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        set(file, 0o444);
        set(app.dir.path().to_str().unwrap(), 0o555);
        let e = refused(&app, &url).await;
        set(app.dir.path().to_str().unwrap(), 0o755);
        e
    };
    assert!(e.contains("is read-only for uid "), "{e}");
    assert!(
        e.contains("write access to the file and its directory"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "one line: {e}");
}

/// An in-memory SQLite database (`:memory:`, `mode=memory`, `vfs=memdb`)
/// would lose every lead, opt-out and queued text at the next restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_database_is_refused() {
    let _machine = side_by_side().await;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let file = app.dir.path().join("m.db");
    for url in [
        format!("sqlite://{}?vfs=memdb", file.display()),
        "sqlite::memory:".to_string(),
        format!("sqlite://{}?mode=memory", file.display()),
    ] {
        let e = refused(&app, &url).await;
        assert!(e.contains("nothing would survive a restart"), "{url}: {e}");
    }
}

/// `/readyz` proves a write, not only a read: while the database refuses
/// writes (here a trigger stands in for a full disk), the instance is not
/// ready; once it takes writes again, it is.
async fn readyz_fails_while_writes_fail(b: Backend) {
    let pg = matches!(b, Backend::Postgres(_));
    let app = TestApp::spawn(b).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let statements: &[&str] = if pg {
        &[
            "CREATE FUNCTION refuse_writes() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER no_writes BEFORE INSERT ON webhook_events FOR EACH ROW EXECUTE FUNCTION refuse_writes()",
        ]
    } else {
        &["CREATE TRIGGER no_writes BEFORE INSERT ON webhook_events BEGIN SELECT RAISE(ABORT, 'disk full'); END"]
    };
    for s in statements {
        sqlx::query(s).execute(app.store().pool()).await.unwrap();
    }
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.text().await.unwrap(), "the database refuses writes");
    assert_eq!(
        app.missed_call("CAfull", CALLER).await.status(),
        503,
        "and webhooks are answered 503, so the carrier retries"
    );
    let drop = if pg {
        "DROP TRIGGER no_writes ON webhook_events"
    } else {
        "DROP TRIGGER no_writes"
    };
    sqlx::query(drop).execute(app.store().pool()).await.unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(app.missed_call("CAfull", CALLER).await.status(), 200);
    assert_eq!(app.store().count("webhook_events").await.unwrap(), 1);
}
