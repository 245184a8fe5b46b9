//! The Open Referral UK 3.0 API under `/openreferral/`: open data, no key, any origin.
//! Lists are paginated with the standard's keys; optional fields with no value are left out;
//! every search parameter combines with the others (AND).

use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::extract::{Json, Path, Query};
use crate::routes::Routes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use earlyhelp_domain::directory::{self as rules, NEEDS_TAXONOMY_ID, oruk};
use earlyhelp_domain::limits;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::directory::{self as store, Filter, OrganizationRecord, ServiceRecord};
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use tower_http::set_header::SetResponseHeaderLayer;
use uuid::Uuid;

const OPENAPI: &str = include_str!("../oruk/openapi.json");
pub const DEFAULT_PER_PAGE: u64 = 50;
pub const MAX_PER_PAGE: u64 = 500;

pub fn routes() -> Routes {
    Routes::new()
        .route("/openreferral", get(about))
        .route("/openreferral/", get(about))
        .route("/openreferral/openapi.json", get(openapi))
        .route("/openreferral/services", get(services))
        .route("/openreferral/services/{id}", get(service))
        .route(
            "/openreferral/service_at_locations",
            get(service_at_locations),
        )
        .route(
            "/openreferral/service_at_locations/{id}",
            get(service_at_location),
        )
        .route("/openreferral/organizations", get(organizations))
        .route("/openreferral/organizations/{id}", get(organization))
        .route("/openreferral/taxonomies", get(taxonomies))
        .route("/openreferral/taxonomies/{id}", get(taxonomy))
        .route("/openreferral/taxonomy_terms", get(taxonomy_terms))
        .route("/openreferral/taxonomy_terms/{id}", get(taxonomy_term))
        .map(|router| {
            router.layer(SetResponseHeaderLayer::overriding(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ))
        })
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

async fn about(headers: HeaderMap) -> Json<serde_json::Value> {
    Json(json!({
        "version": "3.0",
        "profile": "https://openreferraluk.org/",
        "openapi_url": format!("{}/openreferral/openapi.json", base_url(&headers)),
    }))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The query parameters of `/services` and `/service_at_locations`, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    per_page: String,
    #[serde(default)]
    taxonomy_term_id: String,
    #[serde(default)]
    taxonomy_id: String,
    #[serde(default)]
    minimum_age: String,
    #[serde(default)]
    maximum_age: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    end_time: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    proximity: String,
    #[serde(default)]
    modified_after: String,
    #[serde(default)]
    organization_id: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// ORUK's page and per_page: a page is any whole number from 1 (one beyond the list is an
/// empty page with the true totals); per_page is from 1 to `MAX_PER_PAGE`.
fn paging(query_page: &str, query_per_page: &str, errors: &mut Vec<FieldError>) -> (u64, u64) {
    let page = limits::parse_page(query_page, u64::MAX).unwrap_or_else(|e| {
        errors.push(e);
        1
    });
    let per_page = limits::parse_per_page(query_per_page, DEFAULT_PER_PAGE, MAX_PER_PAGE)
        .unwrap_or_else(|e| {
            errors.push(e);
            DEFAULT_PER_PAGE
        });
    (page, per_page)
}

/// Where page `page` starts in a list of `total`, or `None` when it starts beyond it.
fn start_of(page: u64, per_page: u64, total: usize) -> Option<usize> {
    limits::offset(page, per_page)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n < total)
}

fn uuid_param(raw: &str, field: &'static str, errors: &mut Vec<FieldError>) -> Option<Uuid> {
    if raw.trim().is_empty() {
        return None;
    }
    match Uuid::parse_str(raw.trim()) {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(invalid(field, format!("{field} must be a UUID")));
            None
        }
    }
}

fn age_param(raw: &str, field: &'static str, errors: &mut Vec<FieldError>) -> Option<i64> {
    if raw.trim().is_empty() {
        return None;
    }
    match raw.trim().parse::<f64>() {
        Ok(age) if (0.0..=150.0).contains(&age) => Some(age.floor() as i64),
        _ => {
            errors.push(invalid(field, format!("{field} must be a number of years")));
            None
        }
    }
}

fn time_param(raw: &str, field: &'static str, errors: &mut Vec<FieldError>) -> String {
    if raw.trim().is_empty() {
        return String::new();
    }
    rules::parse_time(raw).unwrap_or_else(|| {
        errors.push(invalid(field, format!("{field} must be a time like 09:30")));
        String::new()
    })
}

/// Turns the query into a filter, or every problem with it.
/// What a list query asks for, short of where its postcode is (that needs the postcode
/// directory). Pure, so the fuzz target `oruk_query` drives it with any input.
pub struct ParsedList {
    pub filter: Filter,
    pub page: u64,
    pub per_page: u64,
    pub postcode: Option<rules::Postcode>,
    /// Metres from the postcode.
    pub proximity: Option<f64>,
    pub errors: Vec<FieldError>,
}

pub fn parse_list_query(query: &ListQuery) -> ParsedList {
    let mut errors = Vec::new();
    let (page, per_page) = paging(&query.page, &query.per_page, &mut errors);
    let mut filter = Filter {
        words: rules::search_words(&query.search),
        term_id: uuid_param(&query.taxonomy_term_id, "taxonomy_term_id", &mut errors),
        taxonomy_id: uuid_param(&query.taxonomy_id, "taxonomy_id", &mut errors),
        minimum_age_at_least: age_param(&query.minimum_age, "minimum_age", &mut errors),
        maximum_age_at_most: age_param(&query.maximum_age, "maximum_age", &mut errors),
        opens_from: time_param(&query.start_time, "start_time", &mut errors),
        closes_by: time_param(&query.end_time, "end_time", &mut errors),
        organization_id: uuid_param(&query.organization_id, "organization_id", &mut errors),
        every_status: true,
        ..Filter::default()
    };
    if !query.day.trim().is_empty() {
        match rules::parse_day(&query.day) {
            Some(day) => filter.day = day.to_string(),
            None => errors.push(invalid(
                "day",
                "day must be a day of the week, like SA or Saturday",
            )),
        }
    }
    if !query.modified_after.trim().is_empty() {
        let raw = query.modified_after.trim();
        let parsed = time::OffsetDateTime::parse(raw, &Rfc3339).ok().or_else(|| {
            time::Date::parse(
                raw,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .ok()
            .map(|d| d.midnight().assume_utc())
        });
        match parsed {
            Some(at) => {
                filter.modified_after_micros = Some((at.unix_timestamp_nanos() / 1000) as i64)
            }
            None => errors.push(invalid(
                "modified_after",
                "modified_after must be a date-time like 2026-01-31T09:00:00Z",
            )),
        }
    }
    let proximity = match query.proximity.trim() {
        "" => None,
        raw => match raw.parse::<f64>() {
            Ok(m) if m > 0.0 => Some(m),
            _ => {
                errors.push(invalid(
                    "proximity",
                    "proximity must be a distance in metres",
                ));
                None
            }
        },
    };
    let mut postcode = None;
    if !query.postcode.trim().is_empty() {
        postcode = rules::normalise_postcode(&query.postcode);
        if postcode.is_none() {
            errors.push(invalid("postcode", "postcode is not a UK postcode"));
        }
    } else if proximity.is_some() {
        errors.push(invalid(
            "postcode",
            "proximity needs a postcode to measure from",
        ));
    }
    ParsedList {
        filter,
        page,
        per_page,
        postcode,
        proximity,
        errors,
    }
}

async fn filter_of(state: &AppState, query: &ListQuery) -> Result<(Filter, u64, u64), ApiError> {
    let ParsedList {
        mut filter,
        page,
        per_page,
        postcode,
        proximity,
        mut errors,
    } = parse_list_query(query);
    if let Some(postcode) = postcode {
        match store::locate(&state.db, &postcode).await? {
            None => errors.push(invalid(
                "postcode",
                format!(
                    "postcode {} is not in our postcode directory",
                    postcode.as_str()
                ),
            )),
            Some(place) => {
                filter.near = Some((place.latitude, place.longitude));
                match proximity {
                    Some(metres) => filter.within_metres = Some(metres),
                    // Without a distance, the postcode names the area served.
                    None => filter.locality = place.locality_slug.unwrap_or_default(),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok((filter, page, per_page))
    } else {
        Err(ApiError(AppError::Invalid(errors)))
    }
}

fn rfc3339(micros: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
}

fn derived_id(id: Uuid, salt: u128) -> Uuid {
    let bits = id.as_u128() ^ salt;
    // Keep it a well-formed version 4 UUID.
    uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid()
}

pub fn organization_brief(org: &OrganizationRecord) -> oruk::Organization {
    oruk::Organization {
        id: org.id,
        name: org.name.clone(),
        description: org.description.clone(),
        email: org.email.clone(),
        website: org.website.clone(),
        ..Default::default()
    }
}

/// A service with its one-to-one fields and its organisation (the list form).
pub fn service_brief(service: &ServiceRecord) -> oruk::Service {
    oruk::Service {
        id: service.id,
        organization_id: Some(service.organization.id),
        name: service.name.clone(),
        description: Some(service.description.clone()).filter(|d| !d.is_empty()),
        url: service.url.clone(),
        email: service.email.clone(),
        status: service.status.clone(),
        fees_description: service.fees_description.clone(),
        minimum_age: service.minimum_age.map(|a| a as f64),
        maximum_age: service.maximum_age.map(|a| a as f64),
        assured_date: service.assured_date.map(|d| d.to_string()),
        assurer_email: service.assurer_email.clone(),
        alert: service.alert.clone(),
        last_modified: rfc3339(service.last_modified_micros),
        organization: Some(Box::new(organization_brief(&service.organization))),
        ..Default::default()
    }
}

pub fn location_full(l: &store::LocationRecord) -> oruk::Location {
    oruk::Location {
        id: l.location_id,
        location_type: "physical".into(),
        name: l.name.clone(),
        description: None,
        latitude: l.latitude.or(l.geo_latitude),
        longitude: l.longitude.or(l.geo_longitude),
        addresses: vec![oruk::Address {
            id: derived_id(l.location_id, 0xadd7),
            location_id: Some(l.location_id),
            address_1: l.address_1.clone(),
            city: l.city.clone(),
            state_province: "West Midlands".into(),
            postal_code: l.postcode.clone().unwrap_or_default(),
            country: "GB".into(),
            address_type: "physical".into(),
        }],
        accessibility: if l.accessibility.is_empty() {
            Vec::new()
        } else {
            vec![oruk::Accessibility {
                id: derived_id(l.location_id, 0xacce55),
                location_id: Some(l.location_id),
                description: Some(l.accessibility.clone()),
            }]
        },
    }
}

/// A service with everything about it (the full form).
pub fn service_full(service: &ServiceRecord) -> oruk::Service {
    let mut out = service_brief(service);
    out.schedules = service
        .schedules
        .iter()
        .map(|s| oruk::Schedule {
            id: s.id,
            service_id: Some(service.id),
            freq: Some(s.freq.clone()).filter(|f| !f.is_empty()),
            interval: Some(1.0),
            byday: Some(s.byday.clone()).filter(|b| !b.is_empty()),
            opens_at: Some(s.opens_at.clone()).filter(|b| !b.is_empty()),
            closes_at: Some(s.closes_at.clone()).filter(|b| !b.is_empty()),
            description: Some(s.description.clone()).filter(|b| !b.is_empty()),
            attending_type: Some("in_person".into()),
        })
        .collect();
    out.service_areas = service.detail.service_areas.clone();
    out.service_at_locations = service
        .locations
        .iter()
        .map(|l| oruk::ServiceAtLocation {
            id: l.id,
            service_id: Some(service.id),
            location_id: Some(l.location_id),
            location: Some(location_full(l)),
            service: None,
        })
        .collect();
    out.languages = service.detail.languages.clone();
    out.funding = service.detail.funding.clone();
    out.cost_options = service.detail.cost_options.clone();
    out.contacts = service.detail.contacts.clone();
    out.phones = service
        .phone
        .iter()
        .map(|number| oruk::Phone {
            id: derived_id(service.id, 0xf0e),
            number: number.clone(),
            description: None,
        })
        .collect();
    out.attributes = service
        .terms
        .iter()
        .map(|t| oruk::Attribute {
            id: derived_id(t.id, service.id.as_u128() ^ 0xa77),
            link_id: Some(service.id),
            link_type: Some("service".into()),
            link_entity: Some("service".into()),
            taxonomy_term_id: Some(t.id),
            taxonomy_term: Some(term_of(t)),
        })
        .collect();
    out
}

fn term_of(t: &store::TermRecord) -> oruk::TaxonomyTerm {
    oruk::TaxonomyTerm {
        id: t.id,
        name: t.name.clone(),
        description: t.description.clone(),
        code: Some(t.code.clone()),
        parent_id: t.parent_id,
        taxonomy: (t.taxonomy_id == NEEDS_TAXONOMY_ID).then(|| "Family needs".to_string()),
        taxonomy_id: Some(t.taxonomy_id),
        taxonomy_detail: None,
        deprecated: false,
    }
}

async fn services(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<oruk::Page<oruk::Service>>, ApiError> {
    let (filter, page, per_page) = filter_of(&state, &query).await?;
    let hits = store::search(&state.db, &filter, store::today()).await?;
    let ids: Vec<Uuid> = match start_of(page, per_page, hits.len()) {
        Some(start) => hits[start..]
            .iter()
            .take(per_page as usize)
            .map(|h| h.id)
            .collect(),
        None => Vec::new(),
    };
    let contents = store::load_services(&state.db, &ids, false)
        .await?
        .iter()
        .map(service_brief)
        .collect();
    Ok(Json(oruk::Page::new(
        contents,
        hits.len() as u64,
        page,
        per_page,
    )))
}

async fn service(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<oruk::Service>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let service = store::load_service(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(service_full(&service)))
}

async fn service_at_locations(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<oruk::Page<oruk::ServiceAtLocation>>, ApiError> {
    let (filter, page, per_page) = filter_of(&state, &query).await?;
    let hits = store::search(&state.db, &filter, store::today()).await?;
    // Each service stands for as many service_at_locations as it has locations.
    let counts = store::location_counts(&state.db).await?;
    let total: usize = hits
        .iter()
        .map(|h| counts.get(&h.id).copied().unwrap_or(0))
        .sum();
    // A page starting beyond the list is empty (`start` = `end` = `total`).
    let start = start_of(page, per_page, total).unwrap_or(total);
    let end = start.saturating_add(per_page as usize).min(total);
    let mut seen = 0;
    let mut wanted = Vec::new();
    for hit in &hits {
        let n = counts.get(&hit.id).copied().unwrap_or(0);
        if seen + n > start && seen < end {
            wanted.push(hit.id);
        }
        seen += n;
        if seen >= end {
            break;
        }
    }
    let mut contents = Vec::new();
    let mut index = hits
        .iter()
        .take_while(|h| Some(&h.id) != wanted.first())
        .map(|h| counts.get(&h.id).copied().unwrap_or(0))
        .sum::<usize>();
    for service in store::load_services(&state.db, &wanted, true).await? {
        for location in &service.locations {
            if index >= start && index < end {
                let mut place = location_full(location);
                place.addresses.clear();
                place.accessibility.clear();
                contents.push(oruk::ServiceAtLocation {
                    id: location.id,
                    service_id: Some(service.id),
                    location_id: Some(location.location_id),
                    location: Some(place),
                    service: Some(Box::new(service_brief(&service))),
                });
            }
            index += 1;
        }
    }
    Ok(Json(oruk::Page::new(
        contents,
        total as u64,
        page,
        per_page,
    )))
}

async fn service_at_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<oruk::ServiceAtLocation>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let service_id = store::service_of_location(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let service = store::load_service(&state.db, service_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let location = service
        .locations
        .iter()
        .find(|l| l.id == id)
        .ok_or(AppError::NotFound)?;
    Ok(Json(oruk::ServiceAtLocation {
        id,
        service_id: Some(service.id),
        location_id: Some(location.location_id),
        location: Some(location_full(location)),
        service: Some(Box::new(service_full(&service))),
    }))
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    page: String,
    #[serde(default)]
    per_page: String,
    #[serde(default)]
    taxonomy_id: String,
}

fn page_of(query: &PageQuery) -> Result<(u64, u64), ApiError> {
    let mut errors = Vec::new();
    let paged = paging(&query.page, &query.per_page, &mut errors);
    if errors.is_empty() {
        Ok(paged)
    } else {
        Err(ApiError(AppError::Invalid(errors)))
    }
}

async fn organizations(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<oruk::Page<oruk::Organization>>, ApiError> {
    let (page, per_page) = page_of(&query)?;
    // Beyond what any list holds: skip as far as a database can, for an empty page and the
    // true total.
    let skip = limits::offset(page, per_page).map_or(i64::MAX, |n| n as i64);
    let (rows, total) = store::list_organizations(&state.db, skip, per_page as i64).await?;
    let contents = rows.iter().map(organization_brief).collect();
    Ok(Json(oruk::Page::new(
        contents,
        total as u64,
        page,
        per_page,
    )))
}

async fn organization(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<oruk::Organization>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let org = store::get_organization(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut out = organization_brief(&org);
    if let Some(number) = &org.charity_number {
        out.organization_identifiers
            .push(oruk::OrganizationIdentifier {
                id: derived_id(org.id, 0xc4a1),
                organization_id: Some(org.id),
                identifier_scheme: Some("GB-CHC".into()),
                identifier_type: "Charity number".into(),
                identifier: number.clone(),
            });
    }
    for service_id in store::services_of_organization(&state.db, id).await? {
        if let Some(service) = store::load_service(&state.db, service_id).await? {
            let mut full = service_full(&service);
            full.organization = None;
            out.services.push(full);
        }
    }
    Ok(Json(out))
}

fn taxonomy_of(t: &store::TaxonomyRecord) -> oruk::Taxonomy {
    oruk::Taxonomy {
        id: t.id,
        name: t.name.clone(),
        description: t.description.clone(),
        uri: t.uri.clone(),
        version: t.version.clone(),
    }
}

async fn taxonomies(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<oruk::Page<oruk::Taxonomy>>, ApiError> {
    let (page, per_page) = page_of(&query)?;
    let all = store::list_taxonomies(&state.db).await?;
    let contents = all
        .iter()
        .skip(start_of(page, per_page, all.len()).unwrap_or(all.len()))
        .take(per_page as usize)
        .map(taxonomy_of)
        .collect();
    Ok(Json(oruk::Page::new(
        contents,
        all.len() as u64,
        page,
        per_page,
    )))
}

async fn taxonomy(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<oruk::Taxonomy>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let t = store::taxonomy(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(taxonomy_of(&t)))
}

async fn taxonomy_terms(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<oruk::Page<oruk::TaxonomyTerm>>, ApiError> {
    let (page, per_page) = page_of(&query)?;
    let mut errors = Vec::new();
    let taxonomy_id = uuid_param(&query.taxonomy_id, "taxonomy_id", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError(AppError::Invalid(errors)));
    }
    let all = store::list_terms(&state.db, taxonomy_id).await?;
    let contents = all
        .iter()
        .skip(start_of(page, per_page, all.len()).unwrap_or(all.len()))
        .take(per_page as usize)
        .map(term_of)
        .collect();
    Ok(Json(oruk::Page::new(
        contents,
        all.len() as u64,
        page,
        per_page,
    )))
}

async fn taxonomy_term(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<oruk::TaxonomyTerm>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let t = store::term(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut out = term_of(&t);
    out.taxonomy_detail = store::taxonomy(&state.db, t.taxonomy_id)
        .await?
        .as_ref()
        .map(taxonomy_of);
    Ok(Json(out))
}
