//! A timed queue item fell due (`core::reminders::on_task_due` decides):
//! a promised callback texts the lead's owner; a follow-up waits in the
//! queue for a person, or (post-job, when the config says so) is sent by
//! itself through the door and the gate; one no longer wanted is dropped
//! with the reason.

use super::super::Worker;
use crate::core::reminders::{self, TaskDue, TaskFacts, TaskKind};
use crate::domain::MessageKind;
use crate::shell::outbox::{self, Outbound};
use crate::store::Claimed;

impl Worker {
    pub(super) async fn task_due(&self, job: &Claimed, task_id: i64) -> crate::store::Result<()> {
        let now = self.clock.now();
        self.observe_lateness(job, now);
        let mut tx = self.store.begin().await?;
        let task = match tx.task(task_id).await? {
            Some(t) if t.is_open() => t,
            found => {
                let why = found.map_or("task not found", |_| "already handled");
                tx.finish_job(job, Some(why), now).await?;
                return tx.commit().await;
            }
        };
        let (Some((lead, _)), Some(kind)) = (
            tx.lead_locked(task.lead_id, now).await?,
            TaskKind::parse(&task.kind),
        ) else {
            tx.finish_job(job, Some("lead or kind unknown"), now)
                .await?;
            return tx.commit().await;
        };
        let Some(b) = self.config.business(&lead.business_id) else {
            tx.finish_job(job, Some("business no longer configured"), now)
                .await?;
            return tx.commit().await;
        };
        if !tx.finish_job(job, None, now).await? {
            return Ok(());
        }
        let answered_since = tx.answered_since(lead.id, task.created_at).await?;
        let decision = reminders::on_task_due(&TaskFacts {
            kind,
            business: b,
            lead: &lead,
            answered_since,
            now,
        });
        let (status, detail, message_id, out) = match decision {
            TaskDue::Remind { to, body } => {
                let text = outbox::Text {
                    business_id: &b.id,
                    lead_id: Some(lead.id),
                    kind: MessageKind::OfficeNotice,
                    to: to.as_str(),
                    from: &lead.tracking_number,
                    body,
                    trigger_at: Some(job.due_at),
                };
                outbox::queue(&mut tx, &self.config, Outbound::Text(text), now).await?;
                ("due", format!("reminded {}", to.as_str()), None, true)
            }
            TaskDue::Offer => ("due", "waiting for a person".to_string(), None, false),
            TaskDue::Send => {
                let text = outbox::Text {
                    business_id: &b.id,
                    lead_id: Some(lead.id),
                    kind: MessageKind::OfficeFollowUp,
                    to: &lead.caller,
                    from: &lead.tracking_number,
                    body: task.body.clone().unwrap_or_default(),
                    trigger_at: Some(job.due_at),
                };
                let queued =
                    outbox::queue(&mut tx, &self.config, Outbound::Text(text), now).await?;
                let id = match queued {
                    outbox::Queued::Text(id) => Some(id),
                    outbox::Queued::Call => None,
                };
                ("sent", "sent automatically".to_string(), id, true)
            }
            TaskDue::Drop(why) => ("dropped", why.to_string(), None, false),
        };
        if !tx
            .set_task_status(task.id, status, Some(&detail), message_id, now)
            .await?
        {
            // The office closed or sent it while this ran (the read above
            // holds no lock on the item): what was queued goes with the
            // rollback, and the job ends here.
            drop(tx);
            let mut tx = self.store.begin().await?;
            tx.finish_job(job, Some("already handled"), now).await?;
            return tx.commit().await;
        }
        tx.lead_event(
            lead.id,
            &format!("task:{status}"),
            &format!("{}: {detail}", kind.label()),
            now,
        )
        .await?;
        tx.commit().await?;
        if out {
            self.wake.notify_one();
        }
        Ok(())
    }
}
