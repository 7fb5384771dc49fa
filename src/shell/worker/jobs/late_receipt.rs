//! A delivery receipt that arrived before its message was recorded:
//! applied once the message is known, or dropped (logged) after
//! [`crate::core::jobs::LATE_RECEIPT_TRIES`] looks, when it was most likely
//! for a message some other system sent from the same number.

use super::super::Worker;
use crate::core::jobs::late_receipt_wait;
use crate::domain::MessageStatus;
use crate::shell::carrier::{apply_receipt, log_healthy_again};
use crate::store::Claimed;

impl Worker {
    pub(super) async fn late_receipt(
        &self,
        job: &Claimed,
        sid: &str,
        status: &str,
        error_code: Option<&str>,
    ) -> crate::store::Result<()> {
        let now = self.clock.now();
        let Ok(status) = status.parse::<MessageStatus>() else {
            self.store.fail_job(job, "unreadable status", now).await?;
            return Ok(());
        };
        let mut tx = self.store.begin().await?;
        let applied = apply_receipt(
            &mut tx,
            &self.config,
            &self.metrics,
            sid,
            status,
            error_code,
            now,
        )
        .await?;
        if let Some(a) = &applied {
            if tx.finish_job(job, None, now).await? {
                tx.commit().await?;
                if a.alerted {
                    self.wake.notify_one();
                }
                log_healthy_again(applied.as_ref());
                tracing::info!(sid, status = %status, "early delivery receipt applied");
            }
            return Ok(());
        }
        drop(tx);
        if job.attempts >= job.max_attempts {
            tracing::info!(sid, status = %status, "delivery receipt for a message ringback never recorded (another system's?); dropped");
            self.store.complete_job(job, now).await?;
        } else {
            self.store
                .retry_job(
                    job,
                    now + late_receipt_wait(job.attempts),
                    Some("message not recorded yet"),
                    true,
                    now,
                )
                .await?;
        }
        Ok(())
    }
}
