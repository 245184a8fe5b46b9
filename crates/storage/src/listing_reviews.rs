//! Young people's reviews of directory listings: a rating and a few words, stored with the day
//! only (no name, account, session or address), flagged for likely personal details and held
//! until the listing's community connector approves them. A review is written without the gate
//! (no one is signed in, and an audit event would keep the moment and the address); moderating
//! one takes an [`Authorised`] permit for the listing's locality.

use crate::gate::Authorised;
use crate::{Db, StorageError, now_micros, on_pool, on_tx};
use earlyhelp_domain::surveys::personal_details;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Review {
    pub id: Uuid,
    pub service_id: Uuid,
    pub service_name: String,
    pub locality_slug: Option<String>,
    pub rating: i64,
    pub body: String,
    pub flags: String,
    pub written_on: String,
    pub state: String,
}

macro_rules! select_reviews {
    () => {
        "SELECT r.id, r.service_id, s.name AS service_name, s.locality_slug, r.rating, r.body, \
         r.flags, r.written_on, r.state FROM listing_reviews r \
         JOIN directory_services s ON s.id = r.service_id "
    };
}

/// Stores a review of `service`, waiting for a connector, flagged for personal details.
pub async fn submit(
    db: &Db,
    service: Uuid,
    rating: i64,
    body: &str,
    today: time::Date,
) -> Result<(), StorageError> {
    let flags = personal_details(body).join("; ");
    on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO listing_reviews (id, service_id, rating, body, flags, written_on, state) \
             VALUES ($1, $2, $3, $4, $5, $6, 'waiting')",
        )
        .bind(Uuid::new_v4())
        .bind(service)
        .bind(rating)
        .bind(body)
        .bind(&flags)
        .bind(today.to_string())
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// The approved reviews of `service`, newest first.
pub async fn approved(db: &Db, service: Uuid) -> Result<Vec<Review>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(
            select_reviews!(),
            "WHERE r.service_id = $1 AND r.state = 'approved' ORDER BY r.written_on DESC, r.id"
        ))
        .bind(service)
        .fetch_all(pool)
        .await?
    }))
}

/// Reviews waiting for a connector, of listings in `localities`, oldest first.
pub async fn waiting(
    authorised: &mut Authorised,
    localities: &[String],
) -> Result<Vec<Review>, StorageError> {
    let tx = &mut authorised.tx;
    let all: Vec<Review> = on_tx!(tx, c => {
        sqlx::query_as(concat!(
            select_reviews!(),
            "WHERE r.state = 'waiting' ORDER BY r.written_on, r.id"
        ))
        .fetch_all(c)
        .await?
    });
    Ok(all
        .into_iter()
        .filter(|r| {
            r.locality_slug
                .as_ref()
                .is_some_and(|l| localities.contains(l))
        })
        .collect())
}

/// Review `id`, whatever its state (to find the listing's locality before moderating).
pub async fn review(db: &Db, id: Uuid) -> Result<Option<Review>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(concat!(select_reviews!(), "WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Approves review `id` as the connector has edited it, or rejects it (its words are then
/// deleted); `false` if it was not waiting.
pub async fn moderate(
    authorised: &mut Authorised,
    id: Uuid,
    approve: bool,
    body: &str,
    by: &str,
) -> Result<bool, StorageError> {
    authorised.permit.allows_change()?;
    let state = if approve { "approved" } else { "rejected" };
    let body = if approve { body } else { "" };
    let tx = &mut authorised.tx;
    let changed = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE listing_reviews SET state = $2, body = $3, moderated_by = $4, \
             moderated_micros = $5 WHERE id = $1 AND state = 'waiting'",
        )
        .bind(id)
        .bind(state)
        .bind(body)
        .bind(by)
        .bind(now_micros())
        .execute(c)
        .await?
        .rows_affected()
    });
    Ok(changed == 1)
}
