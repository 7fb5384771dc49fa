//! One error type for every handler. It never leaks internals: a database
//! error becomes a 503 with "try again" (so a carrier retries the webhook
//! rather than us answering 200 and dropping it), and the detail goes to
//! the log, not to the caller.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
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
    /// Signed with a Twilio webhook shared key (HMAC-SHA256) while none is
    /// configured: it cannot be verified. Answered like a bad signature,
    /// counted apart so an operator sees the cause in `/metrics`.
    #[error("signature does not match")]
    SharedKeyMissing,
    #[error("unauthorized")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    /// Valid, but the lead is not in a state that allows it.
    #[error("{0}")]
    Conflict(crate::shell::office::Conflict),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A body over `max_body_bytes`.
    #[error("{0}")]
    TooLarge(String),
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
            ApiError::BadSignature | ApiError::SharedKeyMissing => StatusCode::FORBIDDEN,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) | ApiError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short label for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::MissingSignature(_) => "missing_signature",
            ApiError::BadSignature => "bad_signature",
            ApiError::SharedKeyMissing => "shared_key_missing",
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooLarge(_) => "too_large",
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
        let mut body = serde_json::json!({ "error": message });
        if let ApiError::Conflict(c) = &self {
            // Machine-readable too: a dispatcher's screen can say who took
            // the lead without parsing the sentence.
            let (field, value) = c.fact();
            body["conflict"] = c.code().into();
            body[field] = value;
        }
        let body = body.to_string();
        let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        resp.extensions_mut().insert(Explained);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        resp
    }
}

/// "Not now, come back in `retry_after`": `status` (429 or 503) with our
/// JSON error body and a `Retry-After` in whole seconds, rounded up and at
/// least 1 (a client told 0 would come straight back).
pub(crate) fn try_again_later(status: StatusCode, message: &str, retry_after: u64) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut r = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from_str(&retry_after.max(1).to_string()).expect("digits"),
    );
    r.extensions_mut().insert(Explained);
    r
}

/// Whole seconds of `wait`, rounded up, at least 1: what a `Retry-After`
/// (and a message quoting it) says.
pub(crate) fn whole_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Marks a response whose error was already explained in our own words
/// (an [`ApiError`], the limiter's 429), so [`explain_rejections`] leaves
/// it alone.
#[derive(Debug, Clone, Copy)]
pub struct Explained;

/// Middleware for the whole router: a 4xx that axum produced before any
/// handler ran (405 for a wrong method, 413 for a body over the limit, 400
/// for a body cut short, 404 for a path we do not serve, a rejected JSON
/// body on the admin API) gets a log line and the same `{"error": ...}`
/// JSON body as every other error, saying what to change, instead of an
/// empty or plain-text answer nobody sees in the logs.
pub async fn explain_rejections(
    State(max_body_bytes): State<usize>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    let status = resp.status();
    if !status.is_client_error() || resp.extensions().get::<Explained>().is_some() {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    // The answer may quote what the caller sent (it is theirs); the log
    // line never does: a rejection text echoes raw input ("Cannot parse
    // `1\nFORGED LINE`"), so the log says which kind of refusal it was.
    let (message, logged) = match status {
        // (axum adds the `Allow` header itself, outside this layer.)
        StatusCode::METHOD_NOT_ALLOWED if path.starts_with("/webhooks/") => {
            let m = format!("{method} is not allowed on {path}; carriers POST webhooks");
            (m.clone(), m)
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            let m = format!("{method} is not allowed on {path}; see the Allow header");
            (m.clone(), m)
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            let m = format!(
                "the request body is over the {max_body_bytes}-byte limit (max_body_bytes in ringback.toml)"
            );
            (m.clone(), m)
        }
        StatusCode::NOT_FOUND => (
            format!("nothing is served at {path}"),
            "no such path".to_string(),
        ),
        _ => {
            let said = axum::body::to_bytes(body, 1024).await.unwrap_or_default();
            let said = String::from_utf8_lossy(&said);
            let said = said.trim();
            if said.is_empty() {
                let m = format!("{method} {path} was refused");
                (m.clone(), m)
            } else {
                (
                    format!("the request could not be read: {said}"),
                    "the request could not be read (path, query or body malformed)".to_string(),
                )
            }
        }
    };
    let path = crate::logging::clip(&path, 120);
    if status == StatusCode::NOT_FOUND && !path.starts_with("/webhooks/") {
        // Scanners probe paths all day; not worth a warning each.
        tracing::info!(%method, path, status = status.as_u16(), error = logged, "request rejected");
    } else {
        tracing::warn!(%method, path, status = status.as_u16(), error = logged, "request rejected");
    }
    let mut out = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": message }).to_string(),
    )
        .into_response();
    if let Some(v) = parts.headers.get(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    out.extensions_mut().insert(Explained);
    out
}
