//! axum's extractors, with their rejections answered our way: a request that cannot be read
//! as sent is `AppError::Rejected` (400, 413, 415 or 422), never a 500 or axum's plain text.
//! `clippy.toml` disallows axum's own, so every handler uses these.
#![allow(clippy::disallowed_types)]

use crate::error::AppError;
use axum::extract::{FromRequest, FromRequestParts};

/// A form body (or, for GET, the query string).
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct Form<T>(pub T);

/// A form whose fields may repeat (`ids=1&ids=2` into a `Vec`).
#[derive(FromRequest)]
#[from_request(via(axum_extra::extract::Form), rejection(AppError))]
pub struct MultiForm<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// A query string whose parameters may repeat.
#[derive(FromRequestParts)]
#[from_request(via(axum_extra::extract::Query), rejection(AppError))]
pub struct MultiQuery<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

/// A `multipart/form-data` upload; its fields' errors are `AppError::Rejected` too.
pub struct Multipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = AppError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, AppError> {
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
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}
