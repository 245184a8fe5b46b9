-- Values the product makes for itself once per deployment, such as the secret key behind the
-- pseudonyms in analysts' extracts (so the same family has the same pseudonym in every extract,
-- and nobody without the database can reverse it). Same text on SQLite and PostgreSQL.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
