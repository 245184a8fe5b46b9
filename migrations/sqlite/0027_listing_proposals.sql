-- Proposals to the directory: a change may now propose a new listing (its service does not
-- exist until approved, so the change no longer references directory_services), and every
-- change names its locality (who approves it) and, when rejected, the reason the proposer sees.
CREATE TABLE directory_changes_new (
    id BLOB PRIMARY KEY,
    -- The listing changed, or for a new listing the id it will have once approved.
    service_id BLOB NOT NULL,
    at_micros BIGINT NOT NULL,
    actor TEXT NOT NULL,
    actor_organisation TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    proposed TEXT NOT NULL DEFAULT '{}',
    decided_by TEXT,
    decided_micros BIGINT,
    locality_slug TEXT,
    listing_name TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
INSERT INTO directory_changes_new (id, service_id, at_micros, actor, actor_organisation, kind,
    status, summary, proposed, decided_by, decided_micros, locality_slug, listing_name)
SELECT c.id, c.service_id, c.at_micros, c.actor, c.actor_organisation, c.kind, c.status,
    c.summary, c.proposed, c.decided_by, c.decided_micros, s.locality_slug, s.name
FROM directory_changes c JOIN directory_services s ON s.id = c.service_id;
DROP TABLE directory_changes;
ALTER TABLE directory_changes_new RENAME TO directory_changes;
CREATE INDEX directory_changes_service ON directory_changes (service_id, at_micros);
CREATE INDEX directory_changes_status ON directory_changes (status, at_micros);
CREATE INDEX directory_changes_locality ON directory_changes (locality_slug, status, at_micros);

-- Words that mean the same to someone searching ("foodbank" and "food bank"), kept by the
-- community connectors: each row a group of phrases, separated by commas. A listing's search
-- text carries every phrase of a group any of whose phrases it contains.
CREATE TABLE search_synonyms (
    id BLOB PRIMARY KEY,
    phrases TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_micros BIGINT NOT NULL
);
INSERT INTO search_synonyms (id, phrases, changed_by, changed_micros) VALUES
    (X'7b7b84737545547e92d266a3192347d6', 'foodbank, food bank', 'earlyhelp', 0),
    (X'49b9c2d0d2e652d08484e90fd41eff39', 'baby bank, babybank', 'earlyhelp', 0),
    (X'8a3c8eff06035aaba6db835cd3e33713', 'school uniform, uniform, school clothes', 'earlyhelp', 0),
    (X'0e875daac76159d4ba42098978ac1a46', 'counselling, counseling, talking therapy', 'earlyhelp', 0),
    (X'd222c44da98b5334bacbed2ec22b2e06', 'domestic abuse, domestic violence', 'earlyhelp', 0),
    (X'29c0a5ce9cfd58378ad27d082f28bcb7', 'esol, english classes', 'earlyhelp', 0);
