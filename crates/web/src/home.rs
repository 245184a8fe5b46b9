//! The home page: what this person, with their roles, can do here.

use crate::AppState;
use crate::error::AppError;
use crate::session::Signed;
use crate::views::{Layout, Task, task_for};
use askama::Template;
use axum::Router;
use axum::response::Html;
use axum::routing::get;
use earlyhelp_domain::roles::Permission;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    name: String,
    organisation: String,
    roles: String,
    localities: String,
    tasks: Vec<Task>,
}

async fn home(signed: Signed) -> Result<Html<String>, AppError> {
    let actor = &signed.user.actor;
    let mut permissions: Vec<Permission> = Vec::new();
    for role in &actor.roles {
        for permission in role.permissions() {
            if !permissions.contains(permission) {
                permissions.push(*permission);
            }
        }
    }
    let page = HomePage {
        layout: Layout::for_user(&signed, "/"),
        name: signed.user.name.clone(),
        organisation: signed.user.organisation_name.clone(),
        roles: actor
            .roles
            .iter()
            .map(|r| r.label())
            .collect::<Vec<_>>()
            .join(", "),
        localities: actor.localities.join(", "),
        tasks: permissions.into_iter().map(task_for).collect(),
    };
    Ok(Html(page.render()?))
}
