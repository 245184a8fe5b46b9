//! Administration: users, organisations and localities. Every read and change goes through
//! the gate; the forms follow the GOV.UK error-summary pattern.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, MultiForm, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption, error_for};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::people::{
    FieldError, OrganisationKind, check_new_password, normalise_email, slugify,
};
use earlyhelp_domain::roles::{Role, check_role_set};
use earlyhelp_storage::accounts::{self, GrantedBy, Locality, NewOrganisation, NewUser};
use earlyhelp_storage::gate::{Request, authorise};
use earlyhelp_storage::second_factor;
use earlyhelp_storage::secrets::hash_password;
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/new", get(new_user))
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/access", post(ask_for_access))
        .route("/admin/users/{id}/deactivate", post(deactivate_user))
        .route(
            "/admin/users/{id}/second-factor/reset",
            post(reset_second_factor),
        )
        .route(
            "/admin/organisations",
            get(organisations).post(create_organisation),
        )
        .long_form("/admin/localities", get(localities).post(save_locality))
}

struct UserLine {
    id: Uuid,
    name: String,
    email: String,
    organisation: String,
    roles: String,
    /// Access asked for that waits for a second person.
    waiting: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserLine>,
    /// The filter chosen.
    only: UsersOnly,
}

/// Which accounts the users list shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UsersOnly {
    Everyone,
    /// Locked after repeated failed sign-ins.
    Locked,
    /// Active but not signed in for [`accounts::UNUSED_DAYS`].
    Unused,
}

/// The users list's filters, each linked from the home page: `locked=yes` shows only locked
/// accounts, `unused=yes` only active accounts unused for 90 days.
#[derive(Deserialize, Default)]
struct UsersQuery {
    #[serde(default)]
    locked: String,
    #[serde(default)]
    unused: String,
}

impl UsersQuery {
    fn only(&self) -> Result<UsersOnly, AppError> {
        let yes = |field: &'static str, value: &str| match value.trim() {
            "" => Ok(false),
            "yes" => Ok(true),
            _ => Err(AppError::Invalid(vec![FieldError::new(
                field,
                format!("Choose {field}=yes or no filter"),
            )])),
        };
        Ok(
            match (yes("locked", &self.locked)?, yes("unused", &self.unused)?) {
                (true, _) => UsersOnly::Locked,
                (false, true) => UsersOnly::Unused,
                (false, false) => UsersOnly::Everyone,
            },
        )
    }
}

/// Accounts locked now, by email.
pub(crate) async fn locked_emails(
    state: &AppState,
    authorised: &mut earlyhelp_storage::gate::Authorised,
) -> Result<Vec<String>, AppError> {
    let window = state.config.lockout_window.as_micros() as i64;
    Ok(accounts::locked_emails(authorised, state.config.lockout_threshold, window).await?)
}

fn list_request<'a>(signed: &Signed, subject: &'a str, purpose: &'a str) -> Request<'a> {
    Request {
        action: Action::List,
        resource: Resource::UserAccount {
            user_id: None,
            organisation_id: signed.user.actor.organisation_id,
        },
        subject,
        purpose,
    }
}

async fn users(
    State(state): State<AppState>,
    signed: Signed,
    crate::extract::Query(query): crate::extract::Query<UsersQuery>,
) -> Result<Html<String>, AppError> {
    let only = query.only()?;
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        list_request(&signed, "users", "user administration"),
    )
    .await?;
    let mut rows = accounts::list_users(&mut authorised).await?;
    match only {
        UsersOnly::Locked => {
            let locked = locked_emails(&state, &mut authorised).await?;
            rows.retain(|row| locked.contains(&row.email));
        }
        UsersOnly::Unused => {
            let now = earlyhelp_storage::now_micros();
            rows.retain(|row| row.unused(now));
        }
        UsersOnly::Everyone => {}
    }
    let roles = accounts::roles_by_user(&mut authorised).await?;
    let grants = accounts::list_grants(&mut authorised, None, i64::MAX).await?;
    authorised.tx.commit().await?;
    let users = rows
        .into_iter()
        .map(|row| UserLine {
            roles: roles
                .iter()
                .filter(|(user_id, _)| *user_id == row.id)
                .filter_map(|(_, slug)| Role::from_slug(slug).map(Role::label))
                .collect::<Vec<_>>()
                .join(", "),
            waiting: grants
                .iter()
                .filter(|g| g.user_id == row.id && g.pending())
                .map(crate::access_requests::access_words)
                .collect::<Vec<_>>()
                .join(", "),
            id: row.id,
            name: row.name,
            email: row.email,
            organisation: row.organisation_name,
            active: row.active,
        })
        .collect();
    Ok(Html(
        UsersPage {
            layout: Layout::for_user(&signed, "/admin/users"),
            only,
            users,
        }
        .render()?,
    ))
}

#[derive(Deserialize, Default)]
struct UserForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    localities: Vec<String>,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "user_new.html")]
struct NewUserPage {
    layout: Layout,
    errors: Vec<FieldError>,
    form: UserForm,
    organisations: Vec<SelectOption>,
    roles: Vec<SelectOption>,
    localities: Vec<SelectOption>,
}

impl NewUserPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn new_user_page(
    state: &AppState,
    signed: &Signed,
    form: UserForm,
    errors: Vec<FieldError>,
) -> Result<NewUserPage, AppError> {
    let mut organisations = vec![SelectOption::new(
        "",
        "Choose an organisation",
        form.organisation.is_empty(),
    )];
    organisations.extend(
        accounts::list_organisations(&state.db)
            .await?
            .into_iter()
            .map(|org| {
                SelectOption::new(
                    org.id.to_string(),
                    org.name,
                    org.id.to_string() == form.organisation,
                )
            }),
    );
    let roles = Role::ALL
        .iter()
        .map(|role| {
            SelectOption::new(
                role.slug(),
                role.label(),
                form.roles.iter().any(|r| r == role.slug()),
            )
        })
        .collect();
    let localities = accounts::list_localities(&state.db)
        .await?
        .into_iter()
        .map(|l| SelectOption::new(l.slug.clone(), l.name, form.localities.contains(&l.slug)))
        .collect();
    Ok(NewUserPage {
        layout: Layout::for_user(signed, "/admin/users"),
        errors,
        form,
        organisations,
        roles,
        localities,
    })
}

async fn new_user(State(state): State<AppState>, signed: Signed) -> Result<Html<String>, AppError> {
    // Showing the form reveals nothing protected, but only administrators may use it.
    let authorised = authorise(
        &state.db,
        &signed.who(),
        list_request(&signed, "users", "open the add-user form"),
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(Html(
        new_user_page(&state, &signed, UserForm::default(), vec![])
            .await?
            .render()?,
    ))
}

/// Checks roles and localities asked for an account that holds `held` (in effect or waiting):
/// at least one role, known localities, a locality for a lead, no case role for an administrator.
async fn check_access(
    state: &AppState,
    roles: &[Role],
    held: &[Role],
    localities: &[String],
) -> Result<(), FieldError> {
    if roles.is_empty() {
        return Err(FieldError::new("roles", "Choose at least one role"));
    }
    let all = [held, roles].concat();
    check_role_set(&all).map_err(|message| FieldError::new("roles", message))?;
    let known = accounts::list_localities(&state.db)
        .await
        .map(|ls| localities.iter().all(|l| ls.iter().any(|k| &k.slug == l)))
        .unwrap_or(false);
    if !known {
        return Err(FieldError::new(
            "localities",
            "Choose localities from the list",
        ));
    }
    if roles.contains(&Role::LocalityLead) && localities.is_empty() {
        return Err(FieldError::new(
            "localities",
            "Choose the localities a locality lead leads",
        ));
    }
    Ok(())
}

/// Checks the form; on success gives the user to create.
async fn validate_user(state: &AppState, form: &UserForm) -> Result<NewUser, Vec<FieldError>> {
    let mut errors = Vec::new();
    if form.name.trim().is_empty() {
        errors.push(FieldError::new("name", "Enter the person's full name"));
    }
    let email = normalise_email(&form.email);
    if email.is_none() {
        errors.push(FieldError::new(
            "email",
            "Enter an email address in the correct format, like name@example.org",
        ));
    }
    let organisation_id = Uuid::parse_str(&form.organisation).ok();
    let known_organisation = match organisation_id {
        Some(id) => accounts::list_organisations(&state.db)
            .await
            .map(|orgs| orgs.iter().any(|o| o.id == id))
            .unwrap_or(false),
        None => false,
    };
    if !known_organisation {
        errors.push(FieldError::new(
            "organisation",
            "Choose the organisation they work for",
        ));
    }
    let roles: Vec<Role> = form
        .roles
        .iter()
        .filter_map(|r| Role::from_slug(r))
        .collect();
    if let Err(error) = check_access(state, &roles, &[], &form.localities).await {
        errors.push(error);
    }
    if let Err(error) = check_new_password(&form.password) {
        errors.push(error);
    }
    match (email, organisation_id) {
        (Some(email), Some(organisation_id)) if errors.is_empty() => Ok(NewUser {
            email,
            name: form.name.trim().to_string(),
            organisation_id,
            password_hash: String::new(),
            roles,
            localities: form.localities.clone(),
        }),
        _ => Err(errors),
    }
}

async fn create_user(
    State(state): State<AppState>,
    signed: Signed,
    MultiForm(form): MultiForm<UserForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let mut new = match validate_user(&state, &form).await {
        Ok(new) => new,
        Err(errors) => {
            let page = new_user_page(&state, &signed, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
    };
    let id = Uuid::now_v7();
    let subject = format!("user:{id}");
    let request = Request {
        action: Action::Create,
        resource: Resource::UserAccount {
            user_id: Some(id),
            organisation_id: new.organisation_id,
        },
        subject: &subject,
        purpose: "user administration: add account (its roles wait for a second person)",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    let password = form.password.clone();
    new.password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(anyhow::Error::from)?;
    let by = GrantedBy::Request(signed.user.actor.user_id);
    match accounts::create_user(&mut authorised, id, &new, by).await {
        Ok(()) => {
            authorised.tx.commit().await?;
            state.case_workers.forget();
            Ok(Redirect::to("/admin/users").into_response())
        }
        Err(earlyhelp_storage::StorageError::Conflict(message)) => {
            let page = new_user_page(
                &state,
                &signed,
                form,
                vec![FieldError::new("email", message)],
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
struct AccessForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    localities: Vec<String>,
}

#[derive(Template)]
#[template(path = "user_access.html")]
struct UserPage {
    layout: Layout,
    errors: Vec<FieldError>,
    account: accounts::Account,
    role_names: String,
    locality_names: String,
    requests: Vec<crate::access_requests::RequestLine>,
    roles: Vec<SelectOption>,
    localities: Vec<SelectOption>,
    /// Whether the person has set up a second factor (an administrator may reset it).
    second_factor: bool,
}

impl UserPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

/// Through the gate to account `id`, as an administrator: `NotFound` if there is none.
async fn open_account(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    action: Action,
    purpose: &str,
) -> Result<earlyhelp_storage::gate::Authorised, AppError> {
    let organisation_id = accounts::user_organisation(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = format!("user:{id}");
    let request = Request {
        action,
        resource: Resource::UserAccount {
            user_id: Some(id),
            organisation_id,
        },
        subject: &subject,
        purpose,
    };
    Ok(authorise(&state.db, &signed.who(), request).await?)
}

async fn render_user_page(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    form: AccessForm,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let mut authorised = open_account(
        state,
        signed,
        id,
        Action::Read,
        "user administration: account",
    )
    .await?;
    let account = accounts::account(&mut authorised, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let grants = accounts::list_grants(&mut authorised, Some(id), 500).await?;
    authorised.tx.commit().await?;
    let all_localities = accounts::list_localities(&state.db).await?;
    let second_factor = second_factor::of_user(&state.db, id)
        .await?
        .is_some_and(|f| f.confirmed());
    let page = UserPage {
        second_factor,
        layout: Layout::for_user(signed, "/admin/users"),
        errors,
        role_names: account
            .roles
            .iter()
            .map(|r| r.label())
            .collect::<Vec<_>>()
            .join(", "),
        locality_names: all_localities
            .iter()
            .filter(|l| account.localities.contains(&l.slug))
            .map(|l| l.name.clone())
            .collect::<Vec<_>>()
            .join(", "),
        account,
        requests: grants
            .iter()
            .map(|g| crate::access_requests::line(g, false))
            .collect(),
        roles: Role::ALL
            .iter()
            .map(|r| {
                SelectOption::new(
                    r.slug(),
                    r.label(),
                    form.roles.iter().any(|f| f == r.slug()),
                )
            })
            .collect(),
        localities: all_localities
            .into_iter()
            .map(|l| SelectOption::new(l.slug.clone(), l.name, form.localities.contains(&l.slug)))
            .collect(),
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn user_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_user_page(&state, &signed, id, AccessForm::default(), vec![]).await
}

/// Asks for more roles or localities for an account: they wait for a second person.
async fn ask_for_access(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    MultiForm(form): MultiForm<AccessForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let roles: Vec<Role> = form
        .roles
        .iter()
        .filter_map(|r| Role::from_slug(r))
        .collect();
    // What they hold and what already waits both count towards the administrator rule.
    let mut held = accounts::roles_in_effect(&state.db, id).await?;
    held.extend(accounts::waiting_roles(&state.db, id).await?);
    if let Err(error) = check_access(&state, &roles, &held, &form.localities).await {
        return render_user_page(&state, &signed, id, form, vec![error]).await;
    }
    let grants = accounts::grants_for(&roles, &form.localities);
    let purpose = format!(
        "user administration: ask for {} (waits for a second person)",
        grants
            .iter()
            .map(|(role, locality)| match locality {
                Some(l) => format!("{} in {l}", role.slug()),
                None => role.slug().to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut authorised = open_account(&state, &signed, id, Action::Update, &purpose).await?;
    let asked =
        accounts::request_access(&mut authorised, id, &grants, signed.user.actor.user_id).await?;
    if asked == 0 {
        drop(authorised);
        let error = FieldError::new(
            "roles",
            "They already have that access, or it is already waiting for approval",
        );
        return render_user_page(&state, &signed, id, form, vec![error]).await;
    }
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf_token: String,
}

/// Removes a person's second factor and recovery codes (a lost phone) and ends their sessions:
/// they set up a new one at their next sign-in. Audited by the gate as a change to the account.
async fn reset_second_factor(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let mut authorised = open_account(
        &state,
        &signed,
        id,
        Action::Update,
        "user administration: reset second factor",
    )
    .await?;
    second_factor::reset(&mut authorised, id).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

async fn deactivate_user(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let organisation_id = accounts::user_organisation(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = format!("user:{id}");
    let request = Request {
        action: Action::Update,
        resource: Resource::UserAccount {
            user_id: Some(id),
            organisation_id,
        },
        subject: &subject,
        purpose: "user administration: deactivate account",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    accounts::set_user_active(&mut authorised, id, false).await?;
    authorised.tx.commit().await?;
    state.case_workers.forget();
    Ok(Redirect::to("/admin/users").into_response())
}

struct OrganisationLine {
    name: String,
    kind: String,
    locality: String,
    charity_number: String,
    company_number: String,
    leads_locality: bool,
}

#[derive(Deserialize, Default)]
struct OrganisationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    locality: String,
    #[serde(default)]
    charity_number: String,
    #[serde(default)]
    company_number: String,
}

#[derive(Template)]
#[template(path = "organisations.html")]
struct OrganisationsPage {
    layout: Layout,
    errors: Vec<FieldError>,
    organisations: Vec<OrganisationLine>,
    form: OrganisationForm,
    kinds: Vec<SelectOption>,
    localities: Vec<SelectOption>,
}

impl OrganisationsPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn organisations_page(
    state: &AppState,
    signed: &Signed,
    form: OrganisationForm,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let all_localities = accounts::list_localities(&state.db).await?;
    let locality_name = |slug: &Option<String>| {
        slug.as_ref()
            .and_then(|s| all_localities.iter().find(|l| &l.slug == s))
            .map(|l| l.name.clone())
            .unwrap_or_default()
    };
    let organisations = accounts::list_organisations(&state.db)
        .await?
        .into_iter()
        .map(|org| OrganisationLine {
            locality: locality_name(&org.locality_slug),
            kind: OrganisationKind::from_slug(&org.kind)
                .map(|k| k.label().to_string())
                .unwrap_or(org.kind),
            name: org.name,
            charity_number: org.charity_number.unwrap_or_default(),
            company_number: org.company_number.unwrap_or_default(),
            leads_locality: org.leads_locality,
        })
        .collect();
    let kinds = OrganisationKind::ALL
        .iter()
        .map(|k| SelectOption::new(k.slug(), k.label(), form.kind == k.slug()))
        .collect();
    let mut localities = vec![SelectOption::new("", "City-wide", form.locality.is_empty())];
    localities.extend(
        all_localities
            .iter()
            .map(|l| SelectOption::new(l.slug.clone(), l.name.clone(), form.locality == l.slug)),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = OrganisationsPage {
        layout: Layout::for_user(signed, "/admin/organisations"),
        errors,
        organisations,
        form,
        kinds,
        localities,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn organisations(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::Organisation,
        subject: "organisations",
        purpose: "organisation administration",
    };
    authorise(&state.db, &signed.who(), request)
        .await?
        .tx
        .commit()
        .await?;
    organisations_page(&state, &signed, OrganisationForm::default(), vec![]).await
}

async fn create_organisation(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<OrganisationForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let mut errors = Vec::new();
    if form.name.trim().is_empty() {
        errors.push(FieldError::new("name", "Enter the organisation's name"));
    }
    if OrganisationKind::from_slug(&form.kind).is_none() {
        errors.push(FieldError::new(
            "kind",
            "Choose what kind of organisation it is",
        ));
    }
    let localities = accounts::list_localities(&state.db).await?;
    if !form.locality.is_empty() && !localities.iter().any(|l| l.slug == form.locality) {
        errors.push(FieldError::new(
            "locality",
            "Choose a locality from the list",
        ));
    }
    if !form.charity_number.trim().is_empty()
        && !form
            .charity_number
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-')
    {
        errors.push(FieldError::new(
            "charity_number",
            "Charity number must contain only digits (and a hyphen for a subsidiary)",
        ));
    }
    if !errors.is_empty() {
        return organisations_page(&state, &signed, form, errors).await;
    }
    let optional = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let new = NewOrganisation {
        name: form.name.trim().to_string(),
        kind: form.kind.clone(),
        charity_number: optional(&form.charity_number),
        company_number: optional(&form.company_number),
        locality_slug: optional(&form.locality),
        leads_locality: false,
    };
    let request = Request {
        action: Action::Create,
        resource: Resource::Organisation,
        subject: "organisations",
        purpose: "organisation administration: add",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    match accounts::create_organisation(&mut authorised, &new).await {
        Ok(_) => {
            authorised.tx.commit().await?;
            Ok(Redirect::to("/admin/organisations").into_response())
        }
        Err(earlyhelp_storage::StorageError::Conflict(message)) => {
            organisations_page(
                &state,
                &signed,
                form,
                vec![FieldError::new("name", message)],
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
struct LocalityForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    profile: String,
}

#[derive(Template)]
#[template(path = "localities.html")]
struct LocalitiesPage {
    layout: Layout,
    errors: Vec<FieldError>,
    localities: Vec<Locality>,
    form: LocalityForm,
}

impl LocalitiesPage {
    fn error(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

async fn localities_page(
    state: &AppState,
    signed: &Signed,
    form: LocalityForm,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let localities = accounts::list_localities(&state.db).await?;
    let page = LocalitiesPage {
        layout: Layout::for_user(signed, "/admin/localities"),
        errors,
        localities,
        form,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn localities(State(state): State<AppState>, signed: Signed) -> Result<Response, AppError> {
    let request = Request {
        action: Action::Update,
        resource: Resource::Locality,
        subject: "localities",
        purpose: "locality administration",
    };
    authorise(&state.db, &signed.who(), request)
        .await?
        .tx
        .commit()
        .await?;
    localities_page(&state, &signed, LocalityForm::default(), vec![]).await
}

async fn save_locality(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<LocalityForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let mut errors = Vec::new();
    if slugify(&form.name).is_empty() {
        errors.push(FieldError::new("name", "Enter the locality's name"));
    }
    use earlyhelp_domain::limits::{LINE, LOCALITY_PROFILE, too_long};
    errors.extend(too_long("name", "The name", &form.name, LINE));
    errors.extend(too_long(
        "profile",
        "The profile",
        &form.profile,
        LOCALITY_PROFILE,
    ));
    if !errors.is_empty() {
        return localities_page(&state, &signed, form, errors).await;
    }
    let locality = Locality {
        slug: slugify(&form.name),
        name: form.name.trim().to_string(),
        profile: form.profile.trim().to_string(),
    };
    let subject = format!("locality:{}", locality.slug);
    let request = Request {
        action: Action::Update,
        resource: Resource::Locality,
        subject: &subject,
        purpose: "locality administration: save",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    accounts::upsert_locality(&mut authorised.tx, &locality).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/admin/localities").into_response())
}
