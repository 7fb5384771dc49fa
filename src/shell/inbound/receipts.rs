//! Delivery receipts: what became of a text we sent.

use super::Received;
use crate::core::jobs::{Job, Scheduled, LATE_RECEIPT_EVERY};
use crate::domain::MessageStatus;
use crate::shell::carrier::{apply_receipt, log_healthy_again};
use crate::shell::Shell;
use crate::store::StoreError;

impl Shell {
    /// A carrier's delivery receipt for one of our texts: the status moves
    /// forward only, a carrier error teaches us about the number (see
    /// [`learn_from_carrier_error`]), and a delivered text clears its
    /// sender's at-risk flag if it was sent after the error.
    pub async fn delivery_status(
        &self,
        business_id: &str,
        sid: &str,
        status: MessageStatus,
        error_code: Option<&str>,
        rx: &Received<'_>,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let Some(mut tx) = self.begin_webhook(rx, Some(business_id), now).await? else {
            return Ok(false);
        };
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
        if applied.is_none() {
            // Not recorded yet, perhaps: the send's outcome is committed a
            // moment after the carrier accepts it (a batch, or an in-doubt
            // send reconciled on its retry), and the receipt can win that
            // race. It gets a second look, so an early "failed" with its
            // error code is not lost.
            let again = Scheduled::at(
                Job::LateReceipt {
                    sid: sid.to_string(),
                    status: status.as_str().to_string(),
                    error_code: error_code.map(str::to_string),
                },
                now + LATE_RECEIPT_EVERY,
            );
            crate::shell::schedule(&mut tx, &self.config, &[again], now).await?;
        }
        tx.commit().await?;
        if applied.as_ref().is_none_or(|a| a.alerted) {
            self.wake.notify_one();
        }
        log_healthy_again(applied.as_ref());
        Ok(applied.is_some())
    }
}
