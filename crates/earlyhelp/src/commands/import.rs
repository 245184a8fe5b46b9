//! `earlyhelp import ...` and `earlyhelp export services`: the directory's data in and out.
//!
//! - `import postcodes FILE`: the ONS postcode directory (or any CSV with postcode, latitude,
//!   longitude and optionally LSOA, local authority and locality columns).
//! - `import lsoa-localities FILE`: which LSOA lies in which locality (`lsoa,locality`).
//! - `import oruk FILE_OR_URL`: an Open Referral UK 3.0 (or 1.0) feed, every page, keeping
//!   provenance so a re-import updates rather than duplicates.
//! - `import services FILE` / `export services`: the connectors' spreadsheet.
//! - `import readings FILE`: outcome measure readings (`family_id,measure,taken_on,area,score`),
//!   for example from an organisation's licensed measure; all or nothing.
//! - `import imd FILE --edition 2019|2025`: the English Indices of Deprivation by LSOA (LSOA
//!   code, IMD rank, IMD decile); all or nothing.
//!
//! Every import checks each row first and reports each problem by row and field; good rows
//! load in one transaction, so a failure part-way leaves nothing half-written.

use crate::server::DbArgs;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::directory::{
    self as rules, NEEDS_TAXONOMY_ID, Postcode, ServiceDetail, need_by_code, need_id, oruk,
};
use earlyhelp_domain::links::WebLink;
use earlyhelp_storage::Db;
use earlyhelp_storage::accounts;
use earlyhelp_storage::directory::{
    self as store, LocationRecord, OrganizationRecord, PostcodeRecord, ScheduleRecord,
    ServiceRecord, ServiceRow, SourceKind, TaxonomyRecord, TermRecord,
};
use earlyhelp_storage::gate::{self, Authorised};
use serde_json::Value;
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Load postcodes (the ONS postcode directory CSV: pcds, lat, long, lsoa21, oslaua).
    Postcodes {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load which LSOA lies in which locality (CSV: lsoa,locality).
    LsoaLocalities {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load an Open Referral UK feed: a JSON file, or an http:// address of an ORUK API.
    Oruk(OrukArgs),
    /// Load services from a spreadsheet (CSV with the columns `export services` writes).
    Services {
        file: PathBuf,
        /// The partner organisation that keeps listings with no locality (its exact name).
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load outcome readings (CSV: family_id,measure,taken_on,area,score), all or none.
    Readings {
        file: PathBuf,
        /// Who took the readings, as the families' chronologies will say.
        #[arg(long)]
        by: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Load the English Indices of Deprivation by LSOA (the published CSV: LSOA code, IMD rank,
    /// IMD decile), all or none; replaces the edition if loaded before.
    Imd {
        file: PathBuf,
        /// 2019 (on 2011 LSOAs) or 2025 (on 2021 LSOAs).
        #[arg(long)]
        edition: String,
        /// Leave out the LSOAs outside the city's postcodes (the published file covers all of
        /// England) instead of refusing the file.
        #[arg(long)]
        city_only: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args)]
pub struct OrukArgs {
    /// A file (one page, a list of services, or one service) or an API address.
    pub source: String,
    /// Only services modified on or after this date-time (asked of the API, or filtered).
    #[arg(long)]
    pub modified_after: Option<String>,
    /// The partner organisation that keeps listings with no locality (its exact name).
    #[arg(long)]
    pub owner: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Write services as CSV (to standard output, or --output FILE).
    Services {
        /// Only this locality's (its slug, like ladywood).
        #[arg(long, default_value = "")]
        locality: String,
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write the 360Giving file: awards to organisations and paid payments to families
    /// (anonymised), as JSON or CSV; grants failing 360Giving's checks are left out and named.
    #[command(name = "360giving")]
    Giving(crate::commands::giving::GivingArgs),
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    pub added: usize,
    pub updated: usize,
    /// "row 7, postcode: ..." — each problem with where it is.
    pub problems: Vec<String>,
}

impl Report {
    fn print(&self, what: &str) {
        for problem in &self.problems {
            eprintln!("{problem}");
        }
        println!(
            "{what}: {} added, {} updated, {} problem(s)",
            self.added,
            self.updated,
            self.problems.len()
        );
    }
}

pub async fn run(command: ImportCommand) -> Result<()> {
    match command {
        ImportCommand::Postcodes { file, db } => {
            let db = crate::server::open(&db.database).await?;
            let report = import_postcodes(
                &db,
                &std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?,
            )
            .await?;
            report.print("postcodes");
        }
        ImportCommand::LsoaLocalities { file, db } => {
            let db = crate::server::open(&db.database).await?;
            let report = import_lsoa_localities(
                &db,
                &std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?,
            )
            .await?;
            report.print("LSOA localities");
        }
        ImportCommand::Oruk(args) => {
            let db = crate::server::open(&args.db.database).await?;
            let report = import_oruk(
                &db,
                &args.source,
                args.modified_after.as_deref(),
                args.owner.as_deref(),
            )
            .await?;
            report.print("services");
        }
        ImportCommand::Services { file, owner, db } => {
            let db = crate::server::open(&db.database).await?;
            let report = import_services_csv(
                &db,
                &std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?,
                owner.as_deref(),
            )
            .await?;
            report.print("services");
        }
        ImportCommand::Readings { file, by, db } => {
            let db = crate::server::open(&db.database).await?;
            import_readings(&db, &file, &by).await?;
        }
        ImportCommand::Imd {
            file,
            edition,
            city_only,
            db,
        } => {
            let db = crate::server::open(&db.database).await?;
            import_imd(&db, &file, &edition, city_only).await?;
        }
    }
    Ok(())
}

pub async fn run_export(command: ExportCommand) -> Result<()> {
    let (locality, output, db) = match command {
        ExportCommand::Services {
            locality,
            output,
            db,
        } => (locality, output, db),
        ExportCommand::Giving(args) => return crate::commands::giving::run(args).await,
    };
    let db = crate::server::open(&db.database).await?;
    let csv = export_services_csv(&db, &locality).await?;
    match output {
        Some(path) => {
            std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&csv)?;
        }
    }
    Ok(())
}

fn column(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

/// The locality slugs we know, and a lookup from a slug or a name to a slug.
async fn localities(db: &Db) -> Result<Vec<(String, String)>> {
    Ok(accounts::list_localities(db)
        .await?
        .into_iter()
        .map(|l| (l.slug, l.name))
        .collect())
}

fn locality_slug(known: &[(String, String)], raw: &str) -> Option<String> {
    let raw = raw.trim();
    known
        .iter()
        .find(|(slug, name)| slug == raw || name.eq_ignore_ascii_case(raw))
        .map(|(slug, _)| slug.clone())
}

pub async fn import_postcodes(db: &Db, bytes: &[u8]) -> Result<Report> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers()?.clone();
    let postcode = column(&headers, &["pcds", "pcd", "pcd7", "pcd8", "postcode"])
        .context("the file has no postcode column (pcds or postcode)")?;
    let lat =
        column(&headers, &["lat", "latitude"]).context("the file has no lat or latitude column")?;
    let long = column(&headers, &["long", "longitude", "lon"])
        .context("the file has no long or longitude column")?;
    let lsoa = column(
        &headers,
        &["lsoa21", "lsoa21cd", "lsoa11", "lsoa11cd", "lsoa"],
    );
    let authority = column(
        &headers,
        &[
            "oslaua",
            "lad",
            "lad25cd",
            "lad24cd",
            "lad23cd",
            "local_authority",
        ],
    );
    let locality = column(&headers, &["locality"]);
    let known = localities(db).await?;
    let mut report = Report::default();
    let mut good = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.problems.push(format!("row {row}: {e}"));
                continue;
            }
        };
        let get = |i: usize| record.get(i).unwrap_or("").trim();
        let code = match rules::normalise_postcode(get(postcode)) {
            Some(Postcode::Full(code)) => code,
            _ => {
                report.problems.push(format!(
                    "row {row}, postcode: {:?} is not a full postcode",
                    get(postcode)
                ));
                continue;
            }
        };
        let (Ok(latitude), Ok(longitude)) = (get(lat).parse::<f64>(), get(long).parse::<f64>())
        else {
            report.problems.push(format!(
                "row {row}, lat/long: {:?}, {:?} are not coordinates",
                get(lat),
                get(long)
            ));
            continue;
        };
        // The ONS directory marks postcodes with no grid reference with 99.999999.
        if latitude.abs() > 90.0 || longitude.abs() > 180.0 {
            report.problems.push(format!(
                "row {row}, lat/long: {code} has no coordinates in the file"
            ));
            continue;
        }
        let locality_slug = match locality.map(get).filter(|l| !l.is_empty()) {
            Some(raw) => match locality_slug(&known, raw) {
                Some(slug) => Some(slug),
                None => {
                    report.problems.push(format!(
                        "row {row}, locality: {raw:?} is not one of our localities"
                    ));
                    continue;
                }
            },
            None => None,
        };
        good.push(PostcodeRecord {
            postcode: code,
            latitude,
            longitude,
            lsoa: lsoa.map(get).filter(|s| !s.is_empty()).map(str::to_string),
            local_authority: authority
                .map(get)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            locality_slug,
        });
    }
    let mut authorised =
        gate::operator(db, "postcodes", Action::Create, "import postcodes").await?;
    for record in &mut good {
        if record.locality_slug.is_none()
            && let Some(lsoa) = &record.lsoa
        {
            record.locality_slug = store::lsoa_locality(&mut authorised.tx, lsoa).await?;
        }
        store::upsert_postcode(&mut authorised.tx, record).await?;
        report.added += 1;
    }
    authorised.tx.commit().await?;
    Ok(report)
}

pub async fn import_lsoa_localities(db: &Db, bytes: &[u8]) -> Result<Report> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers()?.clone();
    let lsoa = column(
        &headers,
        &["lsoa", "lsoa21", "lsoa21cd", "lsoa11", "lsoa11cd"],
    )
    .context("the file has no lsoa column")?;
    let locality = column(&headers, &["locality"]).context("the file has no locality column")?;
    let known = localities(db).await?;
    let mut report = Report::default();
    let mut good = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let Ok(record) = record else {
            report.problems.push(format!("row {row}: unreadable"));
            continue;
        };
        let code = record.get(lsoa).unwrap_or("").trim().to_string();
        let raw = record.get(locality).unwrap_or("").trim();
        match (code.is_empty(), locality_slug(&known, raw)) {
            (true, _) => report.problems.push(format!("row {row}, lsoa: is empty")),
            (_, None) => report.problems.push(format!(
                "row {row}, locality: {raw:?} is not one of our localities"
            )),
            (false, Some(slug)) => good.push((code, slug)),
        }
    }
    let mut authorised =
        gate::operator(db, "postcodes", Action::Update, "import LSOA localities").await?;
    for (code, slug) in &good {
        store::upsert_lsoa_locality(&mut authorised.tx, code, slug).await?;
        report.added += 1;
    }
    authorised.tx.commit().await?;
    Ok(report)
}

// ------------------------------------------------------------------------------------------
// Open Referral UK

/// Fetches JSON over plain http (the binary carries no TLS stack: fetch https feeds with a
/// browser or curl and import the file).
async fn fetch(client: &reqwest::Client, url: &str) -> Result<Value> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("fetching {url}"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    response
        .json()
        .await
        .with_context(|| format!("{url} did not send JSON"))
}

fn contents(page: &Value) -> Vec<Value> {
    page.get("contents")
        .or_else(|| page.get("content"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn total_pages(page: &Value) -> u64 {
    page.get("total_pages")
        .or_else(|| page.get("totalPages"))
        .and_then(Value::as_u64)
        .unwrap_or(1)
}

/// Every service of a feed, fully nested: all pages of `/services`, then each in full.
async fn services_from_api(base: &str, modified_after: Option<&str>) -> Result<Vec<Value>> {
    let client = reqwest::Client::new();
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/services").unwrap_or(base);
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let mut url = format!("{base}/services?page={page}&per_page=100");
        if let Some(after) = modified_after {
            url.push_str(&format!("&modified_after={after}"));
        }
        let list = fetch(&client, &url).await?;
        for item in contents(&list) {
            let Some(id) = item.get("id").and_then(Value::as_str) else {
                continue;
            };
            out.push(fetch(&client, &format!("{base}/services/{id}")).await?);
        }
        if page >= total_pages(&list) || list.get("last_page") == Some(&Value::Bool(true)) {
            break;
        }
        page += 1;
    }
    Ok(out)
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A number a feed gives as a number or a string; "NaN" and "inf" parse as floats but are no
/// age, cost or coordinate, so only finite numbers count.
fn number(value: &Value, key: &str) -> Option<f64> {
    value
        .get(key)
        .and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .filter(|n: &f64| n.is_finite())
}

/// `key`'s number, if any, when it lies within `range`, or what is wrong with it (`field` names
/// it): a feed's age of 200 or latitude of 100 is refused, as the spreadsheet refuses them.
fn number_within(
    value: &Value,
    key: &str,
    field: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, String> {
    match number(value, key) {
        Some(n) if !range.contains(&n) => Err(format!(
            "{field}: {n} is not from {} to {}",
            range.start(),
            range.end()
        )),
        n => Ok(n),
    }
}

/// The ages a service may give, in years (as the spreadsheet allows).
const AGES: std::ops::RangeInclusive<f64> = 0.0..=120.0;

fn list<'a>(value: &'a Value, keys: &[&str]) -> Vec<&'a Value> {
    keys.iter()
        .filter_map(|k| value.get(*k).and_then(Value::as_array))
        .flatten()
        .collect()
}

/// An id from the feed if it is a UUID, else a fresh one.
fn id_of(value: &Value) -> Uuid {
    text(value, "id")
        .and_then(|s| Uuid::parse_str(&s).ok())
        .unwrap_or_else(Uuid::now_v7)
}

const ORUK1_DAYS: [(&str, &str); 7] = [
    ("monday", "MO"),
    ("tuesday", "TU"),
    ("wednesday", "WE"),
    ("thursday", "TH"),
    ("friday", "FR"),
    ("saturday", "SA"),
    ("sunday", "SU"),
];

/// `key`'s website, if any: an http or https address, or what is wrong with it (`field` names
/// it in the report).
fn link(value: &Value, key: &str, field: &str) -> Result<Option<WebLink>, String> {
    match text(value, key) {
        None => Ok(None),
        Some(raw) => WebLink::parse(&raw)
            .map(Some)
            .map_err(|e| format!("{field}: {raw:?} {e}")),
    }
}

/// `key`'s email address, if any, or what is wrong with it.
fn email(value: &Value, key: &str, field: &str) -> Result<Option<String>, String> {
    match text(value, key) {
        None => Ok(None),
        Some(raw) => earlyhelp_domain::people::normalise_email(&raw)
            .map(Some)
            .ok_or_else(|| format!("{field}: {raw:?} is not an email address")),
    }
}

/// One ORUK service (3.0, or 1.0's older names) as our record, or what is wrong with it.
pub fn service_of(value: &Value, source: &str, fetched: i64) -> Result<ServiceRecord, String> {
    let name = text(value, "name").ok_or("name: missing")?;
    let source_id = text(value, "id").ok_or("id: missing")?;
    let status = text(value, "status")
        .unwrap_or_else(|| "active".into())
        .to_lowercase();
    if !["active", "inactive", "defunct", "temporarily closed"].contains(&status.as_str()) {
        return Err(format!("status: {status:?} is not an ORUK status"));
    }
    let org_value = value.get("organization").cloned().unwrap_or(Value::Null);
    let organization = OrganizationRecord {
        id: Uuid::nil(),
        name: text(&org_value, "name").unwrap_or_else(|| "Unknown provider".into()),
        description: text(&org_value, "description").unwrap_or_default(),
        email: email(&org_value, "email", "organization.email")?,
        website: match link(&org_value, "website", "organization.website")? {
            Some(website) => Some(website),
            None => link(&org_value, "url", "organization.url")?,
        },
        charity_number: None,
        partner_organisation_id: None,
        last_modified_micros: fetched,
        source: source.to_string(),
        source_id: text(&org_value, "id").or_else(|| text(value, "organization_id")),
        fetched_micros: Some(fetched),
    };
    let eligibility = list(value, &["eligibilitys", "eligibilities"]);
    let age = |key: &str| -> Result<Option<f64>, String> {
        Ok(match number_within(value, key, key, AGES)? {
            Some(age) => Some(age),
            None => eligibility
                .iter()
                .map(|e| number_within(e, key, &format!("eligibility.{key}"), AGES))
                .find_map(Result::transpose)
                .transpose()?,
        })
    };
    let (minimum_age, maximum_age) = (age("minimum_age")?, age("maximum_age")?);
    let mut detail = ServiceDetail::default();
    for option in list(value, &["cost_options"]) {
        detail.cost_options.push(oruk::CostOption {
            id: id_of(option),
            service_id: None,
            option: text(option, "option"),
            amount: number(option, "amount"),
            currency: text(option, "currency"),
            amount_description: text(option, "amount_description"),
        });
    }
    for language in list(value, &["languages"]) {
        detail.languages.push(oruk::Language {
            id: id_of(language),
            service_id: None,
            name: text(language, "name").or_else(|| text(language, "language")),
            code: text(language, "code"),
        });
    }
    for contact in list(value, &["contacts"]) {
        detail.contacts.push(oruk::Contact {
            id: id_of(contact),
            service_id: None,
            name: text(contact, "name"),
            title: text(contact, "title"),
            email: text(contact, "email"),
            phones: list(contact, &["phones"])
                .into_iter()
                .filter_map(|p| {
                    Some(oruk::Phone {
                        id: id_of(p),
                        number: text(p, "number")?,
                        description: None,
                    })
                })
                .collect(),
        });
    }
    for funding in list(value, &["funding", "fundings"]) {
        detail.funding.push(oruk::Funding {
            id: id_of(funding),
            service_id: None,
            source: text(funding, "source"),
        });
    }
    for area in list(value, &["service_areas"]) {
        detail.service_areas.push(oruk::ServiceArea {
            id: id_of(area),
            service_id: None,
            name: text(area, "name").or_else(|| text(area, "service_area")),
            description: text(area, "description"),
        });
    }
    let free = detail
        .cost_options
        .iter()
        .all(|c| c.amount.unwrap_or(0.0) <= 0.0);
    let phone = list(value, &["phones"])
        .into_iter()
        .find_map(|p| text(p, "number"))
        .or_else(|| {
            detail
                .contacts
                .iter()
                .flat_map(|c| c.phones.iter())
                .map(|p| p.number.clone())
                .next()
        });
    let mut locations = Vec::new();
    for sal in list(value, &["service_at_locations"]) {
        let location = sal.get("location").cloned().unwrap_or(Value::Null);
        let address = list(&location, &["addresses", "physical_addresses"])
            .into_iter()
            .next()
            .cloned()
            .unwrap_or(Value::Null);
        let postcode =
            text(&address, "postal_code").and_then(|p| match rules::normalise_postcode(&p) {
                Some(Postcode::Full(p)) => Some(p),
                _ => None,
            });
        locations.push(LocationRecord {
            id: Uuid::now_v7(),
            location_id: Uuid::now_v7(),
            name: text(&location, "name"),
            address_1: text(&address, "address_1").unwrap_or_default(),
            city: text(&address, "city").unwrap_or_default(),
            postcode,
            latitude: number_within(&location, "latitude", "location.latitude", -90.0..=90.0)?,
            longitude: number_within(&location, "longitude", "location.longitude", -180.0..=180.0)?,
            geo_latitude: None,
            geo_longitude: None,
            accessibility: list(
                &location,
                &["accessibility", "accessibility_for_disabilities"],
            )
            .into_iter()
            .filter_map(|a| text(a, "description").or_else(|| text(a, "accessibility")))
            .collect::<Vec<_>>()
            .join(". "),
        });
    }
    let mut schedules = Vec::new();
    for schedule in list(value, &["schedules"]) {
        schedules.push(ScheduleRecord {
            id: Uuid::now_v7(),
            freq: text(schedule, "freq").unwrap_or_else(|| "WEEKLY".into()),
            byday: text(schedule, "byday").unwrap_or_default(),
            opens_at: text(schedule, "opens_at")
                .and_then(|t| rules::parse_time(&t))
                .unwrap_or_default(),
            closes_at: text(schedule, "closes_at")
                .and_then(|t| rules::parse_time(&t))
                .unwrap_or_default(),
            description: text(schedule, "description").unwrap_or_default(),
        });
    }
    // ORUK 1.0: one regular_schedule per weekday.
    for schedule in list(value, &["regular_schedules"]) {
        let weekday = schedule
            .get("weekday")
            .map(|w| w.to_string().trim_matches('"').to_lowercase())
            .unwrap_or_default();
        let Some((_, code)) = ORUK1_DAYS
            .iter()
            .find(|(name, _)| weekday.starts_with(&name[..3]))
        else {
            continue;
        };
        schedules.push(ScheduleRecord {
            id: Uuid::now_v7(),
            freq: "WEEKLY".into(),
            byday: code.to_string(),
            opens_at: text(schedule, "opens_at")
                .and_then(|t| rules::parse_time(&t))
                .unwrap_or_default(),
            closes_at: text(schedule, "closes_at")
                .and_then(|t| rules::parse_time(&t))
                .unwrap_or_default(),
            description: String::new(),
        });
    }
    let mut terms = Vec::new();
    for attribute in list(value, &["attributes", "service_taxonomys"]) {
        let Some(term) = attribute
            .get("taxonomy_term")
            .or_else(|| attribute.get("taxonomy"))
        else {
            continue;
        };
        let Some(term_name) = text(term, "name") else {
            continue;
        };
        let code = text(term, "code")
            .or_else(|| text(term, "term"))
            .unwrap_or_else(|| term_name.clone());
        // Our own needs keep our ids; others keep theirs, under their taxonomy.
        let ours = need_by_code(&code).and_then(|n| need_id(n.code));
        let taxonomy_id = ours
            .map(|_| NEEDS_TAXONOMY_ID)
            .or_else(|| text(term, "taxonomy_id").and_then(|t| Uuid::parse_str(&t).ok()))
            .unwrap_or(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0fee));
        terms.push(TermRecord {
            id: ours.unwrap_or_else(|| id_of(term)),
            taxonomy_id,
            code,
            name: term_name,
            description: text(term, "description").unwrap_or_default(),
            parent_id: None,
        });
    }
    let today = store::today();
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let assured_date = text(value, "assured_date")
        .and_then(|d| time::Date::parse(d.get(..10).unwrap_or(&d), &date_format).ok());
    let review_by = assured_date
        .map(rules::next_review)
        .unwrap_or(today + time::Duration::days(rules::DUE_SOON_DAYS));
    let last_modified = text(value, "last_modified")
        .and_then(|t| {
            time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| (t.unix_timestamp_nanos() / 1000) as i64)
        .unwrap_or(fetched);
    Ok(ServiceRecord {
        id: Uuid::nil(),
        organization,
        name,
        description: text(value, "description").unwrap_or_default(),
        url: link(value, "url", "url")?,
        email: email(value, "email", "email")?,
        phone,
        status,
        minimum_age: minimum_age.map(|a| a.floor() as i64),
        maximum_age: maximum_age.map(|a| a.floor() as i64),
        free,
        fees_description: text(value, "fees_description").or_else(|| text(value, "fees")),
        alert: text(value, "alert"),
        locality_slug: None,
        owner_organisation_id: Uuid::nil(),
        review_by,
        assured_date,
        assurer_email: text(value, "assurer_email"),
        last_modified_micros: last_modified,
        merged_into: None,
        detail,
        source: source.to_string(),
        source_id: Some(source_id),
        fetched_micros: Some(fetched),
        locations,
        schedules,
        terms,
    })
}

/// Whose listings imported services become: the locality's lead organisation, else `owner`.
struct Owners {
    leads: Vec<(String, Uuid)>,
    fallback: Option<Uuid>,
}

impl Owners {
    async fn load(db: &Db, owner: Option<&str>) -> Result<Owners> {
        let organisations = accounts::list_organisations(db).await?;
        let fallback = match owner {
            Some(name) => Some(
                organisations
                    .iter()
                    .find(|o| o.name.eq_ignore_ascii_case(name.trim()))
                    .with_context(|| format!("there is no organisation called {name:?}"))?
                    .id,
            ),
            None => organisations
                .iter()
                .find(|o| o.kind == "council")
                .map(|o| o.id),
        };
        Ok(Owners {
            leads: organisations
                .iter()
                .filter(|o| o.leads_locality)
                .filter_map(|o| Some((o.locality_slug.clone()?, o.id)))
                .collect(),
            fallback,
        })
    }

    fn of(&self, locality: Option<&str>) -> Option<Uuid> {
        locality
            .and_then(|l| {
                self.leads
                    .iter()
                    .find(|(slug, _)| slug == l)
                    .map(|(_, id)| *id)
            })
            .or(self.fallback)
    }
}

/// The locality a postcode is in, if we know the postcode.
async fn locality_of(db: &Db, postcode: Option<&str>) -> Result<Option<String>> {
    let Some(postcode) = postcode.and_then(rules::normalise_postcode) else {
        return Ok(None);
    };
    Ok(store::locate(db, &postcode)
        .await?
        .and_then(|p| p.locality_slug))
}

/// Writes services read from a feed, keeping the ids we gave them on an earlier import.
async fn save_imported(
    db: &Db,
    authorised: &mut Authorised,
    mut service: ServiceRecord,
    owners: &Owners,
    report: &mut Report,
    label: &str,
) -> Result<()> {
    let source = service.source.clone();
    let org_key = service
        .organization
        .source_id
        .clone()
        .unwrap_or_else(|| service.organization.name.clone());
    service.organization.source_id = Some(org_key.clone());
    service.organization.id = store::id_for_source(
        &mut authorised.tx,
        SourceKind::Organization,
        &source,
        &org_key,
    )
    .await?
    .unwrap_or_else(Uuid::now_v7);
    store::save_organization(authorised, &service.organization).await?;
    let source_id = service.source_id.clone().unwrap_or_default();
    let existing =
        store::id_for_source(&mut authorised.tx, SourceKind::Service, &source, &source_id).await?;
    service.id = existing.unwrap_or_else(Uuid::now_v7);
    let postcode = service.locations.iter().find_map(|l| l.postcode.clone());
    service.locality_slug = locality_of(db, postcode.as_deref()).await?;
    let Some(owner) = owners.of(service.locality_slug.as_deref()) else {
        report.problems.push(format!(
            "{label}: no organisation to keep it (give --owner)"
        ));
        return Ok(());
    };
    service.owner_organisation_id = owner;
    for term in &service.terms {
        if term.taxonomy_id != NEEDS_TAXONOMY_ID {
            let taxonomy = TaxonomyRecord {
                id: term.taxonomy_id,
                name: format!("Taxonomy from {source}"),
                description: String::new(),
                uri: None,
                version: None,
            };
            store::upsert_term(authorised, &taxonomy, term).await?;
        }
    }
    store::save_service(authorised, &service).await?;
    if existing.is_some() {
        report.updated += 1;
    } else {
        report.added += 1;
    }
    Ok(())
}

/// Imports a feed: a file path or an `http://` API address.
pub async fn import_oruk(
    db: &Db,
    source: &str,
    modified_after: Option<&str>,
    owner: Option<&str>,
) -> Result<Report> {
    let fetched = earlyhelp_storage::now_micros();
    let values = if source.starts_with("http://") || source.starts_with("https://") {
        services_from_api(source, modified_after).await?
    } else {
        let text = std::fs::read_to_string(source).with_context(|| format!("reading {source}"))?;
        let json: Value =
            serde_json::from_str(&text).with_context(|| format!("{source} is not JSON"))?;
        let mut values = match &json {
            Value::Array(items) => items.clone(),
            Value::Object(_) if json.get("contents").is_some() || json.get("content").is_some() => {
                contents(&json)
            }
            Value::Object(_) => vec![json.clone()],
            _ => bail!("{source} holds neither services nor a page of them"),
        };
        if let Some(after) = modified_after {
            values.retain(|v| text_value(v, "last_modified").is_none_or(|m| m.as_str() >= after));
        }
        values
    };
    let owners = Owners::load(db, owner).await?;
    let mut report = Report::default();
    let mut checked = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let label = format!(
            "service {} ({})",
            index + 1,
            text(value, "id").unwrap_or_else(|| "no id".into())
        );
        match service_of(value, source, fetched) {
            Ok(service) => checked.push((label, service)),
            Err(problem) => report.problems.push(format!("{label}, {problem}")),
        }
    }
    let mut authorised = gate::operator(
        db,
        "directory",
        Action::Create,
        "import an Open Referral UK feed",
    )
    .await?;
    for (label, service) in checked {
        save_imported(db, &mut authorised, service, &owners, &mut report, &label).await?;
    }
    authorised.tx.commit().await?;
    Ok(report)
}

fn text_value(value: &Value, key: &str) -> Option<String> {
    text(value, key)
}

// ------------------------------------------------------------------------------------------
// Spreadsheets

pub async fn export_services_csv(db: &Db, locality: &str) -> Result<Vec<u8>> {
    let authorised =
        gate::operator(db, "directory", Action::List, "export services as CSV").await?;
    authorised.tx.commit().await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    for id in store::all_service_ids(db, locality).await? {
        if let Some(service) = store::load_service(db, id).await? {
            writer.serialize(ServiceRow::of(&service))?;
        }
    }
    Ok(writer.into_inner()?)
}

pub async fn import_services_csv(db: &Db, bytes: &[u8], owner: Option<&str>) -> Result<Report> {
    let known: Vec<String> = localities(db)
        .await?
        .into_iter()
        .map(|(slug, _)| slug)
        .collect();
    let owners = Owners::load(db, owner).await?;
    let terms = store::list_terms(db, Some(NEEDS_TAXONOMY_ID)).await?;
    let mut reader = csv::Reader::from_reader(bytes);
    let mut report = Report::default();
    let mut checked = Vec::new();
    for (index, row) in reader.deserialize::<ServiceRow>().enumerate() {
        let line = index + 2;
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                report.problems.push(format!("row {line}: {e}"));
                continue;
            }
        };
        match store::check_row(&row, &known) {
            Ok(ok) => checked.push((line, ok)),
            Err(problems) => {
                for (field, message) in problems {
                    report
                        .problems
                        .push(format!("row {line}, {field}: {message}"));
                }
            }
        }
    }
    let today = store::today();
    let now = earlyhelp_storage::now_micros();
    let mut authorised =
        gate::operator(db, "directory", Action::Create, "import services from CSV").await?;
    for (line, row) in checked {
        let existing = match row.id {
            Some(id) => store::load_service(db, id).await?,
            None => None,
        };
        let Some(owner) = existing
            .as_ref()
            .map(|s| s.owner_organisation_id)
            .or_else(|| owners.of(row.locality.as_deref()))
        else {
            report.problems.push(format!(
                "row {line}, locality: no organisation keeps listings here (give --owner)"
            ));
            continue;
        };
        let organization = store::organization_named(&mut authorised, &row.organization).await?;
        let location = LocationRecord {
            id: existing
                .as_ref()
                .and_then(|s| s.locations.first())
                .map(|l| l.id)
                .unwrap_or_else(Uuid::now_v7),
            location_id: existing
                .as_ref()
                .and_then(|s| s.locations.first())
                .map(|l| l.location_id)
                .unwrap_or_else(Uuid::now_v7),
            name: Some(organization.name.clone()),
            address_1: row.address.clone(),
            city: String::new(),
            postcode: row.postcode.clone(),
            latitude: row.coordinates.map(|c| c.0),
            longitude: row.coordinates.map(|c| c.1),
            geo_latitude: None,
            geo_longitude: None,
            accessibility: existing
                .as_ref()
                .and_then(|s| s.locations.first())
                .map(|l| l.accessibility.clone())
                .unwrap_or_default(),
        };
        let service = ServiceRecord {
            id: row.id.unwrap_or_else(Uuid::now_v7),
            organization,
            name: row.edit.name.clone(),
            description: row.edit.description.clone(),
            url: row.edit.url.clone(),
            email: row.edit.email.clone(),
            phone: row.edit.phone.clone(),
            status: row.edit.status.clone(),
            minimum_age: row.edit.minimum_age,
            maximum_age: row.edit.maximum_age,
            free: row.edit.free,
            fees_description: row.edit.fees_description.clone(),
            alert: existing.as_ref().and_then(|s| s.alert.clone()),
            locality_slug: row.locality.clone(),
            owner_organisation_id: owner,
            review_by: row.review_by.unwrap_or_else(|| rules::next_review(today)),
            assured_date: row.assured_date,
            assurer_email: existing.as_ref().and_then(|s| s.assurer_email.clone()),
            last_modified_micros: now,
            merged_into: None,
            detail: existing
                .as_ref()
                .map(|s| s.detail.clone())
                .unwrap_or_default(),
            source: existing
                .as_ref()
                .map(|s| s.source.clone())
                .unwrap_or_else(|| "local".into()),
            source_id: existing.as_ref().and_then(|s| s.source_id.clone()),
            fetched_micros: existing.as_ref().and_then(|s| s.fetched_micros),
            locations: if row.address.is_empty() && row.postcode.is_none() {
                Vec::new()
            } else {
                vec![location]
            },
            schedules: if row.days.is_empty() && row.opens_at.is_empty() {
                Vec::new()
            } else {
                vec![ScheduleRecord {
                    id: existing
                        .as_ref()
                        .and_then(|s| s.schedules.first())
                        .map(|s| s.id)
                        .unwrap_or_else(Uuid::now_v7),
                    freq: "WEEKLY".into(),
                    byday: row.days.clone(),
                    opens_at: row.opens_at.clone(),
                    closes_at: row.closes_at.clone(),
                    description: String::new(),
                }]
            },
            terms: terms
                .iter()
                .filter(|t| row.needs.contains(&t.id))
                .cloned()
                .collect(),
        };
        store::save_service(&mut authorised, &service).await?;
        if existing.is_some() {
            report.updated += 1;
        } else {
            report.added += 1;
        }
    }
    authorised.tx.commit().await?;
    Ok(report)
}

/// The operator's readings import: every problem in the file by row and field, or the whole
/// file in one audited transaction.
async fn import_readings(db: &Db, file: &std::path::Path, by: &str) -> Result<()> {
    use earlyhelp_storage::measures::{self as measures, ImportError, Importer};
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let Ok(text) = String::from_utf8(bytes) else {
        bail!("{} is not UTF-8 text: save it as CSV UTF-8", file.display());
    };
    let held: Vec<_> = measures::list(db)
        .await?
        .into_iter()
        .map(|listing| listing.measure)
        .collect();
    let today = earlyhelp_storage::cases::today();
    let checked = earlyhelp_web::check_readings_file(&text, &held, today).map_err(|problems| {
        anyhow::anyhow!(
            "{}: nothing was imported\n{}",
            file.display(),
            problems.join("\n")
        )
    })?;
    match measures::import_readings(db, Importer::Operator, &checked, by).await {
        Ok(imported) => {
            println!(
                "imported {} readings ({} scores) for {} families",
                imported.readings, imported.scores, imported.families
            );
            Ok(())
        }
        Err(ImportError::Refused { row }) => bail!(
            "{}: nothing was imported\nRow {row}, family_id: there is no family with this id",
            file.display()
        ),
        Err(ImportError::Storage(e)) => Err(e.into()),
    }
}

/// The first problems of a refused file, and how many more: a national file with the wrong
/// columns would otherwise print thirty thousand lines.
fn problem_list(problems: &[impl std::fmt::Display]) -> String {
    const SHOWN: usize = 50;
    let mut lines: Vec<String> = problems.iter().take(SHOWN).map(|p| p.to_string()).collect();
    if problems.len() > SHOWN {
        lines.push(format!("... and {} more", problems.len() - SHOWN));
    }
    lines.join("\n")
}

async fn import_imd(db: &Db, file: &std::path::Path, edition: &str, city_only: bool) -> Result<()> {
    use earlyhelp_domain::deprivation::{City, Edition, read_imd};
    use earlyhelp_domain::limits::thousands;
    use earlyhelp_storage::deprivation as store;
    let edition = Edition::parse(edition).with_context(|| {
        format!("--edition: {edition:?} is not an edition we read: 2019 or 2025")
    })?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let year = edition.year();
    let purpose = format!("import IMD {year} from {}", file.display());
    let mut authorised = gate::operator(db, "deprivation", Action::Create, &purpose).await?;
    let lsoas = store::city_lsoas(&mut authorised.tx).await?;
    // Before any postcode is loaded there is no city to hold the file to.
    let city = (!lsoas.is_empty()).then_some(City {
        lsoas: &lsoas,
        only: city_only,
    });
    let read = read_imd(&bytes, edition, city).map_err(|problems| {
        anyhow::anyhow!(
            "{}: nothing was imported\n{}",
            file.display(),
            problem_list(&problems)
        )
    })?;
    let source = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().to_string(),
    );
    store::replace_edition(&mut authorised, edition, &source, false, &read.rows).await?;
    authorised.tx.commit().await?;
    let left_out = match read.outside_city {
        0 => String::new(),
        n => format!(" ({} outside the city's postcodes left out)", thousands(n)),
    };
    println!(
        "IMD {year}: {} LSOAs loaded{left_out}",
        thousands(read.rows.len())
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_finite_numbers_count() {
        let feed = serde_json::json!({"a": "NaN", "b": "inf", "c": "4.5", "d": 7});
        assert_eq!(super::number(&feed, "a"), None);
        assert_eq!(super::number(&feed, "b"), None);
        assert_eq!(super::number(&feed, "c"), Some(4.5));
        assert_eq!(super::number(&feed, "d"), Some(7.0));
    }

    #[test]
    fn coordinates_and_ages_out_of_range_are_refused_by_field() {
        let read = |service: serde_json::Value| super::service_of(&service, "feed", 0);
        let place = |latitude: serde_json::Value| {
            serde_json::json!({"id": "s", "name": "n", "service_at_locations": [
                {"location": {"latitude": latitude, "longitude": -1.9}}]})
        };
        assert_eq!(
            read(place(serde_json::json!(100))).unwrap_err(),
            "location.latitude: 100 is not from -90 to 90"
        );
        let kept = read(place(serde_json::json!(" 52.48 "))).unwrap();
        assert_eq!(kept.locations[0].latitude, Some(52.48));
        let aged = read(serde_json::json!({"id": "s", "name": "n",
            "eligibilitys": [{"maximum_age": 200}]}));
        assert_eq!(
            aged.unwrap_err(),
            "eligibility.maximum_age: 200 is not from 0 to 120"
        );
        let aged = read(serde_json::json!({"id": "s", "name": "n", "minimum_age": -1}));
        assert!(aged.unwrap_err().starts_with("minimum_age: "));
    }
}
