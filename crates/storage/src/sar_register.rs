//! The register of subject access requests received: each with its due day, an extension for
//! a complex request, and the day the response was sent. Read and written under the
//! information governance officer's permit (`RecordsGovernance`).

use crate::gate::Authorised;
use crate::{StorageError, now_micros, on_tx};
use time::Date;
use uuid::Uuid;

/// One request received.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SarRequest {
    pub id: Uuid,
    pub requester: String,
    pub received_on: String,
    pub due_on: String,
    pub extension_reason: Option<String>,
    pub completed_on: Option<String>,
    pub recorded_by: String,
}

/// Records a request received on `received`, due on `due`.
pub async fn record(
    authorised: &mut Authorised,
    requester: &str,
    received: Date,
    due: Date,
    recorded_by: &str,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO subject_access_requests \
             (id, requester, received_on, due_on, recorded_by, recorded_micros) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(requester)
        .bind(earlyhelp_domain::cases::iso(received))
        .bind(earlyhelp_domain::cases::iso(due))
        .bind(recorded_by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(id)
}

/// The open requests, the soonest due first, then the 50 last completed, newest first.
pub async fn list(authorised: &mut Authorised) -> Result<Vec<SarRequest>, StorageError> {
    macro_rules! columns {
        () => {
            "SELECT id, requester, received_on, due_on, extension_reason, completed_on, \
             recorded_by FROM subject_access_requests "
        };
    }
    let tx = &mut authorised.tx;
    let (mut open, done): (Vec<SarRequest>, Vec<SarRequest>) = on_tx!(tx, c => {
        let open = sqlx::query_as(concat!(
            columns!(),
            "WHERE completed_on IS NULL ORDER BY due_on, received_on, id"
        ))
        .fetch_all(&mut *c)
        .await?;
        let done = sqlx::query_as(concat!(
            columns!(),
            "WHERE completed_on IS NOT NULL ORDER BY completed_on DESC, id DESC LIMIT 50"
        ))
        .fetch_all(&mut *c)
        .await?;
        (open, done)
    });
    open.extend(done);
    Ok(open)
}

/// How many requests are open, and the soonest due day among them.
pub async fn open_count(
    authorised: &mut Authorised,
) -> Result<(i64, Option<String>), StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT COUNT(*), MIN(due_on) FROM subject_access_requests WHERE completed_on IS NULL",
        )
        .fetch_one(c)
        .await?
    }))
}

/// Extends open request `id` to `due`, saying why; false when there is no such open request or
/// it was extended already.
pub async fn extend(
    authorised: &mut Authorised,
    id: Uuid,
    due: Date,
    reason: &str,
) -> Result<bool, StorageError> {
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE subject_access_requests SET due_on = $1, extension_reason = $2 \
             WHERE id = $3 AND completed_on IS NULL AND extension_reason IS NULL",
        )
        .bind(earlyhelp_domain::cases::iso(due))
        .bind(reason)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(done == 1)
}

/// Marks open request `id` answered on `on`; false when there is no such open request.
pub async fn complete(
    authorised: &mut Authorised,
    id: Uuid,
    on: Date,
) -> Result<bool, StorageError> {
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE subject_access_requests SET completed_on = $1 \
             WHERE id = $2 AND completed_on IS NULL",
        )
        .bind(earlyhelp_domain::cases::iso(on))
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(done == 1)
}

/// Request `id`.
pub async fn find(
    authorised: &mut Authorised,
    id: Uuid,
) -> Result<Option<SarRequest>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT id, requester, received_on, due_on, extension_reason, completed_on, \
             recorded_by FROM subject_access_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?
    }))
}
