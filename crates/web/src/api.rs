//! The JSON API and its OpenAPI description at `/api/openapi.json`.

use crate::error::ApiError;
use crate::extract::Json;
use crate::routes::Routes;
use crate::session::Signed;
use axum::routing::get;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "earlyhelp API", description = "The JSON API of earlyhelp. Authenticate with `Authorization: Bearer TOKEN` (make one with `earlyhelp token add`)."),
    paths(me),
    components(schemas(Me, OrganisationRef)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn routes() -> Routes {
    Routes::new()
        .route("/api/me", get(me))
        .route("/api/openapi.json", get(openapi))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(
        ApiDoc::openapi()
            .merge_from(crate::outcomes::OutcomesApi::openapi())
            .merge_from(crate::cases::api::CasesApi::openapi())
            .merge_from(crate::cases::connections_api::ConnectionsApi::openapi())
            .merge_from(crate::cases::payments_api::PaymentsApi::openapi())
            .merge_from(crate::cases::grants_api::GrantsApi::openapi())
            .merge_from(crate::giving::GivingApi::openapi())
            .merge_from(crate::deprivation::NeedApi::openapi()),
    )
}

#[derive(Serialize, ToSchema)]
struct OrganisationRef {
    id: uuid::Uuid,
    name: String,
}

/// The signed-in person.
#[derive(Serialize, ToSchema)]
struct Me {
    id: uuid::Uuid,
    email: String,
    name: String,
    organisation: OrganisationRef,
    /// Role slugs, for example `practitioner`.
    roles: Vec<String>,
    /// Locality slugs, for example `ladywood`.
    localities: Vec<String>,
}

/// Who am I? The caller's organisation, roles and localities.
#[utoipa::path(get, path = "/api/me", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, description = "No valid bearer token")))]
async fn me(signed: Signed) -> Result<Json<Me>, ApiError> {
    let actor = &signed.user.actor;
    Ok(Json(Me {
        id: actor.user_id,
        email: actor.email.clone(),
        name: signed.user.name.clone(),
        organisation: OrganisationRef {
            id: actor.organisation_id,
            name: signed.user.organisation_name.clone(),
        },
        roles: actor.roles.iter().map(|r| r.slug().to_string()).collect(),
        localities: actor.localities.clone(),
    }))
}
