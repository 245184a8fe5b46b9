-- Community grants: a programme of kind 'community_grants' takes applications from community
-- organisations (no sign-in), which at least two assessors score against the programme's
-- criteria (a conflicted assessor is kept out), and a decision awards or declines with reasons.
-- An award is paid in tranches and reported on in monitoring returns. Amounts in whole pence.

-- 360Giving names the funder by an organisation identifier (Birmingham City Council's by default).
ALTER TABLE programmes ADD COLUMN funder_identifier TEXT NOT NULL DEFAULT 'GB-LAE-BIR';
ALTER TABLE programmes ADD COLUMN eligibility TEXT NOT NULL DEFAULT '';

CREATE TABLE programme_criteria (
    programme_id BLOB NOT NULL REFERENCES programmes (id),
    position BIGINT NOT NULL,
    criterion TEXT NOT NULL,
    PRIMARY KEY (programme_id, position)
);

CREATE TABLE grant_applications (
    id BLOB PRIMARY KEY,
    reference TEXT NOT NULL UNIQUE,
    programme_id BLOB NOT NULL REFERENCES programmes (id),
    -- charity | company | cic | unregistered
    organisation_type TEXT NOT NULL,
    organisation_name TEXT NOT NULL,
    charity_number TEXT,
    company_number TEXT,
    -- GB-CHC-…, GB-COH-…, or 360G-… for a group without a register number.
    organisation_identifier TEXT NOT NULL,
    contact_name TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    locality_slug TEXT NOT NULL REFERENCES localities (slug),
    -- Where the beneficiaries live: an LSOA or ward code, and which (360Giving geoCodeType).
    beneficiary_area TEXT NOT NULL,
    beneficiary_area_type TEXT NOT NULL,
    title TEXT NOT NULL,
    activity TEXT NOT NULL,
    families BIGINT NOT NULL,
    amount_pence BIGINT NOT NULL,
    charter BOOLEAN NOT NULL,
    -- submitted | awarded | declined | withdrawn
    state TEXT NOT NULL,
    submitted_micros BIGINT NOT NULL,
    decided_by BLOB REFERENCES users (id),
    decider_name TEXT,
    decided_micros BIGINT,
    decision_reasons TEXT,
    award_pence BIGINT,
    award_date TEXT,
    planned_start TEXT,
    planned_end TEXT,
    -- The directory listing made from a funded application.
    service_id BLOB
);
CREATE INDEX grant_applications_programme ON grant_applications (programme_id, state);

CREATE TABLE grant_conflicts (
    application_id BLOB NOT NULL REFERENCES grant_applications (id),
    assessor_id BLOB NOT NULL REFERENCES users (id),
    reason TEXT NOT NULL,
    declared_micros BIGINT NOT NULL,
    PRIMARY KEY (application_id, assessor_id)
);

CREATE TABLE grant_scores (
    application_id BLOB NOT NULL REFERENCES grant_applications (id),
    assessor_id BLOB NOT NULL REFERENCES users (id),
    assessor_name TEXT NOT NULL,
    position BIGINT NOT NULL,
    score BIGINT NOT NULL,
    comment TEXT NOT NULL,
    scored_micros BIGINT NOT NULL,
    PRIMARY KEY (application_id, assessor_id, position)
);

CREATE TABLE grant_tranches (
    application_id BLOB NOT NULL REFERENCES grant_applications (id),
    number BIGINT NOT NULL,
    amount_pence BIGINT NOT NULL,
    due_on TEXT NOT NULL,
    paid_on TEXT,
    PRIMARY KEY (application_id, number)
);

CREATE TABLE grant_returns (
    id BLOB PRIMARY KEY,
    application_id BLOB NOT NULL REFERENCES grant_applications (id),
    period_end TEXT NOT NULL,
    families_supported BIGINT NOT NULL,
    sessions BIGINT NOT NULL,
    packs BIGINT NOT NULL,
    case_study TEXT NOT NULL,
    case_study_consent BOOLEAN NOT NULL,
    submitted_micros BIGINT NOT NULL
);
CREATE INDEX grant_returns_application ON grant_returns (application_id, period_end);
