-- What the issue asks a case to hold beyond 0004: each person's equality and school details,
-- the Early Help assessment, the lawful basis of each share, and break-glass access.
-- The SQLite twin of this file is migrations/sqlite/0005_case_records.sql; keep them in step.

ALTER TABLE family_members ADD COLUMN ethnicity TEXT NOT NULL DEFAULT '';
ALTER TABLE family_members ADD COLUMN languages TEXT NOT NULL DEFAULT '';
ALTER TABLE family_members ADD COLUMN send TEXT NOT NULL DEFAULT '';
ALTER TABLE family_members ADD COLUMN school TEXT NOT NULL DEFAULT '';
ALTER TABLE request_members ADD COLUMN ethnicity TEXT NOT NULL DEFAULT '';
ALTER TABLE request_members ADD COLUMN languages TEXT NOT NULL DEFAULT '';
ALTER TABLE request_members ADD COLUMN send TEXT NOT NULL DEFAULT '';
ALTER TABLE request_members ADD COLUMN school TEXT NOT NULL DEFAULT '';

-- One row per assessment: a draft is edited until it is finalised, then it never changes;
-- a reassessment is a new row.
CREATE TABLE assessments (
    id UUID PRIMARY KEY,
    family_id UUID NOT NULL REFERENCES families (id),
    status TEXT NOT NULL,
    family_story TEXT NOT NULL,
    child_voice TEXT NOT NULL,
    strengths TEXT NOT NULL,
    worries TEXT NOT NULL,
    needs TEXT NOT NULL,
    analysis TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_micros BIGINT NOT NULL,
    updated_micros BIGINT NOT NULL,
    finalised_by TEXT,
    finalised_micros BIGINT
);
CREATE INDEX assessments_family ON assessments (family_id, started_micros);

-- The lawful basis of each share of a family's record with a partner (UK GDPR article 6, and
-- the article 9 condition when special-category data goes too). Separate from consent: a share
-- on a basis other than consent survives the family withdrawing consent.
CREATE TABLE lawful_bases (
    id UUID PRIMARY KEY,
    family_id UUID NOT NULL REFERENCES families (id),
    shared_with_user UUID REFERENCES users (id),
    shared_with TEXT NOT NULL,
    purpose TEXT NOT NULL,
    article6 TEXT NOT NULL,
    article9 TEXT,
    recorded_by TEXT NOT NULL,
    recorded_micros BIGINT NOT NULL,
    ended_micros BIGINT
);
CREATE INDEX lawful_bases_family ON lawful_bases (family_id, recorded_micros);

-- Emergency access by someone not involved: a reason, a time limit, and a review by the
-- information governance officer.
CREATE TABLE break_glass (
    id UUID PRIMARY KEY,
    family_id UUID NOT NULL REFERENCES families (id),
    user_id UUID NOT NULL REFERENCES users (id),
    user_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    granted_micros BIGINT NOT NULL,
    expires_micros BIGINT NOT NULL,
    reviewed_by TEXT,
    reviewed_micros BIGINT,
    review_note TEXT
);
CREATE INDEX break_glass_family ON break_glass (family_id, user_id, expires_micros);
CREATE INDEX break_glass_unreviewed ON break_glass (reviewed_micros, granted_micros);
