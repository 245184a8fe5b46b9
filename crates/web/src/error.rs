//! One error type for every handler: a GOV.UK-style page for people, JSON for the API and
//! Open Referral, and never the internals of what went wrong. A request that cannot be read as
//! sent (axum's extractor rejections, a broken upload) is the client's mistake: 400, 413, 415
//! or 422 with what to do, logged at warn without its content. A 500 is a bug of ours.

use crate::extract::Json;
use crate::views::Layout;
use askama::Template;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
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
    /// The password was right; the second factor is still to come (the page asks for it).
    #[error("the second factor is required")]
    SecondFactorRequired,
    #[error("a valid bearer token is required")]
    Unauthorised,
    #[error("the form had expired or did not come from this site")]
    BadCsrf,
    #[error("the request has problems")]
    Invalid(Vec<FieldError>),
    /// The record's state does not allow the change; the message says what it does allow.
    #[error("{0}")]
    Conflict(String),
    /// The request could not be read as sent: 400, 405, 408, 413, 415 or 422, and why.
    #[error("{problem}")]
    Rejected { status: StatusCode, problem: String },
    /// Too many from one address: what to do instead, and in how many seconds to try again.
    #[error("too many requests")]
    TooManyRequests {
        paragraphs: Vec<String>,
        retry_after_secs: u64,
    },
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
            AppError::SignInRequired(_)
            | AppError::SecondFactorRequired
            | AppError::Unauthorised => StatusCode::UNAUTHORIZED,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Rejected { status, .. } => *status,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the error says to a program: never the internals of a bug.
    pub fn public_words(&self) -> String {
        match self {
            AppError::Internal(_) => {
                "sorry, there is a problem with the service; try again later".into()
            }
            AppError::TooManyRequests { paragraphs, .. } => {
                format!("{self}: {}", paragraphs.join(" "))
            }
            other => other.to_string(),
        }
    }

    /// A request refused for its status alone (from a layer, or axum's router).
    pub fn for_status(status: StatusCode) -> AppError {
        let problem = match status.as_u16() {
            404 => return AppError::NotFound,
            405 => "This address does not take that kind of request",
            408 => "The request took too long to arrive",
            413 => "What was sent is larger than this page takes",
            415 => "What was sent is not in a form this page takes",
            429 => {
                return AppError::TooManyRequests {
                    paragraphs: vec!["Wait a few minutes and try again.".into()],
                    retry_after_secs: 60,
                };
            }
            s if s >= 500 => return AppError::Internal(anyhow::anyhow!("status {status}")),
            _ => "The request could not be read",
        };
        AppError::Rejected {
            status,
            problem: problem.into(),
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
            AppError::Unauthorised
            | AppError::SignInRequired(_)
            | AppError::SecondFactorRequired => ("Sign in required", vec![]),
            AppError::Invalid(errors) => ("There is a problem", errors.iter().map(|e| e.message.clone()).collect()),
            AppError::Conflict(message) => ("That cannot be done now", vec![message.clone()]),
            AppError::Rejected { status, problem } => (
                match status.as_u16() {
                    413 => "What you sent is too large",
                    408 => "The request took too long",
                    _ => "What you sent could not be read",
                },
                vec![
                    format!("{problem}."),
                    match status.as_u16() {
                        413 => "Go back and send less at a time: a shorter text, or a smaller file split into parts.",
                        _ => "Go back, check what you entered and try again. If you typed the web address, check it is correct.",
                    }
                    .into(),
                ],
            ),
            AppError::TooManyRequests { paragraphs, .. } => ("Too many requests from your connection", paragraphs.clone()),
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
            let next = crate::redirect::local_or(next, "/");
            let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            return Redirect::to(&format!("/sign-in?{query}")).into_response();
        }
        if let AppError::SecondFactorRequired = &self {
            return Redirect::to(crate::second_factor::PAGE).into_response();
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
            // Its messages, not its Debug form: a database error's Debug carries the row's values.
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let (title, paragraphs) = self.words();
        let said = Said::of(&self);
        let page = MessagePage {
            layout: Layout::anonymous(String::new()),
            title: title.into(),
            paragraphs,
        };
        let mut response = match page.render() {
            Ok(html) => (self.status(), Html(html)).into_response(),
            Err(_) => (self.status(), title).into_response(),
        };
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = &self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        response.extensions_mut().insert(said);
        response
    }
}

/// What an error said, kept on its response so [`answer_in_kind`] can say it again as JSON.
#[derive(Clone)]
struct Said(serde_json::Value);

impl Said {
    fn of(error: &AppError) -> Said {
        let problems = match error {
            AppError::Invalid(errors) => serde_json::to_value(errors).unwrap_or_default(),
            _ => serde_json::json!([]),
        };
        let message = error.public_words();
        Said(serde_json::json!({ "error": message, "problems": problems }))
    }
}

fn rejected(status: StatusCode, problem: String) -> AppError {
    AppError::Rejected { status, problem }
}

impl From<FormRejection> for AppError {
    fn from(r: FormRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        // A path the router matched but whose parameter is not the kind we expect (not an id,
        // or not UTF-8) is the client's mistake; only a handler asking for more parameters
        // than its route has is ours.
        let status = match r.status() {
            s if s.is_server_error() => return AppError::Internal(anyhow::anyhow!(r.body_text())),
            s => s,
        };
        rejected(status, r.body_text())
    }
}

impl From<axum_extra::extract::FormRejection> for AppError {
    fn from(r: axum_extra::extract::FormRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl From<axum_extra::extract::QueryRejection> for AppError {
    fn from(r: axum_extra::extract::QueryRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl From<MultipartRejection> for AppError {
    fn from(r: MultipartRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl From<MultipartError> for AppError {
    fn from(e: MultipartError) -> Self {
        rejected(e.status(), e.body_text())
    }
}

/// For `/api/` and Open Referral, JSON; for people, a page.
fn wants_json(path: &str) -> bool {
    path.starts_with("/api/") || path == "/openreferral" || path.starts_with("/openreferral/")
}

/// Copies the route a request matched onto its response, for [`answer_in_kind`]'s log line
/// (the route's pattern: never the ids, query or body a person sent).
pub async fn note_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

/// The last word on every error: logs a refused request at warn (method, route and status, no
/// personal data), and answers it in the caller's kind, a page or JSON, whoever made it (a
/// handler, an extractor, axum's router or a tower layer).
pub async fn answer_in_kind(request: Request, next: Next) -> Response {
    let json = wants_json(request.uri().path());
    let method: Method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if matches!(status.as_u16(), 400 | 405 | 408 | 413 | 415 | 422 | 429) {
        let route = crate::observe::route_of(&response);
        tracing::warn!(%method, %route, status = status.as_u16(), "refused a request as sent");
    }
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let in_kind = if json {
        kind.starts_with("application/json")
    } else {
        kind.starts_with("text/html")
    };
    if in_kind {
        return response;
    }
    let said = response.extensions().get::<Said>().cloned();
    let (mut parts, _) = response.into_parts();
    let mut again = match (json, said) {
        (true, Some(Said(body))) => (status, Json(body)).into_response(),
        (true, None) => (status, Json(Said::of(&AppError::for_status(status)).0)).into_response(),
        (false, _) => AppError::for_status(status).into_response(),
    };
    // Keep what else the first answer said (Allow, Retry-After, WWW-Authenticate, cookies).
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let own: Vec<_> = again.headers().keys().cloned().collect();
    for (name, value) in parts.headers.iter() {
        if !own.contains(name) {
            again.headers_mut().append(name.clone(), value.clone());
        }
    }
    // And the route it matched, for the request's log line and metrics.
    if let Some(route) = parts.extensions.get::<MatchedPath>() {
        again.extensions_mut().insert(route.clone());
    }
    *again.status_mut() = status;
    again
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
            tracing::error!(error = format!("{error:#}"), "API request failed");
        }
        let problems = match &self.0 {
            AppError::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let body = serde_json::json!({ "error": self.0.public_words(), "problems": problems });
        let status = match self.0 {
            AppError::SignInRequired(_) => StatusCode::UNAUTHORIZED,
            ref other => other.status(),
        };
        (status, Json(body)).into_response()
    }
}
