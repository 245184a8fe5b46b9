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
use earlyhelp_storage::{accounts, asks, cases, home_counts, sharing};

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
    /// Today's work, a section for each kind of work their roles do.
    today: Vec<Section>,
    /// What a case's lead is called in the deployment's practice model.
    lead_title: &'static str,
}

/// A part of the home page's "today": numbers, each linking to the list it counts, and for a
/// locality lead the open cases of each practitioner.
pub struct Section {
    pub id: &'static str,
    pub heading: String,
    pub tiles: Vec<Tile>,
    /// (practitioner, open cases, link to their families)
    pub caseloads: Vec<(String, i64, String)>,
}

/// One number and what it counts, in words; the list of exactly those.
pub struct Tile {
    pub id: String,
    pub count: i64,
    pub words: String,
    pub href: String,
}

fn tile(id: impl Into<String>, count: i64, one: &str, many: &str, href: impl Into<String>) -> Tile {
    Tile {
        id: id.into(),
        count,
        words: if count == 1 { one } else { many }.to_string(),
        href: href.into(),
    }
}

fn read_request<'a>(resource: Resource, subject: &'a str, purpose: &'a str) -> Request<'a> {
    Request {
        action: Action::List,
        resource,
        subject,
        purpose,
    }
}

/// Today's work for the signed-in person: each count read through the gate under the permit of
/// the list it links to, so it counts only what that list would show them.
async fn today_for(
    state: &AppState,
    signed: &Signed,
    break_glass_reviews: i64,
) -> Result<Vec<Section>, AppError> {
    let actor = &signed.user.actor;
    let who = signed.who();
    let may = |p: Permission| actor.roles.iter().any(|r| r.may(p));
    let mut sections = Vec::new();
    if may(Permission::WorkCases) {
        let request = read_request(Resource::Caseload, "caseload", "home page: what is due");
        let mut authorised = authorise_read(&state.db, &who, request).await?;
        let counts = home_counts::families(&mut authorised, actor, cases::today()).await?;
        let caseloads = home_counts::caseloads(&mut authorised, actor).await?;
        authorised.tx.commit().await?;
        let mut tiles = vec![
            tile(
                "review-overdue",
                counts.review_overdue,
                "family with a review overdue",
                "families with a review overdue",
                "/families?only=review_overdue",
            ),
            tile(
                "review-this-week",
                counts.review_this_week,
                "family with a review due in the next 7 days",
                "families with a review due in the next 7 days",
                "/families?only=review_this_week",
            ),
            tile(
                "actions-overdue",
                counts.actions_overdue,
                "family with a plan action overdue",
                "families with a plan action overdue",
                "/families?only=actions_overdue",
            ),
            tile(
                "no-recent-reading",
                counts.no_recent_reading,
                "open case with no wellbeing reading in 3 months",
                "open cases with no wellbeing reading in 3 months",
                "/families?only=no_recent_reading",
            ),
        ];
        if actor.roles.contains(&Role::LocalityLead) {
            tiles.push(tile(
                "unallocated",
                counts.unallocated,
                "open case with no lead practitioner",
                "open cases with no lead practitioner",
                "/families?only=unallocated",
            ));
        }
        if counts.break_glass > 0 {
            tiles.push(tile(
                "break-glass-held",
                counts.break_glass,
                "family you hold break-glass access to",
                "families you hold break-glass access to",
                "/families?only=break_glass",
            ));
        }
        sections.push(Section {
            id: "today-families",
            heading: "Your families".into(),
            tiles,
            caseloads: Vec::new(),
        });
        if actor.roles.contains(&Role::LocalityLead) {
            let names = crate::views::LocalityNames::load(&state.db).await?;
            for locality in &actor.localities {
                let subject = format!("requests:{locality}");
                let request = read_request(
                    Resource::SupportRequest {
                        locality: Some(locality.clone()),
                    },
                    &subject,
                    "home page: requests waiting",
                );
                let mut authorised = authorise_read(&state.db, &who, request).await?;
                let waiting = home_counts::waiting(&mut authorised, locality).await?;
                authorised.tx.commit().await?;
                let name = names.name(locality);
                let mut words = format!(
                    "{} waiting for triage",
                    if waiting.requests == 1 {
                        "request"
                    } else {
                        "requests"
                    }
                );
                if waiting.complex > 0 {
                    words.push_str(&format!(", {} of them complex", waiting.complex));
                }
                if let Some(days) = waiting.oldest_days {
                    let days = crate::dates::waited(days);
                    words.push_str(&format!("; the oldest has waited {days}"));
                }
                let href = format!("/triage?locality={locality}");
                sections.push(Section {
                    id: "today-locality",
                    heading: format!("{name}: requests and caseloads"),
                    tiles: vec![Tile {
                        id: format!("waiting-{locality}"),
                        count: waiting.requests,
                        words,
                        href,
                    }],
                    caseloads: caseloads
                        .iter()
                        .filter(|c| &c.locality_slug == locality)
                        .map(|c| {
                            let href = format!(
                                "/families?only=open&lead={}&locality={locality}",
                                c.user_id
                            );
                            (c.name.clone(), c.open_cases, href)
                        })
                        .collect(),
                });
            }
        }
    }
    if may(Permission::RequestSupport) {
        let subject = format!("requests:sent_by:{}", actor.user_id);
        let request = read_request(Resource::SentRequests, &subject, "home page: requests sent");
        let mut authorised = authorise_read(&state.db, &who, request).await?;
        let sent = home_counts::sent(&mut authorised, actor.user_id).await?;
        authorised.tx.commit().await?;
        let of = |status: &str| {
            sent.iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n)
        };
        let all: i64 = sent.iter().map(|(_, n)| n).sum();
        if all > 0 {
            // One number for the one list; how many still wait is said in its words.
            let mut sent = tile(
                "sent",
                all,
                "request you sent",
                "requests you sent",
                "/requests/sent",
            );
            sent.words.push_str(&format!(
                ": {} waiting for triage, the rest decided",
                of("new")
            ));
            sections.push(Section {
                id: "today-sent",
                heading: "Requests you sent".into(),
                tiles: vec![sent],
                caseloads: Vec::new(),
            });
        }
    }
    if may(Permission::EditDirectory) {
        let locality = crate::connector::first_locality(signed);
        let (due, pending, approver) = crate::connector::work_counts(
            state,
            signed,
            locality.clone(),
            "home page: directory work",
        )
        .await?;
        let href = match &locality {
            Some(l) => format!("/directory/manage?locality={l}"),
            None => "/directory/manage".to_string(),
        };
        let mut tiles = vec![tile(
            "listings-due",
            due,
            "listing due for review within 30 days, or overdue",
            "listings due for review within 30 days, or overdue",
            href.clone(),
        )];
        if approver {
            tiles.push(tile(
                "changes-waiting",
                pending,
                "change to a listing waiting for your approval",
                "changes to listings waiting for your approval",
                href,
            ));
        }
        let heading = match &locality {
            Some(l) => format!(
                "The directory in {}",
                crate::views::LocalityNames::load(&state.db).await?.name(l)
            ),
            None => "Your organisation's listings".to_string(),
        };
        sections.push(Section {
            id: "today-directory",
            heading,
            tiles,
            caseloads: Vec::new(),
        });
    }
    if may(Permission::GovernRecords) {
        let request = read_request(
            Resource::RecordsGovernance,
            "legal_holds",
            "home page: legal holds",
        );
        let mut authorised = authorise_read(&state.db, &who, request).await?;
        let holds = home_counts::legal_holds(&mut authorised).await?;
        let month_ago = earlyhelp_storage::now_micros() - 30 * 24 * 3_600_000_000;
        let not_shared =
            earlyhelp_storage::identifiers::count_since(&mut authorised, month_ago).await?;
        let (sars, soonest) = earlyhelp_storage::sar_register::open_count(&mut authorised).await?;
        let review = earlyhelp_storage::retention::review(
            &mut authorised,
            &earlyhelp_domain::retention::Schedule::default(),
            cases::today(),
        )
        .await?;
        authorised.tx.commit().await?;
        let retention_due = review
            .matching(|v| matches!(v, earlyhelp_domain::retention::Verdict::Anonymise(_)))
            .len() as i64;
        let mut tiles = Vec::new();
        if may(Permission::ReadAuditLog) {
            tiles.push(tile(
                "break-glass-to-review",
                break_glass_reviews,
                "break-glass access waiting for your review",
                "break-glass accesses waiting for your review",
                "/audit/break-glass",
            ));
        }
        let mut sar = tile(
            "subject-access",
            sars,
            "subject access request waiting for a response",
            "subject access requests waiting for a response",
            "/governance/requests",
        );
        if let Some(due) = soonest.as_deref().and_then(|d| {
            time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).ok()
        }) {
            let days = (due - cases::today()).whole_days();
            sar.words.push_str(&match days {
                d if d < 0 => format!(
                    "; the soonest was due {}, {} ago",
                    crate::dates::long_date(due),
                    crate::dates::waited(-d)
                ),
                0 => "; the soonest is due today".to_string(),
                d => format!(
                    "; the soonest is due {}, {} left",
                    crate::dates::long_date(due),
                    crate::dates::waited(d)
                ),
            });
        }
        tiles.push(sar);
        tiles.push(tile(
            "retention-due",
            retention_due,
            "record due for anonymising under the retention schedule",
            "records due for anonymising under the retention schedule",
            "/governance/retention",
        ));
        tiles.push(tile(
            "legal-holds",
            holds,
            "legal hold in force",
            "legal holds in force",
            "/governance/holds",
        ));
        tiles.push(tile(
            "not-shared",
            not_shared,
            "decision not to share recorded in the last 30 days",
            "decisions not to share recorded in the last 30 days",
            "/governance/not-shared",
        ));
        sections.push(Section {
            id: "today-governance",
            heading: "Information governance".into(),
            tiles,
            caseloads: Vec::new(),
        });
    }
    if signed.user.actor.roles.contains(&Role::Commissioner) {
        let special = crate::outcomes::board::special_cause_count(state).await?;
        sections.push(Section {
            id: "today-outcomes",
            heading: "Outcomes".into(),
            tiles: vec![tile(
                "special-cause",
                special,
                "indicator with special cause variation in the city's latest month, improving or concerning",
                "indicators with special cause variation in the city's latest month, improving or concerning",
                "/outcomes/board?special=yes",
            )],
            caseloads: Vec::new(),
        });
    }
    if may(Permission::LinkRecords) {
        let request = read_request(Resource::Matching, "matching", "home page: matching work");
        let mut authorised = authorise_read(&state.db, &who, request).await?;
        let work = home_counts::matching(&mut authorised, cases::today()).await?;
        authorised.tx.commit().await?;
        sections.push(Section {
            id: "today-matching",
            heading: "Matching".into(),
            tiles: vec![
                tile(
                    "runs-going",
                    work.runs_going,
                    "matching run queued or running",
                    "matching runs queued or running",
                    "/matching",
                ),
                tile(
                    "possible-matches",
                    work.possible,
                    "possible match waiting for clerical review",
                    "possible matches waiting for clerical review",
                    "/matching",
                ),
                tile(
                    "lists-ending",
                    work.lists_ending,
                    "uploaded list deleted within 30 days (its delete-by date)",
                    "uploaded lists deleted within 30 days (their delete-by date)",
                    "/matching",
                ),
            ],
            caseloads: Vec::new(),
        });
    }
    if may(Permission::ManageUsers) {
        let resource = Resource::UserAccount {
            user_id: None,
            organisation_id: signed.user.actor.organisation_id,
        };
        let request = read_request(resource, "users", "home page: locked accounts");
        let mut authorised = authorise_read(&state.db, &who, request).await?;
        let locked = crate::admin::locked_emails(state, &mut authorised).await?;
        let now = earlyhelp_storage::now_micros();
        let unused = accounts::list_users(&mut authorised)
            .await?
            .iter()
            .filter(|row| row.unused(now))
            .count() as i64;
        authorised.tx.commit().await?;
        sections.push(Section {
            id: "today-accounts",
            heading: "User accounts".into(),
            tiles: vec![
                tile(
                    "locked-accounts",
                    locked.len() as i64,
                    "account locked after repeated failed sign-ins",
                    "accounts locked after repeated failed sign-ins",
                    "/admin/users?locked=yes",
                ),
                tile(
                    "unused-accounts",
                    unused,
                    "active account not signed in for 90 days",
                    "active accounts not signed in for 90 days",
                    "/admin/users?unused=yes",
                ),
            ],
            caseloads: Vec::new(),
        });
    }
    Ok(sections)
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
    let asks = asks_for(&state, &signed).await?;
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
        today: today_for(&state, &signed, asks.break_glass_reviews).await?,
        asks,
        lead_title: earlyhelp_domain::family_help::lead_title(state.config.practice_model),
    };
    Ok(Html(page.render()?))
}
