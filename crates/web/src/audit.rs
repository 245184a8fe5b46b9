//! The information governance officer's view of the audit log.

use crate::AppState;
use crate::dates::filters;
use crate::error::AppError;
use crate::extract::Query;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::Layout;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::roles::Role;
use earlyhelp_storage::gate::{AuditEvent, AuditFilter, Request, authorise, list_events};

pub fn routes() -> Routes {
    Routes::new().route("/audit", get(audit_log))
}

const PAGE_LIMIT: usize = 500;

struct EventLine {
    when: String,
    /// The actor's roles in words ("Information governance officer").
    roles: String,
    /// The action in words ("sign in", not "sign_in").
    action: String,
    event: AuditEvent,
}

impl std::ops::Deref for EventLine {
    type Target = AuditEvent;
    fn deref(&self) -> &AuditEvent {
        &self.event
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    filter: AuditFilter,
    events: Vec<EventLine>,
    limit: usize,
}

/// The roles an event recorded (slugs, comma-separated) in words; an unknown one as recorded.
fn role_words(slugs: &str) -> String {
    slugs
        .split(',')
        .map(|slug| match Role::from_slug(slug.trim()) {
            Some(role) => role.label(),
            None => slug.trim(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn audit_log(
    State(state): State<AppState>,
    signed: Signed,
    Query(filter): Query<AuditFilter>,
) -> Result<Html<String>, AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::AuditLog,
        subject: "audit_log",
        purpose: "audit review",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    let events = list_events(&mut authorised, &filter, PAGE_LIMIT as i64).await?;
    authorised.tx.commit().await?;
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let events = events
        .into_iter()
        .map(|event| EventLine {
            when: event.at().format(format).unwrap_or_default(),
            roles: role_words(&event.actor_role),
            action: event.action.replace('_', " "),
            event,
        })
        .collect();
    let page = AuditPage {
        layout: Layout::for_user(&signed, "/audit"),
        filter,
        events,
        limit: PAGE_LIMIT,
    };
    Ok(Html(page.render()?))
}
