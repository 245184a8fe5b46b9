-- Requests for support, family cases, their teams, notes, plans, readings and consent.
-- The PostgreSQL twin of this file is migrations/postgres/0004_cases.sql; keep them in step.
-- Dates (of birth, of consent, of review) are ISO 8601 text; instants are microseconds.

CREATE TABLE families (
    id BLOB PRIMARY KEY,
    locality_slug TEXT NOT NULL REFERENCES localities (slug),
    address TEXT NOT NULL,
    postcode TEXT NOT NULL,
    need_level TEXT NOT NULL,
    state TEXT NOT NULL,
    lead_practitioner BLOB REFERENCES users (id),
    review_date TEXT,
    closure_reason TEXT,
    consent_withdrawn BOOLEAN NOT NULL DEFAULT FALSE,
    created_micros BIGINT NOT NULL,
    updated_micros BIGINT NOT NULL
);
CREATE INDEX families_locality ON families (locality_slug, state);
CREATE INDEX families_lead ON families (lead_practitioner);

CREATE TABLE family_members (
    id BLOB PRIMARY KEY,
    family_id BLOB NOT NULL REFERENCES families (id),
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    relationship TEXT NOT NULL
);
CREATE INDEX family_members_family ON family_members (family_id);
CREATE INDEX family_members_match ON family_members (date_of_birth);

CREATE TABLE family_team (
    family_id BLOB NOT NULL REFERENCES families (id),
    user_id BLOB NOT NULL REFERENCES users (id),
    added_micros BIGINT NOT NULL,
    PRIMARY KEY (family_id, user_id)
);
CREATE INDEX family_team_user ON family_team (user_id);

CREATE TABLE support_requests (
    id BLOB PRIMARY KEY,
    locality_slug TEXT NOT NULL REFERENCES localities (slug),
    address TEXT NOT NULL,
    postcode TEXT NOT NULL,
    reasons TEXT NOT NULL,
    need_level TEXT NOT NULL,
    summary TEXT NOT NULL,
    consent_given_by TEXT NOT NULL,
    consent_method TEXT NOT NULL,
    consent_date TEXT NOT NULL,
    requested_by BLOB REFERENCES users (id),
    requester TEXT NOT NULL,
    contact TEXT NOT NULL,
    self_referral BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    triage_note TEXT NOT NULL DEFAULT '',
    triaged_by BLOB REFERENCES users (id),
    triaged_micros BIGINT,
    family_id BLOB REFERENCES families (id),
    created_micros BIGINT NOT NULL
);
CREATE INDEX support_requests_queue ON support_requests (locality_slug, status, created_micros);

CREATE TABLE request_members (
    request_id BLOB NOT NULL REFERENCES support_requests (id),
    position BIGINT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    relationship TEXT NOT NULL,
    PRIMARY KEY (request_id, position)
);

CREATE TABLE family_notes (
    id BLOB PRIMARY KEY,
    family_id BLOB NOT NULL REFERENCES families (id),
    author TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    at_micros BIGINT NOT NULL
);
CREATE INDEX family_notes_family ON family_notes (family_id, at_micros);

CREATE TABLE plan_actions (
    id BLOB PRIMARY KEY,
    family_id BLOB NOT NULL REFERENCES families (id),
    goal TEXT NOT NULL,
    action TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_date TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    created_micros BIGINT NOT NULL
);
CREATE INDEX plan_actions_family ON plan_actions (family_id, due_date);

CREATE TABLE readings (
    family_id BLOB NOT NULL REFERENCES families (id),
    taken_on TEXT NOT NULL,
    area TEXT NOT NULL,
    score BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (family_id, taken_on, area)
);

CREATE TABLE consents (
    id BLOB PRIMARY KEY,
    family_id BLOB NOT NULL REFERENCES families (id),
    given_by TEXT NOT NULL,
    method TEXT NOT NULL,
    given_on TEXT NOT NULL,
    scope TEXT NOT NULL,
    withdrawn_on TEXT,
    recorded_micros BIGINT NOT NULL
);
CREATE INDEX consents_family ON consents (family_id);
