//! The Early Help assessment, break-glass access to a family one is not involved with, and the
//! information governance officer's review of every break-glass access.

use super::family::{Change, Pairs, known_to_with, open_family, update, when};
use super::{field, first_error};
use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::cases::Reason;
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::sharing::{
    AssessmentInput, BreakGlassVerdict, check_assessment, check_break_glass_reason,
    check_break_glass_review,
};
use earlyhelp_storage::cases;
use earlyhelp_storage::gate::{Authorised, BreakGlassOn, Request, authorise};
use earlyhelp_storage::sharing::{self, Assessment};
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .long_form(
            "/families/{id}/assessment",
            get(assessment_page).post(save_assessment),
        )
        .route(
            "/families/{id}/assessment/{assessment}",
            get(finalised_page),
        )
        .route("/families/{id}/break-glass", post(break_glass))
        .route("/audit/break-glass", get(review_queue))
        .route("/audit/break-glass/{id}", post(review))
}

// ---------------------------------------------------------------------------------------------
// The assessment

#[derive(Template)]
#[template(path = "cases_assessment.html")]
struct AssessmentPage {
    layout: Layout,
    errors: Vec<FieldError>,
    family_id: Uuid,
    family_names: String,
    /// Editable (the draft, or a new one) or read-only (a finalised assessment).
    editable: bool,
    input: AssessmentInput,
    needs: Vec<SelectOption>,
    /// Who started it and when; who finalised it and when.
    started: String,
    finalised: String,
}

impl AssessmentPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }
}

pub(super) fn input_of(assessment: &Assessment) -> AssessmentInput {
    AssessmentInput {
        family_story: assessment.family_story.clone(),
        child_voice: assessment.child_voice.clone(),
        strengths: assessment.strengths.clone(),
        worries: assessment.worries.clone(),
        needs: assessment
            .needs
            .split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect(),
        analysis: assessment.analysis.clone(),
    }
}

/// Renders the assessment `which` names (the draft when `None`), with `typed` over it if the
/// practitioner's last attempt had errors.
async fn render_assessment(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    which: Option<Uuid>,
    typed: Option<AssessmentInput>,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let mut authorised =
        open_family(state, signed, id, Action::Read, "Early Help assessment").await?;
    let record = cases::family(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    authorised.tx.commit().await?;
    let shown = match which {
        Some(wanted) => Some(
            record
                .assessments
                .iter()
                .find(|a| a.id == wanted && !a.is_draft())
                .ok_or(AppError::NotFound)?,
        ),
        None => record.assessments.iter().find(|a| a.is_draft()),
    };
    let input = typed.or_else(|| shown.map(input_of)).unwrap_or_default();
    let needs = Reason::ALL
        .iter()
        .map(|r| {
            SelectOption::new(
                r.slug(),
                r.label(),
                input.needs.iter().any(|n| n == r.slug()),
            )
        })
        .collect();
    let page = AssessmentPage {
        layout: Layout::for_user(signed, "/families"),
        family_id: id,
        family_names: record
            .members
            .iter()
            .map(|m| format!("{} {}", m.given_name, m.family_name))
            .collect::<Vec<_>>()
            .join(", "),
        editable: which.is_none(),
        needs,
        started: shown
            .map(|a| format!("{}, {}", when(a.started_micros), a.started_by))
            .unwrap_or_default(),
        finalised: shown
            .and_then(|a| {
                Some(format!(
                    "{}, {}",
                    when(a.finalised_micros?),
                    a.finalised_by.as_deref()?
                ))
            })
            .unwrap_or_default(),
        input,
        errors,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn assessment_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_assessment(&state, &signed, id, None, None, vec![]).await
}

async fn finalised_page(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, assessment)): Path<(Uuid, Uuid)>,
) -> Result<Response, AppError> {
    render_assessment(&state, &signed, id, Some(assessment), None, vec![]).await
}

async fn save_assessment(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let input = AssessmentInput {
        family_story: field(&pairs, "family_story"),
        child_voice: field(&pairs, "child_voice"),
        strengths: field(&pairs, "strengths"),
        worries: field(&pairs, "worries"),
        needs: pairs
            .iter()
            .filter(|(k, _)| k == "needs")
            .map(|(_, v)| v.clone())
            .collect(),
        analysis: field(&pairs, "analysis"),
    };
    let finalise = field(&pairs, "intent") == "finalise";
    let errors = check_assessment(&input, finalise);
    if !errors.is_empty() {
        return render_assessment(&state, &signed, id, None, Some(input), errors).await;
    }
    let author = signed.user.name.clone();
    // Finalising is a serious action: the draft is saved, then a confirmation page asks why.
    let saved = update(
        &state,
        &signed,
        id,
        "save the Early Help assessment",
        Change::Assessment,
        async |a| {
            sharing::save_assessment(a, &input, false, &author)
                .await
                .map(|_| ())
        },
    )
    .await?;
    if finalise && saved.status().is_redirection() {
        return Ok(Redirect::to(&format!("/families/{id}/finalise-assessment")).into_response());
    }
    Ok(saved)
}

// ---------------------------------------------------------------------------------------------
// Break-glass access

async fn break_glass(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let reason = match check_break_glass_reason(&field(&pairs, "break_glass_reason")) {
        Ok(reason) => reason,
        Err(error) => {
            let error = FieldError::new("break_glass_reason", error.message);
            return known_to_with(&state, &signed, id, None, vec![error], pairs).await;
        }
    };
    let purpose = format!("break glass: {reason}");
    let mut authorised: Authorised<BreakGlassOn> =
        super::open_record(&state, &signed, id, Action::Create, &purpose).await?;
    sharing::break_glass(
        &mut authorised,
        signed.user.actor.user_id,
        &signed.user.name,
        &reason,
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/families/{id}")).into_response())
}

struct GrantLine {
    id: Uuid,
    family_id: Uuid,
    who: String,
    reason: String,
    granted: String,
    expires: String,
    /// What they did under it: the audit log's events for that person and family.
    accesses: Vec<String>,
    reviewed: Option<String>,
}

#[derive(Template)]
#[template(path = "audit_break_glass.html")]
struct ReviewPage {
    layout: Layout,
    errors: Vec<FieldError>,
    grants: Vec<GrantLine>,
    /// The grant whose review was refused, and the review as typed: (verdict, note).
    typed: Option<(Uuid, String, String)>,
}

impl ReviewPage {
    /// The problem with `field` ("verdict" or "note") of the review of `grant`, if it was refused.
    fn error_for(&self, grant: &Uuid, field: &str) -> Option<&str> {
        match &self.typed {
            Some((id, _, _)) if id == grant => first_error(&self.errors, field),
            _ => None,
        }
    }

    fn typed_for(&self, grant: &Uuid) -> &str {
        match &self.typed {
            Some((id, _, note)) if id == grant => note,
            _ => "",
        }
    }

    fn verdicts(&self, grant: &Uuid) -> Vec<SelectOption> {
        let chosen = match &self.typed {
            Some((id, verdict, _)) if id == grant => verdict.as_str(),
            _ => "",
        };
        BreakGlassVerdict::ALL
            .iter()
            .map(|v| SelectOption::new(v.slug(), v.label(), v.slug() == chosen))
            .collect()
    }
}

fn review_request(action: Action, purpose: &str) -> Request<'_> {
    Request {
        action,
        resource: Resource::BreakGlass,
        subject: "break_glass",
        purpose,
    }
}

async fn render_review(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
    typed: Option<(Uuid, String, String)>,
) -> Result<Response, AppError> {
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        review_request(Action::List, "break-glass review"),
    )
    .await?;
    let grants = sharing::break_glass_grants(&mut authorised, 200).await?;
    let mut lines = Vec::with_capacity(grants.len());
    for grant in grants {
        let accesses = sharing::accesses_under(&mut authorised, &grant)
            .await?
            .into_iter()
            .map(|e| {
                format!(
                    "{}: {} {} ({})",
                    when(e.at_micros),
                    e.action,
                    e.purpose,
                    e.outcome
                )
            })
            .collect();
        lines.push(GrantLine {
            id: grant.id,
            family_id: grant.family_id,
            who: grant.user_name,
            reason: grant.reason,
            granted: when(grant.granted_micros),
            expires: when(grant.expires_micros),
            accesses,
            reviewed: match (grant.reviewed_by, grant.review_note) {
                (Some(by), Some(note)) => {
                    let verdict = grant
                        .review_verdict
                        .as_deref()
                        .and_then(BreakGlassVerdict::from_slug)
                        .map(|v| format!("{}. ", v.label()))
                        .unwrap_or_default();
                    Some(format!("{verdict}{by}: {note}"))
                }
                _ => None,
            },
        });
    }
    authorised.tx.commit().await?;
    let page = ReviewPage {
        layout: Layout::for_user(signed, "/audit"),
        errors,
        grants: lines,
        typed,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn review_queue(State(state): State<AppState>, signed: Signed) -> Result<Response, AppError> {
    render_review(&state, &signed, vec![], None).await
}

async fn review(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let (verdict, note) = (field(&pairs, "verdict"), field(&pairs, "note"));
    let (checked, why) = match check_break_glass_review(&verdict, &note) {
        Ok(checked) => checked,
        Err(errors) => {
            return render_review(&state, &signed, errors, Some((id, verdict, note))).await;
        }
    };
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        review_request(Action::Update, "review a break-glass access"),
    )
    .await?;
    match sharing::review_break_glass(&mut authorised, id, &signed.user.name, checked, &why).await {
        Ok(()) => {
            authorised.tx.commit().await?;
            Ok(Redirect::to("/audit/break-glass").into_response())
        }
        Err(earlyhelp_storage::StorageError::Conflict(message)) => {
            drop(authorised);
            let error = FieldError::new("note", message);
            render_review(&state, &signed, vec![error], Some((id, verdict, note))).await
        }
        Err(other) => Err(other.into()),
    }
}
