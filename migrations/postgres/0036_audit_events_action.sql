-- The audit log filtered by action alone ("every sign-in") reads one index range, newest first.
CREATE INDEX audit_events_action ON audit_events (action, seq);
