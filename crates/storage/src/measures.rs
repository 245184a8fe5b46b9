//! Outcome measures (reference data: who may define one is the gate's to say), readings
//! imported from a file, all-or-nothing across the families it names, and each family's
//! Supporting Families outcomes. Every read or change of a family's record takes the gate's
//! [`Authorised`].

use crate::cases::{insert_note, record_reading};
use crate::gate::{self, Ask, Authorised, FamilyId, Who};
use crate::{Db, StorageError, now_micros, on_tx};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::iso;
use earlyhelp_domain::measures::{CheckedReading, DEFAULT_MEASURE_ID, Measure, NewMeasure, Scores};
use earlyhelp_domain::supporting_families::CheckedOutcome;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use std::sync::LazyLock;
use time::Date;
use uuid::Uuid;

/// A measure with who holds its licence.
#[derive(Debug, Clone)]
pub struct MeasureListing {
    pub measure: Measure,
    /// The licence holder; none for the built-in measure.
    pub organisation: Option<String>,
    pub licence: String,
}

/// Every measure, the built-in one first and then by name, each with its areas in order.
pub async fn list(db: &Db) -> Result<Vec<MeasureListing>, StorageError> {
    // One statement, each measure's areas a JSON array (see `json_rows`): the family page asks.
    static POSTGRES: LazyLock<String> = LazyLock::new(|| crate::json_rows::postgres(LIST_SQL));
    type Row = (Uuid, String, Option<String>, String, Json<Vec<String>>);
    let rows: Vec<Row> = match db {
        Db::Sqlite(pool, _) => sqlx::query_as(LIST_SQL).fetch_all(pool).await?,
        Db::Postgres(pool, _) => sqlx::query_as(POSTGRES.as_str()).fetch_all(pool).await?,
    };
    Ok(listings(rows.into_iter().map(
        |(id, name, organisation, licence, areas)| (id, name, organisation, licence, areas.0),
    )))
}

/// A measure as read: id, name, licence holder, licence, its areas in order.
pub(crate) type ListedMeasure = (Uuid, String, Option<String>, String, Vec<String>);

/// The measures read by name, the built-in one put first.
pub(crate) fn listings(rows: impl IntoIterator<Item = ListedMeasure>) -> Vec<MeasureListing> {
    let mut listings: Vec<MeasureListing> = rows
        .into_iter()
        .map(|(id, name, organisation, licence, areas)| MeasureListing {
            measure: Measure { id, name, areas },
            organisation,
            licence,
        })
        .collect();
    listings.sort_by_key(|l| l.measure.id != DEFAULT_MEASURE_ID);
    listings
}

const LIST_SQL: &str = "SELECT m.id, m.name, o.name, m.licence, \
     (SELECT COALESCE(json_group_array(a.name ORDER BY a.position), '[]') \
       FROM measure_areas a WHERE a.measure_id = m.id) \
     FROM measures m LEFT JOIN organisations o ON o.id = m.organisation_id ORDER BY m.name";

/// Stores a new measure for `organisation_id`, the licence holder; a name already in use
/// (in any case) is a conflict.
pub async fn create(
    authorised: &mut Authorised,
    organisation_id: Uuid,
    new: &NewMeasure,
) -> Result<Uuid, StorageError> {
    let id = Uuid::now_v7();
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        let taken: Option<String> =
            sqlx::query_scalar("SELECT name FROM measures WHERE lower(name) = lower($1)")
                .bind(&new.name)
                .fetch_optional(&mut *c)
                .await?;
        if let Some(taken) = taken {
            return Err(StorageError::Conflict(format!(
                "There is already a measure called {taken}"
            )));
        }
        sqlx::query(
            "INSERT INTO measures (id, name, organisation_id, licence, created_micros) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&new.name)
        .bind(organisation_id)
        .bind(&new.licence)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
        for (position, area) in new.areas.iter().enumerate() {
            sqlx::query(
                "INSERT INTO measure_areas (measure_id, position, name) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(position as i64 + 1)
            .bind(area)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(id)
}

// ---------------------------------------------------------------------------------------------
// Importing readings

/// Who is importing: a signed-in person, through the gate, or the operator at the command line.
pub enum Importer<'a> {
    Person(&'a Who),
    Operator,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub families: usize,
    pub readings: usize,
    pub scores: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The family on `row` does not exist, or the importer may not change it (the same to them).
    #[error("row {row}: no family with that id that you may change")]
    Refused { row: usize },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Stores every checked score in one transaction, or none. Each family the file names passes
/// the gate for an update (audited); the first refusal abandons the whole import. Scores of one
/// family, measure and date are one reading, with one chronology event.
pub async fn import_readings(
    db: &Db,
    importer: Importer<'_>,
    readings: &[CheckedReading],
    recorded_by: &str,
) -> Result<Imported, ImportError> {
    let mut families: Vec<(Uuid, usize)> = Vec::new();
    for r in readings {
        if !families.iter().any(|(f, _)| *f == r.family_id) {
            families.push((r.family_id, r.row));
        }
    }
    if families.is_empty() {
        return Ok(Imported {
            families: 0,
            readings: 0,
            scores: 0,
        });
    }
    let asks: Vec<Ask> = families
        .iter()
        .map(|(family_id, _)| Ask {
            id: *family_id,
            action: Action::Update,
            purpose: "import outcome readings",
        })
        .collect();
    let granted = match importer {
        Importer::Person(who) => gate::authorise_many::<FamilyId>(db, who, &asks).await,
        Importer::Operator => gate::operator_many::<FamilyId>(db, &asks).await,
    };
    let mut authorised = granted.map_err(|(index, e)| match e {
        StorageError::Denied(_) | StorageError::NotFound => ImportError::Refused {
            row: families[index].1,
        },
        other => other.into(),
    })?;
    // (family, measure, date) and that reading's scores.
    let mut groups: Vec<((Uuid, Uuid, Date), Scores)> = Vec::new();
    for r in readings {
        let key = (r.family_id, r.measure_id, r.taken_on);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, scores)) => scores.push((r.area.clone(), r.score)),
            None => groups.push((key, vec![(r.area.clone(), r.score)])),
        }
    }
    for ((family_id, measure_id, taken_on), scores) in &groups {
        let permit = authorised
            .permits
            .iter()
            .find(|p| p.family_id() == *family_id)
            .ok_or(StorageError::NotFound)?;
        record_reading(
            &mut authorised.tx,
            permit,
            *measure_id,
            *taken_on,
            scores,
            recorded_by,
        )
        .await?;
    }
    authorised.tx.commit().await?;
    Ok(Imported {
        families: families.len(),
        readings: groups.len(),
        scores: readings.len(),
    })
}

// ---------------------------------------------------------------------------------------------
// Supporting Families

/// A family's need against one headline outcome, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct OutcomeRow {
    /// The headline outcome's slug.
    pub outcome: String,
    pub need: String,
    pub identified_on: String,
    pub evidence: String,
    pub achieved_on: Option<String>,
    pub recorded_by: String,
}

pub async fn outcomes(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Vec<OutcomeRow>, StorageError> {
    let family_id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT outcome, need, identified_on, evidence, achieved_on, recorded_by \
             FROM family_outcomes WHERE family_id = $1 ORDER BY identified_on, outcome",
        )
        .bind(family_id)
        .fetch_all(c)
        .await?
    }))
}

/// Records (or updates) the family's need against one headline outcome, with a chronology event.
pub async fn record_outcome(
    authorised: &mut Authorised<FamilyId>,
    outcome: &CheckedOutcome,
    recorded_by: &str,
) -> Result<(), StorageError> {
    let family_id = authorised.permit.for_change()?.0;
    let tx = &mut authorised.tx;
    let achieved_on = outcome.achieved_on.map(iso);
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO family_outcomes (family_id, outcome, need, identified_on, evidence, \
             achieved_on, recorded_by, updated_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (family_id, outcome) DO UPDATE SET need = excluded.need, \
             identified_on = excluded.identified_on, evidence = excluded.evidence, \
             achieved_on = excluded.achieved_on, recorded_by = excluded.recorded_by, \
             updated_micros = excluded.updated_micros",
        )
        .bind(family_id)
        .bind(outcome.outcome.slug())
        .bind(&outcome.need)
        .bind(iso(outcome.identified_on))
        .bind(&outcome.evidence)
        .bind(&achieved_on)
        .bind(recorded_by)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    let body = match &achieved_on {
        Some(on) => format!(
            "Supporting Families outcome achieved on {on}: {}",
            outcome.outcome.label()
        ),
        None => format!(
            "Supporting Families need recorded: {}",
            outcome.outcome.label()
        ),
    };
    insert_note(tx, family_id, recorded_by, "event", &body).await?;
    Ok(())
}

/// The day a closed case closed; none while the case is open or stepped up, so a reopened case
/// sustains nothing until it closes again.
pub async fn closed_on(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Option<Date>, StorageError> {
    let family_id = authorised.permit.record().0;
    let tx = &mut authorised.tx;
    let closed: Option<Option<i64>> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT closed_micros FROM families WHERE id = $1")
            .bind(family_id)
            .fetch_optional(c)
            .await?
    });
    Ok(day_of(closed.flatten()))
}

/// The day of a moment in microseconds, if there is one.
pub fn day_of(micros: Option<i64>) -> Option<Date> {
    micros.and_then(|micros| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
            .ok()
            .map(|t| t.date())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::on_pool;
    use std::borrow::Cow;

    /// Migration 0009 moves readings taken before measures existed onto the built-in measure.
    async fn readings_before_measures_move_to_the_built_in_one(db: Db) {
        let family = Uuid::now_v7();
        let reading = "INSERT INTO readings (family_id, taken_on, area, score, recorded_by) \
                       VALUES ($1, '2026-10-01', 'Feeling safe', 4, 'test')";
        on_pool!(&db, pool => {
            sqlx::query("INSERT INTO localities (slug, name) VALUES ('ladywood', 'Ladywood')")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO families (id, locality_slug, address, postcode, need_level, state, \
                 created_micros, updated_micros) VALUES ($1, 'ladywood', '1 Road', 'B16 8HA', \
                 'additional', 'open', 0, 0)",
            )
            .bind(family)
            .execute(pool)
            .await
            .unwrap();
            sqlx::query(reading).bind(family).execute(pool).await.unwrap();
        });
        db.migrate().await.unwrap();
        let moved: Vec<(Uuid, String, i64)> = on_pool!(&db, pool => {
            sqlx::query_as("SELECT measure_id, area, score FROM readings WHERE family_id = $1")
                .bind(family)
                .fetch_all(pool)
                .await
                .unwrap()
        });
        assert_eq!(moved, vec![(DEFAULT_MEASURE_ID, "Feeling safe".into(), 4)]);
        let listed = list(&db).await.unwrap();
        assert_eq!(listed[0].measure, Measure::family_wellbeing());
    }

    /// The migrations up to, not including, 0009.
    fn before_measures(mut migrator: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
        let earlier = migrator.iter().filter(|m| m.version < 9).cloned().collect();
        migrator.migrations = Cow::Owned(earlier);
        migrator
    }

    #[tokio::test]
    async fn on_sqlite() {
        let path = std::env::temp_dir().join(format!("eh_measures_{}.db", Uuid::now_v7()));
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        if let Db::Sqlite(pool, _) = &db {
            let migrator = before_measures(sqlx::migrate!("../../migrations/sqlite"));
            migrator.run(pool).await.unwrap();
        }
        readings_before_measures_move_to_the_built_in_one(db).await;
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn on_postgres() {
        let Ok(admin) = std::env::var("EARLYHELP_TEST_POSTGRES_URL") else {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "PostgreSQL is required under CI=true; run the tests with scripts/test.sh"
            );
            eprintln!("SKIPPED: PostgreSQL (EARLYHELP_TEST_POSTGRES_URL) is not available");
            return;
        };
        let name = format!("eh_measures_{}", Uuid::now_v7().simple());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let db = Db::connect(&format!("{base}/{name}")).await.unwrap();
        if let Db::Postgres(pool, _) = &db {
            let migrator = before_measures(sqlx::migrate!("../../migrations/postgres"));
            migrator.run(pool).await.unwrap();
        }
        readings_before_measures_move_to_the_built_in_one(db).await;
    }
}
