-- At closure, how far each of the case's needs was met (met, partly met, not met): the outcome
-- per need that commissioners count. A reopened and closed-again case has a row per closure.
CREATE TABLE closure_outcomes (
    family_id UUID NOT NULL REFERENCES families (id),
    closed_micros BIGINT NOT NULL,
    need TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (family_id, closed_micros, need)
);
