//! 360Giving: the public page of awards to community organisations (`/grants`, no sign-in) with
//! their 360Giving file as JSON and CSV (`/grants.json`, `/grants.csv`: awards only), and for
//! grants officers and administrators the full file with payments to families, anonymised
//! (`/api/360giving`), and what was left out of it and why (`/grants/360giving`).
//!
//! Every grant is held to 360Giving's accuracy checks first; one that fails is left out (see
//! `earlyhelp_domain::giving`), and the page and the file agree on what is published.

use crate::AppState;
use crate::dates::filters;
use crate::error::{ApiError, AppError};
use crate::extract::Query;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, Pagination, SelectOption, page_asked};
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::cases::parse_date;
use earlyhelp_domain::giving::{self, Finding, Grant, Package};
use earlyhelp_domain::money::pounds;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::gate::{Request, authorise_read};
use earlyhelp_storage::giving as store;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(paths(public_json, full_export))]
pub struct GivingApi;

pub fn routes() -> Routes {
    Routes::new()
        .route("/grants", get(page))
        .route("/grants.json", get(public_json))
        .route("/grants.csv", get(public_csv))
        .route("/grants/360giving", get(publishing))
        .route("/api/360giving", get(full_export))
}

const PER_PAGE: usize = 50;

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only this programme's grants (its id).
    #[serde(default)]
    programme: String,
    /// `json` (the default) or `csv`.
    #[serde(default)]
    format: String,
    #[serde(default)]
    #[param(ignore)]
    page: String,
}

impl ExportQuery {
    fn programme(&self) -> Result<Option<Uuid>, AppError> {
        match self.programme.trim() {
            "" => Ok(None),
            raw => Uuid::parse_str(raw).map(Some).map_err(|_| {
                AppError::Invalid(vec![FieldError::new(
                    "programme",
                    "Choose a programme from the list (its id)",
                )])
            }),
        }
    }

    fn csv(&self) -> Result<bool, AppError> {
        match self.format.trim() {
            "" | "json" => Ok(false),
            "csv" => Ok(true),
            _ => Err(AppError::Invalid(vec![FieldError::new(
                "format",
                "Choose json or csv",
            )])),
        }
    }
}

/// The awards that pass the checks, as 360Giving grants, and the findings of those left out.
async fn published_awards(
    state: &AppState,
    programme: Option<Uuid>,
) -> Result<(Vec<Grant>, Vec<Finding>), AppError> {
    let mut tx = state.db.begin_read().await?;
    let awards = store::awards(&mut tx, programme).await?;
    tx.commit().await?;
    let grants = awards
        .iter()
        .map(|a| giving::award_grant(a, None))
        .collect();
    Ok(giving::publishable(
        grants,
        earlyhelp_storage::cases::today(),
    ))
}

/// The file as it is downloaded: JSON (a package of at least one grant, as the schema asks) or
/// 360Giving's CSV. With nothing to publish there is no file: 404.
fn file(grants: Vec<Grant>, csv: bool, name: &str, public: bool) -> Result<Response, AppError> {
    if grants.is_empty() {
        return Err(AppError::NotFound);
    }
    let (body, kind, extension) = if csv {
        let body = giving::csv(&grants).map_err(|e| AppError::Internal(e.into()))?;
        (body, "text/csv; charset=utf-8", "csv")
    } else {
        let body = serde_json::to_vec_pretty(&Package::new(grants))
            .map_err(|e| AppError::Internal(e.into()))?;
        (body, "application/json", "json")
    };
    let disposition = format!("attachment; filename=\"{name}.{extension}\"");
    let mut response = (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response();
    if public {
        // Open data: any site may read it, as GrantNav does.
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
    }
    Ok(response)
}

/// The awards to community organisations as a 360Giving file (no sign-in; never a payment to a
/// family).
#[utoipa::path(get, path = "/grants.json", params(ExportQuery),
    responses((status = 200, body = Object, description = "A 360Giving package of awards to organisations; with format=csv, 360Giving's flat CSV"),
        (status = 404, description = "Nothing published yet"), (status = 422, description = "A programme or format not known")))]
async fn public_json(
    State(state): State<AppState>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let (grants, _) = published_awards(&state, query.programme()?).await?;
    file(grants, query.csv()?, "grants-360giving", true)
}

async fn public_csv(
    State(state): State<AppState>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let (grants, _) = published_awards(&state, query.programme()?).await?;
    file(grants, true, "grants-360giving", true)
}

/// Everything, payments to families among it, for whoever may take the full file: the grants
/// that pass the checks, and the findings of those left out.
async fn everything(
    state: &AppState,
    signed: &Signed,
    programme: Option<Uuid>,
    purpose: &str,
) -> Result<(Vec<Grant>, Vec<Finding>), AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::GivingExport,
        subject: "360giving",
        purpose,
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let awards = store::awards(&mut authorised.tx, programme).await?;
    let payments = store::paid_payments(&mut authorised, programme).await?;
    authorised.tx.commit().await?;
    let grants = awards
        .iter()
        .map(|a| giving::award_grant(a, None))
        .chain(payments.iter().map(|p| giving::payment_grant(p, None)))
        .collect();
    Ok(giving::publishable(
        grants,
        earlyhelp_storage::cases::today(),
    ))
}

/// The full 360Giving file: awards to organisations and paid payments to families, each family
/// a generic recipient with its reason and purpose codes and its locality, never a name, id,
/// postcode or date of birth (grants officers and administrators).
#[utoipa::path(get, path = "/api/360giving", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, body = Object, description = "A 360Giving package; with format=csv, 360Giving's flat CSV"),
        (status = 403, description = "Neither a grants officer nor an administrator"),
        (status = 404, description = "Nothing to publish"), (status = 422, description = "A programme or format not known")))]
async fn full_export(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let programme = query.programme()?;
    let csv = query.csv()?;
    let (grants, _) = everything(&state, &signed, programme, "360Giving file (API)").await?;
    Ok(file(grants, csv, "360giving", false)?)
}

/// An award as the page shows it.
struct AwardLine {
    recipient: String,
    title: String,
    amount: String,
    date: String,
    locality: String,
    programme: String,
}

impl AwardLine {
    fn of(grant: &Grant) -> Self {
        AwardLine {
            recipient: grant
                .recipient_organization
                .first()
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            title: grant.title.clone(),
            amount: pounds((grant.amount_awarded * 100.0).round() as i64),
            date: parse_date(&grant.award_date)
                .map(crate::directory::format_date)
                .unwrap_or_else(|| grant.award_date.clone()),
            locality: grant
                .beneficiary_location
                .first()
                .map(|l| l.name.clone())
                .unwrap_or_default(),
            programme: grant
                .grant_programme
                .first()
                .map(|p| p.title.clone())
                .unwrap_or_default(),
        }
    }
}

/// Programmes as options, the chosen one selected.
fn programme_options(mut programmes: Vec<(String, String)>, chosen: &str) -> Vec<SelectOption> {
    programmes.sort_by(|a, b| a.1.cmp(&b.1));
    programmes.dedup();
    let mut options = vec![SelectOption::new("", "Every programme", chosen.is_empty())];
    options.extend(
        programmes
            .into_iter()
            .map(|(code, title)| SelectOption::new(code.clone(), title, code == chosen)),
    );
    options
}

#[derive(Template)]
#[template(path = "giving_grants.html")]
struct GrantsPage {
    layout: Layout,
    awards: Vec<AwardLine>,
    total: usize,
    total_amount: String,
    programmes: Vec<SelectOption>,
    /// `?programme=ID` for the download links, or nothing.
    filter: String,
    pagination: Pagination,
    /// Signed in as someone who may take the full file.
    publishes: bool,
}

fn filter_of(programme: Option<Uuid>) -> String {
    programme.map_or(String::new(), |id| format!("?programme={id}"))
}

async fn page(
    State(state): State<AppState>,
    signed: Result<Signed, AppError>,
    Query(query): Query<ExportQuery>,
) -> Result<Html<String>, AppError> {
    let signed = match signed {
        Ok(signed) => Some(signed),
        Err(AppError::SignInRequired(_)) => None,
        Err(other) => return Err(other),
    };
    let programme = query.programme()?;
    let asked = page_asked(&query.page)?;
    // The choice of programmes is of every award's, whichever is shown.
    let (all, _) = published_awards(&state, None).await?;
    let grants: Vec<Grant> = match programme {
        None => all.clone(),
        Some(id) => all
            .iter()
            .filter(|g| g.grant_programme.iter().any(|p| p.code == id.to_string()))
            .cloned()
            .collect(),
    };
    let filter = filter_of(programme);
    let pagination = Pagination::new(grants.len(), asked, PER_PAGE, "Award pages", |n| {
        let joiner = if filter.is_empty() { "?" } else { "&" };
        format!("/grants{filter}{joiner}page={n}")
    });
    let total_pence: i64 = grants
        .iter()
        .map(|g| (g.amount_awarded * 100.0).round() as i64)
        .sum();
    let awards = grants
        .iter()
        .skip(pagination.skip(PER_PAGE))
        .take(PER_PAGE)
        .map(AwardLine::of)
        .collect();
    let publishes = signed
        .as_ref()
        .is_some_and(|s| giving::decide_export(&s.user.actor).allowed);
    let page = GrantsPage {
        layout: match &signed {
            Some(signed) => Layout::for_user(signed, "/grants"),
            None => Layout::anonymous(String::new()),
        },
        awards,
        total: grants.len(),
        total_amount: pounds(total_pence),
        programmes: programme_options(
            all.iter()
                .flat_map(|g| &g.grant_programme)
                .map(|p| (p.code.clone(), p.title.clone()))
                .collect(),
            &query.programme,
        ),
        filter,
        pagination,
        publishes,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "giving_publish.html")]
struct PublishPage {
    layout: Layout,
    awards: usize,
    payments: usize,
    findings: Vec<Finding>,
    programmes: Vec<SelectOption>,
    filter: String,
}

/// What the full file holds, what was left out of it and why, and the downloads.
async fn publishing(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ExportQuery>,
) -> Result<Html<String>, AppError> {
    let programme = query.programme()?;
    let (grants, findings) = everything(&state, &signed, programme, "360Giving file").await?;
    let payments = grants
        .iter()
        .filter(|g| g.recipient_individual.is_some())
        .count();
    let mut tx = state.db.begin_read().await?;
    let programmes = earlyhelp_storage::payments::programmes(&mut tx).await?;
    tx.commit().await?;
    let page = PublishPage {
        layout: Layout::for_user(&signed, "/grants/360giving"),
        awards: grants.len() - payments,
        payments,
        programmes: programme_options(
            programmes
                .into_iter()
                .map(|p| (p.id.to_string(), p.name))
                .collect(),
            &query.programme,
        ),
        findings,
        filter: filter_of(programme),
    };
    Ok(Html(page.render()?))
}
