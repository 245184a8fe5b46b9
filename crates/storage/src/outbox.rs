//! The outbox: email written in the same transaction as the change it tells of, then drained
//! by a worker. A message is claimed for a lease before it is sent, so two app servers never
//! send it at once; a sender that dies mid-send leaves the lease to run out and the message is
//! tried again under the same key (its Message-ID, so the receiving server can tell).

use crate::{Db, StorageError, Tx, now_micros, on_pool, on_tx};
use serde::Serialize;
use uuid::Uuid;

/// Queues one message in `tx`, to go once the transaction commits. `link` is a path in
/// earlyhelp; no personal details belong in `subject` or `body`.
pub async fn enqueue(
    tx: &mut Tx,
    to: &str,
    subject: &str,
    body: &str,
    link: &str,
) -> Result<(), StorageError> {
    let id = Uuid::now_v7();
    let now = now_micros();
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO outbox (id, message_key, to_address, subject, body, link, created_micros, \
             next_attempt_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id)
        .bind(format!("{}@earlyhelp", id.simple()))
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(link)
        .bind(now)
        .execute(c)
        .await?;
    });
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Message {
    pub id: Uuid,
    pub message_key: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub attempts: i64,
    pub created_micros: i64,
    pub sent_micros: Option<i64>,
    pub last_error: Option<String>,
}

macro_rules! message_columns {
    () => {
        "id, message_key, to_address, subject, body, link, attempts, created_micros, sent_micros, \
         last_error"
    };
}

/// Claims up to `limit` messages that are due and not claimed by a live lease, for `lease`
/// microseconds. One statement, so two workers never claim the same message.
pub async fn claim(
    db: &Db,
    now: i64,
    lease: i64,
    limit: i64,
) -> Result<Vec<Message>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(
            "UPDATE outbox SET claimed_until_micros = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE sent_micros IS NULL \
             AND next_attempt_micros <= $2 \
             AND (claimed_until_micros IS NULL OR claimed_until_micros < $2) \
             ORDER BY next_attempt_micros LIMIT $3) \
             AND (claimed_until_micros IS NULL OR claimed_until_micros < $2) RETURNING ",
            message_columns!()
        ))
        .bind(now + lease)
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

/// Messages whose link starts so (a code to vote, whose words are the code itself) keep no
/// address or words once sent: a code and who asked for it must not wait in the database.
pub const FORGOTTEN_ONCE_SENT: &str = "/vote/";

/// The message went: it is never sent again.
pub async fn sent(db: &Db, id: Uuid, now: i64) -> Result<(), StorageError> {
    on_pool!(db, pool => {
        sqlx::query(
            "UPDATE outbox SET sent_micros = $1, claimed_until_micros = NULL, last_error = NULL, \
             to_address = CASE WHEN link LIKE $3 THEN '' ELSE to_address END, \
             body = CASE WHEN link LIKE $3 THEN '' ELSE body END WHERE id = $2",
        )
            .bind(now)
            .bind(id)
            .bind(format!("{FORGOTTEN_ONCE_SENT}%"))
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// The message did not go: try again at `retry_at`, and keep why.
pub async fn failed(db: &Db, id: Uuid, retry_at: i64, error: &str) -> Result<(), StorageError> {
    let error: String = error.chars().take(500).collect();
    on_pool!(db, pool => {
        sqlx::query(
            "UPDATE outbox SET next_attempt_micros = $1, claimed_until_micros = NULL, last_error = $2 WHERE id = $3",
        )
        .bind(retry_at)
        .bind(&error)
        .bind(id)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Seconds to wait before the next try after `attempts`: 30 s doubling, at most an hour.
pub fn backoff_seconds(attempts: i64) -> i64 {
    (30_i64 << attempts.clamp(1, 8).saturating_sub(1)).min(3600)
}

/// Messages not yet sent, and of them those that have failed at least once.
pub async fn depth(db: &Db) -> Result<(i64, i64), StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT COUNT(*), COUNT(last_error) FROM outbox WHERE sent_micros IS NULL",
        )
        .fetch_one(pool)
        .await?
    }))
}

/// The newest messages, for the administrators' outbox page and for tests.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Message>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM outbox ORDER BY created_micros DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

#[cfg(test)]
mod tests {
    use super::backoff_seconds;

    #[test]
    fn backoff_doubles_to_an_hour() {
        let waits: Vec<i64> = (1..=9).map(backoff_seconds).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
