-- Proposals to the directory: a change may now propose a new listing (its service does not
-- exist until approved, so the change no longer references directory_services), and every
-- change names its locality (who approves it) and, when rejected, the reason the proposer sees.
ALTER TABLE directory_changes DROP CONSTRAINT directory_changes_service_id_fkey;
ALTER TABLE directory_changes ADD COLUMN locality_slug TEXT;
ALTER TABLE directory_changes ADD COLUMN listing_name TEXT NOT NULL DEFAULT '';
ALTER TABLE directory_changes ADD COLUMN reason TEXT NOT NULL DEFAULT '';
UPDATE directory_changes c SET locality_slug = s.locality_slug, listing_name = s.name
FROM directory_services s WHERE s.id = c.service_id;
CREATE INDEX directory_changes_locality ON directory_changes (locality_slug, status, at_micros);

-- Words that mean the same to someone searching ("foodbank" and "food bank"), kept by the
-- community connectors: each row a group of phrases, separated by commas. A listing's search
-- text carries every phrase of a group any of whose phrases it contains.
CREATE TABLE search_synonyms (
    id UUID PRIMARY KEY,
    phrases TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_micros BIGINT NOT NULL
);
INSERT INTO search_synonyms (id, phrases, changed_by, changed_micros) VALUES
    ('7b7b84737545547e92d266a3192347d6', 'foodbank, food bank', 'earlyhelp', 0),
    ('49b9c2d0d2e652d08484e90fd41eff39', 'baby bank, babybank', 'earlyhelp', 0),
    ('8a3c8eff06035aaba6db835cd3e33713', 'school uniform, uniform, school clothes', 'earlyhelp', 0),
    ('0e875daac76159d4ba42098978ac1a46', 'counselling, counseling, talking therapy', 'earlyhelp', 0),
    ('d222c44da98b5334bacbed2ec22b2e06', 'domestic abuse, domestic violence', 'earlyhelp', 0),
    ('29c0a5ce9cfd58378ad27d082f28bcb7', 'esol, english classes', 'earlyhelp', 0);
