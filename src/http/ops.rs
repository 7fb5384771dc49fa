//! Health, readiness and metrics.

use super::AppState;
use crate::metrics::{self, Gauge};
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
    if let Err(e) = s.shell.store.ping().await {
        tracing::warn!(error = %e, "readiness check: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable".to_string(),
        );
    }
    // Reads answering is not enough: every webhook writes.
    match s.shell.store.probe_write(s.shell.clock.now()).await {
        Ok(()) => (StatusCode::OK, "ready".to_string()),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: the database refuses writes");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database refuses writes".to_string(),
            )
        }
    }
}

/// `GET /metrics`: the counters and histograms, then gauges read from the
/// database at scrape time: the job backlog, each sending number's line
/// (waiting texts by class, and how long the oldest has waited) and whether
/// carriers put it at risk.
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let now = s.shell.clock.now();
    let (due, later) = s
        .shell
        .store
        .queue_depth(now)
        .await
        .map(|(d, l)| (d as f64, l as f64))
        .unwrap_or((-1.0, -1.0));
    let mut gauges = vec![
        Gauge {
            name: "ringback_job_queue_depth",
            help: "Jobs due or running: the backlog (-1: database unreachable).",
            values: vec![(String::new(), due)],
        },
        Gauge {
            name: "ringback_jobs_scheduled",
            help: "Jobs scheduled for later: follow-ups, cold checks, held texts (-1: database unreachable).",
            values: vec![(String::new(), later)],
        },
    ];
    let (inflight, waiting) = s.overload.load(s.shell.config.http.max_inflight_webhooks);
    gauges.push(Gauge {
        name: "ringback_webhooks_in_flight",
        help: "Webhooks being handled now (at most [http] max_inflight_webhooks).",
        values: vec![(String::new(), inflight as f64)],
    });
    gauges.push(Gauge {
        name: "ringback_webhooks_waiting",
        help: "Webhooks waiting for a turn (at most [http] max_queued_webhooks; beyond, 503).",
        values: vec![(String::new(), waiting as f64)],
    });
    match s.shell.store.line_depths(now).await {
        Ok(lines) => {
            let labels = |l: &crate::store::LineDepth| {
                metrics::labels(&[("sender", &l.sender), ("class", l.class.as_str())])
            };
            gauges.push(Gauge {
                name: "ringback_sender_queue_depth",
                help: "Texts due and waiting in a sending number's line, by class.",
                values: lines
                    .iter()
                    .map(|l| (labels(l), l.waiting as f64))
                    .collect(),
            });
            gauges.push(Gauge {
                name: "ringback_sender_queue_oldest_seconds",
                help: "How long the longest-waiting text in a sending number's line has waited, by class.",
                values: lines
                    .iter()
                    .map(|l| (labels(l), (now - l.oldest_due).num_milliseconds().max(0) as f64 / 1000.0))
                    .collect(),
            });
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the sending lines"),
    }
    match s.shell.store.sender_health().await {
        Ok(health) => gauges.push(super::senders::at_risk_gauge(&s.shell.config, &health)),
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read sender health"),
    }
    let mut body = s.shell.metrics.render(&gauges);
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
