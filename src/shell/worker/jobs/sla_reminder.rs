//! A late-lead reminder fell due: if the lead is still unclaimed (5 min)
//! or still uncalled (15 min), the manager (or whoever is on call) is
//! texted once, a staff text through the door and the gate. A claim or a
//! call in the meantime means nothing is sent (`core::reminders`).

use super::super::Worker;
use crate::core::reminders::{self, Late};
use crate::domain::MessageKind;
use crate::shell::outbox::{self, Outbound};
use crate::store::Claimed;

impl Worker {
    pub(super) async fn sla_reminder(
        &self,
        job: &Claimed,
        lead_id: i64,
        late: Late,
    ) -> crate::store::Result<()> {
        let now = self.clock.now();
        self.observe_lateness(job, now);
        let mut tx = self.store.begin().await?;
        let Some((lead, _)) = tx.lead_locked(lead_id, now).await? else {
            tx.finish_job(job, Some("lead not found"), now).await?;
            return tx.commit().await;
        };
        if !tx.finish_job(job, None, now).await? {
            return Ok(());
        }
        let Some(b) = self.config.business(&lead.business_id) else {
            return tx.commit().await;
        };
        let to = reminders::who_to_remind(b, now);
        let (Some(to), true) = (to, reminders::still_wanted(late, &lead)) else {
            return tx.commit().await;
        };
        let text = outbox::Text {
            business_id: &b.id,
            lead_id: Some(lead.id),
            kind: MessageKind::OfficeNotice,
            to: to.as_str(),
            from: &lead.tracking_number,
            body: reminders::reminder_text(late, b, &lead),
            trigger_at: Some(job.due_at),
        };
        outbox::queue(&mut tx, &self.config, Outbound::Text(text), now).await?;
        tx.lead_event(
            lead.id,
            "sla_reminder",
            &format!(
                "{}: texted {}",
                late.as_str().replace('_', " "),
                to.as_str()
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.wake.notify_one();
        Ok(())
    }
}
