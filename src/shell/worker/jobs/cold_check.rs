//! Has a lead gone cold? A lead waiting on the customer with no progress
//! for `cold_after` moves to the office's cold queue; one that moved since
//! is looked at again `cold_after` past its last activity.

use super::super::Worker;
use crate::core::conversation::{self, ColdCheck};
use crate::core::jobs::{Job, Scheduled};
use crate::domain::LeadStatus;
use crate::store::Claimed;

impl Worker {
    pub(super) async fn cold_check(&self, job: &Claimed, lead_id: i64) -> crate::store::Result<()> {
        let now = self.clock.now();
        self.observe_lateness(job, now);
        let cold_after = self.config.service.cold_after;
        let mut tx = self.store.begin().await?;
        let Some((mut lead, _)) = tx.lead_locked(lead_id, now).await? else {
            tx.finish_job(job, Some("lead not found"), now).await?;
            return tx.commit().await;
        };
        if !tx.finish_job(job, None, now).await? {
            return Ok(());
        }
        match conversation::cold_check(&lead, now, cold_after) {
            ColdCheck::GoCold => {
                lead.status = LeadStatus::Cold;
                // Follow-ups already scheduled still go: "cold" is the
                // office's queue, and the sequence is what might warm it up.
                tx.update_lead(&lead, now).await?;
                tx.lead_event(
                    lead.id,
                    "cold",
                    &format!("no progress for {} h", cold_after.num_hours()),
                    now,
                )
                .await?;
            }
            ColdCheck::CheckAt(at) => {
                let again = Scheduled::for_lead(Job::ColdCheck { lead_id: lead.id }, lead.id, at);
                crate::shell::schedule(&mut tx, &self.config, &[again], now).await?;
            }
            ColdCheck::Done => {}
        }
        tx.commit().await
    }
}
