-- Connections: a referral from a family's case to a directory service, and every step of it.
-- What was shared is kept with the referral (the members chosen, their names and dates of
-- birth), so the service sees only those, and retention removes it with the case.
CREATE TABLE referrals (
    id BLOB PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    family_id BLOB NOT NULL REFERENCES families (id),
    service_id BLOB NOT NULL,
    service_name TEXT NOT NULL,
    receiving_organisation BLOB NOT NULL REFERENCES organisations (id),
    referrer_id BLOB NOT NULL REFERENCES users (id),
    referrer_name TEXT NOT NULL,
    locality_slug TEXT NOT NULL,
    why TEXT NOT NULL,
    contact_method TEXT NOT NULL,
    best_times TEXT NOT NULL,
    interpreter TEXT NOT NULL,
    basis TEXT NOT NULL,
    state TEXT NOT NULL,
    decline_reason TEXT,
    outcome TEXT,
    created_micros INTEGER NOT NULL,
    updated_micros INTEGER NOT NULL,
    first_response_micros INTEGER,
    -- Reminders sent to the service while it has not answered (after 3 days, after 10).
    nudges INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX referrals_family ON referrals (family_id);
CREATE INDEX referrals_inbox ON referrals (receiving_organisation, state, created_micros);
CREATE INDEX referrals_service ON referrals (service_id, created_micros);

CREATE TABLE referral_members (
    referral_id BLOB NOT NULL REFERENCES referrals (id),
    member_id BLOB NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    PRIMARY KEY (referral_id, member_id)
);

CREATE TABLE referral_events (
    referral_id BLOB NOT NULL REFERENCES referrals (id),
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    side TEXT NOT NULL,
    by_name TEXT NOT NULL,
    note TEXT NOT NULL,
    at_micros INTEGER NOT NULL,
    PRIMARY KEY (referral_id, seq)
);

-- Email waits here, written in the same transaction as the change it tells of, and a worker
-- drains it: a crash or a mail server outage loses nothing. The key is the message's
-- Message-ID, so a message retried after a crash mid-send is the same message. No personal
-- details go in an email: a reference number and a link.
CREATE TABLE outbox (
    id BLOB PRIMARY KEY,
    message_key TEXT NOT NULL UNIQUE,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    -- A path in earlyhelp the message points to; the worker puts the site's address before it.
    link TEXT NOT NULL,
    created_micros INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_micros INTEGER NOT NULL,
    claimed_until_micros INTEGER,
    sent_micros INTEGER,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (sent_micros, next_attempt_micros);

-- The conversation between the referrer and the service about one referral, seen by both and
-- by the family's team.
CREATE TABLE referral_messages (
    referral_id BLOB NOT NULL REFERENCES referrals (id),
    seq INTEGER NOT NULL,
    side TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    at_micros INTEGER NOT NULL,
    PRIMARY KEY (referral_id, seq)
);

-- How long a referral may wait for this organisation's answer before it expires; NULL for the
-- default (14 days). The organisation sets it from its inbox.
ALTER TABLE organisations ADD COLUMN referral_expiry_days INTEGER;
