//! Access requests: a new account, role or locality waits for a second person (the locality's
//! lead, or the information governance officer for a lead, IG or city-wide role), who approves
//! or refuses it here. The information governance officer sees every request and decision.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::Layout;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Approver, Grant, Resource, decide};
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::roles::{Role, check_role_set};
use earlyhelp_storage::StorageError;
use earlyhelp_storage::accounts::{self, GrantRow};
use earlyhelp_storage::gate::{Request, authorise, authorise_read};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/access-requests", get(requests_page))
        .route("/access-requests/{id}/approve", post(approve))
        .route("/access-requests/{id}/refuse", post(refuse))
}

/// How many requests and decisions the page lists.
const LIMIT: i64 = 500;

pub struct RequestLine {
    pub id: Uuid,
    pub person: String,
    pub email: String,
    pub organisation: String,
    /// "Early help practitioner in Ladywood".
    pub access: String,
    pub asked: String,
    /// "Approved by ..., 3 Mar 2026 10:00", or who it waits for.
    pub status: String,
    pub decision: String,
}

#[derive(Template)]
#[template(path = "access_requests.html")]
struct RequestsPage {
    layout: Layout,
    errors: Vec<FieldError>,
    yours: Vec<RequestLine>,
    others: Vec<RequestLine>,
    decided: Vec<RequestLine>,
}

/// "Early help practitioner in Ladywood", "Commissioner".
pub fn access_words(row: &GrantRow) -> String {
    let role = Role::from_slug(&row.role)
        .map(Role::label)
        .unwrap_or(&row.role);
    match &row.locality_name {
        Some(locality) => format!("{role} in {locality}"),
        None => role.to_string(),
    }
}

pub use crate::dates::when;

pub fn line(row: &GrantRow, yours: bool) -> RequestLine {
    let asker = row
        .requested_by_email
        .clone()
        .unwrap_or_else(|| "the operator (command line)".into());
    let status = match (row.decision.as_str(), row.grant()) {
        ("pending", _) if yours => "Waiting for you".to_string(),
        ("pending", Some(grant)) => match grant.approver() {
            Approver::InformationGovernance => {
                "Waiting for the information governance officer".into()
            }
            Approver::LeadOf(_) => format!(
                "Waiting for the lead of {}",
                row.locality_name.clone().unwrap_or_default()
            ),
        },
        (decision, _) => format!(
            "{} by {}, {}",
            if decision == "approved" {
                "Approved"
            } else {
                "Refused"
            },
            row.decided_by_email
                .clone()
                .unwrap_or_else(|| "the operator".into()),
            row.decided_micros.map(when).unwrap_or_default()
        ),
    };
    RequestLine {
        id: row.id,
        person: row.user_name.clone(),
        email: row.user_email.clone(),
        organisation: row.organisation_name.clone(),
        access: access_words(row),
        asked: format!("{asker}, {}", when(row.requested_micros)),
        status,
        decision: row.decision.clone(),
    }
}

fn may_decide(signed: &Signed, grant: &Grant) -> bool {
    decide(
        &signed.user.actor,
        Action::Update,
        &Resource::AccessGrant(grant.clone()),
    )
    .allowed
}

async fn render(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::AccessGrants,
        subject: "access_requests",
        purpose: "review access requests",
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let rows = accounts::list_grants(&mut authorised, None, LIMIT).await?;
    authorised.tx.commit().await?;
    let actor = &signed.user.actor;
    // The information governance officer sees every request; a lead, their localities'.
    let governs = actor.roles.contains(&Role::InformationGovernanceOfficer);
    let visible = rows.iter().filter(|row| {
        governs
            || row
                .locality_slug
                .as_ref()
                .is_some_and(|l| actor.localities.contains(l))
    });
    let (mut yours, mut others, mut decided) = (Vec::new(), Vec::new(), Vec::new());
    for row in visible {
        let mine = row.pending() && row.grant().is_some_and(|g| may_decide(signed, &g));
        let line = line(row, mine);
        match (row.pending(), mine) {
            (true, true) => yours.push(line),
            (true, false) => others.push(line),
            (false, _) => decided.push(line),
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = RequestsPage {
        layout: Layout::for_user(signed, "/access-requests"),
        errors,
        yours,
        others,
        decided,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn requests_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, AppError> {
    render(&state, &signed, vec![]).await
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf_token: String,
}

async fn approve(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    decide_request(state, signed, id, form, true).await
}

async fn refuse(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    decide_request(state, signed, id, form, false).await
}

async fn decide_request(
    state: AppState,
    signed: Signed,
    id: Uuid,
    form: CsrfOnly,
    approve: bool,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let row = accounts::grant(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let grant = row.grant().ok_or(AppError::NotFound)?;
    let problem = |message: String| vec![FieldError::new("requests", message)];
    if approve {
        let mut held = accounts::roles_in_effect(&state.db, grant.user_id).await?;
        held.push(grant.role);
        if let Err(message) = check_role_set(&held) {
            return render(&state, &signed, problem(message)).await;
        }
    }
    let subject = format!("user:{}", grant.user_id);
    let purpose = format!(
        "access request {id}: {} {}",
        if approve { "approve" } else { "refuse" },
        access_words(&row)
    );
    let request = Request {
        action: Action::Update,
        resource: Resource::AccessGrant(grant),
        subject: &subject,
        purpose: &purpose,
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    match accounts::decide_grant(&mut authorised, id, signed.user.actor.user_id, approve).await {
        Ok(()) => {
            authorised.tx.commit().await?;
            state.case_workers.forget();
            Ok(Redirect::to("/access-requests").into_response())
        }
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            render(&state, &signed, problem(message)).await
        }
        Err(other) => Err(other.into()),
    }
}
