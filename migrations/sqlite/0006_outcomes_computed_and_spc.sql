-- Outcomes framework, part two: how each indicator's SPC chart is calculated (the rule set, a
-- baseline, recalculation points) and the state of the indicators computed from case data.
-- The twin of this file is migrations/postgres/0006_outcomes_computed_and_spc.sql; keep them in step.

-- 'mdc' is NHS England's Making Data Count; 'nhsr' the NHS-R NHSRplotthedots variant (runs of 7,
-- moving-range outliers screened out). spc_baseline is how many months, from the start of each
-- period of the chart, the mean and limits are calculated from; NULL for all of them.
ALTER TABLE indicators ADD COLUMN spc_rules TEXT NOT NULL DEFAULT 'mdc' CHECK (spc_rules IN ('mdc', 'nhsr'));
ALTER TABLE indicators ADD COLUMN spc_baseline INTEGER;

-- Months from which an indicator's mean and limits are calculated afresh, with why.
CREATE TABLE indicator_recalculations (
    indicator_ref TEXT NOT NULL REFERENCES indicators (reference),
    period TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_micros BIGINT NOT NULL,
    PRIMARY KEY (indicator_ref, period)
);

-- One row: a fingerprint of the case data when the computed indicators were last refreshed, so
-- a page read refreshes them only when requests or families have changed.
CREATE TABLE computed_indicators_refresh (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    refreshed_micros BIGINT NOT NULL
);
