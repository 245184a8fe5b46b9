-- The young people's section of the Local Offer (issue 17, item 4). The twin of this file is
-- migrations/sqlite/0035_listing_reviews.sql.
--
-- Reviews of a listing by young people: a rating and a few words, no name, account or address,
-- the day only; each waits for the listing's community connector before it shows.
CREATE TABLE listing_reviews (
    id UUID PRIMARY KEY,
    service_id UUID NOT NULL REFERENCES directory_services (id),
    rating BIGINT NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body TEXT NOT NULL,
    -- Likely personal details found on arrival, in words, separated by '; '.
    flags TEXT NOT NULL,
    written_on TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'approved', 'rejected')),
    moderated_by TEXT,
    moderated_micros BIGINT
);
CREATE INDEX listing_reviews_service ON listing_reviews (service_id, state);
CREATE INDEX listing_reviews_state ON listing_reviews (state);

-- A survey for young people is also listed in their section of the Local Offer.
ALTER TABLE surveys ADD COLUMN for_young_people BOOLEAN NOT NULL DEFAULT FALSE;
