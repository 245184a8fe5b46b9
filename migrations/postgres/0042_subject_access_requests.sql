-- The register of subject access requests received (issue 16, item 1): when each came in, when
-- the response is due (one calendar month, or three when extended for a complex request) and
-- when it was sent, so the information governance officer sees the days left of each. The
-- person's record itself is found and produced from /governance as before. The twin of this
-- file is migrations/sqlite/0042_subject_access_requests.sql. Dates are ISO 8601 text.
CREATE TABLE subject_access_requests (
    id UUID PRIMARY KEY,
    -- Who asked, as they gave their name (the requester or someone acting for them).
    requester TEXT NOT NULL,
    received_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    extension_reason TEXT,
    completed_on TEXT,
    recorded_by TEXT NOT NULL,
    recorded_micros BIGINT NOT NULL
);
CREATE INDEX subject_access_requests_open ON subject_access_requests (completed_on, due_on);
