//! Nobody acknowledged a page in time: the escalation machine pages the
//! next person (or everyone), see [`crate::core::escalation`].

use super::super::Worker;
use crate::core::escalation::Event;
use crate::store::Claimed;

impl Worker {
    pub(super) async fn ack_timeout(
        &self,
        job: &Claimed,
        escalation_id: i64,
        step: u32,
    ) -> crate::store::Result<()> {
        let now = self.clock.now();
        self.observe_lateness(job, now);
        crate::shell::emergency::handle(
            &self.store,
            &self.config,
            &self.metrics,
            escalation_id,
            Event::AckTimeout { step },
            now,
        )
        .await?;
        self.store.complete_job(job, now).await?;
        self.wake.notify_one();
        Ok(())
    }
}
