//! Emergency escalation: page the on-call chain until somebody owns the job.
//!
//! This is the functional core of the feature. [`on_event`] takes an
//! escalation's state, one event and the time, and returns the new state and
//! what to do; it never sends, sleeps or reads a clock. The shell stores the
//! state (it is `serde`-serialisable), turns [`Action`]s into outbox rows and
//! durable timer rows, and feeds events back in. Because every step is a row,
//! a restart mid-escalation simply continues with the next event.
//!
//! # How a page travels
//! ```text
//! Start ─▶ caller gets the safety text; chain[0] gets an SMS + a call; timer(step 0)
//! AckTimeout{0} (no ACK in time) ─▶ chain[1] paged; timer(step 1)
//! ...      ─▶ the last link (the owner) paged; timer(step n-1)
//! AckTimeout{n-1} ─▶ ALL HANDS: everyone in the chain paged at once, timer(step n)
//! ... repeated `repages` times, then Exhausted: paging stops, the caller is
//!     told we are still trying (and to call 911 if in danger), and the shell
//!     flags the lead as an unowned emergency for the office.
//! Ack (SMS "ACK" or pressing 1 on the page call), at any point, even after
//! Exhausted ─▶ paging stops; everyone already paged hears who took it; the
//!     caller hears "Mike from Spartan is calling you now".
//! ```
//!
//! Why the end of the chain looks like this: by the time the owner's page
//! has timed out, every person has been paged once and 10-15 minutes have
//! passed on a gas smell. Walking the chain again would take as long again,
//! so instead everybody is paged together each timeout (the first to press 1
//! wins and the rest are told), a bounded number of times so a dead roster
//! cannot page forever. After that a human in the office has to look; the
//! `Exhausted` action is the shell's cue to make that loud.
//!
//! # Stale timers
//! Timers are not cancelled (cancelling is a race in a durable queue); each
//! carries the step it was scheduled for and is ignored unless the
//! escalation is still paging at that step. So a timer that fires after an
//! ACK, or a duplicate delivery of an old one, does nothing.
//!
//! The machine is `machine.rs`, the texts it sends `texts.rs`, its tests
//! `tests.rs`.

mod machine;
mod texts;

pub use machine::*;
pub use texts::*;

#[cfg(test)]
mod tests;
