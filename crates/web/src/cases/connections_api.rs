//! The JSON API for connections: send a referral, read one, move it on, and the receiving
//! organisation's inbox. 422 with every problem by field; 404 for a referral the caller may not
//! see, exactly as for one that does not exist; 409 for a transition its state does not allow.

use super::api::{Problems, check_write};
use super::connections::{InboxQuery, answer, inbox_page, read_referral, refer};
use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::extract::{Json, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};

use earlyhelp_domain::connections::{ReferralInput, ReferralState, Side, allowed, parse_event};
use earlyhelp_storage::connections::{Referral, ReferralLine};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    paths(send_referral, get_referral, move_referral, inbox),
    components(schemas(ReferralBody, StatusBody, ReferralCreated, ReferralView, Moved))
)]
pub struct ConnectionsApi;

pub fn routes() -> Routes {
    Routes::new()
        .route("/api/referrals", post(send_referral).get(inbox))
        .route("/api/referrals/{id}", get(get_referral))
        .route("/api/referrals/{id}/status", post(move_referral))
}

/// A referral from a family's case to a directory service.
#[derive(Deserialize, ToSchema, Default)]
pub struct ReferralBody {
    family_id: Uuid,
    service_id: Uuid,
    /// Ids of the family members it is about: only they are shared.
    #[serde(default)]
    members: Vec<String>,
    #[serde(default)]
    why: String,
    /// `phone`, `text`, `email` or `letter`.
    #[serde(default)]
    contact_method: String,
    #[serde(default)]
    best_times: String,
    #[serde(default)]
    interpreter: String,
    /// The UK GDPR article 6 basis: `consent`, `legal_obligation`, `vital_interests`,
    /// `public_task` or `legitimate_interests`.
    #[serde(default)]
    basis: String,
    /// Must be true: this is not a child protection referral.
    #[serde(default)]
    not_safeguarding: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ReferralCreated {
    id: Uuid,
}

/// A referral as its caller may see it, with its state's HL7 FHIR Task status and the events
/// the caller may cause now.
#[derive(Serialize, ToSchema)]
pub struct ReferralView {
    #[schema(value_type = Object)]
    referral: serde_json::Value,
    fhir_task_status: &'static str,
    allowed_events: Vec<&'static str>,
}

/// Sends a referral for a family whose case the caller may change.
#[utoipa::path(post, path = "/api/referrals", security(("bearer" = [])), request_body = ReferralBody,
    responses((status = 201, body = ReferralCreated), (status = 422, body = Problems), (status = 404, body = Problems, description = "No such family or service, or not the caller's")))]
async fn send_referral(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Json(body): Json<ReferralBody>,
) -> Result<(StatusCode, Json<ReferralCreated>), ApiError> {
    check_write(&signed, &headers)?;
    let input = ReferralInput {
        members: body.members,
        why: body.why,
        contact_method: body.contact_method,
        best_times: body.best_times,
        interpreter: body.interpreter,
        basis: body.basis,
        not_safeguarding: body.not_safeguarding,
    };
    let id = refer(&state, &signed, body.family_id, body.service_id, &input)
        .await?
        .map_err(AppError::Invalid)?;
    Ok((StatusCode::CREATED, Json(ReferralCreated { id })))
}

fn view(referral: Referral, side: Side) -> Result<ReferralView, AppError> {
    let state = ReferralState::from_slug(&referral.row.state).unwrap_or(ReferralState::Sent);
    Ok(ReferralView {
        referral: serde_json::to_value(&referral).map_err(|e| AppError::Internal(e.into()))?,
        fhir_task_status: state.fhir_task_status(),
        allowed_events: allowed(state, side),
    })
}

/// One referral: what was shared, every step, its FHIR Task status.
#[utoipa::path(get, path = "/api/referrals/{id}", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The referral")),
    responses((status = 200, body = ReferralView), (status = 404, body = Problems)))]
async fn get_referral(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Json<ReferralView>, ApiError> {
    let (referral, side) = read_referral(&state, &signed, id, "referral (API)").await?;
    Ok(Json(view(referral, side)?))
}

/// What happened: `open`, `accept`, `decline` (with `reason`), `start`, `hold`, `complete`
/// (with `outcome`: `met`, `partly_met`, `not_met`), `did_not_engage`, `cancel` or
/// `entered_in_error`.
#[derive(Deserialize, ToSchema, Default)]
pub struct StatusBody {
    #[serde(default)]
    event: String,
    /// For `decline`: `no_capacity`, `not_eligible`, `family_declined`, `could_not_contact`,
    /// `duplicate` or `other`.
    #[serde(default)]
    reason: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

#[derive(Serialize, ToSchema)]
pub struct Moved {
    state: &'static str,
    fhir_task_status: &'static str,
}

/// Moves a referral on, as the service or the referrer.
#[utoipa::path(post, path = "/api/referrals/{id}/status", security(("bearer" = [])), request_body = StatusBody,
    params(("id" = Uuid, Path, description = "The referral")),
    responses((status = 200, body = Moved), (status = 409, body = Problems, description = "Not allowed from its state: the message names what is"),
        (status = 422, body = Problems), (status = 404, body = Problems)))]
async fn move_referral(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<StatusBody>,
) -> Result<Json<Moved>, ApiError> {
    check_write(&signed, &headers)?;
    let event = parse_event(&body.event, &body.reason, &body.outcome)
        .map_err(|e| AppError::Invalid(vec![e]))?;
    let to = answer(&state, &signed, id, event, &body.note).await?;
    Ok(Json(Moved {
        state: to.slug(),
        fhir_task_status: to.fhir_task_status(),
    }))
}

/// The referrals to the caller's organisation, fifty a page: `show=new` (waiting for an
/// answer, oldest first; the default), `working` or `closed`.
#[utoipa::path(get, path = "/api/referrals", security(("bearer" = [])),
    params(("show" = Option<String>, Query, description = "new, working or closed"), ("page" = Option<u32>, Query, description = "From 1")),
    responses((status = 200, body = Object), (status = 403, body = Problems, description = "The caller answers no referrals")))]
async fn inbox(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<InboxQuery>,
) -> Result<Json<Vec<ReferralLine>>, ApiError> {
    Ok(Json(inbox_page(&state, &signed, &query).await?.lines))
}
