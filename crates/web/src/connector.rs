//! The workspace of the people who keep the directory true. Community connectors keep the
//! listings of their localities: a "due for review" queue, changes waiting for their approval,
//! likely duplicates to merge, and a CSV export. VCS workers edit their own organisation's
//! listings; their changes wait for a connector. Every read and change passes the gate.

use crate::AppState;
use crate::directory::format_date;
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
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
use earlyhelp_storage::directory::{
    self as store, ListingEdit, NewChange, ServiceRecord, ServiceRow,
};
use earlyhelp_storage::gate::{Authorised, Request, authorise};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/directory/manage", get(workspace))
        .long_form(
            "/directory/manage/services/{id}",
            get(edit_form).post(save_edit),
        )
        .route("/directory/manage/services/{id}/verify", post(verify))
        .route("/directory/manage/changes/{id}/{decision}", post(decide))
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
    Ok(authorise(&state.db, &signed.who(), request).await?)
}

struct Line {
    id: Uuid,
    name: String,
    organization: String,
    review_by: String,
    stale: bool,
    status: String,
}

struct PendingLine {
    id: Uuid,
    service_id: Uuid,
    service_name: String,
    actor: String,
    actor_organisation: String,
    summary: String,
    at: String,
}

#[derive(Template)]
#[template(path = "directory_manage.html")]
struct WorkspacePage {
    layout: Layout,
    locality_name: String,
    localities: Vec<SelectOption>,
    approver: bool,
    due: Vec<Line>,
    listings: Vec<Line>,
    pending: Vec<PendingLine>,
    duplicate_count: usize,
    done: String,
}

fn line(l: store::ListingLine, today: time::Date) -> Line {
    Line {
        id: l.id,
        name: l.name,
        organization: l.organization_name,
        stale: rules::is_stale(l.review_by, today),
        review_by: format_date(l.review_by),
        status: l.status,
    }
}

fn when(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .map(|t| {
            format!(
                "{} {:02}:{:02}",
                format_date(t.date()),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

async fn workspace(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<LocalityQuery>,
) -> Result<Html<String>, AppError> {
    let locality = chosen_locality(&signed, &query.locality);
    let approver = locality
        .as_deref()
        .is_some_and(|l| edit_applies_directly(&signed.user.actor, Some(l)));
    let own = signed.user.actor.organisation_id;
    let today = store::today();
    let mut authorised =
        gate_list(&state, &signed, locality.clone(), "directory workspace").await?;
    let scope: Vec<String> = locality.iter().cloned().collect();
    let due = store::due_for_review(
        &mut authorised,
        &scope,
        Some(own),
        today + time::Duration::days(rules::DUE_SOON_DAYS),
    )
    .await?;
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
    let pending = match (&locality, approver) {
        (Some(l), true) => store::pending_changes(&mut authorised, l).await?,
        _ => Vec::new(),
    };
    authorised.tx.commit().await?;
    let duplicate_count = match (&locality, approver) {
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
        due: due.into_iter().map(|l| line(l, today)).collect(),
        listings: listings.into_iter().map(|l| line(l, today)).collect(),
        pending: pending
            .into_iter()
            .map(|c| PendingLine {
                id: c.id,
                service_id: c.service_id,
                service_name: c.service_name,
                actor: c.actor,
                actor_organisation: c.actor_organisation,
                summary: c.summary,
                at: when(c.at_micros),
            })
            .collect(),
        duplicate_count,
        done: match query.done.as_str() {
            "saved" => "Your change is saved and shows on the public site.".into(),
            "pending" => {
                "Your change is saved and waits for a community connector to approve it.".into()
            }
            "verified" => "The listing is marked as checked today.".into(),
            "approved" => "The change is approved and published.".into(),
            "rejected" => "The change is rejected.".into(),
            "merged" => "The two listings are merged.".into(),
            _ => String::new(),
        },
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize, Default)]
struct EditForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    minimum_age: String,
    #[serde(default)]
    maximum_age: String,
    #[serde(default)]
    free: String,
    #[serde(default)]
    fees_description: String,
}

impl EditForm {
    fn of(edit: &ListingEdit) -> EditForm {
        EditForm {
            csrf_token: String::new(),
            name: edit.name.clone(),
            description: edit.description.clone(),
            url: edit
                .url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            email: edit.email.clone().unwrap_or_default(),
            phone: edit.phone.clone().unwrap_or_default(),
            status: edit.status.clone(),
            minimum_age: edit.minimum_age.map(|a| a.to_string()).unwrap_or_default(),
            maximum_age: edit.maximum_age.map(|a| a.to_string()).unwrap_or_default(),
            free: if edit.free { "yes" } else { "no" }.into(),
            fees_description: edit.fees_description.clone().unwrap_or_default(),
        }
    }

    fn check(&self) -> Result<ListingEdit, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("name", "Enter the name of the service"));
        }
        use earlyhelp_domain::limits::{LINE, SERVICE_DESCRIPTION, too_long};
        errors.extend(too_long("name", "The name", &self.name, LINE));
        let description = &self.description;
        errors.extend(too_long(
            "description",
            "What the service is",
            description,
            SERVICE_DESCRIPTION,
        ));
        errors.extend(too_long(
            "fees_description",
            "The cost",
            &self.fees_description,
            LINE,
        ));
        let status = self.status.trim();
        if !["active", "inactive", "defunct", "temporarily closed"].contains(&status) {
            errors.push(FieldError::new(
                "status",
                "Choose whether the service is running",
            ));
        }
        let age = |raw: &str, field: &'static str, errors: &mut Vec<FieldError>| match raw.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(a) if (0..=120).contains(&a) => Some(a),
                _ => {
                    errors.push(FieldError::new(
                        field,
                        "Enter an age in whole years, like 11",
                    ));
                    None
                }
            },
        };
        let minimum_age = age(&self.minimum_age, "minimum_age", &mut errors);
        let maximum_age = age(&self.maximum_age, "maximum_age", &mut errors);
        if let (Some(min), Some(max)) = (minimum_age, maximum_age)
            && min > max
        {
            errors.push(FieldError::new(
                "maximum_age",
                "The oldest age must be the same as or more than the youngest",
            ));
        }
        let email = match self.email.trim() {
            "" => None,
            raw => match earlyhelp_domain::people::normalise_email(raw) {
                Some(e) => Some(e),
                None => {
                    errors.push(FieldError::new(
                        "email",
                        "Enter an email address like name@example.org",
                    ));
                    None
                }
            },
        };
        let url = earlyhelp_domain::links::optional_link(&self.url).unwrap_or_else(|e| {
            errors.push(FieldError::new("url", format!("The website {e}")));
            None
        });
        let free = self.free == "yes";
        if !errors.is_empty() {
            return Err(errors);
        }
        let optional = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        Ok(ListingEdit {
            name: self.name.trim().to_string(),
            description: self.description.trim().to_string(),
            url,
            email,
            phone: optional(&self.phone),
            status: status.to_string(),
            minimum_age,
            maximum_age,
            free,
            fees_description: if free {
                None
            } else {
                optional(&self.fees_description)
            },
        })
    }
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
    id: Uuid,
    provider: String,
    form: EditForm,
    statuses: Vec<SelectOption>,
    applies_directly: bool,
    review_by: String,
    stale: bool,
    history: Vec<HistoryLine>,
}

impl EditPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
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
    let history = store::history(&mut authorised, service.id).await?;
    authorised.tx.commit().await?;
    let statuses = ["active", "temporarily closed", "inactive", "defunct"]
        .iter()
        .map(|s| SelectOption::new(*s, *s, form.status == *s))
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EditPage {
        layout: Layout::for_user(signed, "/directory/manage"),
        errors,
        id: service.id,
        provider: service.organization.name.clone(),
        form,
        statuses,
        applies_directly: edit_applies_directly(
            &signed.user.actor,
            service.locality_slug.as_deref(),
        ),
        review_by: format_date(service.review_by),
        stale: service.is_stale(store::today()),
        history: history
            .into_iter()
            .map(|c| HistoryLine {
                at: when(c.at_micros),
                who: format!("{} ({})", c.actor, c.actor_organisation),
                kind: c.kind,
                status: match c.decided_by {
                    Some(by) if c.status != "applied" => format!("{} by {by}", c.status),
                    _ => c.status,
                },
                summary: c.summary,
            })
            .collect(),
    };
    Ok((status, Html(page.render()?)).into_response())
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
    Form(form): Form<EditForm>,
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
    let summary = format!("Changed {}", changed.join(", "));
    store::record_change(
        &mut authorised,
        &NewChange {
            service_id: id,
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
        store::apply_edit(&mut authorised, &service, &edit).await?;
    }
    authorised.tx.commit().await?;
    let done = if direct { "saved" } else { "pending" };
    Ok(Redirect::to(&format!("/directory/manage?done={done}")).into_response())
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
    store::verify(
        &mut authorised,
        id,
        &signed.user.actor.email,
        store::today(),
    )
    .await?;
    store::record_change(
        &mut authorised,
        &NewChange {
            service_id: id,
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

async fn decide(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, decision)): Path<(Uuid, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::NotFound),
    };
    let change = store::change(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let service = load(&state, change.service_id).await?;
    let subject = format!("listing:{}", service.id);
    let request = Request {
        action: Action::Update,
        resource: Resource::ListingApproval {
            locality: service.locality_slug.clone(),
        },
        subject: &subject,
        purpose: if approve {
            "approve a change to a directory listing"
        } else {
            "reject a change to a directory listing"
        },
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    match store::decide_change(&mut authorised, id, approve, &signed.user.actor.email).await {
        Ok(()) => {}
        Err(earlyhelp_storage::StorageError::Conflict(message)) => {
            return Err(AppError::Invalid(vec![FieldError::new("change", message)]));
        }
        Err(other) => return Err(other.into()),
    }
    if approve {
        // A change proposed before links were checked may hold a website that is not one.
        let edit: ListingEdit = serde_json::from_str(&change.proposed).map_err(|_| {
            AppError::Invalid(vec![FieldError::new(
                "change",
                "This change cannot be applied as it stands (its website is not a web address): reject it and make the edit again",
            )])
        })?;
        store::apply_edit(&mut authorised, &service, &edit).await?;
    }
    authorised.tx.commit().await?;
    let done = if approve { "approved" } else { "rejected" };
    Ok(Redirect::to(&format!("/directory/manage?done={done}")).into_response())
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
        store::record_change(
            &mut authorised,
            &NewChange {
                service_id,
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
