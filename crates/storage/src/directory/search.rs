//! The directory search: the text index, the narrow table of candidates the search reads
//! (`directory_candidates`, one row per service and place with only what is filtered and ranked
//! on), and the ranked search itself.
//!
//! Both the text index and the candidates are kept in step with the services in the writing
//! transaction: [`index_for_search`] when a service's text changes, [`refresh_candidates`] on
//! every write to a service's row or places. Measured in `docs/benchmarks/directory.md`.

use super::ServiceRecord;
use crate::{Db, StorageError, Tx};
use earlyhelp_domain::directory::{self as rules, Ranked};
use earlyhelp_domain::search_words;
use time::Date;
use uuid::Uuid;

/// The text search looks through: name, description, provider and needs.
pub(crate) fn search_text(name: &str, description: &str, provider: &str, needs: &[&str]) -> String {
    let mut body = format!("{name} {description} {provider}");
    for need in needs {
        body.push(' ');
        body.push_str(need);
    }
    body
}

pub(super) fn search_body(service: &ServiceRecord) -> String {
    let needs: Vec<&str> = service.terms.iter().map(|t| t.name.as_str()).collect();
    search_text(
        &service.name,
        &service.description,
        &service.organization.name,
        &needs,
    )
}

/// Keeps the text index in step, in the same transaction, and points the service's candidates
/// at it: on SQLite the FTS row's rowid (so the search matches by rowid and never reads the
/// indexed text back), on PostgreSQL a copy of the text vector.
pub(crate) async fn index_for_search(
    tx: &mut Tx,
    id: Uuid,
    body: Option<&str>,
    is_new: bool,
) -> Result<(), StorageError> {
    match tx {
        Tx::Sqlite(t, _) => {
            if !is_new {
                sqlx::query("DELETE FROM directory_search WHERE service_id = $1")
                    .bind(id)
                    .execute(&mut **t)
                    .await?;
            }
            if let Some(body) = body {
                sqlx::query("INSERT INTO directory_search (service_id, body) VALUES ($1, $2)")
                    .bind(id)
                    .bind(body)
                    .execute(&mut **t)
                    .await?;
                // An UPDATE leaves last_insert_rowid() as the INSERT above set it.
                sqlx::query(
                    "UPDATE directory_candidates SET search_rowid = last_insert_rowid() \
                     WHERE service_id = $1",
                )
                .bind(id)
                .execute(&mut **t)
                .await?;
            }
        }
        Tx::Postgres(t) => {
            sqlx::query(
                "UPDATE directory_services SET search_vector = to_tsvector('english', $2) WHERE id = $1",
            )
            .bind(id)
            .bind(body.unwrap_or(""))
            .execute(&mut **t)
            .await?;
            sqlx::query(
                "UPDATE directory_candidates c SET search_vector = s.search_vector \
                 FROM directory_services s WHERE s.id = $1 AND c.service_id = $1",
            )
            .bind(id)
            .execute(&mut **t)
            .await?;
        }
    }
    Ok(())
}

/// The candidates of service `id` as its row and places now are (none once it is merged away).
/// `$column` is the backend's link to the text index and `$search` its value: SQLite's FTS rowid
/// carried over from the rows replaced (bound as `$2`), PostgreSQL's text vector copied from the
/// service.
macro_rules! refresh_sql {
    ($column:expr, $search:expr) => {
        concat!(
            "INSERT INTO directory_candidates (service_id, place_id, organization_id, name, status, \
             review_by, minimum_age, maximum_age, free, locality_slug, last_modified_micros, \
             latitude, longitude, ",
            $column,
            ") SELECT s.id, COALESCE(l.id, s.id), s.organization_id, s.name, s.status, s.review_by, \
             s.minimum_age, s.maximum_age, s.free, s.locality_slug, s.last_modified_micros, \
             l.geo_latitude, l.geo_longitude, ",
            $search,
            " FROM directory_services s LEFT JOIN service_locations l ON l.service_id = s.id \
             WHERE s.id = $1 AND s.merged_into IS NULL"
        )
    };
}

/// Rewrites service `id`'s candidates from its row and places: called by every write to them
/// (save, merge, review), in the same transaction.
pub(crate) async fn refresh_candidates(tx: &mut Tx, id: Uuid) -> Result<(), StorageError> {
    const DELETE: &str = "DELETE FROM directory_candidates WHERE service_id = $1";
    match tx {
        Tx::Sqlite(t, _) => {
            let key: Option<Option<i64>> = sqlx::query_scalar(
                "SELECT search_rowid FROM directory_candidates WHERE service_id = $1 LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut **t)
            .await?;
            sqlx::query(DELETE).bind(id).execute(&mut **t).await?;
            sqlx::query(refresh_sql!("search_rowid", "$2"))
                .bind(id)
                .bind(key.flatten())
                .execute(&mut **t)
                .await?;
        }
        Tx::Postgres(t) => {
            sqlx::query(DELETE).bind(id).execute(&mut **t).await?;
            sqlx::query(refresh_sql!("search_vector", "s.search_vector"))
                .bind(id)
                .execute(&mut **t)
                .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Search

/// What to search for. Empty strings and `None` match everything; all filters combine with AND.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub words: Vec<String>,
    pub term_id: Option<Uuid>,
    pub taxonomy_id: Option<Uuid>,
    /// ORUK `minimum_age`: the service's minimum age is at least this.
    pub minimum_age_at_least: Option<i64>,
    /// ORUK `maximum_age`: the service's maximum age is at most this.
    pub maximum_age_at_most: Option<i64>,
    /// The public site's "age": the service takes someone this old.
    pub age: Option<i64>,
    pub free_only: bool,
    /// An RFC 5545 day code (MO..SU).
    pub day: String,
    /// "HH:MM": opens at or after.
    pub opens_from: String,
    /// "HH:MM": closes at or before.
    pub closes_by: String,
    /// Serves this locality (or the whole city).
    pub locality: String,
    pub organization_id: Option<Uuid>,
    pub modified_after_micros: Option<i64>,
    /// Measure distance from here; with a radius, only what lies within it (metres).
    pub near: Option<(f64, f64)>,
    pub within_metres: Option<f64>,
    /// The public site shows only what is running; the API shows every status.
    pub every_status: bool,
    /// Shows one provider's listings of the same name once (the public site; the API serves
    /// every record).
    pub once_per_service: bool,
}

/// One result, ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: Uuid,
    pub distance: Option<f64>,
    pub stale: bool,
}

/// The search: every filter in one literal statement over the candidates. `$term` is how the
/// need is matched (by an IN over the need's index when one is asked for, so it can drive the
/// query), `$text` the backend's text match, or nothing.
macro_rules! search_sql {
    ($term:expr, $text:expr) => {
        concat!(
            "SELECT c.service_id, c.name, c.review_by, c.latitude, c.longitude, c.organization_id \
             FROM directory_candidates c \
             WHERE ($1 OR c.status IN ('active', 'temporarily closed')) ",
            $term,
            " AND ($3 IS NULL OR EXISTS (SELECT 1 FROM service_terms st JOIN taxonomy_terms t ON t.id = st.term_id \
                  WHERE st.service_id = c.service_id AND t.taxonomy_id = $3)) \
             AND ($4 IS NULL OR c.minimum_age >= $4) \
             AND ($5 IS NULL OR c.maximum_age <= $5) \
             AND ($6 IS NULL OR (COALESCE(c.minimum_age, 0) <= $6 AND COALESCE(c.maximum_age, 200) >= $6)) \
             AND ($7 = FALSE OR c.free = TRUE) \
             AND (($8 = '' AND $9 = '' AND $10 = '') OR EXISTS (SELECT 1 FROM service_schedules sc \
                  WHERE sc.service_id = c.service_id AND ($8 = '' OR sc.byday LIKE '%' || $8 || '%') \
                  AND ($9 = '' OR sc.opens_at >= $9) AND ($10 = '' OR (sc.closes_at <> '' AND sc.closes_at <= $10)))) \
             AND ($11 = '' OR c.locality_slug = $11 OR c.locality_slug IS NULL) \
             AND ($12 IS NULL OR c.organization_id = $12) \
             AND ($13 IS NULL OR c.last_modified_micros >= $13) \
             AND ($14 IS NULL OR (c.latitude BETWEEN $14 AND $15 AND c.longitude BETWEEN $16 AND $17)) ",
            $text
        )
    };
}

/// SQLite's rows packed in one JSON row: sqlx hands each row across its worker thread, and for
/// a common word and need (3,000-odd rows) that cost more than the statement itself.
/// Coordinates travel as text of 17 digits, which JSON's numbers (15) would round.
macro_rules! packed {
    ($sql:expr) => {
        concat!(
            "SELECT json_group_array(json_array(hex(service_id), name, review_by, \
             iif(latitude IS NULL, NULL, printf('%!.17g', latitude)), \
             iif(longitude IS NULL, NULL, printf('%!.17g', longitude)), \
             hex(organization_id))) FROM (",
            $sql,
            ")"
        )
    };
}

macro_rules! any_term {
    () => {
        "AND ($2 IS NULL OR EXISTS (SELECT 1 FROM service_terms st WHERE st.service_id = c.service_id AND st.term_id = $2))"
    };
}

macro_rules! one_term {
    () => {
        "AND c.service_id IN (SELECT service_id FROM service_terms WHERE term_id = $2)"
    };
}

macro_rules! sqlite_text {
    () => {
        "AND c.search_rowid IN (SELECT rowid FROM directory_search WHERE directory_search MATCH $18)"
    };
}

macro_rules! postgres_text {
    () => {
        "AND c.search_vector @@ to_tsquery('english', $18)"
    };
}

type SearchRow = (Uuid, String, Date, Option<f64>, Option<f64>, Uuid);

/// The rows of a [`packed!`] search: ids as hex, the review date as ISO text, coordinates as
/// text.
fn unpack(json: &str) -> Result<Vec<SearchRow>, StorageError> {
    type Packed = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let bad = |what: &str| {
        StorageError::Sql(sqlx::Error::Decode(
            format!("directory search: {what}").into(),
        ))
    };
    let rows: Vec<Packed> =
        serde_json::from_str(json).map_err(|e| bad(&format!("unreadable rows: {e}")))?;
    rows.into_iter()
        .map(|(id, name, review_by, lat, lon, provider)| {
            Ok((
                Uuid::parse_str(&id).map_err(|_| bad("a service id"))?,
                name,
                earlyhelp_domain::cases::parse_date(&review_by)
                    .ok_or_else(|| bad("a review date"))?,
                coordinate(lat).map_err(|_| bad("a latitude"))?,
                coordinate(lon).map_err(|_| bad("a longitude"))?,
                Uuid::parse_str(&provider).map_err(|_| bad("a provider id"))?,
            ))
        })
        .collect()
}

fn coordinate(text: Option<String>) -> Result<Option<f64>, std::num::ParseFloatError> {
    text.map(|t| t.parse()).transpose()
}

/// The words as each backend's text search wants them: every word must match, as a prefix.
fn text_query(db: &Db, words: &[String]) -> Option<String> {
    // Each word by its stem, as a prefix: "uniforms" finds "uniform", "families" "family".
    let words: Vec<String> = words
        .iter()
        .map(|w| {
            search_words::stem(
                &w.chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect::<String>(),
            )
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(match db {
        Db::Sqlite(..) => words
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" "),
        Db::Postgres(..) => words
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & "),
    })
}

/// Every matching service, ranked: fresh before stale, then nearest (when searching from a
/// place) or most relevant, then by name. The caller takes the page it wants.
pub async fn search(db: &Db, filter: &Filter, today: Date) -> Result<Vec<Hit>, StorageError> {
    let bbox = match (filter.near, filter.within_metres) {
        (Some(centre), Some(radius)) => Some(rules::bounding_box(centre, radius)),
        _ => None,
    };
    let text = text_query(db, &filter.words);
    macro_rules! bind_filters {
        ($query:expr) => {
            $query
                .bind(filter.every_status)
                .bind(filter.term_id)
                .bind(filter.taxonomy_id)
                .bind(filter.minimum_age_at_least)
                .bind(filter.maximum_age_at_most)
                .bind(filter.age)
                .bind(filter.free_only)
                .bind(&filter.day)
                .bind(&filter.opens_from)
                .bind(&filter.closes_by)
                .bind(&filter.locality)
                .bind(filter.organization_id)
                .bind(filter.modified_after_micros)
                .bind(bbox.map(|b| b.0))
                .bind(bbox.map(|b| b.1))
                .bind(bbox.map(|b| b.2))
                .bind(bbox.map(|b| b.3))
        };
    }
    // Eight literal statements: backend x (need or not) x (words or not). Without words the
    // text parameter is bound empty and only checked to be so.
    let words = text.clone().unwrap_or_default();
    macro_rules! fetch {
        ($pool:expr, $term:expr, $text:expr) => {
            bind_filters!(sqlx::query_as(search_sql!($term, $text)))
                .bind(&words)
                .fetch_all($pool)
                .await?
        };
    }
    macro_rules! fetch_packed {
        ($pool:expr, $term:expr, $text:expr) => {
            unpack(
                &bind_filters!(sqlx::query_scalar::<_, String>(packed!(search_sql!(
                    $term, $text
                ))))
                .bind(&words)
                .fetch_one($pool)
                .await?,
            )?
        };
    }
    let mut rows: Vec<SearchRow> = match (db, text.is_some(), filter.term_id.is_some()) {
        (Db::Sqlite(pool, _), true, true) => fetch_packed!(pool, one_term!(), sqlite_text!()),
        (Db::Sqlite(pool, _), true, false) => fetch_packed!(pool, any_term!(), sqlite_text!()),
        (Db::Sqlite(pool, _), false, true) => fetch_packed!(pool, one_term!(), "AND $18 = ''"),
        (Db::Sqlite(pool, _), false, false) => fetch_packed!(pool, any_term!(), "AND $18 = ''"),
        (Db::Postgres(pool, _), true, true) => fetch!(pool, one_term!(), postgres_text!()),
        (Db::Postgres(pool, _), true, false) => fetch!(pool, any_term!(), postgres_text!()),
        (Db::Postgres(pool, _), false, true) => fetch!(pool, one_term!(), "AND $18 = ''"),
        (Db::Postgres(pool, _), false, false) => fetch!(pool, any_term!(), "AND $18 = ''"),
    };
    // By service, so that of one provider's same-named listings the same one always stands
    // for them (both databases order ids as their bytes, as `Uuid` does).
    rows.sort_unstable_by_key(|row| row.0);
    // Ranked by the words and the words of their synonyms (one small read, not per row).
    let rank_words = if filter.words.is_empty() {
        Vec::new()
    } else {
        search_words::with_synonyms(&filter.words, &crate::search_synonyms::groups(db).await?)
    };
    let mut ranked: Vec<Ranked<Uuid>> = Vec::with_capacity(rows.len());
    let mut index: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    // One provider's listings of the same name are one service (entered twice, or once per
    // place): shown once, at its nearest place.
    let mut by_name: std::collections::HashMap<(Uuid, String), usize> =
        std::collections::HashMap::new();
    for (id, name, review_by, lat, lon, provider) in rows {
        let distance = match (filter.near, lat, lon) {
            (Some(centre), Some(lat), Some(lon)) => {
                Some(rules::haversine_metres(centre, (lat, lon)))
            }
            _ => None,
        };
        if let (Some(limit), Some(d)) = (filter.within_metres, distance)
            && d > limit
        {
            continue;
        }
        if filter.within_metres.is_some() && distance.is_none() {
            continue;
        }
        let key = if filter.once_per_service {
            (provider, rules::name_key(&name))
        } else {
            (id, String::new())
        };
        let seen = index.get(&id).or_else(|| by_name.get(&key)).copied();
        if let Some(i) = seen {
            index.insert(id, i);
        }
        match seen.as_ref() {
            // A service at several places: its nearest counts.
            Some(&i) => {
                if let Some(d) = distance
                    && ranked[i].distance.is_none_or(|old| d < old)
                {
                    ranked[i].distance = Some(d);
                }
            }
            None => {
                index.insert(id, ranked.len());
                by_name.insert(key, ranked.len());
                ranked.push(Ranked {
                    item: id,
                    stale: rules::is_stale(review_by, today),
                    distance,
                    // Every row already matches the words; the name says how well.
                    relevance: rules::relevance(&rank_words, &name, ""),
                    name,
                });
            }
        }
    }
    rules::rank(&mut ranked);
    Ok(ranked
        .into_iter()
        .map(|r| Hit {
            id: r.item,
            distance: r.distance,
            stale: r.stale,
        })
        .collect())
}
