//! Health, readiness and metrics.

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its job: the database answers, the worker that
/// sends the texts runs, and we are not shutting down. Load balancers stop
/// sending webhooks when this fails.
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if !s.is_accepting() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_string());
    }
    if !*s.worker_up.borrow() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the worker has stopped: nothing is sending texts".to_string(),
        );
    }
    match s.shell.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready".to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable".to_string(),
            )
        }
    }
}

pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let (due, later) = s
        .shell
        .store
        .queue_depth(s.shell.clock.now())
        .await
        .map(|(d, l)| (d as f64, l as f64))
        .unwrap_or((-1.0, -1.0));
    let mut body = s.shell.metrics.render(&[
        (
            "ringback_job_queue_depth",
            "Jobs due or running: the backlog (-1: database unreachable).",
            due,
        ),
        (
            "ringback_jobs_scheduled",
            "Jobs scheduled for later: follow-ups, cold checks, held texts (-1: database unreachable).",
            later,
        ),
    ]);
    if let Some((waits, waited)) = s.shell.store.writer_waited() {
        body.push_str(&writer_wait_counters(waits, waited));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// SQLite's one writer: waits for it and their total time, as counters, so
/// `rate(…wait_seconds_total) / rate(…waits_total)` is the mean wait.
fn writer_wait_counters(waits: u64, waited: std::time::Duration) -> String {
    format!(
        "# HELP ringback_sqlite_writer_waits_total Times a transaction waited for SQLite's one writer.\n\
         # TYPE ringback_sqlite_writer_waits_total counter\n\
         ringback_sqlite_writer_waits_total {waits}\n\
         # HELP ringback_sqlite_writer_wait_seconds_total Time transactions spent waiting for SQLite's one writer; a rising mean wait means it is saturated.\n\
         # TYPE ringback_sqlite_writer_wait_seconds_total counter\n\
         ringback_sqlite_writer_wait_seconds_total {}\n",
        waited.as_secs_f64()
    )
}
