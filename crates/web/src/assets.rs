//! Static assets embedded in the binary: GOV.UK Frontend and htmx (vendored from npm by
//! `scripts/vendor-assets.sh`) and our own few files.

use crate::error::AppError;
use crate::extract::Path;
use crate::routes::Routes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// `/assets/NAME` is looked for in our own files, then GOV.UK Frontend, then htmx.
const SEARCH: &[&str] = &["own/", "vendor/govuk/", "vendor/htmx/"];

async fn asset(Path(name): Path<String>) -> Result<Response, AppError> {
    let file = SEARCH
        .iter()
        .find_map(|folder| Assets::get(&format!("{folder}{name}")))
        .ok_or(AppError::NotFound)?;
    let mime = file.metadata.mimetype().to_string();
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        ],
        file.data,
    )
        .into_response())
}

pub fn routes() -> Routes {
    Routes::new().route("/assets/{*name}", get(asset))
}
