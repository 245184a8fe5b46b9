-- When each account last signed in, or was made if it never has (issue 16, item 1: the
-- administrator's accounts unused for 90 days). Accounts made before this migration count
-- from the migration. The twin of this file is migrations/sqlite/0043_accounts_last_active.sql.
ALTER TABLE users ADD COLUMN last_active_micros BIGINT NOT NULL DEFAULT 0;
UPDATE users SET last_active_micros = (extract(epoch FROM now()) * 1000000)::BIGINT;
