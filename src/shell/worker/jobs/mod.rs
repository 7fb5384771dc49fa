//! One handler per kind of job ([`crate::core::jobs::Job`]). Each runs a
//! claimed job to completion: its effects and the job's completion commit
//! together, fenced by the job's lease, so a job that runs twice (a lease
//! that expired under a slow store) changes nothing the second time.

mod ack_timeout;
mod cold_check;
mod follow_up;
mod late_receipt;
mod page_call;
mod sla_reminder;
mod task_due;

use super::Worker;
use crate::core::jobs::Job;
use crate::store::Claimed;

impl Worker {
    /// Runs one claimed job. Errors are recorded on the job, never lost: a
    /// store error mid-job leaves the lease to expire, and the job is claimed
    /// again (every step is idempotent); an unreadable job is failed, kept.
    pub(super) async fn run_job(&self, claimed: Claimed) {
        let job = match claimed.job() {
            Ok(job) => job,
            Err(why) => {
                let now = self.clock.now();
                tracing::error!(job = claimed.id, kind = %claimed.kind, error = %why, "job cannot be read; failed and kept");
                let _ = self.store.fail_job(&claimed, &why, now).await;
                return;
            }
        };
        let result = match job {
            Job::SendText { message_id } => self.send_text(&claimed, message_id).await,
            Job::PageCall {
                escalation_id,
                step,
                to,
            } => self.page_call(&claimed, escalation_id, step, &to).await,
            Job::FollowUp { lead_id, step } => self.follow_up(&claimed, lead_id, step).await,
            Job::ColdCheck { lead_id } => self.cold_check(&claimed, lead_id).await,
            Job::AckTimeout {
                escalation_id,
                step,
            } => self.ack_timeout(&claimed, escalation_id, step).await,
            Job::SlaReminder { lead_id, late } => self.sla_reminder(&claimed, lead_id, late).await,
            Job::TaskDue { task_id } => self.task_due(&claimed, task_id).await,
            Job::LateReceipt {
                sid,
                status,
                error_code,
            } => {
                self.late_receipt(&claimed, &sid, &status, error_code.as_deref())
                    .await
            }
        };
        if let Err(e) = result {
            tracing::error!(job = claimed.id, kind = %claimed.kind, error = %e, "job interrupted by a store error; it will be retried");
        }
    }

    /// How late a timer ran (claimed − due), for the timer-accuracy figure.
    fn observe_lateness(&self, job: &Claimed, now: chrono::DateTime<chrono::Utc>) {
        self.metrics.observe(
            "ringback_timer_lateness_seconds",
            (now - job.due_at).num_milliseconds().max(0) as f64 / 1000.0,
        );
    }
}
