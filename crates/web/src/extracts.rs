//! Pseudonymised extracts for data analysts: case data with no names, addresses, dates of birth
//! or free text, and each family under a keyed pseudonym that stays the same between extracts.

use crate::AppState;
use crate::error::AppError;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::Layout;
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_storage::extracts::case_extract;
use earlyhelp_storage::gate::{Request, authorise};

pub fn routes() -> Routes {
    Routes::new()
        .route("/extracts", get(extracts_page))
        .route("/extracts/cases.csv", get(cases_csv))
}

#[derive(Template)]
#[template(path = "extracts.html")]
struct ExtractsPage {
    layout: Layout,
}

fn extract_request(purpose: &str) -> Request<'_> {
    Request {
        action: Action::List,
        resource: Resource::PseudonymisedExtract,
        subject: "extract:cases",
        purpose,
    }
}

async fn extracts_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    let authorised = authorise(
        &state.db,
        &signed.who(),
        extract_request("open the extracts page"),
    )
    .await?;
    authorised.tx.commit().await?;
    let page = ExtractsPage {
        layout: Layout::for_user(&signed, "/extracts"),
    };
    Ok(Html(page.render()?))
}

async fn cases_csv(State(state): State<AppState>, signed: Signed) -> Result<Response, AppError> {
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        extract_request("pseudonymised case extract"),
    )
    .await?;
    let rows = case_extract(&mut authorised, earlyhelp_storage::cases::today()).await?;
    authorised.tx.commit().await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in &rows {
        writer
            .serialize(row)
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"cases-pseudonymised.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
