-- When each account last signed in, or was made if it never has (issue 16, item 1: the
-- administrator's accounts unused for 90 days). Accounts made before this migration count
-- from the migration. The twin of this file is migrations/postgres/0043_accounts_last_active.sql.
ALTER TABLE users ADD COLUMN last_active_micros BIGINT NOT NULL DEFAULT 0;
UPDATE users SET last_active_micros = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER);
