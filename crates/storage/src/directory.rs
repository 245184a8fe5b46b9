//! The directory of community support: organisations, services, their locations, schedules and
//! needs, held to Open Referral UK 3.0; postcodes; search; the history of changes, approvals,
//! duplicates and merges.
//!
//! Directory data is not personal: public reads take the pool directly. Every change takes an
//! [`Authorised`] transaction, so staff changes pass the gate and are audited.

use crate::gate::Authorised;
use crate::{Db, StorageError, Tx, now_micros, on_pool, on_tx};
use earlyhelp_domain::directory::{
    self as rules, DuplicateScore, ListingKey, NEEDS, NEEDS_TAXONOMY_ID, Postcode, ServiceDetail,
    need_id,
};
use earlyhelp_domain::links::{WebLink, optional_link};
use earlyhelp_domain::search_words;

pub use crate::listing_changes::ListingEdit;
use search::search_body;
pub use search::{Filter, Hit, search};
pub(crate) use search::{index_for_search, refresh_candidates, search_text};

mod search;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Records

#[derive(Debug, Clone, Default, Serialize)]
pub struct OrganizationRecord {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub email: Option<String>,
    pub website: Option<WebLink>,
    pub charity_number: Option<String>,
    pub partner_organisation_id: Option<Uuid>,
    pub last_modified_micros: i64,
    pub source: String,
    pub source_id: Option<String>,
    pub fetched_micros: Option<i64>,
}

/// An organisation's row as stored: its website is text until it has been read as a link.
#[derive(sqlx::FromRow)]
struct OrganizationDbRow {
    id: Uuid,
    name: String,
    description: String,
    email: Option<String>,
    website: Option<String>,
    charity_number: Option<String>,
    partner_organisation_id: Option<Uuid>,
    last_modified_micros: i64,
    source: String,
    source_id: Option<String>,
    fetched_micros: Option<i64>,
}

/// A stored website that is not a web link (written before links were checked) is not shown
/// or served; `earlyhelp directory check-links` lists it.
fn stored_link(raw: Option<String>) -> Option<WebLink> {
    raw.and_then(|raw| WebLink::parse(&raw).ok())
}

impl From<OrganizationDbRow> for OrganizationRecord {
    fn from(row: OrganizationDbRow) -> Self {
        OrganizationRecord {
            id: row.id,
            name: row.name,
            description: row.description,
            email: row.email,
            website: stored_link(row.website),
            charity_number: row.charity_number,
            partner_organisation_id: row.partner_organisation_id,
            last_modified_micros: row.last_modified_micros,
            source: row.source,
            source_id: row.source_id,
            fetched_micros: row.fetched_micros,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct LocationRecord {
    /// The service_at_location's id.
    pub id: Uuid,
    pub location_id: Uuid,
    pub name: Option<String>,
    pub address_1: String,
    pub city: String,
    pub postcode: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Where we place it: its own coordinates, or else its postcode's.
    pub geo_latitude: Option<f64>,
    pub geo_longitude: Option<f64>,
    pub accessibility: String,
}

#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct ScheduleRecord {
    pub id: Uuid,
    pub freq: String,
    pub byday: String,
    pub opens_at: String,
    pub closes_at: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TermRecord {
    pub id: Uuid,
    pub taxonomy_id: Uuid,
    pub code: String,
    pub name: String,
    pub description: String,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TaxonomyRecord {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub uri: Option<String>,
    pub version: Option<String>,
}

/// A service with everything about it.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRecord {
    pub id: Uuid,
    pub organization: OrganizationRecord,
    pub name: String,
    pub description: String,
    pub url: Option<WebLink>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// active, inactive, defunct or temporarily closed.
    pub status: String,
    pub minimum_age: Option<i64>,
    pub maximum_age: Option<i64>,
    pub free: bool,
    pub fees_description: Option<String>,
    pub alert: Option<String>,
    pub locality_slug: Option<String>,
    pub owner_organisation_id: Uuid,
    pub review_by: Date,
    pub assured_date: Option<Date>,
    pub assurer_email: Option<String>,
    pub last_modified_micros: i64,
    pub merged_into: Option<Uuid>,
    pub detail: ServiceDetail,
    pub source: String,
    pub source_id: Option<String>,
    pub fetched_micros: Option<i64>,
    pub locations: Vec<LocationRecord>,
    pub schedules: Vec<ScheduleRecord>,
    pub terms: Vec<TermRecord>,
}

impl ServiceRecord {
    pub fn is_stale(&self, today: Date) -> bool {
        rules::is_stale(self.review_by, today)
    }

    pub fn key(&self) -> ListingKey {
        ListingKey {
            name: self.name.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            postcode: self.locations.first().and_then(|l| l.postcode.clone()),
            website: self.url.as_ref().map(WebLink::to_string),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ServiceDbRow {
    id: Uuid,
    organization_id: Uuid,
    name: String,
    description: String,
    url: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    status: String,
    minimum_age: Option<i64>,
    maximum_age: Option<i64>,
    free: bool,
    fees_description: Option<String>,
    alert: Option<String>,
    locality_slug: Option<String>,
    owner_organisation_id: Uuid,
    review_by: Date,
    assured_date: Option<Date>,
    assurer_email: Option<String>,
    last_modified_micros: i64,
    merged_into: Option<Uuid>,
    detail: String,
    source: String,
    source_id: Option<String>,
    fetched_micros: Option<i64>,
}

macro_rules! service_columns {
    () => {
        "id, organization_id, name, description, url, email, phone, status, minimum_age, \
         maximum_age, free, fees_description, alert, locality_slug, owner_organisation_id, \
         review_by, assured_date, assurer_email, last_modified_micros, merged_into, detail, \
         source, source_id, fetched_micros"
    };
}

macro_rules! organization_columns {
    () => {
        "id, name, description, email, website, charity_number, partner_organisation_id, \
         last_modified_micros, source, source_id, fetched_micros"
    };
}

macro_rules! location_columns {
    () => {
        "id, location_id, name, address_1, city, postcode, latitude, longitude, geo_latitude, \
         geo_longitude, accessibility"
    };
}

pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

// ---------------------------------------------------------------------------------------------
// Taxonomy

/// Creates (or refreshes) our taxonomy of needs with its fixed ids.
pub async fn ensure_needs_taxonomy(authorised: &mut Authorised) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO taxonomies (id, name, description, uri, version) VALUES ($1, $2, $3, NULL, $4) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description",
        )
        .bind(NEEDS_TAXONOMY_ID)
        .bind("Family needs")
        .bind("The reasons families ask for help and the family services they look for.")
        .bind("1")
        .execute(&mut *c)
        .await?;
        for (position, need) in NEEDS.iter().enumerate() {
            sqlx::query(
                "INSERT INTO taxonomy_terms (id, taxonomy_id, code, name, description, parent_id, position) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
                 name = excluded.name, description = excluded.description, position = excluded.position",
            )
            .bind(need_id(need.code))
            .bind(NEEDS_TAXONOMY_ID)
            .bind(need.code)
            .bind(need.name)
            .bind(need.description)
            .bind(need.parent.and_then(need_id))
            .bind(position as i64)
            .execute(&mut *c)
            .await?;
        }
    });
    Ok(())
}

/// Adds a taxonomy term from another directory's feed, keeping its id.
pub async fn upsert_term(
    authorised: &mut Authorised,
    taxonomy: &TaxonomyRecord,
    term: &TermRecord,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO taxonomies (id, name, description, uri, version) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(taxonomy.id)
        .bind(&taxonomy.name)
        .bind(&taxonomy.description)
        .bind(&taxonomy.uri)
        .bind(&taxonomy.version)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO taxonomy_terms (id, taxonomy_id, code, name, description, parent_id, position) \
             VALUES ($1, $2, $3, $4, $5, NULL, 1000) ON CONFLICT (id) DO UPDATE SET \
             name = excluded.name, description = excluded.description",
        )
        .bind(term.id)
        .bind(term.taxonomy_id)
        .bind(&term.code)
        .bind(&term.name)
        .bind(&term.description)
        .execute(&mut *c)
        .await?;
    });
    Ok(())
}

pub async fn list_taxonomies(db: &Db) -> Result<Vec<TaxonomyRecord>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, name, description, uri, version FROM taxonomies ORDER BY name")
            .fetch_all(pool)
            .await?
    }))
}

pub async fn taxonomy(db: &Db, id: Uuid) -> Result<Option<TaxonomyRecord>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT id, name, description, uri, version FROM taxonomies WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Terms, of one taxonomy or of all, in their order.
pub async fn list_terms(
    db: &Db,
    taxonomy_id: Option<Uuid>,
) -> Result<Vec<TermRecord>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, taxonomy_id, code, name, description, parent_id FROM taxonomy_terms \
             WHERE ($1 IS NULL OR taxonomy_id = $1) ORDER BY taxonomy_id, position, name",
        )
        .bind(taxonomy_id)
        .fetch_all(pool)
        .await?
    }))
}

pub async fn term(db: &Db, id: Uuid) -> Result<Option<TermRecord>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, taxonomy_id, code, name, description, parent_id FROM taxonomy_terms WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    }))
}

// ---------------------------------------------------------------------------------------------
// Postcodes

#[derive(Debug, Clone, Default, Serialize, Deserialize, sqlx::FromRow)]
pub struct PostcodeRecord {
    pub postcode: String,
    pub latitude: f64,
    pub longitude: f64,
    pub lsoa: Option<String>,
    pub local_authority: Option<String>,
    pub locality_slug: Option<String>,
}

/// Where a postcode is, and which locality it is in.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub postcode: String,
    pub latitude: f64,
    pub longitude: f64,
    pub locality_slug: Option<String>,
}

pub async fn upsert_postcode(tx: &mut Tx, record: &PostcodeRecord) -> Result<(), StorageError> {
    let outward = record.postcode.split(' ').next().unwrap_or_default();
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO postcodes (postcode, outward, latitude, longitude, lsoa, local_authority, locality_slug) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (postcode) DO UPDATE SET \
             latitude = excluded.latitude, longitude = excluded.longitude, lsoa = excluded.lsoa, \
             local_authority = excluded.local_authority, \
             locality_slug = COALESCE(excluded.locality_slug, postcodes.locality_slug)",
        )
        .bind(&record.postcode)
        .bind(outward)
        .bind(record.latitude)
        .bind(record.longitude)
        .bind(&record.lsoa)
        .bind(&record.local_authority)
        .bind(&record.locality_slug)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Records that an LSOA lies in a locality, and places its postcodes there.
pub async fn upsert_lsoa_locality(
    tx: &mut Tx,
    lsoa: &str,
    locality_slug: &str,
) -> Result<(), StorageError> {
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO lsoa_localities (lsoa, locality_slug) VALUES ($1, $2) \
             ON CONFLICT (lsoa) DO UPDATE SET locality_slug = excluded.locality_slug",
        )
        .bind(lsoa)
        .bind(locality_slug)
        .execute(&mut *c)
        .await?;
        sqlx::query("UPDATE postcodes SET locality_slug = $2 WHERE lsoa = $1")
            .bind(lsoa)
            .bind(locality_slug)
            .execute(&mut *c)
            .await?;
    });
    Ok(())
}

/// The locality of an LSOA, if an administrator has said.
pub async fn lsoa_locality(tx: &mut Tx, lsoa: &str) -> Result<Option<String>, StorageError> {
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar("SELECT locality_slug FROM lsoa_localities WHERE lsoa = $1")
            .bind(lsoa)
            .fetch_optional(c)
            .await?
    }))
}

/// Every LSOA with the locality it is in, by LSOA.
pub async fn lsoa_localities(db: &Db) -> Result<Vec<(String, String)>, StorageError> {
    Ok(on_pool!(db, p => {
        sqlx::query_as("SELECT lsoa, locality_slug FROM lsoa_localities ORDER BY lsoa")
            .fetch_all(p)
            .await?
    }))
}

pub async fn count_postcodes(db: &Db) -> Result<i64, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM postcodes").fetch_one(pool).await?
    }))
}

/// Places a postcode; an outward code alone ("B23") is placed at the middle of its postcodes.
pub async fn locate(db: &Db, postcode: &Postcode) -> Result<Option<Place>, StorageError> {
    match postcode {
        Postcode::Full(code) => {
            let row: Option<(f64, f64, Option<String>)> = on_pool!(db, pool => {
                sqlx::query_as(
                    "SELECT latitude, longitude, locality_slug FROM postcodes WHERE postcode = $1",
                )
                .bind(code)
                .fetch_optional(pool)
                .await?
            });
            match row {
                Some((latitude, longitude, locality_slug)) => Ok(Some(Place {
                    postcode: code.clone(),
                    latitude,
                    longitude,
                    locality_slug,
                })),
                // A real postcode our postcode file lacks is still in a district we may know:
                // measure from the middle of that district rather than not at all.
                None => {
                    let outward = code.split(' ').next().unwrap_or(code);
                    locate_outward(db, outward).await
                }
            }
        }
        Postcode::Outward(code) => locate_outward(db, code).await,
    }
}

/// An outward code ("B23") is placed at the middle of its postcodes.
async fn locate_outward(db: &Db, code: &str) -> Result<Option<Place>, StorageError> {
    let rows: Vec<(f64, f64, Option<String>)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT latitude, longitude, locality_slug FROM postcodes WHERE outward = $1",
        )
        .bind(code)
        .fetch_all(pool)
        .await?
    });
    if rows.is_empty() {
        return Ok(None);
    }
    let n = rows.len() as f64;
    let latitude = rows.iter().map(|r| r.0).sum::<f64>() / n;
    let longitude = rows.iter().map(|r| r.1).sum::<f64>() / n;
    // The locality most of its postcodes are in.
    let mut counts: Vec<(Option<String>, usize)> = Vec::new();
    for (_, _, locality) in &rows {
        match counts.iter_mut().find(|(l, _)| l == locality) {
            Some((_, count)) => *count += 1,
            None => counts.push((locality.clone(), 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    Ok(Some(Place {
        postcode: code.to_string(),
        latitude,
        longitude,
        locality_slug: counts.into_iter().next().and_then(|(l, _)| l),
    }))
}

async fn locate_in_tx(tx: &mut Tx, postcode: &str) -> Result<Option<(f64, f64)>, StorageError> {
    let Some(normal) = rules::normalise_postcode(postcode) else {
        return Ok(None);
    };
    Ok(on_tx!(tx, c => {
        sqlx::query_as("SELECT latitude, longitude FROM postcodes WHERE postcode = $1")
            .bind(normal.as_str())
            .fetch_optional(c)
            .await?
    }))
}

// ---------------------------------------------------------------------------------------------
// Writing organisations and services

pub async fn save_organization(
    authorised: &mut Authorised,
    org: &OrganizationRecord,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(concat!(
            "INSERT INTO directory_organizations (",
            organization_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO UPDATE SET \
             name = excluded.name, description = excluded.description, email = excluded.email, \
             website = excluded.website, charity_number = excluded.charity_number, \
             partner_organisation_id = COALESCE(excluded.partner_organisation_id, directory_organizations.partner_organisation_id), \
             last_modified_micros = excluded.last_modified_micros, source = excluded.source, \
             source_id = excluded.source_id, fetched_micros = excluded.fetched_micros"
        ))
        .bind(org.id)
        .bind(&org.name)
        .bind(&org.description)
        .bind(&org.email)
        .bind(org.website.as_ref().map(WebLink::as_str))
        .bind(&org.charity_number)
        .bind(org.partner_organisation_id)
        .bind(org.last_modified_micros)
        .bind(&org.source)
        .bind(&org.source_id)
        .bind(org.fetched_micros)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// The id we hold for a record from another directory, so a re-import updates it.
pub async fn id_for_source(
    tx: &mut Tx,
    what: SourceKind,
    source: &str,
    source_id: &str,
) -> Result<Option<Uuid>, StorageError> {
    Ok(match what {
        SourceKind::Organization => on_tx!(tx, c => {
            sqlx::query_scalar("SELECT id FROM directory_organizations WHERE source = $1 AND source_id = $2")
                .bind(source)
                .bind(source_id)
                .fetch_optional(c)
                .await?
        }),
        SourceKind::Service => on_tx!(tx, c => {
            sqlx::query_scalar("SELECT id FROM directory_services WHERE source = $1 AND source_id = $2")
                .bind(source)
                .bind(source_id)
                .fetch_optional(c)
                .await?
        }),
    })
}

#[derive(Debug, Clone, Copy)]
pub enum SourceKind {
    Organization,
    Service,
}

/// Writes a whole service (new or replacing the one with its id): its row, locations (placed
/// by postcode when they have no coordinates), schedules, needs and search text.
pub async fn save_service(
    authorised: &mut Authorised,
    service: &ServiceRecord,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    let detail = serde_json::to_string(&service.detail)
        .map_err(|e| StorageError::Conflict(e.to_string()))?;
    let exists: Option<Uuid> = on_tx!(tx, c => {
        sqlx::query_scalar("SELECT id FROM directory_services WHERE id = $1")
            .bind(service.id)
            .fetch_optional(c)
            .await?
    });
    let mut locations = service.locations.clone();
    for location in &mut locations {
        match (location.latitude, location.longitude) {
            (Some(lat), Some(lon)) => {
                location.geo_latitude = Some(lat);
                location.geo_longitude = Some(lon);
            }
            _ => {
                let placed = match &location.postcode {
                    Some(p) => locate_in_tx(tx, p).await?,
                    None => None,
                };
                location.geo_latitude = placed.map(|p| p.0);
                location.geo_longitude = placed.map(|p| p.1);
            }
        }
    }
    let write: &'static str = if exists.is_some() {
        "UPDATE directory_services SET organization_id = $2, name = $3, description = $4, \
         url = $5, email = $6, phone = $7, status = $8, minimum_age = $9, maximum_age = $10, \
         free = $11, fees_description = $12, alert = $13, locality_slug = $14, \
         owner_organisation_id = $15, review_by = $16, assured_date = $17, \
         assurer_email = $18, last_modified_micros = $19, merged_into = $20, detail = $21, \
         source = $22, source_id = $23, fetched_micros = $24 WHERE id = $1"
    } else {
        concat!(
            "INSERT INTO directory_services (",
            service_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23, $24)"
        )
    };
    on_tx!(tx, c => {
        if exists.is_some() {
            for sql in [
                "DELETE FROM service_locations WHERE service_id = $1",
                "DELETE FROM service_schedules WHERE service_id = $1",
                "DELETE FROM service_terms WHERE service_id = $1",
            ] {
                sqlx::query(sql).bind(service.id).execute(&mut *c).await?;
            }
        }
        sqlx::query(write)
            .bind(service.id)
            .bind(service.organization.id)
            .bind(&service.name)
            .bind(&service.description)
            .bind(service.url.as_ref().map(WebLink::as_str))
            .bind(&service.email)
            .bind(&service.phone)
            .bind(&service.status)
            .bind(service.minimum_age)
            .bind(service.maximum_age)
            .bind(service.free)
            .bind(&service.fees_description)
            .bind(&service.alert)
            .bind(&service.locality_slug)
            .bind(service.owner_organisation_id)
            .bind(service.review_by)
            .bind(service.assured_date)
            .bind(&service.assurer_email)
            .bind(service.last_modified_micros)
            .bind(service.merged_into)
            .bind(&detail)
            .bind(&service.source)
            .bind(&service.source_id)
            .bind(service.fetched_micros)
            .execute(&mut *c)
            .await?;
        for l in &locations {
            sqlx::query(concat!(
                "INSERT INTO service_locations (",
                location_columns!(),
                ", service_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(l.id)
            .bind(l.location_id)
            .bind(&l.name)
            .bind(&l.address_1)
            .bind(&l.city)
            .bind(&l.postcode)
            .bind(l.latitude)
            .bind(l.longitude)
            .bind(l.geo_latitude)
            .bind(l.geo_longitude)
            .bind(&l.accessibility)
            .bind(service.id)
            .execute(&mut *c)
            .await?;
        }
        for s in &service.schedules {
            sqlx::query(
                "INSERT INTO service_schedules (id, service_id, freq, byday, opens_at, closes_at, description) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(s.id)
            .bind(service.id)
            .bind(&s.freq)
            .bind(&s.byday)
            .bind(&s.opens_at)
            .bind(&s.closes_at)
            .bind(&s.description)
            .execute(&mut *c)
            .await?;
        }
        for t in &service.terms {
            sqlx::query(
                "INSERT INTO service_terms (service_id, term_id, attribute_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (service_id, term_id) DO NOTHING",
            )
            .bind(service.id)
            .bind(t.id)
            .bind(attribute_id(service.id, t.id))
            .execute(&mut *c)
            .await?;
        }
    });
    let body = match service.merged_into {
        None => {
            let groups = crate::search_synonyms::groups_in(tx).await?;
            Some(search_words::index_text(&search_body(service), &groups))
        }
        Some(_) => None,
    };
    refresh_candidates(tx, service.id).await?;
    index_for_search(tx, service.id, body.as_deref(), exists.is_none()).await?;
    Ok(())
}

/// A stable id for the ORUK attribute that links a service to a term.
fn attribute_id(service: Uuid, term: Uuid) -> Uuid {
    Uuid::from_u128(service.as_u128() ^ term.as_u128().rotate_left(17))
}

// ---------------------------------------------------------------------------------------------
// Reading services

async fn organization(db: &Db, id: Uuid) -> Result<Option<OrganizationRecord>, StorageError> {
    let sql = concat!(
        "SELECT ",
        organization_columns!(),
        " FROM directory_organizations WHERE id = $1"
    );
    let row: Option<OrganizationDbRow> =
        on_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?);
    Ok(row.map(OrganizationRecord::from))
}

pub async fn get_organization(
    db: &Db,
    id: Uuid,
) -> Result<Option<OrganizationRecord>, StorageError> {
    organization(db, id).await
}

/// Organisations by name, a page at a time, with the total.
pub async fn list_organizations(
    db: &Db,
    offset: i64,
    limit: i64,
) -> Result<(Vec<OrganizationRecord>, i64), StorageError> {
    let sql = concat!(
        "SELECT ",
        organization_columns!(),
        " FROM directory_organizations ORDER BY name, id LIMIT $1 OFFSET $2"
    );
    let rows: Vec<OrganizationDbRow> =
        on_pool!(db, pool => sqlx::query_as(sql).bind(limit).bind(offset).fetch_all(pool).await?);
    let rows = rows.into_iter().map(OrganizationRecord::from).collect();
    let total: i64 = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM directory_organizations").fetch_one(pool).await?
    });
    Ok((rows, total))
}

pub async fn services_of_organization(db: &Db, id: Uuid) -> Result<Vec<Uuid>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM directory_services WHERE organization_id = $1 AND merged_into IS NULL ORDER BY name",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
    }))
}

/// A service's own row and its provider, without the lists (enough for a list of results).
pub async fn load_service_brief(db: &Db, id: Uuid) -> Result<Option<ServiceRecord>, StorageError> {
    Ok(load_services(db, &[id], false).await?.pop())
}

/// A service with its locations, schedules and needs.
pub async fn load_service(db: &Db, id: Uuid) -> Result<Option<ServiceRecord>, StorageError> {
    Ok(load_services(db, &[id], true).await?.pop())
}

macro_rules! ten_ids {
    () => {
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    };
}

/// Binds up to ten ids (padding with the nil id, which no record has).
macro_rules! bind_ten {
    ($query:expr, $ids:expr) => {{
        let mut query = $query;
        for i in 0..10 {
            query = query.bind($ids.get(i).copied().unwrap_or(Uuid::nil()));
        }
        query
    }};
}

fn record_of(row: ServiceDbRow, organization: OrganizationRecord) -> ServiceRecord {
    ServiceRecord {
        id: row.id,
        organization,
        name: row.name,
        description: row.description,
        url: stored_link(row.url),
        email: row.email,
        phone: row.phone,
        status: row.status,
        minimum_age: row.minimum_age,
        maximum_age: row.maximum_age,
        free: row.free,
        fees_description: row.fees_description,
        alert: row.alert,
        locality_slug: row.locality_slug,
        owner_organisation_id: row.owner_organisation_id,
        review_by: row.review_by,
        assured_date: row.assured_date,
        assurer_email: row.assurer_email,
        last_modified_micros: row.last_modified_micros,
        merged_into: row.merged_into,
        detail: serde_json::from_str(&row.detail).unwrap_or_default(),
        source: row.source,
        source_id: row.source_id,
        fetched_micros: row.fetched_micros,
        locations: Vec::new(),
        schedules: Vec::new(),
        terms: Vec::new(),
    }
}

/// Several services at once, in the order asked, ten to a query: with their lists when
/// `full`, else only their own rows and providers (enough for a list of results).
pub async fn load_services(
    db: &Db,
    ids: &[Uuid],
    full: bool,
) -> Result<Vec<ServiceRecord>, StorageError> {
    #[derive(sqlx::FromRow)]
    struct Keyed<T> {
        service_id: Uuid,
        #[sqlx(flatten)]
        record: T,
    }
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10) {
        let rows: Vec<ServiceDbRow> = on_pool!(db, pool => {
            bind_ten!(sqlx::query_as(concat!("SELECT ", service_columns!(), " FROM directory_services WHERE id IN ", ten_ids!())), chunk)
                .fetch_all(pool)
                .await?
        });
        let orgs: Vec<OrganizationDbRow> = on_pool!(db, pool => {
            bind_ten!(sqlx::query_as(concat!(
                "SELECT ", organization_columns!(), " FROM directory_organizations WHERE id IN \
                 (SELECT organization_id FROM directory_services WHERE id IN ", ten_ids!(), ")"
            )), chunk)
            .fetch_all(pool)
            .await?
        });
        let orgs: Vec<OrganizationRecord> =
            orgs.into_iter().map(OrganizationRecord::from).collect();
        let mut records: Vec<ServiceRecord> = rows
            .into_iter()
            .map(|row| {
                let org = orgs
                    .iter()
                    .find(|o| o.id == row.organization_id)
                    .cloned()
                    .unwrap_or_default();
                record_of(row, org)
            })
            .collect();
        if full {
            let locations: Vec<Keyed<LocationRecord>> = on_pool!(db, pool => {
                bind_ten!(sqlx::query_as(concat!(
                    "SELECT service_id, ", location_columns!(), " FROM service_locations WHERE service_id IN ",
                    ten_ids!(), " ORDER BY id"
                )), chunk)
                .fetch_all(pool)
                .await?
            });
            let schedules: Vec<Keyed<ScheduleRecord>> = on_pool!(db, pool => {
                bind_ten!(sqlx::query_as(concat!(
                    "SELECT service_id, id, freq, byday, opens_at, closes_at, description FROM service_schedules \
                     WHERE service_id IN ", ten_ids!(), " ORDER BY opens_at, id"
                )), chunk)
                .fetch_all(pool)
                .await?
            });
            let terms: Vec<Keyed<TermRecord>> = on_pool!(db, pool => {
                bind_ten!(sqlx::query_as(concat!(
                    "SELECT st.service_id, t.id, t.taxonomy_id, t.code, t.name, t.description, t.parent_id \
                     FROM service_terms st JOIN taxonomy_terms t ON t.id = st.term_id \
                     WHERE st.service_id IN ", ten_ids!(), " ORDER BY t.position, t.name"
                )), chunk)
                .fetch_all(pool)
                .await?
            });
            for record in &mut records {
                record.locations = locations
                    .iter()
                    .filter(|l| l.service_id == record.id)
                    .map(|l| l.record.clone())
                    .collect();
                record.schedules = schedules
                    .iter()
                    .filter(|l| l.service_id == record.id)
                    .map(|l| l.record.clone())
                    .collect();
                record.terms = terms
                    .iter()
                    .filter(|l| l.service_id == record.id)
                    .map(|l| l.record.clone())
                    .collect();
            }
        }
        for id in chunk {
            if let Some(i) = records.iter().position(|r| r.id == *id) {
                out.push(records.swap_remove(i));
            }
        }
    }
    Ok(out)
}

/// The service at a location: (service id) for a service_at_location id.
pub async fn service_of_location(db: &Db, id: Uuid) -> Result<Option<Uuid>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT service_id FROM service_locations WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// How many locations each service has (services with none are absent).
pub async fn location_counts(
    db: &Db,
) -> Result<std::collections::HashMap<Uuid, usize>, StorageError> {
    let rows: Vec<(Uuid, i64)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT service_id, COUNT(*) FROM service_locations GROUP BY service_id")
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(|(id, n)| (id, n as usize)).collect())
}

pub async fn location(db: &Db, id: Uuid) -> Result<Option<LocationRecord>, StorageError> {
    let sql = concat!(
        "SELECT ",
        location_columns!(),
        " FROM service_locations WHERE id = $1"
    );
    Ok(on_pool!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?))
}

// ---------------------------------------------------------------------------------------------
// The connector's workspace

/// A listing as the workspace lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ListingLine {
    pub id: Uuid,
    pub name: String,
    pub organization_name: String,
    pub locality_slug: Option<String>,
    pub status: String,
    pub review_by: Date,
    pub assured_date: Option<Date>,
}

/// Listings whose review is due within `until`, of a locality or of an owner organisation
/// (empty / None for any), oldest review first.
pub async fn due_for_review(
    authorised: &mut Authorised,
    localities: &[String],
    owner: Option<Uuid>,
    until: Date,
) -> Result<Vec<ListingLine>, StorageError> {
    let tx = &mut authorised.tx;
    let mut out = Vec::new();
    let sql = "SELECT s.id, s.name, o.name AS organization_name, s.locality_slug, s.status, \
               s.review_by, s.assured_date FROM directory_services s \
               JOIN directory_organizations o ON o.id = s.organization_id \
               WHERE s.merged_into IS NULL AND s.review_by <= $1 \
               AND (s.locality_slug = $2 OR s.owner_organisation_id = $3) \
               ORDER BY s.review_by, s.name LIMIT 500";
    let scopes: Vec<String> = if localities.is_empty() {
        vec![String::new()]
    } else {
        localities.to_vec()
    };
    for locality in scopes {
        let rows: Vec<ListingLine> = on_tx!(tx, c => {
            sqlx::query_as(sql)
                .bind(until)
                .bind(&locality)
                .bind(owner.unwrap_or(Uuid::nil()))
                .fetch_all(c)
                .await?
        });
        for row in rows {
            if !out.iter().any(|l: &ListingLine| l.id == row.id) {
                out.push(row);
            }
        }
    }
    out.sort_by(|a, b| a.review_by.cmp(&b.review_by).then(a.name.cmp(&b.name)));
    Ok(out)
}

/// How many listings [`due_for_review`] lists for one locality (or none) and owner: counted,
/// not loaded, for a home page's number.
pub async fn count_due_for_review(
    authorised: &mut Authorised,
    locality: Option<&str>,
    owner: Uuid,
    until: Date,
) -> Result<i64, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM directory_services s \
             JOIN directory_organizations o ON o.id = s.organization_id \
             WHERE s.merged_into IS NULL AND s.review_by <= $1 \
             AND (s.locality_slug = $2 OR s.owner_organisation_id = $3)",
        )
        .bind(until)
        .bind(locality.unwrap_or(""))
        .bind(owner)
        .fetch_one(c)
        .await?
    }))
}

/// Every listing of a locality or an owner organisation, by name.
pub async fn listings(
    authorised: &mut Authorised,
    locality: &str,
    owner: Option<Uuid>,
) -> Result<Vec<ListingLine>, StorageError> {
    let tx = &mut authorised.tx;
    Ok(on_tx!(tx, c => {
        sqlx::query_as(
            "SELECT s.id, s.name, o.name AS organization_name, s.locality_slug, s.status, \
             s.review_by, s.assured_date FROM directory_services s \
             JOIN directory_organizations o ON o.id = s.organization_id \
             WHERE s.merged_into IS NULL AND (s.locality_slug = $1 OR s.owner_organisation_id = $2) \
             ORDER BY s.name, s.id",
        )
        .bind(locality)
        .bind(owner.unwrap_or(Uuid::nil()))
        .fetch_all(c)
        .await?
    }))
}

/// A likely pair of twins.
#[derive(Debug, Clone)]
pub struct DuplicatePair {
    pub first: ServiceRecord,
    pub second: ServiceRecord,
    pub score: DuplicateScore,
}

/// Likely twins among a locality's listings, best first.
pub async fn duplicates(db: &Db, locality: &str) -> Result<Vec<DuplicatePair>, StorageError> {
    let ids: Vec<Uuid> = on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM directory_services WHERE locality_slug = $1 AND merged_into IS NULL ORDER BY name, id",
        )
        .bind(locality)
        .fetch_all(pool)
        .await?
    });
    let dismissed: Vec<(Uuid, Uuid)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT first_id, second_id FROM directory_not_duplicates")
            .fetch_all(pool)
            .await?
    });
    let services = load_services(db, &ids, true).await?;
    let keys: Vec<ListingKey> = services.iter().map(ServiceRecord::key).collect();
    let mut pairs = Vec::new();
    for (i, j, score) in rules::likely_duplicates(&keys) {
        let (a, b) = (services[i].id, services[j].id);
        if dismissed.contains(&(a, b)) || dismissed.contains(&(b, a)) {
            continue;
        }
        pairs.push(DuplicatePair {
            first: services[i].clone(),
            second: services[j].clone(),
            score,
        });
    }
    Ok(pairs)
}

/// Folds `duplicate` into `keep`: the twin's needs join the kept listing, the twin is marked
/// defunct and points at the kept one, and leaves the search.
pub async fn merge(
    authorised: &mut Authorised,
    keep: Uuid,
    duplicate: Uuid,
) -> Result<(), StorageError> {
    if keep == duplicate {
        return Err(StorageError::Conflict(
            "A listing cannot be merged into itself".into(),
        ));
    }
    let tx = &mut authorised.tx;
    let now = now_micros();
    on_tx!(tx, c => {
        let terms: Vec<Uuid> = sqlx::query_scalar("SELECT term_id FROM service_terms WHERE service_id = $1")
            .bind(duplicate)
            .fetch_all(&mut *c)
            .await?;
        for term in terms {
            sqlx::query(
                "INSERT INTO service_terms (service_id, term_id, attribute_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (service_id, term_id) DO NOTHING",
            )
            .bind(keep)
            .bind(term)
            .bind(attribute_id(keep, term))
            .execute(&mut *c)
            .await?;
        }
        let done = sqlx::query(
            "UPDATE directory_services SET merged_into = $2, status = 'defunct', last_modified_micros = $3 \
             WHERE id = $1 AND merged_into IS NULL",
        )
        .bind(duplicate)
        .bind(keep)
        .bind(now)
        .execute(&mut *c)
        .await?
        .rows_affected();
        if done == 0 {
            return Err(StorageError::Conflict("That listing has already been merged".into()));
        }
        sqlx::query("UPDATE directory_services SET last_modified_micros = $2 WHERE id = $1")
            .bind(keep)
            .bind(now)
            .execute(&mut *c)
            .await?;
    });
    index_for_search(tx, duplicate, None, false).await?;
    refresh_candidates(tx, duplicate).await?;
    refresh_candidates(tx, keep).await?;
    Ok(())
}

/// Remembers that two listings are not the same service, so they are not flagged again.
pub async fn not_duplicates(
    authorised: &mut Authorised,
    first: Uuid,
    second: Uuid,
) -> Result<(), StorageError> {
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO directory_not_duplicates (first_id, second_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(first)
        .bind(second)
        .execute(c)
        .await?;
    });
    Ok(())
}

/// Every service id in a locality (or all, for an empty locality), for export.
pub async fn all_service_ids(db: &Db, locality: &str) -> Result<Vec<Uuid>, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM directory_services WHERE merged_into IS NULL AND ($1 = '' OR locality_slug = $1) ORDER BY name, id",
        )
        .bind(locality)
        .fetch_all(pool)
        .await?
    }))
}

pub async fn count_services(db: &Db) -> Result<i64, StorageError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM directory_services").fetch_one(pool).await?
    }))
}

// ---------------------------------------------------------------------------------------------
// Services as spreadsheet rows (CSV in and out)

/// One service as a spreadsheet row: the columns connectors see in `export` and fill in for
/// `import`. Lists are joined with ";" (days as MO;WE, needs as their codes).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceRow {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub locality: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub postcode: String,
    #[serde(default)]
    pub latitude: String,
    #[serde(default)]
    pub longitude: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub minimum_age: String,
    #[serde(default)]
    pub maximum_age: String,
    #[serde(default)]
    pub free: String,
    #[serde(default)]
    pub fees: String,
    #[serde(default)]
    pub days: String,
    #[serde(default)]
    pub opens_at: String,
    #[serde(default)]
    pub closes_at: String,
    #[serde(default)]
    pub needs: String,
    #[serde(default)]
    pub review_by: String,
    #[serde(default)]
    pub assured_date: String,
}

impl ServiceRow {
    pub fn of(service: &ServiceRecord) -> ServiceRow {
        let location = service.locations.first();
        let schedule = service.schedules.first();
        ServiceRow {
            id: service.id.to_string(),
            name: service.name.clone(),
            organization: service.organization.name.clone(),
            description: service.description.clone(),
            status: service.status.clone(),
            locality: service.locality_slug.clone().unwrap_or_default(),
            address: location.map(|l| l.address_1.clone()).unwrap_or_default(),
            postcode: location
                .and_then(|l| l.postcode.clone())
                .unwrap_or_default(),
            latitude: location
                .and_then(|l| l.latitude)
                .map(|v| format!("{v:.6}"))
                .unwrap_or_default(),
            longitude: location
                .and_then(|l| l.longitude)
                .map(|v| format!("{v:.6}"))
                .unwrap_or_default(),
            phone: service.phone.clone().unwrap_or_default(),
            email: service.email.clone().unwrap_or_default(),
            website: service
                .url
                .as_ref()
                .map(WebLink::to_string)
                .unwrap_or_default(),
            minimum_age: service
                .minimum_age
                .map(|a| a.to_string())
                .unwrap_or_default(),
            maximum_age: service
                .maximum_age
                .map(|a| a.to_string())
                .unwrap_or_default(),
            free: if service.free { "yes" } else { "no" }.into(),
            fees: service.fees_description.clone().unwrap_or_default(),
            days: schedule
                .map(|s| s.byday.replace(',', ";"))
                .unwrap_or_default(),
            opens_at: schedule.map(|s| s.opens_at.clone()).unwrap_or_default(),
            closes_at: schedule.map(|s| s.closes_at.clone()).unwrap_or_default(),
            needs: service
                .terms
                .iter()
                .map(|t| t.code.as_str())
                .collect::<Vec<_>>()
                .join(";"),
            review_by: service.review_by.to_string(),
            assured_date: service
                .assured_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
        }
    }
}

/// A row checked: every field's problem, in words, or the parts of a service it gives.
#[derive(Debug, Clone)]
pub struct CheckedRow {
    pub id: Option<Uuid>,
    pub edit: ListingEdit,
    pub organization: String,
    pub locality: Option<String>,
    pub address: String,
    pub postcode: Option<String>,
    pub coordinates: Option<(f64, f64)>,
    pub days: String,
    pub opens_at: String,
    pub closes_at: String,
    pub needs: Vec<Uuid>,
    pub review_by: Option<Date>,
    pub assured_date: Option<Date>,
}

fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// Checks a row against the rules; `localities` are the slugs we know.
pub fn check_row(
    row: &ServiceRow,
    localities: &[String],
) -> Result<CheckedRow, Vec<(&'static str, String)>> {
    let mut problems: Vec<(&'static str, String)> = Vec::new();
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let id = match row.id.trim() {
        "" => None,
        raw => match Uuid::parse_str(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                problems.push((
                    "id",
                    format!("{raw:?} is not an id; leave it empty for a new service"),
                ));
                None
            }
        },
    };
    if row.name.trim().is_empty() {
        problems.push(("name", "is empty: every service needs a name".into()));
    }
    if row.organization.trim().is_empty() {
        problems.push(("organization", "is empty: say who runs the service".into()));
    }
    let status = match row.status.trim().to_lowercase().as_str() {
        "" => "active".to_string(),
        s @ ("active" | "inactive" | "defunct" | "temporarily closed") => s.to_string(),
        other => {
            problems.push((
                "status",
                format!("{other:?} is not one of active, inactive, defunct, temporarily closed"),
            ));
            String::new()
        }
    };
    let locality = optional(&row.locality).map(|l| earlyhelp_domain::people::slugify(&l));
    if let Some(l) = &locality
        && !localities.contains(l)
    {
        problems.push((
            "locality",
            format!("{:?} is not one of our localities", row.locality.trim()),
        ));
    }
    let postcode = match optional(&row.postcode) {
        None => None,
        Some(raw) => match rules::normalise_postcode(&raw) {
            Some(Postcode::Full(p)) => Some(p),
            _ => {
                problems.push(("postcode", format!("{raw:?} is not a full UK postcode")));
                None
            }
        },
    };
    let coordinate =
        |raw: &str, field: &'static str, range: f64, problems: &mut Vec<(&'static str, String)>| {
            optional(raw).and_then(|v| match v.parse::<f64>() {
                Ok(x) if x.abs() <= range => Some(x),
                _ => {
                    problems.push((field, format!("{v:?} is not a {field}")));
                    None
                }
            })
        };
    let latitude = coordinate(&row.latitude, "latitude", 90.0, &mut problems);
    let longitude = coordinate(&row.longitude, "longitude", 180.0, &mut problems);
    let age = |raw: &str, field: &'static str, problems: &mut Vec<(&'static str, String)>| {
        optional(raw).and_then(|v| match v.parse::<i64>() {
            Ok(a) if (0..=120).contains(&a) => Some(a),
            _ => {
                problems.push((field, format!("{v:?} is not an age in whole years")));
                None
            }
        })
    };
    let minimum_age = age(&row.minimum_age, "minimum_age", &mut problems);
    let maximum_age = age(&row.maximum_age, "maximum_age", &mut problems);
    if let (Some(min), Some(max)) = (minimum_age, maximum_age)
        && min > max
    {
        problems.push((
            "maximum_age",
            format!("{max} is below the minimum age {min}"),
        ));
    }
    let free = match row.free.trim().to_lowercase().as_str() {
        "" | "yes" | "y" | "true" | "free" => true,
        "no" | "n" | "false" | "paid" => false,
        other => {
            problems.push(("free", format!("{other:?} should be yes or no")));
            true
        }
    };
    let mut days = Vec::new();
    for day in row
        .days
        .split([';', ',', ' '])
        .filter(|d| !d.trim().is_empty())
    {
        match rules::parse_day(day) {
            Some(code) => days.push(code),
            None => problems.push(("days", format!("{day:?} is not a day of the week"))),
        }
    }
    let time = |raw: &str, field: &'static str, problems: &mut Vec<(&'static str, String)>| {
        match optional(raw) {
            None => String::new(),
            Some(v) => rules::parse_time(&v).unwrap_or_else(|| {
                problems.push((field, format!("{v:?} is not a time like 09:30")));
                String::new()
            }),
        }
    };
    let opens_at = time(&row.opens_at, "opens_at", &mut problems);
    let closes_at = time(&row.closes_at, "closes_at", &mut problems);
    let mut needs = Vec::new();
    for code in row
        .needs
        .split([';', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        match need_id(code) {
            Some(id) => needs.push(id),
            None => problems.push(("needs", format!("{code:?} is not one of our needs"))),
        }
    }
    let date = |raw: &str, field: &'static str, problems: &mut Vec<(&'static str, String)>| {
        optional(raw).and_then(|v| match Date::parse(&v, &date_format) {
            Ok(d) => Some(d),
            Err(_) => {
                problems.push((field, format!("{v:?} is not a date like 2026-03-31")));
                None
            }
        })
    };
    let review_by = date(&row.review_by, "review_by", &mut problems);
    let assured_date = date(&row.assured_date, "assured_date", &mut problems);
    let url = optional_link(&row.website).unwrap_or_else(|e| {
        problems.push(("website", format!("{:?} {e}", row.website.trim())));
        None
    });
    let email = optional(&row.email).and_then(|raw| {
        let email = earlyhelp_domain::people::normalise_email(&raw);
        if email.is_none() {
            problems.push((
                "email",
                format!("{raw:?} is not an email address like name@example.org"),
            ));
        }
        email
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CheckedRow {
        id,
        edit: ListingEdit {
            name: row.name.trim().to_string(),
            description: row.description.trim().to_string(),
            url,
            email,
            phone: optional(&row.phone),
            status,
            minimum_age,
            maximum_age,
            free,
            fees_description: optional(&row.fees),
            ..ListingEdit::default()
        },
        organization: row.organization.trim().to_string(),
        locality,
        address: row.address.trim().to_string(),
        postcode,
        coordinates: latitude.zip(longitude),
        days: days.join(","),
        opens_at,
        closes_at,
        needs,
        review_by,
        assured_date,
    })
}

/// The organisation with this name, made if new.
pub async fn organization_named(
    authorised: &mut Authorised,
    name: &str,
) -> Result<OrganizationRecord, StorageError> {
    let tx = &mut authorised.tx;
    let found: Option<OrganizationDbRow> = on_tx!(tx, c => {
        sqlx::query_as(concat!(
            "SELECT ",
            organization_columns!(),
            " FROM directory_organizations WHERE lower(name) = lower($1) ORDER BY id LIMIT 1"
        ))
        .bind(name)
        .fetch_optional(c)
        .await?
    });
    if let Some(found) = found {
        return Ok(found.into());
    }
    let org = OrganizationRecord {
        id: Uuid::now_v7(),
        name: name.to_string(),
        last_modified_micros: now_micros(),
        source: "local".into(),
        ..Default::default()
    };
    save_organization(authorised, &org).await?;
    Ok(org)
}

/// Loads a full service inside a transaction-free read (for import updates).
pub async fn service_exists(db: &Db, id: Uuid) -> Result<bool, StorageError> {
    Ok(load_service_brief(db, id).await?.is_some())
}

// ---------------------------------------------------------------------------------------------
// Links stored before they were checked

/// A stored website that is not a web link (`javascript:`, a typo with a space): kept as it was
/// written before every way in checked links, and never shown or served as a link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadLink {
    /// "service", "organisation" or "pending change" (a proposed edit awaiting approval).
    pub kind: &'static str,
    pub id: Uuid,
    pub name: String,
    pub field: &'static str,
    pub value: String,
    pub problem: String,
}

/// Every stored website that does not read as a web link, services first.
pub async fn bad_links(db: &Db) -> Result<Vec<BadLink>, StorageError> {
    type Stored = Vec<(Uuid, String, Option<String>)>;
    let (services, organisations, pending): (Stored, Stored, Stored) = on_pool!(db, pool => {
        (
            sqlx::query_as("SELECT id, name, url FROM directory_services WHERE url IS NOT NULL ORDER BY name, id")
                .fetch_all(pool)
                .await?,
            sqlx::query_as("SELECT id, name, website FROM directory_organizations WHERE website IS NOT NULL ORDER BY name, id")
                .fetch_all(pool)
                .await?,
            sqlx::query_as(
                "SELECT c.id, s.name, c.proposed FROM directory_changes c \
                 JOIN directory_services s ON s.id = c.service_id \
                 WHERE c.status = 'pending' ORDER BY c.at_micros, c.id",
            )
            .fetch_all(pool)
            .await?,
        )
    });
    let mut bad = Vec::new();
    let mut check = |kind, field, id, name: String, value: String| {
        if let Err(problem) = optional_link(&value) {
            bad.push(BadLink {
                kind,
                id,
                name,
                field,
                value,
                problem: problem.to_string(),
            });
        }
    };
    for (id, name, url) in services {
        check("service", "website", id, name, url.unwrap_or_default());
    }
    for (id, name, website) in organisations {
        check(
            "organisation",
            "website",
            id,
            name,
            website.unwrap_or_default(),
        );
    }
    for (id, name, proposed) in pending {
        let proposed: serde_json::Value =
            serde_json::from_str(proposed.as_deref().unwrap_or("{}")).unwrap_or_default();
        if let Some(url) = proposed.get("url").and_then(serde_json::Value::as_str) {
            check("pending change", "website", id, name, url.to_string());
        }
    }
    Ok(bad)
}
