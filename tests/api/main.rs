//! ringback's black-box tests, in one binary: the support code (the
//! harness in `helpers`, the mock carrier from the `mock-carrier` crate)
//! compiles once, and each topic is a module. Run one topic with
//! `cargo test --test api race::` (test names are `topic::test::store`).
//!
//! The tests run side by side in one process: nothing here may set
//! environment variables, bind fixed ports or share files; each test has
//! its own database, temporary directory, mock carrier and clock. The few
//! that need the machine to themselves take [`helpers::alone`].
//!
//! Environment: `RINGBACK_TEST_POSTGRES_URL` runs the PostgreSQL variants
//! (and the PostgreSQL-only modules `pg_faults` and `multi_instance`),
//! `RINGBACK_RACE_ITERATIONS` sets `race`'s iterations, `RINGBACK_TEST_LOG`
//! turns on the service's log (an `EnvFilter`, e.g. `ringback=debug`).

#[macro_use]
mod helpers;

mod app;
mod broken_db;
mod browser;
mod carriers;
mod compliance;
mod door;
mod emergency;
mod hostile;
mod missed_call;
mod multi_instance;
mod office;
mod pg_faults;
mod process;
mod properties;
mod race;
mod replies;
mod scorecard;
mod senders;
mod sla;
mod slow;
mod telnyx;
mod throughput;
mod via;
mod webhook_limit;
