//! Cohorts and outreach (`/matching/runs/{id}/cohorts`, `/cohorts/{id}`): a data analyst makes
//! a named cohort of a finished run's households and sees only its counts by locality (each
//! below 5 shown as "fewer than 5"; never a household's status, who holds its case, a name or
//! an address), then sends outreach: one request for
//! support per household not already open, in its locality's triage queue. A household's names
//! are shown only to those who triage requests in its locality (`/cohorts/{id}/localities/X`,
//! the access table's rule for a locality's requests). See docs/matching.md.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption, error_for};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::cases::{Reason, iso};
use earlyhelp_domain::cohorts::{self, Tally, check_name};
use earlyhelp_domain::nhs_number::NhsNumber;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::StorageError;
use earlyhelp_storage::cases::today;
use earlyhelp_storage::cohorts::{self as store, CohortRow, Outreach};
use earlyhelp_storage::gate::{Request, authorise, authorise_read};
use earlyhelp_storage::matching;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/matching/runs/{id}/cohorts",
            get(run_cohorts).post(make_cohort),
        )
        .route("/cohorts/{id}", get(cohort_page))
        .route(
            "/cohorts/{id}/outreach",
            get(outreach_page).post(send_outreach),
        )
        .route("/cohorts/{id}/localities/{locality}", get(locality_page))
}

/// A cohort, its run's and its list's pages: data analysts only (`LinkRecords`).
fn analyst<'a>(action: Action, subject: &'a str, purpose: &'a str) -> Request<'a> {
    Request {
        action,
        resource: Resource::Matching,
        subject,
        purpose,
    }
}

fn cohort_subject(id: Uuid) -> String {
    format!("cohort:{id}")
}

/// Locality names by slug.
async fn locality_names(state: &AppState) -> Result<HashMap<String, String>, AppError> {
    Ok(earlyhelp_storage::accounts::list_localities(&state.db)
        .await?
        .into_iter()
        .map(|l| (l.slug, l.name))
        .collect())
}

fn place(names: &HashMap<String, String>, locality: Option<&str>) -> String {
    match locality {
        Some(slug) => names.get(slug).cloned().unwrap_or_else(|| slug.to_string()),
        None => "Not placed (postcode outside the city)".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// A run's cohorts, and making one

#[derive(Template)]
#[template(path = "cohort_run.html")]
struct RunCohortsPage {
    layout: Layout,
    run: Uuid,
    cohorts: Vec<CohortRow>,
    name: String,
    errors: Vec<FieldError>,
}

impl RunCohortsPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn run_cohorts(
    State(state): State<AppState>,
    signed: Signed,
    Path(run): Path<Uuid>,
) -> Result<Response, AppError> {
    show_run_cohorts(&state, &signed, run, String::new(), Vec::new()).await
}

async fn show_run_cohorts(
    state: &AppState,
    signed: &Signed,
    run: Uuid,
    name: String,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let subject = format!("matching:run:{run}");
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        analyst(Action::Read, &subject, "see a run's cohorts"),
    )
    .await?;
    matching::run(&mut authorised, run).await?;
    let cohorts = store::cohorts(&mut authorised, Some(run)).await?;
    authorised.tx.commit().await?;
    let status = match errors.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = RunCohortsPage {
        layout: Layout::for_user(signed, "/matching"),
        run,
        cohorts,
        name,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(serde::Deserialize)]
struct CohortForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
}

async fn make_cohort(
    State(state): State<AppState>,
    signed: Signed,
    Path(run): Path<Uuid>,
    Form(form): Form<CohortForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let name = match check_name(&form.name) {
        Ok(name) => name,
        Err(errors) => return show_run_cohorts(&state, &signed, run, form.name, errors).await,
    };
    let id = Uuid::now_v7();
    let subject = cohort_subject(id);
    let purpose = format!("make a cohort from matching run {run}");
    let who = signed.who();
    // The audit event is committed first; grouping reads the whole list.
    let mut authorised = authorise(&state.db, &who, analyst(Action::Create, &subject, &purpose))
        .await?
        .audited(&state.db)
        .await?;
    let list_id = matching::run(&mut authorised, run).await?.list_id;
    let list = matching::list(&mut authorised, list_id).await?;
    if list.delete_by.as_str() <= iso(today()).as_str() {
        return Err(gone(&list.delete_by));
    }
    if earlyhelp_storage::encoded::is_encoded(&list.roles()) {
        return Err(AppError::Conflict(
            "An encoded list holds no addresses or postcodes to group households by or place \
             them: no cohort is made from it"
                .into(),
        ));
    }
    match store::create(&mut authorised, &who, id, run, &name).await {
        Ok(_) => {}
        Err(StorageError::Refused(problem) | StorageError::Conflict(problem)) => {
            drop(authorised);
            let errors = vec![FieldError::new("name", problem)];
            return show_run_cohorts(&state, &signed, run, name, errors).await;
        }
        Err(other) => return Err(other.into()),
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/cohorts/{id}")).into_response())
}

/// A list past its delete-by date: nothing more is made or sent from it.
fn gone(delete_by: &str) -> AppError {
    AppError::Rejected {
        status: StatusCode::GONE,
        problem: format!(
            "The list is due for deletion on {delete_by}: no cohort or outreach is made from it"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The cohort, pseudonymised

/// A locality's counts as the analyst sees them, each suppressed below 5.
struct TallyLine {
    /// The locality's slug, or `not-placed`, for the row's id.
    key: String,
    place: String,
    households: String,
    people: String,
    open: String,
    waiting: String,
    known: String,
    not_known: String,
}

impl TallyLine {
    fn new(key: String, place: String, tally: &Tally) -> TallyLine {
        let shown = cohorts::suppressed;
        TallyLine {
            key,
            place,
            households: shown(tally.households),
            people: shown(tally.people),
            open: shown(tally.open),
            waiting: shown(tally.waiting),
            known: shown(tally.known),
            not_known: shown(tally.not_known),
        }
    }
}

/// The analyst's page: counts only. Which household has an open case, and who holds it, is
/// for the locality's triage team (`locality_page`), never the analyst.
#[derive(Template)]
#[template(path = "cohort.html")]
struct CohortPage {
    layout: Layout,
    cohort: CohortRow,
    delete_by: String,
    tallies: Vec<TallyLine>,
    total: TallyLine,
    sent: String,
    to_send: usize,
    to_send_shown: String,
}

async fn cohort_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let subject = cohort_subject(id);
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        analyst(Action::Read, &subject, "see a cohort's counts"),
    )
    .await?;
    let cohort = store::cohort(&mut authorised, id).await?;
    let list = matching::list(&mut authorised, cohort.list_id).await?;
    let households = store::households(&mut authorised, id, None).await?;
    let plan = store::plan(&mut authorised, id).await?;
    authorised.tx.commit().await?;
    let names = locality_names(&state).await?;
    let (tallies, total) = cohorts::tally(
        households
            .iter()
            .map(|h| (h.locality_slug.as_deref(), h.people as u64, h.known())),
    );
    let to_send = plan.new.len() + plan.earlier.len();
    let page = CohortPage {
        layout: Layout::for_user(&signed, "/matching"),
        delete_by: list.delete_by,
        tallies: tallies
            .iter()
            .map(|tally| {
                let key = tally
                    .locality
                    .clone()
                    .unwrap_or_else(|| "not-placed".into());
                TallyLine::new(key, place(&names, tally.locality.as_deref()), tally)
            })
            .collect(),
        total: TallyLine::new(String::new(), "All".into(), &total),
        sent: cohorts::suppressed(
            households.iter().filter(|h| h.request_id.is_some()).count() as u64
        ),
        to_send,
        to_send_shown: cohorts::suppressed(to_send as u64),
        cohort,
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// Outreach

#[derive(Template)]
#[template(path = "cohort_outreach.html")]
struct OutreachPage {
    layout: Layout,
    cohort: CohortRow,
    /// Requests to be made, by locality name (suppressed below 5).
    by_locality: Vec<(String, String)>,
    new: usize,
    earlier: usize,
    not_placed: usize,
    reasons: Vec<SelectOption>,
    errors: Vec<FieldError>,
}

impl OutreachPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn outreach_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    show_outreach(&state, &signed, id, "", Vec::new()).await
}

async fn show_outreach(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    reason: &str,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let subject = cohort_subject(id);
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        analyst(Action::Read, &subject, "confirm outreach from a cohort"),
    )
    .await?;
    let cohort = store::cohort(&mut authorised, id).await?;
    let plan = store::plan(&mut authorised, id).await?;
    let households = store::households(&mut authorised, id, None).await?;
    authorised.tx.commit().await?;
    let names = locality_names(state).await?;
    let mut by_locality: BTreeMap<String, usize> = BTreeMap::new();
    for (_, locality) in &plan.new {
        *by_locality
            .entry(place(&names, Some(locality)))
            .or_default() += 1;
    }
    let by_locality = by_locality
        .into_iter()
        .map(|(place, n)| (place, cohorts::suppressed(n as u64)));
    let status = match errors.is_empty() {
        true => StatusCode::OK,
        false => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let page = OutreachPage {
        layout: Layout::for_user(signed, "/matching"),
        cohort,
        by_locality: by_locality.collect(),
        new: plan.new.len(),
        earlier: plan.earlier.len(),
        not_placed: households
            .iter()
            .filter(|h| h.locality_slug.is_none() && h.known().needs_outreach())
            .count(),
        reasons: std::iter::once(SelectOption::new(
            "",
            "Choose the reason",
            reason.is_empty(),
        ))
        .chain(
            Reason::ALL
                .iter()
                .map(|r| SelectOption::new(r.slug(), r.label(), r.slug() == reason)),
        )
        .collect(),
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(serde::Deserialize)]
struct OutreachForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

async fn send_outreach(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<OutreachForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let Some(reason) = Reason::from_slug(&form.reason) else {
        let errors = vec![FieldError::new(
            "reason",
            "Choose the reason the households need help",
        )];
        return show_outreach(&state, &signed, id, &form.reason, errors).await;
    };
    let subject = cohort_subject(id);
    let who = signed.who();
    let mut authorised = authorise(
        &state.db,
        &who,
        analyst(
            Action::Update,
            &subject,
            "outreach: requests for support from a cohort",
        ),
    )
    .await?;
    let cohort = store::cohort(&mut authorised, id).await?;
    let list = matching::list(&mut authorised, cohort.list_id).await?;
    if list.delete_by.as_str() <= iso(today()).as_str() {
        return Err(gone(&list.delete_by));
    }
    let outreach = Outreach {
        reason,
        purpose: &list.purpose,
        dpia_reference: &list.dpia_reference,
        today: today(),
    };
    store::send_outreach(&mut authorised, &who, id, &outreach).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/cohorts/{id}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// A locality's households, with names, for those who triage its requests

struct NamedHousehold {
    reference: String,
    names: Vec<String>,
    address: String,
    postcode: String,
    status: &'static str,
    known_to: String,
    request: Option<Uuid>,
}

#[derive(Template)]
#[template(path = "cohort_locality.html")]
struct LocalityPage {
    layout: Layout,
    cohort: CohortRow,
    locality: String,
    households: Vec<NamedHousehold>,
}

async fn locality_page(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, locality)): Path<(Uuid, String)>,
) -> Result<Response, AppError> {
    // An unknown slug is answered before the gate, so the audit log names only real ones.
    let localities = locality_names(&state).await?;
    if !localities.contains_key(&locality) {
        return Err(AppError::NotFound);
    }
    let subject = format!("cohort:{id}:{locality}");
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        Request {
            action: Action::List,
            resource: Resource::SupportRequest {
                locality: Some(locality.clone()),
            },
            subject: &subject,
            purpose: "see a cohort's households in the locality, with names",
        },
    )
    .await?;
    let cohort = store::cohort(&mut authorised, id).await?;
    let households = store::households(&mut authorised, id, Some(&locality)).await?;
    let people = store::people_in_locality(&mut authorised, id, &locality).await?;
    authorised.tx.commit().await?;
    let mut names: HashMap<Uuid, Vec<String>> = HashMap::new();
    for p in people {
        let born = match p.date_of_birth.is_empty() {
            true => "date of birth not known".to_string(),
            false => format!("born {}", p.date_of_birth),
        };
        // Those who triage the locality's requests see the number there too.
        let nhs = NhsNumber::parse(&p.nhs_number)
            .map_or_else(String::new, |n| format!(", NHS number {n}"));
        names
            .entry(p.household_id)
            .or_default()
            .push(format!("{} {} ({born}{nhs})", p.given_name, p.family_name));
    }
    let page = LocalityPage {
        layout: Layout::for_user(&signed, "/triage"),
        locality: place(&localities, Some(&locality)),
        households: households
            .into_iter()
            .map(|h| NamedHousehold {
                reference: cohorts::reference(h.reference),
                names: names.remove(&h.id).unwrap_or_default(),
                status: h.known().label(),
                known_to: h.known_to.clone(),
                request: h.request_id,
                address: h.address,
                postcode: h.postcode,
            })
            .collect(),
        cohort,
    };
    Ok(Html(page.render()?).into_response())
}
