//! Which carrier the bench plays: Twilio or Telnyx. Each has its mock API
//! (the `mock-carrier` crate, as in ringback's tests), its missed-call
//! webhook and its signature, and what the service's config and environment
//! need to send through it. The load, the measurements and the report are
//! the same for both, so their figures can stand side by side.
//!
//! * Twilio: the `<Dial action>` callback (`/webhooks/twilio/voice/dial`),
//!   signed with HMAC-SHA1 over the URL and the sorted form, texts through
//!   `POST /2010-04-01/Accounts/{sid}/Messages.json`.
//! * Telnyx: the same callback from a TeXML application
//!   (`/webhooks/telnyx/texml/dial`, the path a Telnyx shop's missed calls
//!   take, see docs/http.md), signed with Ed25519 over
//!   `"{timestamp}|{body}"`, texts through `POST /v2/messages`.

use mock_carrier::telnyx::MockTelnyx;
use mock_carrier::twilio::MockTwilio;
use mock_carrier::Carrier;

/// One carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Twilio,
    Telnyx,
}

/// `--provider`: one carrier, or both one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderChoice {
    Twilio,
    Telnyx,
    /// Twilio, then Telnyx, with the same settings; a side-by-side table.
    Both,
}

impl ProviderChoice {
    pub fn providers(self) -> Vec<Provider> {
        match self {
            ProviderChoice::Twilio => vec![Provider::Twilio],
            ProviderChoice::Telnyx => vec![Provider::Telnyx],
            ProviderChoice::Both => vec![Provider::Twilio, Provider::Telnyx],
        }
    }
}

/// The Telnyx tables of the bench's business: the messaging profile and
/// the TeXML application (placeholders; the mock takes any).
const TELNYX_BUSINESS: &str = r#"provider = "telnyx"

[business.telnyx]
messaging_profile_id = "40017f5a-5ad1-4b6c-9d4e-0a1b2c3d4e5f"
connection_id = "1494404757140276705"
"#;

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Twilio => "Twilio",
            Provider::Telnyx => "Telnyx",
        }
    }

    /// Where a missed call's webhook goes.
    pub fn webhook_path(self) -> &'static str {
        match self {
            Provider::Twilio => "/webhooks/twilio/voice/dial",
            Provider::Telnyx => "/webhooks/telnyx/texml/dial",
        }
    }

    /// The bench's built-in config (`service::render_config`) with its
    /// business on this carrier. The business table is the config's last,
    /// so the carrier's keys and table go at its end.
    pub fn business_config(self, config: String) -> String {
        match self {
            Provider::Twilio => config,
            Provider::Telnyx => format!("{config}{TELNYX_BUSINESS}"),
        }
    }
}

/// A carrier's mock API, running in the bench's process.
pub enum MockApi {
    Twilio(MockTwilio),
    Telnyx(MockTelnyx),
}

impl MockApi {
    /// Starts `provider`'s mock; Twilio's checks `account_sid` and
    /// `auth_token`, Telnyx's the test API key.
    pub async fn start(
        provider: Provider,
        account_sid: &str,
        auth_token: &str,
    ) -> std::io::Result<MockApi> {
        Ok(match provider {
            Provider::Twilio => {
                MockApi::Twilio(MockTwilio::start_with(account_sid, auth_token).await?)
            }
            Provider::Telnyx => MockApi::Telnyx(
                MockTelnyx::start_on(Carrier::new(), mock_carrier::telnyx::API_KEY).await?,
            ),
        })
    }

    /// What the carrier holds: texts taken, faults to inject, counts.
    pub fn carrier(&self) -> &Carrier {
        match self {
            MockApi::Twilio(m) => m.carrier(),
            MockApi::Telnyx(m) => m.carrier(),
        }
    }

    pub fn url(&self) -> &str {
        match self {
            MockApi::Twilio(m) => &m.url,
            MockApi::Telnyx(m) => &m.url,
        }
    }

    /// The service's environment for sending through this mock and
    /// trusting its webhooks.
    pub fn env(&self, account_sid: &str, auth_token: &str) -> Vec<(&'static str, String)> {
        match self {
            MockApi::Twilio(m) => vec![
                ("TWILIO_ACCOUNT_SID", account_sid.to_string()),
                ("TWILIO_AUTH_TOKEN", auth_token.to_string()),
                ("TWILIO_API_BASE", m.url.clone()),
            ],
            MockApi::Telnyx(m) => vec![
                ("TELNYX_API_KEY", mock_carrier::telnyx::API_KEY.to_string()),
                ("TELNYX_PUBLIC_KEY", mock_carrier::telnyx::public_key()),
                ("TELNYX_API_BASE", m.url.clone()),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_runs_twilio_then_telnyx() {
        assert_eq!(
            ProviderChoice::Both.providers(),
            [Provider::Twilio, Provider::Telnyx]
        );
        assert_eq!(ProviderChoice::Telnyx.providers(), [Provider::Telnyx]);
    }

    /// The built-in config puts its business on Telnyx, and ringback
    /// accepts it (the key and the tables it needs are there).
    #[test]
    fn the_telnyx_config_parses_as_a_telnyx_business() {
        let text = Provider::Telnyx.business_config(crate::service::render_config());
        let dir = tempfile::tempdir().unwrap();
        let config = ringback::config::Config::parse(&text, "bench.toml", dir.path())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.carrier_of(crate::service::BUSINESS_NUMBER),
            ringback::config::CarrierKind::Telnyx
        );
    }
}
