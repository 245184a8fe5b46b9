//! One error type for every handler: a GOV.UK-style page for people, JSON for the API, and
//! never the internals of what went wrong.

use crate::views::Layout;
use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("page not found")]
    NotFound,
    #[error("you do not have permission to do that")]
    Forbidden,
    #[error("sign in required")]
    SignInRequired(String),
    #[error("a valid bearer token is required")]
    Unauthorised,
    #[error("the form had expired or did not come from this site")]
    BadCsrf,
    #[error("the request has problems")]
    Invalid(Vec<FieldError>),
    /// The record's state does not allow the change; the message says what it does allow.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound => AppError::NotFound,
            StorageError::Denied(_) => AppError::Forbidden,
            StorageError::Refused(message) => AppError::Conflict(message),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        AppError::Internal(error.into())
    }
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::BadCsrf => StatusCode::FORBIDDEN,
            AppError::SignInRequired(_) | AppError::Unauthorised => StatusCode::UNAUTHORIZED,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn words(&self) -> (&'static str, Vec<String>) {
        match self {
            AppError::NotFound => (
                "Page not found",
                vec![
                    "If you typed the web address, check it is correct.".into(),
                    "If you followed a link to a record, it may not exist or you may not have access to it.".into(),
                ],
            ),
            AppError::Forbidden => ("You cannot do that", vec!["Your role does not allow it. Ask your administrator if you think it should.".into()]),
            AppError::BadCsrf => (
                "Your form could not be sent",
                vec!["The page had been open too long, or the form came from another site. Go back, reload the page and try again.".into()],
            ),
            AppError::Unauthorised | AppError::SignInRequired(_) => ("Sign in required", vec![]),
            AppError::Invalid(errors) => ("There is a problem", errors.iter().map(|e| e.message.clone()).collect()),
            AppError::Conflict(message) => ("That cannot be done now", vec![message.clone()]),
            AppError::Internal(_) => (
                "Sorry, there is a problem with the service",
                vec!["Try again later. What you entered has not been saved.".into()],
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub layout: Layout,
    pub title: String,
    pub paragraphs: Vec<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::SignInRequired(next) = &self {
            let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            return Redirect::to(&format!("/sign-in?{query}")).into_response();
        }
        if let AppError::Unauthorised = &self {
            // Only API callers are answered this way; people in a browser are sent to sign in.
            return (
                StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                Json(serde_json::json!({ "error": self.to_string(), "problems": [] })),
            )
                .into_response();
        }
        if let AppError::Internal(error) = &self {
            tracing::error!(error = ?error, "request failed");
        }
        let (title, paragraphs) = self.words();
        let page = MessagePage {
            layout: Layout::anonymous(String::new()),
            title: title.into(),
            paragraphs,
        };
        match page.render() {
            Ok(html) => (self.status(), Html(html)).into_response(),
            Err(_) => (self.status(), title).into_response(),
        }
    }
}

/// The same errors, answered as JSON for the API: `{"error": "...", "problems": [...]}`.
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let AppError::Internal(error) = &self.0 {
            tracing::error!(error = ?error, "API request failed");
        }
        let problems = match &self.0 {
            AppError::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let body = serde_json::json!({ "error": self.0.to_string(), "problems": problems });
        let status = match self.0 {
            AppError::SignInRequired(_) => StatusCode::UNAUTHORIZED,
            ref other => other.status(),
        };
        (status, Json(body)).into_response()
    }
}
