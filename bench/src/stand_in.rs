//! A tiny stand-in for ringback, used by `--self-test` to check the bench's own
//! measurement pipeline without the real service. It reads the same
//! environment as ringback, verifies the webhook signature, texts each new
//! caller once through the (mock) Messages API and answers with TwiML; as
//! Twilio, or as Telnyx when `TELNYX_API_BASE` is set (Ed25519 signatures,
//! `POST /v2/messages`). It does no more work than that, so its figures
//! are the bench's ceiling.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::carrier::Provider;
use crate::load::WEBHOOK_PATH;
use crate::signature;

#[derive(Clone, Debug)]
pub struct StandInConfig {
    pub public_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub api_base: String,
    /// Set when the stand-in plays Telnyx.
    pub telnyx: Option<TelnyxKeys>,
}

/// `TELNYX_API_KEY` and the decoded `TELNYX_PUBLIC_KEY`.
#[derive(Clone, Debug)]
pub struct TelnyxKeys {
    pub api_key: String,
    pub public_key: [u8; 32],
}

impl StandInConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
        if let Ok(api_base) = var("TELNYX_API_BASE") {
            let key = var("TELNYX_PUBLIC_KEY")?;
            let public_key =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &key)
                    .ok()
                    .and_then(|k| <[u8; 32]>::try_from(k).ok())
                    .context("TELNYX_PUBLIC_KEY is not a base64 Ed25519 key")?;
            return Ok(Self {
                public_url: var("RINGBACK_PUBLIC_URL")?,
                account_sid: String::new(),
                auth_token: String::new(),
                api_base,
                telnyx: Some(TelnyxKeys {
                    api_key: var("TELNYX_API_KEY")?,
                    public_key,
                }),
            });
        }
        Ok(Self {
            public_url: var("RINGBACK_PUBLIC_URL")?,
            account_sid: var("TWILIO_ACCOUNT_SID")?,
            auth_token: var("TWILIO_AUTH_TOKEN")?,
            api_base: var("TWILIO_API_BASE")?,
            telnyx: None,
        })
    }
}

struct StandIn {
    config: StandInConfig,
    client: reqwest::Client,
    texted: Mutex<HashSet<String>>,
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: StandInConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = Arc::new(StandIn {
        config,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        texted: Mutex::new(HashSet::new()),
    });
    let app = Router::new()
        .route("/readyz", get(|| async { "ok" }))
        .route(WEBHOOK_PATH, post(dial_action))
        .route(Provider::Telnyx.webhook_path(), post(dial_action))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Entry point of the hidden `stand-in` subcommand: ringback's environment,
/// `PORT`/`RINGBACK_ADDR`, graceful stop on SIGTERM.
pub async fn serve_from_env() -> anyhow::Result<()> {
    let config = StandInConfig::from_env()?;
    let addr = std::env::var("RINGBACK_ADDR").unwrap_or_else(|_| "127.0.0.1".to_string());
    let port = std::env::var("PORT").context("PORT is not set")?;
    let listener = tokio::net::TcpListener::bind(format!("{addr}:{port}")).await?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    serve(listener, config, async move {
        sigterm.recv().await;
    })
    .await
}

async fn dial_action(
    State(state): State<Arc<StandIn>>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let genuine = match &state.config.telnyx {
        Some(keys) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            ringback::provider::telnyx::signature::verify(
                &keys.public_key,
                header("telnyx-timestamp"),
                header("telnyx-signature-ed25519"),
                &body,
                now,
            )
            .is_ok()
        }
        None => {
            let url = format!("{}{WEBHOOK_PATH}", state.config.public_url);
            let signature = header("X-Twilio-Signature").unwrap_or("");
            signature::verify(&state.config.auth_token, &url, &borrowed, signature)
        }
    };
    if !genuine {
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    let params: HashMap<&str, &str> = borrowed.into_iter().collect();
    let (Some(&caller), Some(&business)) = (params.get("From"), params.get("To")) else {
        return (StatusCode::BAD_REQUEST, "From and To are required").into_response();
    };
    let missed = matches!(
        params.get("DialCallStatus"),
        Some(&("no-answer" | "busy" | "failed"))
    );
    if missed && state.texted.lock().unwrap().insert(caller.to_string()) {
        let (state, caller, business) = (state.clone(), caller.to_string(), business.to_string());
        tokio::spawn(async move { state.text(&caller, &business).await });
    }
    (
        [(header::CONTENT_TYPE, "text/xml")],
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#,
    )
        .into_response()
}

impl StandIn {
    /// One text, retried on 429 (honouring `Retry-After`) and 5xx.
    async fn text(&self, caller: &str, business: &str) {
        const BODY: &str = "Sorry we missed your call! How can we help? Reply here.";
        let request = || match &self.config.telnyx {
            Some(keys) => self
                .client
                .post(format!("{}/v2/messages", self.config.api_base))
                .bearer_auth(&keys.api_key)
                .json(&serde_json::json!({"to": caller, "from": business, "text": BODY})),
            None => self
                .client
                .post(format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    self.config.api_base, self.config.account_sid
                ))
                .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
                .form(&[("To", caller), ("From", business), ("Body", BODY)]),
        };
        let mut backoff = Duration::from_millis(100);
        for _ in 0..8 {
            let response = request().send().await;
            let wait = match response {
                Ok(r) if r.status().is_success() => return,
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => r
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .map_or(backoff, Duration::from_secs),
                Ok(r) if r.status().is_server_error() => backoff,
                Ok(r) => {
                    eprintln!("stand-in: texting {caller} failed: {}", r.status());
                    return;
                }
                Err(err) => {
                    eprintln!("stand-in: texting {caller}: {err}");
                    backoff
                }
            };
            tokio::time::sleep(wait).await;
            backoff *= 2;
        }
        eprintln!("stand-in: gave up texting {caller}");
    }
}
