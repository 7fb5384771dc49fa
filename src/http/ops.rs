//! Health, readiness and metrics.

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its job: the database answers and we are not
/// shutting down. Load balancers stop sending webhooks when this fails.
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if !s.is_accepting() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_string());
    }
    match s.core.store.ping().await {
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
    let depth = s
        .core
        .store
        .queue_depth()
        .await
        .map(|d| d as f64)
        .unwrap_or(-1.0);
    let body = s.core.metrics.render(&[(
        "ringback_job_queue_depth",
        "Jobs pending or running (-1: database unreachable).",
        depth,
    )]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
