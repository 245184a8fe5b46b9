-- The directory of community support, held to Open Referral UK 3.0.
-- The SQLite twin of this file is migrations/sqlite/0002_directory.sql; keep them in step.

-- Postcodes we can place without the internet (the ONS postcode directory, or the demo's
-- synthetic set), and the administrator's table of which LSOA lies in which locality.
CREATE TABLE lsoa_localities (
    lsoa TEXT PRIMARY KEY,
    locality_slug TEXT NOT NULL REFERENCES localities (slug)
);

CREATE TABLE postcodes (
    postcode TEXT PRIMARY KEY,
    outward TEXT NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    lsoa TEXT,
    local_authority TEXT,
    locality_slug TEXT REFERENCES localities (slug)
);
CREATE INDEX postcodes_outward ON postcodes (outward);

CREATE TABLE taxonomies (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    uri TEXT,
    version TEXT
);

CREATE TABLE taxonomy_terms (
    id UUID PRIMARY KEY,
    taxonomy_id UUID NOT NULL REFERENCES taxonomies (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    parent_id UUID REFERENCES taxonomy_terms (id),
    position BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX taxonomy_terms_code ON taxonomy_terms (taxonomy_id, code);

-- ORUK organization: who provides services. `partner_organisation_id` links a provider that
-- is also one of the partnership's organisations (whose staff may then edit its listings).
CREATE TABLE directory_organizations (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    email TEXT,
    website TEXT,
    charity_number TEXT,
    partner_organisation_id UUID REFERENCES organisations (id),
    last_modified_micros BIGINT NOT NULL,
    source TEXT NOT NULL DEFAULT 'local',
    source_id TEXT,
    fetched_micros BIGINT
);
CREATE UNIQUE INDEX directory_organizations_source ON directory_organizations (source, source_id);

-- ORUK service, with what search filters on in columns; contacts, languages, cost options,
-- funding and service areas are kept as their ORUK JSON in `detail`.
CREATE TABLE directory_services (
    id UUID PRIMARY KEY,
    organization_id UUID NOT NULL REFERENCES directory_organizations (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    url TEXT,
    email TEXT,
    phone TEXT,
    status TEXT NOT NULL,
    minimum_age BIGINT,
    maximum_age BIGINT,
    free BOOLEAN NOT NULL DEFAULT TRUE,
    fees_description TEXT,
    alert TEXT,
    locality_slug TEXT REFERENCES localities (slug),
    owner_organisation_id UUID NOT NULL REFERENCES organisations (id),
    review_by DATE NOT NULL,
    assured_date DATE,
    assurer_email TEXT,
    last_modified_micros BIGINT NOT NULL,
    merged_into UUID REFERENCES directory_services (id),
    detail TEXT NOT NULL DEFAULT '{}',
    source TEXT NOT NULL DEFAULT 'local',
    source_id TEXT,
    fetched_micros BIGINT,
    search_vector TSVECTOR NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX directory_services_locality ON directory_services (locality_slug, review_by);
CREATE INDEX directory_services_organization ON directory_services (organization_id);
CREATE INDEX directory_services_modified ON directory_services (last_modified_micros);
CREATE UNIQUE INDEX directory_services_source ON directory_services (source, source_id);

-- ORUK service_at_location together with its location. `geo_*` is where we place it: its own
-- coordinates, or its postcode's when the provider gave none.
CREATE TABLE service_locations (
    id UUID PRIMARY KEY,
    location_id UUID NOT NULL,
    service_id UUID NOT NULL REFERENCES directory_services (id) ON DELETE CASCADE,
    name TEXT,
    address_1 TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    postcode TEXT,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    geo_latitude DOUBLE PRECISION,
    geo_longitude DOUBLE PRECISION,
    accessibility TEXT NOT NULL DEFAULT ''
);
CREATE INDEX service_locations_service ON service_locations (service_id);
CREATE INDEX service_locations_geo ON service_locations (geo_latitude, geo_longitude);

-- ORUK schedule (RFC 5545): byday like 'MO,SA', times as 'HH:MM'.
CREATE TABLE service_schedules (
    id UUID PRIMARY KEY,
    service_id UUID NOT NULL REFERENCES directory_services (id) ON DELETE CASCADE,
    freq TEXT NOT NULL DEFAULT 'WEEKLY',
    byday TEXT NOT NULL DEFAULT '',
    opens_at TEXT NOT NULL DEFAULT '',
    closes_at TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX service_schedules_service ON service_schedules (service_id);

-- ORUK attribute linking a service to a taxonomy term.
CREATE TABLE service_terms (
    service_id UUID NOT NULL REFERENCES directory_services (id) ON DELETE CASCADE,
    term_id UUID NOT NULL REFERENCES taxonomy_terms (id),
    attribute_id UUID NOT NULL,
    PRIMARY KEY (service_id, term_id)
);
CREATE INDEX service_terms_term ON service_terms (term_id, service_id);

-- Who changed what, when: applied at once (a connector), waiting for approval (anyone else),
-- approved or rejected. `proposed` is the changed fields as JSON.
CREATE TABLE directory_changes (
    id UUID PRIMARY KEY,
    service_id UUID NOT NULL REFERENCES directory_services (id),
    at_micros BIGINT NOT NULL,
    actor TEXT NOT NULL,
    actor_organisation TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    proposed TEXT NOT NULL DEFAULT '{}',
    decided_by TEXT,
    decided_micros BIGINT
);
CREATE INDEX directory_changes_service ON directory_changes (service_id, at_micros);
CREATE INDEX directory_changes_status ON directory_changes (status, at_micros);

-- Pairs a connector has looked at and said are not the same service.
CREATE TABLE directory_not_duplicates (
    first_id UUID NOT NULL REFERENCES directory_services (id),
    second_id UUID NOT NULL REFERENCES directory_services (id),
    PRIMARY KEY (first_id, second_id)
);

-- Full-text search: the tsvector column above, written in the same statement as the service.
CREATE INDEX directory_services_search ON directory_services USING GIN (search_vector);
