-- A second factor (TOTP, RFC 6238) and its recovery codes; a session waits for the code.
ALTER TABLE sessions ADD COLUMN second_factor_pending BOOLEAN NOT NULL DEFAULT FALSE;

-- The shared secret (base32), unconfirmed until a first code proves it is in an app; the last
-- time step accepted, so a code is used once.
CREATE TABLE second_factors (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    confirmed_micros BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- Single-use recovery codes, stored as argon2 hashes as passwords are.
CREATE TABLE recovery_codes (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_micros BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
