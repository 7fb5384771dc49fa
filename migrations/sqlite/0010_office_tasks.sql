-- Timed queue items (the web app's SLA and reminders): a promised callback,
-- the follow-up after a job, the follow-up on an unanswered quote. Each is
-- one row here and a `task_due` job that fires at `due_at`. Times are ms.
CREATE TABLE office_tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id      INTEGER NOT NULL REFERENCES leads (id),
    business_id  TEXT    NOT NULL,
    kind         TEXT    NOT NULL,            -- callback | job_follow_up | quote_follow_up
    status       TEXT    NOT NULL,            -- scheduled | due | sent | done | dropped
    due_at       INTEGER NOT NULL,
    body         TEXT,                        -- the drafted text (follow-ups)
    created_by   TEXT,
    detail       TEXT,                        -- why it was dropped, who sent it
    message_id   INTEGER,                     -- the text it became, once sent
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX office_tasks_open ON office_tasks (status, due_at);
CREATE INDEX office_tasks_by_lead ON office_tasks (lead_id);
