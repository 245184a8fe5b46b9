//! The outcomes framework: outcomes, indicators, their values by month, area and breakdown,
//! annotations, and uploaded files awaiting commit.
//!
//! Values are never overwritten: loading a different value for a month adds a revision and
//! marks it current, so a corrected month shows as a correction with who made it and when.
//! Writes take an [`Authorised`] (the gate has checked and audited them); reads of these
//! aggregate, never person-level, data take the pool.

use crate::gate::Authorised;
use crate::{Db, StorageError, now_micros, on_pool, on_tx};
use serde::Serialize;
use uuid::Uuid;

pub mod computed;

/// The area every value without a locality belongs to.
pub const CITY: &str = "city";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Outcome {
    pub number: i32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Indicator {
    pub reference: String,
    pub outcome_number: i32,
    pub name: String,
    /// `count`, `percent`, `days`, `rate`...
    pub unit: String,
    /// `higher`, `lower` or `neither`.
    pub better: String,
    pub data_owner: String,
    pub frequency: String,
    /// `uploaded` or `computed`.
    pub source: String,
    pub target: Option<f64>,
    /// Values under this are suppressed by area and group; `None` if they do not count people.
    pub small_number_threshold: Option<i32>,
    pub public: bool,
    /// `mdc` (NHS England's Making Data Count) or `nhsr` (the NHS-R NHSRplotthedots variant).
    pub spc_rules: String,
    /// Months from the start of each period of the chart that its mean and limits come from.
    pub spc_baseline: Option<i32>,
}

impl Indicator {
    /// Orders references as numbers: 1.7 before 1.12.
    pub fn sort_key(&self) -> (u32, u32, String) {
        reference_key(&self.reference)
    }
}

/// `"4.10"` → `(4, 10)`, for ordering references the way people read them.
pub fn reference_key(reference: &str) -> (u32, u32, String) {
    let mut parts = reference.splitn(2, '.');
    let major = parts
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(u32::MAX);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor, reference.to_string())
}

/// One value to load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewValue {
    pub indicator_ref: String,
    /// `YYYY-MM`.
    pub period: String,
    pub area: String,
    pub dimension: String,
    pub group: String,
    pub value: f64,
    pub denominator: Option<f64>,
}

/// A current value.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Value {
    pub indicator_ref: String,
    pub period: String,
    pub area: String,
    pub dimension: String,
    pub grp: String,
    pub value: f64,
    pub denominator: Option<f64>,
    pub revision: i32,
    pub loaded_by: String,
    pub loaded_micros: i64,
}

/// A value and every revision before it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Revision {
    pub period: String,
    pub area: String,
    pub dimension: String,
    pub grp: String,
    pub revision: i32,
    pub value: f64,
    pub current: bool,
    pub loaded_by: String,
    pub loaded_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Annotation {
    pub id: Uuid,
    pub indicator_ref: String,
    pub period: String,
    pub area: String,
    pub note: String,
    pub created_by: String,
    pub created_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Upload {
    pub id: Uuid,
    pub user_id: Uuid,
    pub filename: String,
    pub content: String,
    pub row_count: i32,
    pub status: String,
    pub uploaded_micros: i64,
}

/// What loading a set of values would do, or did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadPlan {
    /// Values for months (areas, groups) with no value yet.
    pub added: usize,
    /// Values unchanged from the current one: nothing is written.
    pub unchanged: usize,
    /// Values that replace a different current value, as `(value, previous value)`.
    pub corrections: Vec<Correction>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correction {
    pub indicator_ref: String,
    pub period: String,
    pub area: String,
    pub dimension: String,
    pub group: String,
    pub previous: f64,
    pub value: f64,
}

pub async fn upsert_outcome(
    authorised: &mut Authorised,
    outcome: &Outcome,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO outcomes (number, name) VALUES ($1, $2) \
             ON CONFLICT (number) DO UPDATE SET name = excluded.name",
        )
        .bind(outcome.number)
        .bind(&outcome.name)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Adds an indicator or updates its definition. How its SPC chart is calculated is set on
/// insert and afterwards only by [`set_spc_rules`], so reloading definitions keeps analysts'
/// choices.
pub async fn upsert_indicator(
    authorised: &mut Authorised,
    indicator: &Indicator,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO indicators (reference, outcome_number, name, unit, better, data_owner, \
             frequency, source, target, small_number_threshold, public, spc_rules, spc_baseline) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (reference) DO UPDATE SET outcome_number = excluded.outcome_number, \
             name = excluded.name, unit = excluded.unit, better = excluded.better, \
             data_owner = excluded.data_owner, frequency = excluded.frequency, \
             source = excluded.source, target = excluded.target, \
             small_number_threshold = excluded.small_number_threshold, public = excluded.public",
        )
        .bind(&indicator.reference)
        .bind(indicator.outcome_number)
        .bind(&indicator.name)
        .bind(&indicator.unit)
        .bind(&indicator.better)
        .bind(&indicator.data_owner)
        .bind(&indicator.frequency)
        .bind(&indicator.source)
        .bind(indicator.target)
        .bind(indicator.small_number_threshold)
        .bind(indicator.public)
        .bind(&indicator.spc_rules)
        .bind(indicator.spc_baseline)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Sets the rule set (`mdc` or `nhsr`) and baseline of an indicator's SPC charts.
pub async fn set_spc_rules(
    authorised: &mut Authorised,
    reference: &str,
    rules: &str,
    baseline: Option<i32>,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let changed = on_tx!(tx, c => {
        sqlx::query("UPDATE indicators SET spc_rules = $1, spc_baseline = $2 WHERE reference = $3")
            .bind(rules)
            .bind(baseline)
            .bind(reference)
            .execute(c)
            .await?
            .rows_affected()
    });
    if changed == 1 {
        Ok(())
    } else {
        Err(StorageError::NotFound)
    }
}

/// A month from which an indicator's mean and limits are calculated afresh (a change in how
/// the service works, say), for every area and group of the indicator.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Recalculation {
    pub indicator_ref: String,
    /// `YYYY-MM`.
    pub period: String,
    pub reason: String,
    pub created_by: String,
    pub created_micros: i64,
}

/// Adds a recalculation point; `Conflict` if the indicator already has one at that month.
pub async fn add_recalculation(
    authorised: &mut Authorised,
    recalculation: &Recalculation,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let added = on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO indicator_recalculations (indicator_ref, period, reason, created_by, \
             created_micros) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (indicator_ref, period) DO NOTHING",
        )
        .bind(&recalculation.indicator_ref)
        .bind(&recalculation.period)
        .bind(&recalculation.reason)
        .bind(&recalculation.created_by)
        .bind(recalculation.created_micros)
        .execute(c)
        .await?
        .rows_affected()
    });
    if added == 1 {
        Ok(())
    } else {
        Err(StorageError::Conflict(
            "The limits are already recalculated from that month".into(),
        ))
    }
}

pub async fn remove_recalculation(
    authorised: &mut Authorised,
    reference: &str,
    period: &str,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let removed = on_tx!(tx, c => {
        sqlx::query("DELETE FROM indicator_recalculations WHERE indicator_ref = $1 AND period = $2")
            .bind(reference)
            .bind(period)
            .execute(c)
            .await?
            .rows_affected()
    });
    if removed == 1 {
        Ok(())
    } else {
        Err(StorageError::NotFound)
    }
}

/// Every recalculation point of every indicator, by indicator and month: the dashboard judges
/// each indicator with its own.
pub async fn all_recalculations(db: &Db) -> Result<Vec<Recalculation>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT indicator_ref, period, reason, created_by, created_micros \
             FROM indicator_recalculations ORDER BY indicator_ref, period",
        )
        .fetch_all(pool)
        .await?
    }))
}

pub async fn recalculations(db: &Db, reference: &str) -> Result<Vec<Recalculation>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT indicator_ref, period, reason, created_by, created_micros \
             FROM indicator_recalculations WHERE indicator_ref = $1 ORDER BY period",
        )
        .bind(reference)
        .fetch_all(pool)
        .await?
    }))
}

pub async fn list_outcomes(db: &Db) -> Result<Vec<Outcome>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT number, name FROM outcomes ORDER BY number")
            .fetch_all(pool)
            .await?
    }))
}

macro_rules! indicator_columns {
    () => {
        "reference, outcome_number, name, unit, better, data_owner, frequency, source, target, \
         small_number_threshold, public, spc_rules, spc_baseline"
    };
}

/// Every indicator, by outcome then reference (1.7 before 1.12).
pub async fn list_indicators(db: &Db) -> Result<Vec<Indicator>, StorageError> {
    let sql = concat!("SELECT ", indicator_columns!(), " FROM indicators");
    let mut indicators: Vec<Indicator> =
        on_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await?);
    indicators.sort_by_key(Indicator::sort_key);
    Ok(indicators)
}

pub async fn indicator(db: &Db, reference: &str) -> Result<Option<Indicator>, StorageError> {
    let sql = concat!(
        "SELECT ",
        indicator_columns!(),
        " FROM indicators WHERE reference = $1"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(reference).fetch_optional(pool).await?))
}

macro_rules! value_columns {
    () => {
        "indicator_ref, period, area, dimension, grp, value, denominator, revision, loaded_by, \
         loaded_micros"
    };
}

/// The current values of every indicator for one area with no breakdown, by indicator and
/// period: what the dashboard draws.
pub async fn current_values_for_area(db: &Db, area: &str) -> Result<Vec<Value>, StorageError> {
    let sql = concat!(
        "SELECT ",
        value_columns!(),
        " FROM indicator_values WHERE current AND area = $1 AND dimension = '' \
         ORDER BY indicator_ref, period"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(area).fetch_all(pool).await?))
}

/// The current values of every indicator in every area with no breakdown, by indicator, area
/// and period: what the board's grid of localities draws.
pub async fn current_values_by_area(db: &Db) -> Result<Vec<Value>, StorageError> {
    let sql = concat!(
        "SELECT ",
        value_columns!(),
        " FROM indicator_values WHERE current AND dimension = '' \
         ORDER BY indicator_ref, area, period"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(sql).fetch_all(pool).await?))
}

/// The current values of one indicator, every area and breakdown, by area, group and period.
pub async fn current_values(db: &Db, reference: &str) -> Result<Vec<Value>, StorageError> {
    let sql = concat!(
        "SELECT ",
        value_columns!(),
        " FROM indicator_values WHERE current AND indicator_ref = $1 \
         ORDER BY area, dimension, grp, period"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(reference).fetch_all(pool).await?))
}

/// Every value of one indicator that has been corrected, with all its revisions, newest
/// first: the record of what changed.
pub async fn corrections(db: &Db, reference: &str) -> Result<Vec<Revision>, StorageError> {
    let sql = "SELECT v.period, v.area, v.dimension, v.grp, v.revision, v.value, v.current, \
               v.loaded_by, v.loaded_micros FROM indicator_values v \
               WHERE v.indicator_ref = $1 AND EXISTS (SELECT 1 FROM indicator_values w \
               WHERE w.indicator_ref = v.indicator_ref AND w.period = v.period \
               AND w.area = v.area AND w.dimension = v.dimension AND w.grp = v.grp \
               AND w.revision > 1) \
               ORDER BY v.period DESC, v.area, v.dimension, v.grp, v.revision DESC";
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(reference).fetch_all(pool).await?))
}

async fn current_of(
    authorised: &mut Authorised,
    value: &NewValue,
) -> Result<Option<(i32, f64, Option<f64>)>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT revision, value, denominator FROM indicator_values \
             WHERE indicator_ref = $1 AND period = $2 AND area = $3 AND dimension = $4 \
             AND grp = $5 AND current",
        )
        .bind(&value.indicator_ref)
        .bind(&value.period)
        .bind(&value.area)
        .bind(&value.dimension)
        .bind(&value.group)
        .fetch_optional(c)
        .await?
    }))
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn same_denominator(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Loads values: a new month is added, a different value becomes a new current revision, an
/// identical one is left alone. With `commit` false nothing is written: the answer is the
/// preview of what committing would do.
pub async fn load_values(
    authorised: &mut Authorised,
    values: &[NewValue],
    loaded_by: &str,
    upload_id: Option<Uuid>,
    commit: bool,
) -> Result<LoadPlan, StorageError> {
    let mut plan = LoadPlan::default();
    let at = now_micros();
    for value in values {
        let current = current_of(authorised, value).await?;
        let revision = match current {
            Some((_, old, denominator))
                if same(old, value.value) && same_denominator(denominator, value.denominator) =>
            {
                plan.unchanged += 1;
                continue;
            }
            Some((revision, old, _)) => {
                plan.corrections.push(Correction {
                    indicator_ref: value.indicator_ref.clone(),
                    period: value.period.clone(),
                    area: value.area.clone(),
                    dimension: value.dimension.clone(),
                    group: value.group.clone(),
                    previous: old,
                    value: value.value,
                });
                revision + 1
            }
            None => {
                plan.added += 1;
                1
            }
        };
        if !commit {
            continue;
        }
        let tx = &mut authorised.tx;
        on_tx!(tx, c => {
            if revision > 1 {
                sqlx::query(
                    "UPDATE indicator_values SET current = FALSE WHERE indicator_ref = $1 \
                     AND period = $2 AND area = $3 AND dimension = $4 AND grp = $5 AND current",
                )
                .bind(&value.indicator_ref)
                .bind(&value.period)
                .bind(&value.area)
                .bind(&value.dimension)
                .bind(&value.group)
                .execute(&mut *c)
                .await?;
            }
            sqlx::query(
                "INSERT INTO indicator_values (indicator_ref, period, area, dimension, grp, \
                 revision, value, denominator, current, upload_id, loaded_by, loaded_micros) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, $9, $10, $11)",
            )
            .bind(&value.indicator_ref)
            .bind(&value.period)
            .bind(&value.area)
            .bind(&value.dimension)
            .bind(&value.group)
            .bind(revision)
            .bind(value.value)
            .bind(value.denominator)
            .bind(upload_id)
            .bind(loaded_by)
            .bind(at)
            .execute(&mut *c)
            .await?;
        });
    }
    Ok(plan)
}

/// Inserts values for months (areas, groups) that have none yet, as their first revision, in
/// one statement per backend: for the demo and for bulk loads into an empty framework. A value
/// that already exists fails the whole insert; use [`load_values`] for corrections.
pub async fn insert_new_values(
    authorised: &mut Authorised,
    values: &[NewValue],
    loaded_by: &str,
) -> Result<(), StorageError> {
    let rows: Vec<serde_json::Value> = values
        .iter()
        .map(|v| {
            serde_json::json!({
                "i": v.indicator_ref, "p": v.period, "a": v.area, "d": v.dimension,
                "g": v.group, "v": v.value, "n": v.denominator,
            })
        })
        .collect();
    let json = serde_json::Value::Array(rows).to_string();
    let at = now_micros();
    match &mut authorised.tx {
        crate::Tx::Sqlite(t, _) => {
            sqlx::query(
                "INSERT INTO indicator_values (indicator_ref, period, area, dimension, grp, \
                 revision, value, denominator, current, upload_id, loaded_by, loaded_micros) \
                 SELECT json_extract(j.value, '$.i'), json_extract(j.value, '$.p'), \
                 json_extract(j.value, '$.a'), json_extract(j.value, '$.d'), \
                 json_extract(j.value, '$.g'), 1, json_extract(j.value, '$.v'), \
                 json_extract(j.value, '$.n'), TRUE, NULL, $2, $3 FROM json_each($1) AS j",
            )
            .bind(&json)
            .bind(loaded_by)
            .bind(at)
            .execute(&mut **t)
            .await?;
        }
        crate::Tx::Postgres(t) => {
            sqlx::query(
                "INSERT INTO indicator_values (indicator_ref, period, area, dimension, grp, \
                 revision, value, denominator, current, upload_id, loaded_by, loaded_micros) \
                 SELECT r.i, r.p, r.a, r.d, r.g, 1, r.v, r.n, TRUE, NULL, $2, $3 \
                 FROM jsonb_to_recordset($1::jsonb) AS r(i TEXT, p TEXT, a TEXT, d TEXT, g TEXT, \
                 v DOUBLE PRECISION, n DOUBLE PRECISION)",
            )
            .bind(&json)
            .bind(loaded_by)
            .bind(at)
            .execute(&mut **t)
            .await?;
        }
    }
    Ok(())
}

pub async fn save_upload(
    authorised: &mut Authorised,
    id: Uuid,
    user_id: Uuid,
    filename: &str,
    content: &str,
    row_count: usize,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO indicator_uploads (id, user_id, filename, content, row_count, status, \
             uploaded_micros) VALUES ($1, $2, $3, $4, $5, 'previewed', $6)",
        )
        .bind(id)
        .bind(user_id)
        .bind(filename)
        .bind(content)
        .bind(row_count as i32)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    Ok(())
}

pub async fn upload(db: &Db, id: Uuid) -> Result<Option<Upload>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, user_id, filename, content, row_count, status, uploaded_micros \
             FROM indicator_uploads WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    }))
}

/// Marks a previewed upload committed; `Conflict` if it already was (a second click).
pub async fn mark_committed(authorised: &mut Authorised, id: Uuid) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let done = on_tx!(tx, c => {
        sqlx::query(
            "UPDATE indicator_uploads SET status = 'committed', committed_micros = $1 \
             WHERE id = $2 AND status = 'previewed'",
        )
        .bind(now_micros())
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
    });
    if done == 1 {
        Ok(())
    } else {
        Err(StorageError::Conflict(
            "This file has already been loaded".into(),
        ))
    }
}

pub async fn add_annotation(
    authorised: &mut Authorised,
    annotation: &Annotation,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO indicator_annotations (id, indicator_ref, period, area, note, \
             created_by, created_micros) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(annotation.id)
        .bind(&annotation.indicator_ref)
        .bind(&annotation.period)
        .bind(&annotation.area)
        .bind(&annotation.note)
        .bind(&annotation.created_by)
        .bind(annotation.created_micros)
        .execute(c)
        .await?;
    });
    Ok(())
}

pub async fn annotations(db: &Db, reference: &str) -> Result<Vec<Annotation>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, indicator_ref, period, area, note, created_by, created_micros \
             FROM indicator_annotations WHERE indicator_ref = $1 ORDER BY period, created_micros",
        )
        .bind(reference)
        .fetch_all(pool)
        .await?
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_sort_as_numbers() {
        let mut refs = vec!["1.12", "4.10", "1.7", "4.9", "10.1"];
        refs.sort_by_key(|r| reference_key(r));
        assert_eq!(refs, ["1.7", "1.12", "4.9", "4.10", "10.1"]);
    }

    #[test]
    fn values_compare_with_a_relative_tolerance() {
        assert!(same(0.1 + 0.2, 0.3));
        assert!(!same(2898.0, 2899.0));
        assert!(same_denominator(None, None));
        assert!(!same_denominator(Some(1.0), None));
    }
}
