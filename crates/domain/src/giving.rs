//! 360Giving: awards to community organisations and payments to families as 360Giving grants
//! (the 360Giving Data Standard 1.4, © 360Giving, CC BY 4.0; its schema is copied in
//! `data/360giving/`), flattened to its CSV columns, and held to 360Giving's data quality
//! accuracy checks. Pure: the records come from storage, already stripped of identity.
//!
//! A payment to a family is published with a generic recipient (never a name, family id,
//! postcode or date of birth), its reason and purpose codes, and where the family lives no
//! finer than its locality and local authority.
//!
//! A grant that fails a check is left out of the file with a finding the operator sees, rather
//! than the whole file refused: one applicant's email address in a project description should
//! not stop every other award being published, and it must never be published itself. The
//! command prints the findings; grants officers see them at `/grants/360giving`.

use crate::access::{Actor, Decision};
use crate::cases::parse_date;
use crate::money::{PURPOSES, REASONS, code_title};
use crate::roles::{Permission, Role};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use time::Date;
use uuid::Uuid;

/// The standard's package schema (a file of grants), copied from the standard.
pub const PACKAGE_SCHEMA: &str = include_str!("../data/360giving/360-giving-package-schema.json");
/// The standard's schema of one grant.
pub const GRANT_SCHEMA: &str = include_str!("../data/360giving/360-giving-schema.json");
/// The address by which the package schema refers to the grant schema.
pub const GRANT_SCHEMA_URL: &str = "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/360-giving-schema.json";

/// The version of the standard the files follow, as the package gives it.
pub const VERSION: &str = "1.4";

// ---------------------------------------------------------------------------------------------
// What storage gives

/// The programme a grant was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    pub id: Uuid,
    pub name: String,
    pub funder: String,
    /// The funder's organisation identifier, for example `GB-LAE-BIR`.
    pub funder_identifier: String,
    /// The programme's 360Giving prefix, for example `360G-earlyhelp`.
    pub identifier_prefix: String,
    pub regrant_type: Option<String>,
}

/// An award to a community organisation. Dates as stored, `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Award {
    pub programme: Programme,
    pub reference: String,
    pub organisation_name: String,
    /// `GB-CHC-…`, `GB-COH-…`, or `360G-…` for a group without a register number.
    pub organisation_identifier: String,
    pub charity_number: Option<String>,
    pub company_number: Option<String>,
    pub title: String,
    pub activity: String,
    pub amount_pence: i64,
    pub award_date: String,
    pub planned_start: Option<String>,
    pub planned_end: Option<String>,
    /// Where its beneficiaries live: an LSOA or ward code, and which (`LSOA` or `WD`).
    pub beneficiary_area: String,
    pub beneficiary_area_type: String,
    /// The name of the locality it works in.
    pub locality: String,
    /// When it was decided, microseconds since the epoch.
    pub modified_micros: i64,
}

/// A paid payment to a family, with nothing that identifies the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyPayment {
    pub programme: Programme,
    pub reference: String,
    pub amount_pence: i64,
    /// 360Giving grants-to-individuals purpose codes.
    pub purposes: Vec<String>,
    /// The grants-to-individuals reason code.
    pub reason: String,
    /// The day it was approved: the award.
    pub award_date: String,
    /// The name of the family's locality.
    pub locality: String,
    /// The ONS code of the locality's local authority (for example `E08000025`), if known.
    pub local_authority: Option<String>,
    /// When it was decided, microseconds since the epoch.
    pub modified_micros: i64,
}

// ---------------------------------------------------------------------------------------------
// 360Giving's shapes (only the fields earlyhelp fills)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub id: String,
    pub title: String,
    pub description: String,
    pub currency: String,
    /// In pounds.
    pub amount_awarded: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_disbursed: Option<f64>,
    pub award_date: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_dates: Vec<Event>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipient_organization: Vec<Organization>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_individual: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_individuals_details: Option<ToIndividualsDetails>,
    pub funding_organization: Vec<Organization>,
    pub grant_programme: Vec<GrantProgramme>,
    pub beneficiary_location: Vec<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regrant_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_open_call: Option<String>,
    pub date_modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charity_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToIndividualsDetails {
    pub primary_grant_reason: String,
    pub grant_purpose: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantProgramme {
    pub code: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub name: String,
    pub country_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_code_type: Option<String>,
}

/// A file of grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub grants: Vec<Grant>,
    pub version: String,
}

impl Package {
    pub fn new(grants: Vec<Grant>) -> Self {
        Package {
            grants,
            version: VERSION.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping

/// The name every payment to a family is published under.
pub const INDIVIDUAL_RECIPIENT: &str = "Individual Recipient";

fn pounds(pence: i64) -> f64 {
    pence as f64 / 100.0
}

/// Microseconds since the epoch as a full date-time, as `dateModified` wants.
fn date_time(micros: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn funder(programme: &Programme) -> Vec<Organization> {
    vec![Organization {
        id: programme.funder_identifier.clone(),
        name: programme.funder.clone(),
        charity_number: None,
        company_number: None,
    }]
}

fn grant_programme(programme: &Programme) -> Vec<GrantProgramme> {
    vec![GrantProgramme {
        code: programme.id.to_string(),
        title: programme.name.clone(),
    }]
}

/// 360Giving's geoCodeType for a local authority's ONS code, by its entity prefix.
pub fn authority_code_type(code: &str) -> Option<&'static str> {
    match code.get(..3)? {
        "E06" | "W06" => Some("UA"),
        "E07" => Some("NMD"),
        "E08" => Some("MD"),
        "E09" => Some("LONB"),
        "S12" => Some("CA"),
        _ => None,
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// An award to an organisation as a 360Giving grant. `source`: where the data is published.
pub fn award_grant(award: &Award, source: Option<&str>) -> Grant {
    let (start, end) = (
        non_empty(&award.planned_start),
        non_empty(&award.planned_end),
    );
    let planned_dates = if start.is_some() || end.is_some() {
        vec![Event {
            start_date: start,
            end_date: end,
        }]
    } else {
        Vec::new()
    };
    Grant {
        id: crate::money::grant_identifier(&award.programme.identifier_prefix, &award.reference),
        title: award.title.trim().to_string(),
        description: award.activity.trim().to_string(),
        currency: "GBP".into(),
        amount_awarded: pounds(award.amount_pence),
        amount_disbursed: None,
        award_date: award.award_date.clone(),
        planned_dates,
        recipient_organization: vec![Organization {
            id: award.organisation_identifier.trim().to_string(),
            name: award.organisation_name.trim().to_string(),
            charity_number: non_empty(&award.charity_number),
            company_number: non_empty(&award.company_number),
        }],
        recipient_individual: None,
        to_individuals_details: None,
        funding_organization: funder(&award.programme),
        grant_programme: grant_programme(&award.programme),
        beneficiary_location: vec![Location {
            name: award.locality.clone(),
            country_code: "GB".into(),
            geo_code: Some(award.beneficiary_area.trim().to_string()),
            geo_code_type: Some(award.beneficiary_area_type.trim().to_string()),
        }],
        regrant_type: award.programme.regrant_type.clone(),
        // Community grants are applied for on the public form.
        from_open_call: Some("Yes".into()),
        date_modified: date_time(award.modified_micros),
        data_source: source.map(str::to_string),
    }
}

/// A paid payment to a family as a 360Giving grant to an individual: a generic recipient whose
/// identifier is the payment's own (so two payments to one family cannot be linked), its codes,
/// and its locality within its local authority; never its notes.
pub fn payment_grant(payment: &FamilyPayment, source: Option<&str>) -> Grant {
    let id =
        crate::money::grant_identifier(&payment.programme.identifier_prefix, &payment.reference);
    let purposes: Vec<&str> = payment
        .purposes
        .iter()
        .map(|code| code_title(PURPOSES, code))
        .collect();
    let description = format!(
        "A payment to a family in {} for {}. The main reason: {}.",
        payment.locality,
        purposes.join(", ").to_lowercase(),
        code_title(REASONS, &payment.reason).to_lowercase(),
    );
    let authority = payment
        .local_authority
        .as_deref()
        .map(str::trim)
        .filter(|code| authority_code_type(code).is_some());
    Grant {
        recipient_individual: Some(Person {
            id: format!("{id}-IND"),
            name: INDIVIDUAL_RECIPIENT.into(),
        }),
        to_individuals_details: Some(ToIndividualsDetails {
            primary_grant_reason: payment.reason.clone(),
            grant_purpose: payment.purposes.clone(),
        }),
        title: format!("{}: a payment to a family", payment.programme.name),
        description,
        currency: "GBP".into(),
        amount_awarded: pounds(payment.amount_pence),
        amount_disbursed: Some(pounds(payment.amount_pence)),
        award_date: payment.award_date.clone(),
        planned_dates: Vec::new(),
        recipient_organization: Vec::new(),
        funding_organization: funder(&payment.programme),
        grant_programme: grant_programme(&payment.programme),
        beneficiary_location: vec![Location {
            name: payment.locality.clone(),
            country_code: "GB".into(),
            geo_code: authority.map(str::to_string),
            geo_code_type: authority.and_then(authority_code_type).map(str::to_string),
        }],
        regrant_type: payment.programme.regrant_type.clone(),
        from_open_call: None,
        date_modified: date_time(payment.modified_micros),
        data_source: source.map(str::to_string),
        id,
    }
}

// ---------------------------------------------------------------------------------------------
// Data quality: 360Giving's accuracy checks

/// One problem with one grant: the grant's identifier, the field by its 360Giving column
/// title, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub grant: String,
    pub field: &'static str,
    pub problem: String,
}

/// The organisation identifier lists (org-id.guide) a UK grant's organisations are drawn from,
/// and `360G` for one with no register number (`360G-funder-…`).
pub const ORGANISATION_PREFIXES: &[&str] = &[
    "GB-CHC", "GB-SC", "GB-NIC", "GB-COH", "GB-EDU", "GB-GOR", "GB-LAE", "GB-LAS", "GB-LANI",
    "GB-MPR", "GB-NHS", "GB-PLA", "GB-REV", "GB-SHPE", "GB-UKPRN", "360G",
];

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+").unwrap());

/// A UK postcode within text, in any case: the inward code's letters are never C, I, K, M, O
/// or V, which keeps "5pm" and the like out.
static POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2}\b").unwrap()
});

/// Registered charity numbers: 6 to 8 digits (a Scottish one after `SC`, a Northern Irish one
/// after `NIC`).
pub fn is_charity_number(raw: &str) -> bool {
    let digits = raw
        .strip_prefix("SC")
        .or_else(|| raw.strip_prefix("NIC"))
        .unwrap_or(raw);
    (6..=8).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

/// Companies House numbers: 8 characters, letters and digits (`01234567`, `SC123456`).
pub fn is_company_number(raw: &str) -> bool {
    raw.len() == 8 && raw.chars().all(|c| c.is_ascii_alphanumeric())
}

/// An organisation identifier from a recognised list, with something after the list's code;
/// a charity's or company's number held to its own shape.
fn identifier_problem(id: &str) -> Option<String> {
    let Some((prefix, rest)) = ORGANISATION_PREFIXES
        .iter()
        .find_map(|p| Some((*p, id.strip_prefix(p)?.strip_prefix('-')?)))
    else {
        return Some(format!(
            "{id:?} is not from a recognised identifier list (GB-CHC, GB-COH, GB-SC, GB-NIC, \
             GB-LAE and so on; 360G- for a group with no register number)"
        ));
    };
    if rest.is_empty() || rest.chars().any(char::is_whitespace) {
        return Some(format!("{id:?} has no identifier after {prefix}-"));
    }
    match prefix {
        "GB-CHC" if !is_charity_number(rest) => {
            Some(format!("{id:?}: a charity number is 6 to 8 digits"))
        }
        "GB-COH" if !is_company_number(rest) => {
            Some(format!("{id:?}: a company number is 8 characters"))
        }
        _ => None,
    }
}

/// A date as the standard writes them: `YYYY-MM-DD`, or a full date-time (its day).
fn date_of(raw: &str) -> Option<Date> {
    use time::format_description::well_known::Rfc3339;
    parse_date(raw).or_else(|| {
        time::OffsetDateTime::parse(raw, &Rfc3339)
            .ok()
            .map(|t| t.date())
    })
}

/// The free text of a grant, by its column title: what people read, and what must carry no
/// personal details.
fn texts(grant: &Grant) -> Vec<(&'static str, &str)> {
    let mut texts = vec![
        ("Title", grant.title.as_str()),
        ("Description", grant.description.as_str()),
    ];
    texts.extend(
        grant
            .recipient_organization
            .iter()
            .map(|o| ("Recipient Org:Name", o.name.as_str())),
    );
    texts.extend(
        grant
            .recipient_individual
            .iter()
            .map(|p| ("Recipient Ind:Name", p.name.as_str())),
    );
    texts.extend(
        grant
            .funding_organization
            .iter()
            .map(|o| ("Funding Org:Name", o.name.as_str())),
    );
    texts.extend(
        grant
            .grant_programme
            .iter()
            .map(|p| ("Grant Programme:Title", p.title.as_str())),
    );
    texts.extend(
        grant
            .beneficiary_location
            .iter()
            .map(|l| ("Beneficiary Location:Name", l.name.as_str())),
    );
    texts
}

/// Every problem 360Giving's accuracy checks would find with `grant` on `today`.
pub fn check(grant: &Grant, today: Date) -> Vec<Finding> {
    let mut problems: Vec<(&'static str, String)> = Vec::new();
    if grant.amount_awarded <= 0.0 {
        problems.push((
            "Amount Awarded",
            "the amount awarded must be more than £0".into(),
        ));
    }
    match date_of(&grant.award_date) {
        None => problems.push((
            "Award Date",
            format!("{:?} is not a date (YYYY-MM-DD)", grant.award_date),
        )),
        Some(date) if date > today => {
            problems.push(("Award Date", "the award date is in the future".into()))
        }
        Some(_) => {}
    }
    for event in &grant.planned_dates {
        let start = event.start_date.as_deref().map(|d| (d, date_of(d)));
        let end = event.end_date.as_deref().map(|d| (d, date_of(d)));
        for (field, date) in [
            ("Planned Dates:Start Date", start),
            ("Planned Dates:End Date", end),
        ] {
            if let Some((raw, None)) = date {
                problems.push((field, format!("{raw:?} is not a date (YYYY-MM-DD)")));
            }
        }
        if let (Some((_, Some(start))), Some((_, Some(end)))) = (start, end)
            && start > end
        {
            problems.push((
                "Planned Dates:End Date",
                "the planned end is before the planned start".into(),
            ));
        }
    }
    for (field, organisations) in [
        ("Recipient Org:Identifier", &grant.recipient_organization),
        ("Funding Org:Identifier", &grant.funding_organization),
    ] {
        for organisation in organisations {
            problems.extend(identifier_problem(&organisation.id).map(|p| (field, p)));
            if organisation.name.trim().is_empty() {
                problems.push((field, "the organisation has no name".into()));
            }
        }
    }
    for organisation in &grant.recipient_organization {
        if let Some(number) = &organisation.charity_number
            && !is_charity_number(number)
        {
            problems.push((
                "Recipient Org:Charity Number",
                format!("{number:?}: a charity number is 6 to 8 digits"),
            ));
        }
        if let Some(number) = &organisation.company_number
            && !is_company_number(number)
        {
            problems.push((
                "Recipient Org:Company Number",
                format!("{number:?}: a company number is 8 characters"),
            ));
        }
    }
    if let Some(details) = &grant.to_individuals_details {
        if !REASONS
            .iter()
            .any(|(c, _)| *c == details.primary_grant_reason)
        {
            problems.push((
                "To Individuals Details:Primary Grant Reason",
                format!(
                    "{:?} is not a grants-to-individuals reason code",
                    details.primary_grant_reason
                ),
            ));
        }
        for code in &details.grant_purpose {
            if !PURPOSES.iter().any(|(c, _)| c == code) {
                problems.push((
                    "To Individuals Details:Grant Purpose",
                    format!("{code:?} is not a grants-to-individuals purpose code"),
                ));
            }
        }
    }
    for (field, text) in texts(grant) {
        if EMAIL.is_match(text) {
            problems.push((field, "contains an email address".into()));
        }
        if POSTCODE.is_match(text) {
            problems.push((field, "contains a postcode".into()));
        }
        // A cell a spreadsheet would run as a formula, in the CSV.
        if crate::limits::starts_like_formula(text) {
            problems.push((field, "starts like a spreadsheet formula".into()));
        }
    }
    problems
        .into_iter()
        .map(|(field, problem)| Finding {
            grant: grant.id.clone(),
            field,
            problem,
        })
        .collect()
}

/// The grants that pass every check, and the findings of those left out.
pub fn publishable(grants: Vec<Grant>, today: Date) -> (Vec<Grant>, Vec<Finding>) {
    let mut kept = Vec::with_capacity(grants.len());
    let mut findings = Vec::new();
    for grant in grants {
        let found = check(&grant, today);
        if found.is_empty() {
            kept.push(grant);
        } else {
            findings.extend(found);
        }
    }
    (kept, findings)
}

// ---------------------------------------------------------------------------------------------
// CSV: 360Giving's flat columns, titled as its schema titles them

pub const COLUMNS: &[&str] = &[
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Awarded",
    "Amount Disbursed",
    "Award Date",
    "Planned Dates:Start Date",
    "Planned Dates:End Date",
    "Recipient Org:Identifier",
    "Recipient Org:Name",
    "Recipient Org:Charity Number",
    "Recipient Org:Company Number",
    "Recipient Ind:Identifier",
    "Recipient Ind:Name",
    "To Individuals Details:Primary Grant Reason",
    "To Individuals Details:Grant Purpose",
    "Beneficiary Location:Name",
    "Beneficiary Location:Country Code",
    "Beneficiary Location:Geographic Code",
    "Beneficiary Location:Geographic Code Type",
    "Funding Org:Identifier",
    "Funding Org:Name",
    "Grant Programme:Code",
    "Grant Programme:Title",
    "For Regrant Type",
    "From An Open Call?",
    "Last Modified",
    "Data Source",
];

/// One grant as a row of [`COLUMNS`]: the first of each list (earlyhelp writes one of each);
/// a list of codes joined by `;`, as 360Giving's flattening does.
fn row(grant: &Grant) -> Vec<String> {
    let text = |value: Option<&String>| value.cloned().unwrap_or_default();
    let recipient = grant.recipient_organization.first();
    let individual = grant.recipient_individual.as_ref();
    let details = grant.to_individuals_details.as_ref();
    let planned = grant.planned_dates.first();
    let location = grant.beneficiary_location.first();
    let funder = grant.funding_organization.first();
    let programme = grant.grant_programme.first();
    vec![
        grant.id.clone(),
        grant.title.clone(),
        grant.description.clone(),
        grant.currency.clone(),
        grant.amount_awarded.to_string(),
        grant
            .amount_disbursed
            .map(|a| a.to_string())
            .unwrap_or_default(),
        grant.award_date.clone(),
        text(planned.and_then(|p| p.start_date.as_ref())),
        text(planned.and_then(|p| p.end_date.as_ref())),
        text(recipient.map(|o| &o.id)),
        text(recipient.map(|o| &o.name)),
        text(recipient.and_then(|o| o.charity_number.as_ref())),
        text(recipient.and_then(|o| o.company_number.as_ref())),
        text(individual.map(|p| &p.id)),
        text(individual.map(|p| &p.name)),
        text(details.map(|d| &d.primary_grant_reason)),
        details
            .map(|d| d.grant_purpose.join(";"))
            .unwrap_or_default(),
        text(location.map(|l| &l.name)),
        text(location.map(|l| &l.country_code)),
        text(location.and_then(|l| l.geo_code.as_ref())),
        text(location.and_then(|l| l.geo_code_type.as_ref())),
        text(funder.map(|o| &o.id)),
        text(funder.map(|o| &o.name)),
        text(programme.map(|p| &p.code)),
        text(programme.map(|p| &p.title)),
        text(grant.regrant_type.as_ref()),
        text(grant.from_open_call.as_ref()),
        grant.date_modified.clone(),
        text(grant.data_source.as_ref()),
    ]
}

/// The grants as 360Giving's flat CSV, a header of [`COLUMNS`] and a row a grant.
pub fn csv(grants: &[Grant]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for grant in grants {
        writer.write_record(row(grant))?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

// ---------------------------------------------------------------------------------------------
// Access

/// Who may take the full file, with payments to families however anonymised: grants officers,
/// who run the programmes, and administrators, who publish the partnership's data. The public
/// sees awards to organisations only, and commissioners aggregates.
pub fn decide_export(actor: &Actor) -> Decision {
    if let Some(role) = actor
        .roles
        .iter()
        .copied()
        .find(|r| r.may(Permission::ManagePayments))
    {
        return Decision::allow(role, "runs funding programmes: publishes them to 360Giving");
    }
    if actor.roles.contains(&Role::Administrator) {
        return Decision::allow(Role::Administrator, "publishes the partnership's open data");
    }
    Decision::deny("neither a grants officer nor an administrator")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 24);

    fn programme() -> Programme {
        Programme {
            id: Uuid::nil(),
            name: "Community Grants".into(),
            funder: "Birmingham City Council".into(),
            funder_identifier: "GB-LAE-BIR".into(),
            identifier_prefix: "360G-earlyhelp".into(),
            regrant_type: Some("FRG010".into()),
        }
    }

    /// St Margaret's Trust's award from the business case (003).
    fn award() -> Award {
        Award {
            programme: programme(),
            reference: "GA-1A2B3C".into(),
            organisation_name: "St Margaret's Trust".into(),
            organisation_identifier: "GB-CHC-1234567".into(),
            charity_number: Some("1234567".into()),
            company_number: None,
            title: "Gardening and cook-along".into(),
            activity: "Weekly gardening and cooking sessions for families".into(),
            amount_pence: 854_100,
            award_date: "2026-06-01".into(),
            planned_start: Some("2026-07-01".into()),
            planned_end: Some("2027-06-30".into()),
            beneficiary_area: "E01009146".into(),
            beneficiary_area_type: "LSOA".into(),
            locality: "Ladywood".into(),
            modified_micros: 1_780_000_000_000_000,
        }
    }

    fn payment() -> FamilyPayment {
        FamilyPayment {
            programme: Programme {
                name: "Resilience Fund".into(),
                ..programme()
            },
            reference: "RP-0123456789AB".into(),
            amount_pence: 13_300,
            purposes: vec!["GTIP070".into(), "GTIP050".into()],
            reason: "GTIR010".into(),
            award_date: "2026-11-20".into(),
            locality: "Erdington".into(),
            local_authority: Some("E08000025".into()),
            modified_micros: 1_790_000_000_000_000,
        }
    }

    fn schema_problems(package: &Package) -> Vec<String> {
        let grant: Value = serde_json::from_str(GRANT_SCHEMA).unwrap();
        let schema: Value = serde_json::from_str(PACKAGE_SCHEMA).unwrap();
        let registry = jsonschema::Registry::new()
            .add(GRANT_SCHEMA_URL, grant)
            .unwrap()
            .prepare()
            .unwrap();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_registry(&registry)
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        let instance = serde_json::to_value(package).unwrap();
        validator
            .iter_errors(&instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    #[test]
    fn an_award_and_a_payment_make_a_valid_package() {
        let grants = vec![award_grant(&award(), None), payment_grant(&payment(), None)];
        let package = Package::new(grants);
        assert_eq!(schema_problems(&package), Vec::<String>::new());
        let json = serde_json::to_value(&package).unwrap();
        let award = &json["grants"][0];
        assert_eq!(award["id"], "360G-earlyhelp-GA-1A2B3C");
        assert_eq!(award["amountAwarded"], 8541.0);
        assert_eq!(award["currency"], "GBP");
        assert_eq!(
            award["recipientOrganization"][0]["charityNumber"],
            "1234567"
        );
        assert_eq!(award["fundingOrganization"][0]["id"], "GB-LAE-BIR");
        assert_eq!(award["plannedDates"][0]["endDate"], "2027-06-30");
        assert_eq!(award["beneficiaryLocation"][0]["geoCodeType"], "LSOA");
        assert_eq!(award["regrantType"], "FRG010");
        assert!(award.get("recipientIndividual").is_none());
        let paid = &json["grants"][1];
        assert_eq!(paid["amountAwarded"], 133.0);
        assert_eq!(paid["recipientIndividual"]["name"], INDIVIDUAL_RECIPIENT);
        assert_eq!(
            paid["recipientIndividual"]["id"],
            "360G-earlyhelp-RP-0123456789AB-IND"
        );
        assert_eq!(
            paid["toIndividualsDetails"]["grantPurpose"],
            serde_json::json!(["GTIP070", "GTIP050"])
        );
        assert_eq!(
            paid["toIndividualsDetails"]["primaryGrantReason"],
            "GTIR010"
        );
        assert_eq!(paid["beneficiaryLocation"][0]["geoCode"], "E08000025");
        assert_eq!(paid["beneficiaryLocation"][0]["geoCodeType"], "MD");
        assert!(paid.get("recipientOrganization").is_none());
        assert!(
            paid["description"]
                .as_str()
                .unwrap()
                .contains("food and essential items, utilities")
        );
        assert!(paid["dateModified"].as_str().unwrap().ends_with('Z'));
    }

    /// The schema itself holds a grant to its shape: the tests above would pass on anything
    /// if it did not.
    #[test]
    fn the_schema_refuses_a_grant_without_a_recipient_and_an_empty_file() {
        let mut grant = award_grant(&award(), None);
        grant.recipient_organization.clear();
        assert!(!schema_problems(&Package::new(vec![grant])).is_empty());
        assert!(!schema_problems(&Package::new(Vec::new())).is_empty());
    }

    #[test]
    fn a_payment_never_carries_a_finer_place_than_its_local_authority() {
        let mut unplaced = payment();
        unplaced.local_authority = Some("E01009146".into());
        let grant = payment_grant(&unplaced, None);
        assert_eq!(grant.beneficiary_location[0].geo_code, None, "an LSOA");
        assert_eq!(grant.beneficiary_location[0].name, "Erdington");
        unplaced.local_authority = None;
        let grant = payment_grant(&unplaced, None);
        assert_eq!(grant.beneficiary_location[0].geo_code_type, None);
        assert_eq!(authority_code_type("E09000001"), Some("LONB"));
    }

    fn fields(grant: &Grant) -> Vec<&'static str> {
        check(grant, TODAY).into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn good_grants_pass_the_accuracy_checks() {
        assert_eq!(check(&award_grant(&award(), None), TODAY), vec![]);
        assert_eq!(check(&payment_grant(&payment(), None), TODAY), vec![]);
    }

    #[test]
    fn the_accuracy_checks_find_each_problem_by_column() {
        let mut bad = award();
        bad.amount_pence = 0;
        bad.award_date = "2026-12-01".into();
        bad.planned_start = Some("2027-01-01".into());
        bad.planned_end = Some("2026-12-31".into());
        bad.organisation_identifier = "GB-XYZ-123".into();
        bad.charity_number = Some("12345".into());
        bad.company_number = Some("1234567".into());
        bad.title = "Write to jo.bloggs@example.org".into();
        bad.activity = "Sessions at the hall, B16 8HA".into();
        assert_eq!(
            fields(&award_grant(&bad, None)),
            vec![
                "Amount Awarded",
                "Award Date",
                "Planned Dates:End Date",
                "Recipient Org:Identifier",
                "Recipient Org:Charity Number",
                "Recipient Org:Company Number",
                "Title",
                "Description",
            ]
        );
        let mut registered = award();
        registered.organisation_identifier = "GB-COH-123".into();
        assert_eq!(
            fields(&award_grant(&registered, None)),
            ["Recipient Org:Identifier"]
        );
        registered.organisation_identifier = "360G-".into();
        assert_eq!(
            fields(&award_grant(&registered, None)),
            ["Recipient Org:Identifier"]
        );
        let mut formula = award();
        formula.title = "=HYPERLINK(\"http://x\")".into();
        assert_eq!(fields(&award_grant(&formula, None)), ["Title"]);
        let mut undated = award();
        undated.award_date = "1 June 2026".into();
        assert_eq!(fields(&award_grant(&undated, None)), ["Award Date"]);
        let mut coded = payment();
        coded.reason = "GTIR999".into();
        coded.purposes.push("GTIP999".into());
        assert_eq!(
            fields(&payment_grant(&coded, None)),
            [
                "To Individuals Details:Primary Grant Reason",
                "To Individuals Details:Grant Purpose"
            ]
        );
    }

    #[test]
    fn postcodes_and_emails_are_found_in_text_and_times_are_not() {
        for text in [
            "b16 8ha",
            "Meet at SW1A 1AA",
            "(M1 1AE)",
            "EC1A1BB",
            "a@b.co",
        ] {
            let mut grant = award_grant(&award(), None);
            grant.description = text.into();
            assert_eq!(fields(&grant), ["Description"], "{text}");
        }
        for text in [
            "Sessions at 5pm, 10am",
            "Ages 5 to 11",
            "Year 6 3pm",
            "£8,541",
            "Key stage 2",
        ] {
            let mut grant = award_grant(&award(), None);
            grant.description = text.into();
            assert_eq!(fields(&grant), Vec::<&str>::new(), "{text}");
        }
    }

    #[test]
    fn numbers_and_identifiers_follow_the_registers() {
        for good in ["123456", "1234567", "12345678", "SC012345"] {
            assert!(is_charity_number(good), "{good}");
        }
        for bad in ["12345", "123456789", "12345a", "", "SC12"] {
            assert!(!is_charity_number(bad), "{bad}");
        }
        assert!(is_company_number("01234567") && is_company_number("SC123456"));
        assert!(!is_company_number("1234567") && !is_company_number("0123 567"));
        assert_eq!(identifier_problem("GB-SC-SC012345"), None);
        assert_eq!(identifier_problem("360G-earlyhelp-GA-1"), None);
        assert!(identifier_problem("GB-CHCX-1").is_some());
    }

    #[test]
    fn failing_grants_are_left_out_with_their_findings() {
        let mut bad = award();
        bad.reference = "GA-BAD".into();
        bad.amount_pence = 0;
        let grants = vec![
            award_grant(&award(), None),
            award_grant(&bad, None),
            payment_grant(&payment(), None),
        ];
        let (kept, findings) = publishable(grants, TODAY);
        assert_eq!(kept.len(), 2);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].grant, "360G-earlyhelp-GA-BAD");
    }

    #[test]
    fn the_csv_has_360givings_columns_and_a_row_a_grant() {
        let grants = vec![
            award_grant(&award(), Some("https://earlyhelp.example/grants")),
            payment_grant(&payment(), None),
        ];
        let bytes = csv(&grants).unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.iter().collect::<Vec<_>>(), COLUMNS);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        let cell = |row: &csv::StringRecord, column: &str| {
            row[COLUMNS.iter().position(|c| *c == column).unwrap()].to_string()
        };
        assert_eq!(cell(&rows[0], "Amount Awarded"), "8541");
        assert_eq!(cell(&rows[0], "Recipient Org:Identifier"), "GB-CHC-1234567");
        assert_eq!(
            cell(&rows[0], "Data Source"),
            "https://earlyhelp.example/grants"
        );
        assert_eq!(cell(&rows[1], "Recipient Ind:Name"), INDIVIDUAL_RECIPIENT);
        assert_eq!(
            cell(&rows[1], "To Individuals Details:Grant Purpose"),
            "GTIP070;GTIP050"
        );
        assert_eq!(cell(&rows[1], "Recipient Org:Name"), "");
    }

    /// The column titles are the schema's own titles, joined as 360Giving's flattening joins
    /// them ("Recipient Org" then "Name").
    #[test]
    fn the_column_titles_are_the_schemas() {
        let schema: Value = serde_json::from_str(GRANT_SCHEMA).unwrap();
        let properties = &schema["properties"];
        let defs = &schema["$defs"];
        let title = |property: &Value| property["title"].as_str().unwrap().to_string();
        let mut known: Vec<String> = Vec::new();
        for (name, property) in properties.as_object().unwrap() {
            let nested = match name.as_str() {
                "recipientOrganization" | "fundingOrganization" => Some(&defs["Organization"]),
                "recipientIndividual" => Some(&defs["Person"]),
                "plannedDates" => Some(&defs["Event"]),
                "beneficiaryLocation" => Some(&defs["Location"]),
                "grantProgramme" => Some(&defs["GrantProgramme"]),
                "toIndividualsDetails" => Some(property),
                _ => None,
            };
            match nested {
                Some(def) => {
                    for inner in def["properties"].as_object().unwrap().values() {
                        if inner.get("title").is_some() {
                            known.push(format!("{}:{}", title(property), title(inner)));
                        }
                    }
                }
                None if property.get("title").is_some() => known.push(title(property)),
                None => {}
            }
        }
        known.push("Currency".into());
        for column in COLUMNS {
            assert!(known.iter().any(|k| k == column), "{column} in {known:?}");
        }
    }

    #[test]
    fn grants_officers_and_administrators_take_the_full_file() {
        let actor = |role: Role| Actor {
            user_id: Uuid::now_v7(),
            email: "someone@example.org".into(),
            organisation_id: Uuid::now_v7(),
            roles: vec![role],
            localities: vec!["ladywood".into()],
        };
        for role in Role::ALL {
            let allowed = decide_export(&actor(role)).allowed;
            let expected = matches!(role, Role::GrantsOfficer | Role::Administrator);
            assert_eq!(allowed, expected, "{role:?}");
        }
    }
}
