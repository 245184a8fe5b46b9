//! A partner's request to join the team around a family, as its lead practitioner (or the
//! locality lead) reads and answers it: accept, recording the lawful basis of the share, or
//! decline with a reason the requester is told. Also marking a home-page notice read.

use super::family::{Pairs, when};
use super::{field, first_error, select_options, status_for};
use crate::AppState;
use crate::error::AppError;
use crate::extract::Path;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::limits;
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::sharing::{Article6, Article9, ShareInput, check_share};
use earlyhelp_storage::StorageError;
use earlyhelp_storage::asks::{self, JoinRequest};
use earlyhelp_storage::gate::{
    Ask, Authorised, FamilyId, JoinRequestId, Request, authorise, authorise_also_record,
    authorise_record,
};
use earlyhelp_storage::{cases, sharing};
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/join-requests/{id}", get(request_page))
        .route("/join-requests/{id}/accept", post(accept))
        .route("/join-requests/{id}/decline", post(decline))
        .route("/notices/{id}/read", post(mark_read))
}

#[derive(Template)]
#[template(path = "join_request.html")]
struct JoinRequestPage {
    layout: Layout,
    errors: Vec<FieldError>,
    request: JoinRequest,
    asked: String,
    /// "Accepted by ..., 3 Mar 2026 10:00: reason" once answered.
    answer: String,
    article6_options: Vec<SelectOption>,
    article9_options: Vec<SelectOption>,
    values: Vec<(String, String)>,
}

impl JoinRequestPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    /// What was typed, or for the share's purpose at first the requester's own reason.
    fn value(&self, name: &str) -> String {
        match (name, self.values.is_empty()) {
            ("purpose", true) => self.request.reason.clone(),
            _ => field(&self.values, name),
        }
    }
}

/// Through the gate to join request `id`: only its family's lead practitioner or the lead of
/// its locality; anyone else is refused (403) and the refusal audited under the family.
async fn open(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    action: Action,
    purpose: &str,
) -> Result<Authorised<JoinRequestId>, AppError> {
    let ask = Ask {
        id,
        action,
        purpose,
    };
    Ok(authorise_record(&state.db, &signed.who(), ask).await?)
}

async fn render(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let mut authorised = open(state, signed, id, Action::Read, "request to join the team").await?;
    let request = asks::join_request(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    authorised.tx.commit().await?;
    let answer = match (&request.decided_by, request.decided_micros) {
        (Some(by), Some(at)) => {
            let verb = if request.state == "accepted" {
                "Accepted"
            } else {
                "Declined"
            };
            let reason = request
                .decision_reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            format!("{verb} by {by}, {}{reason}", when(at))
        }
        _ => String::new(),
    };
    let page = JoinRequestPage {
        layout: Layout::for_user(signed, "/"),
        asked: when(request.asked_micros),
        answer,
        article6_options: select_options(
            None,
            Article6::ALL.iter().map(|a| (a.slug(), a.label())),
            &field(&values, "article6"),
        ),
        article9_options: select_options(
            Some("None: no special-category data is shared"),
            Article9::ALL.iter().map(|a| (a.slug(), a.label())),
            &field(&values, "article9"),
        ),
        request,
        values,
        errors,
    };
    Ok((status_for(&page.errors), Html(page.render()?)).into_response())
}

async fn request_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render(&state, &signed, id, vec![], vec![]).await
}

/// An answer the request's state refused ("already answered") shown on the page as a problem.
async fn refused(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    field: &'static str,
    message: String,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    render(
        state,
        signed,
        id,
        vec![FieldError::new(field, message)],
        pairs,
    )
    .await
}

async fn accept(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    crate::extract::Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let share = match check_share(&ShareInput {
        purpose: field(&pairs, "purpose"),
        article6: field(&pairs, "article6"),
        article9: field(&pairs, "article9"),
    }) {
        Ok(share) => share,
        Err(errors) => return render(&state, &signed, id, errors, pairs).await,
    };
    let by = signed.user.name.clone();
    let who = signed.who();
    let mut authorised = open(
        &state,
        &signed,
        id,
        Action::Update,
        "accept a request to join",
    )
    .await?;
    let request = match asks::answer(&mut authorised, true, "", &by).await {
        Ok(request) => request,
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            return refused(&state, &signed, id, "answer", message, pairs).await;
        }
        Err(other) => return Err(other.into()),
    };
    let Some(person) = asks::requester(&mut authorised).await? else {
        drop(authorised);
        let message = "The person who asked no longer has an active account: decline instead";
        return refused(&state, &signed, id, "answer", message.into(), pairs).await;
    };
    // Joining is a change to the family's record: a permit for it, in the same transaction.
    let ask = Ask {
        id: request.family_id,
        action: Action::Update,
        purpose: "add to the team around the family (request to join accepted)",
    };
    let (authorised, permit) =
        authorise_also_record::<FamilyId, _>(&state.db, authorised, &who, ask).await?;
    let (mut family, _) = authorised.swap(permit);
    match cases::add_team_member(&mut family, &person, &by).await {
        Ok(()) => {}
        Err(StorageError::Conflict(message)) => {
            drop(family);
            return refused(&state, &signed, id, "answer", message, pairs).await;
        }
        Err(other) => return Err(other.into()),
    }
    let shared_with = format!("{}, {}", person.name, person.organisation);
    sharing::record_share(&mut family, Some(person.user_id), &shared_with, &share, &by).await?;
    family.tx.commit().await?;
    Ok(Redirect::to(&format!("/families/{}#team", request.family_id)).into_response())
}

async fn decline(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    crate::extract::Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let reason = field(&pairs, "decline_reason");
    let error = if reason.trim().is_empty() {
        Some(FieldError::new(
            "decline_reason",
            "Say why you are declining: the person who asked is told",
        ))
    } else {
        limits::too_long("decline_reason", "The reason", &reason, limits::REASON)
    };
    if let Some(error) = error {
        return render(&state, &signed, id, vec![error], pairs).await;
    }
    let by = signed.user.name.clone();
    let mut authorised = open(
        &state,
        &signed,
        id,
        Action::Update,
        "decline a request to join",
    )
    .await?;
    match asks::answer(&mut authorised, false, reason.trim(), &by).await {
        Ok(_) => {
            authorised.tx.commit().await?;
            Ok(Redirect::to("/").into_response())
        }
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            refused(&state, &signed, id, "answer", message, pairs).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn mark_read(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    crate::extract::Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let subject = format!("notice:{id}");
    let request = Request {
        action: Action::Update,
        resource: Resource::OwnTasks,
        subject: &subject,
        purpose: "mark a notice read",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    asks::mark_read(&mut authorised, signed.user.actor.user_id, id).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/").into_response())
}
