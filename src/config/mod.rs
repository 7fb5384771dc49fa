//! Configuration: `ringback.toml` and `prompts/` (the owner's), and the
//! environment (the operator's, and the only place secrets come from).
//!
//! Everything is parsed into typed values at start-up. A mistake is reported
//! with the file, the key and how to fix it, and all mistakes are reported at
//! once, so an owner fixes the file in one pass.

pub mod escalation_templates;
pub mod roster;
pub mod translations;

use crate::domain::template::{Template, TemplateError, BUSINESS_VARS, INSTANT_VARS};
use crate::domain::{BusinessHours, PhoneNumber};
use chrono::Duration;
use chrono_tz::Tz;
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// The signing secret used when no carrier credentials are configured
/// (console mode). Webhooks are still verified against it, and `ringback
/// simulate` signs with it; console mode never texts anyone, so knowing it
/// gains an attacker nothing.
pub const DEV_WEBHOOK_SECRET: &str = "ringback-dev-secret";
/// Admin bearer token in console mode when `RINGBACK_ADMIN_TOKEN` is unset.
pub const DEV_ADMIN_TOKEN: &str = "ringback-dev-admin";

// ---------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------

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
    pub admin_token: Option<SecretString>,
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
        // Telnyx is in the design but not in this build. Without Twilio
        // credentials, starting anyway would mean console mode: every text
        // logged as sent and none delivered, webhooks checked against the
        // public development secret.
        if twilio.is_none() {
            if let Some(name) = ["TELNYX_API_KEY", "TELNYX_PUBLIC_KEY", "TELNYX_API_BASE"]
                .into_iter()
                .find(|k| get(k).is_some())
            {
                return Err(format!(
                    "{name} is set, but this build of ringback has no Telnyx provider yet; unset the TELNYX_* variables and set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or neither, for console mode)"
                ));
            }
        }
        Ok(Settings {
            config_path: get("RINGBACK_CONFIG")
                .unwrap_or_else(|| "ringback.toml".into())
                .into(),
            database_url: get("DATABASE_URL").unwrap_or_else(|| "sqlite://ringback.db".into()),
            addr: get("RINGBACK_ADDR").unwrap_or_else(|| "0.0.0.0".into()),
            port,
            public_url,
            twilio,
            admin_token: get("RINGBACK_ADMIN_TOKEN").map(SecretString::from),
        })
    }
}

// ---------------------------------------------------------------------------
// ringback.toml
// ---------------------------------------------------------------------------

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, as errors name it.
    pub file: String,
    pub service: ServiceConfig,
    /// Connection pool and timeouts (`[database]`).
    pub database: DatabaseConfig,
    pub businesses: Vec<Business>,
    /// Tracking number -> index into `businesses`.
    by_number: HashMap<String, usize>,
}

/// A rules file as read: compiled by the core ([`crate::core::Policy`]).
#[derive(Debug, Clone, Default)]
pub struct RulesFile {
    /// Where it was read from, for errors.
    pub path: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub prompts_dir: PathBuf,
    /// One instant text per caller per business per this window.
    pub instant_text_window: Duration,
    /// How long a claimed job is ours before another worker may take it.
    pub lease: Duration,
    pub max_attempts: i64,
    pub worker_concurrency: usize,
    pub max_body_bytes: usize,
    /// How long one call to the carrier's send API may take.
    pub send_timeout: std::time::Duration,
    /// The owner's quiet-hours overrides (`default`, or a state's code, to
    /// `"HH:MM-HH:MM"`), applied over the built-in table by the gate.
    pub quiet_hours: BTreeMap<String, String>,
    /// The owner-editable intent rules (`prompts/intents.rules`).
    pub intent_rules: RulesFile,
    /// The owner's labelled examples the rules must read right
    /// (`prompts/examples.tsv`), if the file exists.
    pub examples: Option<RulesFile>,
    /// At most this many texts per recipient per business per 24 h
    /// (opt-out confirmations, HELP replies and emergencies excepted).
    pub daily_cap: i64,
    /// The instant reply to a call the person just made may go at any hour.
    pub instant_any_hour: bool,
    /// An open lead with no progress for this long turns `cold`.
    pub cold_after: Duration,
}

/// `[database]`: how the store uses its connections. PostgreSQL uses every
/// key; SQLite uses `acquire_timeout` only (it always has one writer
/// connection and two readers, and no statement timeout).
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseConfig {
    /// Connections this instance may open (PostgreSQL). Several instances
    /// together must stay under the server's `max_connections`.
    pub max_connections: u32,
    /// How long a request or job waits for a free connection before giving
    /// up (a webhook then answers 503 + Retry-After, and the carrier retries).
    pub acquire_timeout: std::time::Duration,
    /// PostgreSQL `statement_timeout`: a statement running longer is
    /// canceled by the server (the webhook answers 503, the job is retried).
    pub statement_timeout: std::time::Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        // PostgreSQL connections per instance; a webhook waits at most 5 s
        // for one (then answers 503 + Retry-After); a statement runs at
        // most 5 s.
        DatabaseConfig {
            max_connections: 16,
            acquire_timeout: std::time::Duration::from_secs(5),
            statement_timeout: std::time::Duration::from_secs(5),
        }
    }
}

impl DatabaseConfig {
    /// Twilio gives up on a webhook after 15 s; an answer must come well
    /// before that, so a database wait is bounded by this.
    const MAX_WAIT_SECONDS: f64 = 10.0;

    fn parse(raw: Option<RawDatabase>, file: &str, errs: &mut Vec<ConfigError>) -> Self {
        let d = DatabaseConfig::default();
        let Some(raw) = raw else { return d };
        let mut seconds = |key: &str, v: Option<f64>, default: std::time::Duration| match v {
            None => default,
            Some(s) if s.is_finite() && s > 0.0 && s <= Self::MAX_WAIT_SECONDS => {
                std::time::Duration::from_secs_f64(s)
            }
            Some(s) => {
                errs.push(ConfigError::new(
                    file,
                    &format!("database.{key}"),
                    format!("{s} is out of range (more than 0, at most {} seconds)", Self::MAX_WAIT_SECONDS),
                    format!(
                        "use e.g. {} (the default); Twilio waits 15 s for a webhook answer, so a database wait must end well before that",
                        default.as_secs_f64()
                    ),
                ));
                default
            }
        };
        let acquire_timeout = seconds(
            "acquire_timeout_seconds",
            raw.acquire_timeout_seconds,
            d.acquire_timeout,
        );
        let statement_timeout = seconds(
            "statement_timeout_seconds",
            raw.statement_timeout_seconds,
            d.statement_timeout,
        );
        let max_connections = match raw.max_connections {
            None => d.max_connections,
            Some(n) if (2..=1000).contains(&n) => n,
            Some(n) => {
                errs.push(ConfigError::new(
                    file,
                    "database.max_connections",
                    format!("{n} is out of range (2 to 1000)"),
                    format!(
                        "use e.g. {} (the default); at least 2, because a webhook's transaction and the worker run at once, and all instances together must stay under PostgreSQL's own max_connections",
                        d.max_connections
                    ),
                ));
                d.max_connections
            }
        };
        DatabaseConfig {
            max_connections,
            acquire_timeout,
            statement_timeout,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Business {
    pub id: String,
    pub name: String,
    pub time_zone: Tz,
    /// Tracking numbers the business owns; the first is its main sender.
    pub numbers: Vec<PhoneNumber>,
    pub ring_phone: PhoneNumber,
    pub ring_seconds: u32,
    pub call_screening: bool,
    pub internal_numbers: Vec<PhoneNumber>,
    pub block_list: Vec<PhoneNumber>,
    pub hours: BusinessHours,
    pub templates: BusinessTemplates,
    /// How each of its numbers may send (A2P 10DLC, toll-free), by number.
    pub senders: HashMap<String, Sender>,
    /// The owner's own phone, for alerts (e.g. a sender refused).
    pub owner_phone: Option<PhoneNumber>,
    /// Where office notices and job packets are texted (defaults to the
    /// owner's phone; with neither, they are only in the admin API).
    pub dispatcher_phone: Option<PhoneNumber>,
    /// `{booking_link}`: a booking link or the windows the office offers.
    pub booking_link: String,
    /// `{service_fee}`: the service-call fee / free-estimate wording.
    pub service_fee: String,
    /// Where each tracking number's calls come from ("Google Ads", "truck
    /// wrap"...), for the job packet and the queue's campaign filter.
    pub sources: HashMap<String, String>,
    /// The follow-up sequence for callers who have not replied.
    pub follow_ups: Vec<FollowUpStep>,
    /// Reasons the office may give with a disposition.
    pub disposition_reasons: Vec<String>,
    /// Who is paged for an emergency, and how hard (`[business.on_call]`).
    /// Without it an emergency still reaches the office, but nobody is paged.
    pub roster: Option<crate::config::roster::Roster>,
    /// After hours, offer "press 1 if this is an emergency" before voicemail
    /// (needs a roster).
    pub emergency_menu: bool,
    /// Page texts, safety messages and call-flow words (`prompts/`).
    pub escalation: std::sync::Arc<crate::config::escalation_templates::EscalationTemplates>,
    /// Templates in other languages (`prompts/<lang>/`), shared by the
    /// businesses of one prompts directory.
    pub translations: std::sync::Arc<translations::Translations>,
}

/// One step of the follow-up sequence.
#[derive(Debug, Clone)]
pub struct FollowUpStep {
    pub when: StepTime,
    pub template: Template,
}

/// When a follow-up step falls due, counted from the missed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepTime {
    /// This long after the call ("30m", "2h").
    After(Duration),
    /// The business's first opening on a later day than the call: "next
    /// morning" in the trade's words, skipping closed days.
    NextOpening,
}

/// Reasons offered when the config names none.
pub const DEFAULT_DISPOSITION_REASONS: &[&str] = &[
    "price",
    "went with another company",
    "fixed it themselves",
    "outside service area",
    "not a job we do",
    "no response",
    "other",
];

/// A sending number's carrier registration. Only `registered` (10DLC) or
/// `verified` (toll-free) numbers may send: carriers block the rest
/// (Twilio 30034 / 30032), and a blocked number hurts the brand's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Sender {
    pub number: String,
    pub registration: Registration,
    pub status: RegistrationStatus,
    /// Messages per second this number may send (1 for a typical long code).
    pub mps: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    TenDlc { campaign_id: String },
    TollFree,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    Registered,
    Verified,
    Pending,
    Rejected,
    Unregistered,
}

impl RegistrationStatus {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "registered" => Self::Registered,
            "verified" => Self::Verified,
            "pending" => Self::Pending,
            "rejected" => Self::Rejected,
            "unregistered" | "none" => Self::Unregistered,
            _ => return None,
        })
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Verified => "verified",
            Self::Pending => "pending",
            Self::Rejected => "rejected",
            Self::Unregistered => "unregistered",
        }
    }
}

impl Sender {
    /// May this number send at all?
    pub fn may_send(&self) -> bool {
        match self.registration {
            Registration::TenDlc { .. } => self.status == RegistrationStatus::Registered,
            Registration::TollFree => self.status == RegistrationStatus::Verified,
            Registration::None => false,
        }
    }
}

impl Business {
    /// Template values every text and prompt of this business can use:
    /// its name and the tracking number the customer dialled.
    pub fn vars(&self, tracking_number: &str) -> crate::domain::template::Vars {
        crate::domain::template::Vars::new()
            .set("business", self.name.clone())
            .set("business_phone", tracking_number)
            .set("booking_link", self.booking_link.clone())
            .set("service_fee", self.service_fee.clone())
    }

    /// Where office notices go, if anywhere.
    /// Is `phone` one the config names as this business's staff: an
    /// internal number, someone on the on-call roster, the dispatcher, the
    /// owner or the phone the shop rings?
    pub fn is_staff(&self, phone: &PhoneNumber) -> bool {
        self.internal_numbers.contains(phone)
            || self.dispatcher_phone.as_ref() == Some(phone)
            || self.owner_phone.as_ref() == Some(phone)
            || self.ring_phone == *phone
            || self
                .roster
                .as_ref()
                .is_some_and(|r| r.person_by_phone(phone).is_some())
    }

    pub fn office_phone(&self) -> Option<&PhoneNumber> {
        self.dispatcher_phone.as_ref().or(self.owner_phone.as_ref())
    }

    /// The source label of a tracking number (its campaign), if configured.
    pub fn source(&self, tracking_number: &str) -> Option<&str> {
        self.sources.get(tracking_number).map(String::as_str)
    }

    /// The registration of `number`, if the business declared one.
    pub fn sender(&self, number: &str) -> Option<&Sender> {
        self.senders.get(number)
    }
}

#[derive(Debug, Clone)]
pub struct BusinessTemplates {
    pub instant_business_hours: Template,
    pub instant_after_hours: Template,
    pub voicemail_greeting: Template,
    pub after_hours_greeting: Template,
    pub screen_prompt: Template,
    pub opt_out_confirmation: Template,
    pub opt_in_confirmation: Template,
    pub help_reply: Template,
    /// Answer to "can someone come out?": `{booking_link}`.
    pub booking_reply: Template,
    /// Answer to "how much?": `{service_fee}` and a nudge to book. Never
    /// quotes a price the owner did not write.
    pub pricing_reply: Template,
    /// The one "a person will get back to you" for anything else.
    pub acknowledgement: Template,
    /// Context question 1: what is the problem and where.
    pub question_details: Template,
    /// Context question 2: how urgent and when to call.
    pub question_timing: Template,
}

impl Config {
    /// The business that owns `number` (the `To` of a call or text).
    pub fn business_for(&self, number: &str) -> Option<&Business> {
        self.by_number.get(number).map(|&i| &self.businesses[i])
    }

    /// Is `phone` a number some business owns: a tracking number or the
    /// phone it rings? Such numbers are never customers.
    pub fn is_own_number(&self, phone: &str) -> bool {
        self.business_for(phone).is_some()
            || self
                .businesses
                .iter()
                .any(|b| b.ring_phone.as_str() == phone)
    }

    pub fn business(&self, id: &str) -> Option<&Business> {
        self.businesses.iter().find(|b| b.id == id)
    }

    /// Loads and validates `path` and the templates it refers to.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(
                &file,
                "",
                format!("cannot read the config file: {e}"),
                "create it (copy ringback.toml from the repository) or point RINGBACK_CONFIG at it",
            )])
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, &file, base)
    }

    /// Parses config text; relative paths are resolved against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigErrors> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            ConfigErrors(vec![ConfigError::new(
                file,
                "",
                e.to_string().trim().to_string(),
                "fix the TOML syntax or the key named above (see README: configuration reference)",
            )])
        })?;
        let mut errs = Vec::new();
        let database = DatabaseConfig::parse(raw.database, file, &mut errs);
        let s = raw.service.unwrap_or_default();
        let prompts_dir = base.join(s.prompts_dir.as_deref().unwrap_or("prompts"));
        let service = ServiceConfig {
            prompts_dir: prompts_dir.clone(),
            instant_text_window: Duration::hours(s.instant_text_window_hours.unwrap_or(24) as i64),
            lease: Duration::seconds(s.lease_seconds.unwrap_or(30) as i64),
            max_attempts: s.max_attempts.unwrap_or(8) as i64,
            // 256: with 64, sends in flight were what held the texts back
            // once the worker had its own lane and thread (README "Measured",
            // 2026-11-26 evening); a sender's rate limit still paces each number.
            worker_concurrency: s.worker_concurrency.unwrap_or(256).max(1) as usize,
            max_body_bytes: s.max_body_bytes.unwrap_or(64 * 1024) as usize,
            send_timeout: std::time::Duration::from_millis(
                (s.send_timeout_seconds.unwrap_or(10.0) * 1000.0) as u64,
            ),
            quiet_hours: s.quiet_hours.clone(),
            intent_rules: RulesFile::default(),
            examples: None,
            daily_cap: s.daily_cap.unwrap_or(3) as i64,
            instant_any_hour: s.instant_any_hour.unwrap_or(true),
            cold_after: Duration::hours(s.cold_after_hours.unwrap_or(24).max(1) as i64),
        };
        if s.instant_text_window_hours == Some(0) {
            errs.push(ConfigError::new(
                file,
                "service.instant_text_window_hours",
                "must be at least 1",
                "use 24 (the default)",
            ));
        }
        // An in-doubt retry looks the text up (bounded by one send timeout)
        // and then sends it: both must end inside the lease, or another
        // worker takes the job over mid-send and may text the person again.
        if (service.lease.num_milliseconds().max(0) as u128)
            <= service.send_timeout.as_millis().saturating_mul(2)
        {
            errs.push(ConfigError::new(
                file,
                "service.lease_seconds",
                format!(
                    "{} s is not more than twice send_timeout_seconds ({} s): a retry that looks up an in-doubt text and then sends it could outlive its lease and be sent twice",
                    service.lease.num_seconds(),
                    service.send_timeout.as_secs_f64()
                ),
                "raise lease_seconds or lower send_timeout_seconds (defaults: 30 and 10)",
            ));
        }
        if s.max_attempts == Some(0) {
            errs.push(ConfigError::new(
                file,
                "service.max_attempts",
                "must be at least 1",
                "use 8 (the default)",
            ));
        }

        let rules_path = prompts_dir.join(s.intent_rules.as_deref().unwrap_or("intents.rules"));
        let mut service = service;
        match std::fs::read_to_string(&rules_path) {
            Ok(text) => {
                service.intent_rules = RulesFile {
                    path: rules_path.display().to_string(),
                    text,
                }
            }
            Err(e) => errs.push(ConfigError::new(
                file,
                "service.intent_rules",
                format!("cannot read {}: {e}", rules_path.display()),
                "restore prompts/intents.rules from the repository or fix the path",
            )),
        }
        let examples_path = prompts_dir.join("examples.tsv");
        service.examples = std::fs::read_to_string(&examples_path)
            .ok()
            .map(|text| RulesFile {
                path: examples_path.display().to_string(),
                text,
            });
        let translations =
            std::sync::Arc::new(translations::Translations::load(&prompts_dir, &mut errs));
        let mut businesses = Vec::new();
        let mut by_number = HashMap::new();
        if raw.business.is_empty() {
            errs.push(ConfigError::new(
                file,
                "business",
                "no business is configured",
                "add a [[business]] table with id, name, time_zone, numbers and ring_phone",
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for (i, rb) in raw.business.into_iter().enumerate() {
            let key = |k: &str| format!("business[{i}].{k}");
            if rb.id.trim().is_empty()
                || !rb
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                errs.push(ConfigError::new(
                    file,
                    &key("id"),
                    format!("{:?} is not a valid id", rb.id),
                    "use letters, digits, - and _ only, e.g. \"spartan-plumbing\"",
                ));
            }
            if !ids.insert(rb.id.clone()) {
                errs.push(ConfigError::new(
                    file,
                    &key("id"),
                    format!("{:?} is used by two businesses", rb.id),
                    "give each business its own id",
                ));
            }
            if rb.name.trim().is_empty() {
                errs.push(ConfigError::new(
                    file,
                    &key("name"),
                    "is empty",
                    "set the name customers know, e.g. \"Spartan Plumbing\"",
                ));
            }
            let tz: Option<Tz> = match rb.time_zone.parse() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    errs.push(ConfigError::new(
                        file,
                        &key("time_zone"),
                        format!("{:?} is not a known time zone", rb.time_zone),
                        "use an IANA name such as \"America/Chicago\"",
                    ));
                    None
                }
            };
            let mut phone = |k: &str, v: &str| phone_again(&mut errs, file, &key(k), v);
            let numbers: Vec<PhoneNumber> = rb
                .numbers
                .iter()
                .filter_map(|n| phone("numbers", n))
                .collect();
            let ring_phone = phone("ring_phone", &rb.ring_phone);
            let internal: Vec<PhoneNumber> = rb
                .internal_numbers
                .iter()
                .filter_map(|n| phone("internal_numbers", n))
                .collect();
            let block: Vec<PhoneNumber> = rb
                .block_list
                .iter()
                .filter_map(|n| phone("block_list", n))
                .collect();
            let owner_phone = rb
                .owner_phone
                .as_deref()
                .and_then(|n| phone("owner_phone", n));
            let mut senders = HashMap::new();
            for (number, raw) in &rb.senders {
                let k = format!("senders.\"{number}\"");
                if !rb.numbers.contains(number) {
                    errs.push(ConfigError::new(
                        file,
                        &key(&k),
                        "is not one of this business's numbers",
                        "list it under `numbers` too, or remove this entry",
                    ));
                }
                let Some(status) = RegistrationStatus::parse(&raw.status) else {
                    errs.push(ConfigError::new(
                        file,
                        &key(&format!("{k}.status")),
                        format!("{:?} is not a registration status", raw.status),
                        "use registered, verified, pending, rejected or unregistered",
                    ));
                    continue;
                };
                let registration = match (raw.registration.as_str(), &raw.campaign_id) {
                    ("10dlc", Some(c)) if !c.trim().is_empty() => Registration::TenDlc {
                        campaign_id: c.clone(),
                    },
                    ("10dlc", _) => {
                        errs.push(ConfigError::new(file, &key(&format!("{k}.campaign_id")), "is required for a 10DLC number", "copy the campaign id (e.g. \"CABC123\") from your carrier's 10DLC console"));
                        continue;
                    }
                    ("toll_free", _) => {
                        let tf = [
                            "+1800", "+1833", "+1844", "+1855", "+1866", "+1877", "+1888",
                        ];
                        if !tf.iter().any(|p| number.starts_with(p)) {
                            errs.push(ConfigError::new(
                                file,
                                &key(&format!("{k}.registration")),
                                "toll_free, but the number is not toll-free",
                                "use registration = \"10dlc\" for a local number",
                            ));
                        }
                        Registration::TollFree
                    }
                    ("none", _) => Registration::None,
                    (other, _) => {
                        errs.push(ConfigError::new(
                            file,
                            &key(&format!("{k}.registration")),
                            format!("{other:?} is not a registration type"),
                            "use \"10dlc\", \"toll_free\" or \"none\"",
                        ));
                        continue;
                    }
                };
                let mps = raw.mps.unwrap_or(1.0);
                if !(mps > 0.0 && mps <= 100_000.0) {
                    errs.push(ConfigError::new(
                        file,
                        &key(&format!("{k}.mps")),
                        format!("{mps} is out of range"),
                        "use the campaign's messages per second, e.g. 1 for a long code",
                    ));
                }
                senders.insert(
                    number.clone(),
                    Sender {
                        number: number.clone(),
                        registration,
                        status,
                        mps,
                    },
                );
            }
            if rb.numbers.is_empty() {
                errs.push(ConfigError::new(
                    file,
                    &key("numbers"),
                    "no tracking number",
                    "list the numbers callers dial, e.g. numbers = [\"+15125550100\"]",
                ));
            }
            for n in &numbers {
                if let Some(prev) = by_number.insert(n.as_str().to_string(), i) {
                    if prev != i {
                        errs.push(ConfigError::new(
                            file,
                            &key("numbers"),
                            format!("{n} is also owned by business[{prev}]"),
                            "a number belongs to exactly one business",
                        ));
                    }
                }
            }
            let ring_seconds = rb.ring_seconds.unwrap_or(20);
            if !(5..=120).contains(&ring_seconds) {
                errs.push(ConfigError::new(file, &key("ring_seconds"), format!("{ring_seconds} is out of range"), "use 5 to 120 seconds, below the time the phone's own voicemail picks up (often 20-25)"));
            }
            let hours = match BusinessHours::parse(&rb.hours) {
                Ok(h) => Some(h),
                Err((day, msg)) => {
                    errs.push(ConfigError::new(
                        file,
                        &key(&format!("hours.{day}")),
                        msg,
                        "write \"07:00-18:00\", \"00:00-24:00\" or \"closed\"",
                    ));
                    None
                }
            };
            let template = |errs: &mut Vec<ConfigError>,
                            k: &str,
                            configured: &Option<String>,
                            default_file: &str| {
                let allowed = match k {
                    "instant_business_hours" | "instant_after_hours" => INSTANT_VARS,
                    _ => BUSINESS_VARS,
                };
                load_template(
                    errs,
                    file,
                    &key(&format!("templates.{k}")),
                    &prompts_dir,
                    configured.as_deref().unwrap_or(default_file),
                    allowed,
                )
            };
            let t = rb.templates.unwrap_or_default();
            let templates = BusinessTemplates::load(|k, default_file| {
                template(&mut errs, k, &t.get(k), default_file)
            });
            let follow_ups = match &rb.follow_ups {
                None => vec![
                    (StepTime::After(Duration::minutes(30)), "follow_up_1.txt"),
                    (StepTime::After(Duration::hours(2)), "follow_up_2.txt"),
                    (StepTime::NextOpening, "follow_up_3.txt"),
                ]
                .into_iter()
                .enumerate()
                .filter_map(|(n, (when, f))| {
                    load_template(
                        &mut errs,
                        file,
                        &key(&format!("follow_ups[{n}].template")),
                        &prompts_dir,
                        f,
                        BUSINESS_VARS,
                    )
                    .map(|template| FollowUpStep { when, template })
                })
                .collect(),
                Some(steps) => {
                    let mut out = Vec::new();
                    for (n, raw) in steps.iter().enumerate() {
                        let k = key(&format!("follow_ups[{n}]"));
                        let when = match (&raw.after, &raw.at) {
                            (Some(a), None) => match parse_duration(a) {
                                Some(d) if d >= Duration::minutes(1) => Some(StepTime::After(d)),
                                _ => {
                                    errs.push(ConfigError::new(
                                        file,
                                        &format!("{k}.after"),
                                        format!("{a:?} is not a delay of at least a minute"),
                                        "write e.g. \"30m\", \"2h\" or \"1d\"",
                                    ));
                                    None
                                }
                            },
                            (None, Some(at)) if at == "next_opening" => Some(StepTime::NextOpening),
                            (None, Some(at)) => {
                                errs.push(ConfigError::new(file, &format!("{k}.at"), format!("{at:?} is not a known time"), "use at = \"next_opening\" (the next business morning at opening time)"));
                                None
                            }
                            _ => {
                                errs.push(ConfigError::new(
                                    file,
                                    &k,
                                    "needs exactly one of `after` or `at`",
                                    "write after = \"30m\" or at = \"next_opening\"",
                                ));
                                None
                            }
                        };
                        let template = load_template(
                            &mut errs,
                            file,
                            &format!("{k}.template"),
                            &prompts_dir,
                            &raw.template,
                            BUSINESS_VARS,
                        );
                        if let (Some(when), Some(template)) = (when, template) {
                            out.push(FollowUpStep { when, template });
                        }
                    }
                    let mut last = Duration::zero();
                    for (n, step) in out.iter().enumerate() {
                        if let StepTime::After(d) = step.when {
                            if d <= last {
                                errs.push(ConfigError::new(
                                    file,
                                    &key(&format!("follow_ups[{n}].after")),
                                    "is not later than the step before it",
                                    "list the steps in the order they happen",
                                ));
                            }
                            last = d;
                        }
                    }
                    out
                }
            };
            let disposition_reasons = rb.disposition_reasons.clone().unwrap_or_else(|| {
                DEFAULT_DISPOSITION_REASONS
                    .iter()
                    .map(|r| r.to_string())
                    .collect()
            });
            let dispatcher_phone = rb
                .dispatcher_phone
                .as_deref()
                .and_then(|n| phone_again(&mut errs, file, &key("dispatcher_phone"), n));
            for n in rb.sources.keys() {
                if !rb.numbers.contains(n) {
                    errs.push(ConfigError::new(
                        file,
                        &key(&format!("sources.\"{n}\"")),
                        "is not one of this business's numbers",
                        "label only numbers listed under `numbers`",
                    ));
                }
            }
            let roster = match (&rb.on_call, tz) {
                (Some(raw), Some(tz)) => {
                    match crate::config::roster::Roster::parse(raw, file, &key("on_call"), tz) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            errs.extend(e);
                            None
                        }
                    }
                }
                _ => None,
            };
            let escalation =
                match crate::config::escalation_templates::EscalationTemplates::load(|f| {
                    let path = prompts_dir.join(f);
                    std::fs::read_to_string(&path)
                        .ok()
                        .map(|t| (path.display().to_string(), t))
                }) {
                    Ok(t) => Some(std::sync::Arc::new(t)),
                    Err(es) => {
                        for e in es {
                            errs.push(ConfigError::new(
                                &format!("{}:{}", e.file, e.line),
                                &key("templates"),
                                e.message,
                                "edit the template",
                            ));
                        }
                        None
                    }
                };
            if rb.emergency_menu == Some(true) && rb.on_call.is_none() {
                errs.push(ConfigError::new(
                    file,
                    &key("emergency_menu"),
                    "needs an on-call roster to connect emergencies to",
                    "add a [business.on_call] table, or set emergency_menu = false",
                ));
            }
            if let (Some(tz), Some(ring_phone), Some(hours), Some(templates), Some(escalation)) =
                (tz, ring_phone, hours, templates, escalation)
            {
                let emergency_menu = rb.emergency_menu.unwrap_or(roster.is_some());
                businesses.push(Business {
                    id: rb.id,
                    name: rb.name,
                    time_zone: tz,
                    numbers,
                    ring_phone,
                    ring_seconds,
                    call_screening: rb.call_screening.unwrap_or(false),
                    internal_numbers: internal,
                    block_list: block,
                    hours,
                    templates,
                    senders,
                    owner_phone,
                    dispatcher_phone,
                    booking_link: rb.booking_link.unwrap_or_else(|| {
                        "Reply with a day and time that works for you and we'll confirm.".into()
                    }),
                    service_fee: rb.service_fee.unwrap_or_else(|| {
                        "A tech will look at the job and give you a price before any work starts.".into()
                    }),
                    sources: rb.sources.into_iter().collect(),
                    follow_ups,
                    disposition_reasons,
                    roster,
                    emergency_menu,
                    escalation,
                    translations: translations.clone(),
                });
            }
        }
        if !errs.is_empty() {
            return Err(ConfigErrors(errs));
        }
        Ok(Config {
            file: file.to_string(),
            service,
            database,
            businesses,
            by_number,
        })
    }
}

/// One mistake in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl ConfigError {
    pub fn new(file: &str, key: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            key: key.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}\n  fix: {}", self.file, self.message, self.fix)
        } else {
            write!(
                f,
                "{}: `{}` {}\n  fix: {}",
                self.file, self.key, self.message, self.fix
            )
        }
    }
}

/// All mistakes found in one pass.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the configuration:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "- {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    service: Option<RawService>,
    database: Option<RawDatabase>,
    #[serde(default)]
    business: Vec<RawBusiness>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawService {
    prompts_dir: Option<String>,
    instant_text_window_hours: Option<u32>,
    lease_seconds: Option<u32>,
    max_attempts: Option<u32>,
    worker_concurrency: Option<u32>,
    max_body_bytes: Option<u32>,
    send_timeout_seconds: Option<f64>,
    intent_rules: Option<String>,
    #[serde(default)]
    quiet_hours: BTreeMap<String, String>,
    daily_cap: Option<u32>,
    instant_any_hour: Option<bool>,
    cold_after_hours: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    max_connections: Option<u32>,
    acquire_timeout_seconds: Option<f64>,
    statement_timeout_seconds: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBusiness {
    id: String,
    name: String,
    time_zone: String,
    numbers: Vec<String>,
    ring_phone: String,
    ring_seconds: Option<u32>,
    call_screening: Option<bool>,
    #[serde(default)]
    internal_numbers: Vec<String>,
    #[serde(default)]
    block_list: Vec<String>,
    #[serde(default)]
    hours: BTreeMap<String, String>,
    templates: Option<RawTemplates>,
    #[serde(default)]
    senders: BTreeMap<String, RawSender>,
    owner_phone: Option<String>,
    dispatcher_phone: Option<String>,
    booking_link: Option<String>,
    service_fee: Option<String>,
    #[serde(default)]
    sources: BTreeMap<String, String>,
    follow_ups: Option<Vec<RawFollowUp>>,
    disposition_reasons: Option<Vec<String>>,
    on_call: Option<crate::config::roster::RawRoster>,
    emergency_menu: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFollowUp {
    after: Option<String>,
    at: Option<String>,
    template: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSender {
    registration: String,
    campaign_id: Option<String>,
    status: String,
    mps: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    instant_business_hours: Option<String>,
    instant_after_hours: Option<String>,
    voicemail_greeting: Option<String>,
    after_hours_greeting: Option<String>,
    screen_prompt: Option<String>,
    opt_out_confirmation: Option<String>,
    opt_in_confirmation: Option<String>,
    help_reply: Option<String>,
    booking_reply: Option<String>,
    pricing_reply: Option<String>,
    acknowledgement: Option<String>,
    question_details: Option<String>,
    question_timing: Option<String>,
}

impl RawTemplates {
    /// The file configured for template `key`, if any.
    fn get(&self, key: &str) -> Option<String> {
        match key {
            "instant_business_hours" => self.instant_business_hours.clone(),
            "instant_after_hours" => self.instant_after_hours.clone(),
            "voicemail_greeting" => self.voicemail_greeting.clone(),
            "after_hours_greeting" => self.after_hours_greeting.clone(),
            "screen_prompt" => self.screen_prompt.clone(),
            "opt_out_confirmation" => self.opt_out_confirmation.clone(),
            "opt_in_confirmation" => self.opt_in_confirmation.clone(),
            "help_reply" => self.help_reply.clone(),
            "booking_reply" => self.booking_reply.clone(),
            "pricing_reply" => self.pricing_reply.clone(),
            "acknowledgement" => self.acknowledgement.clone(),
            "question_details" => self.question_details.clone(),
            "question_timing" => self.question_timing.clone(),
            _ => None,
        }
    }
}

impl BusinessTemplates {
    /// Loads every template through `load(key, default file)`; `None` if
    /// any failed (each failure was reported by `load`).
    fn load(mut load: impl FnMut(&str, &str) -> Option<Template>) -> Option<BusinessTemplates> {
        let mut get = |k: &str| load(k, &format!("{k}.txt"));
        // Load all first so every broken template is reported, not just the first.
        let all = [
            get("instant_business_hours"),
            get("instant_after_hours"),
            get("voicemail_greeting"),
            get("after_hours_greeting"),
            get("screen_prompt"),
            get("opt_out_confirmation"),
            get("opt_in_confirmation"),
            get("help_reply"),
            get("booking_reply"),
            get("pricing_reply"),
            get("acknowledgement"),
            get("question_details"),
            get("question_timing"),
        ];
        let [a, b, c, d, e, f, g, h, i, j, k, l, m] = all;
        Some(BusinessTemplates {
            instant_business_hours: a?,
            instant_after_hours: b?,
            voicemail_greeting: c?,
            after_hours_greeting: d?,
            screen_prompt: e?,
            opt_out_confirmation: f?,
            opt_in_confirmation: g?,
            help_reply: h?,
            booking_reply: i?,
            pricing_reply: j?,
            acknowledgement: k?,
            question_details: l?,
            question_timing: m?,
        })
    }
}

/// "30m", "2h", "90s", "1d" -> a duration.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().ok()?;
    match unit.trim() {
        "s" => Some(Duration::seconds(n)),
        "m" | "min" => Some(Duration::minutes(n)),
        "h" => Some(Duration::hours(n)),
        "d" => Some(Duration::days(n)),
        _ => None,
    }
}

/// Reads and parses the template `rel` (relative to `prompts_dir`),
/// reporting a mistake for `key` into `errs`.
fn load_template(
    errs: &mut Vec<ConfigError>,
    file: &str,
    key: &str,
    prompts_dir: &Path,
    rel: &str,
    allowed: &[&str],
) -> Option<Template> {
    let path = prompts_dir.join(rel);
    let shown = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(t) => match Template::parse(&t, &shown).and_then(|t| {
            t.check_placeholders(allowed)?;
            Ok(t)
        }) {
            Ok(t) => Some(t),
            Err(TemplateError {
                file: f,
                line,
                message,
            }) => {
                errs.push(ConfigError::new(
                    &format!("{f}:{line}"),
                    key,
                    message,
                    "edit the template",
                ));
                None
            }
        },
        Err(e) => {
            errs.push(ConfigError::new(
                file,
                key,
                format!("cannot read {shown}: {e}"),
                "create the file or fix the path (relative to service.prompts_dir)",
            ));
            None
        }
    }
}

/// Parses a phone number for `key`, reporting a mistake into `errs`.
fn phone_again(errs: &mut Vec<ConfigError>, file: &str, key: &str, v: &str) -> Option<PhoneNumber> {
    match PhoneNumber::parse(v) {
        Ok(p) => Some(p),
        Err(e) => {
            errs.push(ConfigError::new(
                file,
                key,
                format!("{v:?}: {e}"),
                "write numbers in E.164, e.g. \"+15125550100\"",
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_require_both_twilio_credentials() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(a, _)| *a == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(Settings::from_lookup(env(&[("TWILIO_ACCOUNT_SID", "AC1")])).is_err());
        let e = Settings::from_lookup(env(&[("TELNYX_API_KEY", "KEY0123")])).unwrap_err();
        assert!(
            e.contains("TELNYX_API_KEY") && e.contains("no Telnyx provider"),
            "{e}"
        );
        let sid = |v: &'static str| {
            let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([
                ("TWILIO_ACCOUNT_SID", v),
                ("TWILIO_AUTH_TOKEN", "token"),
            ]));
            Settings::from_lookup(env(pairs))
        };
        // With Twilio configured, a leftover TELNYX_* is harmless: Twilio sends.
        let both = Settings::from_lookup(env(&[
            ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
            ("TWILIO_AUTH_TOKEN", "token"),
            ("TELNYX_API_KEY", "KEY0123"),
        ]))
        .unwrap();
        assert!(both.twilio.is_some());
        // A webhook shared key belongs to a Twilio account.
        let e = Settings::from_lookup(env(&[("TWILIO_WEBHOOK_SHARED_KEY", "k")])).unwrap_err();
        assert!(
            e.contains("TWILIO_WEBHOOK_SHARED_KEY") && e.contains("TWILIO_AUTH_TOKEN"),
            "{e}"
        );
        let shared = Settings::from_lookup(env(&[
            ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
            ("TWILIO_AUTH_TOKEN", "token"),
            ("TWILIO_WEBHOOK_SHARED_KEY", "k"),
        ]))
        .unwrap();
        assert_eq!(
            shared
                .twilio
                .and_then(|t| t.webhook_shared_key)
                .map(|k| secrecy::ExposeSecret::expose_secret(&k).to_string()),
            Some("k".to_string())
        );
        let good = sid("AC0123456789abcdef0123456789ABCDEF").unwrap();
        assert_eq!(
            good.twilio.unwrap().account_sid,
            "AC0123456789abcdef0123456789ABCDEF"
        );
        for (bad, says) in [
            ("AC123", "5 characters given"),
            ("SK0123456789abcdef0123456789abcdef", "API key SID"),
            ("AC0123456789abcdef0123456789abcdef\n", "line break"),
            ("AC0123456789abcdef0123456789abcdeg", "Account Info"),
            ("AC0123456789abcdef/../Keys/abcdefg", "Account Info"),
        ] {
            let e = sid(bad).unwrap_err();
            assert!(
                e.contains("TWILIO_ACCOUNT_SID") && e.contains(says),
                "{bad:?}: {e}"
            );
        }
        let s = Settings::from_lookup(env(&[])).unwrap();
        assert!(s.twilio.is_none());
        assert_eq!(s.port, 8080);
        assert!(Settings::from_lookup(env(&[("PORT", "eighty")]))
            .unwrap_err()
            .contains("PORT"));
        assert!(
            Settings::from_lookup(env(&[("RINGBACK_PUBLIC_URL", "ringback.example.com")])).is_err()
        );
        let e = Settings::from_lookup(env(&[("TWILIO_API_BASE", "api.twilio.com")])).unwrap_err();
        assert!(
            e.contains("TWILIO_API_BASE") && e.contains("https://"),
            "{e}"
        );
    }

    fn parse_with(extra: &str) -> Result<Config, ConfigErrors> {
        let prompts = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let text = format!(
            "[service]\nprompts_dir = {:?}\n[[business]]\nid = \"s\"\nname = \"Spartan\"\ntime_zone = \"America/Chicago\"\nnumbers = [\"+15125550100\"]\nring_phone = \"+15125550199\"\nsenders = {{ \"+15125550100\" = {{ registration = \"10dlc\", campaign_id = \"C1\", status = \"registered\" }} }}\n{extra}",
            prompts.display().to_string()
        );
        Config::parse(&text, "ringback.toml", Path::new("."))
    }

    /// A minimal valid config with `extra` prepended (the repository's
    /// prompts directory supplies templates and rules).
    fn parse_prefixed(extra: &str) -> Result<Config, ConfigErrors> {
        let text = format!(
            "{extra}\n[service]\nprompts_dir = {:?}\n\n[[business]]\nid = \"b\"\nname = \"B Plumbing\"\ntime_zone = \"America/Chicago\"\nnumbers = [\"+15125550100\"]\nring_phone = \"+15125550199\"\n",
            concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")
        );
        Config::parse(&text, "ringback.toml", Path::new("."))
    }

    /// A placeholder a template is never rendered with is a config error
    /// (it would go out empty); the instant texts alone know `{caller}`
    /// and `{opens_at}`.
    #[test]
    fn a_template_may_use_only_the_placeholders_it_is_rendered_with() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let instant = write(
            "instant.txt",
            "{business}: sorry we missed you, we open {opens_at}. Reply STOP to opt out.",
        );
        let follow = write(
            "follow.txt",
            "{business}: still need help?\nWe open {opens_at}.",
        );
        let tech = write("ack.txt", "{tech} will call you.");
        parse_with(&format!(
            "templates = {{ instant_after_hours = {instant:?} }}"
        ))
        .unwrap();
        let errs = parse_with(&format!(
            "templates = {{ acknowledgement = {tech:?} }}\nfollow_ups = [{{ after = \"30m\", template = {follow:?} }}]"
        ))
        .unwrap_err()
        .0;
        let said: Vec<(String, String)> = errs
            .iter()
            .map(|e| (e.file.clone(), e.key.clone()))
            .collect();
        assert_eq!(
            said,
            [
                (
                    format!("{tech}:1"),
                    "business[0].templates.acknowledgement".to_string()
                ),
                (
                    format!("{follow}:2"),
                    "business[0].follow_ups[0].template".to_string()
                ),
            ],
            "{errs:?}"
        );
        assert!(errs.iter().all(|e| e.message.contains("has no value")));
        // The lists agree with what the texts are rendered with.
        let c = parse_with("").unwrap();
        let mut rendered: Vec<&str> = c.businesses[0].vars("+15125550100").names().collect();
        let mut declared = BUSINESS_VARS.to_vec();
        rendered.sort_unstable();
        declared.sort_unstable();
        assert_eq!(rendered, declared);
        assert_eq!(INSTANT_VARS[..BUSINESS_VARS.len()], *BUSINESS_VARS);
        assert_eq!(INSTANT_VARS[BUSINESS_VARS.len()..], ["caller", "opens_at"]);
    }

    #[test]
    fn follow_up_steps_default_parse_and_are_checked() {
        let c = parse_with("").unwrap();
        let steps: Vec<StepTime> = c.businesses[0].follow_ups.iter().map(|s| s.when).collect();
        assert_eq!(
            steps,
            vec![
                StepTime::After(Duration::minutes(30)),
                StepTime::After(Duration::hours(2)),
                StepTime::NextOpening
            ]
        );
        assert!(parse_with("follow_ups = []").unwrap().businesses[0]
            .follow_ups
            .is_empty());
        let custom = parse_with(
            "follow_ups = [{ after = \"15m\", template = \"follow_up_1.txt\" }, { after = \"1d\", template = \"follow_up_2.txt\" }]",
        )
        .unwrap();
        assert_eq!(
            custom.businesses[0].follow_ups[1].when,
            StepTime::After(Duration::days(1))
        );
        // Every mistake at once, each naming its key and a fix.
        let errs = parse_with(
            "follow_ups = [{ after = \"soon\", template = \"follow_up_1.txt\" }, { at = \"dawn\", template = \"follow_up_2.txt\" }, { template = \"follow_up_3.txt\" }, { after = \"2h\", template = \"nope.txt\" }]\ndispatcher_phone = \"555-1234\"\nsources = { \"+19995550000\" = \"Ads\" }",
        )
        .unwrap_err()
        .0;
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "business[0].follow_ups[0].after",
            "business[0].follow_ups[1].at",
            "business[0].follow_ups[2]",
            "business[0].follow_ups[3].template",
            "business[0].dispatcher_phone",
            "business[0].sources.\"+19995550000\"",
        ] {
            assert!(keys.contains(&want), "{want} in {keys:?}");
        }
        assert!(errs.iter().all(|e| !e.fix.is_empty()));
        let order = parse_with(
            "follow_ups = [{ after = \"2h\", template = \"follow_up_1.txt\" }, { after = \"30m\", template = \"follow_up_2.txt\" }]",
        )
        .unwrap_err();
        assert!(
            order.to_string().contains("not later than the step before"),
            "{order}"
        );
    }

    #[test]
    fn the_lease_outlasts_a_look_up_and_a_send() {
        let c = parse_prefixed("").unwrap();
        assert_eq!(c.service.lease, Duration::seconds(30));
        assert_eq!(c.service.send_timeout, std::time::Duration::from_secs(10));
        let errs = Config::parse(
            &format!(
                "[service]\nprompts_dir = {:?}\nlease_seconds = 20\nsend_timeout_seconds = 10\n[[business]]\nid = \"b\"\nname = \"B\"\ntime_zone = \"America/Chicago\"\nnumbers = [\"+15125550100\"]\nring_phone = \"+15125550199\"\n",
                concat!(env!("CARGO_MANIFEST_DIR"), "/prompts")
            ),
            "ringback.toml",
            Path::new("."),
        )
        .unwrap_err()
        .0;
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].key, "service.lease_seconds");
        assert!(
            errs[0].message.contains("twice send_timeout_seconds"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("30m"), Some(Duration::minutes(30)));
        assert_eq!(parse_duration(" 2h "), Some(Duration::hours(2)));
        assert_eq!(parse_duration("1d"), Some(Duration::days(1)));
        assert_eq!(parse_duration("90s"), Some(Duration::seconds(90)));
        for bad in ["", "m", "30", "30 minutes", "-5m", "2.5h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn database_section_is_optional_and_typed() {
        let c = parse_prefixed("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.database, DatabaseConfig::default());
        let c = parse_prefixed(
            "[database]\nmax_connections = 40\nacquire_timeout_seconds = 2.5\nstatement_timeout_seconds = 3",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let p = &c.database;
        assert_eq!(p.max_connections, 40);
        assert_eq!(p.acquire_timeout, std::time::Duration::from_millis(2500));
        assert_eq!(p.statement_timeout, std::time::Duration::from_secs(3));
    }

    #[test]
    fn bad_database_values_name_file_key_and_fix_all_at_once() {
        let e = parse_prefixed(
            "[database]\nmax_connections = 1\nacquire_timeout_seconds = 0\nstatement_timeout_seconds = 30",
        )
        .unwrap_err();
        let keys: Vec<&str> = e.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "database.acquire_timeout_seconds",
                "database.statement_timeout_seconds",
                "database.max_connections"
            ],
            "{e}"
        );
        for err in &e.0 {
            assert_eq!(err.file, "ringback.toml");
            assert!(err.fix.contains("default"), "{err}");
        }
        let e = parse_prefixed("[database]\npool_size = 10").unwrap_err();
        assert!(e.to_string().contains("pool_size"), "{e}");
    }

    #[test]
    fn redacts_database_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
