-- Leases on the periodic background jobs, so that with several app servers on one database
-- only one runs them at a time: a server takes the lease in one statement (only when it is
-- free or has run out), runs the jobs and gives it back. A server that dies holding it loses it
-- when `until_micros` passes. Same text on SQLite and PostgreSQL.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_micros BIGINT NOT NULL
);
