-- Deprivation: the English Indices of Deprivation by LSOA, one edition or more (2019 on 2011
-- LSOAs, 2025 on 2021 LSOAs), loaded whole by `earlyhelp import imd` (or made up by the demo,
-- marked synthetic). The spend-against-need page sets each locality's share of spend beside
-- its share of the city's most deprived LSOAs (deciles 1 and 2).
CREATE TABLE imd_editions (
    edition BIGINT PRIMARY KEY,
    -- The file it came from, or what made it.
    source TEXT NOT NULL,
    -- Made up (the demo's): the page says so.
    synthetic BOOLEAN NOT NULL,
    loaded_micros BIGINT NOT NULL
);

CREATE TABLE imd (
    edition BIGINT NOT NULL REFERENCES imd_editions (edition),
    lsoa TEXT NOT NULL,
    -- 1 is the most deprived LSOA in England.
    imd_rank BIGINT NOT NULL,
    -- 1 is the most deprived tenth.
    decile BIGINT NOT NULL CHECK (decile BETWEEN 1 AND 10),
    PRIMARY KEY (edition, lsoa)
);

-- The page places the city's LSOAs (centre and locality) from their postcodes, and places a
-- payment by its family's postcode.
CREATE INDEX postcodes_lsoa ON postcodes (lsoa, locality_slug, latitude, longitude);

-- Payments to families approved or paid, counted by the LSOA of the family's postcode (NULL:
-- not in the postcode directory), for each programme and (programme_id NULL) for all together:
-- the page reads these few rows rather than every payment and its family. The background job
-- counts them again when payments, families or postcodes have changed, and at least hourly
-- (spend_places_refresh keeps what it saw), so the page is at most a refresh behind; it says
-- when they were counted.
CREATE TABLE spend_places (
    programme_id BLOB,
    locality_slug TEXT NOT NULL,
    lsoa TEXT,
    payments BIGINT NOT NULL,
    families BIGINT NOT NULL,
    pence BIGINT NOT NULL
);
CREATE INDEX spend_places_programme ON spend_places (programme_id);

CREATE TABLE spend_places_refresh (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    refreshed_micros BIGINT NOT NULL
);

-- Counting them joins each payment to its family's postcode, in family order, and that to its LSOA.
CREATE INDEX payments_spend ON payments (family_id, state, programme_id, locality_slug, amount_pence);
CREATE INDEX families_place ON families (id, postcode);
