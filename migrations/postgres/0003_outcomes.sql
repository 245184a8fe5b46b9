-- Outcomes framework: the nine outcomes, their indicators, monthly values by area with optional
-- breakdowns (every revision kept, so a corrected month shows as a correction), annotations on
-- points, and uploaded CSV files held for preview before they are committed.
-- The SQLite twin of this file is migrations/sqlite/0003_outcomes.sql; keep them in step.

CREATE TABLE outcomes (
    number INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE indicators (
    reference TEXT PRIMARY KEY,
    outcome_number INTEGER NOT NULL REFERENCES outcomes (number),
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    better TEXT NOT NULL CHECK (better IN ('higher', 'lower', 'neither')),
    data_owner TEXT NOT NULL,
    frequency TEXT NOT NULL DEFAULT 'monthly',
    source TEXT NOT NULL DEFAULT 'uploaded' CHECK (source IN ('uploaded', 'computed')),
    target DOUBLE PRECISION,
    -- Values under this are suppressed wherever they are shown by area or group, because they
    -- count people; NULL when the values are not counts of people.
    small_number_threshold INTEGER,
    public BOOLEAN NOT NULL DEFAULT TRUE
);

-- Uploaded files, kept server-side between the preview and the commit, and afterwards as the
-- record of where each value came from.
CREATE TABLE indicator_uploads (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    filename TEXT NOT NULL,
    content TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('previewed', 'committed')),
    uploaded_micros BIGINT NOT NULL,
    committed_micros BIGINT
);

-- area is 'city' or a locality slug; dimension and grp are '' for everyone, otherwise a
-- breakdown such as ('ethnicity', 'asian'). Only one revision of a value is current.
CREATE TABLE indicator_values (
    indicator_ref TEXT NOT NULL REFERENCES indicators (reference),
    period TEXT NOT NULL,
    area TEXT NOT NULL,
    dimension TEXT NOT NULL DEFAULT '',
    grp TEXT NOT NULL DEFAULT '',
    revision INTEGER NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    denominator DOUBLE PRECISION,
    current BOOLEAN NOT NULL,
    upload_id UUID REFERENCES indicator_uploads (id),
    loaded_by TEXT NOT NULL,
    loaded_micros BIGINT NOT NULL,
    PRIMARY KEY (indicator_ref, period, area, dimension, grp, revision)
);
CREATE INDEX indicator_values_current ON indicator_values (current, area, dimension, indicator_ref, period);

CREATE TABLE indicator_annotations (
    id UUID PRIMARY KEY,
    indicator_ref TEXT NOT NULL REFERENCES indicators (reference),
    period TEXT NOT NULL,
    area TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_micros BIGINT NOT NULL
);
CREATE INDEX indicator_annotations_ref ON indicator_annotations (indicator_ref, period);
