-- Connections: a referral from a family's case to a directory service, and every step of it.
-- What was shared is kept with the referral (the members chosen, their names and dates of
-- birth), so the service sees only those, and retention removes it with the case.
CREATE TABLE referrals (
    id UUID PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    family_id UUID NOT NULL REFERENCES families (id),
    service_id UUID NOT NULL,
    service_name TEXT NOT NULL,
    receiving_organisation UUID NOT NULL REFERENCES organisations (id),
    referrer_id UUID NOT NULL REFERENCES users (id),
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
    created_micros BIGINT NOT NULL,
    updated_micros BIGINT NOT NULL,
    first_response_micros BIGINT
);
CREATE INDEX referrals_family ON referrals (family_id);
CREATE INDEX referrals_inbox ON referrals (receiving_organisation, state, created_micros);
CREATE INDEX referrals_service ON referrals (service_id, created_micros);

CREATE TABLE referral_members (
    referral_id UUID NOT NULL REFERENCES referrals (id),
    member_id UUID NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    PRIMARY KEY (referral_id, member_id)
);

CREATE TABLE referral_events (
    referral_id UUID NOT NULL REFERENCES referrals (id),
    seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    side TEXT NOT NULL,
    by_name TEXT NOT NULL,
    note TEXT NOT NULL,
    at_micros BIGINT NOT NULL,
    PRIMARY KEY (referral_id, seq)
);
