//! Twilio and Telnyx side by side: each text and call goes to the carrier
//! that serves its sending number (`provider` / `number_providers` in the
//! business's config). The worker sees one [`Provider`].

use super::{OutboundCall, OutboundSms, Provider, SendError, SendReceipt};
use crate::config::{CarrierKind, Config};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

pub struct Router {
    /// The carrier of every number that is not Twilio's.
    by_number: HashMap<String, CarrierKind>,
    /// Twilio, or the console provider in console mode.
    twilio: Arc<dyn Provider>,
    telnyx: Option<Arc<dyn Provider>>,
}

impl Router {
    /// `twilio` serves Twilio numbers (the console provider in console
    /// mode); `telnyx`, if configured, the numbers `config` gives it.
    pub fn new(
        config: &Config,
        twilio: Arc<dyn Provider>,
        telnyx: Option<Arc<dyn Provider>>,
    ) -> Router {
        let by_number = config
            .businesses
            .iter()
            .flat_map(|b| {
                b.numbers
                    .iter()
                    .map(|n| (n.as_str().to_string(), b.carriers.of(n.as_str())))
            })
            .filter(|(_, k)| *k != CarrierKind::Twilio)
            .collect();
        Router {
            by_number,
            twilio,
            telnyx,
        }
    }

    fn pick(&self, from: &str) -> &dyn Provider {
        match (self.by_number.get(from), &self.telnyx) {
            (Some(CarrierKind::Telnyx), Some(t)) => t.as_ref(),
            _ => self.twilio.as_ref(),
        }
    }
}

#[async_trait]
impl Provider for Router {
    fn name(&self) -> &'static str {
        match &self.telnyx {
            None => self.twilio.name(),
            Some(_) if self.twilio.name() == "console" => "telnyx",
            Some(_) => "twilio+telnyx",
        }
    }

    async fn send_sms(&self, sms: &OutboundSms) -> Result<SendReceipt, SendError> {
        self.pick(&sms.from).send_sms(sms).await
    }

    async fn find_sent(
        &self,
        sms: &OutboundSms,
        since: DateTime<Utc>,
    ) -> Result<Option<SendReceipt>, SendError> {
        self.pick(&sms.from).find_sent(sms, since).await
    }

    async fn place_call(&self, call: &OutboundCall) -> Result<SendReceipt, SendError> {
        self.pick(&call.from).place_call(call).await
    }

    fn carrier_of(&self, from: &str) -> &'static str {
        self.pick(from).name()
    }

    fn voice_path(&self, from: &str) -> &'static str {
        self.pick(from).voice_path(from)
    }

    fn record_lag(&self, from: &str) -> chrono::Duration {
        self.pick(from).record_lag(from)
    }
}
