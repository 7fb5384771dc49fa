-- Indexes that no longer move with every update. An index that includes a
-- column the hot path keeps changing (a text's status, a lead's updated_at)
-- has its entry deleted and re-inserted, at a random place in the index, on
-- every change; under load those rewritten index pages were a large share
-- of what each commit writes.

-- A recipient has a handful of messages: finding them by number is enough;
-- the status and time filters read the rows.
DROP INDEX messages_by_recipient;
CREATE INDEX messages_by_recipient ON messages (business_id, to_number);

-- Leads by status, in order of arrival (first_call_at never changes).
DROP INDEX leads_by_status;
CREATE INDEX leads_by_status ON leads (status, first_call_at);
