-- Serious actions on a family's case say who and why, and the record tells the truth after them.
-- Each family member's consent is separate: a consent names the member it is for (NULL for a
-- consent recorded for the family as a whole, as triage records it), and its withdrawal says who
-- withdrew it, why and when. A share on consent may rest on one member's consent; a share that
-- ends says why. A plan action still open at closure says how it ended.
-- The SQLite twin of this file is migrations/sqlite/0025_serious_actions.sql; keep them in step.

ALTER TABLE consents ADD COLUMN member_id UUID REFERENCES family_members (id);
ALTER TABLE consents ADD COLUMN withdrawn_by TEXT;
ALTER TABLE consents ADD COLUMN withdrawn_reason TEXT;
ALTER TABLE consents ADD COLUMN withdrawn_micros BIGINT;
ALTER TABLE lawful_bases ADD COLUMN consent_id UUID REFERENCES consents (id);
ALTER TABLE lawful_bases ADD COLUMN ended_reason TEXT;
ALTER TABLE plan_actions ADD COLUMN ending TEXT;
