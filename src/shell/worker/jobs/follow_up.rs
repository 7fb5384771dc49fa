//! A follow-up step fell due: the core decides whether the lead still
//! wants it (see [`crate::core::conversation::on_follow_up_due`]); a step
//! that goes queues its text through the door and schedules the next step,
//! in the transaction that completes the job.

use super::super::Worker;
use crate::core::conversation::{self, FollowUpDecision, FollowUpDue};
use crate::core::jobs::{Job, Scheduled};
use crate::domain::MessageKind;
use crate::shell::outbox::{self, Outbound};
use crate::store::Claimed;

impl Worker {
    pub(super) async fn follow_up(
        &self,
        job: &Claimed,
        lead_id: i64,
        step: usize,
    ) -> crate::store::Result<()> {
        let now = self.clock.now();
        self.observe_lateness(job, now);
        let mut tx = self.store.begin().await?;
        let Some((mut lead, unreachable)) = tx.lead_locked(lead_id, now).await? else {
            tx.finish_job(job, Some("lead not found"), now).await?;
            return tx.commit().await;
        };
        let Some(b) = self.config.business(&lead.business_id) else {
            tx.finish_job(job, Some("business no longer configured"), now)
                .await?;
            return tx.commit().await;
        };
        let consent = tx.consent_state(&lead.business_id, &lead.caller).await?;
        let quiet_until = self
            .policy
            .rules
            .quiet_hours
            .check(&lead.caller, b.time_zone, now)
            .err();
        let decision = conversation::on_follow_up_due(&FollowUpDue {
            business: b,
            lead: &lead,
            step,
            consent,
            unreachable: unreachable.is_some(),
            now,
            quiet_until,
        });
        match decision {
            FollowUpDecision::Wait { until, reason } => {
                drop(tx);
                self.store
                    .retry_job(job, until, Some(reason), false, now)
                    .await?;
                return Ok(());
            }
            FollowUpDecision::Stop(why) => {
                if !tx.finish_job(job, None, now).await? {
                    return Ok(());
                }
                tx.lead_event(lead.id, "follow_ups_stopped", why, now)
                    .await?;
            }
            FollowUpDecision::Send { body, next } => {
                if !tx.finish_job(job, None, now).await? {
                    tracing::warn!(
                        job = job.id,
                        "lease lost before the follow-up committed; another worker owns it"
                    );
                    return Ok(());
                }
                let text = outbox::Text {
                    business_id: &lead.business_id,
                    lead_id: Some(lead.id),
                    kind: MessageKind::FollowUp,
                    to: &lead.caller,
                    from: &lead.tracking_number,
                    body,
                    trigger_at: Some(job.due_at),
                };
                outbox::queue(&mut tx, &self.config, Outbound::Text(text), now).await?;
                lead.follow_ups_sent += 1;
                tx.update_lead(&lead, now).await?;
                if let Some(at) = next {
                    let next = Job::FollowUp {
                        lead_id: lead.id,
                        step: step + 1,
                    };
                    let timer = Scheduled::for_lead(next, lead.id, at);
                    crate::shell::schedule(&mut tx, &self.config, &[timer], now).await?;
                }
                tx.lead_event(
                    lead.id,
                    "follow_up_queued",
                    &format!("follow-up {} of {}", step + 1, b.follow_ups.len()),
                    now,
                )
                .await?;
                tx.commit().await?;
                self.wake.notify_one();
                return Ok(());
            }
        }
        tx.commit().await
    }
}
