-- The directory search's candidates: one narrow row per service and place (and one with no
-- place for a service without any), holding only what the search filters and ranks on, so a
-- search reads these rows and never the wide service rows. Services merged into another are
-- absent. Kept in step, in the same transaction, by every write to a service
-- (`directory::search::refresh_candidates`). `place_id` is the location's id, or the
-- service's own; `search_vector` is a copy of the service's text vector.
CREATE TABLE directory_candidates (
    service_id UUID NOT NULL REFERENCES directory_services (id) ON DELETE CASCADE,
    place_id UUID NOT NULL,
    organization_id UUID NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    review_by DATE NOT NULL,
    minimum_age BIGINT,
    maximum_age BIGINT,
    free BOOLEAN NOT NULL,
    locality_slug TEXT,
    last_modified_micros BIGINT NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    search_vector TSVECTOR NOT NULL DEFAULT ''::tsvector,
    PRIMARY KEY (service_id, place_id)
);
CREATE INDEX directory_candidates_search ON directory_candidates USING GIN (search_vector);
CREATE INDEX directory_candidates_place ON directory_candidates (latitude, longitude);

INSERT INTO directory_candidates
SELECT s.id, COALESCE(l.id, s.id), s.organization_id, s.name, s.status, s.review_by,
       s.minimum_age, s.maximum_age, s.free, s.locality_slug, s.last_modified_micros,
       l.geo_latitude, l.geo_longitude, s.search_vector
FROM directory_services s LEFT JOIN service_locations l ON l.service_id = s.id
WHERE s.merged_into IS NULL;
