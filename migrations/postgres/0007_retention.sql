-- Retention: legal holds that stop a record being anonymised, and the records already
-- anonymised under the schedule. The SQLite twin of this file is
-- migrations/sqlite/0007_retention.sql; keep them in step.
-- A record is named by kind ('family' or 'request') and its id; instants are microseconds.

CREATE TABLE legal_holds (
    id UUID PRIMARY KEY,
    record_kind TEXT NOT NULL,
    record_id UUID NOT NULL,
    reason TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_micros BIGINT NOT NULL,
    lifted_by TEXT,
    lift_reason TEXT,
    lifted_micros BIGINT
);
CREATE INDEX legal_holds_record ON legal_holds (record_kind, record_id);

CREATE TABLE anonymisations (
    record_kind TEXT NOT NULL,
    record_id UUID NOT NULL,
    rule TEXT NOT NULL,
    due_on TEXT NOT NULL,
    anonymised_micros BIGINT NOT NULL,
    PRIMARY KEY (record_kind, record_id)
);
