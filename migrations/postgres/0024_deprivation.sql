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
