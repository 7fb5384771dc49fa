//! One error type for every handler. It never leaks internals: a database
//! error becomes a 503 with "try again" (so a carrier retries the webhook
//! rather than us answering 200 and dropping it), and the detail goes to
//! the log, not to the caller.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input: the message says what is wrong and how to fix it.
    #[error("{0}")]
    BadRequest(String),
    #[error("missing signature: {0}")]
    MissingSignature(&'static str),
    #[error("signature does not match")]
    BadSignature,
    #[error("unauthorized")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    /// Valid, but the resource is not in a state that allows it.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// We are shutting down or the database is unreachable: retry later.
    #[error("{0}")]
    Unavailable(String),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::MissingSignature(_) => StatusCode::BAD_REQUEST,
            ApiError::BadSignature => StatusCode::FORBIDDEN,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) | ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short label for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::MissingSignature(_) => "missing_signature",
            ApiError::BadSignature => "bad_signature",
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unavailable(_) | ApiError::Store(_) => "unavailable",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Store(e) => {
                tracing::error!(error = %e, "store error while handling a request; answering 503 so it is retried");
                "temporarily unavailable, please retry".to_string()
            }
            other => other.to_string(),
        };
        let body = serde_json::json!({ "error": message }).to_string();
        let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        resp
    }
}
