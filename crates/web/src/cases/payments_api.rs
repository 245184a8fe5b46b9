//! The JSON API for money: programmes (list, add), payments (ask, read, approve, refuse, pay).
//! Amounts are whole pence. 422 with every problem by field; 404 for a family or payment the
//! caller may not see, exactly as for one that does not exist (403 for the requester, who sees
//! it but may not decide it); 409 for a step its state does not allow.

use super::api::{Problems, check_write};
use super::payments::{check_refusal, create_programme, read_payment, request_payment, take_step};
use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::extract::{Json, Path};
use crate::routes::Routes;
use crate::session::Signed;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::money::{
    PayInput, PaymentInput, PaymentState, PaymentStep, ProgrammeInput, check_pay,
};
use earlyhelp_storage::gate::{Request, authorise_read};
use earlyhelp_storage::payments::{self as store, Duplicate, PaymentRow, ProgrammeRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    paths(list_programmes, add_programme, ask, get_payment, approve, refuse, pay),
    components(schemas(
        ProgrammeBody,
        PaymentBody,
        ApproveBody,
        RefuseBody,
        PayBody,
        Created,
        Moved
    ))
)]
pub struct PaymentsApi;

pub fn routes() -> Routes {
    Routes::new()
        .route("/api/programmes", get(list_programmes).post(add_programme))
        .route("/api/payments", post(ask))
        .route("/api/payments/{id}", get(get_payment))
        .route("/api/payments/{id}/approve", post(approve))
        .route("/api/payments/{id}/refuse", post(refuse))
        .route("/api/payments/{id}/pay", post(pay))
}

/// Pence as the pounds the checks read; a negative or zero amount is refused by them by field.
pub(super) fn pounds_text(pence: i64) -> String {
    if pence > 0 {
        format!("{}.{:02}", pence / 100, pence % 100)
    } else {
        pence.to_string()
    }
}

/// A funding programme. Amounts in whole pence; dates `YYYY-MM-DD`.
#[derive(Deserialize, ToSchema, Default)]
pub struct ProgrammeBody {
    #[serde(default)]
    name: String,
    /// `family_payments` or `community_grants`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    funder: String,
    #[serde(default)]
    budget_pence: i64,
    /// Each locality's own budget by its slug, for example `{"ladywood": 10700000}`.
    #[serde(default)]
    locality_budgets_pence: BTreeMap<String, i64>,
    #[serde(default)]
    opens_on: String,
    #[serde(default)]
    closes_on: String,
    #[serde(default)]
    cap_pence: i64,
    /// Above this a grants officer must approve; default 10000 (£100).
    #[serde(default)]
    approval_threshold_pence: Option<i64>,
    /// `360G-` and the funder's letters, for example `360G-earlyhelp`.
    #[serde(default)]
    identifier_prefix: String,
    /// A 360Giving regrant type code (`FRG010` to `FRG070`), if the money is regranted.
    #[serde(default)]
    regrant_type: String,
    /// A crisis fund: requests are decided within 48 hours.
    #[serde(default)]
    crisis: bool,
    /// Who may apply (community grants), in words.
    #[serde(default)]
    eligibility: String,
    /// The criteria applications are scored against (community grants: 1 to 10).
    #[serde(default)]
    criteria: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    id: Uuid,
}

/// The programmes: for grants officers, and for staff who ask for payments.
#[utoipa::path(get, path = "/api/programmes", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = Problems)))]
async fn list_programmes(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Json<Vec<ProgrammeRow>>, ApiError> {
    let request = Request {
        action: Action::List,
        resource: Resource::Programmes,
        subject: "programmes",
        purpose: "programmes (API)",
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let programmes = store::programmes(&mut authorised.tx).await?;
    authorised.tx.commit().await?;
    Ok(Json(programmes))
}

/// Adds a programme (grants officers).
#[utoipa::path(post, path = "/api/programmes", security(("bearer" = [])), request_body = ProgrammeBody,
    responses((status = 201, body = Created), (status = 422, body = Problems), (status = 403, body = Problems)))]
async fn add_programme(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Json(body): Json<ProgrammeBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    check_write(&signed, &headers)?;
    let input = ProgrammeInput {
        name: body.name,
        kind: body.kind,
        funder: body.funder,
        budget: pounds_text(body.budget_pence),
        locality_budgets: body
            .locality_budgets_pence
            .into_iter()
            .map(|(slug, pence)| (slug, pounds_text(pence)))
            .collect(),
        opens_on: body.opens_on,
        closes_on: body.closes_on,
        cap: pounds_text(body.cap_pence),
        threshold: body
            .approval_threshold_pence
            .map(pounds_text)
            .unwrap_or_default(),
        identifier_prefix: body.identifier_prefix,
        regrant_type: body.regrant_type,
        crisis: body.crisis,
        eligibility: body.eligibility,
        criteria: body.criteria.join("\n"),
    };
    let id = create_programme(&state, &signed, &input)
        .await?
        .map_err(AppError::Invalid)?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// A request for a payment to a family, from an open programme for families.
#[derive(Deserialize, ToSchema, Default)]
pub struct PaymentBody {
    family_id: Uuid,
    #[serde(default)]
    programme_id: String,
    #[serde(default)]
    amount_pence: i64,
    /// 360Giving grants-to-individuals purpose codes (`GTIP010` to `GTIP170`).
    #[serde(default)]
    purposes: Vec<String>,
    /// A 360Giving grants-to-individuals reason code (`GTIR010` to `GTIR120`).
    #[serde(default)]
    reason: String,
    #[serde(default)]
    notes: String,
}

/// Asks for a payment for a family whose case the caller may change.
#[utoipa::path(post, path = "/api/payments", security(("bearer" = [])), request_body = PaymentBody,
    responses((status = 201, body = Created), (status = 422, body = Problems, description = "Amount zero, negative, over the cap or over what is left; codes not in the lists"),
        (status = 404, body = Problems, description = "No such family, or not the caller's")))]
async fn ask(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Json(body): Json<PaymentBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    check_write(&signed, &headers)?;
    let input = PaymentInput {
        amount: pounds_text(body.amount_pence),
        purposes: body.purposes,
        reason: body.reason,
        notes: body.notes,
    };
    let id = request_payment(&state, &signed, body.family_id, &body.programme_id, &input)
        .await?
        .map_err(AppError::Invalid)?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize)]
struct PaymentView {
    payment: PaymentRow,
    /// The steps the caller may take now: `approve`, `refuse`, `pay`.
    allowed_steps: Vec<&'static str>,
    /// For whoever decides it: likely duplicates among the last 12 months' payments.
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicates: Option<Vec<Duplicate>>,
}

/// One payment, what the caller may do with it, and (for whoever decides it) the duplicate check.
#[utoipa::path(get, path = "/api/payments/{id}", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The payment")),
    responses((status = 200, body = Object), (status = 404, body = Problems)))]
async fn get_payment(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (payment, may_decide, may_pay, duplicates) =
        read_payment(&state, &signed, id, "payment (API)").await?;
    let mut allowed_steps = Vec::new();
    if may_decide {
        allowed_steps.extend(["approve", "refuse"]);
    }
    if may_pay {
        allowed_steps.push("pay");
    }
    let view = PaymentView {
        payment,
        allowed_steps,
        duplicates,
    };
    Ok(Json(
        serde_json::to_value(view).map_err(|e| AppError::Internal(e.into()))?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Moved {
    state: &'static str,
}

fn moved(to: PaymentState) -> Json<Moved> {
    Json(Moved { state: to.slug() })
}

/// An approval carries nothing but itself: send `{}`.
#[derive(Deserialize, ToSchema, Default)]
pub struct ApproveBody {}

/// Approves a payment: a second person, never the requester; above the programme's threshold a
/// grants officer. The budget is committed in the same transaction.
#[utoipa::path(post, path = "/api/payments/{id}/approve", security(("bearer" = [])), request_body = ApproveBody,
    params(("id" = Uuid, Path, description = "The payment")),
    responses((status = 200, body = Moved), (status = 409, body = Problems, description = "Not waiting for approval"),
        (status = 422, body = Problems, description = "The budget no longer covers it (field `amount`)"),
        (status = 403, body = Problems, description = "The caller asked for it"), (status = 404, body = Problems)))]
async fn approve(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(ApproveBody {}): Json<ApproveBody>,
) -> Result<Json<Moved>, ApiError> {
    check_write(&signed, &headers)?;
    let to = take_step(&state, &signed, id, PaymentStep::Approve, "", None).await?;
    Ok(moved(to))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RefuseBody {
    #[serde(default)]
    refusal: String,
}

/// Refuses a payment, saying why.
#[utoipa::path(post, path = "/api/payments/{id}/refuse", security(("bearer" = [])), request_body = RefuseBody,
    params(("id" = Uuid, Path, description = "The payment")),
    responses((status = 200, body = Moved), (status = 409, body = Problems), (status = 422, body = Problems), (status = 404, body = Problems)))]
async fn refuse(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<RefuseBody>,
) -> Result<Json<Moved>, ApiError> {
    check_write(&signed, &headers)?;
    let reason = check_refusal(&body.refusal).map_err(|e| AppError::Invalid(vec![e]))?;
    let to = take_step(&state, &signed, id, PaymentStep::Refuse, &reason, None).await?;
    Ok(moved(to))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct PayBody {
    /// `bank_transfer`, `voucher` or `cash_out_voucher`.
    #[serde(default)]
    method: String,
    /// For a voucher: its provider and code.
    #[serde(default)]
    voucher_provider: String,
    #[serde(default)]
    voucher_code: String,
    /// `YYYY-MM-DD`, not in the future.
    #[serde(default)]
    paid_on: String,
}

/// Records an approved payment as paid (grants officers).
#[utoipa::path(post, path = "/api/payments/{id}/pay", security(("bearer" = [])), request_body = PayBody,
    params(("id" = Uuid, Path, description = "The payment")),
    responses((status = 200, body = Moved), (status = 409, body = Problems, description = "Not approved"),
        (status = 422, body = Problems), (status = 404, body = Problems)))]
async fn pay(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(body): Json<PayBody>,
) -> Result<Json<Moved>, ApiError> {
    check_write(&signed, &headers)?;
    let input = PayInput {
        method: body.method,
        voucher_provider: body.voucher_provider,
        voucher_code: body.voucher_code,
        paid_on: body.paid_on,
    };
    let checked =
        check_pay(&input, earlyhelp_storage::cases::today()).map_err(AppError::Invalid)?;
    let to = take_step(&state, &signed, id, PaymentStep::Pay, "", Some(&checked)).await?;
    Ok(moved(to))
}
