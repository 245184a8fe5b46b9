//! earlyhelp's storage: one [`Db`] over SQLite and PostgreSQL, the access-and-audit [`gate`],
//! and the records of the foundation (localities, organisations, users, sessions, tokens).

pub mod accounts;
pub mod asks;
pub mod audit_search;
pub mod budgeting;
pub mod case_load;
pub mod cases;
pub mod checkpoint;
pub mod cohorts;
pub mod connections;
pub mod db;
pub mod deprivation;
pub mod directory;
pub mod encoded;
pub mod extracts;
pub mod family_help;
pub mod family_page;
pub mod find_families;
pub mod grants;
pub mod listing_changes;
pub mod listing_reviews;
pub mod matching;
#[macro_use]
pub mod gate;
pub mod giving;
pub mod home_counts;
pub mod identifiers;
pub mod impact;
mod json_rows;
pub mod leases;
pub mod measures;
pub mod outbox;
pub mod outcomes;
pub mod payments;
pub mod retention;
pub mod sar;
pub mod sar_register;
pub mod search_synonyms;
pub mod second_factor;
pub mod secrets;
pub mod sharing;
pub mod social_value;
pub mod surveys;

pub use db::{Db, Tx};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the database address {0:?} is not usable: {1}")]
    BadUrl(String, String),
    #[error("cannot reach the database at {0}: {1}")]
    Unreachable(String, String),
    #[error("not allowed: {0}")]
    Denied(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// A change the record's state does not allow, with what it does: a 409, not a form error.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// The batch of audit events this one was written with failed (see `gate::AuditQueue`).
    #[error("the audit log could not be written: {0}")]
    Audit(String),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Microseconds since the Unix epoch: the precision both databases store exactly, so a time
/// written and read back (and hashed into the audit chain) is the same time.
pub fn now_micros() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64
}

/// Now, truncated to whole microseconds for the same reason.
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(now_micros() as i128 * 1000)
        .expect("the clock is within the representable range")
}
