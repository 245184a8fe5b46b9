//! Leases on background work shared by several app servers on one database: a named lease is
//! held by one server until it gives it back or its time runs out (a server that dies holding
//! it loses it then). Taking one is a single statement, so two servers never both hold it.

use crate::{Db, StorageError, on_pool};

/// Takes the lease `name` for `holder` until `now + micros`, if it is free, has run out or is
/// already `holder`'s; answers whether `holder` now holds it.
pub async fn take(
    db: &Db,
    name: &str,
    holder: &str,
    now: i64,
    micros: i64,
) -> Result<bool, StorageError> {
    let taken: Option<String> = on_pool!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO job_leases (name, holder, until_micros) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             until_micros = excluded.until_micros \
             WHERE job_leases.until_micros < $4 OR job_leases.holder = excluded.holder \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now + micros)
        .bind(now)
        .fetch_optional(pool)
        .await?
    });
    Ok(taken.is_some())
}

/// Gives the lease back, if `holder` still holds it.
pub async fn give_back(db: &Db, name: &str, holder: &str) -> Result<(), StorageError> {
    on_pool!(db, pool => {
        sqlx::query("UPDATE job_leases SET until_micros = 0 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await?;
    });
    Ok(())
}
