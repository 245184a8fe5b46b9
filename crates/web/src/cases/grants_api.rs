//! The JSON API for community grants: applications (submit, list, read, score, decide).
//! Amounts are whole pence. 422 with every problem by field; 404 for an application the caller
//! may not see, 403 for one they declared a conflict in; 409 for a step its state does not allow.

use super::api::{Problems, check_write};
use super::grants::{record_decision, record_scores, submit_application};
use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::extract::{Json, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::throttle::{ClientIp, Throttle};
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::grants::{ApplicationInput, DecisionInput};
use earlyhelp_storage::gate::{Ask, Request, authorise_read, authorise_record};
use earlyhelp_storage::grants::{self as store, ApplicationFile, ApplicationId, ApplicationLine};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    paths(submit, list, read, score, decide),
    components(schemas(ApplicationBody, ScoresBody, DecisionBody, Submitted, Done))
)]
pub struct GrantsApi;

pub fn routes() -> Routes {
    Routes::new()
        .route("/api/grants/programmes/{id}/applications", post(submit))
        .route("/api/grants/applications", get(list))
        .route("/api/grants/applications/{id}", get(read))
        .route("/api/grants/applications/{id}/scores", post(score))
        .route("/api/grants/applications/{id}/decision", post(decide))
}

/// An application to a community grants programme, as on the public form.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ApplicationBody {
    /// `charity`, `company`, `cic` or `unregistered`.
    organisation_type: String,
    organisation_name: String,
    /// 6 to 8 digits, for a charity.
    charity_number: String,
    /// 8 characters, for a company or community interest company.
    company_number: String,
    /// An unregistered group has a written constitution and a bank account in its name.
    constitution: bool,
    bank_account: bool,
    contact_name: String,
    contact_email: String,
    /// A locality slug, for example `ladywood`.
    locality: String,
    /// `LSOA` or `WD` (ward), and its code (E01… or E05…).
    area_type: String,
    area: String,
    title: String,
    activity: String,
    families: i64,
    amount_pence: i64,
    /// Signed up to the Birmingham Business Charter for Social Responsibility.
    charter: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Submitted {
    reference: String,
}

fn yes(flag: bool) -> String {
    if flag { "yes" } else { "no" }.into()
}

/// Applies to an open community grants programme; no sign-in, limited per address per hour.
#[utoipa::path(post, path = "/api/grants/programmes/{id}/applications", request_body = ApplicationBody,
    params(("id" = Uuid, Path, description = "An open community grants programme")),
    responses((status = 201, body = Submitted), (status = 422, body = Problems, description = "Every problem by field"),
        (status = 404, body = Problems, description = "No such programme open today"), (status = 429, description = "Too many from this address")))]
async fn submit(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<Throttle>>,
    ClientIp(client): ClientIp,
    Path(id): Path<Uuid>,
    Json(body): Json<ApplicationBody>,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let input = ApplicationInput {
        organisation_type: body.organisation_type,
        organisation_name: body.organisation_name,
        charity_number: body.charity_number,
        company_number: body.company_number,
        constitution: yes(body.constitution),
        bank_account: yes(body.bank_account),
        contact_name: body.contact_name,
        contact_email: body.contact_email,
        locality: body.locality,
        area_type: body.area_type,
        area: body.area,
        title: body.title,
        activity: body.activity,
        families: body.families.to_string(),
        amount: super::payments_api::pounds_text(body.amount_pence),
        charter: yes(body.charter),
    };
    let reference = submit_application(&state, &throttle, client, id, &input)
        .await?
        .map_err(AppError::Invalid)?;
    Ok((StatusCode::CREATED, Json(Submitted { reference })))
}

/// Every application, with how many assessors scored it and whether the caller declared a
/// conflict in it or scored it (assessors and grants officers).
#[utoipa::path(get, path = "/api/grants/applications", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = Problems)))]
async fn list(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<ApplicationLine>>, ApiError> {
    let request = Request {
        action: Action::List,
        resource: Resource::GrantApplications,
        subject: "grant_applications",
        purpose: "community grant applications (API)",
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let user = signed.user.actor.user_id;
    let lines = store::applications(&mut authorised.tx, None, user).await?;
    authorised.tx.commit().await?;
    Ok(Json(lines))
}

/// One application with its criteria, scores, conflicts, tranches and returns. Other assessors'
/// scores are left out until the caller has scored it, unless the caller decides it.
#[utoipa::path(get, path = "/api/grants/applications/{id}", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The application")),
    responses((status = 200, body = Object), (status = 403, body = Problems, description = "The caller declared a conflict"),
        (status = 404, body = Problems)))]
async fn read(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Json<ApplicationFile>, ApiError> {
    let ask = Ask {
        id,
        action: Action::Read,
        purpose: "community grant application (API)",
    };
    let mut authorised = authorise_record::<ApplicationId>(&state.db, &signed.who(), ask)
        .await
        .map_err(super::grants::refused)?;
    let mut file = store::application(&mut authorised).await?;
    authorised.tx.commit().await?;
    let me = signed.user.actor.user_id;
    let decides = signed.may(earlyhelp_domain::roles::Permission::ManagePayments);
    if !decides && !file.scores.iter().any(|s| s.assessor_id == me) {
        file.scores.clear();
    }
    Ok(Json(file))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct ScoresBody {
    /// One score per criterion, in the programme's order, each 1 to 5.
    scores: Vec<i64>,
    comment: String,
}

#[derive(Serialize, ToSchema)]
pub struct Done {
    done: bool,
}

/// Records (or replaces) the caller's scores while the application is undecided.
#[utoipa::path(post, path = "/api/grants/applications/{id}/scores", security(("bearer" = [])), request_body = ScoresBody,
    params(("id" = Uuid, Path, description = "The application")),
    responses((status = 200, body = Done), (status = 422, body = Problems), (status = 409, body = Problems, description = "Already decided"),
        (status = 403, body = Problems, description = "The caller declared a conflict"), (status = 404, body = Problems)))]
async fn score(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<ScoresBody>,
) -> Result<Json<Done>, ApiError> {
    check_write(&signed, &headers)?;
    let raw: Vec<String> = body.scores.iter().map(i64::to_string).collect();
    record_scores(&state, &signed, id, &raw, &body.comment)
        .await?
        .map_err(AppError::Invalid)?;
    Ok(Json(Done { done: true }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(default)]
pub struct DecisionBody {
    /// `award` or `decline`.
    outcome: String,
    /// For an award: at most what was applied for.
    amount_pence: i64,
    reasons: String,
    /// For an award: 1 to 4 tranches, and the project's dates (`YYYY-MM-DD`).
    tranches: i64,
    planned_start: String,
    planned_end: String,
}

/// Awards (committing the budget) or declines, with reasons: the grants officer, once at least
/// two assessors have scored it.
#[utoipa::path(post, path = "/api/grants/applications/{id}/decision", security(("bearer" = [])), request_body = DecisionBody,
    params(("id" = Uuid, Path, description = "The application")),
    responses((status = 200, body = Done), (status = 422, body = Problems, description = "By field; `amount` when the budget no longer covers it"),
        (status = 409, body = Problems, description = "Fewer than two assessors, or already decided"), (status = 404, body = Problems)))]
async fn decide(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<DecisionBody>,
) -> Result<Json<Done>, ApiError> {
    check_write(&signed, &headers)?;
    let input = DecisionInput {
        outcome: body.outcome,
        amount: super::payments_api::pounds_text(body.amount_pence),
        reasons: body.reasons,
        tranches: body.tranches.to_string(),
        planned_start: body.planned_start,
        planned_end: body.planned_end,
    };
    record_decision(&state, &signed, id, &input)
        .await?
        .map_err(AppError::Invalid)?;
    Ok(Json(Done { done: true }))
}
