-- The consistent child identifier (issue 14, item 6): an NHS number on every person we hold,
-- or why it is missing, and the log of decisions not to share information. The postgres twin
-- is migrations/postgres/0039_nhs_number.sql.
-- nhs_number holds the 10 digits, checked (Modulus 11) before it is stored, or ''.
-- nhs_number_missing holds why it is missing ('not_known' or 'withheld'), or ''.

ALTER TABLE family_members ADD COLUMN nhs_number TEXT NOT NULL DEFAULT '';
ALTER TABLE family_members ADD COLUMN nhs_number_missing TEXT NOT NULL DEFAULT '';
ALTER TABLE request_members ADD COLUMN nhs_number TEXT NOT NULL DEFAULT '';
ALTER TABLE request_members ADD COLUMN nhs_number_missing TEXT NOT NULL DEFAULT '';
CREATE INDEX family_members_nhs_number ON family_members (nhs_number);

-- A decision not to share information about a family: what, with whom, why, who decided and
-- when. Read by the information governance officer across localities; deleted with the
-- family's personal data by the retention command.
CREATE TABLE not_shared (
    id BLOB PRIMARY KEY,
    family_id BLOB NOT NULL REFERENCES families (id),
    information TEXT NOT NULL,
    withheld_from TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    recorded_by BLOB NOT NULL REFERENCES users (id),
    recorded_by_name TEXT NOT NULL,
    decided_micros BIGINT NOT NULL
);
CREATE INDEX not_shared_family ON not_shared (family_id);
CREATE INDEX not_shared_decided ON not_shared (decided_micros);
