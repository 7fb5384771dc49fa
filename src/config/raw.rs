//! The shape of `ringback.toml` as serde reads it, before any check:
//! every key optional where the owner may leave it out, unknown keys
//! refused.
//!
//! Apart from the parsing so that the file's format can be read in one
//! place; `parse.rs` turns these into the validated types.

use super::templates::RawTemplates;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) service: Option<RawService>,
    pub(super) database: Option<RawDatabase>,
    pub(super) http: Option<super::http::RawHttp>,
    #[serde(default)]
    pub(super) business: Vec<RawBusiness>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) prompts_dir: Option<String>,
    pub(super) instant_text_window_hours: Option<u32>,
    pub(super) lease_seconds: Option<u32>,
    pub(super) max_attempts: Option<u32>,
    pub(super) worker_concurrency: Option<u32>,
    pub(super) max_body_bytes: Option<u32>,
    pub(super) send_timeout_seconds: Option<f64>,
    pub(super) intent_rules: Option<String>,
    #[serde(default)]
    pub(super) quiet_hours: BTreeMap<String, String>,
    pub(super) daily_cap: Option<u32>,
    pub(super) instant_any_hour: Option<bool>,
    pub(super) cold_after_hours: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub(super) max_connections: Option<u32>,
    pub(super) acquire_timeout_seconds: Option<f64>,
    pub(super) statement_timeout_seconds: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBusiness {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) time_zone: String,
    pub(super) numbers: Vec<String>,
    pub(super) ring_phone: String,
    pub(super) ring_seconds: Option<u32>,
    pub(super) call_screening: Option<bool>,
    #[serde(default)]
    pub(super) internal_numbers: Vec<String>,
    #[serde(default)]
    pub(super) block_list: Vec<String>,
    #[serde(default)]
    pub(super) hours: BTreeMap<String, String>,
    pub(super) templates: Option<RawTemplates>,
    #[serde(default)]
    pub(super) senders: BTreeMap<String, RawSender>,
    pub(super) owner_phone: Option<String>,
    pub(super) dispatcher_phone: Option<String>,
    pub(super) booking_link: Option<String>,
    pub(super) service_fee: Option<String>,
    #[serde(default)]
    pub(super) sources: BTreeMap<String, String>,
    pub(super) follow_ups: Option<Vec<RawFollowUp>>,
    pub(super) disposition_reasons: Option<Vec<String>>,
    pub(super) on_call: Option<crate::config::roster::RawRoster>,
    pub(super) emergency_menu: Option<bool>,
    /// `"twilio"` (default) or `"telnyx"`.
    pub(super) provider: Option<String>,
    #[serde(default)]
    pub(super) number_providers: BTreeMap<String, String>,
    pub(super) telnyx: Option<super::carrier::RawTelnyx>,
    pub(super) sla: Option<super::sla::RawSla>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFollowUp {
    pub(super) after: Option<String>,
    pub(super) at: Option<String>,
    pub(super) template: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSender {
    pub(super) registration: String,
    pub(super) campaign_id: Option<String>,
    pub(super) status: String,
    pub(super) mps: Option<f64>,
}
