//! The JSON API for requests, triage, family cases and the audit trail of a record.
//! Validation problems answer 422 with every problem by field; a family record or request the
//! caller may not see answers 404, exactly as one that does not exist.

use super::family::open_family;
use super::measures::{OutcomeView, outcome_views};
use super::requests::{TriageForm, apply_triage, check_triage, request_locality};
use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::extract::{Json, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::cases::{MemberInput, RequestInput, check_request};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::cases;
use earlyhelp_storage::gate::{AuditFilter, Request, authorise, list_events};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    paths(send_request, list_requests, triage, get_family, add_note, audit_of),
    components(schemas(
        RequestBody,
        MemberBody,
        Created,
        TriageForm,
        Triaged,
        NoteBody,
        Records,
        Problems,
        Problem,
        OutcomeView
    ))
)]
pub struct CasesApi;

pub fn routes() -> Routes {
    Routes::new()
        .long_form("/api/requests", post(send_request).get(list_requests))
        .long_form("/api/requests/{id}/triage", post(triage))
        .route("/api/families/{id}", get(get_family))
        .long_form("/api/families/{id}/notes", post(add_note))
        .route("/api/audit", get(audit_of))
}

/// A browser session calling the API must echo its CSRF token in `X-CSRF-Token`; bearer-token
/// callers send no cookies and need not.
pub(super) fn check_write(signed: &Signed, headers: &HeaderMap) -> Result<(), AppError> {
    if signed.session_token.is_none() {
        return Ok(());
    }
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    signed.check_csrf(sent)
}

/// One family member.
#[derive(Deserialize, ToSchema, Default)]
pub struct MemberBody {
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    date_of_birth: String,
    /// `child`, `parent_carer` or `other_adult`.
    #[serde(default)]
    relationship: String,
    /// Optional: a 2021 census ethnic group, such as `white_british`, `asian_pakistani`,
    /// `black_caribbean`, `mixed_other` or `not_said`.
    #[serde(default)]
    ethnicity: String,
    /// Optional: languages spoken at home.
    #[serde(default)]
    languages: String,
    /// Optional: `none`, `sen_support`, `ehc_plan` or `disability`.
    #[serde(default)]
    send: String,
    /// Optional: school, nursery or college.
    #[serde(default)]
    school: String,
    /// Optional: the NHS number, 10 digits passing the Modulus 11 check; spaces and dashes
    /// are allowed (`943 476 5919`). A number failing its check is refused (422, by field).
    /// Family records send it back as its 10 digits.
    #[serde(default)]
    nhs_number: String,
    /// Optional, when there is no NHS number: why. `not_known`, or `withheld` (not included
    /// because sharing it would be more detrimental to the child). Not with a number.
    #[serde(default)]
    nhs_number_missing: String,
}

/// A request for support (the Family Connect Form).
#[derive(Deserialize, ToSchema, Default)]
pub struct RequestBody {
    #[serde(default)]
    members: Vec<MemberBody>,
    #[serde(default)]
    address: String,
    /// A full postcode in the city; it routes the request to its locality.
    #[serde(default)]
    postcode: String,
    /// Reason slugs: `money_housing_work`, `health_wellbeing`, `children_young_people`,
    /// `domestic_abuse`, `education`, `risk_of_homelessness`.
    #[serde(default)]
    reasons: Vec<String>,
    /// `universal`, `universal_plus`, `additional` or `complex`.
    #[serde(default)]
    need_level: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    consent_given_by: String,
    /// `verbal` or `written`.
    #[serde(default)]
    consent_method: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    consent_date: String,
}

impl From<RequestBody> for RequestInput {
    fn from(b: RequestBody) -> Self {
        RequestInput {
            members: b
                .members
                .into_iter()
                .map(|m| MemberInput {
                    given_name: m.given_name,
                    family_name: m.family_name,
                    date_of_birth: m.date_of_birth,
                    relationship: m.relationship,
                    ethnicity: m.ethnicity,
                    languages: m.languages,
                    send: m.send,
                    school: m.school,
                    nhs_number: m.nhs_number,
                    nhs_number_missing: m.nhs_number_missing,
                })
                .collect(),
            address: b.address,
            postcode: b.postcode,
            reasons: b.reasons,
            need_level: b.need_level,
            summary: b.summary,
            consent_given_by: b.consent_given_by,
            consent_method: b.consent_method,
            consent_date: b.consent_date,
            contact: String::new(),
            share: String::new(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    id: Uuid,
    /// The locality slug the request was routed to (for a note: empty).
    locality: String,
}

#[derive(Serialize, ToSchema)]
pub struct Problem {
    field: String,
    message: String,
}

/// An error: `error` in words, and for 422 every problem by field.
#[derive(Serialize, ToSchema)]
pub struct Problems {
    error: String,
    problems: Vec<Problem>,
}

/// Records as JSON: requests with their members, a family's case, or audit events.
#[derive(Serialize, ToSchema)]
pub struct Records {
    #[schema(value_type = Object)]
    records: serde_json::Value,
}

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.into()))
}

/// Send a request for support. It is routed to a locality by postcode.
#[utoipa::path(post, path = "/api/requests", security(("bearer" = [])), request_body = RequestBody,
    responses((status = 201, body = Created), (status = 422, body = Problems, description = "Every problem, by field"),
        (status = 403, body = Problems, description = "The caller's roles may not request support")))]
async fn send_request(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Json(body): Json<RequestBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    check_write(&signed, &headers)?;
    let input: RequestInput = body.into();
    let checked = check_request(&input, cases::today(), false).map_err(AppError::Invalid)?;
    let id = Uuid::now_v7();
    let subject = format!("request:{id}");
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        Request {
            action: Action::Create,
            resource: Resource::SupportRequest { locality: None },
            subject: &subject,
            purpose: "request for support (API)",
        },
    )
    .await?;
    let requester = format!("{}, {}", signed.user.name, signed.user.organisation_name);
    cases::create_request(
        &mut authorised,
        id,
        &signed.user.actor,
        &requester,
        &checked,
    )
    .await?;
    authorised.tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id,
            locality: checked.locality.to_string(),
        }),
    ))
}

#[derive(Deserialize, Default)]
struct LocalityQuery {
    #[serde(default)]
    locality: String,
}

/// The requests waiting for triage in a locality the caller leads (default: their first).
#[utoipa::path(get, path = "/api/requests", security(("bearer" = [])),
    params(("locality" = Option<String>, Query, description = "Locality slug, for example `ladywood`")),
    responses((status = 200, body = Records), (status = 403, body = Problems, description = "Not a locality lead of that locality")))]
async fn list_requests(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<LocalityQuery>,
) -> Result<Json<Records>, ApiError> {
    let locality = super::requests::chosen_locality(&signed, &query.locality);
    let mut authorised =
        super::authorise_queue(&state, &signed, &locality, "triage queue (API)").await?;
    let requests = cases::queue(&mut authorised, &locality, 500, 0).await?;
    authorised.tx.commit().await?;
    Ok(Json(Records {
        records: json(&requests)?,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Triaged {
    /// The family opened (or joined) for locality early help or community support, if any.
    family_id: Option<Uuid>,
}

/// Triage a request: an outcome, and for locality early help a lead practitioner.
#[utoipa::path(post, path = "/api/requests/{id}/triage", security(("bearer" = [])), request_body = TriageForm,
    params(("id" = Uuid, Path, description = "The request")),
    responses((status = 200, body = Triaged), (status = 422, body = Problems), (status = 404, body = Problems, description = "No such request, or not the caller's to triage")))]
async fn triage(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(form): Json<TriageForm>,
) -> Result<Json<Triaged>, ApiError> {
    check_write(&signed, &headers)?;
    // Ask the gate first, so a caller who may not triage learns nothing from validation.
    let locality = request_locality(&state, &signed, id).await?;
    let checked = check_triage(&state, &form, &locality)
        .await
        .map_err(AppError::Invalid)?;
    let family_id = apply_triage(&state, &signed, id, &checked).await?;
    Ok(Json(Triaged { family_id }))
}

/// A family's case record: members, lead, team, notes, plan, readings, consent, assessments,
/// the lawful basis of each share, break-glass accesses, and `supporting_families`: the
/// family's needs against the Supporting Families headline outcomes, each an `OutcomeView`.
/// Each reading carries its `measure` (name) and `measure_id`; each member their `nhs_number`
/// (10 digits, or empty) and `nhs_number_missing` (`not_known`, `withheld`, or empty).
#[utoipa::path(get, path = "/api/families/{id}", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The family")),
    responses((status = 200, body = Records), (status = 404, body = Problems, description = "No such family, or the caller may not see it")))]
async fn get_family(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Json<Records>, ApiError> {
    let mut authorised =
        open_family(&state, &signed, id, Action::Read, "case record (API)").await?;
    let record = cases::family(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    let outcomes = outcome_views(&mut authorised).await?;
    authorised.tx.commit().await?;
    let mut records = json(&record)?;
    records["supporting_families"] = json(&outcomes)?;
    Ok(Json(Records { records }))
}

#[derive(Deserialize, ToSchema)]
pub struct NoteBody {
    #[serde(default)]
    body: String,
}

/// Add a note to a family's chronology.
#[utoipa::path(post, path = "/api/families/{id}/notes", security(("bearer" = [])), request_body = NoteBody,
    params(("id" = Uuid, Path, description = "The family")),
    responses((status = 201, body = Created), (status = 422, body = Problems), (status = 404, body = Problems, description = "No such family, or the caller may not change it")))]
async fn add_note(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Json(note): Json<NoteBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    check_write(&signed, &headers)?;
    let mut authorised =
        open_family(&state, &signed, id, Action::Update, "add a note (API)").await?;
    let problem = if note.body.trim().is_empty() {
        Some(FieldError::new("body", "Enter the note"))
    } else {
        let max = earlyhelp_domain::limits::CASE_NOTE;
        earlyhelp_domain::limits::too_long("body", "The note", &note.body, max)
    };
    if let Some(problem) = problem {
        drop(authorised);
        return Err(AppError::Invalid(vec![problem]).into());
    }
    let note_id = cases::add_note(&mut authorised, &signed.user.name, note.body.trim()).await?;
    authorised.tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id: note_id,
            locality: String::new(),
        }),
    ))
}

#[derive(Deserialize, Default)]
struct SubjectQuery {
    #[serde(default)]
    subject: String,
}

/// Who has looked at or changed a record: its audit events, newest first. Information
/// governance officers only.
#[utoipa::path(get, path = "/api/audit", security(("bearer" = [])),
    params(("subject" = String, Query, description = "The record, for example `family:ID`")),
    responses((status = 200, body = Records), (status = 403, body = Problems, description = "Not an information governance officer")))]
async fn audit_of(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<SubjectQuery>,
) -> Result<Json<Records>, ApiError> {
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        Request {
            action: Action::List,
            resource: Resource::AuditLog,
            subject: "audit_log",
            purpose: "audit review (API)",
        },
    )
    .await?;
    let filter = AuditFilter {
        subject: query.subject,
        ..AuditFilter::default()
    };
    let events = list_events(&mut authorised, &filter, 1000).await?;
    authorised.tx.commit().await?;
    Ok(Json(Records {
        records: json(&events)?,
    }))
}
