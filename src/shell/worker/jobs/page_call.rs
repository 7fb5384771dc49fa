//! Rings an on-call person: the call reads the page and asks them to press 1
//! (reported to `/webhooks/twilio/voice/page`). Like a text it passes the
//! gate first: a page goes only to a number the config names as staff. A
//! page for an emergency someone already took, or a step the chain has moved
//! past, is not placed.

use super::super::Worker;
use crate::core::compliance;
use crate::core::escalation::Status;
use crate::core::retry::retry_delay;
use crate::domain::{mask, MessageKind};
use crate::provider::{OutboundCall, SendError};
use crate::store::Claimed;

impl Worker {
    pub(super) async fn page_call(
        &self,
        job: &Claimed,
        escalation_id: i64,
        step: u32,
        to: &str,
    ) -> crate::store::Result<()> {
        let now = self.clock.now();
        let Some((business_id, esc)) = self.store.escalation(escalation_id).await? else {
            self.store
                .fail_job(job, "escalation not found", now)
                .await?;
            return Ok(());
        };
        // Only for the page in flight: a retried call must not ring someone
        // after the chain has moved on, or after somebody took it.
        if esc.status != Status::Paging || esc.step != step {
            self.store.complete_job(job, now).await?;
            return Ok(());
        }
        let lead = self.store.lead(esc.lead_id).await?;
        let business = self.config.business(&business_id);
        let from = lead
            .as_ref()
            .map(|l| l.tracking_number.clone())
            .or_else(|| business.and_then(|b| b.numbers.first().map(|n| n.to_string())))
            .unwrap_or_default();
        let verdict = compliance::check(&compliance::Outgoing {
            kind: MessageKind::Page,
            to,
            from: &from,
            business,
            own_number: self.config.is_own_number(to),
            now,
            sent_last_24h: 0,
            cap_frees_at: None,
            rules: &self.policy.rules,
        });
        if let compliance::Verdict::Refuse(reason) = verdict {
            tracing::error!(escalation = escalation_id, to = %mask(to), reason, "page call refused by the gate");
            self.store
                .fail_job(job, &format!("refused: {reason}"), now)
                .await?;
            return Ok(());
        }
        // The keypress goes back to the carrier that placed the call.
        let base = format!(
            "{}{}",
            self.public_url.as_deref().unwrap_or(""),
            self.provider.voice_path(&from)
        );
        let query = format!("escalation={escalation_id}&step={step}");
        let call = OutboundCall {
            to: to.to_string(),
            twiml: crate::provider::twilio::twiml::page_call(
                &esc.page.script,
                &format!("{base}/page?{query}"),
            ),
            url: self
                .public_url
                .as_ref()
                .map(|_| format!("{base}/page/start?{query}")),
            from,
            timeout_secs: 30,
        };
        match self.provider.place_call(&call).await {
            Ok(r) => {
                tracing::info!(escalation = escalation_id, to = %mask(to), sid = %r.provider_sid, "page call placed");
                self.store.complete_job(job, now).await?;
            }
            Err(SendError::Permanent { code, message }) => {
                tracing::error!(escalation = escalation_id, to = %mask(to), code, message = %crate::domain::mask_numbers(&message), "page call refused; the SMS page and the chain carry on");
                self.store
                    .fail_job(job, &format!("{code}: {message}"), now)
                    .await?;
            }
            Err(e) => {
                let retry_after = match &e {
                    SendError::Retryable { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let at = now + retry_delay(job.attempts, retry_after, rand::random::<f64>());
                self.store
                    .retry_job(job, at, Some(&e.to_string()), true, now)
                    .await?;
            }
        }
        Ok(())
    }
}
