//! The impact page's storage: the year's outcome counts a scenario values (aggregates only,
//! never a person), the unit value library, and saved scenarios. Read and written under the
//! gate's permit for the impact resource.

use crate::gate::Authorised;
use crate::{StorageError, now_micros, on_tx};
use earlyhelp_domain::cases::CaseEvent;
use earlyhelp_domain::impact::{
    SHIPPED_UNIT_VALUES, Scenario, Source, UnitValue, read_unit_values,
};
use uuid::Uuid;

/// The period counted: `from` inclusive to `to` exclusive, in microseconds and as ISO dates.
#[derive(Debug, Clone)]
pub struct Period {
    pub from_micros: i64,
    pub to_micros: i64,
    pub from_date: String,
    pub to_date: String,
}

/// The families whose case closed with their needs met in the period ($1, $2 in micros).
macro_rules! closed_needs_met {
    () => {
        "SELECT f.id FROM families f WHERE f.closure_reason = 'needs_met' \
         AND f.closed_micros >= $1 AND f.closed_micros < $2"
    };
}

/// Each source's count for the period.
pub async fn counts<R>(
    authorised: &mut Authorised<R>,
    period: &Period,
) -> Result<Vec<(Source, f64)>, StorageError> {
    /// What a count's statement binds after the period in micros ($1, $2).
    enum Then {
        Nothing,
        /// The period as ISO dates instead ($1, $2).
        Dates,
        /// The event note the case's state machine writes for a step-down ($3).
        StepDownNote,
    }
    let mut found = Vec::with_capacity(Source::ALL.len());
    for source in Source::ALL {
        let (sql, then) = match source {
            Source::FamiliesNeedsMet => (
                concat!("SELECT COUNT(*) FROM (", closed_needs_met!(), ") closed"),
                Then::Nothing,
            ),
            Source::ChildrenNeedsMet => (
                concat!(
                    "SELECT COUNT(*) FROM family_members m WHERE m.relationship = 'child' \
                     AND m.family_id IN (",
                    closed_needs_met!(),
                    ")"
                ),
                Then::Nothing,
            ),
            Source::SenSupportNeedsMet => (
                concat!(
                    "SELECT COUNT(*) FROM family_members m WHERE m.relationship = 'child' \
                     AND m.send = 'sen_support' AND m.family_id IN (",
                    closed_needs_met!(),
                    ")"
                ),
                Then::Nothing,
            ),
            Source::SupportingFamiliesOutcomes => (
                "SELECT COUNT(*) FROM family_outcomes WHERE achieved_on >= $1 AND achieved_on < $2",
                Then::Dates,
            ),
            Source::StepDowns => (
                "SELECT COUNT(*) FROM family_notes WHERE kind = 'event' AND body = $3 \
                 AND at_micros >= $1 AND at_micros < $2",
                Then::StepDownNote,
            ),
            Source::ConnectionsNeedMet => (
                "SELECT COUNT(*) FROM referrals WHERE state = 'completed' AND outcome = 'met' \
                 AND updated_micros >= $1 AND updated_micros < $2",
                Then::Nothing,
            ),
        };
        let tx = &mut authorised.tx;
        let n: i64 = on_tx!(tx, c => {
            let query = sqlx::query_scalar(sql);
            let query = match then {
                Then::Dates => query.bind(&period.from_date).bind(&period.to_date),
                _ => query.bind(period.from_micros).bind(period.to_micros),
            };
            let query = match then {
                Then::StepDownNote => query.bind(CaseEvent::StepDown.describe()),
                _ => query,
            };
            query.fetch_one(c).await?
        });
        found.push((*source, n as f64));
    }
    Ok(found)
}

type UnitValueRow = (
    String,
    String,
    String,
    String,
    bool,
    String,
    f64,
    i32,
    String,
);

/// The library: the values earlyhelp ships, with any loaded under the same code in their place.
pub async fn unit_values<R>(
    authorised: &mut Authorised<R>,
) -> Result<Vec<UnitValue>, StorageError> {
    let tx = &mut authorised.tx;
    let rows: Vec<UnitValueRow> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT code, description, agency, kind, cashable, unit, value, price_year, source \
             FROM unit_values ORDER BY code",
        )
        .fetch_all(c)
        .await?
    });
    let loaded: Vec<UnitValue> = rows
        .into_iter()
        .map(|r| UnitValue {
            code: r.0,
            description: r.1,
            agency: r.2,
            kind: r.3,
            cashable: r.4,
            unit: r.5,
            value: r.6,
            price_year: r.7,
            source: r.8,
        })
        .collect();
    let mut library: Vec<UnitValue> = read_unit_values(SHIPPED_UNIT_VALUES)
        .unwrap_or_default()
        .into_iter()
        .filter(|shipped| !loaded.iter().any(|l| l.code == shipped.code))
        .collect();
    library.extend(loaded);
    library.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(library)
}

/// Loads checked unit values, each replacing any loaded before under its code.
pub async fn load_unit_values(
    authorised: &mut Authorised,
    values: &[UnitValue],
    by: &str,
) -> Result<(), StorageError> {
    authorised.permit.allows_change()?;
    let now = now_micros();
    let tx = &mut authorised.tx;
    for v in values {
        on_tx!(tx, c => {
            sqlx::query("DELETE FROM unit_values WHERE code = $1")
                .bind(&v.code)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO unit_values (code, description, agency, kind, cashable, unit, value, \
                 price_year, source, loaded_by, loaded_micros) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&v.code)
            .bind(&v.description)
            .bind(&v.agency)
            .bind(&v.kind)
            .bind(v.cashable)
            .bind(&v.unit)
            .bind(v.value)
            .bind(v.price_year)
            .bind(&v.source)
            .bind(by)
            .bind(now)
            .execute(&mut *c)
            .await?;
        });
    }
    Ok(())
}

/// The saved scenarios, by name.
pub async fn scenarios<R>(
    authorised: &mut Authorised<R>,
) -> Result<Vec<(Uuid, Scenario)>, StorageError> {
    let tx = &mut authorised.tx;
    let rows: Vec<(Uuid, String)> = on_tx!(tx, c => {
        sqlx::query_as("SELECT id, body FROM impact_scenarios ORDER BY name")
            .fetch_all(c)
            .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(id, body)| Some((id, serde_json::from_str(&body).ok()?)))
        .collect())
}

/// Saves a checked scenario as `id` (a new one when `None`); a name another scenario has is
/// a conflict.
pub async fn save_scenario(
    authorised: &mut Authorised,
    id: Option<Uuid>,
    scenario: &Scenario,
    by: &str,
) -> Result<Uuid, StorageError> {
    authorised.permit.allows_change()?;
    let id = id.unwrap_or_else(Uuid::now_v7);
    let body =
        serde_json::to_string(scenario).map_err(|e| StorageError::Conflict(e.to_string()))?;
    let tx = &mut authorised.tx;
    let taken: Option<Uuid> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT id FROM impact_scenarios WHERE name = $1 AND id <> $2")
            .bind(&scenario.name)
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
    });
    if taken.is_some() {
        return Err(StorageError::Conflict(
            "Another scenario has this name: choose another".into(),
        ));
    }
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM impact_scenarios WHERE id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO impact_scenarios (id, name, body, updated_by, updated_micros) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&scenario.name)
        .bind(&body)
        .bind(by)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
    });
    Ok(id)
}
