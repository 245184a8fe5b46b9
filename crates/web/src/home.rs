//! The home page: what this person, with their roles, can do here.

use crate::AppState;
use crate::error::AppError;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, Task, task_for};
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use earlyhelp_domain::roles::Permission;
use earlyhelp_storage::accounts;

pub fn routes() -> Routes {
    Routes::new().route("/", get(home))
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

async fn home(State(state): State<AppState>, signed: Signed) -> Result<Html<String>, AppError> {
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
        localities: accounts::list_localities(&state.db)
            .await?
            .into_iter()
            .filter(|l| actor.localities.contains(&l.slug))
            .map(|l| l.name)
            .collect::<Vec<_>>()
            .join(", "),
        tasks: permissions.into_iter().map(task_for).collect(),
    };
    Ok(Html(page.render()?))
}
