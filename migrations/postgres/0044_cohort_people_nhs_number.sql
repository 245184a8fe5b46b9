-- A cohort's people carry the NHS number the uploaded list gave them (issue 14, items 4 and
-- 6), so that outreach's requests carry it too. As request_members hold it (0039): the 10
-- digits, checked (Modulus 11) before they are stored, or '' when the list had none or its
-- number failed the check. Deleted with the cohort at the list's delete-by date.
-- The sqlite twin is migrations/sqlite/0044_cohort_people_nhs_number.sql.

ALTER TABLE cohort_people ADD COLUMN nhs_number TEXT NOT NULL DEFAULT '';
