-- Outcome measures an organisation configures (areas each scored 1 to 10), readings per
-- measure, and Supporting Families needs against the ten headline outcomes.
-- The PostgreSQL twin of this file is migrations/postgres/0009_measures.sql; keep them in step.

CREATE TABLE measures (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- The organisation that holds the measure's licence; none for our own built-in measure.
    organisation_id BLOB REFERENCES organisations (id),
    licence TEXT NOT NULL,
    created_micros BIGINT NOT NULL
);

CREATE TABLE measure_areas (
    measure_id BLOB NOT NULL REFERENCES measures (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (measure_id, position),
    UNIQUE (measure_id, name)
);

-- The built-in measure (its id is earlyhelp_domain::measures::DEFAULT_MEASURE_ID) in our own
-- words; every reading taken before measures were configurable was on it.
INSERT INTO measures (id, name, organisation_id, licence, created_micros)
VALUES (X'00000000000070008000000000000001', 'Family wellbeing', NULL,
        'earlyhelp''s own measure: no licence needed', 0);
INSERT INTO measure_areas (measure_id, position, name) VALUES
    (X'00000000000070008000000000000001', 1, 'Home and money'),
    (X'00000000000070008000000000000001', 2, 'Health and wellbeing'),
    (X'00000000000070008000000000000001', 3, 'Family relationships'),
    (X'00000000000070008000000000000001', 4, 'Children''s learning'),
    (X'00000000000070008000000000000001', 5, 'Feeling safe'),
    (X'00000000000070008000000000000001', 6, 'Friends and community');

-- Readings become per measure. SQLite cannot change a primary key in place: rebuild the table.
-- A reading written without a measure is on the built-in one, as every reading was before.
CREATE TABLE readings_by_measure (
    family_id BLOB NOT NULL REFERENCES families (id),
    measure_id BLOB NOT NULL DEFAULT (X'00000000000070008000000000000001') REFERENCES measures (id),
    taken_on TEXT NOT NULL,
    area TEXT NOT NULL,
    score BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (family_id, measure_id, taken_on, area)
);
INSERT INTO readings_by_measure (family_id, measure_id, taken_on, area, score, recorded_by)
SELECT family_id, X'00000000000070008000000000000001', taken_on, area, score, recorded_by
FROM readings;
DROP TABLE readings;
ALTER TABLE readings_by_measure RENAME TO readings;

-- A family's need against one headline outcome; achieved_on and evidence once it is met.
CREATE TABLE family_outcomes (
    family_id BLOB NOT NULL REFERENCES families (id),
    outcome TEXT NOT NULL,
    need TEXT NOT NULL,
    identified_on TEXT NOT NULL,
    evidence TEXT NOT NULL,
    achieved_on TEXT,
    recorded_by TEXT NOT NULL,
    updated_micros BIGINT NOT NULL,
    PRIMARY KEY (family_id, outcome)
);
