//! The workspace of the people who keep the directory true. Community connectors keep the
//! listings of their localities: a "due for review" queue, changes waiting for their approval,
//! likely duplicates to merge, and a CSV export. VCS workers edit their own organisation's
//! listings and propose new ones; their changes wait for whoever approves in the listing's
//! locality (its connectors, or where it has none its lead), who sees each changed field's old
//! and new value side by side and approves, or rejects with a reason the proposer sees.
//! Connectors also keep the search's synonyms. Every read and change passes the gate.

use crate::AppState;
use crate::directory::format_date;
use crate::error::AppError;
use crate::extract::{Form, MultiForm, Path, Query};
use crate::listing_form::{EditForm, ScheduleRow};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption, error_for};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::directory::{self as rules, edit_applies_directly};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::accounts;
use earlyhelp_storage::directory::{self as store, ServiceRecord, ServiceRow};
use earlyhelp_storage::gate::{Authorised, Request, authorise, authorise_read};
use earlyhelp_storage::listing_changes::{
    self as changes, ChangeRecord, FieldChange, ListingEdit, NewChange, summary_of,
};
use earlyhelp_storage::search_synonyms;
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/directory/manage", get(workspace))
        .long_form(
            "/directory/manage/services/{id}",
            get(edit_form).post(save_edit),
        )
        .long_form("/directory/manage/new", get(new_form).post(propose_new))
        .route("/directory/manage/services/{id}/verify", post(verify))
        .route("/directory/manage/changes/{id}/review", get(review))
        .route("/directory/manage/changes/{id}/{decision}", post(decide))
        .route(
            "/directory/manage/synonyms",
            get(synonyms).post(add_synonyms),
        )
        .route(
            "/directory/manage/synonyms/{id}/remove",
            post(remove_synonyms),
        )
        .route("/directory/manage/duplicates", get(duplicates))
        .route("/directory/manage/merge", post(merge))
        .route("/directory/manage/export.csv", get(export))
}

#[derive(Deserialize, Default)]
struct LocalityQuery {
    #[serde(default)]
    locality: String,
    #[serde(default)]
    done: String,
}

/// The locality the page is about: the one asked for if the person works there, else their
/// first.
fn chosen_locality(signed: &Signed, asked: &str) -> Option<String> {
    let mine = &signed.user.actor.localities;
    if mine.iter().any(|l| l == asked) {
        Some(asked.to_string())
    } else {
        mine.first().cloned()
    }
}

async fn gate_list(
    state: &AppState,
    signed: &Signed,
    locality: Option<String>,
    purpose: &str,
) -> Result<Authorised, AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::Listing {
            locality,
            owner_organisation: signed.user.actor.organisation_id,
        },
        subject: "directory",
        purpose,
    };
    // A listing reads only: the event is committed first, so the audit chain is not held.
    Ok(authorise_read(&state.db, &signed.who(), request).await?)
}

/// Who approves changes in `locality`: its connectors, or where it has none, its lead.
async fn approval_of(state: &AppState, locality: Option<&str>) -> Result<Resource, AppError> {
    let connector_there = match locality {
        Some(l) => changes::has_connector(&state.db, l).await?,
        None => true,
    };
    Ok(Resource::ListingApproval {
        locality: locality.map(str::to_string),
        connector_there,
    })
}

fn edits_directory(signed: &Signed) -> bool {
    signed.user.actor.roles.iter().any(|r| {
        r.permissions()
            .contains(&earlyhelp_domain::roles::Permission::EditDirectory)
    })
}

struct Line {
    id: Uuid,
    name: String,
    organization: String,
    review_by: String,
    stale: bool,
    status: String,
    /// A change to it waits for approval.
    pending: bool,
}

struct PendingLine {
    id: Uuid,
    service_name: String,
    actor: String,
    actor_organisation: String,
    summary: String,
    at: String,
}

/// One of the proposer's own changes: waiting, approved, or rejected with why.
struct ProposalLine {
    service_name: String,
    summary: String,
    at: String,
    status: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "directory_manage.html")]
struct WorkspacePage {
    layout: Layout,
    locality_name: String,
    localities: Vec<SelectOption>,
    approver: bool,
    /// Keeps listings (not only approves them, as a lead where there is no connector).
    editor: bool,
    /// A connector (keeps the search's synonyms).
    connector: bool,
    due: Vec<Line>,
    listings: Vec<Line>,
    pending: Vec<PendingLine>,
    proposals: Vec<ProposalLine>,
    duplicate_count: usize,
    done: String,
}

fn line(l: store::ListingLine, today: time::Date, pending: &[Uuid]) -> Line {
    Line {
        id: l.id,
        name: l.name,
        organization: l.organization_name,
        stale: rules::is_stale(l.review_by, today),
        review_by: format_date(l.review_by),
        status: l.status,
        pending: pending.contains(&l.id),
    }
}

use crate::dates::when;

fn status_words(change: &ChangeRecord) -> String {
    match change.status.as_str() {
        "pending" => "Waiting for approval".into(),
        "approved" => "Approved".into(),
        "rejected" => "Rejected".into(),
        other => other.to_string(),
    }
}

/// The workspace's two lists of work in `locality`: listings due for review (for those who
/// edit the directory) and changes waiting for approval (for those who approve there), read
/// through the gate. The home page counts these same lists.
pub(crate) struct Work {
    pub authorised: Authorised,
    pub approver: bool,
    pub editor: bool,
    pub due: Vec<store::ListingLine>,
    pub pending: Vec<ChangeRecord>,
}

/// The gate to the work in `locality`, and whether the person approves and edits there.
async fn gate_work(
    state: &AppState,
    signed: &Signed,
    locality: Option<String>,
    purpose: &str,
) -> Result<(Authorised, bool, bool), AppError> {
    let approval = approval_of(state, locality.as_deref()).await?;
    let approver = locality.is_some()
        && earlyhelp_domain::access::decide(&signed.user.actor, Action::Update, &approval).allowed;
    let editor = edits_directory(signed);
    let authorised = if editor {
        gate_list(state, signed, locality, purpose).await?
    } else {
        // A lead who approves where there is no connector, and keeps no listings.
        let request = Request {
            action: Action::List,
            resource: approval,
            subject: "directory",
            purpose,
        };
        authorise_read(&state.db, &signed.who(), request).await?
    };
    Ok((authorised, approver, editor))
}

fn due_until() -> time::Date {
    store::today() + time::Duration::days(rules::DUE_SOON_DAYS)
}

pub(crate) async fn work(
    state: &AppState,
    signed: &Signed,
    locality: Option<String>,
    purpose: &str,
) -> Result<Work, AppError> {
    let (mut authorised, approver, editor) =
        gate_work(state, signed, locality.clone(), purpose).await?;
    let due = if editor {
        let scope: Vec<String> = locality.iter().cloned().collect();
        let own = signed.user.actor.organisation_id;
        store::due_for_review(&mut authorised, &scope, Some(own), due_until()).await?
    } else {
        Vec::new()
    };
    let pending = match (&locality, approver) {
        (Some(l), true) => changes::pending_changes(&mut authorised, l).await?,
        _ => Vec::new(),
    };
    Ok(Work {
        authorised,
        approver,
        editor,
        due,
        pending,
    })
}

/// The home page's numbers of [`work`]'s two lists, counted rather than loaded: (listings
/// due, changes waiting, whether the person approves there).
pub(crate) async fn work_counts(
    state: &AppState,
    signed: &Signed,
    locality: Option<String>,
    purpose: &str,
) -> Result<(i64, i64, bool), AppError> {
    let (mut authorised, approver, editor) =
        gate_work(state, signed, locality.clone(), purpose).await?;
    let own = signed.user.actor.organisation_id;
    let due = if editor {
        store::count_due_for_review(&mut authorised, locality.as_deref(), own, due_until()).await?
    } else {
        0
    };
    let pending = match (&locality, approver) {
        (Some(l), true) => changes::count_pending_changes(&mut authorised, l).await?,
        _ => 0,
    };
    authorised.tx.commit().await?;
    Ok((due, pending, approver))
}

/// The first locality of the person's, as the workspace opens on it.
pub(crate) fn first_locality(signed: &Signed) -> Option<String> {
    chosen_locality(signed, "")
}

async fn workspace(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<LocalityQuery>,
) -> Result<Html<String>, AppError> {
    let locality = chosen_locality(&signed, &query.locality);
    let Work {
        mut authorised,
        approver,
        editor,
        due,
        pending,
    } = work(&state, &signed, locality.clone(), "directory workspace").await?;
    let own = signed.user.actor.organisation_id;
    let today = store::today();
    let (listings, proposals) = if editor {
        let listings = store::listings(
            &mut authorised,
            if approver {
                locality.as_deref().unwrap_or("")
            } else {
                ""
            },
            Some(own),
        )
        .await?;
        let proposals =
            changes::proposals_of(&mut authorised, &signed.user.organisation_name).await?;
        (listings, proposals)
    } else {
        (Vec::new(), Vec::new())
    };
    authorised.tx.commit().await?;
    let waiting: Vec<Uuid> = pending
        .iter()
        .chain(proposals.iter().filter(|p| p.status == "pending"))
        .map(|c| c.service_id)
        .collect();
    let duplicate_count = match (&locality, approver && editor) {
        (Some(l), true) => store::duplicates(&state.db, l).await?.len(),
        _ => 0,
    };
    let all_localities = accounts::list_localities(&state.db).await?;
    let locality_name = locality
        .as_ref()
        .and_then(|slug| all_localities.iter().find(|l| &l.slug == slug))
        .map(|l| l.name.clone())
        .unwrap_or_else(|| signed.user.organisation_name.clone());
    let localities = all_localities
        .iter()
        .filter(|l| signed.user.actor.localities.contains(&l.slug))
        .map(|l| {
            SelectOption::new(
                l.slug.clone(),
                l.name.clone(),
                Some(&l.slug) == locality.as_ref(),
            )
        })
        .collect();
    let page = WorkspacePage {
        layout: Layout::for_user(&signed, "/directory/manage"),
        locality_name,
        localities,
        approver,
        editor,
        connector: signed
            .user
            .actor
            .roles
            .contains(&earlyhelp_domain::roles::Role::CommunityConnector),
        due: due.into_iter().map(|l| line(l, today, &waiting)).collect(),
        listings: listings
            .into_iter()
            .map(|l| line(l, today, &waiting))
            .collect(),
        pending: pending
            .into_iter()
            .map(|c| PendingLine {
                id: c.id,
                summary: if c.kind == "new" {
                    "A new listing".into()
                } else {
                    c.summary
                },
                service_name: c.service_name,
                actor: c.actor,
                actor_organisation: c.actor_organisation,
                at: when(c.at_micros),
            })
            .collect(),
        proposals: proposals
            .into_iter()
            .map(|c| ProposalLine {
                status: status_words(&c),
                summary: if c.kind == "new" {
                    "A new listing".into()
                } else {
                    c.summary.clone()
                },
                service_name: c.service_name,
                at: when(c.at_micros),
                reason: c.reason,
            })
            .collect(),
        duplicate_count,
        done: match query.done.as_str() {
            "saved" => "Your change is saved and shows on the public site.".into(),
            "pending" => "Your change is saved and waits for approval.".into(),
            "proposed" => "Your new listing waits for approval.".into(),
            "verified" => "The listing is marked as checked today.".into(),
            "approved" => "The change is approved and published.".into(),
            "rejected" => "The change is rejected. Whoever proposed it sees your reason.".into(),
            "merged" => "The two listings are merged.".into(),
            _ => String::new(),
        },
    };
    Ok(Html(page.render()?))
}

struct HistoryLine {
    at: String,
    who: String,
    kind: String,
    status: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "directory_edit.html")]
struct EditPage {
    layout: Layout,
    errors: Vec<FieldError>,
    /// None for a new listing.
    id: Option<Uuid>,
    provider: String,
    form: EditForm,
    statuses: Vec<SelectOption>,
    schedule_rows: Vec<ScheduleRow>,
    need_boxes: Vec<SelectOption>,
    /// A new listing's locality choices.
    localities: Vec<SelectOption>,
    applies_directly: bool,
    review_by: String,
    stale: bool,
    history: Vec<HistoryLine>,
}

impl EditPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }

    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/directory/manage/services/{id}"),
            None => "/directory/manage/new".into(),
        }
    }
}

fn listing_resource(service: &ServiceRecord) -> Resource {
    Resource::Listing {
        locality: service.locality_slug.clone(),
        owner_organisation: service.owner_organisation_id,
    }
}

async fn load(state: &AppState, id: Uuid) -> Result<ServiceRecord, AppError> {
    store::load_service(&state.db, id)
        .await?
        .filter(|s| s.merged_into.is_none())
        .ok_or(AppError::NotFound)
}

fn status_options(chosen: &str) -> Vec<SelectOption> {
    ["active", "temporarily closed", "inactive", "defunct"]
        .iter()
        .map(|s| SelectOption::new(*s, *s, chosen == *s))
        .collect()
}

fn form_page(signed: &Signed, form: EditForm, errors: Vec<FieldError>) -> EditPage {
    EditPage {
        layout: Layout::for_user(signed, "/directory/manage"),
        errors,
        id: None,
        provider: signed.user.organisation_name.clone(),
        statuses: status_options(&form.status),
        schedule_rows: form.schedule_rows(),
        need_boxes: form.need_boxes(),
        localities: Vec::new(),
        form,
        applies_directly: false,
        review_by: String::new(),
        stale: false,
        history: Vec::new(),
    }
}

fn render(page: EditPage) -> Result<Response, AppError> {
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn edit_page(
    state: &AppState,
    signed: &Signed,
    service: &ServiceRecord,
    form: EditForm,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let subject = format!("listing:{}", service.id);
    // Editing needs the right to change it; reading it here is part of that.
    let request = Request {
        action: Action::Update,
        resource: listing_resource(service),
        subject: &subject,
        purpose: "open a directory listing to edit",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    let history = changes::history(&mut authorised, service.id).await?;
    authorised.tx.commit().await?;
    let mut page = form_page(signed, form, errors);
    page.id = Some(service.id);
    page.provider = service.organization.name.clone();
    page.applies_directly =
        edit_applies_directly(&signed.user.actor, service.locality_slug.as_deref());
    page.review_by = format_date(service.review_by);
    page.stale = service.is_stale(store::today());
    page.history = history
        .into_iter()
        .map(|c| HistoryLine {
            at: when(c.at_micros),
            who: format!("{} ({})", c.actor, c.actor_organisation),
            kind: c.kind,
            status: match c.decided_by {
                Some(by) if c.status == "rejected" => {
                    format!("rejected by {by}: {}", c.reason)
                }
                Some(by) if c.status != "applied" => format!("{} by {by}", c.status),
                _ => c.status,
            },
            summary: c.summary,
        })
        .collect();
    render(page)
}

async fn edit_form(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let service = load(&state, id).await?;
    let form = EditForm::of(&ListingEdit::of(&service));
    edit_page(&state, &signed, &service, form, Vec::new()).await
}

async fn save_edit(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    MultiForm(form): MultiForm<EditForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let service = load(&state, id).await?;
    let edit = match form.check() {
        Ok(edit) => edit,
        Err(errors) => return edit_page(&state, &signed, &service, form, errors).await,
    };
    let before = ListingEdit::of(&service);
    let changed = edit.changes_from(&before);
    if changed.is_empty() {
        return Ok(Redirect::to("/directory/manage").into_response());
    }
    let subject = format!("listing:{id}");
    let request = Request {
        action: Action::Update,
        resource: listing_resource(&service),
        subject: &subject,
        purpose: "edit a directory listing",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    let direct = edit_applies_directly(&signed.user.actor, service.locality_slug.as_deref());
    let summary = summary_of(&changed);
    changes::record_change(
        &mut authorised,
        &NewChange {
            service_id: id,
            listing_name: &service.name,
            locality: service.locality_slug.as_deref(),
            actor: &signed.user.actor.email,
            actor_organisation: &signed.user.organisation_name,
            kind: "edit",
            status: if direct { "applied" } else { "pending" },
            summary: &summary,
            proposed: Some(&edit),
        },
    )
    .await?;
    if direct {
        changes::apply_edit(&mut authorised, &service, &edit).await?;
    }
    authorised.tx.commit().await?;
    let done = if direct { "saved" } else { "pending" };
    Ok(Redirect::to(&format!("/directory/manage?done={done}")).into_response())
}

/// The localities a new listing may be in: every one (a VCS worker's organisation may work
/// anywhere), the chosen one selected.
async fn locality_options(state: &AppState, chosen: &str) -> Result<Vec<SelectOption>, AppError> {
    let mut options = vec![SelectOption::new(
        "",
        "Choose a locality",
        chosen.is_empty(),
    )];
    options.extend(
        accounts::list_localities(&state.db)
            .await?
            .into_iter()
            .map(|l| SelectOption::new(l.slug.clone(), l.name, chosen == l.slug)),
    );
    Ok(options)
}

async fn new_page(
    state: &AppState,
    signed: &Signed,
    form: EditForm,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    // Only someone who keeps the directory proposes to it.
    gate_list(state, signed, None, "propose a new directory listing")
        .await?
        .tx
        .commit()
        .await?;
    let localities = locality_options(state, &form.locality).await?;
    let mut page = form_page(signed, form, errors);
    page.localities = localities;
    render(page)
}

async fn new_form(State(state): State<AppState>, signed: Signed) -> Result<Response, AppError> {
    let form = EditForm {
        status: "active".into(),
        free: "yes".into(),
        city: "Birmingham".into(),
        lists: "yes".into(),
        ..EditForm::default()
    };
    new_page(&state, &signed, form, Vec::new()).await
}

/// A new listing is proposed to whoever approves in its locality, and made when approved.
async fn propose_new(
    State(state): State<AppState>,
    signed: Signed,
    MultiForm(mut form): MultiForm<EditForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    form.lists = "yes".into();
    let localities = accounts::list_localities(&state.db).await?;
    let locality = localities
        .iter()
        .find(|l| l.slug == form.locality.trim())
        .map(|l| l.slug.clone());
    let checked = form.check();
    let edit = match (checked, &locality) {
        (Ok(edit), Some(_)) => edit,
        (checked, _) => {
            let mut errors = checked.err().unwrap_or_default();
            if locality.is_none() {
                errors.insert(
                    0,
                    FieldError::new("locality", "Choose the locality the service is in"),
                );
            }
            return new_page(&state, &signed, form, errors).await;
        }
    };
    let service_id = Uuid::now_v7();
    let subject = format!("listing:{service_id}");
    let request = Request {
        action: Action::Create,
        resource: Resource::Listing {
            locality: locality.clone(),
            owner_organisation: signed.user.actor.organisation_id,
        },
        subject: &subject,
        purpose: "propose a new directory listing",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    changes::record_change(
        &mut authorised,
        &NewChange {
            service_id,
            listing_name: &edit.name,
            locality: locality.as_deref(),
            actor: &signed.user.actor.email,
            actor_organisation: &signed.user.organisation_name,
            kind: "new",
            status: "pending",
            summary: "Proposed a new listing",
            proposed: Some(&edit),
        },
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/directory/manage?done=proposed").into_response())
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf_token: String,
}

async fn verify(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let service = load(&state, id).await?;
    let subject = format!("listing:{id}");
    let request = Request {
        action: Action::Update,
        resource: listing_resource(&service),
        subject: &subject,
        purpose: "mark a directory listing as checked",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    changes::verify(
        &mut authorised,
        id,
        &signed.user.actor.email,
        store::today(),
    )
    .await?;
    changes::record_change(
        &mut authorised,
        &NewChange {
            service_id: id,
            listing_name: &service.name,
            locality: service.locality_slug.as_deref(),
            actor: &signed.user.actor.email,
            actor_organisation: &signed.user.organisation_name,
            kind: "verify",
            status: "applied",
            summary: "Checked with the provider: still true",
            proposed: None,
        },
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/directory/manage?done=verified").into_response())
}

#[derive(Template)]
#[template(path = "directory_change.html")]
struct ChangePage {
    layout: Layout,
    errors: Vec<FieldError>,
    id: Uuid,
    service_name: String,
    /// The listing as it is (none for a new one).
    service_id: Option<Uuid>,
    new_listing: bool,
    actor: String,
    at: String,
    fields: Vec<FieldChange>,
    pending: bool,
    status: String,
    reason: String,
}

/// The change and what it proposes against the listing as it is now; a new listing against
/// an empty one.
async fn change_and_fields(
    state: &AppState,
    id: Uuid,
) -> Result<
    (
        ChangeRecord,
        Option<ServiceRecord>,
        ListingEdit,
        Vec<FieldChange>,
    ),
    AppError,
> {
    let change = changes::change(&state.db, id)
        .await?
        .filter(|c| c.kind == "edit" || c.kind == "new")
        .ok_or(AppError::NotFound)?;
    // A change proposed before links were checked may hold a website that is not one.
    let edit = change.proposal().ok_or_else(|| {
        AppError::Invalid(vec![FieldError::new(
            "change",
            "This change cannot be read as it stands (its website is not a web address): reject it and make the edit again",
        )])
    })?;
    let service = if change.kind == "edit" {
        Some(load(state, change.service_id).await?)
    } else {
        None
    };
    let before = service.as_ref().map(ListingEdit::of).unwrap_or_default();
    let fields = edit.changes_from(&before);
    Ok((change, service, edit, fields))
}

async fn change_page(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let (change, service, _, fields) = change_and_fields(state, id).await?;
    let subject = format!("listing:{}", change.service_id);
    let request = Request {
        action: Action::Read,
        resource: approval_of(state, change.locality_slug.as_deref()).await?,
        subject: &subject,
        purpose: "review a proposed change to a directory listing",
    };
    authorise(&state.db, &signed.who(), request)
        .await?
        .tx
        .commit()
        .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ChangePage {
        layout: Layout::for_user(signed, "/directory/manage"),
        errors,
        id,
        service_name: change.service_name.clone(),
        service_id: service.map(|s| s.id),
        new_listing: change.kind == "new",
        actor: format!("{}, {}", change.actor, change.actor_organisation),
        at: when(change.at_micros),
        fields,
        pending: change.status == "pending",
        status: status_words(&change),
        reason: change.reason,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn review(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    change_page(&state, &signed, id, Vec::new()).await
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, decision)): Path<(Uuid, String)>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::NotFound),
    };
    let reason = form.reason.trim();
    let mut problems: Vec<FieldError> = Vec::new();
    if !approve && reason.is_empty() {
        problems.push(FieldError::new(
            "reason",
            "Enter why you are rejecting the change: the person who proposed it will see it",
        ));
    }
    problems.extend(earlyhelp_domain::limits::too_long(
        "reason",
        "The reason",
        reason,
        earlyhelp_domain::limits::LINE,
    ));
    if !problems.is_empty() {
        return change_page(&state, &signed, id, problems).await;
    }
    let (change, service, edit, _) = change_and_fields(&state, id).await?;
    let subject = format!("listing:{}", change.service_id);
    let request = Request {
        action: Action::Update,
        resource: approval_of(&state, change.locality_slug.as_deref()).await?,
        subject: &subject,
        purpose: if approve {
            "approve a change to a directory listing"
        } else {
            "reject a change to a directory listing"
        },
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    match changes::decide_change(
        &mut authorised,
        id,
        approve,
        &signed.user.actor.email,
        reason,
    )
    .await
    {
        Ok(()) => {}
        Err(earlyhelp_storage::StorageError::Conflict(message)) => {
            return Err(AppError::Invalid(vec![FieldError::new("change", message)]));
        }
        Err(other) => return Err(other.into()),
    }
    if approve {
        match &service {
            Some(service) => changes::apply_edit(&mut authorised, service, &edit).await?,
            None => {
                let owner = changes::proposer_organisation(&state.db, &change.actor)
                    .await?
                    .ok_or_else(|| {
                        AppError::Invalid(vec![FieldError::new(
                            "change",
                            "The person who proposed this listing no longer has an account: reject it",
                        )])
                    })?;
                let mut decided = change.clone();
                decided.decided_by = Some(signed.user.actor.email.clone());
                changes::create_listing(&mut authorised, &decided, &edit, owner, store::today())
                    .await?;
            }
        }
    }
    authorised.tx.commit().await?;
    let done = if approve { "approved" } else { "rejected" };
    Ok(Redirect::to(&format!("/directory/manage?done={done}")).into_response())
}

#[derive(Template)]
#[template(path = "directory_synonyms.html")]
struct SynonymsPage {
    layout: Layout,
    errors: Vec<FieldError>,
    groups: Vec<search_synonyms::SynonymGroup>,
    phrases: String,
    done: String,
}

impl SynonymsPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// Keeping the synonyms is a connector's, of any locality: the gate asks as for their first.
async fn gate_synonyms(
    state: &AppState,
    signed: &Signed,
    action: Action,
    purpose: &str,
) -> Result<Authorised, AppError> {
    let request = Request {
        action,
        resource: Resource::ListingApproval {
            locality: signed.user.actor.localities.first().cloned(),
            connector_there: true,
        },
        subject: "directory synonyms",
        purpose,
    };
    Ok(authorise(&state.db, &signed.who(), request).await?)
}

async fn synonyms_page(
    state: &AppState,
    signed: &Signed,
    phrases: String,
    errors: Vec<FieldError>,
    done: &str,
) -> Result<Response, AppError> {
    gate_synonyms(state, signed, Action::List, "search synonyms")
        .await?
        .tx
        .commit()
        .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SynonymsPage {
        layout: Layout::for_user(signed, "/directory/manage"),
        errors,
        groups: search_synonyms::list(&state.db).await?,
        phrases,
        done: done.to_string(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn synonyms(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<LocalityQuery>,
) -> Result<Response, AppError> {
    let done = match query.done.as_str() {
        "added" => "The words are added. Every listing that says one of them now shows for each.",
        "removed" => "The words are removed.",
        _ => "",
    };
    synonyms_page(&state, &signed, String::new(), Vec::new(), done).await
}

#[derive(Deserialize)]
struct SynonymForm {
    csrf_token: String,
    #[serde(default)]
    phrases: String,
}

async fn add_synonyms(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<SynonymForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let phrases = match earlyhelp_domain::search_words::parse_group(&form.phrases) {
        Ok(p) => p,
        Err(message) => {
            let errors = vec![FieldError::new("phrases", message)];
            return synonyms_page(&state, &signed, form.phrases, errors, "").await;
        }
    };
    let mut authorised =
        gate_synonyms(&state, &signed, Action::Update, "add search synonyms").await?;
    search_synonyms::add(&mut authorised, &phrases, &signed.user.actor.email).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/directory/manage/synonyms?done=added").into_response())
}

async fn remove_synonyms(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let mut authorised =
        gate_synonyms(&state, &signed, Action::Update, "remove search synonyms").await?;
    search_synonyms::remove(&mut authorised, id).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/directory/manage/synonyms?done=removed").into_response())
}

struct PairView {
    first: (Uuid, String, String, String),
    second: (Uuid, String, String, String),
    score: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "directory_duplicates.html")]
struct DuplicatesPage {
    layout: Layout,
    locality_name: String,
    pairs: Vec<PairView>,
}

async fn duplicates(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<LocalityQuery>,
) -> Result<Html<String>, AppError> {
    let locality = chosen_locality(&signed, &query.locality);
    let request = Request {
        action: Action::List,
        resource: Resource::ListingApproval {
            locality: locality.clone(),
            connector_there: true,
        },
        subject: "directory",
        purpose: "review likely duplicate listings",
    };
    authorise(&state.db, &signed.who(), request)
        .await?
        .tx
        .commit()
        .await?;
    let locality = locality.ok_or(AppError::Forbidden)?;
    let pairs = store::duplicates(&state.db, &locality).await?;
    let describe = |s: &ServiceRecord| {
        (
            s.id,
            s.name.clone(),
            s.organization.name.clone(),
            format!(
                "{} · {} · checked {}",
                s.phone.clone().unwrap_or_default(),
                s.locations
                    .first()
                    .and_then(|l| l.postcode.clone())
                    .unwrap_or_default(),
                s.assured_date
                    .map(format_date)
                    .unwrap_or_else(|| "never".into())
            ),
        )
    };
    let names = accounts::list_localities(&state.db).await?;
    Ok(Html(
        DuplicatesPage {
            layout: Layout::for_user(&signed, "/directory/manage"),
            locality_name: names
                .iter()
                .find(|l| l.slug == locality)
                .map(|l| l.name.clone())
                .unwrap_or(locality),
            pairs: pairs
                .iter()
                .map(|p| PairView {
                    first: describe(&p.first),
                    second: describe(&p.second),
                    score: format!("{:.0}%", p.score.score * 100.0),
                    reasons: p.score.reasons.join(", "),
                })
                .collect(),
        }
        .render()?,
    ))
}

#[derive(Deserialize)]
struct MergeForm {
    csrf_token: String,
    keep: Uuid,
    duplicate: Uuid,
    #[serde(default)]
    decision: String,
}

async fn merge(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<MergeForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let keep = load(&state, form.keep).await?;
    let duplicate = load(&state, form.duplicate).await?;
    if keep.locality_slug != duplicate.locality_slug {
        return Err(AppError::Invalid(vec![FieldError::new(
            "duplicate",
            "Only listings in the same locality can be merged",
        )]));
    }
    let subject = format!("listing:{}", duplicate.id);
    let request = Request {
        action: Action::Update,
        resource: Resource::ListingApproval {
            locality: keep.locality_slug.clone(),
            connector_there: true,
        },
        subject: &subject,
        purpose: "merge duplicate directory listings",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    if form.decision == "different" {
        store::not_duplicates(&mut authorised, keep.id, duplicate.id).await?;
        authorised.tx.commit().await?;
        return Ok(Redirect::to("/directory/manage/duplicates").into_response());
    }
    match store::merge(&mut authorised, keep.id, duplicate.id).await {
        Ok(()) => {}
        Err(earlyhelp_storage::StorageError::Conflict(message)) => {
            return Err(AppError::Invalid(vec![FieldError::new(
                "duplicate",
                message,
            )]));
        }
        Err(other) => return Err(other.into()),
    }
    for (service_id, summary) in [
        (
            keep.id,
            format!("Merged with its twin \"{}\"", duplicate.name),
        ),
        (duplicate.id, format!("Merged into \"{}\"", keep.name)),
    ] {
        changes::record_change(
            &mut authorised,
            &NewChange {
                service_id,
                listing_name: if service_id == keep.id {
                    &keep.name
                } else {
                    &duplicate.name
                },
                locality: keep.locality_slug.as_deref(),
                actor: &signed.user.actor.email,
                actor_organisation: &signed.user.organisation_name,
                kind: "merge",
                status: "applied",
                summary: &summary,
                proposed: None,
            },
        )
        .await?;
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to("/directory/manage?done=merged").into_response())
}

async fn export(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<LocalityQuery>,
) -> Result<Response, AppError> {
    let locality = chosen_locality(&signed, &query.locality).ok_or(AppError::Forbidden)?;
    gate_list(
        &state,
        &signed,
        Some(locality.clone()),
        "export directory listings as CSV",
    )
    .await?
    .tx
    .commit()
    .await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    for id in store::all_service_ids(&state.db, &locality).await? {
        if let Some(service) = store::load_service(&state.db, id).await? {
            writer
                .serialize(ServiceRow::of(&service))
                .map_err(|e| AppError::Internal(e.into()))?;
        }
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"directory-{locality}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}
