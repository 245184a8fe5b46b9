-- Participatory budgeting for community grants (issue 17, item 5). The twin of this file is
-- migrations/postgres/0034_budgeting.sql. Design and limits: docs/budgeting.md.
--
-- Who voted (budgeting_voters: a hash of their email address or of their event code) is kept
-- apart from what they voted for (budgeting_ballots): no column, time or order joins the two.
-- A ballot waits in budgeting_ballot_box, in the voter's transaction, until voting has closed;
-- then every ballot is moved to budgeting_ballots in one shuffled batch, in one transaction
-- that also rewrites every voter mark and code of the round (see docs/budgeting.md).

CREATE TABLE budgeting_rounds (
    id BLOB PRIMARY KEY,
    programme_id BLOB NOT NULL REFERENCES programmes (id),
    locality_slug TEXT NOT NULL REFERENCES localities (slug),
    title TEXT NOT NULL,
    opens_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    -- The panel's share of the combined score, in percent; the public vote has the rest.
    panel_weight BIGINT NOT NULL CHECK (panel_weight BETWEEN 0 AND 100),
    -- How many projects each voter may choose.
    choices BIGINT NOT NULL CHECK (choices >= 1),
    created_by TEXT NOT NULL,
    created_micros BIGINT NOT NULL,
    -- Codes issued, by email and printed; kept as counts because a new emailed code replaces
    -- the address's old one.
    codes_emailed BIGINT NOT NULL DEFAULT 0,
    codes_printed BIGINT NOT NULL DEFAULT 0,
    -- Set once, by the transaction that mixes the ballot box into the count after voting
    -- closes; no ballot is taken after it.
    counted BOOLEAN NOT NULL DEFAULT FALSE
);

-- The shortlisted applications put to the vote.
CREATE TABLE budgeting_options (
    round_id BLOB NOT NULL REFERENCES budgeting_rounds (id),
    application_id BLOB NOT NULL REFERENCES grant_applications (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (round_id, application_id)
);

-- One-time codes: SHA-256 of the round and the code, never the code. An email code carries
-- the hash of the address it was sent to (voter_hash); an event code is its own voter.
CREATE TABLE budgeting_codes (
    round_id BLOB NOT NULL REFERENCES budgeting_rounds (id),
    code_hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'event')),
    voter_hash TEXT NOT NULL,
    used BOOLEAN NOT NULL,
    PRIMARY KEY (round_id, code_hash)
) WITHOUT ROWID;

-- Who has voted, one row per verified person per round, and no time.
CREATE TABLE budgeting_voters (
    round_id BLOB NOT NULL REFERENCES budgeting_rounds (id),
    voter_hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'event')),
    PRIMARY KEY (round_id, voter_hash)
) WITHOUT ROWID;

-- Ballots cast but not yet mixed into the count: the projects chosen, ids separated by commas.
CREATE TABLE budgeting_ballot_box (
    id BLOB PRIMARY KEY,
    round_id BLOB NOT NULL REFERENCES budgeting_rounds (id),
    choices TEXT NOT NULL
) WITHOUT ROWID;

-- Counted ballots: a random id (the voter's receipt) and the round, nothing else.
CREATE TABLE budgeting_ballots (
    id BLOB PRIMARY KEY,
    round_id BLOB NOT NULL REFERENCES budgeting_rounds (id)
) WITHOUT ROWID;
CREATE INDEX budgeting_ballots_round ON budgeting_ballots (round_id);

CREATE TABLE budgeting_ballot_choices (
    ballot_id BLOB NOT NULL REFERENCES budgeting_ballots (id),
    application_id BLOB NOT NULL REFERENCES grant_applications (id),
    PRIMARY KEY (ballot_id, application_id)
) WITHOUT ROWID;
