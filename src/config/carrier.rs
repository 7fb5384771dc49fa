//! Which carrier serves a business (or one of its numbers), and what the
//! Telnyx ones need: `provider = "telnyx"` and `[business.telnyx]`.
//!
//! Apart from `parse.rs` so that the carrier choice is read and checked in
//! one place, and the rest of the business's checks stay readable.

use super::ConfigError;
use serde::Deserialize;
use std::collections::HashMap;

/// A carrier a business's number is served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CarrierKind {
    #[default]
    Twilio,
    Telnyx,
}

impl CarrierKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CarrierKind::Twilio => "twilio",
            CarrierKind::Telnyx => "telnyx",
        }
    }

    fn parse(s: &str) -> Option<CarrierKind> {
        match s {
            "twilio" => Some(CarrierKind::Twilio),
            "telnyx" => Some(CarrierKind::Telnyx),
            _ => None,
        }
    }
}

/// `[business.telnyx]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelnyxBusiness {
    /// The messaging profile the business's numbers send through (its
    /// opt-out block list, its webhooks).
    pub messaging_profile_id: String,
    /// The voice app (a TeXML application's connection id) page calls are
    /// placed through. Needed only to place calls.
    pub connection_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTelnyx {
    messaging_profile_id: Option<String>,
    connection_id: Option<String>,
}

/// The carrier choice of one business, as read.
#[derive(Debug, Clone, Default)]
pub struct Carriers {
    /// `provider`: the carrier of every number not named in `by_number`.
    pub default: CarrierKind,
    /// `number_providers`: a number served by another carrier than the
    /// business's.
    pub by_number: HashMap<String, CarrierKind>,
    pub telnyx: Option<TelnyxBusiness>,
}

impl Carriers {
    /// The carrier serving `number`.
    pub fn of(&self, number: &str) -> CarrierKind {
        self.by_number.get(number).copied().unwrap_or(self.default)
    }

    /// Does any of the business's numbers use `kind`?
    pub fn uses(&self, kind: CarrierKind) -> bool {
        self.default == kind || self.by_number.values().any(|k| *k == kind)
    }

    /// Checks and reads `provider`, `number_providers` and
    /// `[business.telnyx]`, reporting every mistake into `errs`.
    pub(super) fn parse(
        rb: &mut super::raw::RawBusiness,
        file: &str,
        key: &dyn Fn(&str) -> String,
        errs: &mut Vec<ConfigError>,
    ) -> Carriers {
        let (provider, number_providers, telnyx) = (
            rb.provider.as_deref(),
            &rb.number_providers,
            rb.telnyx.take(),
        );
        let (numbers, needs_calls) = (&rb.numbers, rb.on_call.is_some());
        let mut kind = |k: &str, v: &str| {
            CarrierKind::parse(v).or_else(|| {
                errs.push(ConfigError::new(
                    file,
                    k,
                    format!("{v:?} is not a carrier ringback knows"),
                    "write \"twilio\" (the default) or \"telnyx\"",
                ));
                None
            })
        };
        let default = provider
            .and_then(|p| kind(&key("provider"), p))
            .unwrap_or_default();
        let mut by_number = HashMap::new();
        for (n, p) in number_providers {
            let k = key(&format!("number_providers.\"{n}\""));
            if let Some(c) = kind(&k, p) {
                by_number.insert(n.clone(), c);
            }
        }
        for n in number_providers.keys() {
            if !numbers.contains(n) {
                errs.push(ConfigError::new(
                    file,
                    &key(&format!("number_providers.\"{n}\"")),
                    "is not one of this business's numbers",
                    "name only numbers listed under `numbers`",
                ));
            }
        }
        let mut c = Carriers {
            default,
            by_number,
            telnyx: None,
        };
        let uses_telnyx = c.uses(CarrierKind::Telnyx);
        match (telnyx, uses_telnyx) {
            (Some(raw), true) => {
                let profile = raw
                    .messaging_profile_id
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty());
                if profile.is_none() {
                    errs.push(ConfigError::new(
                        file,
                        &key("telnyx.messaging_profile_id"),
                        "is missing: a Telnyx number sends through a messaging profile",
                        "copy the profile's id from the Telnyx Portal (Messaging > Profiles)",
                    ));
                }
                let connection = raw
                    .connection_id
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty());
                if connection.is_none() && needs_calls {
                    errs.push(ConfigError::new(
                        file,
                        &key("telnyx.connection_id"),
                        "is missing: the on-call roster is paged by phone through the voice app",
                        "copy the TeXML application's id from the Telnyx Portal (Voice > TeXML Applications)",
                    ));
                }
                c.telnyx = profile.map(|messaging_profile_id| TelnyxBusiness {
                    messaging_profile_id,
                    connection_id: connection,
                });
            }
            (None, true) => errs.push(ConfigError::new(
                file,
                &key("telnyx"),
                "is missing: this business sends through Telnyx",
                "add [business.telnyx] with messaging_profile_id (and connection_id for page calls)",
            )),
            (Some(_), false) => errs.push(ConfigError::new(
                file,
                &key("telnyx"),
                "is set, but no number of this business uses Telnyx",
                "set provider = \"telnyx\" (or name numbers in number_providers), or remove [business.telnyx]",
            )),
            (None, false) => {}
        }
        c
    }
}

/// What the environment must hold for the carriers `config` uses: a
/// message per business whose carrier has no credentials, naming the
/// business and the variables. Console mode (no carrier credentials at
/// all) serves Twilio businesses only: a Telnyx business always needs
/// its keys, as its webhooks are checked against its public key.
pub fn missing_credentials(config: &super::Config, settings: &super::Settings) -> Vec<String> {
    let mut out = Vec::new();
    for b in &config.businesses {
        if b.carriers.uses(CarrierKind::Telnyx) && settings.telnyx.is_none() {
            out.push(format!(
                "business {:?} uses Telnyx, but TELNYX_API_KEY and TELNYX_PUBLIC_KEY are not set; set both (an API key v2 and the account's public key, from the Telnyx Portal)",
                b.id
            ));
        }
        if b.carriers.uses(CarrierKind::Twilio)
            && settings.twilio.is_none()
            && !settings.console_mode()
        {
            out.push(format!(
                "business {:?} uses Twilio, but TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set; set both, or set provider = \"telnyx\" on it",
                b.id
            ));
        }
    }
    out
}
