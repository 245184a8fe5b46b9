//! axum's extractors, with their rejections answered our way: a request that cannot be read
//! as sent is `AppError::Rejected` (400, 413, 415 or 422), never a 500 or axum's plain text.
//! A NUL character is refused here too, wherever it is sent: no field holds one, and
//! PostgreSQL refuses to store or compare text with one in it. `clippy.toml` disallows axum's
//! own extractors, so every handler uses these.
#![allow(clippy::disallowed_types)]

use crate::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

fn nul_refused() -> AppError {
    AppError::Rejected {
        status: StatusCode::BAD_REQUEST,
        problem: "What was sent holds a NUL character (%00), which no field may hold".into(),
    }
}

/// A NUL, raw or percent-encoded (`%2500` is the text "%00", not a NUL).
fn has_nul(raw: &[u8]) -> bool {
    raw.contains(&0) || raw.windows(3).any(|w| w == b"%00")
}

/// The same in JSON: raw or escaped as `\u0000`.
fn json_has_nul(raw: &[u8]) -> bool {
    raw.contains(&0) || raw.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
}

fn check_query(parts: &Parts) -> Result<(), AppError> {
    match parts.uri.query() {
        Some(query) if has_nul(query.as_bytes()) => Err(nul_refused()),
        _ => Ok(()),
    }
}

/// The body, read within the route's limit, and the request put back together around it.
async fn buffered<S: Send + Sync>(
    request: Request,
    state: &S,
    nul: fn(&[u8]) -> bool,
) -> Result<Request, AppError> {
    let (parts, body) = request.into_parts();
    check_query(&parts)?;
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
        .await
        .map_err(|r| AppError::Rejected {
            status: r.status(),
            problem: r.body_text(),
        })?;
    if nul(&bytes) {
        return Err(nul_refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A form body (or, for GET, the query string).
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let request = buffered(request, state, has_nul).await?;
        Ok(Form(axum::Form::<T>::from_request(request, state).await?.0))
    }
}

/// A form whose fields may repeat (`ids=1&ids=2` into a `Vec`).
pub struct MultiForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for MultiForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let request = buffered(request, state, has_nul).await?;
        let form = axum_extra::extract::Form::<T>::from_request(request, state).await?;
        Ok(MultiForm(form.0))
    }
}

pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let request = buffered(request, state, json_has_nul).await?;
        Ok(Json(axum::Json::<T>::from_request(request, state).await?.0))
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        check_query(parts)?;
        let query = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(query.0))
    }
}

/// A query string whose parameters may repeat.
pub struct MultiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for MultiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        check_query(parts)?;
        let query = axum_extra::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(MultiQuery(query.0))
    }
}

pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        if has_nul(parts.uri.path().as_bytes()) {
            return Err(nul_refused());
        }
        let path = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(path.0))
    }
}

/// A `multipart/form-data` upload; its fields' errors are `AppError::Rejected` too.
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        Ok(Multipart(
            axum::extract::Multipart::from_request(request, state).await?,
        ))
    }
}

impl Multipart {
    pub async fn next_field(
        &mut self,
    ) -> Result<Option<axum::extract::multipart::Field<'_>>, AppError> {
        Ok(self.0.next_field().await?)
    }

    /// A form of a CSRF token and one CSV file in the field `file`: the token, the file's name
    /// (or `default_name`) and its text. Other fields are passed over.
    pub async fn csv_upload(mut self, default_name: &str) -> Result<CsvUpload, AppError> {
        let mut upload = CsvUpload {
            csrf: String::new(),
            filename: String::new(),
            content: String::new(),
        };
        while let Some(part) = self.next_field().await? {
            match part.name() {
                Some("csrf_token") => upload.csrf = part.text().await.unwrap_or_default(),
                Some("file") => {
                    upload.filename = file_name(part.file_name(), default_name);
                    upload.content = upload_text(&part.bytes().await?)?;
                }
                _ => {}
            }
        }
        Ok(upload)
    }
}

/// What [`Multipart::csv_upload`] read.
pub struct CsvUpload {
    pub csrf: String,
    pub filename: String,
    pub content: String,
}

/// An uploaded file as text, or `AppError::Rejected` if it holds a NUL (so is not text).
pub fn upload_text(bytes: &[u8]) -> Result<String, AppError> {
    if bytes.contains(&0) {
        return Err(AppError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            problem: "The file holds a NUL character, so it is not a CSV file of text".into(),
        });
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// An uploaded file's name as the browser gave it, without control characters, or `default`.
pub fn file_name(given: Option<&str>, default: &str) -> String {
    let name: String = given
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if name.trim().is_empty() {
        default.to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::{has_nul, json_has_nul};

    #[test]
    fn a_nul_is_found_however_it_is_written() {
        assert!(has_nul(b"a=%00"));
        assert!(has_nul(b"a=\0"));
        assert!(!has_nul(b"a=%2500&b=%0D"));
        assert!(json_has_nul(br#"{"a": "\u0000"}"#));
        assert!(!json_has_nul(br#"{"a": "u0000"}"#));
    }
}
