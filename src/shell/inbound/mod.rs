//! Inbound events, one function per kind: each records the webhook once,
//! loads the facts, asks [`crate::core`] what to do and applies the answer —
//! all in one transaction, committed before the carrier gets its 200. Texts
//! are only ever queued here (through [`crate::shell::outbox`]); the worker
//! sends.

mod calls;
mod escalate;
mod receipts;
mod texts;

pub use calls::{AnswerSource, AnsweredCall, MissedOutcome, MissedReport};
pub use texts::{InboundOutcome, InboundSms};

use crate::shell::Shell;
use crate::store::{StoreError, Tx};
use chrono::{DateTime, Utc};

/// The webhook as received, for the audit log and for dedup.
#[derive(Debug, Clone)]
pub struct Received<'a> {
    /// Unique per carrier request: a retry of the same request has the same key.
    pub dedup_key: String,
    pub kind: &'static str,
    pub payload: &'a str,
}

impl Shell {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Starts the transaction that handles a webhook, recording the webhook
    /// in it once. `None`: this webhook was handled already (a carrier
    /// retry), and the caller changes nothing.
    async fn begin_webhook(
        &self,
        rx: &Received<'_>,
        business_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Tx>, StoreError> {
        let mut tx = self.store.begin().await?;
        if tx
            .record_webhook(&rx.dedup_key, rx.kind, business_id, rx.payload, now)
            .await?
        {
            Ok(Some(tx))
        } else {
            tx.commit().await?;
            Ok(None)
        }
    }
}
