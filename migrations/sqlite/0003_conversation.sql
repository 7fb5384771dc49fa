-- The conversation after the instant text: what the customer wants, what we
-- asked, who in the office owns the lead and how it ended.
ALTER TABLE leads ADD COLUMN intent TEXT;               -- latest classified intent of a reply
ALTER TABLE leads ADD COLUMN hazard TEXT;               -- set once an emergency was reported
ALTER TABLE leads ADD COLUMN questions_asked INTEGER NOT NULL DEFAULT 0;  -- context questions (at most 2)
ALTER TABLE leads ADD COLUMN awaiting_answer INTEGER NOT NULL DEFAULT 0;  -- our last text was a question
ALTER TABLE leads ADD COLUMN acknowledged INTEGER NOT NULL DEFAULT 0;     -- the one "a person will get back to you"
ALTER TABLE leads ADD COLUMN follow_ups_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leads ADD COLUMN owner TEXT;                -- who in the office works it
ALTER TABLE leads ADD COLUMN disposition TEXT;          -- how it ended (booked_job, wrong_number, ...)
ALTER TABLE leads ADD COLUMN disposition_reason TEXT;   -- from the business's configured list
ALTER TABLE leads ADD COLUMN note TEXT;                 -- one line from the office
ALTER TABLE leads ADD COLUMN call_attempts INTEGER NOT NULL DEFAULT 0;   -- human call-backs logged
CREATE INDEX leads_by_business ON leads (business_id, status, first_call_at);
