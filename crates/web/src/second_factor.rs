//! The second factor at sign-in (set it up with a QR code, then a code from the app or a
//! recovery code each time), and the list of one's sessions, where one ends the others.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Query};
use crate::routes::Routes;
use crate::session::{Signed, Signing};
use crate::throttle::{ClientIp, Throttle};
use crate::views::Layout;
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::roles::{Permission, Role};
use earlyhelp_storage::gate::{NewEvent, record};
use earlyhelp_storage::second_factor::{self as factor, SecondFactor};
use earlyhelp_storage::{accounts, secrets::token_hash};
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

/// Where the second factor is set up and asked for.
pub const PAGE: &str = "/account/second-factor";

pub fn routes() -> Routes {
    Routes::new()
        .route(PAGE, get(page).post(submit))
        .route("/account/sessions", get(sessions))
        .route("/account/sessions/end-others", post(end_others))
}

/// Roles that can read a person's record, and administrators, who can give such roles.
pub fn role_needs(role: Role) -> bool {
    use Permission::*;
    [
        ManageUsers,
        TriageRequests,
        WorkCases,
        AnswerReferrals,
        GovernRecords,
        ManagePayments,
        // The review queue shows the names of the two records of a possible match.
        LinkRecords,
    ]
    .into_iter()
    .any(|p| role.may(p))
}

/// Whether signing in as `user_id` asks for a second factor: always once one is set up, and
/// for the roles that need one when the setting requires it.
pub async fn asked_of(state: &AppState, user_id: Uuid) -> Result<bool, AppError> {
    if factor::of_user(&state.db, user_id)
        .await?
        .is_some_and(|f| f.confirmed())
    {
        return Ok(true);
    }
    if !state.config.second_factor_required {
        return Ok(false);
    }
    let user = accounts::signed_in(&state.db, user_id).await?;
    Ok(user.is_some_and(|u| u.actor.roles.iter().copied().any(role_needs)))
}

/// What the page shows.
enum Step {
    /// A QR code (SVG) and the secret as text, to put in an app; then a first code.
    SetUp { qr_svg: String, secret: String },
    /// A code from the app, or a recovery code.
    Code,
    /// The recovery codes, shown once, just after set-up.
    RecoveryCodes(Vec<String>),
    /// Already signed in with a second factor set up: nothing to do here.
    Done,
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct FactorPage {
    layout: Layout,
    errors: Vec<FieldError>,
    step: Step,
    next: String,
}

impl FactorPage {
    /// Whether the page has the code form.
    fn asks_code(&self) -> bool {
        matches!(self.step, Step::SetUp { .. } | Step::Code)
    }
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

fn layout(signing: &Signing) -> Layout {
    if signing.pending {
        Layout::anonymous(signing.signed.csrf.clone())
    } else {
        Layout::for_user(&signing.signed, "")
    }
}

/// The QR code of the `otpauth://` address, drawn here: nothing leaves the server.
fn qr_svg(url: &str) -> Result<String, AppError> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(anyhow::Error::from)?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The step to show someone whose factor is `current`, beginning set-up if there is none.
async fn step_for(state: &AppState, signing: &Signing) -> Result<Step, AppError> {
    let user = &signing.signed.user.actor;
    let current = factor::of_user(&state.db, user.user_id).await?;
    match current {
        Some(f) if f.confirmed() && signing.pending => Ok(Step::Code),
        Some(f) if f.confirmed() => Ok(Step::Done),
        _ => {
            let f: SecondFactor =
                factor::begin(&state.db, user.user_id, &factor::new_secret()).await?;
            let url = factor::otpauth_url(&f.secret, &user.email)
                .ok_or_else(|| anyhow::anyhow!("a stored second factor secret is not base32"))?;
            Ok(Step::SetUp {
                qr_svg: qr_svg(&url)?,
                secret: f.secret,
            })
        }
    }
}

async fn page(
    State(state): State<AppState>,
    signing: Signing,
    Query(query): Query<NextQuery>,
) -> Result<Html<String>, AppError> {
    let page = FactorPage {
        layout: layout(&signing),
        errors: vec![],
        step: step_for(&state, &signing).await?,
        next: crate::auth::safe_next(&query.next),
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct CodeForm {
    csrf_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

fn event<'a>(signed: &'a Signed, outcome: &'a str, purpose: &'a str) -> NewEvent<'a> {
    NewEvent {
        actor: &signed.user.actor.email,
        actor_organisation: &signed.user.organisation_name,
        actor_role: "",
        subject: "session",
        action: "second_factor",
        purpose,
        outcome,
        remote_addr: &signed.remote_addr,
    }
}

async fn submit(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<Throttle>>,
    ClientIp(client): ClientIp,
    signing: Signing,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let signed = &signing.signed;
    signed.check_csrf(&form.csrf_token)?;
    throttle.sign_in(client)?;
    let next = crate::auth::safe_next(&form.next);
    let user_id = signed.user.actor.user_id;
    let refuse = |message: String, step: Step| -> Result<Response, AppError> {
        let page = FactorPage {
            layout: layout(&signing),
            errors: vec![FieldError::new("code", message)],
            step,
            next: next.clone(),
        };
        Ok((StatusCode::UNAUTHORIZED, Html(page.render()?)).into_response())
    };
    // The lockout that guards passwords guards codes too, counted under its own name.
    let window = state.config.lockout_window.as_micros() as i64;
    let key = format!("second-factor:{}", signed.user.actor.email);
    let attempts = accounts::count_sign_in_attempt(&state.db, &key, window).await?;
    if attempts > state.config.lockout_threshold {
        record(
            &state.db,
            &event(signed, "denied", "locked after repeated wrong codes"),
        )
        .await?;
        let minutes = state.config.lockout_window.as_secs() / 60;
        let message =
            format!("You have entered too many wrong codes. Wait {minutes} minutes and try again");
        return refuse(message, step_for(&state, &signing).await?);
    }
    let Some(current) = factor::of_user(&state.db, user_id).await? else {
        return refuse(
            "Set up your second factor first".into(),
            step_for(&state, &signing).await?,
        );
    };
    let step = factor::matching_step(&current.secret, &form.code, factor::unix_seconds());
    let right = match (current.confirmed(), step) {
        (false, Some(step)) => {
            let codes = match factor::confirm(&state.db, user_id, step).await {
                Ok(codes) => codes,
                Err(earlyhelp_storage::StorageError::Conflict(_)) => {
                    return refuse(
                        "That code has been used. Wait for the next one".into(),
                        step_for(&state, &signing).await?,
                    );
                }
                Err(other) => return Err(other.into()),
            };
            Some(Step::RecoveryCodes(codes))
        }
        (true, Some(step)) => factor::accept_step(&state.db, user_id, step)
            .await?
            .then_some(Step::Done),
        (true, None) => factor::use_recovery_code(&state.db, user_id, &form.code)
            .await?
            .then_some(Step::Done),
        (false, None) => None,
    };
    let Some(shown) = right else {
        record(&state.db, &event(signed, "denied", "wrong or used code")).await?;
        let message = if form.code.trim().is_empty() {
            "Enter the 6-digit code from your authenticator app"
        } else {
            "The code is not right, or has been used. Enter the newest code from your app"
        };
        return refuse(message.into(), step_for(&state, &signing).await?);
    };
    accounts::clear_sign_in_attempts(&state.db, &key, window).await?;
    if let Some(token) = &signed.session_token {
        accounts::complete_second_factor(&state.db, token).await?;
    }
    let purpose = match shown {
        Step::RecoveryCodes(_) => "second factor set up; signed in",
        _ => "second factor right; signed in",
    };
    record(&state.db, &event(signed, "allowed", purpose)).await?;
    match shown {
        Step::RecoveryCodes(codes) => {
            let page = FactorPage {
                layout: Layout::for_user(signed, ""),
                errors: vec![],
                step: Step::RecoveryCodes(codes),
                next,
            };
            Ok(Html(page.render()?).into_response())
        }
        _ => Ok(Redirect::to(&next).into_response()),
    }
}

struct SessionView {
    started: String,
    last_used: String,
    this_one: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<SessionView>,
    ended: Option<u64>,
}

#[derive(Deserialize)]
struct EndedQuery {
    #[serde(default)]
    ended: Option<u64>,
}

use crate::dates::when;

async fn sessions(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<EndedQuery>,
) -> Result<Html<String>, AppError> {
    let this = signed.session_token.as_deref().map(token_hash);
    let sessions = accounts::sessions_of(&state.db, signed.user.actor.user_id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            started: when(s.created_micros),
            last_used: when(s.last_seen_micros),
            this_one: this.as_deref() == Some(s.token_hash.as_str()),
        })
        .collect();
    let page = SessionsPage {
        layout: Layout::for_user(&signed, ""),
        sessions,
        ended: query.ended,
    };
    Ok(Html(page.render()?))
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf_token: String,
}

async fn end_others(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let keep = signed.session_token.clone().ok_or(AppError::Forbidden)?;
    let ended = accounts::end_other_sessions(&state.db, signed.user.actor.user_id, &keep).await?;
    let who = signed.who();
    record(
        &state.db,
        &NewEvent {
            actor: &who.actor.email,
            actor_organisation: &who.organisation_name,
            actor_role: "",
            subject: "session",
            action: "sign_out",
            purpose: "ended their other sessions",
            outcome: "allowed",
            remote_addr: &who.remote_addr,
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/account/sessions?ended={ended}")).into_response())
}
