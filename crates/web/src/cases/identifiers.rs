//! The consistent child identifier on the family page (a member's NHS number, or why it is
//! missing), decisions not to share information about a family, and the information
//! governance officer's list of those decisions across every locality.

use super::family::{Change, Pairs, render_family, update};
use super::field;
use crate::AppState;
use crate::error::AppError;
use crate::extract::{Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, Pagination, page_asked};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::limits::{LINE, REASON, too_long};
use earlyhelp_domain::nhs_number::check_nhs;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::gate::{Request, authorise_read};
use earlyhelp_storage::identifiers::{self, Decision, NewDecision};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/families/{id}/nhs-number", post(set_nhs_number))
        .route("/families/{id}/not-shared", post(record_not_shared))
        .route("/governance/not-shared", get(not_shared_list))
}

async fn set_nhs_number(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    crate::extract::Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let mut errors = Vec::new();
    let member = Uuid::parse_str(field(&pairs, "nhs_member").trim()).ok();
    if member.is_none() {
        errors.push(FieldError::new(
            "nhs_member",
            "Choose the family member whose NHS number this is",
        ));
    }
    let fields = ("nhs_number", "nhs_number_missing");
    let number = (field(&pairs, fields.0), field(&pairs, fields.1));
    let nhs = check_nhs(&number.0, &number.1, fields, "").map_err(|e| errors.push(e));
    let (Some(member), Ok(nhs)) = (member, nhs) else {
        return render_family(&state, &signed, id, errors, pairs).await;
    };
    let author = signed.user.name.clone();
    update(
        &state,
        &signed,
        id,
        "record an NHS number",
        Change::NhsNumber,
        async |a| identifiers::set_nhs_number(a, member, &nhs, &author).await,
    )
    .await
}

/// A decision as typed, or every problem with it by field. "Who decided" left blank is the
/// person recording it.
fn check_decision(
    pairs: &[(String, String)],
    recorder: &str,
) -> Result<NewDecision, Vec<FieldError>> {
    let text = |name: &str| field(pairs, name).trim().to_string();
    let decided_by = match text("decided_by") {
        blank if blank.is_empty() => recorder.to_string(),
        named => named,
    };
    let decision = NewDecision {
        information: text("information"),
        withheld_from: text("withheld_from"),
        reason: text("not_shared_reason"),
        decided_by,
    };
    let asks = [
        (
            "information",
            "Enter what information was not shared",
            &decision.information,
            LINE,
        ),
        (
            "withheld_from",
            "Enter the organisation it was not shared with",
            &decision.withheld_from,
            LINE,
        ),
        (
            "not_shared_reason",
            "Say why it was not shared",
            &decision.reason,
            REASON,
        ),
        (
            "decided_by",
            "Enter who decided",
            &decision.decided_by,
            LINE,
        ),
    ];
    let errors: Vec<FieldError> = asks
        .into_iter()
        .filter_map(|(name, ask, value, max)| {
            if value.is_empty() {
                Some(FieldError::new(name, ask))
            } else {
                too_long(name, "That answer", value, max)
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(decision)
    } else {
        Err(errors)
    }
}

async fn record_not_shared(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    crate::extract::Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let decision = match check_decision(&pairs, &signed.user.name) {
        Ok(decision) => decision,
        Err(errors) => return render_family(&state, &signed, id, errors, pairs).await,
    };
    let (user_id, name) = (signed.user.actor.user_id, signed.user.name.clone());
    update(
        &state,
        &signed,
        id,
        "record a decision not to share",
        Change::NotShared,
        async |a| {
            identifiers::record_not_shared(a, &decision, user_id, &name)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// Decisions on one page of the officer's list.
const PER_PAGE: usize = 50;

#[derive(Deserialize, Default)]
struct PageQuery {
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "governance_not_shared.html")]
struct NotSharedPage {
    layout: Layout,
    /// Each decision with when it was made, in words.
    decisions: Vec<(String, Decision)>,
    total: i64,
    pagination: Pagination,
}

/// Every decision not to share, in every locality, newest first: for the information
/// governance officer, through the gate as a records-governance list.
async fn not_shared_list(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let asked = page_asked(&query.page)?;
    let request = Request {
        action: Action::List,
        resource: Resource::RecordsGovernance,
        subject: "not_shared",
        purpose: "decisions not to share",
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let skip = (asked.max(1) - 1) * PER_PAGE;
    let (decisions, total) =
        identifiers::all(&mut authorised, PER_PAGE as i64, skip as i64).await?;
    authorised.tx.commit().await?;
    let pagination = Pagination::new(total as usize, asked, PER_PAGE, "Pages of decisions", |n| {
        format!("/governance/not-shared?page={n}")
    });
    let page = NotSharedPage {
        layout: Layout::for_user(&signed, "/governance/not-shared"),
        decisions: decisions
            .into_iter()
            .map(|d| (super::family::when(d.decided_micros), d))
            .collect(),
        total,
        pagination,
    };
    Ok(Html(page.render()?).into_response())
}
