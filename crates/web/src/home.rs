//! The home page: for the public, the front door (find support, ask for help, explore the
//! data, staff sign in); for someone signed in, what they, with their roles, can do here.

use crate::AppState;
use crate::access_requests::when;
use crate::error::AppError;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, Task, task_for};
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::roles::{Permission, Role};
use earlyhelp_storage::gate::{Request, authorise_read};
use earlyhelp_storage::{accounts, asks, sharing};

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
    /// What waits for them: requests to join that they answer, notices, break-glass reviews.
    asks: Asks,
}

/// The "waiting for you" list of the home page.
#[derive(Default)]
pub struct Asks {
    /// (link, who asks, why, when)
    join_requests: Vec<(String, String, String, String)>,
    /// (id, what, link, when)
    notices: Vec<(uuid::Uuid, String, String, String)>,
    /// Break-glass accesses waiting for the information governance officer's review.
    break_glass_reviews: i64,
}

impl Asks {
    fn count(&self) -> usize {
        self.join_requests.len() + self.notices.len() + self.break_glass_reviews as usize
    }
}

/// What waits for the signed-in person, each read through the gate: their own tasks, and for
/// the information governance officer the break-glass accesses not yet reviewed.
async fn asks_for(state: &AppState, signed: &Signed) -> Result<Asks, AppError> {
    let actor = &signed.user.actor;
    // Someone whose access waits for approval holds no role yet, so nothing can wait for them.
    if actor.roles.is_empty() {
        return Ok(Asks::default());
    }
    let who = signed.who();
    let subject = format!("tasks:{}", actor.user_id);
    let request = Request {
        action: Action::List,
        resource: Resource::OwnTasks,
        subject: &subject,
        purpose: "what waits for you",
    };
    let mut authorised = authorise_read(&state.db, &who, request).await?;
    let waiting = asks::waiting_for(&mut authorised, actor).await?;
    authorised.tx.commit().await?;
    let mut found = Asks {
        join_requests: waiting
            .join_requests
            .into_iter()
            .map(|j| {
                let link = format!("/join-requests/{}", j.id);
                (link, j.requester, j.reason, when(j.asked_micros))
            })
            .collect(),
        notices: waiting
            .notices
            .into_iter()
            .map(|n| (n.id, n.body, n.link, when(n.created_micros)))
            .collect(),
        break_glass_reviews: 0,
    };
    if actor.roles.iter().any(|r| r.may(Permission::ReadAuditLog)) {
        let request = Request {
            action: Action::List,
            resource: Resource::BreakGlass,
            subject: "break_glass",
            purpose: "break-glass accesses waiting for review",
        };
        let mut authorised = authorise_read(&state.db, &who, request).await?;
        found.break_glass_reviews = sharing::unreviewed_break_glass(&mut authorised).await?;
        authorised.tx.commit().await?;
    }
    Ok(found)
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
        asks: asks_for(&state, &signed).await?,
    };
    Ok(Html(page.render()?))
}
