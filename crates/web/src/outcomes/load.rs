//! Loading indicator values: CSV uploads by data owners (validate every row, preview, commit)
//! and the JSON API for machine loads. Both go through the same row checks and the same gate.
//!
//! An upload is kept server-side between preview and commit (`indicator_uploads`): the file
//! committed is exactly the file previewed, nothing is trusted from a second post, and each
//! value loaded keeps a link to the file it came from.

use super::{period_label, signed_may};
use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::extract::{Form, Json, Multipart, Path};
use crate::session::Signed;
use crate::views::Layout;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::people::slugify;
use earlyhelp_storage::accounts::{self, Locality};
use earlyhelp_storage::gate::{Request, authorise};
use earlyhelp_storage::outcomes::{self, CITY, Indicator, LoadPlan, NewValue};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// Most rows one upload may hold.
pub const MAX_ROWS: usize = 50_000;

/// A problem with one field of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowProblem {
    /// 1-based data row, not counting the header (for the API: 1-based index in `values`).
    pub row: usize,
    pub field: String,
    pub message: String,
}

impl RowProblem {
    fn new(row: usize, field: &str, message: impl Into<String>) -> Self {
        RowProblem {
            row,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Row {}, {}: {}", self.row, self.field, self.message)
    }
}

/// One row as given, before checking.
#[derive(Debug, Clone, Default)]
pub struct RawRow {
    pub indicator: String,
    pub period: String,
    pub area: String,
    pub dimension: String,
    pub group: String,
    pub value: String,
    pub denominator: String,
}

/// What rows are checked against.
pub struct Known<'a> {
    pub indicators: HashMap<&'a str, &'a Indicator>,
    pub localities: &'a [Locality],
    /// The latest month that may have a value, `YYYY-MM`.
    pub latest_period: String,
}

impl<'a> Known<'a> {
    pub fn new(indicators: &'a [Indicator], localities: &'a [Locality], today: time::Date) -> Self {
        Known {
            indicators: indicators
                .iter()
                .map(|i| (i.reference.as_str(), i))
                .collect(),
            localities,
            latest_period: format!("{:04}-{:02}", today.year(), u8::from(today.month())),
        }
    }
}

/// Checks `YYYY-MM`.
pub fn parse_period(text: &str) -> Option<String> {
    let (year, month) = text.trim().split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let year: u32 = year.parse().ok()?;
    let month: u32 = month.parse().ok()?;
    ((1990..=2100).contains(&year) && (1..=12).contains(&month))
        .then(|| format!("{year:04}-{month:02}"))
}

/// A number as people type it: spaces and thousands separators allowed.
fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| *c != ',' && *c != ' ')
        .collect();
    let cleaned = cleaned.strip_suffix('%').unwrap_or(&cleaned);
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Checks every field of every row; answers the values, or every problem found.
pub fn check_rows(rows: &[RawRow], known: &Known<'_>) -> Result<Vec<NewValue>, Vec<RowProblem>> {
    let mut problems = Vec::new();
    let mut values = Vec::with_capacity(rows.len());
    let mut seen: HashMap<(String, String, String, String, String), usize> = HashMap::new();
    if rows.is_empty() {
        problems.push(RowProblem::new(0, "file", "The file has no rows of values"));
    }
    if rows.len() > MAX_ROWS {
        problems.push(RowProblem::new(
            0,
            "file",
            format!(
                "The file has {} rows; load at most {MAX_ROWS} at a time",
                rows.len()
            ),
        ));
        return Err(problems);
    }
    for (index, raw) in rows.iter().enumerate() {
        let row = index + 1;
        let before = problems.len();
        let indicator = known.indicators.get(raw.indicator.trim()).copied();
        if raw.indicator.trim().is_empty() {
            problems.push(RowProblem::new(
                row,
                "indicator",
                "Enter the indicator reference, like 7.2",
            ));
        } else if indicator.is_none() {
            problems.push(RowProblem::new(
                row,
                "indicator",
                format!("There is no indicator {:?}", raw.indicator.trim()),
            ));
        } else if let Some(computed) = indicator.filter(|i| i.source == "computed") {
            problems.push(RowProblem::new(
                row,
                "indicator",
                format!(
                    "{} is computed from case records, so its values cannot be loaded",
                    computed.reference
                ),
            ));
        }
        let period = parse_period(&raw.period);
        match &period {
            None => problems.push(RowProblem::new(
                row,
                "period",
                format!(
                    "Enter the month as YYYY-MM, like 2020-04 (got {:?})",
                    raw.period.trim()
                ),
            )),
            Some(p) if *p > known.latest_period => problems.push(RowProblem::new(
                row,
                "period",
                format!("{} is in the future", period_label(p)),
            )),
            Some(_) => {}
        }
        let area_text = raw.area.trim();
        let area = if area_text.is_empty() || area_text.eq_ignore_ascii_case(CITY) {
            Some(CITY.to_string())
        } else {
            let slug = slugify(area_text);
            known
                .localities
                .iter()
                .find(|l| l.slug == slug)
                .map(|l| l.slug.clone())
        };
        if area.is_none() {
            problems.push(RowProblem::new(
                row,
                "area",
                format!("{area_text:?} is not \"city\" or one of the localities"),
            ));
        }
        let dimension = raw
            .dimension
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '-'], "_");
        let group = raw.group.trim().to_string();
        if !dimension.is_empty() && !super::dimensions().any(|(d, _)| d == dimension) {
            problems.push(RowProblem::new(
                row,
                "dimension",
                format!(
                    "The breakdown must be one of {} (got {:?})",
                    super::dimensions()
                        .map(|(d, _)| d)
                        .collect::<Vec<_>>()
                        .join(", "),
                    raw.dimension.trim()
                ),
            ));
        } else if !dimension.is_empty() && group.is_empty() {
            problems.push(RowProblem::new(
                row,
                "group",
                "Enter the group within the breakdown, like Asian",
            ));
        } else if dimension.is_empty() && !group.is_empty() {
            problems.push(RowProblem::new(
                row,
                "dimension",
                "Enter the breakdown the group belongs to, like ethnicity",
            ));
        } else if group.chars().count() > 60 {
            problems.push(RowProblem::new(
                row,
                "group",
                "Keep the group name to 60 characters or fewer",
            ));
        }
        let value = parse_number(&raw.value);
        match (value, indicator) {
            (None, _) => problems.push(RowProblem::new(
                row,
                "value",
                format!("Enter a number, like 2898 (got {:?})", raw.value.trim()),
            )),
            (Some(v), Some(ind)) if ind.unit == "percent" && !(0.0..=100.0).contains(&v) => {
                problems.push(RowProblem::new(
                    row,
                    "value",
                    "A percentage must be between 0 and 100",
                ))
            }
            (Some(v), Some(ind)) if ind.unit != "change" && v < 0.0 => problems.push(
                RowProblem::new(row, "value", format!("A {} cannot be negative", ind.unit)),
            ),
            _ => {}
        }
        let denominator = if raw.denominator.trim().is_empty() {
            None
        } else {
            match parse_number(&raw.denominator) {
                Some(d) if d > 0.0 => Some(d),
                _ => {
                    problems.push(RowProblem::new(
                        row,
                        "denominator",
                        "The denominator (the population counted) must be a number above 0, or left empty",
                    ));
                    None
                }
            }
        };
        if problems.len() > before {
            continue;
        }
        let (Some(indicator), Some(period), Some(area), Some(value)) =
            (indicator, period, area, value)
        else {
            continue;
        };
        let key = (
            indicator.reference.clone(),
            period.clone(),
            area.clone(),
            dimension.clone(),
            group.clone(),
        );
        if let Some(first) = seen.insert(key, row) {
            problems.push(RowProblem::new(
                row,
                "period",
                format!(
                    "Row {first} already gives {} for {} in this area and group",
                    indicator.reference,
                    period_label(&period)
                ),
            ));
            continue;
        }
        values.push(NewValue {
            indicator_ref: indicator.reference.clone(),
            period,
            area,
            dimension,
            group,
            value,
            denominator,
        });
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// Reads a CSV with columns `indicator,period,value` and optionally `area,dimension,group,
/// denominator`. The seed's own format (`ref,...,indicator,...,period,value`) is read too:
/// `ref` then names the indicator.
pub fn read_csv(text: &str) -> Result<Vec<RawRow>, Vec<RowProblem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        Err(e) => {
            return Err(vec![RowProblem::new(
                0,
                "file",
                format!("The file could not be read as CSV: {e}"),
            )]);
        }
    };
    let column = |name: &str| headers.iter().position(|h| h == name);
    let indicator = column("ref").or_else(|| column("indicator"));
    let (period, value) = (column("period"), column("value"));
    let missing: Vec<&str> = [
        ("indicator", indicator),
        ("period", period),
        ("value", value),
    ]
    .iter()
    .filter(|(_, c)| c.is_none())
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() {
        return Err(vec![RowProblem::new(
            0,
            "header",
            format!(
                "The first line must name the columns; it has no {} column (the columns are indicator, period, area, dimension, group, value, denominator)",
                missing.join(", ")
            ),
        )]);
    }
    let (area, dimension, group, denominator) = (
        column("area"),
        column("dimension"),
        column("group"),
        column("denominator"),
    );
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        match record {
            Ok(record) => {
                let get =
                    |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_string();
                rows.push(RawRow {
                    indicator: get(indicator),
                    period: get(period),
                    area: get(area),
                    dimension: get(dimension),
                    group: get(group),
                    value: get(value),
                    denominator: get(denominator),
                });
            }
            Err(e) => problems.push(RowProblem::new(
                index + 1,
                "file",
                format!("This row could not be read: {e}"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Reads and checks an uploaded file against what the database knows.
async fn parse_upload(
    state: &AppState,
    content: &str,
) -> Result<Result<Vec<NewValue>, Vec<RowProblem>>, AppError> {
    let indicators = outcomes::list_indicators(&state.db).await?;
    let localities = accounts::list_localities(&state.db).await?;
    let known = Known::new(
        &indicators,
        &localities,
        time::OffsetDateTime::now_utc().date(),
    );
    Ok(read_csv(content).and_then(|rows| check_rows(&rows, &known)))
}

#[derive(Template)]
#[template(path = "outcomes_upload.html")]
struct UploadPage {
    layout: Layout,
    problems: Vec<RowProblem>,
    more_problems: usize,
    filename: String,
}

fn upload_page(
    signed: &Signed,
    problems: Vec<RowProblem>,
    filename: String,
) -> Result<Response, AppError> {
    const SHOWN: usize = 100;
    let more_problems = problems.len().saturating_sub(SHOWN);
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = UploadPage {
        layout: Layout::for_user(signed, "/outcomes/uploads/new"),
        problems: problems.into_iter().take(SHOWN).collect(),
        more_problems,
        filename,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn new_upload(signed: Signed) -> Result<Response, AppError> {
    signed_may(&signed, Action::Create)?;
    upload_page(&signed, Vec::new(), String::new())
}

/// A template to fill in.
pub async fn template_csv() -> Response {
    super::pages::csv_response(
        "indicator-values.csv",
        "indicator,period,area,dimension,group,value,denominator\n\
         7.2,2021-01,city,,,2710,\n\
         7.2,2021-01,perry-barr,,,402,\n\
         3.6,2021-01,city,ethnicity,Asian,512,104000\n"
            .to_string(),
    )
}

/// Receives a file: checks the CSRF token and every row; keeps a good file for preview.
pub async fn receive_upload(
    State(state): State<AppState>,
    signed: Signed,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let (mut csrf, mut filename, mut content) = (String::new(), String::new(), None::<String>);
    while let Some(field) = multipart.next_field().await? {
        match field.name() {
            Some("csrf_token") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                filename = crate::extract::file_name(field.file_name(), "upload.csv");
                let bytes = field.bytes().await?;
                content = Some(crate::extract::upload_text(&bytes)?);
            }
            _ => {}
        }
    }
    signed.check_csrf(&csrf)?;
    signed_may(&signed, Action::Create)?;
    let content = match content {
        Some(c) if !c.trim().is_empty() => c,
        _ => {
            let problem = RowProblem::new(0, "file", "Select a CSV file of indicator values");
            return upload_page(&signed, vec![problem], filename);
        }
    };
    let values = match parse_upload(&state, &content).await? {
        Ok(values) => values,
        Err(problems) => return upload_page(&signed, problems, filename),
    };
    let id = Uuid::now_v7();
    let subject = format!("indicator_upload:{id}");
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        Request {
            action: Action::Create,
            resource: Resource::Indicators,
            subject: &subject,
            purpose: "upload indicator values for preview",
        },
    )
    .await?;
    outcomes::save_upload(
        &mut authorised,
        id,
        signed.user.actor.user_id,
        &filename,
        &content,
        values.len(),
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/outcomes/uploads/{id}")).into_response())
}

struct CorrectionLine {
    indicator: String,
    period: String,
    area: String,
    group: String,
    previous: String,
    value: String,
}

struct PreviewLine {
    indicator: String,
    period: String,
    area: String,
    group: String,
    value: String,
}

#[derive(Template)]
#[template(path = "outcomes_upload_preview.html")]
struct PreviewPage {
    layout: Layout,
    id: Uuid,
    filename: String,
    committed: bool,
    rows: usize,
    plan: LoadPlan,
    corrections: Vec<CorrectionLine>,
    sample: Vec<PreviewLine>,
    problems: Vec<RowProblem>,
}

fn group_words(dimension: &str, group: &str) -> String {
    if dimension.is_empty() {
        "Everyone".into()
    } else {
        format!("{}: {group}", super::dimension_label(dimension))
    }
}

/// The upload, if it is this person's own.
async fn own_upload(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
) -> Result<outcomes::Upload, AppError> {
    let upload = outcomes::upload(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if upload.user_id != signed.user.actor.user_id {
        return Err(AppError::NotFound);
    }
    Ok(upload)
}

async fn preview_page(
    state: &AppState,
    signed: &Signed,
    upload: &outcomes::Upload,
    committed_plan: Option<LoadPlan>,
) -> Result<Response, AppError> {
    let subject = format!("indicator_upload:{}", upload.id);
    let (values, problems) = match parse_upload(state, &upload.content).await? {
        Ok(values) => (values, Vec::new()),
        Err(problems) => (Vec::new(), problems),
    };
    let plan = match committed_plan {
        Some(plan) => plan,
        None if upload.status == "committed" => LoadPlan::default(),
        None => {
            let mut authorised = authorise(
                &state.db,
                &signed.who(),
                Request {
                    action: Action::Read,
                    resource: Resource::Indicators,
                    subject: &subject,
                    purpose: "preview indicator upload",
                },
            )
            .await?;
            let plan = outcomes::load_values(&mut authorised, &values, "", None, false).await?;
            authorised.tx.commit().await?;
            plan
        }
    };
    let number = |v: f64| super::charts::number(v, 2);
    let corrections = plan
        .corrections
        .iter()
        .map(|c| CorrectionLine {
            indicator: c.indicator_ref.clone(),
            period: period_label(&c.period),
            area: c.area.clone(),
            group: group_words(&c.dimension, &c.group),
            previous: number(c.previous),
            value: number(c.value),
        })
        .collect();
    let sample = values
        .iter()
        .take(20)
        .map(|v| PreviewLine {
            indicator: v.indicator_ref.clone(),
            period: period_label(&v.period),
            area: v.area.clone(),
            group: group_words(&v.dimension, &v.group),
            value: number(v.value),
        })
        .collect();
    let page = PreviewPage {
        layout: Layout::for_user(signed, "/outcomes/uploads/new"),
        id: upload.id,
        filename: upload.filename.clone(),
        committed: upload.status == "committed",
        rows: values.len(),
        plan,
        corrections,
        sample,
        problems,
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn show_upload(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    signed_may(&signed, Action::Create)?;
    let upload = own_upload(&state, &signed, id).await?;
    preview_page(&state, &signed, &upload, None).await
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf_token: String,
}

/// Commits a previewed upload: every value in one transaction with its audit event.
pub async fn commit_upload(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    signed_may(&signed, Action::Create)?;
    let upload = own_upload(&state, &signed, id).await?;
    let values = match parse_upload(&state, &upload.content).await? {
        Ok(values) => values,
        // Something changed since the preview (an indicator removed): show the problems.
        Err(_) => return preview_page(&state, &signed, &upload, None).await,
    };
    let subject = format!("indicator_upload:{id}");
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        Request {
            action: Action::Update,
            resource: Resource::Indicators,
            subject: &subject,
            purpose: "load indicator values",
        },
    )
    .await?;
    match outcomes::mark_committed(&mut authorised, id).await {
        Ok(()) => {}
        Err(earlyhelp_storage::StorageError::Conflict(_)) => {
            return Ok(Redirect::to(&format!("/outcomes/uploads/{id}")).into_response());
        }
        Err(other) => return Err(other.into()),
    }
    let plan = outcomes::load_values(
        &mut authorised,
        &values,
        &signed.user.actor.email,
        Some(id),
        true,
    )
    .await?;
    authorised.tx.commit().await?;
    let upload = own_upload(&state, &signed, id).await?;
    preview_page(&state, &signed, &upload, Some(plan)).await
}

/// One value for a machine load.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiValue {
    /// The indicator's reference, for example `7.2`.
    pub indicator: String,
    /// The month, `YYYY-MM`.
    pub period: String,
    /// `city` (the default) or a locality slug, for example `perry-barr`.
    #[serde(default)]
    pub area: Option<String>,
    /// A breakdown: `ethnicity`, `age_band` or `sex`; omit for everyone.
    #[serde(default)]
    pub dimension: Option<String>,
    /// The group within the breakdown, for example `Asian`.
    #[serde(default)]
    pub group: Option<String>,
    pub value: f64,
    /// The population the value counts from, for rates.
    #[serde(default)]
    pub denominator: Option<f64>,
}

/// Values to load.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiLoad {
    pub values: Vec<ApiValue>,
    /// Check and report what would change, without writing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What the load did (or, for a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiLoaded {
    pub dry_run: bool,
    pub added: usize,
    pub corrected: usize,
    pub unchanged: usize,
}

/// Every problem with the values sent; nothing was loaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiProblems {
    pub error: String,
    pub problems: Vec<RowProblem>,
}

/// Load indicator values. Each value for a month, area and group that already has a different
/// value becomes a correction (a new revision); identical values are left alone. Every value
/// is checked first and nothing is loaded unless all are good.
#[utoipa::path(post, path = "/api/indicators/values", security(("bearer" = [])),
    request_body = ApiLoad,
    responses(
        (status = 200, body = ApiLoaded),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token's user may not load data"),
        (status = 422, body = ApiProblems, description = "Problems by row (1-based index in `values`) and field")))]
pub async fn api_load(
    State(state): State<AppState>,
    signed: Signed,
    Json(load): Json<ApiLoad>,
) -> Result<Response, ApiError> {
    // Machine loads carry a bearer token; a browser session (cookies) is not accepted here.
    if signed.session_token.is_some() {
        return Err(AppError::Unauthorised.into());
    }
    let rows: Vec<RawRow> = load
        .values
        .iter()
        .map(|v| RawRow {
            indicator: v.indicator.clone(),
            period: v.period.clone(),
            area: v.area.clone().unwrap_or_default(),
            dimension: v.dimension.clone().unwrap_or_default(),
            group: v.group.clone().unwrap_or_default(),
            value: v.value.to_string(),
            denominator: v.denominator.map(|d| d.to_string()).unwrap_or_default(),
        })
        .collect();
    let indicators = outcomes::list_indicators(&state.db).await?;
    let localities = accounts::list_localities(&state.db).await?;
    let known = Known::new(
        &indicators,
        &localities,
        time::OffsetDateTime::now_utc().date(),
    );
    let values = match check_rows(&rows, &known) {
        Ok(values) => values,
        Err(problems) => {
            let body = ApiProblems {
                error: "the values have problems; nothing was loaded".into(),
                problems,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response());
        }
    };
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        Request {
            action: if load.dry_run {
                Action::Read
            } else {
                Action::Update
            },
            resource: Resource::Indicators,
            subject: "indicator_values:api",
            purpose: if load.dry_run {
                "check indicator values (dry run)"
            } else {
                "load indicator values through the API"
            },
        },
    )
    .await?;
    let plan = outcomes::load_values(
        &mut authorised,
        &values,
        &signed.user.actor.email,
        None,
        !load.dry_run,
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Json(ApiLoaded {
        dry_run: load.dry_run,
        added: plan.added,
        corrected: plan.corrections.len(),
        unchanged: plan.unchanged,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use earlyhelp_storage::outcomes::computed;

    fn indicator(reference: &str, unit: &str) -> Indicator {
        Indicator {
            reference: reference.into(),
            outcome_number: 7,
            name: "x".into(),
            unit: unit.into(),
            better: "lower".into(),
            data_owner: "o".into(),
            frequency: "monthly".into(),
            source: "uploaded".into(),
            target: None,
            small_number_threshold: Some(5),
            public: true,
            spc_rules: "mdc".into(),
            spc_baseline: None,
        }
    }

    fn check(csv: &str) -> Result<Vec<NewValue>, Vec<RowProblem>> {
        let mut requests = indicator(computed::REQUESTS, "count");
        requests.source = "computed".into();
        let indicators = [
            indicator("7.2", "count"),
            indicator("4.1", "percent"),
            requests,
        ];
        let localities = [Locality {
            slug: "perry-barr".into(),
            name: "Perry Barr".into(),
            profile: String::new(),
        }];
        let today = time::macros::date!(2021 - 03 - 15);
        let known = Known::new(&indicators, &localities, today);
        read_csv(csv).and_then(|rows| check_rows(&rows, &known))
    }

    #[test]
    fn good_rows_become_values() {
        let values = check(
            "indicator,period,area,dimension,group,value,denominator\n\
             7.2,2020-01,,,,\"2,898\",\n\
             7.2,2020-01,Perry Barr,ethnicity,Asian,120,50000\n\
             4.1,2021-03,city,,,17%,\n",
        )
        .unwrap();
        assert_eq!(values.len(), 3);
        assert_eq!(values[0].area, "city");
        assert_eq!(values[0].value, 2898.0);
        assert_eq!(values[1].area, "perry-barr");
        assert_eq!(
            (values[1].dimension.as_str(), values[1].group.as_str()),
            ("ethnicity", "Asian")
        );
        assert_eq!(values[1].denominator, Some(50000.0));
        assert_eq!(values[2].value, 17.0);
    }

    #[test]
    fn computed_indicators_cannot_be_loaded() {
        let problems = check("indicator,period,value\nEH2,2021-01,40\n").unwrap_err();
        assert_eq!(
            problems,
            vec![RowProblem::new(
                1,
                "indicator",
                "EH2 is computed from case records, so its values cannot be loaded"
            )]
        );
    }

    #[test]
    fn the_seeds_own_format_is_read() {
        let values = check(
            "ref,outcome_no,indicator,unit,better,data_owner,period,value\n\
             7.2,7,Reported domestic abuse incidents,count,lower,WM Police,2020-01,2898\n",
        )
        .unwrap();
        assert_eq!(values[0].indicator_ref, "7.2");
    }

    #[test]
    fn every_problem_is_named_by_row_and_field() {
        let problems = check(
            "indicator,period,area,dimension,group,value,denominator\n\
             9.9,2020-13,Atlantis,,,abc,\n\
             4.1,2020-02,city,,,120,\n\
             7.2,2021-04,city,,,5,\n\
             7.2,2020-01,city,colour,blue,5,\n\
             7.2,2020-01,city,ethnicity,,5,\n\
             7.2,2020-01,city,,,-3,0\n\
             7.2,2020-05,city,,,1,\n\
             7.2,2020-05,city,,,2,\n",
        )
        .unwrap_err();
        let got: Vec<(usize, &str)> = problems.iter().map(|p| (p.row, p.field.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (1, "indicator"),
                (1, "period"),
                (1, "area"),
                (1, "value"),
                (2, "value"),
                (3, "period"),
                (4, "dimension"),
                (5, "group"),
                (6, "value"),
                (6, "denominator"),
                (8, "period"),
            ]
        );
        assert!(problems[1].message.contains("YYYY-MM"));
        assert!(problems[4].message.contains("between 0 and 100"));
        assert!(problems[5].message.contains("in the future"));
        assert!(problems[10].message.contains("Row 7 already gives"));
        assert_eq!(
            problems[0].to_string(),
            "Row 1, indicator: There is no indicator \"9.9\""
        );
    }

    #[test]
    fn a_file_without_the_columns_or_rows_is_refused() {
        let problems = check("month,amount\n2020-01,3\n").unwrap_err();
        assert_eq!(problems[0].field, "header");
        assert!(problems[0].message.contains("indicator, period, value"));
        let problems = check("indicator,period,value\n").unwrap_err();
        assert_eq!(problems[0].field, "file");
    }

    #[test]
    fn periods_are_strict() {
        assert_eq!(parse_period("2020-04"), Some("2020-04".into()));
        assert_eq!(parse_period(" 2020-12 "), Some("2020-12".into()));
        for bad in ["2020-4", "2020-00", "20-04", "2020/04", "", "1800-01"] {
            assert_eq!(parse_period(bad), None, "{bad}");
        }
    }
}
