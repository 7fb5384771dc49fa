//! The environment: the operator's settings (`PORT`, `DATABASE_URL`,
//! `RINGBACK_PUBLIC_URL`, carrier credentials...) and the only place
//! secrets come from.
//!
//! Apart from `ringback.toml` because it has its own source, its own
//! checks and its own audience (whoever deploys ringback, not the owner
//! who edits the file), and because it carries the secrets.

use secrecy::SecretString;
use std::fmt;
use std::path::PathBuf;

/// What the environment says (see README "Configuration reference").
#[derive(Clone)]
pub struct Settings {
    pub config_path: PathBuf,
    pub database_url: String,
    pub addr: String,
    pub port: u16,
    /// The https base URL the carrier calls. Signatures are checked against
    /// it; without it the request's own Host header is used (local dev).
    pub public_url: Option<String>,
    pub twilio: Option<TwilioSettings>,
    pub telnyx: Option<TelnyxSettings>,
    pub admin_token: Option<SecretString>,
}

/// `TELNYX_API_KEY`, `TELNYX_PUBLIC_KEY`, `TELNYX_API_BASE`.
#[derive(Clone)]
pub struct TelnyxSettings {
    pub api_key: SecretString,
    /// The account's Ed25519 public key (32 raw bytes), which Telnyx signs
    /// every webhook with.
    pub public_key: [u8; 32],
    pub api_base: String,
}

impl TelnyxSettings {
    /// Reads the Telnyx variables: `None` when neither key is set; an
    /// error naming the variable when one is missing or malformed.
    fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<TelnyxSettings>, String> {
        require_http(
            "TELNYX_API_BASE",
            get("TELNYX_API_BASE").as_deref(),
            "(or http:// for a local mock); unset it to use https://api.telnyx.com",
        )?;
        let (key, public) = match (get("TELNYX_API_KEY"), get("TELNYX_PUBLIC_KEY")) {
            (None, None) => {
                if get("TELNYX_API_BASE").is_some() {
                    return Err("TELNYX_API_BASE is set but TELNYX_API_KEY and TELNYX_PUBLIC_KEY are not; set them too, or unset it".into());
                }
                return Ok(None);
            }
            (Some(_), None) => return Err("TELNYX_API_KEY is set but TELNYX_PUBLIC_KEY is not; set it to the public key from the Telnyx Portal (Account Settings > Keys & Credentials > Public Key), which webhooks are checked against".into()),
            (None, Some(_)) => return Err("TELNYX_PUBLIC_KEY is set but TELNYX_API_KEY is not; set both (an API key v2 from the Telnyx Portal)".into()),
            (Some(k), Some(p)) => (k, p),
        };
        Ok(Some(TelnyxSettings {
            api_key: SecretString::from(key),
            public_key: public_key(&public)?,
            api_base: get("TELNYX_API_BASE")
                .unwrap_or_else(|| "https://api.telnyx.com".into())
                .trim_end_matches('/')
                .to_string(),
        }))
    }
}

/// `TELNYX_PUBLIC_KEY` as the Portal shows it: base64 of the raw 32-byte
/// Ed25519 key. Anything else would make every webhook a 403.
pub fn public_key(v: &str) -> Result<[u8; 32], String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .map_err(|_| {
            "TELNYX_PUBLIC_KEY is not base64; copy the public key from the Telnyx Portal as shown"
                .to_string()
        })?;
    <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| {
        format!(
            "TELNYX_PUBLIC_KEY must be a 32-byte Ed25519 key in base64 (44 characters); it decodes to {} bytes",
            raw.len()
        )
    })
}

#[derive(Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub api_base: String,
    /// `TWILIO_WEBHOOK_SHARED_KEY`: the secret of a webhook shared key, for
    /// webhooks Twilio signs with HMAC-SHA256 instead of the Auth Token.
    pub webhook_shared_key: Option<SecretString>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("config_path", &self.config_path)
            .field("database_url", &redact_url(&self.database_url))
            .field("addr", &self.addr)
            .field("port", &self.port)
            .field("public_url", &self.public_url)
            .field("twilio", &self.twilio.as_ref().map(|t| &t.account_sid))
            .field("telnyx", &self.telnyx.as_ref().map(|_| "[set]"))
            .field("admin_token", &self.admin_token.as_ref().map(|_| "[set]"))
            .finish()
    }
}

/// Hides a password in a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// `TWILIO_ACCOUNT_SID` as Twilio issues it: `AC` and 32 hex digits. It
/// goes into every API path (`/2010-04-01/Accounts/{sid}/Messages.json`),
/// so anything else would only fail later, on the first text, as a 404.
fn account_sid(sid: String) -> Result<String, String> {
    let hex = sid.strip_prefix("AC").unwrap_or_default();
    if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(sid);
    }
    let hint = if sid.starts_with("SK") {
        "that is an API key SID; ringback signs in with the Account SID and its auth token"
    } else if sid.trim() != sid {
        "it has spaces or a line break around it"
    } else {
        "copy the Account SID from the Twilio Console's Account Info"
    };
    Err(format!(
        "TWILIO_ACCOUNT_SID must be \"AC\" followed by 32 hex digits ({} characters given): {hint}",
        sid.chars().count()
    ))
}

/// An optional URL setting must be http(s); the error names the variable
/// and, after "must start with https://", the `fix`.
fn require_http(name: &str, value: Option<&str>, fix: &str) -> Result<(), String> {
    match value {
        Some(v) if !(v.starts_with("https://") || v.starts_with("http://")) => {
            Err(format!("{name}={v:?} must start with https:// {fix}"))
        }
        _ => Ok(()),
    }
}

impl Settings {
    /// No carrier credentials at all: texts are logged, webhooks are
    /// checked against the development secret.
    pub fn console_mode(&self) -> bool {
        self.twilio.is_none() && self.telnyx.is_none()
    }

    /// Reads the environment. Errors say which variable and what to do.
    pub fn from_env() -> Result<Settings, String> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let port = match get("PORT") {
            Some(p) => p
                .parse()
                .map_err(|_| format!("PORT={p:?} is not a port number; set e.g. PORT=8080"))?,
            None => 8080,
        };
        let public_url = get("RINGBACK_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
        require_http(
            "RINGBACK_PUBLIC_URL",
            public_url.as_deref(),
            "(the URL your carrier calls, e.g. https://ringback.example.com)",
        )?;
        require_http(
            "TWILIO_API_BASE",
            get("TWILIO_API_BASE").as_deref(),
            "(or http:// for a local mock); unset it to use https://api.twilio.com",
        )?;
        let shared_key = get("TWILIO_WEBHOOK_SHARED_KEY");
        let twilio = match (get("TWILIO_ACCOUNT_SID"), get("TWILIO_AUTH_TOKEN")) {
            (Some(sid), Some(token)) => Some(TwilioSettings {
                account_sid: account_sid(sid)?,
                auth_token: SecretString::from(token),
                api_base: get("TWILIO_API_BASE")
                    .unwrap_or_else(|| "https://api.twilio.com".into())
                    .trim_end_matches('/')
                    .to_string(),
                webhook_shared_key: shared_key.map(SecretString::from),
            }),
            (None, None) if shared_key.is_some() => {
                return Err("TWILIO_WEBHOOK_SHARED_KEY is set but TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not; set them too (a shared key only signs webhooks of a Twilio account), or unset it for console mode".into())
            }
            (None, None) => None,
            (Some(_), None) => {
                return Err("TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not; set both (or neither, for console mode)".into())
            }
            (None, Some(_)) => {
                return Err("TWILIO_AUTH_TOKEN is set but TWILIO_ACCOUNT_SID is not; set both (or neither, for console mode)".into())
            }
        };
        let telnyx = TelnyxSettings::from_lookup(&get)?;
        Ok(Settings {
            config_path: get("RINGBACK_CONFIG")
                .unwrap_or_else(|| "ringback.toml".into())
                .into(),
            database_url: get("DATABASE_URL").unwrap_or_else(|| "sqlite://ringback.db".into()),
            addr: get("RINGBACK_ADDR").unwrap_or_else(|| "0.0.0.0".into()),
            port,
            public_url,
            twilio,
            telnyx,
            admin_token: get("RINGBACK_ADMIN_TOKEN").map(SecretString::from),
        })
    }
}
