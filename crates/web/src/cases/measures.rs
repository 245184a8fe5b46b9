//! Outcome measures on the family's case: each measure's journey, the reading form for any
//! measure, readings imported from a CSV file (all-or-nothing, each family through the gate),
//! the measures an organisation defines, and the family's Supporting Families outcomes.

use super::family::{Change, Pairs, open_family, render_family, update};
use super::journey::{Journey, journey};
use super::{field, first_error};
use crate::AppState;
use crate::dates::{self, DateQuestion, Rule};
use crate::error::AppError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::cases::{iso, parse_date};
use earlyhelp_domain::measures::{
    CheckedReading, DEFAULT_MEASURE_ID, IMPORT_COLUMNS, Measure, RawReading, RowError,
    SCORE_FIELDS, check_measure, check_reading, check_readings,
};
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::roles::Permission;
use earlyhelp_domain::supporting_families::{
    HeadlineOutcome, OutcomeInput, Progress, check_outcome, progress,
};
use earlyhelp_storage::cases::{self, Reading};
use earlyhelp_storage::gate::{Authorised, FamilyId, Request, authorise};
use earlyhelp_storage::measures::{
    self as store, ImportError, Importer, MeasureListing, OutcomeRow,
};
use earlyhelp_storage::{StorageError, accounts};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

const TAKEN_ON: DateQuestion =
    DateQuestion::new("taken_on", "Date of the reading", Rule::TodayOrPast);
const IDENTIFIED_ON: DateQuestion = DateQuestion::new(
    "sf_identified_on",
    "Date the need was identified",
    Rule::TodayOrPast,
);
const ACHIEVED_ON: DateQuestion =
    DateQuestion::new("sf_achieved_on", "Date achieved", Rule::TodayOrPast).optional();

pub fn routes() -> Routes {
    Routes::new()
        .route("/measures", get(measures_page).post(define_measure))
        .upload("/readings/import", get(import_page).post(import_readings))
        .route("/families/{id}/readings/new", get(reading_page))
        .route("/families/{id}/readings", post(record_reading))
        .long_form("/families/{id}/outcomes", post(record_outcome))
}

// ---------------------------------------------------------------------------------------------
// On the family page

/// One measure's journey on the family page.
pub struct MeasureJourney {
    pub measure: String,
    /// The table's id: `readings` for the first, then `readings-2`, ...
    pub table_id: String,
    pub journey: Journey,
}

/// One area's score field of the reading form.
pub struct ScoreField {
    pub field: &'static str,
    pub area: String,
    pub value: String,
    pub error: Option<String>,
}

/// The readings part of the family page: a journey per measure the family has readings on,
/// the reading form for the built-in measure, and links to the form for every other measure.
pub struct MeasuresPanel {
    pub journeys: Vec<MeasureJourney>,
    pub default_measure: Uuid,
    pub default_fields: Vec<ScoreField>,
    pub other_measures: Vec<(Uuid, String)>,
}

pub fn measures_panel(readings: &[Reading], measures: &[MeasureListing]) -> MeasuresPanel {
    let journeys = measures
        .iter()
        .filter_map(|listing| {
            let on_measure: Vec<Reading> = readings
                .iter()
                .filter(|r| r.measure_id == listing.measure.id)
                .cloned()
                .collect();
            (!on_measure.is_empty()).then(|| (listing.measure.name.clone(), on_measure))
        })
        .enumerate()
        .map(|(i, (measure, on_measure))| MeasureJourney {
            measure,
            table_id: if i == 0 {
                "readings".into()
            } else {
                format!("readings-{}", i + 1)
            },
            journey: journey(&on_measure, &format!("journey-{}", i + 1)),
        })
        .collect();
    let default = Measure::family_wellbeing();
    MeasuresPanel {
        journeys,
        default_measure: default.id,
        default_fields: score_fields(&default, &[], &[]),
        other_measures: measures
            .iter()
            .filter(|l| l.measure.id != DEFAULT_MEASURE_ID)
            .map(|l| (l.measure.id, l.measure.name.clone()))
            .collect(),
    }
}

fn score_fields(
    measure: &Measure,
    values: &[(String, String)],
    errors: &[FieldError],
) -> Vec<ScoreField> {
    measure
        .areas
        .iter()
        .zip(SCORE_FIELDS)
        .map(|(area, name)| ScoreField {
            field: name,
            area: area.clone(),
            value: field(values, name),
            error: first_error(errors, name).map(String::from),
        })
        .collect()
}

/// A Supporting Families outcome as the family page and the JSON API show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeView {
    /// The headline outcome's slug, for example `secure_housing`.
    pub outcome: String,
    pub label: String,
    /// The family's need, in the practitioner's words.
    pub need: String,
    /// `YYYY-MM-DD`.
    pub identified_on: String,
    pub evidence: String,
    /// `YYYY-MM-DD`, once achieved.
    pub achieved_on: Option<String>,
    /// `need`, `achieved` or `sustained` (achieved, and held six months after the case closed).
    pub status: String,
    /// When it counts (or will count, if the case stays closed) as sustained.
    pub sustained_on: Option<String>,
    pub status_label: String,
}

fn outcome_view(row: OutcomeRow, closed_on: Option<Date>, today: Date) -> OutcomeView {
    let achieved_on = row.achieved_on.as_deref().and_then(parse_date);
    let (status, sustained_on, status_label) = match progress(achieved_on, closed_on, today) {
        // The tag names the status; the words beside it only add when.
        Progress::Need => ("need", None, String::new()),
        Progress::Achieved { sustained_on: None } => (
            "achieved",
            None,
            "sustained six months after the case closes".to_string(),
        ),
        Progress::Achieved {
            sustained_on: Some(on),
        } => (
            "achieved",
            Some(iso(on)),
            format!("sustained on {} if the case stays closed", iso(on)),
        ),
        Progress::Sustained { since } => (
            "sustained",
            Some(iso(since)),
            format!("since {}", iso(since)),
        ),
    };
    OutcomeView {
        label: HeadlineOutcome::from_slug(&row.outcome)
            .map(HeadlineOutcome::label)
            .unwrap_or("")
            .to_string(),
        outcome: row.outcome,
        need: row.need,
        identified_on: row.identified_on,
        evidence: row.evidence,
        achieved_on: row.achieved_on,
        status: status.into(),
        sustained_on,
        status_label,
    }
}

/// The family's Supporting Families outcomes with where each stands today, under the permit.
pub async fn outcome_views(
    authorised: &mut Authorised<FamilyId>,
) -> Result<Vec<OutcomeView>, StorageError> {
    let rows = store::outcomes(authorised).await?;
    let closed_on = store::closed_on(authorised).await?;
    Ok(outcome_lines(rows, closed_on))
}

/// Where each of the family's outcomes stands today, the case having closed on `closed_on`.
pub fn outcome_lines(rows: Vec<store::OutcomeRow>, closed_on: Option<Date>) -> Vec<OutcomeView> {
    let today = cases::today();
    rows.into_iter()
        .map(|row| outcome_view(row, closed_on, today))
        .collect()
}

/// The Supporting Families part of the family page.
pub struct OutcomesPanel {
    pub outcomes: Vec<OutcomeView>,
    pub choices: Vec<SelectOption>,
}

pub fn outcomes_panel(outcomes: Vec<OutcomeView>, values: &[(String, String)]) -> OutcomesPanel {
    let chosen = field(values, "sf_outcome");
    let mut choices = vec![SelectOption::new("", "Choose", chosen.is_empty())];
    choices.extend(
        HeadlineOutcome::ALL
            .iter()
            .map(|o| SelectOption::new(o.slug(), o.label(), chosen == o.slug())),
    );
    OutcomesPanel { outcomes, choices }
}

async fn record_outcome(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(mut pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let today = cases::today();
    let refused = dates::fold(&mut pairs, &[IDENTIFIED_ON, ACHIEVED_ON], today);
    let input = OutcomeInput {
        outcome: field(&pairs, "sf_outcome"),
        need: field(&pairs, "sf_need"),
        identified_on: field(&pairs, "sf_identified_on"),
        evidence: field(&pairs, "sf_evidence"),
        achieved_on: field(&pairs, "sf_achieved_on"),
    };
    let outcome = match dates::with_dates(refused, check_outcome(&input, today)) {
        Ok(outcome) => outcome,
        Err(errors) => return render_family(&state, &signed, id, errors, pairs).await,
    };
    let author = signed.user.name.clone();
    update(
        &state,
        &signed,
        id,
        "record a Supporting Families outcome",
        Change::Outcome,
        async |a| store::record_outcome(a, &outcome, &author).await,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The reading form, for any measure

#[derive(Deserialize, Default)]
struct MeasureQuery {
    #[serde(default)]
    measure: String,
}

#[derive(Template)]
#[template(path = "cases_measures_reading.html")]
struct ReadingPage {
    layout: Layout,
    errors: Vec<FieldError>,
    family_id: Uuid,
    measure: Measure,
    taken_on: crate::dates::DateParts,
    fields: Vec<ScoreField>,
}

impl ReadingPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }
}

/// The measure named by id, or the built-in one when none is named.
async fn chosen_measure(state: &AppState, typed: &str) -> Result<Measure, AppError> {
    let wanted = match typed.trim() {
        "" => DEFAULT_MEASURE_ID,
        id => Uuid::parse_str(id).map_err(|_| AppError::NotFound)?,
    };
    store::list(&state.db)
        .await?
        .into_iter()
        .map(|l| l.measure)
        .find(|m| m.id == wanted)
        .ok_or(AppError::NotFound)
}

async fn render_reading(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    measure: Measure,
    errors: Vec<FieldError>,
    values: &[(String, String)],
) -> Result<Response, AppError> {
    // Only someone who may see the family learns it is there.
    let authorised = open_family(state, signed, id, Action::Read, "reading form").await?;
    authorised.tx.commit().await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ReadingPage {
        layout: Layout::for_user(signed, "/families"),
        family_id: id,
        taken_on: crate::dates::parts(values, "taken_on"),
        fields: score_fields(&measure, values, &errors),
        measure,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn reading_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Query(query): Query<MeasureQuery>,
) -> Result<Response, AppError> {
    let measure = chosen_measure(&state, &query.measure).await?;
    render_reading(&state, &signed, id, measure, vec![], &[]).await
}

async fn record_reading(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(mut pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let measure = chosen_measure(&state, &field(&pairs, "measure")).await?;
    let typed: Vec<String> = SCORE_FIELDS.iter().map(|f| field(&pairs, f)).collect();
    let today = cases::today();
    let refused = dates::fold(&mut pairs, &[TAKEN_ON], today);
    let checked = check_reading(&measure, &field(&pairs, "taken_on"), &typed, today);
    let (taken_on, scores) = match dates::with_dates(refused, checked) {
        Ok(checked) => checked,
        Err(errors) => {
            return render_reading(&state, &signed, id, measure, errors, &pairs).await;
        }
    };
    let author = signed.user.name.clone();
    update(
        &state,
        &signed,
        id,
        "record an outcome reading",
        Change::Reading,
        async |a| {
            cases::record_reading(&mut a.tx, &a.permit, measure.id, taken_on, &scores, &author)
                .await
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Importing readings from a CSV file

#[derive(Template)]
#[template(path = "cases_measures_import.html")]
struct ImportPage {
    layout: Layout,
    measures: Vec<MeasureListing>,
    problems: Vec<String>,
    imported: Option<store::Imported>,
    filename: String,
}

async fn import_page(State(state): State<AppState>, signed: Signed) -> Result<Response, AppError> {
    show_import(&state, &signed, vec![], None, String::new()).await
}

async fn show_import(
    state: &AppState,
    signed: &Signed,
    problems: Vec<String>,
    imported: Option<store::Imported>,
    filename: String,
) -> Result<Response, AppError> {
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ImportPage {
        layout: Layout::for_user(signed, "/families"),
        measures: store::list(&state.db).await?,
        problems,
        imported,
        filename,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// Reads the file's rows by column name; a missing column is a problem with the file.
fn read_csv(text: &str) -> Result<Vec<RawReading>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.to_ascii_lowercase()).collect(),
        Err(e) => {
            let problem = format!("The file could not be read as CSV: {e}");
            return Err(vec![RowError::new(0, "file", problem)]);
        }
    };
    let missing: Vec<&str> = IMPORT_COLUMNS
        .iter()
        .copied()
        .filter(|c| !headers.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        let problem = format!(
            "The first row must name the columns {}; missing: {}",
            IMPORT_COLUMNS.join(", "),
            missing.join(", ")
        );
        return Err(vec![RowError::new(0, "file", problem)]);
    }
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap_or(0);
    let (family, measure, taken_on, area, score) = (
        at("family_id"),
        at("measure"),
        at("taken_on"),
        at("area"),
        at("score"),
    );
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        match record {
            Ok(record) => {
                let cell = |i: usize| record.get(i).unwrap_or("").to_string();
                rows.push(RawReading {
                    family_id: cell(family),
                    measure: cell(measure),
                    taken_on: cell(taken_on),
                    area: cell(area),
                    score: cell(score),
                });
            }
            Err(e) => problems.push(RowError::new(
                index + 1,
                "file",
                format!("cannot be read as CSV: {e}"),
            )),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Checks a readings file against the measures we hold: its scores, or every problem, in words.
pub fn check_file(
    text: &str,
    measures: &[Measure],
    today: Date,
) -> Result<Vec<CheckedReading>, Vec<String>> {
    let rows = read_csv(text).map_err(words)?;
    check_readings(&rows, measures, today).map_err(words)
}

fn words(problems: Vec<RowError>) -> Vec<String> {
    problems.iter().map(RowError::to_string).collect()
}

async fn import_readings(
    State(state): State<AppState>,
    signed: Signed,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = multipart.csv_upload("readings.csv").await?;
    let (csrf, filename, content) = (upload.csrf, upload.filename, upload.content);
    signed.check_csrf(&csrf)?;
    if content.trim().is_empty() {
        let problem = "Select a CSV file of readings".to_string();
        return show_import(&state, &signed, vec![problem], None, filename).await;
    }
    let measures: Vec<Measure> = store::list(&state.db)
        .await?
        .into_iter()
        .map(|l| l.measure)
        .collect();
    let checked = match check_file(&content, &measures, cases::today()) {
        Ok(checked) => checked,
        Err(problems) => return show_import(&state, &signed, problems, None, filename).await,
    };
    let who = signed.who();
    match store::import_readings(
        &state.db,
        Importer::Person(&who),
        &checked,
        &signed.user.name,
    )
    .await
    {
        Ok(imported) => show_import(&state, &signed, vec![], Some(imported), filename).await,
        Err(ImportError::Refused { row }) => {
            let problem = format!(
                "Row {row}, family_id: there is no family with this id that you may change"
            );
            show_import(&state, &signed, vec![problem], None, filename).await
        }
        Err(ImportError::Storage(e)) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Defining measures

#[derive(Template)]
#[template(path = "cases_measures.html")]
struct MeasuresPage {
    layout: Layout,
    measures: Vec<MeasureListing>,
    may_define: bool,
    organisations: Vec<SelectOption>,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
}

impl MeasuresPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

async fn show_measures(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let chosen = field(&values, "organisation");
    let mut organisations = vec![SelectOption::new("", "Choose", chosen.is_empty())];
    organisations.extend(
        accounts::list_organisations(&state.db)
            .await?
            .into_iter()
            .map(|o| {
                let id = o.id.to_string();
                let selected = id == chosen;
                SelectOption::new(id, o.name, selected)
            }),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = MeasuresPage {
        layout: Layout::for_user(signed, "/families"),
        measures: store::list(&state.db).await?,
        may_define: signed.may(Permission::ManageOrganisations),
        organisations,
        errors,
        values,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn measures_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, AppError> {
    show_measures(&state, &signed, vec![], vec![]).await
}

async fn define_measure(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let organisation = Uuid::parse_str(field(&pairs, "organisation").trim()).ok();
    let checked = check_measure(
        &field(&pairs, "name"),
        &field(&pairs, "areas"),
        &field(&pairs, "licence"),
    );
    let mut errors = checked.as_ref().err().cloned().unwrap_or_default();
    if organisation.is_none() {
        errors.insert(
            0,
            FieldError::new(
                "organisation",
                "Choose the organisation that holds the licence",
            ),
        );
    }
    let (Some(organisation), Ok(new)) = (organisation, checked) else {
        return show_measures(&state, &signed, errors, pairs).await;
    };
    let subject = format!("organisation:{organisation}");
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        Request {
            action: Action::Update,
            resource: Resource::Organisation,
            subject: &subject,
            purpose: "define an outcome measure",
        },
    )
    .await?;
    match store::create(&mut authorised, organisation, &new).await {
        Ok(_) => {
            authorised.tx.commit().await?;
            Ok(axum::response::Redirect::to("/measures").into_response())
        }
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            show_measures(
                &state,
                &signed,
                vec![FieldError::new("name", message)],
                pairs,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
