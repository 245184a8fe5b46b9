-- The unit value library beyond the values earlyhelp ships (crates/domain/data/unit_values.csv):
-- values a partner loads under its own licence. A loaded code replaces a shipped one.
CREATE TABLE unit_values (
    code TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    agency TEXT NOT NULL,
    kind TEXT NOT NULL,
    cashable BOOLEAN NOT NULL,
    unit TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    price_year INTEGER NOT NULL,
    source TEXT NOT NULL,
    loaded_by TEXT NOT NULL,
    loaded_micros BIGINT NOT NULL
);

-- Saved impact scenarios: the assumptions as JSON (earlyhelp_domain::impact::Scenario).
CREATE TABLE impact_scenarios (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_micros BIGINT NOT NULL
);
