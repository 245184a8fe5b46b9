-- Social value reports of voluntary-sector providers: what the organisation writes, as JSON
-- (earlyhelp_domain::social_value::Report); what it delivered is counted from the records.
CREATE TABLE social_value_reports (
    id UUID PRIMARY KEY,
    organisation_id UUID NOT NULL REFERENCES organisations (id),
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_micros BIGINT NOT NULL
);
CREATE INDEX social_value_reports_organisation ON social_value_reports (organisation_id, period_from);
