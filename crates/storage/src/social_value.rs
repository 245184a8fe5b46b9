//! Social value reports: what an organisation writes, and what the records say it delivered.
//! Read and written under the gate's permit for the organisation's reports.

use crate::gate::Authorised;
use crate::{StorageError, now_micros, on_tx};
use earlyhelp_domain::social_value::{Delivered, Report};
use uuid::Uuid;

/// A saved report and whose it is.
#[derive(Debug, Clone)]
pub struct Saved {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub report: Report,
    pub updated_by: String,
}

type Row = (Uuid, Uuid, String, String, String);

/// The columns of a [`Row`], from the reports joined to their organisations.
macro_rules! select_reports {
    () => {
        "SELECT r.id, r.organisation_id, o.name, r.body, r.updated_by \
         FROM social_value_reports r JOIN organisations o ON o.id = r.organisation_id "
    };
}

fn saved(rows: Vec<Row>) -> Vec<Saved> {
    rows.into_iter()
        .filter_map(
            |(id, organisation_id, organisation_name, body, updated_by)| {
                Some(Saved {
                    id,
                    organisation_id,
                    organisation_name,
                    report: serde_json::from_str(&body).ok()?,
                    updated_by,
                })
            },
        )
        .collect()
}

/// Every report, or only `organisation`'s, newest period first.
pub async fn list<R>(
    authorised: &mut Authorised<R>,
    organisation: Option<Uuid>,
) -> Result<Vec<Saved>, StorageError> {
    let tx = &mut authorised.tx;
    let rows: Vec<Row> = on_tx!(tx, c => {
        sqlx::query_as(concat!(
            select_reports!(),
            "WHERE $1 IS NULL OR r.organisation_id = $1 ORDER BY r.period_from DESC, o.name"
        ))
        .bind(organisation)
        .fetch_all(c)
        .await?
    });
    Ok(saved(rows))
}

/// The organisation report `id` belongs to, for the gate to decide on; `None` if there is none.
pub async fn owner(db: &crate::Db, id: Uuid) -> Result<Option<Uuid>, StorageError> {
    Ok(crate::on_pool!(db, pool => {
        sqlx::query_scalar("SELECT organisation_id FROM social_value_reports WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Report `id`, if it is `organisation`'s.
pub async fn load<R>(
    authorised: &mut Authorised<R>,
    organisation: Uuid,
    id: Uuid,
) -> Result<Option<Saved>, StorageError> {
    let tx = &mut authorised.tx;
    let rows: Vec<Row> = on_tx!(tx, c => {
        sqlx::query_as(concat!(
            select_reports!(),
            "WHERE r.id = $1 AND r.organisation_id = $2"
        ))
        .bind(id)
        .bind(organisation)
        .fetch_all(c)
        .await?
    });
    Ok(saved(rows).into_iter().next())
}

/// Saves a checked report of `organisation` as `id` (new when `None`).
pub async fn save(
    authorised: &mut Authorised,
    organisation: Uuid,
    id: Option<Uuid>,
    report: &Report,
    by: &str,
) -> Result<Uuid, StorageError> {
    authorised.permit.allows_change()?;
    let id = id.unwrap_or_else(Uuid::now_v7);
    let body = serde_json::to_string(report).map_err(|e| StorageError::Conflict(e.to_string()))?;
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM social_value_reports WHERE id = $1 AND organisation_id = $2")
            .bind(id)
            .bind(organisation)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO social_value_reports (id, organisation_id, period_from, period_to, body, \
             updated_by, updated_micros) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(organisation)
        .bind(earlyhelp_domain::cases::iso(report.from))
        .bind(earlyhelp_domain::cases::iso(report.to))
        .bind(&body)
        .bind(by)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
    });
    Ok(id)
}

/// What the records say `organisation` delivered: referrals to it sent in the period
/// (`from_micros` inclusive to `to_micros` exclusive), and how they ended.
pub async fn delivered<R>(
    authorised: &mut Authorised<R>,
    organisation: Uuid,
    from_micros: i64,
    to_micros: i64,
) -> Result<Delivered, StorageError> {
    let tx = &mut authorised.tx;
    let row: (i64, i64, i64, i64, i64, i64) = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN first_accepted THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN state = 'completed' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN outcome = 'met' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN outcome = 'partly_met' THEN 1 ELSE 0 END), 0), \
             COUNT(DISTINCT family_id) \
             FROM (SELECT r.state, r.outcome, r.family_id, EXISTS (SELECT 1 FROM referral_events e \
                   WHERE e.referral_id = r.id AND e.state = 'accepted') AS first_accepted \
                   FROM referrals r WHERE r.receiving_organisation = $1 \
                   AND r.created_micros >= $2 AND r.created_micros < $3 \
                   AND r.state <> 'entered_in_error') counted",
        )
        .bind(organisation)
        .bind(from_micros)
        .bind(to_micros)
        .fetch_one(c)
        .await?
    });
    Ok(Delivered {
        referrals: row.0,
        accepted: row.1,
        completed: row.2,
        need_met: row.3,
        need_partly_met: row.4,
        families: row.5,
    })
}
