-- The audit log filtered by action alone ("every sign-in") reads one index range, newest first.
CREATE INDEX audit_events_action ON audit_events (action, seq);
-- Filtered by outcome alone ("every refusal"), likewise.
CREATE INDEX audit_events_outcome ON audit_events (outcome, seq);
-- A date filter becomes a range of sequence numbers: the first event at or after a midnight.
CREATE INDEX audit_events_at ON audit_events (at_micros, seq);
-- "Requests I sent", by status, from the sender's own index.
CREATE INDEX support_requests_requested_by_status ON support_requests (requested_by, status);
-- A person's break-glass accesses still running.
CREATE INDEX break_glass_user_expires ON break_glass (user_id, expires_micros);
