//! The home page: for the public, the front door (find support, ask for help, explore the
//! data, staff sign in); for someone signed in, what they, with their roles, can do here.

use crate::AppState;
use crate::error::AppError;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, Task, task_for};
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use earlyhelp_domain::roles::{Permission, Role};
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
    /// How many of their grants wait for a second person.
    waiting: i64,
}

#[derive(Template)]
#[template(path = "front_door.html")]
struct FrontDoor {
    layout: Layout,
    needs: Vec<crate::views::SelectOption>,
}

async fn home(
    State(state): State<AppState>,
    signed: Result<Signed, AppError>,
) -> Result<Html<String>, AppError> {
    let signed = match signed {
        Ok(signed) => signed,
        Err(AppError::SignInRequired(_)) => {
            let page = FrontDoor {
                layout: Layout::anonymous(String::new()),
                needs: crate::directory::need_options(""),
            };
            return Ok(Html(page.render()?));
        }
        Err(other) => return Err(other),
    };
    let actor = &signed.user.actor;
    let mut permissions: Vec<Permission> = Vec::new();
    for role in &actor.roles {
        for permission in role.permissions() {
            if !permissions.contains(permission) {
                permissions.push(*permission);
            }
        }
    }
    let mut tasks: Vec<Task> = permissions.into_iter().map(task_for).collect();
    let approves = actor
        .roles
        .iter()
        .any(|r| matches!(r, Role::LocalityLead | Role::InformationGovernanceOfficer));
    if approves {
        tasks.push(Task {
            title: "Access requests",
            description: "Approve or refuse the accounts, roles and localities waiting for a \
                          second person, and see every decision.",
            href: Some("/access-requests"),
        });
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
        tasks,
        waiting: accounts::pending_grants(&state.db, actor.user_id).await?,
    };
    Ok(Html(page.render()?))
}
