//! Who is asking: a session cookie (people in a browser) or a bearer token (the JSON API).
//!
//! Sessions live in the database, so they survive a restart; only a hash of the cookie's
//! token is stored. A session ends after `idle` without use or `lifetime` in all.

use crate::AppState;
use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use earlyhelp_domain::roles::Permission;
use earlyhelp_storage::accounts::{self, SignedIn};
use earlyhelp_storage::gate::Who;
use earlyhelp_storage::now_micros;
use earlyhelp_storage::secrets::same_secret;

pub const SESSION_COOKIE: &str = "eh_session";
/// Before sign-in there is no session to hold a CSRF token, so the sign-in form's token is
/// also set in this cookie and the two must match ("double submit").
pub const PRE_SESSION_COOKIE: &str = "eh_presession";

/// A signed-in person.
pub struct Signed {
    pub user: SignedIn,
    /// The token forms must echo; empty for bearer-token callers, who send no cookies.
    pub csrf: String,
    /// The session's own token, when signed in through a browser.
    pub session_token: Option<String>,
    pub remote_addr: String,
}

impl Signed {
    pub fn may(&self, permission: Permission) -> bool {
        self.user
            .actor
            .roles
            .iter()
            .any(|role| role.may(permission))
    }

    pub fn who(&self) -> Who {
        Who {
            actor: self.user.actor.clone(),
            organisation_name: self.user.organisation_name.clone(),
            remote_addr: self.remote_addr.clone(),
        }
    }

    /// Checks a submitted form's CSRF token against the session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if self.session_token.is_some() && same_secret(submitted, &self.csrf) {
            Ok(())
        } else {
            Err(AppError::BadCsrf)
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let wants_json = parts.uri.path().starts_with("/api/");
        let sign_in_required = || {
            if wants_json {
                AppError::Unauthorised
            } else {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                AppError::SignInRequired(next.to_string())
            }
        };
        let remote_addr = crate::throttle::ClientIp::of(parts, &state.config).to_string();

        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            let user_id = accounts::api_token_user(&state.db, token.trim())
                .await?
                .ok_or(AppError::Unauthorised)?;
            let user = accounts::signed_in(&state.db, user_id)
                .await?
                .ok_or(AppError::Unauthorised)?;
            let signed = Signed {
                user,
                csrf: String::new(),
                session_token: None,
                remote_addr,
            };
            crate::refusals::note_signed_in(signed.who());
            return Ok(signed);
        }

        let (signed, pending) = cookie_session(parts, state, remote_addr)
            .await?
            .ok_or_else(sign_in_required)?;
        if pending {
            return Err(AppError::SecondFactorRequired);
        }
        crate::refusals::note_signed_in(signed.who());
        Ok(signed)
    }
}

/// Someone whose password was right: signed in, or with the second factor still to come
/// (`pending`). Only the second factor's own page takes this; every other page takes [`Signed`].
pub struct Signing {
    pub signed: Signed,
    pub pending: bool,
}

impl FromRequestParts<AppState> for Signing {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let remote_addr = crate::throttle::ClientIp::of(parts, &state.config).to_string();
        let (signed, pending) = cookie_session(parts, state, remote_addr)
            .await?
            .ok_or_else(|| AppError::SignInRequired("/".into()))?;
        Ok(Signing { signed, pending })
    }
}

/// The session the cookie names, if it is current, and whether it waits for a second factor.
async fn cookie_session(
    parts: &Parts,
    state: &AppState,
    remote_addr: String,
) -> Result<Option<(Signed, bool)>, AppError> {
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
        return Ok(None);
    };
    let Some((session, user)) = accounts::session(&state.db, &token).await? else {
        return Ok(None);
    };
    let now = now_micros();
    let idle = now - session.last_seen_micros > state.config.session_idle.as_micros() as i64;
    let expired = now - session.created_micros > state.config.session_lifetime.as_micros() as i64;
    if idle || expired {
        accounts::end_session(&state.db, &token).await?;
        return Ok(None);
    }
    // Writing on every request would serialise reads on SQLite; a minute's slack is plenty.
    if now - session.last_seen_micros > 60_000_000 {
        accounts::touch_session(&state.db, &token).await?;
    }
    let signed = Signed {
        user,
        csrf: session.csrf_token,
        session_token: Some(token),
        remote_addr,
    };
    Ok(Some((signed, session.second_factor_pending)))
}

pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .build()
}

/// Checks a public form's "double submit": the token it sent must match its cookie `name`.
/// The token, to serve the form again if it is shown with an error.
pub fn check_form_token(jar: &CookieJar, name: &str, submitted: &str) -> Result<String, AppError> {
    match jar.get(name) {
        Some(cookie) if !cookie.value().is_empty() && same_secret(cookie.value(), submitted) => {
            Ok(cookie.value().to_string())
        }
        _ => Err(AppError::BadCsrf),
    }
}

/// The cookie half of a public form's "double submit" CSRF token (sign-in, self-referral, a
/// grant application, a survey answer): sent back only to the form's own path.
pub fn form_token_cookie(
    name: &'static str,
    path: &'static str,
    token: String,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build((name, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path(path)
        .build()
}
