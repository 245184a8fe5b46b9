//! Pseudonymised extracts for data analysts: case data with no names, addresses, dates of birth
//! or free text, and each family under a keyed pseudonym that stays the same between extracts.
//! The page says what disclosure control did (the k reached, what was generalised and how many
//! rows were suppressed) and gives the extract's data dictionary.

use crate::AppState;
use crate::error::AppError;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::Layout;
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::disclosure::{K, MAX_SUPPRESSED_SHARE, Quasi, SUPPRESSED};
use earlyhelp_storage::extracts::{CaseExtract, case_extract};
use earlyhelp_storage::gate::{Request, authorise};

pub fn routes() -> Routes {
    Routes::new()
        .route("/extracts", get(extracts_page))
        .route("/extracts/cases.csv", get(cases_csv))
        .route("/extracts/dictionary.csv", get(dictionary_csv))
}

/// One column of the extract, as the data dictionary describes it.
struct Column {
    name: &'static str,
    meaning: &'static str,
    /// How this extract releases it: as held, or the rung of generalisation.
    released: String,
}

#[derive(Template)]
#[template(path = "extracts.html")]
struct ExtractsPage {
    layout: Layout,
    k_target: usize,
    max_suppressed: String,
    families: usize,
    k: String,
    unique_before: usize,
    unique_share: String,
    suppressed: usize,
    suppressed_share: String,
    suppressed_mark: &'static str,
    generalised: Vec<(&'static str, &'static str)>,
    columns: Vec<Column>,
}

const MEANINGS: &[(&str, &str)] = &[
    (
        "pseudonym",
        "The family under a keyed pseudonym: the same in every extract.",
    ),
    ("locality", "The locality whose team works the case."),
    ("need_level", "The level of need on the continuum of need."),
    ("state", "Open, stepped up to social care, or closed."),
    ("closure_reason", "Why the case closed (empty while open)."),
    ("opened", "When the case opened."),
    ("children", "How many children are in the household."),
    ("adults", "How many adults are in the household."),
    (
        "youngest_age_band",
        "The age band of the youngest person today.",
    ),
    (
        "reasons",
        "The reasons for the request that opened the case, separated by ;.",
    ),
    (
        "ethnic_groups",
        "The broad ethnic groups (2021 census) of the household's members, separated by ;; empty where none was recorded or the family preferred not to say.",
    ),
    (
        "send",
        "The most any child's special educational needs or disability asks, from an education, health and care plan, through SEN support and a disability alone, to none; empty where not recorded.",
    ),
    ("readings", "How many days outcome readings were taken."),
    (
        "first_mean_score",
        "Mean score (1-10) of the first readings, to one decimal place.",
    ),
    (
        "latest_mean_score",
        "Mean score (1-10) of the latest readings, to one decimal place.",
    ),
];

fn percent(part: usize, whole: usize) -> String {
    format!("{:.1}%", 100.0 * part as f64 / whole.max(1) as f64)
}

/// The extract's data dictionary: each column, what it means and how this extract releases it.
fn dictionary(extract: &CaseExtract) -> Vec<Column> {
    MEANINGS
        .iter()
        .map(|(name, meaning)| {
            let quasi = Quasi::ALL.iter().find(|q| q.column() == *name);
            let released = match (quasi, extract.generalised.iter().find(|(c, _)| c == name)) {
                (None, _) => "As held".to_string(),
                (Some(_), Some((_, rung))) => {
                    format!("Generalised: {rung}; {SUPPRESSED} where suppressed")
                }
                (Some(_), None) => format!("As held; {SUPPRESSED} where suppressed"),
            };
            Column {
                name,
                meaning,
                released,
            }
        })
        .collect()
}

impl ExtractsPage {
    fn new(layout: Layout, extract: &CaseExtract) -> ExtractsPage {
        let families = extract.rows.len();
        let columns = dictionary(extract);
        ExtractsPage {
            layout,
            k_target: K,
            max_suppressed: format!("{:.0}%", MAX_SUPPRESSED_SHARE * 100.0),
            families,
            k: extract
                .k
                .map(|k| k.to_string())
                .unwrap_or_else(|| "not applicable (every row is suppressed)".into()),
            unique_before: extract.unique_before,
            unique_share: percent(extract.unique_before, families),
            suppressed: extract.suppressed,
            suppressed_share: percent(extract.suppressed, families),
            suppressed_mark: SUPPRESSED,
            generalised: extract.generalised.clone(),
            columns,
        }
    }
}

fn extract_request(purpose: &str) -> Request<'_> {
    Request {
        action: Action::List,
        resource: Resource::PseudonymisedExtract,
        subject: "extract:cases",
        purpose,
    }
}

async fn extracts_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    // The figures describe the extract a download would give now.
    let extract = current_extract(&state, &signed, "open the extracts page").await?;
    let page = ExtractsPage::new(Layout::for_user(&signed, "/extracts"), &extract);
    Ok(Html(page.render()?))
}

/// The extract as it stands now, through the gate (each download is audited).
async fn current_extract(
    state: &AppState,
    signed: &Signed,
    purpose: &str,
) -> Result<CaseExtract, AppError> {
    let mut authorised = authorise(&state.db, &signed.who(), extract_request(purpose)).await?;
    let extract = case_extract(&mut authorised, earlyhelp_storage::cases::today()).await?;
    authorised.tx.commit().await?;
    Ok(extract)
}

async fn cases_csv(State(state): State<AppState>, signed: Signed) -> Result<Response, AppError> {
    let extract = current_extract(&state, &signed, "pseudonymised case extract").await?;
    csv_download("cases-pseudonymised.csv", &extract.rows)
}

/// The data dictionary as CSV, describing the extract a download would give now.
async fn dictionary_csv(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, AppError> {
    let extract = current_extract(&state, &signed, "extract data dictionary").await?;
    let rows: Vec<DictionaryRow> = dictionary(&extract)
        .into_iter()
        .map(|c| DictionaryRow {
            column: c.name,
            meaning: c.meaning,
            released: c.released,
        })
        .collect();
    csv_download("cases-pseudonymised-dictionary.csv", &rows)
}

#[derive(serde::Serialize)]
struct DictionaryRow {
    column: &'static str,
    meaning: &'static str,
    released: String,
}

fn csv_download<T: serde::Serialize>(filename: &str, rows: &[T]) -> Result<Response, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .serialize(row)
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}
