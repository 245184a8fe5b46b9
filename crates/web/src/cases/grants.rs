//! Community grants: the public application form (no sign-in), the assessors' list and each
//! application's page, where assessors declare conflicts and score against the programme's
//! criteria, and the grants officer decides, pays tranches, records monitoring returns and
//! lists the funded project in the directory. Every read and change goes through the gate.

use super::family::{Pairs, when};
use super::{field, first_error, hide_denied, status_for};
use crate::AppState;
use crate::dates::{self, DateQuestion, Rule, filters};

// Asked only of an award: the decision's own check asks for them then.
const PLANNED_START: DateQuestion =
    DateQuestion::new("planned_start", "Date the project starts", Rule::Any).optional();
const PLANNED_END: DateQuestion =
    DateQuestion::new("planned_end", "Date the project ends", Rule::Any).optional();
const PERIOD_END: DateQuestion = DateQuestion::new("period_end", "End of the period", Rule::Any);
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::throttle::{ClientIp, Throttle};
use crate::views::{Layout, LocalityNames, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, http::StatusCode};
use axum_extra::extract::cookie::CookieJar;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::grants::{
    self, ApplicationInput, ApplicationRules, ApplicationState, AreaType, DecisionInput,
    OrganisationType, ReturnInput, check_application, check_decision, check_return, check_scores,
};
use earlyhelp_domain::money::pounds;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::StorageError;
use earlyhelp_storage::gate::{
    Ask, Authorised, Guarded, Request, authorise_read, authorise_record,
};
use earlyhelp_storage::grants::{self as store, ApplicationFile, ApplicationId, AwardOf};
use earlyhelp_storage::secrets::random_token;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/grants/apply", get(open_programmes))
        .long_form(
            "/grants/apply/{programme}",
            get(application_form).post(apply),
        )
        .route("/grants/applications", get(applications_page))
        .route("/grants/applications/{id}", get(application_page))
        .route("/grants/applications/{id}/conflict", post(declare_conflict))
        .route("/grants/applications/{id}/score", post(score))
        .route("/grants/applications/{id}/decide", post(decide))
        .route("/grants/applications/{id}/tranches/pay", post(pay_tranche))
        .route("/grants/applications/{id}/returns", post(add_return))
        .route("/grants/applications/{id}/directory", post(to_directory))
}

const APPLY_COOKIE: &str = "eh_grants";

fn localities_of(pairs: Vec<(String, String)>, chosen: &str) -> Vec<SelectOption> {
    std::iter::once(SelectOption::new(
        "",
        "Choose a locality",
        chosen.is_empty(),
    ))
    .chain(
        pairs
            .into_iter()
            .map(|(slug, name)| SelectOption::new(slug.clone(), name, slug == chosen)),
    )
    .collect()
}

async fn localities(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    Ok(earlyhelp_storage::accounts::list_localities(&state.db)
        .await?
        .into_iter()
        .map(|l| (l.slug, l.name))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Applying (public)

#[derive(Template)]
#[template(path = "grants_open.html")]
struct OpenPage {
    layout: Layout,
    /// (id, name, funder, largest grant, closes on, who may apply).
    programmes: Vec<(Uuid, String, String, String, String, String)>,
}

async fn open_programmes(State(state): State<AppState>) -> Result<Response, AppError> {
    let today = earlyhelp_storage::cases::today();
    let programmes = store::open_programmes(&state.db, today).await?;
    let page = OpenPage {
        layout: Layout::anonymous(String::new()),
        programmes: programmes
            .into_iter()
            .map(|p| {
                let cap = pounds(p.cap_pence);
                (p.id, p.name, p.funder, cap, p.closes_on, p.eligibility)
            })
            .collect(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "grants_apply.html")]
struct ApplyPage {
    layout: Layout,
    errors: Vec<FieldError>,
    programme_id: Uuid,
    programme: String,
    cap: String,
    eligibility: String,
    criteria: Vec<String>,
    kinds: Vec<SelectOption>,
    area_types: Vec<SelectOption>,
    localities: Vec<SelectOption>,
    input: ApplicationInput,
    /// The reference, once sent.
    sent: Option<String>,
}

impl ApplyPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }
}

/// The programme asked for, if it is a community grants programme open today.
async fn open_programme(
    state: &AppState,
    id: Uuid,
) -> Result<(earlyhelp_storage::payments::ProgrammeRow, Vec<String>), AppError> {
    let today = earlyhelp_storage::cases::today();
    let open = store::open_programmes(&state.db, today).await?;
    let programme = open
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(AppError::NotFound)?;
    let mut tx = state.db.begin_read().await?;
    let criteria = store::programme_with_criteria(&mut tx, id)
        .await?
        .map(|(_, c)| c)
        .unwrap_or_default();
    tx.commit().await?;
    Ok((programme, criteria))
}

async fn render_apply(
    state: &AppState,
    token: String,
    id: Uuid,
    input: ApplicationInput,
    errors: Vec<FieldError>,
    sent: Option<String>,
) -> Result<ApplyPage, AppError> {
    let (programme, criteria) = open_programme(state, id).await?;
    Ok(ApplyPage {
        layout: Layout::anonymous(token),
        errors,
        programme_id: id,
        programme: programme.name,
        cap: pounds(programme.cap_pence),
        eligibility: programme.eligibility,
        criteria,
        kinds: OrganisationType::ALL
            .iter()
            .map(|k| SelectOption::new(k.slug(), k.label(), input.organisation_type == k.slug()))
            .collect(),
        area_types: AreaType::ALL
            .iter()
            .map(|t| SelectOption::new(t.slug(), t.label(), input.area_type == t.slug()))
            .collect(),
        localities: localities_of(localities(state).await?, &input.locality),
        input,
        sent,
    })
}

fn application_from(pairs: &[(String, String)]) -> ApplicationInput {
    let get = |name: &str| field(pairs, name);
    ApplicationInput {
        organisation_type: get("organisation_type"),
        organisation_name: get("organisation_name"),
        charity_number: get("charity_number"),
        company_number: get("company_number"),
        constitution: get("constitution"),
        bank_account: get("bank_account"),
        contact_name: get("contact_name"),
        contact_email: get("contact_email"),
        locality: get("locality"),
        area_type: get("area_type"),
        area: get("area"),
        title: get("title"),
        activity: get("activity"),
        families: get("families"),
        amount: get("amount"),
        charter: get("charter"),
    }
}

async fn application_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let token = jar
        .get(APPLY_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_else(random_token);
    let page = render_apply(&state, token.clone(), id, Default::default(), vec![], None).await?;
    let jar = jar.add(crate::session::form_token_cookie(
        APPLY_COOKIE,
        "/grants/apply",
        token,
        state.config.secure_cookies,
    ));
    Ok((jar, Html(page.render()?)).into_response())
}

/// Checks an application to open programme `id` and stores it: its reference, or every
/// problem by field. Shared with the API; counted against the address's hourly limit only once
/// it would be stored, so a form sent back to correct costs nothing.
pub(super) async fn submit_application(
    state: &AppState,
    throttle: &Throttle,
    client: std::net::IpAddr,
    id: Uuid,
    input: &ApplicationInput,
) -> Result<Result<String, Vec<FieldError>>, AppError> {
    let (programme, _) = open_programme(state, id).await?;
    let slugs: Vec<String> = localities(state).await?.into_iter().map(|l| l.0).collect();
    let rules = ApplicationRules {
        cap_pence: programme.cap_pence,
        localities: &slugs,
    };
    let checked = match check_application(input, &rules) {
        Ok(checked) => checked,
        Err(errors) => return Ok(Err(errors)),
    };
    throttle.grant_application(client)?;
    let reference = store::submit(&state.db, &client.to_string(), &programme, &checked).await?;
    Ok(Ok(reference))
}

async fn apply(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<Throttle>>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    let token = crate::session::check_form_token(&jar, APPLY_COOKIE, &field(&pairs, "csrf_token"))?;
    let input = application_from(&pairs);
    match submit_application(&state, &throttle, client, id, &input).await? {
        Ok(reference) => {
            let page = render_apply(&state, String::new(), id, input, vec![], Some(reference));
            Ok(Html(page.await?.render()?).into_response())
        }
        Err(errors) => {
            let page = render_apply(&state, token, id, input, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The assessors' list

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    programme: String,
    #[serde(default)]
    state: String,
}

/// An application as a line of the list.
pub struct Line {
    pub row: store::ApplicationLine,
    pub locality: String,
    pub amount: String,
    pub state: &'static str,
    pub mean: String,
}

#[derive(Template)]
#[template(path = "grants_applications.html")]
struct ListPage {
    layout: Layout,
    lines: Vec<Line>,
    programmes: Vec<SelectOption>,
    states: Vec<SelectOption>,
    min_assessors: usize,
}

async fn applications_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::GrantApplications,
        subject: "grant_applications",
        purpose: "community grant applications",
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let programme = Uuid::parse_str(query.programme.trim()).ok();
    let rows =
        store::applications(&mut authorised.tx, programme, signed.user.actor.user_id).await?;
    let programmes = earlyhelp_storage::payments::programmes(&mut authorised.tx).await?;
    authorised.tx.commit().await?;
    let localities = LocalityNames::load(&state.db).await?;
    let wanted = ApplicationState::from_slug(&query.state);
    let page = ListPage {
        layout: Layout::for_user(&signed, "/grants/applications"),
        lines: rows
            .into_iter()
            .filter(|r| wanted.is_none_or(|w| r.state == w.slug()))
            .map(|row| Line {
                locality: localities.name(&row.locality_slug),
                amount: pounds(row.award_pence.unwrap_or(row.amount_pence)),
                state: ApplicationState::from_slug(&row.state).map_or("", ApplicationState::label),
                mean: mean_of(row.score_sum, row.assessors),
                row,
            })
            .collect(),
        programmes: std::iter::once(SelectOption::new(
            "",
            "Every programme",
            programme.is_none(),
        ))
        .chain(
            programmes
                .into_iter()
                .filter(|p| {
                    p.kind == earlyhelp_domain::money::ProgrammeKind::CommunityGrants.slug()
                })
                .map(|p| SelectOption::new(p.id.to_string(), p.name, programme == Some(p.id))),
        )
        .collect(),
        states: std::iter::once(SelectOption::new("", "Any", wanted.is_none()))
            .chain(
                ApplicationState::ALL
                    .iter()
                    .map(|s| SelectOption::new(s.slug(), s.label(), wanted == Some(*s))),
            )
            .collect(),
        min_assessors: grants::MIN_ASSESSORS,
    };
    Ok(Html(page.render()?).into_response())
}

/// The mean of assessors' totals from the sum of every score: "13.5", or "–" before any.
fn mean_of(sum: i64, assessors: i64) -> String {
    if assessors == 0 {
        return "–".into();
    }
    grants::tenths((sum * 10 + assessors / 2) / assessors)
}

// ---------------------------------------------------------------------------------------------
// One application

/// Through the gate to one application, as `R` (to assess, or to decide): a conflicted person
/// is told so (403); anyone else refused, or a missing application, is 404.
async fn open_application<R: Guarded>(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    action: Action,
    purpose: &str,
) -> Result<Authorised<R>, AppError> {
    let ask = Ask {
        id,
        action,
        purpose,
    };
    authorise_record(&state.db, &signed.who(), ask)
        .await
        .map_err(refused)
}

/// A refusal at the gate: 403 for a declared conflict (the person knows of it), else as if
/// there were no such application.
pub(super) fn refused(error: StorageError) -> AppError {
    match error {
        StorageError::Denied(reason) if reason == grants::CONFLICTED => AppError::Forbidden,
        other => hide_denied(other),
    }
}

/// One assessor's scores as shown: their name, each criterion's score, total and comment.
pub struct Scored {
    pub name: String,
    pub scores: Vec<i64>,
    pub total: i64,
    pub comment: String,
}

#[derive(Template)]
#[template(path = "grants_application.html")]
struct ApplicationPage {
    layout: Layout,
    locality: String,
    errors: Vec<FieldError>,
    file: ApplicationFile,
    kind: &'static str,
    state: &'static str,
    amount: String,
    award: String,
    submitted: String,
    /// Others' scores are shown once this person has scored (so no one anchors on them), and
    /// always to the grants officer who decides.
    shown_scores: Vec<Scored>,
    assessors: usize,
    mean: String,
    my_scores: Vec<String>,
    has_scored: bool,
    decides: bool,
    undecided: bool,
    /// (number, amount, due, paid on).
    tranches: Vec<(i64, String, String, Option<String>)>,
    today: String,
    values: Vec<(String, String)>,
    min_assessors: usize,
}

impl ApplicationPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

async fn render_application(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let mut authorised: Authorised<ApplicationId> = open_application(
        state,
        signed,
        id,
        Action::Read,
        "community grant application",
    )
    .await?;
    let file = store::application(&mut authorised).await?;
    authorised.tx.commit().await?;
    let locality = LocalityNames::load(&state.db)
        .await?
        .name(&file.application.locality_slug);
    let me = signed.user.actor.user_id;
    let decides = signed.may(earlyhelp_domain::roles::Permission::ManagePayments);
    // Scores come ordered by assessor: one entry each, in the order they scored.
    let mut by_assessor: Vec<(Uuid, Scored)> = Vec::new();
    for s in &file.scores {
        match by_assessor.last_mut() {
            Some((id, last)) if *id == s.assessor_id => {
                last.scores.push(s.score);
                last.total += s.score;
            }
            _ => by_assessor.push((
                s.assessor_id,
                Scored {
                    name: s.assessor_name.clone(),
                    scores: vec![s.score],
                    total: s.score,
                    comment: s.comment.clone(),
                },
            )),
        }
    }
    let by_assessor: Vec<Scored> = by_assessor.into_iter().map(|(_, s)| s).collect();
    let mine: Vec<&store::ScoreRow> = file.scores.iter().filter(|s| s.assessor_id == me).collect();
    let has_scored = !mine.is_empty();
    let totals: Vec<i64> = by_assessor.iter().map(|s| s.total).collect();
    let undecided = file.application.state == ApplicationState::Submitted.slug();
    let page = ApplicationPage {
        layout: Layout::for_user(signed, "/grants/applications"),
        locality,
        kind: OrganisationType::from_slug(&file.application.organisation_type)
            .map_or("", OrganisationType::label),
        state: ApplicationState::from_slug(&file.application.state)
            .map_or("", ApplicationState::label),
        amount: pounds(file.application.amount_pence),
        award: file.application.award_pence.map(pounds).unwrap_or_default(),
        submitted: when(file.application.submitted_micros),
        assessors: by_assessor.len(),
        mean: grants::mean_total(&totals)
            .map(grants::tenths)
            .unwrap_or_else(|| "–".into()),
        shown_scores: if has_scored || decides {
            by_assessor
        } else {
            Vec::new()
        },
        my_scores: (0..file.criteria.len())
            .map(|i| {
                let typed = field(&values, &format!("score_{i}"));
                if typed.is_empty() {
                    mine.iter()
                        .find(|s| s.position == i as i64)
                        .map(|s| s.score.to_string())
                        .unwrap_or_default()
                } else {
                    typed
                }
            })
            .collect(),
        has_scored,
        decides,
        undecided,
        tranches: file
            .tranches
            .iter()
            .map(|t| {
                (
                    t.number,
                    pounds(t.amount_pence),
                    t.due_on.clone(),
                    t.paid_on.clone(),
                )
            })
            .collect(),
        today: earlyhelp_domain::cases::iso(earlyhelp_storage::cases::today()),
        min_assessors: grants::MIN_ASSESSORS,
        file,
        errors,
        values,
    };
    Ok((status_for(&page.errors), Html(page.render()?)).into_response())
}

async fn application_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_application(&state, &signed, id, vec![], vec![]).await
}

/// A change to an application under permit `R`, committed if `work` succeeds; every problem by
/// field otherwise (a budget that no longer covers an award is one, on `amount`), with nothing
/// changed. A step its state does not allow is 409.
async fn in_application<R, F>(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    purpose: &str,
    work: F,
) -> Result<Result<(), Vec<FieldError>>, AppError>
where
    R: Guarded,
    F: AsyncFnOnce(&mut Authorised<R>) -> Result<Result<(), Vec<FieldError>>, StorageError>,
{
    let mut authorised: Authorised<R> =
        open_application(state, signed, id, Action::Update, purpose).await?;
    match work(&mut authorised).await {
        Ok(Ok(())) => {
            authorised.tx.commit().await?;
            Ok(Ok(()))
        }
        Ok(Err(errors)) => Ok(Err(errors)),
        Err(StorageError::Conflict(message)) => Ok(Err(vec![FieldError::new("amount", message)])),
        Err(other) => Err(other.into()),
    }
}

/// A form's answer: back to the application once changed, or the page again with the problems
/// (422) and what was typed.
async fn answer(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    pairs: Vec<(String, String)>,
    outcome: Result<(), Vec<FieldError>>,
) -> Result<Response, AppError> {
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/grants/applications/{id}")).into_response()),
        Err(errors) => render_application(state, signed, id, errors, pairs).await,
    }
}

/// Records the caller's scores, one per criterion (1 to 5), and a comment. Shared with the API.
pub(super) async fn record_scores(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    raw: &[String],
    comment: &str,
) -> Result<Result<(), Vec<FieldError>>, AppError> {
    let comment = comment.trim();
    let purpose = "score a grant application";
    in_application(
        state,
        signed,
        id,
        purpose,
        async |a: &mut Authorised<ApplicationId>| {
            let file = store::application(a).await?;
            let scores = match check_scores(raw, file.criteria.len()) {
                Ok(scores) => scores,
                Err(errors) => return Ok(Err(errors)),
            };
            let limit = earlyhelp_domain::limits::REASON;
            if let Some(error) =
                earlyhelp_domain::limits::too_long("comment", "The comment", comment, limit)
            {
                return Ok(Err(vec![error]));
            }
            store::score(a, by(signed), &scores, comment).await.map(Ok)
        },
    )
    .await
}

/// Awards or declines, with reasons: the grants officer, once two assessors have scored it.
/// Shared with the API.
pub(super) async fn record_decision(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    input: &DecisionInput,
) -> Result<Result<(), Vec<FieldError>>, AppError> {
    let today = earlyhelp_storage::cases::today();
    let purpose = "decide a grant application";
    in_application(
        state,
        signed,
        id,
        purpose,
        async |a: &mut Authorised<AwardOf>| {
            let file = store::application(a).await?;
            match check_decision(input, file.application.amount_pence) {
                Ok(decision) => {
                    store::decide(a, by(signed), &decision, today).await?;
                    store::tell_decision(a).await.map(Ok)
                }
                Err(errors) => Ok(Err(errors)),
            }
        },
    )
    .await
}

fn by(signed: &Signed) -> store::By<'_> {
    (signed.user.actor.user_id, signed.user.name.as_str())
}

async fn declare_conflict(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let reason = field(&pairs, "conflict").trim().to_string();
    let outcome = in_application(
        &state,
        &signed,
        id,
        "declare a conflict of interest",
        async |a: &mut Authorised<ApplicationId>| {
            if reason.is_empty() {
                return Ok(Err(vec![FieldError::new(
                    "conflict",
                    "Say what the conflict of interest is",
                )]));
            }
            if let Some(error) = earlyhelp_domain::limits::too_long(
                "conflict",
                "The conflict",
                &reason,
                earlyhelp_domain::limits::REASON,
            ) {
                return Ok(Err(vec![error]));
            }
            store::declare_conflict(a, by(&signed), &reason)
                .await
                .map(Ok)
        },
    )
    .await?;
    match outcome {
        // Once declared, the application is closed to them: back to the list.
        Ok(()) => Ok(Redirect::to("/grants/applications").into_response()),
        Err(errors) => render_application(&state, &signed, id, errors, pairs).await,
    }
}

async fn score(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let raw: Vec<String> = (0..earlyhelp_domain::money::MAX_CRITERIA)
        .map(|i| field(&pairs, &format!("score_{i}")))
        .collect();
    let outcome = record_scores(&state, &signed, id, &raw, &field(&pairs, "comment")).await?;
    answer(&state, &signed, id, pairs, outcome).await
}

async fn decide(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(mut pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let today = earlyhelp_storage::cases::today();
    let refused = dates::fold(&mut pairs, &[PLANNED_START, PLANNED_END], today);
    let input = DecisionInput {
        outcome: field(&pairs, "outcome"),
        amount: field(&pairs, "amount"),
        reasons: field(&pairs, "reasons"),
        tranches: field(&pairs, "tranches"),
        planned_start: field(&pairs, "planned_start"),
        planned_end: field(&pairs, "planned_end"),
    };
    let outcome = if refused.is_empty() {
        record_decision(&state, &signed, id, &input).await?
    } else {
        Err(refused)
    };
    answer(&state, &signed, id, pairs, outcome).await
}

async fn pay_tranche(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    // No such tranche finds nothing to pay, and says so.
    let number: i64 = field(&pairs, "number").trim().parse().unwrap_or(0);
    let today = earlyhelp_storage::cases::today();
    let paid_on = earlyhelp_domain::cases::parse_date(&field(&pairs, "paid_on"));
    let outcome = in_application(
        &state,
        &signed,
        id,
        "pay a grant tranche",
        async |a: &mut Authorised<AwardOf>| match paid_on {
            Some(date) if date <= today => store::pay_tranche(a, number, date).await.map(Ok),
            _ => Ok(Err(vec![FieldError::new(
                "paid_on",
                "Enter the date it was paid, today or earlier, for example 2027-04-01",
            )])),
        },
    )
    .await?;
    answer(&state, &signed, id, pairs, outcome).await
}

async fn add_return(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(mut pairs): Pairs,
) -> Result<Response, AppError> {
    let today = earlyhelp_storage::cases::today();
    let refused = dates::fold(&mut pairs, &[PERIOD_END], today);
    let input = ReturnInput {
        period_end: field(&pairs, "period_end"),
        families_supported: field(&pairs, "families_supported"),
        sessions: field(&pairs, "sessions"),
        packs: field(&pairs, "packs"),
        case_study: field(&pairs, "case_study"),
        case_study_consent: field(&pairs, "case_study_consent"),
    };
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let outcome = in_application(
        &state,
        &signed,
        id,
        "record a monitoring return",
        async |a: &mut Authorised<AwardOf>| match dates::with_dates(
            refused,
            check_return(&input, today),
        ) {
            Ok(checked) => store::add_return(a, &checked).await.map(Ok),
            Err(errors) => Ok(Err(errors)),
        },
    )
    .await?;
    answer(&state, &signed, id, pairs, outcome).await
}

async fn to_directory(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let authorised: Authorised<AwardOf> = open_application(
        &state,
        &signed,
        id,
        Action::Update,
        "list a funded project in the directory",
    )
    .await?;
    let service = store::to_directory(authorised, earlyhelp_storage::cases::today()).await?;
    Ok(Redirect::to(&format!("/find-support/services/{service}")).into_response())
}
