-- The Family Help practice model (docs/family-help.md): a case's level and its lead child
-- protection practitioner, each step between levels with who decided and why, the family
-- network, and family group decision making.
-- The SQLite twin of this file is migrations/sqlite/0038_family_help.sql; keep them in step.

-- NULL until the case is first stepped: its level is then read from its level of need.
ALTER TABLE families ADD COLUMN help_level TEXT;
ALTER TABLE families ADD COLUMN lead_cp_practitioner UUID REFERENCES users (id);

CREATE TABLE level_steps (
    id UUID PRIMARY KEY,
    family_id UUID NOT NULL REFERENCES families (id),
    from_level TEXT NOT NULL,
    to_level TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by UUID NOT NULL REFERENCES users (id),
    -- "Name, Organisation" as it was when they decided.
    decided_by_name TEXT NOT NULL,
    -- At child protection: who was named lead child protection practitioner.
    lead_cp_name TEXT,
    at_micros BIGINT NOT NULL
);
CREATE INDEX level_steps_family ON level_steps (family_id, at_micros);

CREATE TABLE family_network (
    id UUID PRIMARY KEY,
    family_id UUID NOT NULL REFERENCES families (id),
    name TEXT NOT NULL,
    relationship TEXT NOT NULL,
    contact TEXT NOT NULL,
    in_plan BOOLEAN NOT NULL,
    added_micros BIGINT NOT NULL
);
CREATE INDEX family_network_family ON family_network (family_id, added_micros);

CREATE TABLE family_group_meetings (
    id UUID PRIMARY KEY,
    family_id UUID NOT NULL REFERENCES families (id),
    offered_on TEXT NOT NULL,
    -- yes, no (not yet) or declined
    uptake TEXT NOT NULL,
    declined_reason TEXT NOT NULL,
    meeting_on TEXT,
    -- The names of those from the family network who came, as they were that day.
    attendees TEXT NOT NULL,
    plan TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_micros BIGINT NOT NULL
);
CREATE INDEX family_group_meetings_family ON family_group_meetings (family_id, offered_on);
