//! The functional core: decisions as pure functions of data. No store, no
//! tokio, no I/O, no clock — the shell loads the facts, asks, and applies.

pub mod classify;
pub mod compliance;
pub mod conversation;
pub mod escalation;
pub mod packet;
pub mod people;
pub mod policy;
pub mod reminders;
pub mod roster;
pub mod scorecard;
pub mod sla;
pub use policy::Policy;
pub mod jobs;
pub mod retry;
