-- Cohorts and outreach (issue 14): a finished matching run's list grouped by household, each
-- household placed in its locality by postcode and marked open, waiting, known or not known to
-- earlyhelp; outreach turns the households not already open into requests for support. A
-- cohort is deleted with its list at the list's delete-by date (`earlyhelp retention apply`).
-- The SQLite twin is migrations/sqlite/0040_cohorts.sql.

CREATE TABLE cohorts (
    id UUID PRIMARY KEY,
    run_id UUID NOT NULL REFERENCES match_runs (id) ON DELETE CASCADE,
    list_id UUID NOT NULL REFERENCES match_lists (id) ON DELETE CASCADE,
    name TEXT NOT NULL UNIQUE,
    -- The list's source, copied: outreach is deduplicated across cohorts of one source.
    source TEXT NOT NULL,
    -- 'household_column' (the list's own household id) or 'address' (address and postcode).
    grouped_by TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_micros BIGINT NOT NULL
);
CREATE INDEX cohorts_list ON cohorts (list_id);

-- One household of a cohort. `reference` numbers it within the cohort in a random order (the
-- analyst sees only H-0001 and the like, which the list's order does not give away).
CREATE TABLE cohort_households (
    id UUID PRIMARY KEY,
    cohort_id UUID NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    reference BIGINT NOT NULL,
    -- The household id, or the normalised address and postcode, from the list.
    household_key TEXT NOT NULL,
    -- NULL: the postcode is not in the city ("not placed").
    locality_slug TEXT,
    postcode TEXT NOT NULL,
    address TEXT NOT NULL,
    people BIGINT NOT NULL,
    -- 'open', 'waiting', 'known' or 'not_known'.
    status TEXT NOT NULL,
    known_to TEXT NOT NULL DEFAULT '',
    -- The outreach request made for it (or made earlier from another cohort of the source).
    request_id UUID,
    UNIQUE (cohort_id, reference)
);
CREATE INDEX cohort_households_cohort ON cohort_households (cohort_id, locality_slug);
CREATE INDEX cohort_households_key ON cohort_households (household_key);

-- A person of a household, as the list gives them.
CREATE TABLE cohort_people (
    household_id UUID NOT NULL REFERENCES cohort_households (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    -- ISO 8601 when the list's date could be read, else as written.
    date_of_birth TEXT NOT NULL,
    PRIMARY KEY (household_id, position)
);
