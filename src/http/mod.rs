//! The HTTP surface: carrier webhooks, ops endpoints, the admin API and the
//! office's web app (`/app`).

pub mod admin;
pub mod admin_guard;
pub mod app;
pub mod error;
pub mod limit;
pub mod ops;
pub mod overload;
pub mod senders;
pub mod serve;
pub mod telnyx;
pub mod twilio;

use crate::provider::twilio::signature::WebhookKeys;
use crate::shell::Shell;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub shell: Shell,
    /// The base URL carriers call (signatures are computed over it).
    pub public_url: Option<String>,
    /// The keys Twilio signs with: the Auth Token (or the development
    /// secret in console mode) and any webhook shared key. There is no
    /// "don't verify" setting.
    pub webhook_keys: Arc<WebhookKeys>,
    /// The Ed25519 public key Telnyx signs webhooks with (in console mode,
    /// the development key's).
    pub telnyx_key: [u8; 32],
    pub admin_token: Option<Arc<SecretString>>,
    /// False once shutdown starts: new webhooks get 503 so the carrier
    /// retries them (against another instance, or this one after restart).
    pub accepting: Arc<AtomicBool>,
    /// False once the worker has stopped (`/readyz` fails).
    pub worker_up: tokio::sync::watch::Receiver<bool>,
    /// The webhooks in flight and waiting (see `overload.rs`).
    pub overload: Arc<overload::Overload>,
}

impl AppState {
    pub fn is_accepting(&self) -> bool {
        self.accepting.load(Ordering::SeqCst)
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.shell.config.service.max_body_bytes;
    let body_timeout = state.shell.config.http.body_timeout;
    let overload = state.overload.clone();
    Router::new()
        .route("/webhooks/twilio/voice", post(twilio::voice))
        .route("/webhooks/twilio/voice/dial", post(twilio::voice_dial))
        .route("/webhooks/twilio/voice/screen", post(twilio::voice_screen))
        .route(
            "/webhooks/twilio/voice/screen/result",
            post(twilio::voice_screen_result),
        )
        .route("/webhooks/twilio/voice/status", post(twilio::voice_status))
        .route(
            "/webhooks/twilio/voice/recording",
            post(twilio::voice_recording),
        )
        .route("/webhooks/twilio/voice/page", post(twilio::voice_page))
        .route(
            "/webhooks/twilio/voice/emergency",
            post(twilio::voice_emergency),
        )
        .route(
            "/webhooks/twilio/voice/emergency/dial",
            post(twilio::voice_emergency_dial),
        )
        .route("/webhooks/twilio/sms", post(twilio::sms))
        .route("/webhooks/telnyx", post(telnyx::events))
        .route("/webhooks/telnyx/texml/voice", post(twilio::voice))
        .route("/webhooks/telnyx/texml/dial", post(twilio::voice_dial))
        .route("/webhooks/telnyx/texml/screen", post(twilio::voice_screen))
        .route(
            "/webhooks/telnyx/texml/screen/result",
            post(twilio::voice_screen_result),
        )
        .route("/webhooks/telnyx/texml/status", post(twilio::voice_status))
        .route(
            "/webhooks/telnyx/texml/recording",
            post(twilio::voice_recording),
        )
        .route("/webhooks/telnyx/texml/page", post(twilio::voice_page))
        .route(
            "/webhooks/telnyx/texml/page/start",
            post(twilio::voice_page_start),
        )
        .route(
            "/webhooks/telnyx/texml/emergency",
            post(twilio::voice_emergency),
        )
        .route(
            "/webhooks/telnyx/texml/emergency/dial",
            post(twilio::voice_emergency_dial),
        )
        .route("/webhooks/twilio/sms/status", post(twilio::sms_status))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .layer(axum::middleware::from_fn_with_state(
            limit::WebhookIpLimit::new(limit::UNVERIFIED_BURST, limit::UNVERIFIED_REFILL),
            limit::webhooks,
        ))
        .route("/api/v1/senders", get(senders::list_senders))
        .route("/api/v1/leads", get(admin::list_leads))
        .route(
            "/api/v1/leads/{id}",
            get(admin::lead_detail).patch(admin::update_lead),
        )
        .route("/api/v1/leads/{id}/attempts", post(admin::log_attempt))
        .route("/api/v1/leads/{id}/texts", post(admin::text_lead))
        .layer(axum::middleware::from_fn_with_state(
            admin_guard::AdminGuard::new(),
            admin_guard::admin,
        ))
        .merge(app::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            body_timeout,
            serve::body_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limit,
            error::explain_rejections,
        ))
        // Outermost: a request over the caps is answered before anything
        // else is spent on it.
        .layer(axum::middleware::from_fn_with_state(
            overload,
            overload::webhooks,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
