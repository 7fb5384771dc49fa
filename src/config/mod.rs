//! Configuration: `ringback.toml` and `prompts/` (the owner's), and the
//! environment (the operator's, and the only place secrets come from).
//!
//! Everything is parsed into typed values at start-up. A mistake is reported
//! with the file, the key and how to fix it, and all mistakes are reported at
//! once, so an owner fixes the file in one pass.
//!
//! This file holds the typed configuration the rest of the service reads
//! (businesses, senders, templates, limits) and its accessors. How it is
//! made lives next to it: `parse.rs` checks `ringback.toml` (whose raw shape
//! is `raw.rs`), `templates.rs` loads `prompts/`, `settings.rs` reads the
//! environment; `roster.rs` and `escalation_templates.rs` are the on-call
//! roster and the escalation texts.

mod business;
pub mod carrier;
pub mod escalation_templates;
mod http;
mod locate;
mod parse;
mod raw;
pub mod roster;
mod settings;
pub mod sla;
mod templates;
pub mod translations;

pub use carrier::{CarrierKind, Carriers, TelnyxBusiness};
pub use http::HttpConfig;
pub use parse::parse_duration;
pub use settings::{
    public_key as telnyx_public_key, redact_url, Settings, TelnyxSettings, TwilioSettings,
};

use crate::domain::template::Template;
use crate::domain::{BusinessHours, PhoneNumber};
use chrono::Duration;
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

/// The signing secret used when no carrier credentials are configured
/// (console mode). Webhooks are still verified against it, and `ringback
/// simulate` signs with it; console mode never texts anyone, so knowing it
/// gains an attacker nothing.
pub const DEV_WEBHOOK_SECRET: &str = "ringback-dev-secret";
/// Admin bearer token in console mode when `RINGBACK_ADMIN_TOKEN` is unset.
pub const DEV_ADMIN_TOKEN: &str = "ringback-dev-admin";

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, as errors name it.
    pub file: String,
    pub service: ServiceConfig,
    /// Connection pool and timeouts (`[database]`).
    pub database: DatabaseConfig,
    /// Connections, slow clients and overload (`[http]`).
    pub http: HttpConfig,
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
    /// Which carrier serves each of its numbers (`provider`,
    /// `number_providers`, `[business.telnyx]`).
    pub carriers: Carriers,
    /// Reminders for late leads, post-job and quote follow-ups
    /// (`[business.sla]`).
    pub sla: sla::Sla,
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
            || self.sla.manager_phone.as_ref() == Some(phone)
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

    /// The carrier serving `number`, one of a business's numbers (Twilio
    /// for a number no business owns).
    pub fn carrier_of(&self, number: &str) -> CarrierKind {
        self.business_for(number)
            .map_or(CarrierKind::Twilio, |b| b.carriers.of(number))
    }

    pub fn business(&self, id: &str) -> Option<&Business> {
        self.businesses.iter().find(|b| b.id == id)
    }
}

/// One mistake in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// The line and column (1-based) in `file`, where known.
    pub at: Option<(usize, usize)>,
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl ConfigError {
    pub fn new(file: &str, key: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            at: None,
            key: key.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `file:line:column:` as compilers write it, so an editor or a
        // terminal jumps there.
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}\n  fix: {}", self.message, self.fix)
        } else {
            write!(f, ": `{}` {}\n  fix: {}", self.key, self.message, self.fix)
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

#[cfg(test)]
mod tests;
