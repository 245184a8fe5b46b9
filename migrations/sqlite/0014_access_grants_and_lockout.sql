-- Two people to grant access: every role (in a locality, or none) someone is given is a grant
-- that takes effect only once a second person approves it; user_roles and user_localities hold
-- what is in effect. The operator's grants (the command line, the demo) are approved at once,
-- with no requester or decider. Accounts made before this migration have no grant rows.
-- The PostgreSQL twin is migrations/postgres/0014_access_grants_and_lockout.sql.
CREATE TABLE access_grants (
    id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    locality_slug TEXT REFERENCES localities (slug),
    requested_by BLOB REFERENCES users (id),
    requested_micros BIGINT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('pending', 'approved', 'refused')),
    decided_by BLOB REFERENCES users (id),
    decided_micros BIGINT
);
CREATE INDEX access_grants_by_time ON access_grants (requested_micros);
CREATE INDEX access_grants_user ON access_grants (user_id);

-- Sign-in attempts per email in the current lockout window, counted in one statement before
-- the password is checked, so parallel guesses cannot all be checked.
CREATE TABLE sign_in_attempts (
    email TEXT PRIMARY KEY,
    window_start_micros BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
