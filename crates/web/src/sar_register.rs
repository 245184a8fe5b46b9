//! The register of subject access requests received, for the information governance officer:
//! each request's due day (one calendar month from the day after receipt, three when extended)
//! and the days left, the soonest first. Producing the response is the person search at
//! `/governance`. Every page passes the gate as `RecordsGovernance`.

use crate::AppState;
use crate::cases::field;
use crate::dates::{DateQuestion, Rule, filters};
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::governance::through_gate;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, error_for};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::limits::{REASON, too_long};
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::sar::{extended_due, response_due};
use earlyhelp_storage::cases::today;
use earlyhelp_storage::gate::Authorised;
use earlyhelp_storage::sar_register::{self, SarRequest};
use time::Date;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/governance/requests", get(register).post(record))
        .route(
            "/governance/requests/{id}/extend",
            get(extend_page).post(extend),
        )
        .route("/governance/requests/{id}/complete", post(complete))
}

/// One request as the register shows it.
struct Line {
    request: SarRequest,
    /// "12 days left", "due today", "3 days overdue", or the day it was sent.
    status: String,
    overdue: bool,
}

fn line(request: SarRequest, today: Date) -> Line {
    let due = Date::parse(
        &request.due_on,
        &time::format_description::well_known::Iso8601::DATE,
    )
    .unwrap_or(today);
    let days = (due - today).whole_days();
    let status = match (&request.completed_on, days) {
        (Some(on), _) => format!("Sent {}", crate::dates::display(on)),
        (None, 0) => "Due today".to_string(),
        (None, 1) => "1 day left".to_string(),
        (None, n) if n > 1 => format!("{n} days left"),
        (None, -1) => "1 day overdue".to_string(),
        (None, n) => format!("{} days overdue", -n),
    };
    Line {
        overdue: request.completed_on.is_none() && days < 0,
        status,
        request,
    }
}

#[derive(Template)]
#[template(path = "governance_requests.html")]
struct RegisterPage {
    layout: Layout,
    errors: Vec<FieldError>,
    done: &'static str,
    requester: String,
    received: crate::dates::DateParts,
    open: Vec<Line>,
    completed: Vec<Line>,
}

impl RegisterPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

const RECEIVED: DateQuestion = DateQuestion::new(
    "received",
    "The date the request was received",
    Rule::TodayOrPast,
);

async fn render(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
    done: &'static str,
    pairs: &[(String, String)],
) -> Result<Response, AppError> {
    let mut authorised = through_gate(
        state,
        signed,
        Action::List,
        "sar_requests",
        "subject access requests received",
    )
    .await?;
    let requests = sar_register::list(&mut authorised).await?;
    authorised.tx.commit().await?;
    let today = today();
    let (open, completed) = requests
        .into_iter()
        .map(|r| line(r, today))
        .partition(|l| l.request.completed_on.is_none());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = RegisterPage {
        layout: Layout::for_user(signed, "/governance"),
        requester: field(pairs, "requester"),
        received: crate::dates::parts(pairs, RECEIVED.name),
        errors,
        done,
        open,
        completed,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(serde::Deserialize)]
struct Shown {
    #[serde(default)]
    done: String,
}

async fn register(
    State(state): State<AppState>,
    signed: Signed,
    Query(shown): Query<Shown>,
) -> Result<Response, AppError> {
    let done = match shown.done.as_str() {
        "recorded" => "The request is recorded, with its due date",
        "extended" => "The request is extended by two months",
        "completed" => "The request is marked as answered",
        _ => "",
    };
    render(&state, &signed, Vec::new(), done, &[]).await
}

async fn record(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let requester = field(&pairs, "requester");
    let mut errors = Vec::new();
    if requester.trim().is_empty() {
        errors.push(FieldError::new(
            "requester",
            "Enter the name of the person who asked",
        ));
    }
    errors.extend(too_long("requester", "The name", &requester, REASON));
    let received = crate::dates::answer(&pairs, &RECEIVED, today());
    let received = match received {
        Ok(day) if errors.is_empty() => day,
        Ok(_) => return render(&state, &signed, errors, "", &pairs).await,
        Err(error) => {
            errors.push(error);
            crate::dates::in_page_order(&mut errors, &pairs);
            return render(&state, &signed, errors, "", &pairs).await;
        }
    };
    let mut authorised = through_gate(
        &state,
        &signed,
        Action::Create,
        "sar_requests",
        "record a subject access request received",
    )
    .await?;
    sar_register::record(
        &mut authorised,
        requester.trim(),
        received,
        response_due(received),
        &officer(&signed),
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/governance/requests?done=recorded").into_response())
}

fn officer(signed: &Signed) -> String {
    format!("{} ({})", signed.user.name, signed.user.actor.email)
}

/// Extending is asked on its own page: what follows, and why it needs longer.
#[derive(Template)]
#[template(path = "governance_request_extend.html")]
struct ExtendPage {
    layout: Layout,
    errors: Vec<FieldError>,
    id: Uuid,
    requester: String,
    due: String,
    extended_due: String,
    reason: String,
}

impl ExtendPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// The request `id`, open and not yet extended, read under its own permit.
async fn open_request(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    action: Action,
    purpose: &str,
) -> Result<(Authorised, SarRequest), AppError> {
    let subject = format!("sar_request:{id}");
    let mut authorised = through_gate(state, signed, action, &subject, purpose).await?;
    let request = sar_register::find(&mut authorised, id)
        .await?
        .filter(|r| r.completed_on.is_none() && r.extension_reason.is_none())
        .ok_or(AppError::NotFound)?;
    Ok((authorised, request))
}

fn received(request: &SarRequest) -> Date {
    Date::parse(
        &request.received_on,
        &time::format_description::well_known::Iso8601::DATE,
    )
    .unwrap_or_else(|_| today())
}

async fn render_extend(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
    reason: String,
) -> Result<Response, AppError> {
    let (authorised, request) = open_request(
        state,
        signed,
        id,
        Action::Read,
        "extend a subject access request",
    )
    .await?;
    authorised.tx.commit().await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ExtendPage {
        layout: Layout::for_user(signed, "/governance"),
        errors,
        id,
        extended_due: crate::dates::long_date(extended_due(received(&request))),
        due: crate::dates::display(&request.due_on),
        requester: request.requester,
        reason,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn extend_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_extend(&state, &signed, id, Vec::new(), String::new()).await
}

async fn extend(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let reason = field(&pairs, "reason");
    let mut errors: Vec<FieldError> = too_long("reason", "The reason", &reason, REASON)
        .into_iter()
        .collect();
    if reason.trim().is_empty() {
        errors.push(FieldError::new(
            "reason",
            "Say why the request needs longer: it is complex, or one of many from this person",
        ));
    }
    if !errors.is_empty() {
        return render_extend(&state, &signed, id, errors, reason).await;
    }
    let (mut authorised, request) = open_request(
        &state,
        &signed,
        id,
        Action::Update,
        "extend a subject access request",
    )
    .await?;
    let due = extended_due(received(&request));
    if !sar_register::extend(&mut authorised, id, due, reason.trim()).await? {
        return Err(AppError::NotFound);
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to("/governance/requests?done=extended").into_response())
}

async fn complete(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let subject = format!("sar_request:{id}");
    let mut authorised = through_gate(
        &state,
        &signed,
        Action::Update,
        &subject,
        "mark a subject access request answered",
    )
    .await?;
    if !sar_register::complete(&mut authorised, id, today()).await? {
        return Err(AppError::NotFound);
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to("/governance/requests?done=completed").into_response())
}
