//! Matching for data analysts (`/matching`): upload an agency's list with the terms of the
//! share, correct the columns the engine recognised, run it as a background job watched on a
//! progress bar, and review possible matches side by side with the engine's weights.
//!
//! Every page passes the gate as `Resource::Matching` (data analysts only), so each upload,
//! run, view and decision is an audit event. What a reviewer sees is written down in
//! docs/matching.md.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Multipart, Path, file_name};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption, error_for};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use earlyhelp_domain::access::{self, Action, Resource};
use earlyhelp_domain::cases::iso;
use earlyhelp_domain::limits::thousands;
use earlyhelp_domain::matching::{
    Counts, MAX_LIST_BYTES, MIN_ROWS_AGAINST_PEOPLE, Stage, TermsInput, check_terms,
};
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::sharing::{Article6, Article9};
use earlyhelp_storage::cases::today;
use earlyhelp_storage::encoded::{self, NO_KEY, is_encoded, key_problem};
use earlyhelp_storage::gate::{self, Request, authorise, authorise_read};
use earlyhelp_storage::matching::{
    self as store, EngineReport, FieldWeight, ID_ROLE, KINDS, ListRow, RunRow, kind_label,
    kind_slug,
};
use std::collections::HashMap;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/matching", get(matching_page))
        .sized(
            "/matching/lists",
            axum::routing::post(upload),
            MAX_LIST_BYTES + earlyhelp_domain::limits::FORM_BODY,
        )
        .route("/matching/lists/{id}", get(list_page))
        .route("/matching/lists/{id}/runs", axum::routing::post(start_run))
        .route("/matching/runs/{id}", get(run_page))
        .route("/matching/runs/{id}/review", get(review_page).post(decide))
        .route("/matching/runs/{id}/matched.csv", get(matched_csv))
}

fn request<'a>(action: Action, subject: &'a str, purpose: &'a str) -> Request<'a> {
    Request {
        action,
        resource: Resource::Matching,
        subject,
        purpose,
    }
}

fn list_subject(id: Uuid) -> String {
    format!("matching:list:{id}")
}

fn run_subject(id: Uuid) -> String {
    format!("matching:run:{id}")
}

// ---------------------------------------------------------------------------------------------
// The matching page: lists, runs and the upload form

struct ListLine {
    id: Uuid,
    source: String,
    filename: String,
    records: String,
    delete_by: String,
}

struct RunLine {
    id: Uuid,
    list: String,
    against: String,
    stage: &'static str,
    percent: i64,
}

#[derive(Template)]
#[template(path = "matching.html")]
struct MatchingPage {
    layout: Layout,
    errors: Vec<FieldError>,
    values: TermsInput,
    article6: Vec<SelectOption>,
    article9: Vec<SelectOption>,
    max_mb: usize,
    lists: Vec<ListLine>,
    runs: Vec<RunLine>,
    /// Why encoded lists cannot be matched here, when no linkage key is set.
    no_key: Option<&'static str>,
}

impl MatchingPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// Why a list may no longer be matched or reviewed: its delete-by date has come (it is
/// deleted that day).
fn expired(list: &ListRow) -> Option<String> {
    (list.delete_by.as_str() <= iso(today()).as_str()).then(|| {
        format!(
            "The list {} is due for deletion on {}: it can no longer be matched or reviewed",
            list_name(list),
            list.delete_by
        )
    })
}

/// What a list is called on the pages: its source and file.
fn list_name(list: &ListRow) -> String {
    format!("{} ({})", list.source, list.filename)
}

fn against_name(run: &RunRow, names: &HashMap<Uuid, String>) -> String {
    match run.against_list {
        None => "earlyhelp's people".into(),
        Some(id) => names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "a deleted list".into()),
    }
}

async fn matching_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, AppError> {
    show_matching(
        &state,
        &signed,
        Vec::new(),
        TermsInput::default(),
        StatusCode::OK,
    )
    .await
}

/// The page; with errors, answered with `status` (422, or 413 for a file over the limit).
async fn show_matching(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
    values: TermsInput,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        request(Action::List, "matching", "open the matching page"),
    )
    .await?;
    let lists = store::lists(&mut authorised).await?;
    let runs = store::runs(&mut authorised).await?;
    authorised.tx.commit().await?;
    let names: HashMap<Uuid, String> = lists.iter().map(|l| (l.id, list_name(l))).collect();
    let options = |all: &[(&'static str, &'static str)], chosen: &str, none: &str| {
        std::iter::once(SelectOption::new("", none, chosen.is_empty()))
            .chain(
                all.iter()
                    .map(|(slug, label)| SelectOption::new(*slug, *label, *slug == chosen)),
            )
            .collect()
    };
    let article6: Vec<(&str, &str)> = Article6::ALL
        .iter()
        .map(|a| (a.slug(), a.label()))
        .collect();
    let article9: Vec<(&str, &str)> = Article9::ALL
        .iter()
        .map(|a| (a.slug(), a.label()))
        .collect();
    let page = MatchingPage {
        layout: Layout::for_user(signed, "/matching"),
        article6: options(&article6, &values.article6, "Choose the lawful basis"),
        article9: options(
            &article9,
            &values.article9,
            "None: no special-category data",
        ),
        errors,
        values,
        max_mb: MAX_LIST_BYTES / (1024 * 1024),
        no_key: state.config.linkage_key.is_none().then_some(NO_KEY),
        runs: runs
            .iter()
            .map(|r| RunLine {
                id: r.id,
                list: names
                    .get(&r.list_id)
                    .cloned()
                    .unwrap_or_else(|| "a deleted list".into()),
                against: against_name(r, &names),
                stage: r.stage().label(),
                percent: r.percent,
            })
            .collect(),
        lists: lists
            .iter()
            .map(|l| ListLine {
                id: l.id,
                source: l.source.clone(),
                filename: l.filename.clone(),
                records: thousands(l.row_count.max(0) as usize),
                delete_by: l.delete_by.clone(),
            })
            .collect(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The upload form as sent: the terms, and the file (or that it was too large).
#[derive(Default)]
struct Upload {
    csrf: String,
    terms: TermsInput,
    filename: String,
    bytes: Vec<u8>,
    too_large: bool,
}

fn rejected(problem: String) -> AppError {
    AppError::Rejected {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        problem,
    }
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload::default();
    let mut files = 0;
    while let Some(mut part) = multipart.next_field().await? {
        let name = part.name().unwrap_or_default().to_string();
        if name == "file" {
            files += 1;
            if files > 1 {
                return Err(rejected("Send one file (the field file) per upload".into()));
            }
            upload.filename = file_name(part.file_name(), "list.csv");
            loop {
                match part.chunk().await {
                    Ok(Some(chunk)) if upload.bytes.len() + chunk.len() <= MAX_LIST_BYTES => {
                        upload.bytes.extend_from_slice(&chunk)
                    }
                    Ok(Some(_)) => upload.too_large = true,
                    Ok(None) => break,
                    // Past the route's limit the body stops here: the same answer.
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        upload.too_large = true;
                        return Ok(upload);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            continue;
        }
        let text = part.text().await?;
        if text.contains('\0') {
            return Err(rejected(format!("The field {name} holds a NUL character")));
        }
        let terms = &mut upload.terms;
        match name.as_str() {
            "csrf_token" => upload.csrf = text,
            "source" => terms.source = text,
            "purpose" => terms.purpose = text,
            "article6" => terms.article6 = text,
            "article9" => terms.article9 = text,
            "dpia_reference" => terms.dpia_reference = text,
            "delete_by" => terms.delete_by = text,
            _ => {}
        }
    }
    Ok(upload)
}

async fn upload(
    State(state): State<AppState>,
    signed: Signed,
    multipart: Multipart,
) -> Result<Response, AppError> {
    // Access is decided before a byte of the body is read: only those who may upload a list
    // make the server read one. A refusal is audited and answered here.
    let who = signed.who();
    if !access::decide(&who.actor, Action::Create, &Resource::Matching).allowed {
        authorise(
            &state.db,
            &who,
            request(Action::Create, "matching", "upload a list for matching"),
        )
        .await?;
        return Err(AppError::Forbidden);
    }
    let upload = read_upload(multipart).await?;
    let over = format!(
        "{}: the file is larger than {} MB; split it, or leave out columns not used for matching",
        upload.filename,
        MAX_LIST_BYTES / (1024 * 1024)
    );
    // A body over the limit without its token is answered 413 as it stands: no page, no
    // audit event, nothing read from the database (no CSRF exception that does any work).
    if upload.too_large && signed.check_csrf(&upload.csrf).is_err() {
        return Err(AppError::Rejected {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            problem: over,
        });
    }
    signed.check_csrf(&upload.csrf)?;
    let terms = check_terms(&upload.terms, today());
    let mut errors = terms.as_ref().err().cloned().unwrap_or_default();
    let Upload {
        filename,
        bytes,
        too_large,
        terms: typed,
        ..
    } = upload;
    let list = if too_large {
        errors.push(FieldError::new("file", over));
        None
    } else if bytes.is_empty() {
        errors.push(FieldError::new("file", "Select a CSV file of the list"));
        None
    } else {
        // Reading and checking up to 32 MB is CPU work: off the async workers.
        let name = filename.clone();
        let read = tokio::task::spawn_blocking(move || store::read_list(&name, &bytes))
            .await
            .map_err(anyhow::Error::from)?;
        let key = state.config.linkage_key.as_ref();
        match read {
            // An encoded list is kept only if it can be matched with this server's key.
            Ok(list) if is_encoded(&list.roles) => {
                match key_problem(&filename, &list.headers, &list.rows, key) {
                    Some(problem) => {
                        errors.push(FieldError::new("file", problem));
                        None
                    }
                    None => Some(list),
                }
            }
            Ok(list) => Some(list),
            Err(problems) => {
                errors.extend(problems.into_iter().map(|p| FieldError::new("file", p)));
                None
            }
        }
    };
    let (Ok(terms), Some(list)) = (terms, list) else {
        let status = match too_large {
            true => StatusCode::PAYLOAD_TOO_LARGE,
            false => StatusCode::UNPROCESSABLE_ENTITY,
        };
        return show_matching(&state, &signed, errors, typed, status).await;
    };
    let id = Uuid::now_v7();
    let subject = list_subject(id);
    let purpose = format!(
        "upload a list for matching from {}: {} records, DPIA {}",
        terms.source,
        list.rows.len(),
        terms.dpia_reference
    );
    // The audit event is committed first; the rows go in their own transaction.
    let mut authorised = authorise(&state.db, &who, request(Action::Create, &subject, &purpose))
        .await?
        .audited(&state.db)
        .await?;
    store::create_list(
        &mut authorised,
        id,
        &terms,
        &filename,
        &list,
        &signed.user.actor.email,
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/matching/lists/{id}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// A list: its terms, a preview of its columns with their roles, and starting a run

struct ColumnView {
    field: String,
    header: String,
    roles: Vec<SelectOption>,
    samples: Vec<String>,
}

#[derive(Template)]
#[template(path = "matching_list.html")]
struct ListPage {
    layout: Layout,
    id: Uuid,
    name: String,
    purpose: String,
    basis: String,
    dpia_reference: String,
    delete_by: String,
    records: String,
    uploaded_by: String,
    columns: Vec<ColumnView>,
    targets: Vec<SelectOption>,
    problems: Vec<String>,
    /// Written by `link encode`: no values to preview, no roles to correct.
    encoded: bool,
}

/// The roles a column may take, `chosen` selected.
fn role_options(chosen: &str) -> Vec<SelectOption> {
    let mut options = vec![
        SelectOption::new("", "Not used", chosen.is_empty()),
        SelectOption::new(ID_ROLE, "The record's id", chosen == ID_ROLE),
    ];
    options.extend(KINDS.iter().map(|&kind| {
        let slug = kind_slug(kind);
        let selected = slug == chosen;
        SelectOption::new(slug, kind_label(kind), selected)
    }));
    options
}

async fn list_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    show_list(&state, &signed, id, None, None, Vec::new()).await
}

async fn show_list(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    roles: Option<Vec<String>>,
    target: Option<String>,
    problems: Vec<String>,
) -> Result<Response, AppError> {
    let subject = list_subject(id);
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        request(Action::Read, &subject, "preview a list's columns"),
    )
    .await?;
    let list = store::list(&mut authorised, id).await?;
    let sample = store::first_rows(&mut authorised, id, 5).await?;
    let others = store::lists(&mut authorised).await?;
    authorised.tx.commit().await?;
    let encoded = is_encoded(&list.roles());
    let roles = roles.unwrap_or_else(|| list.roles());
    let target = target.unwrap_or_default();
    let mut targets = vec![SelectOption::new(
        "earlyhelp",
        "The people earlyhelp knows (family members and people named on requests for support)",
        target.is_empty() || target == "earlyhelp",
    )];
    // Encoded lists are matched against earlyhelp's people only, and never with a clear one.
    let others = others
        .iter()
        .filter(|o| !encoded && o.id != id && !is_encoded(&o.roles()));
    targets.extend(others.map(|o| {
        let value = o.id.to_string();
        let selected = value == target;
        SelectOption::new(value, format!("The list {}", list_name(o)), selected)
    }));
    let columns = list
        .headers()
        .into_iter()
        .enumerate()
        .map(|(c, header)| ColumnView {
            field: format!("role_{c}"),
            header,
            roles: role_options(roles.get(c).map_or("", String::as_str)),
            samples: match encoded {
                true => Vec::new(),
                false => sample
                    .iter()
                    .map(|row| row.get(c).cloned().unwrap_or_default())
                    .collect(),
            },
        })
        .collect();
    let basis = Article6::from_slug(&list.article6).map_or_else(String::new, |a| a.label().into());
    let page = ListPage {
        layout: Layout::for_user(signed, "/matching"),
        id,
        name: list_name(&list),
        purpose: list.purpose.clone(),
        basis: match list.article9.as_deref().and_then(Article9::from_slug) {
            Some(nine) => format!("{basis}; {}", nine.label()),
            None => basis,
        },
        dpia_reference: list.dpia_reference.clone(),
        delete_by: list.delete_by.clone(),
        records: thousands(list.row_count.max(0) as usize),
        uploaded_by: list.uploaded_by.clone(),
        columns,
        targets,
        problems,
        encoded,
    };
    let status = if page.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn start_run(
    State(state): State<AppState>,
    signed: Signed,
    Path(list_id): Path<Uuid>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    signed.check_csrf(form.get("csrf_token").map_or("", String::as_str))?;
    let mut roles = Vec::new();
    while let Some(role) = form.get(&format!("role_{}", roles.len())) {
        roles.push(role.trim().to_string());
    }
    // Only the roles the form offers (L4): anything else is named and refused.
    let allowed: Vec<String> = role_options("").into_iter().map(|o| o.value).collect();
    if let Some((c, role)) = roles.iter().enumerate().find(|(_, r)| !allowed.contains(r)) {
        let problem = format!("Column {}: '{role}' is not a role a column can take", c + 1);
        return show_list(&state, &signed, list_id, None, None, vec![problem]).await;
    }
    let target = form.get("against").cloned().unwrap_or_default();
    let against = match target.as_str() {
        "" | "earlyhelp" => None,
        other => match Uuid::parse_str(other) {
            Ok(id) => Some(id),
            Err(_) => {
                let problem = "Choose what to match the list against".to_string();
                return show_list(&state, &signed, list_id, Some(roles), None, vec![problem]).await;
            }
        },
    };
    let id = Uuid::now_v7();
    let subject = run_subject(id);
    let purpose = match against {
        None => format!("run matching of list {list_id} against earlyhelp's people"),
        Some(other) => format!("run matching of list {list_id} against list {other}"),
    };
    // The audit event is committed first: checking the roles reads every row.
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        request(Action::Create, &subject, &purpose),
    )
    .await?
    .audited(&state.db)
    .await?;
    let mut problems = store::set_roles(&mut authorised, list_id, &roles).await?;
    let list = store::list(&mut authorised, list_id).await?;
    problems.extend(expired(&list));
    problems.extend(encoded_problems(&state, &mut authorised, &list, against).await?);
    if let Some(other) = against {
        problems.extend(expired(&store::list(&mut authorised, other).await?));
    } else if list.row_count < MIN_ROWS_AGAINST_PEOPLE {
        problems.push(format!(
            "The list holds {} records: a list matched against earlyhelp's people must hold at least {MIN_ROWS_AGAINST_PEOPLE} (matching is not a way to look people up)",
            list.row_count
        ));
    }
    if !problems.is_empty() {
        drop(authorised);
        return show_list(
            &state,
            &signed,
            list_id,
            Some(roles),
            Some(target),
            problems,
        )
        .await;
    }
    store::queue_run(
        &mut authorised,
        id,
        list_id,
        against,
        &signed.user.actor.email,
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/matching/runs/{id}")).into_response())
}

/// What stops a run of an encoded list, or of a list against an encoded one: a second list
/// (encoded lists are matched against earlyhelp's people only), and the server's key (unset,
/// or not the one the list was encoded with; it may have changed since the upload).
async fn encoded_problems(
    state: &AppState,
    authorised: &mut gate::Authorised,
    list: &ListRow,
    against: Option<Uuid>,
) -> Result<Vec<String>, AppError> {
    let mut problems = Vec::new();
    let other_encoded = match against {
        Some(other) => is_encoded(&store::list(authorised, other).await?.roles()),
        None => false,
    };
    if other_encoded || (against.is_some() && is_encoded(&list.roles())) {
        problems.push(
            "An encoded list is matched against earlyhelp's people only, not against another list"
                .into(),
        );
    } else if is_encoded(&list.roles()) {
        let first = store::first_rows(authorised, list.id, 1).await?;
        let key = state.config.linkage_key.as_ref();
        problems.extend(key_problem(&list.filename, &list.headers(), &first, key));
    }
    Ok(problems)
}

// ---------------------------------------------------------------------------------------------
// A run: its progress, then its results and quality report

#[derive(Template)]
#[template(path = "matching_run.html")]
struct RunPage {
    layout: Layout,
    id: Uuid,
    list: String,
    against: String,
    stage: &'static str,
    percent: i64,
    finished: bool,
    problem: Option<String>,
    counts: Option<Counts>,
    accepted_share: Option<String>,
    report: Option<EngineReport>,
    /// The list was encoded by the agency (`link encode`).
    encoded: bool,
}

async fn run_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let subject = run_subject(id);
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        request(Action::Read, &subject, "see a matching run"),
    )
    .await?;
    let run = store::run(&mut authorised, id).await?;
    let list = store::list(&mut authorised, run.list_id).await?;
    let against = match run.against_list {
        None => "earlyhelp's people".to_string(),
        Some(other) => list_name(&store::list(&mut authorised, other).await?),
    };
    let done = run.stage() == Stage::Done;
    let counts = match done {
        true => Some(store::counts(&mut authorised, &run).await?),
        false => None,
    };
    authorised.tx.commit().await?;
    let page = RunPage {
        layout: Layout::for_user(&signed, "/matching"),
        id,
        list: list_name(&list),
        against,
        stage: run.stage().label(),
        percent: run.percent,
        finished: run.finished(),
        problem: run.problem.clone(),
        accepted_share: counts
            .as_ref()
            .and_then(Counts::accepted_share)
            .map(|s| format!("{:.0}%", s * 100.0)),
        counts,
        report: run
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        encoded: is_encoded(&list.roles()),
    };
    Ok(Html(page.render()?).into_response())
}

/// A run read through the gate for `purpose`, with its list, while the list is held (after
/// its delete-by date: 410).
async fn held_run(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    purpose: &str,
) -> Result<(gate::Authorised, RunRow, ListRow), AppError> {
    let subject = run_subject(id);
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        request(Action::Read, &subject, purpose),
    )
    .await?;
    let run = store::run(&mut authorised, id).await?;
    let list = store::list(&mut authorised, run.list_id).await?;
    if let Some(problem) = expired(&list) {
        return Err(AppError::Rejected {
            status: StatusCode::GONE,
            problem,
        });
    }
    Ok((authorised, run, list))
}

/// What goes back to the agency: a CSV of the ids of its records that matched (matches and
/// possible matches accepted on review), under its own id column's name, and nothing of
/// earlyhelp's side: no name, no id, no case.
async fn matched_csv(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let (mut authorised, run, list) =
        held_run(&state, &signed, id, "download the list's matched ids").await?;
    if run.stage() != Stage::Done {
        return Err(AppError::Conflict(
            "The run has not finished: there are no matched ids to download yet".into(),
        ));
    }
    let ids = encoded::matched_ids(&mut authorised, id).await?;
    authorised.tx.commit().await?;
    let id_header = list
        .roles()
        .iter()
        .position(|r| r == ID_ROLE)
        .and_then(|c| list.headers().get(c).cloned())
        .unwrap_or_else(|| "id".into());
    let rows = std::iter::once(vec![id_header])
        .chain(ids.into_iter().map(|id| vec![id]))
        .collect();
    crate::budgeting::csv_response("matched-ids.csv", rows)
}

// ---------------------------------------------------------------------------------------------
// Clerical review

struct PairView {
    /// The result row's own id, which the form posts back.
    pair: Uuid,
    left_id: String,
    /// Who the other record is, in words (never earlyhelp's database id).
    right_label: String,
    probability: String,
    fields: Vec<FieldWeight>,
    /// earlyhelp's person masked (initials, year of birth, postcode district); empty for
    /// another list's record, which is shown in full.
    masked: String,
}

#[derive(Template)]
#[template(path = "matching_review.html")]
struct ReviewPage {
    layout: Layout,
    id: Uuid,
    source: String,
    pair: Option<PairView>,
    waiting: i64,
}

/// The other record in words: earlyhelp's person by where they are recorded, another list's
/// record by its source and id there.
fn right_label(key: &str) -> String {
    if key.starts_with("person:") {
        "A family member in an earlyhelp case".into()
    } else if key.starts_with("request:") {
        "A person named on a request for support".into()
    } else {
        let rest = key.strip_prefix("list:").unwrap_or(key);
        match rest.rsplit_once(':') {
            Some((source, id)) => format!("{source}, record {id}"),
            None => rest.to_string(),
        }
    }
}

async fn review_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let subject = run_subject(id);
    let (mut authorised, _, list) =
        held_run(&state, &signed, id, "review possible matches").await?;
    let (next, waiting) = store::next_possible(&mut authorised, id).await?;
    let seen = match &next {
        Some(p) => store::candidate_subject(&mut authorised, &p.right_key).await?,
        None => None,
    };
    authorised.tx.commit().await?;
    // earlyhelp's record shown (masked) is audited under its own subject, so its family's
    // access log shows an analyst saw it as a candidate.
    if let Some(record) = seen {
        let purpose = format!("shown masked as a possible match in matching run {id}");
        gate::record_seen(
            &state.db,
            &signed.who(),
            request(Action::Read, &subject, &purpose),
            &record,
        )
        .await?;
    }
    let page = ReviewPage {
        layout: Layout::for_user(&signed, "/matching"),
        id,
        source: list.source,
        pair: next.map(|p| PairView {
            right_label: right_label(&p.right_key),
            probability: format!("{:.0}%", p.probability * 100.0),
            fields: p.fields(),
            masked: p.other_masked,
            pair: p.id,
            left_id: p.left_id,
        }),
        waiting,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(serde::Deserialize)]
struct DecisionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    pair: String,
    #[serde(default)]
    decision: String,
}

async fn decide(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let accept = match form.decision.as_str() {
        "accept" => true,
        "reject" => false,
        _ => {
            return Err(AppError::Invalid(vec![FieldError::new(
                "decision",
                "Choose whether the two records are the same person",
            )]));
        }
    };
    let Ok(pair) = Uuid::parse_str(form.pair.trim()) else {
        return Err(AppError::Invalid(vec![FieldError::new(
            "pair",
            "The pair to decide is missing: reload the review page",
        )]));
    };
    let subject = run_subject(id);
    // No record id in the purpose: the hash-chained log cannot be cleared at the delete-by date.
    let purpose = match accept {
        true => "review decision: accepted a possible match",
        false => "review decision: rejected a possible match",
    };
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        request(Action::Update, &subject, purpose),
    )
    .await?
    .audited(&state.db)
    .await?;
    let run = store::run(&mut authorised, id).await?;
    if let Some(problem) = expired(&store::list(&mut authorised, run.list_id).await?) {
        return Err(AppError::Rejected {
            status: StatusCode::GONE,
            problem,
        });
    }
    store::decide(&mut authorised, id, pair, accept, &signed.user.actor.email).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/matching/runs/{id}/review")).into_response())
}

#[cfg(test)]
mod tests {
    use super::right_label;

    #[test]
    fn the_other_record_is_named_in_words() {
        assert_eq!(
            right_label("person:0190a0a0-0000-7000-8000-000000000000"),
            "A family member in an earlyhelp case"
        );
        assert_eq!(right_label("list:Housing:A17"), "Housing, record A17");
    }
}
