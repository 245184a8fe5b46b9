-- A partner's request to join the team around a family, and the answer of its lead
-- practitioner (or the locality lead): accepted, or declined with a reason.
CREATE TABLE join_requests (
    id UUID PRIMARY KEY,
    family_id UUID NOT NULL REFERENCES families (id),
    requester_id UUID NOT NULL REFERENCES users (id),
    -- "Name, Organisation (email)" as it was when they asked.
    requester TEXT NOT NULL,
    reason TEXT NOT NULL,
    asked_micros BIGINT NOT NULL,
    -- pending, accepted or declined
    state TEXT NOT NULL,
    decided_by TEXT,
    decision_reason TEXT,
    decided_micros BIGINT
);
CREATE INDEX join_requests_family ON join_requests (family_id, state);
CREATE INDEX join_requests_pending ON join_requests (state, asked_micros);

-- What someone is told on their home page until they mark it read: a break-glass access to a
-- family they lead, the answer to their request to join. Emailed too, through the outbox.
CREATE TABLE notices (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id),
    family_id UUID REFERENCES families (id),
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    created_micros BIGINT NOT NULL,
    seen_micros BIGINT
);
CREATE INDEX notices_user ON notices (user_id, seen_micros, created_micros);

-- The information governance officer's verdict on a break-glass access: justified or
-- not_justified, beside the note.
ALTER TABLE break_glass ADD COLUMN review_verdict TEXT;
