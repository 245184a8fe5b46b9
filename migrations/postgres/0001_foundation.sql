-- Foundation: localities, organisations, people who sign in, sessions, tokens, the audit log.
-- The SQLite twin of this file is migrations/sqlite/0001_foundation.sql; keep them in step.

CREATE TABLE localities (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    profile TEXT NOT NULL DEFAULT ''
);

CREATE TABLE organisations (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    charity_number TEXT,
    company_number TEXT,
    locality_slug TEXT REFERENCES localities (slug),
    leads_locality BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    organisation_id UUID NOT NULL REFERENCES organisations (id),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE user_roles (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE user_localities (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    locality_slug TEXT NOT NULL REFERENCES localities (slug),
    PRIMARY KEY (user_id, locality_slug)
);

-- Failed sign-ins by email, known or not, so lockout never tells which emails exist.
CREATE TABLE sign_in_failures (
    email TEXT NOT NULL,
    at_micros BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures (email, at_micros);

-- Only a hash of each session and API token is stored: a copy of the database signs nobody in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_micros BIGINT NOT NULL,
    last_seen_micros BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_micros BIGINT NOT NULL
);

CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY,
    at_micros BIGINT NOT NULL,
    actor TEXT NOT NULL,
    actor_organisation TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    subject TEXT NOT NULL,
    action TEXT NOT NULL,
    purpose TEXT NOT NULL,
    outcome TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

-- Append-only: the database itself refuses changes to what has been written.
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
