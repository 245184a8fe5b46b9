-- Matching in the product (issue 14): agencies' lists uploaded by data analysts with the
-- governance of the share, runs of the linkage engine as jobs claimed on a lease, their
-- results, and clerical review decisions kept for the next run on the same source. Uploaded
-- rows and results live here (not in files) so the retention command deletes them at the
-- list's delete-by date. The SQLite twin is migrations/sqlite/0037_matching.sql.
-- Dates are ISO 8601 text; instants are microseconds.

CREATE TABLE match_lists (
    id UUID PRIMARY KEY,
    source TEXT NOT NULL,
    filename TEXT NOT NULL,
    purpose TEXT NOT NULL,
    article6 TEXT NOT NULL,
    article9 TEXT,
    dpia_reference TEXT NOT NULL,
    delete_by TEXT NOT NULL,
    -- JSON arrays, one entry a column: the header, and its role ('id', a field kind or '').
    headers TEXT NOT NULL,
    roles TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_micros BIGINT NOT NULL
);
CREATE INDEX match_lists_delete_by ON match_lists (delete_by);

-- One uploaded record: its cells as a JSON array of text, in the header's order.
CREATE TABLE match_list_rows (
    list_id UUID NOT NULL REFERENCES match_lists (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    cells TEXT NOT NULL,
    PRIMARY KEY (list_id, position)
);

-- A run: queued, running (claimed by a server until its lease runs out), done or failed.
CREATE TABLE match_runs (
    id UUID PRIMARY KEY,
    list_id UUID NOT NULL REFERENCES match_lists (id) ON DELETE CASCADE,
    -- The second list, or NULL to match against earlyhelp's own people.
    against_list UUID REFERENCES match_lists (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    stage TEXT NOT NULL,
    percent BIGINT NOT NULL,
    claimed_by TEXT,
    lease_until_micros BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    problem TEXT,
    report TEXT,
    requested_by TEXT NOT NULL,
    created_micros BIGINT NOT NULL,
    finished_micros BIGINT
);
CREATE INDEX match_runs_due ON match_runs (state, created_micros);
CREATE INDEX match_runs_list ON match_runs (list_id);
CREATE INDEX match_runs_against ON match_runs (against_list);

-- A pair the engine found: 'match', 'possible' (for review), or decided in an earlier run
-- ('accepted', 'rejected'). `explanation` is the engine's weight of each field, as JSON.
CREATE TABLE match_results (
    -- The pair's own id: the review form posts it, and the server resolves the pair.
    id UUID NOT NULL UNIQUE,
    run_id UUID NOT NULL REFERENCES match_runs (id) ON DELETE CASCADE,
    left_id TEXT NOT NULL,
    right_key TEXT NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    explanation TEXT NOT NULL,
    -- The status came from a decision taken in an earlier run on the same source.
    reused BOOLEAN NOT NULL DEFAULT FALSE,
    -- earlyhelp's person masked (initials, year of birth, postcode district); empty for
    -- another list's record. The explanation holds no value of earlyhelp's people.
    other_masked TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, left_id, right_key)
);
CREATE INDEX match_results_status ON match_results (run_id, status);

-- A reviewer's decision on a pair, by the list's source: asked once, reused by later runs.
-- Ids only (the agency's record id and earlyhelp's person key), no names.
CREATE TABLE match_decisions (
    source TEXT NOT NULL,
    left_id TEXT NOT NULL,
    right_key TEXT NOT NULL,
    decision TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_micros BIGINT NOT NULL,
    PRIMARY KEY (source, left_id, right_key)
);
