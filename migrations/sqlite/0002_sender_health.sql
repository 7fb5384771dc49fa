-- What carriers have told us about each sending number: a number that
-- got 30034 (unregistered), 30007 (filtered) or a Telnyx spam block is "at
-- risk" until its registration is fixed. Also when its owner was last
-- alerted about it, so alerts cannot spam (at most one per day).
CREATE TABLE sender_health (
    sender           TEXT    NOT NULL PRIMARY KEY,  -- E.164 sending number
    business_id      TEXT    NOT NULL,
    at_risk          INTEGER NOT NULL DEFAULT 0,
    last_error_code  TEXT,
    last_error_at    INTEGER,
    error_count      INTEGER NOT NULL DEFAULT 0,
    last_alert_at    INTEGER
);
