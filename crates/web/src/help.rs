//! Pages anyone may read: help for each role with its common tasks, the accessibility
//! statement and the cookies page. They hold no one's data, so they pass no gate.

use crate::AppState;
use crate::error::AppError;
use crate::extract::Path;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::Layout;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use earlyhelp_domain::roles::Role;

pub fn routes() -> Routes {
    Routes::new()
        .route("/help", get(help_index))
        .route("/help/{role}", get(help_for_role))
        .route("/accessibility", get(accessibility))
        .route("/cookies", get(cookies))
}

/// One common task: what it is, how it is done, and the page it starts from.
struct HowTo {
    task: &'static str,
    how: &'static str,
    /// (link, the page's name)
    start: (&'static str, &'static str),
}

const fn how_to(
    task: &'static str,
    how: &'static str,
    start: (&'static str, &'static str),
) -> HowTo {
    HowTo { task, how, start }
}

/// What a role is for, in a sentence.
fn purpose(role: Role) -> &'static str {
    match role {
        Role::Administrator => {
            "You keep the accounts, organisations and localities right. You cannot read \
             families' records: that keeps those who make accounts apart from what accounts read."
        }
        Role::LocalityLead => {
            "You lead early help in your locality: you decide what each request needs, give \
             families a lead practitioner and keep an eye on the locality's cases."
        }
        Role::Practitioner => {
            "You work with families: you ask for support for them, and when you are on a \
             family's team you keep their assessment, plan, notes and readings."
        }
        Role::CommunityConnector => {
            "You keep the Local Offer directory true for your locality and connect families to \
             community support."
        }
        Role::VcsWorker => {
            "You run a voluntary or community service: you keep its listing current and answer \
             the families referred to it."
        }
        Role::DataAnalyst => {
            "You load the partnership's monthly figures and produce the extracts it reports."
        }
        Role::Commissioner => {
            "You see how families in the city are doing and what Early Help returns for each \
             partner, without seeing any family's record."
        }
        Role::InformationGovernanceOfficer => {
            "You answer for who saw what: the audit log, break-glass reviews, subject access \
             requests, legal holds and retention."
        }
        Role::GrantsOfficer => {
            "You run the payments to families and the community grants programmes."
        }
        Role::GrantAssessor => "You score community grant applications against the criteria.",
    }
}

/// The common tasks of a role, each starting from a page that exists today.
fn tasks(role: Role) -> Vec<HowTo> {
    const ACCOUNT: HowTo = how_to(
        "Keep your account safe",
        "Set up a second factor (an authenticator app) and keep your recovery codes somewhere \
         safe. You can see where you are signed in and end the other sessions.",
        ("/account/sessions", "Your sessions"),
    );
    match role {
        Role::Administrator => vec![
            how_to(
                "Add a person",
                "Give their name, email address and organisation. Roles and localities wait for \
                 a second person (a locality lead or information governance officer) to approve.",
                ("/admin/users/new", "Add a user"),
            ),
            how_to(
                "Change or end someone's access",
                "Open the person from the list of users to change their roles, reset their \
                 second factor when they have lost it, or deactivate the account.",
                ("/admin/users", "Users"),
            ),
            how_to(
                "Organisations and localities",
                "Keep the partnership's organisations and the ten localities up to date.",
                ("/admin/organisations", "Organisations"),
            ),
        ],
        Role::LocalityLead => vec![
            how_to(
                "Triage today's requests",
                "The queue shows the requests waiting for your localities. Open one, decide what it needs and, for a case, choose the lead \
                 practitioner.",
                ("/triage", "Triage"),
            ),
            how_to(
                "Approve access",
                "New accounts and new roles wait for a second person. Approve or refuse each, \
                 with a reason.",
                ("/access-requests", "Access requests"),
            ),
            how_to(
                "Your locality's families",
                "See the families of your localities, open one to read or update it, and step a \
                 case up, down or close it with a reason.",
                ("/families", "Families"),
            ),
            ACCOUNT,
        ],
        Role::Practitioner => vec![
            how_to(
                "Ask for support for a family",
                "Fill in the Family Connect Form with the family's consent. It goes to the \
                 family's locality for triage.",
                ("/requests/new", "Request support"),
            ),
            how_to(
                "See what became of a request you sent",
                "Every request you sent, its triage outcome and when, and the family it joined \
                 when you may see it.",
                ("/requests/sent", "Requests you sent"),
            ),
            how_to(
                "Work with your families",
                "Open a family to add a note, a reading or a plan action, book a review, or \
                 connect them to community support.",
                ("/families", "Your families"),
            ),
            ACCOUNT,
        ],
        Role::CommunityConnector => vec![
            how_to(
                "Keep listings true",
                "Check the listings due for review, approve changes others propose, and merge \
                 duplicates.",
                ("/directory/manage", "Directory"),
            ),
            how_to(
                "Help people find services",
                "Add words people search with that mean the same as a service's words, such as \
                 \"food parcel\" for a food bank.",
                ("/directory/manage/synonyms", "Search words"),
            ),
            how_to(
                "Check young people's reviews",
                "Read the reviews young people leave of your locality's listings, take out \
                 names and phone numbers, and publish or reject them.",
                ("/directory/manage/reviews", "Young people's reviews"),
            ),
            how_to(
                "Referrals to services",
                "Accept or decline the families referred to your services, and record what \
                 happened.",
                ("/referrals", "Referrals"),
            ),
            ACCOUNT,
        ],
        Role::VcsWorker => vec![
            how_to(
                "Keep your listing current",
                "Change what your service offers, when and where. A connector approves the \
                 change before families see it.",
                ("/directory/manage", "Directory"),
            ),
            how_to(
                "Answer referrals",
                "Accept or decline each family referred to you, message the referrer, and record \
                 the result.",
                ("/referrals", "Referrals"),
            ),
            how_to(
                "Report your social value",
                "Record what your service gave back, and download the report.",
                ("/social-value", "Social value"),
            ),
            ACCOUNT,
        ],
        Role::DataAnalyst => vec![
            how_to(
                "Load this month's figures",
                "Download the template, fill it in and upload it. You see every problem by row \
                 and column before anything is saved.",
                ("/outcomes/uploads/new", "Upload indicator values"),
            ),
            how_to(
                "Produce an extract",
                "Pseudonymised case data with its data dictionary, with small numbers \
                 suppressed.",
                ("/extracts", "Extracts"),
            ),
            ACCOUNT,
        ],
        Role::Commissioner => vec![
            how_to(
                "How families are doing",
                "The outcomes framework's indicators, each with its chart showing when a change \
                 is more than chance.",
                ("/outcomes", "Outcomes"),
            ),
            how_to(
                "The return for each partner",
                "What Early Help costs and saves, and the return for each £1 each partner \
                 spends.",
                ("/impact", "Impact"),
            ),
            how_to(
                "Spend against need",
                "Where the money goes against where need is, by locality.",
                ("/spend-against-need", "Spend against need"),
            ),
        ],
        Role::InformationGovernanceOfficer => vec![
            how_to(
                "Review break-glass access",
                "Each time someone opened a record outside their access, with their reason: \
                 record whether it was justified.",
                ("/audit/break-glass", "Break-glass reviews"),
            ),
            how_to(
                "Who saw what",
                "The audit log of every read, change and refusal.",
                ("/audit", "Audit log"),
            ),
            how_to(
                "Keep track of subject access requests",
                "Record each request when it arrives and see the days left of its statutory month.",
                ("/governance/requests", "Subject access requests received"),
            ),
            how_to(
                "Answer a subject access request",
                "Find the person and produce everything held about them.",
                ("/governance", "Governance"),
            ),
            how_to(
                "Legal holds and retention",
                "Place or lift a legal hold, and see what is due for deletion.",
                ("/governance/retention", "Retention"),
            ),
            ACCOUNT,
        ],
        Role::GrantsOfficer => vec![
            how_to(
                "Approve and pay payments",
                "Approve, refuse and pay payments to families, crisis requests first.",
                ("/payments", "Payments"),
            ),
            how_to(
                "Run the programmes",
                "Set up a payments programme, its rules and its budget.",
                ("/programmes", "Programmes"),
            ),
            how_to(
                "Community grants",
                "See the applications, the assessors' scores, and decide.",
                ("/grants/applications", "Grant applications"),
            ),
            how_to(
                "Let residents vote",
                "Open a voting round on a locality's shortlisted applications, set how the \
                 panel's scores and the vote are weighted, and print codes for an event.",
                ("/grants/voting", "Voting rounds"),
            ),
            ACCOUNT,
        ],
        Role::GrantAssessor => vec![how_to(
            "Score an application",
            "Open an application and score it against each criterion, or declare a conflict of \
             interest.",
            ("/grants/applications", "Grant applications"),
        )],
    }
}

/// A role as its help page's address names it: `locality-lead`.
fn role_path(role: Role) -> String {
    format!("/help/{}", role.slug().replace('_', "-"))
}

fn layout(signed: &Result<Signed, AppError>, current: &str) -> Layout {
    match signed {
        Ok(signed) => Layout::for_user(signed, current),
        Err(_) => Layout::anonymous(String::new()),
    }
}

#[derive(Template)]
#[template(path = "help_index.html")]
struct HelpIndex {
    layout: Layout,
    /// (link, role, what it is for, whether the reader holds it)
    roles: Vec<(String, &'static str, &'static str, bool)>,
}

async fn help_index(signed: Result<Signed, AppError>) -> Result<Html<String>, AppError> {
    let held: Vec<Role> = match &signed {
        Ok(signed) => signed.user.actor.roles.clone(),
        Err(_) => Vec::new(),
    };
    let roles = Role::ALL
        .into_iter()
        .map(|role| {
            (
                role_path(role),
                role.label(),
                purpose(role),
                held.contains(&role),
            )
        })
        .collect();
    let page = HelpIndex {
        layout: layout(&signed, "/help"),
        roles,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "help_role.html")]
struct HelpRole {
    layout: Layout,
    role: &'static str,
    purpose: &'static str,
    tasks: Vec<HowTo>,
}

async fn help_for_role(
    Path(role): Path<String>,
    signed: Result<Signed, AppError>,
) -> Result<Html<String>, AppError> {
    let role = Role::from_slug(&role).ok_or(AppError::NotFound)?;
    let page = HelpRole {
        layout: layout(&signed, "/help"),
        role: role.label(),
        purpose: purpose(role),
        tasks: tasks(role),
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct Accessibility {
    layout: Layout,
    contact_phone: String,
}

async fn accessibility(
    State(state): State<AppState>,
    signed: Result<Signed, AppError>,
) -> Result<Html<String>, AppError> {
    let page = Accessibility {
        layout: layout(&signed, "/accessibility"),
        contact_phone: state.config.contact_phone.trim().to_string(),
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "cookies.html")]
struct Cookies {
    layout: Layout,
    idle_minutes: u64,
    lifetime_hours: u64,
}

async fn cookies(
    State(state): State<AppState>,
    signed: Result<Signed, AppError>,
) -> Result<Html<String>, AppError> {
    let page = Cookies {
        layout: layout(&signed, "/cookies"),
        idle_minutes: state.config.session_idle.as_secs() / 60,
        lifetime_hours: state.config.session_lifetime.as_secs() / 3600,
    };
    Ok(Html(page.render()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_a_purpose_and_tasks_that_start_somewhere() {
        for role in Role::ALL {
            assert!(!purpose(role).is_empty(), "{role:?}");
            assert!(!tasks(role).is_empty(), "{role:?}");
            for task in tasks(role) {
                assert!(task.start.0.starts_with('/'), "{}", task.task);
            }
        }
    }

    #[test]
    fn a_role_path_names_the_role_back() {
        for role in Role::ALL {
            let path = role_path(role);
            assert_eq!(
                Role::from_slug(path.trim_start_matches("/help/")),
                Some(role)
            );
        }
    }
}
