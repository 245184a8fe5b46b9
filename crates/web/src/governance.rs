//! The information governance officer's pages: find a person, produce their subject access
//! request (a narrative page, a standalone HTML file, JSON), and place and lift legal holds
//! that stop the retention run. Every one goes through the gate as `RecordsGovernance`.

use crate::AppState;
use crate::dates::filters;
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, error_for};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::retention::{Schedule, Verdict};
use earlyhelp_storage::StorageError;
use earlyhelp_storage::gate::{
    Ask, Authorised, PersonRecord, Request, authorise, authorise_record,
};
use earlyhelp_storage::retention::{self, Decided, Hold, RecordRef};
use earlyhelp_storage::sar::{self, PersonHit, SubjectAccess};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/governance", get(search))
        .route("/governance/people/{id}", get(sar_page))
        .route("/governance/people/{id}/sar.html", get(sar_html))
        .route("/governance/people/{id}/sar.json", get(sar_json))
        .route("/governance/holds", get(holds_page).post(place_hold))
        .route(
            "/governance/holds/{id}/lift",
            get(confirm_lift).post(lift_hold),
        )
        .route("/governance/retention", get(retention_page))
}

pub use crate::dates::when;

/// A page with problems to fix answers 422.
fn status_for(errors: &[FieldError]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

pub(crate) async fn through_gate(
    state: &AppState,
    signed: &Signed,
    action: Action,
    subject: &str,
    purpose: &str,
) -> Result<Authorised, StorageError> {
    authorise(
        &state.db,
        &signed.who(),
        Request {
            action,
            resource: Resource::RecordsGovernance,
            subject,
            purpose,
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Finding a person

#[derive(Template)]
#[template(path = "governance_search.html")]
struct SearchPage {
    layout: Layout,
    name: String,
    /// The date of birth boxes as typed.
    date_of_birth: crate::dates::DateParts,
    searched: bool,
    errors: Vec<FieldError>,
    hits: Vec<PersonHit>,
}

impl SearchPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

const SEARCH_LIMIT: i64 = 50;

async fn search(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let name = crate::cases::field(&query, "name");
    let date_of_birth = crate::dates::parts(&query, "date_of_birth");
    let searched = !name.trim().is_empty() || date_of_birth != crate::dates::DateParts::default();
    let mut errors = Vec::new();
    if searched && name.trim().chars().count() < 2 {
        errors.push(FieldError::new(
            "name",
            "Enter at least 2 letters of the person's name",
        ));
    }
    let question =
        crate::dates::DateQuestion::new("date_of_birth", "Date of birth", crate::dates::Rule::Past);
    let dob = match crate::dates::read(
        &query,
        &question.optional(),
        earlyhelp_storage::cases::today(),
    ) {
        Ok(dob) => dob.map(earlyhelp_domain::cases::iso).unwrap_or_default(),
        Err(error) => {
            errors.push(error);
            String::new()
        }
    };
    let purpose = if searched && errors.is_empty() {
        "find a person for a subject access request"
    } else {
        "open subject access search"
    };
    let mut authorised = through_gate(&state, &signed, Action::List, "people", purpose).await?;
    let hits = if searched && errors.is_empty() {
        sar::find_people(&mut authorised, &name, &dob, SEARCH_LIMIT).await?
    } else {
        Vec::new()
    };
    authorised.tx.commit().await?;
    let page = SearchPage {
        layout: Layout::for_user(&signed, "/governance"),
        name,
        date_of_birth,
        searched: searched && errors.is_empty(),
        errors,
        hits,
    };
    Ok((status_for(&page.errors), Html(page.render()?)).into_response())
}

// ---------------------------------------------------------------------------------------------
// The subject access request

/// Produces person `id`'s subject access request through the gate; the audit event names the
/// family record, so it shows among those who have looked at it.
async fn produce(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    how: &str,
) -> Result<SubjectAccess, AppError> {
    let purpose = format!("subject access request for person:{id} ({how})");
    let ask = Ask {
        id,
        action: Action::Read,
        purpose: &purpose,
    };
    let authorised: Authorised<PersonRecord> =
        authorise_record(&state.db, &signed.who(), ask).await?;
    let found = sar::subject_access(authorised).await?;
    found.ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "governance_sar.html")]
struct SarPage {
    layout: Layout,
    sar: SubjectAccess,
}

impl SarPage {
    fn when(&self, micros: &i64) -> String {
        when(*micros)
    }
}

/// The subject access request as a file to send: no menu, its own styles, printable.
#[derive(Template)]
#[template(path = "governance_sar_document.html")]
pub struct SarDocument<'a> {
    pub sar: &'a SubjectAccess,
}

impl SarDocument<'_> {
    fn when(&self, micros: &i64) -> String {
        when(*micros)
    }
}

/// The standalone HTML file of a subject access request (also written by `earlyhelp sar`).
pub fn sar_document(sar: &SubjectAccess) -> Result<String, askama::Error> {
    SarDocument { sar }.render()
}

async fn sar_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Html<String>, AppError> {
    let sar = produce(&state, &signed, id, "page").await?;
    let page = SarPage {
        layout: Layout::for_user(&signed, "/governance"),
        sar,
    };
    Ok(Html(page.render()?))
}

fn attachment(body: String, content_type: &'static str, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

async fn sar_html(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let sar = produce(&state, &signed, id, "HTML file").await?;
    Ok(attachment(
        sar_document(&sar)?,
        "text/html; charset=utf-8",
        format!("subject-access-{id}.html"),
    ))
}

async fn sar_json(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let sar = produce(&state, &signed, id, "JSON file").await?;
    let body = serde_json::to_string_pretty(&sar).map_err(anyhow::Error::from)?;
    Ok(attachment(
        body,
        "application/json",
        format!("subject-access-{id}.json"),
    ))
}

// ---------------------------------------------------------------------------------------------
// Legal holds

struct HoldLine {
    hold: Hold,
    placed: String,
    lifted: String,
}

#[derive(Template)]
#[template(path = "governance_holds.html")]
struct HoldsPage {
    layout: Layout,
    /// The success banner after a hold is lifted; empty otherwise.
    done: &'static str,
    holds: Vec<HoldLine>,
    errors: Vec<FieldError>,
    record: String,
    reason: String,
}

impl HoldsPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn render_holds(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
    record: String,
    reason: String,
) -> Result<Response, AppError> {
    render_holds_with(state, signed, errors, record, reason, "").await
}

async fn render_holds_with(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
    record: String,
    reason: String,
    done: &'static str,
) -> Result<Response, AppError> {
    let mut authorised = through_gate(
        state,
        signed,
        Action::List,
        "legal_holds",
        "review legal holds",
    )
    .await?;
    let holds = retention::holds(&mut authorised).await?;
    authorised.tx.commit().await?;
    let page = HoldsPage {
        layout: Layout::for_user(signed, "/governance"),
        done,
        holds: holds
            .into_iter()
            .map(|hold| HoldLine {
                placed: when(hold.placed_micros),
                lifted: hold.lifted_micros.map(when).unwrap_or_default(),
                hold,
            })
            .collect(),
        errors,
        record,
        reason,
    };
    Ok((status_for(&page.errors), Html(page.render()?)).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn holds_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let done = match query.done.as_str() {
        "lifted" => {
            "The legal hold is lifted. The retention schedule can now anonymise the record when it is due."
        }
        _ => "",
    };
    render_holds_with(&state, &signed, vec![], String::new(), String::new(), done).await
}

#[derive(Debug, Default, Deserialize)]
struct HoldForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    record: String,
    #[serde(default)]
    reason: String,
}

/// Who placed or lifted a hold, as the list shows it.
fn officer(signed: &Signed) -> String {
    format!("{} ({})", signed.user.name, signed.user.actor.email)
}

async fn place_hold(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<HoldForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let record = RecordRef::parse(&form.record);
    let mut errors = Vec::new();
    if record.is_none() {
        errors.push(FieldError::new(
            "record",
            "Enter the record like family:ID or request:ID",
        ));
    }
    if form.reason.trim().is_empty() {
        errors.push(FieldError::new(
            "reason",
            "Say why the record must be kept, for example the court case or complaint",
        ));
    }
    let reason = &form.reason;
    errors.extend(earlyhelp_domain::limits::too_long(
        "reason",
        "The reason",
        reason,
        earlyhelp_domain::limits::REASON,
    ));
    let Some(record) = record.filter(|_| errors.is_empty()) else {
        return render_holds(&state, &signed, errors, form.record, form.reason).await;
    };
    let subject = record.to_string();
    let mut authorised = through_gate(
        &state,
        &signed,
        Action::Create,
        &subject,
        "place a legal hold",
    )
    .await?;
    match retention::place_hold(
        &mut authorised,
        record,
        form.reason.trim(),
        &officer(&signed),
    )
    .await
    {
        Ok(_) => {
            authorised.tx.commit().await?;
            Ok(Redirect::to("/governance/holds").into_response())
        }
        Err(StorageError::NotFound) => {
            // Give back the write transaction (and its audit event) before reading the list.
            drop(authorised);
            let error = FieldError::new("record", format!("There is no record {subject}"));
            render_holds(&state, &signed, vec![error], form.record, form.reason).await
        }
        Err(other) => Err(other.into()),
    }
}

/// Lifting a hold is a serious action: a confirmation page says what follows and asks why.
#[derive(Template)]
#[template(path = "governance_lift.html")]
struct LiftPage {
    layout: Layout,
    errors: Vec<FieldError>,
    hold: Hold,
    placed: String,
    reason: String,
}

impl LiftPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn render_lift(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
    reason: String,
) -> Result<Response, AppError> {
    let subject = format!("legal_hold:{id}");
    let mut authorised = through_gate(
        state,
        signed,
        Action::Read,
        &subject,
        "lift a legal hold (confirmation page)",
    )
    .await?;
    let hold = retention::holds(&mut authorised)
        .await?
        .into_iter()
        .find(|h| h.id == id)
        .ok_or(AppError::NotFound)?;
    authorised.tx.commit().await?;
    let page = LiftPage {
        layout: Layout::for_user(signed, "/governance"),
        placed: when(hold.placed_micros),
        hold,
        errors,
        reason,
    };
    Ok((status_for(&page.errors), Html(page.render()?)).into_response())
}

async fn confirm_lift(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_lift(&state, &signed, id, vec![], String::new()).await
}

async fn lift_hold(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<HoldForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let reason = form.reason.trim();
    let error = if reason.is_empty() {
        Some(FieldError::new(
            "reason",
            "Say why the hold can be lifted, for example the case is settled",
        ))
    } else {
        earlyhelp_domain::limits::too_long(
            "reason",
            "The reason",
            reason,
            earlyhelp_domain::limits::REASON,
        )
    };
    if let Some(error) = error {
        return render_lift(&state, &signed, id, vec![error], form.reason).await;
    }
    let subject = format!("legal_hold:{id}");
    // The reason is kept with the hold, not in the audit log, which outlives it.
    let purpose = "lift a legal hold";
    let mut authorised = through_gate(&state, &signed, Action::Update, &subject, purpose).await?;
    match retention::lift_hold(&mut authorised, id, reason, &officer(&signed)).await {
        Ok(_) => {
            authorised.tx.commit().await?;
            Ok(Redirect::to("/governance/holds?done=lifted").into_response())
        }
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            let error = FieldError::new("reason", message);
            render_lift(&state, &signed, id, vec![error], form.reason).await
        }
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// What the retention schedule would do today

#[derive(Template)]
#[template(path = "governance_retention.html")]
struct RetentionPage {
    layout: Layout,
    schedule: String,
    due: Vec<Decided>,
    held: Vec<Decided>,
    kept: usize,
    live: usize,
    next_due: String,
}

/// A dry run with the default schedule: applying it is the operator's, at the command line.
async fn retention_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    let schedule = Schedule::default();
    let mut authorised = through_gate(
        &state,
        &signed,
        Action::List,
        "retention",
        "retention dry run",
    )
    .await?;
    let today = time::OffsetDateTime::now_utc().date();
    let review = retention::review(&mut authorised, &schedule, today).await?;
    authorised.tx.commit().await?;
    let owned = |wanted: fn(&Verdict) -> bool| -> Vec<Decided> {
        review.matching(wanted).into_iter().copied().collect()
    };
    let page = RetentionPage {
        layout: Layout::for_user(&signed, "/governance"),
        schedule: schedule.describe(),
        due: owned(|v| matches!(v, Verdict::Anonymise(_))),
        held: owned(|v| *v == Verdict::Held),
        kept: review
            .matching(|v| matches!(v, Verdict::KeepUntil(_)))
            .len(),
        live: review.matching(|v| *v == Verdict::Live).len(),
        next_due: review
            .next_due()
            .map(earlyhelp_domain::cases::iso)
            .unwrap_or_default(),
    };
    Ok(Html(page.render()?))
}
