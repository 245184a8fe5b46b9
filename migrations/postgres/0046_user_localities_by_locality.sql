-- Staff by locality: the family page's picker of the locality's case workers (and the other
-- reads of a locality's staff) found them by reading every row of user_localities and
-- user_roles: with 100 practitioners a locality, the largest of the family page's statements
-- in PostgreSQL (0.32 ms of about 0.85; issue 15, item 2; docs/benchmarks/cases.md).
-- The twin of this file is migrations/sqlite/0046_user_localities_by_locality.sql.
CREATE INDEX user_localities_locality ON user_localities (locality_slug, user_id);
