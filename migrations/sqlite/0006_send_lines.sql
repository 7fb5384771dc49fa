-- One line per sending number. A send job names the number it leaves from
-- (`sender`) and its class (`priority`: 0 life-safety, 1 conversation,
-- 2 instant, 3 background); each number's line is served in that order,
-- first in first out within a class, at the number's pace. Timers and calls
-- have no sender and run when due.
ALTER TABLE jobs ADD COLUMN sender TEXT;
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 3;

-- Due timers (no sender), and each number's line in serving order.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('pending', 'running') AND sender IS NULL;
CREATE INDEX jobs_by_line ON jobs (sender, priority, run_at, id) WHERE status IN ('pending', 'running') AND sender IS NOT NULL;

-- The pace of each sending number, shared by every instance: a number may
-- send again once `next_at_us` (microseconds since the epoch) has come. Claiming a send
-- moves it on by the number's period, under this row's lock.
CREATE TABLE sender_pace (
    number   TEXT    PRIMARY KEY,
    next_at_us  INTEGER  NOT NULL
);
