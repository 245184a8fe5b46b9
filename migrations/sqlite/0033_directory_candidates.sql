-- The directory search's candidates: one narrow row per service and place (and one with no
-- place for a service without any), holding only what the search filters and ranks on, so a
-- search reads these rows and never the wide service rows. Services merged into another are
-- absent. Kept in step, in the same transaction, by every write to a service
-- (`directory::search::refresh_candidates`). `place_id` is the location's id, or the
-- service's own; `search_rowid` is the service's row in the text index `directory_search`, so
-- a text match is joined by rowid without reading the indexed text back.
CREATE TABLE directory_candidates (
    service_id BLOB NOT NULL REFERENCES directory_services (id) ON DELETE CASCADE,
    place_id BLOB NOT NULL,
    organization_id BLOB NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    review_by TEXT NOT NULL,
    minimum_age BIGINT,
    maximum_age BIGINT,
    free BOOLEAN NOT NULL,
    locality_slug TEXT,
    last_modified_micros BIGINT NOT NULL,
    latitude REAL,
    longitude REAL,
    search_rowid INTEGER,
    PRIMARY KEY (service_id, place_id)
) WITHOUT ROWID;
CREATE INDEX directory_candidates_search ON directory_candidates (search_rowid);
CREATE INDEX directory_candidates_place ON directory_candidates (latitude, longitude);

INSERT INTO directory_candidates
SELECT s.id, COALESCE(l.id, s.id), s.organization_id, s.name, s.status, s.review_by,
       s.minimum_age, s.maximum_age, s.free, s.locality_slug, s.last_modified_micros,
       l.geo_latitude, l.geo_longitude, d.search_rowid
FROM directory_services s
LEFT JOIN service_locations l ON l.service_id = s.id
LEFT JOIN (SELECT rowid AS search_rowid, service_id FROM directory_search) d ON d.service_id = s.id
WHERE s.merged_into IS NULL;
