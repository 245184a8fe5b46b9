//! Signing in and out, and changing one's password.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Query};
use crate::routes::Routes;
use crate::session::{PRE_SESSION_COOKIE, Signed, form_token_cookie, session_cookie};
use crate::throttle::{ClientIp, Throttle};
use crate::views::Layout;
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use earlyhelp_domain::people::{FieldError, check_new_password, normalise_email};
use earlyhelp_storage::accounts;
use earlyhelp_storage::gate::{NewEvent, record};
use earlyhelp_storage::secrets::{decoy_hash, hash_password, random_token, verify_password};
use serde::Deserialize;
use std::sync::Arc;

pub fn routes() -> Routes {
    Routes::new()
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route(
            "/account/password",
            get(password_form).post(change_password),
        )
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    errors: Vec<FieldError>,
    email: String,
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only paths on this site, so a crafted link cannot send someone elsewhere after sign-in.
pub(crate) fn safe_next(next: &str) -> String {
    crate::redirect::local_or(next, "/")
}

async fn sign_in_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let token = jar
        .get(PRE_SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_else(random_token);
    let page = SignInPage {
        layout: Layout::anonymous(token.clone()),
        errors: vec![],
        email: String::new(),
        next: safe_next(&query.next),
    };
    let jar = jar.add(form_token_cookie(
        PRE_SESSION_COOKIE,
        "/sign-in",
        token,
        state.config.secure_cookies,
    ));
    Ok((jar, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
struct SignInForm {
    csrf_token: String,
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

fn sign_in_event<'a>(
    email: &'a str,
    remote: &'a str,
    outcome: &'a str,
    purpose: &'a str,
) -> NewEvent<'a> {
    NewEvent {
        actor: email,
        actor_organisation: "",
        actor_role: "",
        subject: "session",
        action: "sign_in",
        purpose,
        outcome,
        remote_addr: remote,
    }
}

const WRONG_CREDENTIALS: &str = "Enter the email address and password for your account";

async fn sign_in(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<Throttle>>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let pre_session = crate::session::check_form_token(&jar, PRE_SESSION_COOKIE, &form.csrf_token)?;
    // Before any work on the password: guessing across many accounts costs the guesser time.
    throttle.sign_in(client)?;
    let refuse = |message: &str, email: &str| -> Result<Response, AppError> {
        let page = SignInPage {
            layout: Layout::anonymous(pre_session.clone()),
            errors: vec![FieldError::new("email", message)],
            email: email.to_string(),
            next: safe_next(&form.next),
        };
        Ok((StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response())
    };
    let email = normalise_email(&form.email).unwrap_or_else(|| form.email.trim().to_lowercase());
    let remote = client.to_string();
    let audit = |outcome, purpose| sign_in_event(&email, &remote, outcome, purpose);
    let window = state.config.lockout_window.as_micros() as i64;
    // Counted before the password is checked: a guess beyond the threshold is never checked.
    let attempts = accounts::count_sign_in_attempt(&state.db, &email, window).await?;
    if attempts > state.config.lockout_threshold {
        record(
            &state.db,
            &audit("denied", "locked after repeated failures"),
        )
        .await?;
        let minutes = state.config.lockout_window.as_secs() / 60;
        return refuse(
            &format!(
                "You have tried to sign in too many times. Wait {minutes} minutes and try again"
            ),
            &form.email,
        );
    }
    let credentials = accounts::credentials(&state.db, &email).await?;
    let stored = credentials
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_string());
    let password = form.password.clone();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(anyhow::Error::from)?;
    let user = credentials.filter(|c| matches && c.active);
    let Some(user) = user else {
        record(&state.db, &audit("denied", "wrong email or password")).await?;
        return refuse(WRONG_CREDENTIALS, &form.email);
    };
    accounts::clear_sign_in_attempts(&state.db, &email, window).await?;
    // With a second factor to come, the session opens nothing but the second factor's page.
    let pending = crate::second_factor::asked_of(&state, user.id).await?;
    let (token, _csrf) = accounts::create_session(&state.db, user.id, pending).await?;
    let purpose = if pending {
        "password right; second factor asked"
    } else {
        "signed in"
    };
    record(&state.db, &audit("allowed", purpose)).await?;
    let jar = jar
        .remove(Cookie::build(PRE_SESSION_COOKIE).path("/sign-in"))
        .add(session_cookie(token, state.config.secure_cookies));
    if pending {
        let next = safe_next(&form.next);
        let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        let page = format!("{}?{query}", crate::second_factor::PAGE);
        return Ok((jar, Redirect::to(&page)).into_response());
    }
    Ok((jar, crate::redirect::to(&form.next, "/")).into_response())
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf_token: String,
}

async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    if let Some(token) = &signed.session_token {
        accounts::end_session(&state.db, token).await?;
    }
    let who = signed.who();
    record(
        &state.db,
        &NewEvent {
            actor: &who.actor.email,
            actor_organisation: &who.organisation_name,
            actor_role: "",
            subject: "session",
            action: "sign_out",
            purpose: "signed out",
            outcome: "allowed",
            remote_addr: &who.remote_addr,
        },
    )
    .await?;
    let jar = jar.remove(Cookie::build(crate::session::SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/sign-in")).into_response())
}

struct PasswordField {
    id: &'static str,
    label: &'static str,
    hint: Option<&'static str>,
    autocomplete: &'static str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "change_password.html")]
struct PasswordPage {
    layout: Layout,
    errors: Vec<FieldError>,
    fields: Vec<PasswordField>,
    done: bool,
}

fn password_page(signed: &Signed, errors: Vec<FieldError>, done: bool) -> PasswordPage {
    let error = |id: &str| crate::views::error_for(&errors, id).map(str::to_string);
    let fields = vec![
        PasswordField {
            id: "current_password",
            label: "Current password",
            hint: None,
            autocomplete: "current-password",
            error: error("current_password"),
        },
        PasswordField {
            id: "new_password",
            label: "New password",
            hint: Some(
                "12 characters or more. A few unrelated words are easy to remember and hard to guess.",
            ),
            autocomplete: "new-password",
            error: error("new_password"),
        },
        PasswordField {
            id: "confirm_password",
            label: "Confirm new password",
            hint: None,
            autocomplete: "new-password",
            error: error("confirm_password"),
        },
    ];
    PasswordPage {
        layout: Layout::for_user(signed, ""),
        errors,
        fields,
        done,
    }
}

async fn password_form(signed: Signed) -> Result<Html<String>, AppError> {
    Ok(Html(password_page(&signed, vec![], false).render()?))
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf_token: String,
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let user_id = signed.user.actor.user_id;
    let stored = accounts::credentials_by_id(&state.db, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = form.current_password.clone();
    let current_ok =
        tokio::task::spawn_blocking(move || verify_password(&current, &stored.password_hash))
            .await
            .map_err(anyhow::Error::from)?;
    let mut errors = Vec::new();
    if !current_ok {
        errors.push(FieldError::new(
            "current_password",
            "Your current password is not right",
        ));
    }
    if let Err(error) = check_new_password(&form.new_password) {
        errors.push(FieldError::new("new_password", error.message));
    }
    if form.new_password != form.confirm_password {
        errors.push(FieldError::new(
            "confirm_password",
            "The new passwords do not match",
        ));
    }
    if !errors.is_empty() {
        let page = password_page(&signed, errors, false);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
    }
    let new_password = form.new_password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&new_password))
        .await
        .map_err(anyhow::Error::from)?;
    let keep = signed.session_token.clone().unwrap_or_default();
    accounts::set_password(&state.db, user_id, &hash, &keep).await?;
    let who = signed.who();
    record(
        &state.db,
        &NewEvent {
            actor: &who.actor.email,
            actor_organisation: &who.organisation_name,
            actor_role: "",
            subject: &format!("user:{user_id}"),
            action: "change_password",
            purpose: "changed their own password",
            outcome: "allowed",
            remote_addr: &who.remote_addr,
        },
    )
    .await?;
    Ok(Html(password_page(&signed, vec![], true).render()?).into_response())
}
