-- Money: programmes that fund families (resilience payments) or community organisations, and
-- payments to families. Amounts are whole pence. A programme's committed spend, overall and in
-- each locality with a budget of its own, goes up in the same transaction as an approval, by
-- an UPDATE that holds only while it stays within the budget, so concurrent approvals never
-- overspend.
CREATE TABLE programmes (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    funder TEXT NOT NULL,
    budget_pence BIGINT NOT NULL,
    committed_pence BIGINT NOT NULL DEFAULT 0,
    opens_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    cap_pence BIGINT NOT NULL,
    approval_threshold_pence BIGINT NOT NULL,
    identifier_prefix TEXT NOT NULL,
    regrant_type TEXT,
    crisis BOOLEAN NOT NULL,
    created_micros BIGINT NOT NULL,
    CHECK (committed_pence <= budget_pence)
);

CREATE TABLE programme_budgets (
    programme_id UUID NOT NULL REFERENCES programmes (id),
    locality_slug TEXT NOT NULL REFERENCES localities (slug),
    budget_pence BIGINT NOT NULL,
    committed_pence BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (programme_id, locality_slug),
    CHECK (committed_pence <= budget_pence)
);

CREATE TABLE payments (
    id UUID PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    programme_id UUID NOT NULL REFERENCES programmes (id),
    family_id UUID NOT NULL REFERENCES families (id),
    locality_slug TEXT NOT NULL,
    amount_pence BIGINT NOT NULL,
    -- 360Giving grants-to-individuals purpose codes, comma-separated, and the reason code.
    purposes TEXT NOT NULL,
    reason TEXT NOT NULL,
    notes TEXT NOT NULL,
    crisis BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    requested_by UUID NOT NULL REFERENCES users (id),
    requester_name TEXT NOT NULL,
    requested_micros BIGINT NOT NULL,
    decided_by UUID REFERENCES users (id),
    decider_name TEXT,
    decided_micros BIGINT,
    refusal_reason TEXT,
    method TEXT,
    voucher_provider TEXT,
    voucher_code TEXT,
    paid_on TEXT,
    payer_name TEXT
);
CREATE INDEX payments_queue ON payments (state, crisis, requested_micros);
CREATE INDEX payments_family ON payments (family_id, requested_micros);
CREATE INDEX payments_programme ON payments (programme_id, state);

-- The duplicate check finds other households' recent payments by postcode and by name.
CREATE INDEX families_postcode ON families (postcode);
CREATE INDEX family_members_names ON family_members (family_name, given_name);
