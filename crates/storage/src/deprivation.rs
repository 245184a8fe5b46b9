//! Deprivation: editions of the English Indices of Deprivation by LSOA, and the counts the
//! spend-against-need page is made of. Counts and sums only: no family is ever read here, and
//! payments are placed by their family's postcode inside the query.

use crate::case_load::{Cell, Rows};
use crate::gate::{self, Authorised};
use crate::{Db, StorageError, Tx, now_micros, on_pool, on_tx};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::deprivation::{Area, AwardsAt, Edition, ImdRow, PaymentsAt};
use serde::Serialize;
use std::collections::HashSet;
use uuid::Uuid;

/// An edition as loaded.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EditionRow {
    pub edition: i64,
    pub source: String,
    pub synthetic: bool,
    pub lsoas: i64,
}

/// The editions loaded, newest first.
pub async fn editions(tx: &mut Tx) -> Result<Vec<EditionRow>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT e.edition, e.source, e.synthetic, \
             (SELECT COUNT(*) FROM imd i WHERE i.edition = e.edition) AS lsoas \
             FROM imd_editions e ORDER BY e.edition DESC",
        )
        .fetch_all(c)
        .await?
    }))
}

/// The LSOAs of the postcodes loaded: the city's (empty when no postcode has one).
pub async fn city_lsoas(tx: &mut Tx) -> Result<HashSet<String>, StorageError> {
    let lsoas: Vec<String> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT DISTINCT lsoa FROM postcodes WHERE lsoa IS NOT NULL")
            .fetch_all(c)
            .await?
    });
    Ok(lsoas.into_iter().collect())
}

/// Replaces an edition with `rows`, in the permit's transaction: all of it or, if the
/// transaction is not committed, none.
pub async fn replace_edition<R>(
    authorised: &mut Authorised<R>,
    edition: Edition,
    source: &str,
    synthetic: bool,
    rows: &[ImdRow],
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let year = i64::from(edition.year());
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM imd WHERE edition = $1")
            .bind(year)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO imd_editions (edition, source, synthetic, loaded_micros) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (edition) DO UPDATE SET source = excluded.source, \
             synthetic = excluded.synthetic, loaded_micros = excluded.loaded_micros",
        )
        .bind(year)
        .bind(source)
        .bind(synthetic)
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
    });
    let mut insert = Rows::new("INSERT INTO imd (edition, lsoa, imd_rank, decile)", 4);
    for row in rows {
        insert.push([
            Cell::Int(year),
            Cell::Text(row.lsoa.clone()),
            Cell::Int(i64::from(row.rank)),
            Cell::Int(i64::from(row.decile)),
        ]);
    }
    insert.insert(tx).await
}

/// The city's LSOAs (those of postcodes placed in a locality): the middle of their postcodes,
/// the locality most of them are in, and their decile in `edition`.
pub async fn areas(tx: &mut Tx, edition: Option<Edition>) -> Result<Vec<Area>, StorageError> {
    type Group = (String, String, i64, f64, f64, Option<i64>);
    let year = edition.map(|e| i64::from(e.year()));
    let groups: Vec<Group> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT pc.lsoa, pc.locality_slug, COUNT(*), AVG(pc.latitude), AVG(pc.longitude), i.decile \
             FROM postcodes pc LEFT JOIN imd i ON i.edition = $1 AND i.lsoa = pc.lsoa \
             WHERE pc.lsoa IS NOT NULL AND pc.locality_slug IS NOT NULL \
             GROUP BY pc.lsoa, pc.locality_slug, i.decile",
        )
        .bind(year)
        .fetch_all(c)
        .await?
    });
    // An LSOA split between localities belongs to the one with most of its postcodes (the
    // first by name on a tie); its middle is that of all its postcodes.
    struct Sum {
        postcodes: i64,
        latitude: f64,
        longitude: f64,
        best: (i64, String),
        decile: Option<i64>,
    }
    let mut sums: std::collections::BTreeMap<String, Sum> = Default::default();
    for (lsoa, locality, count, latitude, longitude, decile) in groups {
        let sum = sums.entry(lsoa).or_insert(Sum {
            postcodes: 0,
            latitude: 0.0,
            longitude: 0.0,
            best: (0, String::new()),
            decile,
        });
        sum.postcodes += count;
        sum.latitude += latitude * count as f64;
        sum.longitude += longitude * count as f64;
        if count > sum.best.0 {
            sum.best = (count, locality);
        }
    }
    let areas = sums
        .into_iter()
        .map(|(lsoa, sum)| Area {
            lsoa,
            locality: sum.best.1,
            latitude: sum.latitude / sum.postcodes as f64,
            longitude: sum.longitude / sum.postcodes as f64,
            decile: sum.decile.and_then(|d| u8::try_from(d).ok()),
        })
        .collect();
    Ok(areas)
}

/// Payments to families approved or paid (of one programme, or all), by the locality they
/// were counted in and the LSOA of the family's postcode, as last counted by [`refresh`]; and
/// when that was (none: not yet).
pub async fn payments(
    tx: &mut Tx,
    programme: Option<Uuid>,
) -> Result<(Vec<PaymentsAt>, Option<i64>), StorageError> {
    type Row = (String, Option<String>, i64, i64, i64);
    let (rows, counted): (Vec<Row>, Option<i64>) = on_tx!(tx, c => {
        let rows = sqlx::query_as(
            "SELECT locality_slug, lsoa, payments, families, pence FROM spend_places \
             WHERE ($1 IS NULL AND programme_id IS NULL) OR programme_id = $1",
        )
        .bind(programme)
        .fetch_all(&mut *c)
        .await?;
        let counted = sqlx::query_scalar("SELECT refreshed_micros FROM spend_places_refresh WHERE id = 1")
            .fetch_optional(&mut *c)
            .await?;
        (rows, counted)
    });
    let places = rows
        .into_iter()
        .map(|(locality, lsoa, payments, families, pence)| PaymentsAt {
            locality,
            lsoa,
            payments,
            families,
            pence,
        })
        .collect();
    Ok((places, counted))
}

/// Counted again at least this often, whatever else: to follow what the fingerprint does not
/// see (a family's postcode cut to its district by retention, a postcode moved to another LSOA).
const AT_LEAST_EVERY_MICROS: i64 = 60 * 60 * 1_000_000;

/// What a count of payments by place rests on: the payments that count and when the last was
/// decided (a payment counts once approved, and is never unapproved), the families and their
/// last change, and the postcodes loaded.
async fn fingerprint(db: &Db) -> Result<String, StorageError> {
    type Seen = (i64, i64, i64, i64, i64);
    let seen: Seen = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM payments WHERE state IN ('approved', 'paid')), \
             (SELECT COALESCE(MAX(decided_micros), 0) FROM payments), \
             (SELECT COUNT(*) FROM families), \
             (SELECT COALESCE(MAX(updated_micros), 0) FROM families), \
             (SELECT COUNT(*) FROM postcodes WHERE lsoa IS NOT NULL)",
        )
        .fetch_one(pool)
        .await?
    });
    Ok(format!("{seen:?}"))
}

/// Counts payments by place again if what they rest on has changed since the last count, or
/// an hour has passed; answers whether it did. For the background job.
pub async fn refresh_if_stale(db: &Db) -> Result<bool, StorageError> {
    let now = fingerprint(db).await?;
    let last: Option<(String, i64)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT fingerprint, refreshed_micros FROM spend_places_refresh WHERE id = 1")
            .fetch_optional(pool)
            .await?
    });
    let fresh =
        last.is_some_and(|(seen, at)| seen == now && now_micros() - at < AT_LEAST_EVERY_MICROS);
    if fresh {
        return Ok(false);
    }
    refresh_with(db, &now).await?;
    Ok(true)
}

/// Counts payments by place now, in one audited transaction: every programme's and all
/// programmes' together (a family paid from two programmes is one family there).
pub async fn refresh(db: &Db) -> Result<(), StorageError> {
    let now = fingerprint(db).await?;
    refresh_with(db, &now).await
}

/// The query counting payments by place, for each programme or all together.
macro_rules! count_places {
    ($programme:literal) => {
        concat!(
            "SELECT ",
            $programme,
            "p.locality_slug, pc.lsoa, COUNT(*), COUNT(DISTINCT p.family_id), \
             CAST(SUM(p.amount_pence) AS BIGINT) \
             FROM payments p JOIN families f ON f.id = p.family_id \
             LEFT JOIN postcodes pc ON pc.postcode = f.postcode \
             WHERE p.state IN ('approved', 'paid') \
             GROUP BY ",
            $programme,
            "p.locality_slug, pc.lsoa"
        )
    };
}

/// Counts in a read transaction (which holds up no one), then replaces the counts in a short
/// audited write.
async fn refresh_with(db: &Db, fingerprint: &str) -> Result<(), StorageError> {
    type Place = (String, Option<String>, i64, i64, i64);
    type ProgrammePlace = (Uuid, String, Option<String>, i64, i64, i64);
    let mut tx = db.begin_read().await?;
    let (by_programme, all): (Vec<ProgrammePlace>, Vec<Place>) = on_tx!(&mut tx, c => {
        let by_programme = sqlx::query_as(count_places!("p.programme_id, "))
            .fetch_all(&mut *c)
            .await?;
        let all = sqlx::query_as(count_places!("")).fetch_all(&mut *c).await?;
        (by_programme, all)
    });
    tx.commit().await?;
    let mut rows = Rows::new(
        "INSERT INTO spend_places (programme_id, locality_slug, lsoa, payments, families, pence)",
        6,
    );
    let places = by_programme
        .into_iter()
        .map(|(id, l, lsoa, n, f, pence)| (Some(id), (l, lsoa, n, f, pence)))
        .chain(all.into_iter().map(|place| (None, place)));
    for (programme, (locality, lsoa, payments, families, pence)) in places {
        rows.push([
            Cell::MaybeId(programme),
            Cell::Text(locality),
            Cell::MaybeText(lsoa),
            Cell::Int(payments),
            Cell::Int(families),
            Cell::Int(pence),
        ]);
    }
    let mut authorised = gate::operator(
        db,
        "spend",
        Action::Update,
        "count payments to families by place",
    )
    .await?;
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query("DELETE FROM spend_places").execute(&mut *c).await?;
    });
    rows.insert(tx).await?;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO spend_places_refresh (id, fingerprint, refreshed_micros) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, \
             refreshed_micros = excluded.refreshed_micros",
        )
        .bind(fingerprint)
        .bind(now_micros())
        .execute(c)
        .await?;
    });
    authorised.tx.commit().await?;
    Ok(())
}

/// Community grant awards (of one programme, or all), by locality and the area their
/// beneficiaries live in.
pub async fn awards(tx: &mut Tx, programme: Option<Uuid>) -> Result<Vec<AwardsAt>, StorageError> {
    type Row = (String, String, String, i64, i64);
    let rows: Vec<Row> = on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT locality_slug, beneficiary_area, beneficiary_area_type, COUNT(*), \
             CAST(COALESCE(SUM(award_pence), 0) AS BIGINT) \
             FROM grant_applications \
             WHERE state = 'awarded' AND award_pence IS NOT NULL AND ($1 IS NULL OR programme_id = $1) \
             GROUP BY locality_slug, beneficiary_area, beneficiary_area_type",
        )
        .bind(programme)
        .fetch_all(c)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(locality, area, area_type, awards, pence)| AwardsAt {
            locality,
            area,
            area_type,
            awards,
            pence,
        })
        .collect())
}

/// Postcodes of families that the postcode directory does not hold, with the family's
/// locality: for the demo, which makes up a place for each.
pub async fn unplaced_family_postcodes(tx: &mut Tx) -> Result<Vec<(String, String)>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT DISTINCT f.postcode, f.locality_slug FROM families f \
             LEFT JOIN postcodes pc ON pc.postcode = f.postcode \
             WHERE pc.postcode IS NULL ORDER BY f.postcode",
        )
        .fetch_all(c)
        .await?
    }))
}

/// Adds postcodes not held yet, in bulk.
pub async fn add_postcodes(
    tx: &mut Tx,
    records: &[crate::directory::PostcodeRecord],
) -> Result<(), StorageError> {
    let mut rows = Rows::new(
        "INSERT INTO postcodes (postcode, outward, latitude, longitude, lsoa, local_authority, locality_slug)",
        7,
    );
    for r in records {
        let outward = r.postcode.split(' ').next().unwrap_or_default();
        rows.push([
            Cell::Text(r.postcode.clone()),
            Cell::Text(outward.to_string()),
            Cell::Real(r.latitude),
            Cell::Real(r.longitude),
            Cell::MaybeText(r.lsoa.clone()),
            Cell::MaybeText(r.local_authority.clone()),
            Cell::MaybeText(r.locality_slug.clone()),
        ]);
    }
    rows.insert(tx).await
}
