-- Emergency escalations: at most one paging per lead at a time. `state` is the engine's
-- escalation value (JSON: chain snapshot, step, who acked), so a restart
-- mid-chain continues exactly where it was.
CREATE TABLE escalations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id  TEXT    NOT NULL,
    lead_id      INTEGER NOT NULL REFERENCES leads (id),
    status       TEXT    NOT NULL,   -- paging | acked | exhausted | cancelled
    state        TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX escalations_open ON escalations (business_id, status);
CREATE UNIQUE INDEX escalations_live ON escalations (lead_id) WHERE status IN ('pending', 'paging');
