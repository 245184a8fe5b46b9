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
    first_response_micros INTEGER
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
