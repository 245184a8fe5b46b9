-- Outcome measures an organisation configures (areas each scored 1 to 10), readings per
-- measure, and Supporting Families needs against the ten headline outcomes.
-- The SQLite twin of this file is migrations/sqlite/0009_measures.sql; keep them in step.

CREATE TABLE measures (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- The organisation that holds the measure's licence; none for our own built-in measure.
    organisation_id UUID REFERENCES organisations (id),
    licence TEXT NOT NULL,
    created_micros BIGINT NOT NULL
);

CREATE TABLE measure_areas (
    measure_id UUID NOT NULL REFERENCES measures (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (measure_id, position),
    UNIQUE (measure_id, name)
);

-- The built-in measure (its id is earlyhelp_domain::measures::DEFAULT_MEASURE_ID) in our own
-- words; every reading taken before measures were configurable was on it.
INSERT INTO measures (id, name, organisation_id, licence, created_micros)
VALUES ('00000000-0000-7000-8000-000000000001', 'Family wellbeing', NULL,
        'earlyhelp''s own measure: no licence needed', 0);
INSERT INTO measure_areas (measure_id, position, name) VALUES
    ('00000000-0000-7000-8000-000000000001', 1, 'Home and money'),
    ('00000000-0000-7000-8000-000000000001', 2, 'Health and wellbeing'),
    ('00000000-0000-7000-8000-000000000001', 3, 'Family relationships'),
    ('00000000-0000-7000-8000-000000000001', 4, 'Children''s learning'),
    ('00000000-0000-7000-8000-000000000001', 5, 'Feeling safe'),
    ('00000000-0000-7000-8000-000000000001', 6, 'Friends and community');

-- Readings become per measure. A reading written without a measure is on the built-in one,
-- as every reading was before.
ALTER TABLE readings ADD COLUMN measure_id UUID NOT NULL
    DEFAULT '00000000-0000-7000-8000-000000000001' REFERENCES measures (id);
ALTER TABLE readings DROP CONSTRAINT readings_pkey;
ALTER TABLE readings ADD PRIMARY KEY (family_id, measure_id, taken_on, area);

-- A family's need against one headline outcome; achieved_on and evidence once it is met.
CREATE TABLE family_outcomes (
    family_id UUID NOT NULL REFERENCES families (id),
    outcome TEXT NOT NULL,
    need TEXT NOT NULL,
    identified_on TEXT NOT NULL,
    evidence TEXT NOT NULL,
    achieved_on TEXT,
    recorded_by TEXT NOT NULL,
    updated_micros BIGINT NOT NULL,
    PRIMARY KEY (family_id, outcome)
);
