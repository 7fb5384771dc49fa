//! The console provider: the default when no carrier credentials are set.
//! It logs what it would send; the outbox row records it like a real send,
//! so the whole flow can be seen without a carrier account.

use super::{OutboundSms, Provider, SendError, SendReceipt};
use crate::domain::mask;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct Console;

#[async_trait]
impl Provider for Console {
    fn name(&self) -> &'static str {
        "console"
    }

    async fn send_sms(&self, sms: &OutboundSms) -> Result<SendReceipt, SendError> {
        let sid = format!("CONSOLE{}", uuid::Uuid::new_v4().simple());
        tracing::info!(
            provider = "console",
            to = %mask(&sms.to),
            from = %sms.from,
            sid = %sid,
            body = %sms.body,
            "would send SMS"
        );
        Ok(SendReceipt { provider_sid: sid })
    }

    async fn find_sent(
        &self,
        _sms: &OutboundSms,
        _since: DateTime<Utc>,
    ) -> Result<Option<SendReceipt>, SendError> {
        // Nothing ever left this process, so nothing can be in doubt.
        Ok(None)
    }

    async fn place_call(
        &self,
        call: &crate::provider::OutboundCall,
    ) -> Result<SendReceipt, SendError> {
        let sid = format!("CONSOLECALL{}", uuid::Uuid::new_v4().simple());
        tracing::info!(provider = "console", to = %mask(&call.to), from = %call.from, sid = %sid, twiml = %call.twiml, "would place a call");
        Ok(SendReceipt { provider_sid: sid })
    }
}
