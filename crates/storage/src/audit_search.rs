//! The audit log a page at a time, filtered by person, record, action, outcome and dates. Pages
//! are counted back from an event (`before`), not by an offset, so a page is one index range
//! however long the log, and events written meanwhile do not shift the pages.

use crate::gate::{AuditEvent, Authorised};
use crate::{StorageError, on_tx};

/// The actions the audit log records, with their words.
pub const ACTIONS: &[(&str, &str)] = &[
    ("read", "Read"),
    ("list", "List"),
    ("create", "Create"),
    ("update", "Change"),
    ("sign_in", "Sign in"),
    ("sign_out", "Sign out"),
    ("change_password", "Change password"),
    ("second_factor", "Second factor"),
];

/// What to find: empty strings and `None` match everything.
#[derive(Debug, Clone, Default)]
pub struct Find {
    /// The actor's email.
    pub actor: String,
    /// The record, as the log names it (`family:ID`).
    pub subject: String,
    pub action: String,
    pub outcome: String,
    /// Events at or after, in microseconds.
    pub from_micros: Option<i64>,
    /// Events before, in microseconds.
    pub until_micros: Option<i64>,
    /// Events older than this one (its sequence number).
    pub before: Option<i64>,
}

macro_rules! columns {
    () => {
        "SELECT seq, at_micros, actor, actor_organisation, actor_role, subject, action, purpose, \
         outcome, remote_addr, prev_hash, hash FROM audit_events "
    };
}

macro_rules! rest {
    () => {
        "AND ($3 = '' OR action = $3) AND ($4 = '' OR outcome = $4) \
         AND ($5 IS NULL OR at_micros >= $5) AND ($6 IS NULL OR at_micros < $6) \
         AND ($7 IS NULL OR seq < $7) AND ($9 IS NULL OR seq >= $9) ORDER BY seq DESC LIMIT $8"
    };
}

/// Up to `limit` events matching `find`, newest first. Read under the audit log's permit.
pub async fn find(
    authorised: &mut Authorised,
    find: &Find,
    limit: i64,
) -> Result<Vec<AuditEvent>, StorageError> {
    // A statement per shape, so a record's or a person's events come from their own index.
    let sql = match (
        find.subject.trim().is_empty(),
        find.actor.trim().is_empty(),
        find.action.trim().is_empty(),
    ) {
        (false, _, _) => concat!(
            columns!(),
            "WHERE subject = $2 AND ($1 = '' OR actor = $1) ",
            rest!()
        ),
        (true, false, _) => concat!(columns!(), "WHERE actor = $1 AND $2 = '' ", rest!()),
        (true, true, false) => concat!(
            columns!(),
            "WHERE action = $3 AND $1 = '' AND $2 = '' ",
            rest!()
        ),
        (true, true, true) => concat!(columns!(), "WHERE $1 = '' AND $2 = '' ", rest!()),
    };
    let tx = &mut authorised.tx;
    // Dates become a range of sequence numbers (the log is appended in time order), found on
    // the time index, so a date filter reads one range of the log, not every event's time.
    let mut from_seq = None;
    if let Some(micros) = find.from_micros {
        match first_seq_at(tx, micros).await? {
            Some(seq) => from_seq = Some(seq),
            // Nothing at or after the first day.
            None => return Ok(Vec::new()),
        }
    }
    let mut before = find.before;
    if let Some(micros) = find.until_micros
        && let Some(seq) = first_seq_at(tx, micros).await?
    {
        before = Some(before.map_or(seq, |b| b.min(seq)));
    }
    Ok(on_tx!(tx, c => {
        sqlx::query_as(sql)
            .bind(find.actor.trim())
            .bind(find.subject.trim())
            .bind(find.action.trim())
            .bind(find.outcome.trim())
            .bind(find.from_micros)
            .bind(find.until_micros)
            .bind(before)
            .bind(limit)
            .bind(from_seq)
            .fetch_all(c)
            .await?
    }))
}

/// The first event at or after `micros`: its sequence number.
async fn first_seq_at(tx: &mut crate::Tx, micros: i64) -> Result<Option<i64>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT seq FROM audit_events WHERE at_micros >= $1 ORDER BY at_micros, seq LIMIT 1",
        )
        .bind(micros)
        .fetch_optional(c)
        .await?
    }))
}

/// The staff who may be chosen as a person to filter by: (email, name, organisation), by name.
pub async fn people(
    authorised: &mut Authorised,
) -> Result<Vec<(String, String, String)>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT u.email, u.name, o.name FROM users u JOIN organisations o ON o.id = u.organisation_id \
             ORDER BY u.name, u.email LIMIT 5000",
        )
        .fetch_all(c)
        .await?
    }))
}
