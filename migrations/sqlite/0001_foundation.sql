-- ringback schema, SQLite dialect. Times are milliseconds since the Unix
-- epoch (INTEGER) so that SQLite and PostgreSQL store them identically.

-- One row per (business, phone): the lock every change to that person's
-- conversation takes first, and flags learned about the number.
CREATE TABLE contacts (
    business_id   TEXT    NOT NULL,
    phone         TEXT    NOT NULL,
    unreachable   TEXT,             -- why texts cannot reach it (landline, invalid)
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (business_id, phone)
);

CREATE TABLE leads (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id      TEXT    NOT NULL,
    caller           TEXT    NOT NULL,
    tracking_number  TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    call_count       INTEGER NOT NULL DEFAULT 0,
    first_call_at    INTEGER NOT NULL,
    window_ends_at   INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    suppressed_reason TEXT,
    closed_reason    TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX leads_by_caller ON leads (business_id, caller, first_call_at);
CREATE INDEX leads_by_status ON leads (status, updated_at);

CREATE TABLE calls (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    call_sid         TEXT    NOT NULL UNIQUE,
    business_id      TEXT    NOT NULL,
    lead_id          INTEGER REFERENCES leads (id),
    caller           TEXT    NOT NULL,
    tracking_number  TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    missed_trigger   TEXT,
    screen_accepted  INTEGER NOT NULL DEFAULT 0,
    answered_seconds INTEGER,
    recording_url    TEXT,
    transcript       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX calls_by_lead ON calls (lead_id);

-- Every webhook we accepted, once: the dedup key is unique, so a carrier's
-- retry of the same request is recognised and changes nothing.
CREATE TABLE webhook_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key    TEXT    NOT NULL UNIQUE,
    kind         TEXT    NOT NULL,
    business_id  TEXT,
    payload      TEXT    NOT NULL,
    received_at  INTEGER NOT NULL
);

-- A lead's timeline, for the dispatcher and for audits.
CREATE TABLE lead_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id  INTEGER NOT NULL REFERENCES leads (id),
    kind     TEXT    NOT NULL,
    detail   TEXT    NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX lead_events_by_lead ON lead_events (lead_id, id);

-- The outbox and the inbox. An outbound row is written in the same
-- transaction as the decision to send it; only the worker sends it.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id      TEXT    NOT NULL,
    lead_id          INTEGER REFERENCES leads (id),
    direction        TEXT    NOT NULL,  -- outbound | inbound
    kind             TEXT    NOT NULL,
    to_number        TEXT    NOT NULL,
    from_number      TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    suppress_reason  TEXT,
    provider         TEXT,
    provider_sid     TEXT UNIQUE,
    error_code       TEXT,
    error_message    TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    trigger_at       INTEGER NOT NULL,  -- when the event that caused it happened
    created_at       INTEGER NOT NULL,
    send_started_at  INTEGER,
    sent_at          INTEGER,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX messages_by_lead ON messages (lead_id, id);
CREATE INDEX messages_by_recipient ON messages (business_id, to_number, status);

-- Durable jobs: timers and sends. A claimed job's run_at is its lease
-- expiry, so one index finds both due jobs and abandoned leases.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    lead_id       INTEGER REFERENCES leads (id),  -- set for a lead's timers, to cancel them
    unique_key    TEXT    NOT NULL UNIQUE,
    payload       TEXT    NOT NULL,
    status        TEXT    NOT NULL,     -- pending | running | done | failed | canceled
    run_at        INTEGER NOT NULL,  -- next time it may run (lease end while running)
    due_at        INTEGER NOT NULL,  -- when it was meant to run, for lateness figures
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    lease_token   INTEGER NOT NULL DEFAULT 0,  -- fencing token, +1 per claim
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('pending', 'running');
CREATE INDEX jobs_by_lead ON jobs (lead_id) WHERE lead_id IS NOT NULL;

-- Append-only consent ledger; the current state is the latest opt_out or
-- opt_in row. Nothing is ever deleted.
CREATE TABLE consent_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id  TEXT    NOT NULL,
    phone        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    raw_text     TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX consent_by_phone ON consent_events (business_id, phone, id);
