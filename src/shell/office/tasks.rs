//! What a person does with the office's timed queue items: promise a
//! callback, send a due follow-up (as drafted or edited) through the door
//! and the gate, or close an item. The timers themselves are
//! `shell::reminders`'.

use super::OfficeError;
use crate::core::reminders::{self, TaskKind};
use crate::domain::MessageKind;
use crate::shell::reminders::{add_task, item};
use crate::shell::Shell;

impl Shell {
    /// "Call back by": a timed queue item; the lead's owner is reminded at
    /// that time. `local` is the business's local time
    /// (`2026-11-24T15:00`). Returns the item's id.
    pub async fn promise_callback(
        &self,
        lead_id: i64,
        local: &str,
        by: &str,
    ) -> Result<i64, OfficeError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let (lead, _) = tx
            .lead_locked(lead_id, now)
            .await?
            .ok_or(OfficeError::NotFound(lead_id))?;
        let b = self.config.business(&lead.business_id).ok_or_else(|| {
            OfficeError::Invalid("the lead's business is no longer configured".into())
        })?;
        if !lead.status.is_open() {
            return Err(OfficeError::Invalid(
                "the lead is closed; reopen it before promising a callback".into(),
            ));
        }
        let at = reminders::callback_at(local, b.time_zone, now).map_err(OfficeError::Invalid)?;
        let t = item(&lead, TaskKind::Callback, at, None, Some(by));
        let id = add_task(&mut tx, &self.config, &t, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A person sends a due follow-up to the customer, as drafted or
    /// edited: through the door and the gate (a customer who opted out is
    /// refused). Sent once: a second click finds it sent. Returns the
    /// message id.
    pub async fn send_task(
        &self,
        task_id: i64,
        body: &str,
        by: &str,
    ) -> Result<(i64, i64), OfficeError> {
        let body = body.replace("\r\n", "\n");
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 1600 {
            return Err(OfficeError::Invalid(
                "the text must be 1 to 1600 characters".into(),
            ));
        }
        if body.chars().any(|c| c.is_control() && c != '\n') {
            return Err(OfficeError::Invalid(
                "the text may not contain control characters (line breaks are fine)".into(),
            ));
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let task = tx
            .task(task_id)
            .await?
            .ok_or(OfficeError::NotFound(task_id))?;
        if task.kind == TaskKind::Callback.as_str() {
            return Err(OfficeError::Invalid(
                "a callback is a call, not a text: log the call-back on the lead".into(),
            ));
        }
        if task.status != "due" {
            return Err(OfficeError::Invalid(format!(
                "this follow-up is {}, not waiting to be sent",
                task.status
            )));
        }
        let message_id = self
            .queue_customer_text(
                &mut tx,
                task.lead_id,
                body,
                MessageKind::OfficeFollowUp,
                Some(by),
                now,
            )
            .await?;
        if !tx
            .set_task_status(
                task_id,
                "sent",
                Some(&format!("sent by {by}")),
                Some(message_id),
                now,
            )
            .await?
        {
            return Err(OfficeError::Invalid(
                "this follow-up was already handled".into(),
            ));
        }
        tx.commit().await?;
        self.wake.notify_one();
        Ok((task.lead_id, message_id))
    }

    /// A person closes a queue item without a text (done, or not wanted).
    pub async fn close_task(&self, task_id: i64, by: &str) -> Result<i64, OfficeError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let task = tx
            .task(task_id)
            .await?
            .ok_or(OfficeError::NotFound(task_id))?;
        if !task.is_open() {
            return Err(OfficeError::Invalid(format!(
                "this item is already {}",
                task.status
            )));
        }
        if !tx
            .set_task_status(task_id, "done", Some(&format!("closed by {by}")), None, now)
            .await?
        {
            // It fell due and was sent (or dropped) a moment ago: say so
            // rather than report a close that did not happen.
            return Err(OfficeError::Invalid(
                "this item was just handled by the timer; reload to see what happened".into(),
            ));
        }
        tx.lead_event(
            task.lead_id,
            "task:closed",
            &format!("{} closed by {by}", task.kind.replace('_', " ")),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(task.lead_id)
    }
}
