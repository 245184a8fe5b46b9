//! The Family Help practice model on the family's case (`EARLYHELP_PRACTICE_MODEL=family-help`,
//! see `docs/family-help.md`): the case's level with its history and the form to step it, the
//! family network, and family group decision making. In the default model these pages are not
//! found and the case page is as it was.

use super::family::{Change, Pairs, open_family, render_family};
use super::serious::names;
use super::{field, first_error, select_options};
use crate::AppState;
use crate::dates::{self, DateQuestion, Rule, when};
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Involvement, may_step_level};
use earlyhelp_domain::family_help::{
    FamilyGroupInput, HelpLevel, NetworkInput, PracticeModel, Uptake, check_family_group,
    check_lead_cp, check_network,
};
use earlyhelp_domain::limits;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::StorageError;
use earlyhelp_storage::cases::{self, FamilyRecord};
use earlyhelp_storage::family_help::{self as help, FamilyHelpRecord, Meeting, Networked, Step};
use earlyhelp_storage::gate::FamilyLevel;
use uuid::Uuid;

const OFFERED_ON: DateQuestion = DateQuestion::new(
    "offered_on",
    "Date the meeting was offered",
    Rule::TodayOrPast,
);
const MEETING_ON: DateQuestion =
    DateQuestion::new("meeting_on", "Date of the meeting", Rule::Any).optional();
/// More than a meeting room holds: a bound on what one form may write.
const MAX_ATTENDEES: usize = 50;

pub fn routes() -> Routes {
    Routes::new()
        .route("/families/{id}/level", post(step_level))
        .route(
            "/families/{id}/network/{person}",
            get(network_form).post(save_network),
        )
        .route(
            "/families/{id}/network/{person}/remove",
            post(remove_network),
        )
        .long_form(
            "/families/{id}/family-group/{meeting}",
            get(family_group_form).post(save_family_group),
        )
}

/// The Family Help pages exist only in that model.
fn family_help_model(state: &AppState) -> Result<(), AppError> {
    match state.config.practice_model {
        PracticeModel::FamilyHelp => Ok(()),
        PracticeModel::LevelsOfNeed => Err(AppError::NotFound),
    }
}

/// `new`, or the id of a record of the family's; anything else is not found.
fn which(raw: &str) -> Result<Option<Uuid>, AppError> {
    match raw {
        "new" => Ok(None),
        id => Uuid::parse_str(id)
            .map(Some)
            .map_err(|_| AppError::NotFound),
    }
}

pub struct StepLine {
    pub when: String,
    pub from: &'static str,
    pub to: &'static str,
    pub by: String,
    pub reason: String,
}

pub struct MeetingLine {
    pub id: Uuid,
    pub offered_on: String,
    pub uptake: &'static str,
    pub declined_reason: String,
    pub meeting_on: Option<String>,
    pub attendees: String,
    pub plan: String,
}

/// The Family Help part of the case page.
pub struct HelpView {
    pub level: &'static str,
    pub lead_cp: Option<String>,
    pub steps: Vec<StepLine>,
    pub network: Vec<help::NetworkPerson>,
    pub meetings: Vec<MeetingLine>,
    /// The signed-in person may step the case (its leads, the lead of its locality).
    pub may_step: bool,
    pub level_options: Vec<SelectOption>,
    pub lead_cp_options: Vec<SelectOption>,
}

fn label(slug: &str) -> &'static str {
    HelpLevel::from_slug(slug).map_or("", HelpLevel::label)
}

/// The case's level now.
pub fn level_of(record: &FamilyRecord, help: &FamilyHelpRecord) -> HelpLevel {
    HelpLevel::of_case(
        help.help_level.as_deref(),
        &record.family.need_level,
        &record.family.state,
    )
}

/// The Family Help part of the page for `signed`, with what was typed into a refused form.
pub fn help_view(
    signed: &Signed,
    record: &FamilyRecord,
    help: FamilyHelpRecord,
    team_now: &[&cases::Person],
    values: &[(String, String)],
) -> HelpView {
    let level = level_of(record, &help);
    let involvement = Involvement {
        locality: record.family.locality_slug.clone(),
        lead_practitioner: record.family.lead_practitioner,
        lead_cp_practitioner: help.lead_cp.as_ref().map(|p| p.user_id),
        ..Involvement::default()
    };
    // Who may be named lead child protection practitioner: the lead, the team whose access is
    // in place, and the signed-in person if they lead the locality (storage checks again).
    let me = &signed.user.actor;
    let mut candidates: Vec<(Uuid, String)> = Vec::new();
    if let (Some(id), Some(name)) = (record.family.lead_practitioner, &record.family.lead_name) {
        candidates.push((id, name.clone()));
    }
    candidates.extend(team_now.iter().map(|p| (p.user_id, p.name.clone())));
    let leads_locality = me
        .roles
        .contains(&earlyhelp_domain::roles::Role::LocalityLead)
        && me.localities.contains(&record.family.locality_slug);
    if leads_locality {
        candidates.push((me.user_id, signed.user.name.clone()));
    }
    let mut seen = Vec::new();
    candidates.retain(|(id, _)| {
        let first = !seen.contains(id);
        seen.push(*id);
        first
    });
    let chosen_cp = field(values, "lead_cp_practitioner");
    HelpView {
        level: level.label(),
        lead_cp: help
            .lead_cp
            .as_ref()
            .map(|p| format!("{}, {} ({})", p.name, p.organisation, p.email)),
        steps: help
            .steps
            .iter()
            .map(|s| StepLine {
                when: when(s.at_micros),
                from: label(&s.from_level),
                to: label(&s.to_level),
                by: s.decided_by_name.clone(),
                reason: s.reason.clone(),
            })
            .collect(),
        meetings: help
            .meetings
            .iter()
            .map(|m| MeetingLine {
                id: m.id,
                offered_on: m.offered_on.clone(),
                uptake: Uptake::from_slug(&m.uptake).map_or("", Uptake::label),
                declined_reason: m.declined_reason.clone(),
                meeting_on: m.meeting_on.clone(),
                attendees: m.attendees.clone(),
                plan: m.plan.clone(),
            })
            .collect(),
        network: help.network,
        may_step: may_step_level(me, &involvement),
        level_options: select_options(
            None,
            HelpLevel::ALL
                .iter()
                .filter(|l| **l != level)
                .map(|l| (l.slug(), l.label())),
            &field(values, "level"),
        ),
        lead_cp_options: std::iter::once(SelectOption::new(
            "",
            "Nobody: the case is not going to child protection",
            chosen_cp.is_empty(),
        ))
        .chain(candidates.into_iter().map(|(id, name)| {
            let id = id.to_string();
            let selected = chosen_cp == id;
            SelectOption::new(id, name, selected)
        }))
        .collect(),
    }
}

/// Steps the case to another level: the reason is required, child protection names its lead
/// child protection practitioner, and only the case's leads (the gate's `FamilyLevel`) may.
async fn step_level(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    family_help_model(&state)?;
    let mut errors = Vec::new();
    let to = HelpLevel::from_slug(&field(&pairs, "level"));
    if to.is_none() {
        errors.push(FieldError::new(
            "level",
            "Choose the level the case moves to",
        ));
    }
    let lead_cp = Uuid::parse_str(&field(&pairs, "lead_cp_practitioner")).ok();
    if let Some(to) = to {
        errors.extend(check_lead_cp(to, lead_cp.is_some()).err());
    }
    let reason = field(&pairs, "level_reason");
    if reason.trim().is_empty() {
        errors.push(FieldError::new(
            "level_reason",
            "Say why the case is changing level",
        ));
    }
    errors.extend(limits::too_long(
        "level_reason",
        "The reason",
        &reason,
        limits::REASON,
    ));
    let (Some(to), true) = (to, errors.is_empty()) else {
        return render_family(&state, &signed, id, errors, pairs).await;
    };
    let reason = reason.trim();
    // Not the reason: it may name other people, and the audit log outlives retention.
    let purpose = format!("change the case's level to {}", to.label());
    let mut authorised =
        super::open_record::<FamilyLevel>(&state, &signed, id, Action::Update, &purpose).await?;
    let decided_by_name = format!("{}, {}", signed.user.name, signed.user.organisation_name);
    let step = Step {
        to,
        lead_cp,
        reason,
        decided_by: signed.user.actor.user_id,
        decided_by_name: &decided_by_name,
    };
    match help::step_level(&mut authorised, &step).await {
        Ok(_) => {
            authorised.tx.commit().await?;
            Ok(done(id, Change::Level))
        }
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            let field = if message.contains("lead child protection") {
                "lead_cp_practitioner"
            } else {
                "level"
            };
            let errors = vec![FieldError::new(field, message)];
            render_family(&state, &signed, id, errors, pairs).await
        }
        Err(other) => Err(other.into()),
    }
}

fn done(id: Uuid, change: Change) -> Response {
    let to = format!("/families/{id}?done={}#{}", change.slug(), change.anchor());
    Redirect::to(&to).into_response()
}

#[derive(Template)]
#[template(path = "cases_network.html")]
struct NetworkPage {
    layout: Layout,
    errors: Vec<FieldError>,
    family_id: Uuid,
    family_names: String,
    person: Option<Uuid>,
    in_plan: Vec<SelectOption>,
    values: Vec<(String, String)>,
}

impl NetworkPage {
    fn error(&self, name: &str) -> Option<&str> {
        first_error(&self.errors, name)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

/// The family and its Family Help records, read through the gate for a form page.
async fn read_family(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    purpose: &str,
) -> Result<(FamilyRecord, FamilyHelpRecord), AppError> {
    family_help_model(state)?;
    let mut authorised = open_family(state, signed, id, Action::Read, purpose).await?;
    let record = cases::family(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    let help = help::of_family(&mut authorised).await?;
    authorised.tx.commit().await?;
    Ok((record, help))
}

async fn render_network(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    person: Option<Uuid>,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let (record, help) = read_family(state, signed, id, "family network form").await?;
    let values = match (person, errors.is_empty()) {
        (Some(pid), true) => {
            let p = help
                .network
                .iter()
                .find(|p| p.id == pid)
                .ok_or(AppError::NotFound)?;
            vec![
                ("name".into(), p.name.clone()),
                ("relationship".into(), p.relationship.clone()),
                ("contact".into(), p.contact.clone()),
                (
                    "in_plan".into(),
                    if p.in_plan { "yes" } else { "no" }.into(),
                ),
            ]
        }
        _ => values,
    };
    let page = NetworkPage {
        layout: Layout::for_user(signed, "/families"),
        family_id: id,
        family_names: names(&record),
        person,
        in_plan: select_options(
            None,
            [("yes", "Yes"), ("no", "No")].into_iter(),
            &field(&values, "in_plan"),
        ),
        errors,
        values,
    };
    let status = super::status_for(&page.errors);
    Ok((status, Html(page.render()?)).into_response())
}

async fn network_form(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, person)): Path<(Uuid, String)>,
) -> Result<Response, AppError> {
    render_network(&state, &signed, id, which(&person)?, vec![], vec![]).await
}

async fn save_network(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, person)): Path<(Uuid, String)>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    family_help_model(&state)?;
    let person = which(&person)?;
    let (name, relationship, contact) = (
        field(&pairs, "name"),
        field(&pairs, "relationship"),
        field(&pairs, "contact"),
    );
    let mut errors = check_network(&NetworkInput {
        name: &name,
        relationship: &relationship,
        contact: &contact,
    });
    let in_plan = match field(&pairs, "in_plan").as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    if in_plan.is_none() {
        errors.push(FieldError::new(
            "in_plan",
            "Choose whether they are part of the family's plan",
        ));
    }
    let (Some(in_plan), true) = (in_plan, errors.is_empty()) else {
        return render_network(&state, &signed, id, person, errors, pairs).await;
    };
    let who = Networked {
        name: name.trim(),
        relationship: relationship.trim(),
        contact: contact.trim(),
        in_plan,
    };
    let author = signed.user.name.clone();
    let mut authorised = open_family(&state, &signed, id, Action::Update, "family network").await?;
    help::save_network(&mut authorised, person, &who, &author).await?;
    authorised.tx.commit().await?;
    Ok(done(id, Change::Network))
}

async fn remove_network(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, person)): Path<(Uuid, Uuid)>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    family_help_model(&state)?;
    let author = signed.user.name.clone();
    let mut authorised = open_family(
        &state,
        &signed,
        id,
        Action::Update,
        "remove from the family network",
    )
    .await?;
    help::remove_network(&mut authorised, person, &author).await?;
    authorised.tx.commit().await?;
    Ok(done(id, Change::Network))
}

#[derive(Template)]
#[template(path = "cases_family_group.html")]
struct FamilyGroupPage {
    layout: Layout,
    errors: Vec<FieldError>,
    family_id: Uuid,
    family_names: String,
    meeting: Option<Uuid>,
    uptake: Vec<SelectOption>,
    attendees: Vec<SelectOption>,
    values: Vec<(String, String)>,
}

impl FamilyGroupPage {
    fn error(&self, name: &str) -> Option<&str> {
        first_error(&self.errors, name)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

async fn render_family_group(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    meeting: Option<Uuid>,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let (record, help) =
        read_family(state, signed, id, "family group decision making form").await?;
    let stored = match meeting {
        Some(mid) => Some(
            help.meetings
                .iter()
                .find(|m| m.id == mid)
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let values = match stored {
        Some(m) if errors.is_empty() => {
            let mut values = vec![
                ("offered_on".to_string(), m.offered_on.clone()),
                ("uptake".into(), m.uptake.clone()),
                ("declined_reason".into(), m.declined_reason.clone()),
                ("plan".into(), m.plan.clone()),
            ];
            values.extend(m.meeting_on.clone().map(|d| ("meeting_on".into(), d)));
            values.extend(
                split_attendees(&m.attendees).map(|a| ("attendees".to_string(), a.to_string())),
            );
            values
        }
        _ => values,
    };
    // The network now, and anyone recorded as coming who has since left it.
    let mut people: Vec<String> = help.network.iter().map(|p| p.name.clone()).collect();
    for past in stored.iter().flat_map(|m| split_attendees(&m.attendees)) {
        if !people.iter().any(|p| p == past) {
            people.push(past.to_string());
        }
    }
    let came: Vec<&str> = values
        .iter()
        .filter(|(k, _)| k == "attendees")
        .map(|(_, v)| v.as_str())
        .collect();
    let page = FamilyGroupPage {
        layout: Layout::for_user(signed, "/families"),
        family_id: id,
        family_names: names(&record),
        meeting,
        uptake: select_options(
            None,
            Uptake::ALL.iter().map(|u| (u.slug(), u.label())),
            &field(&values, "uptake"),
        ),
        attendees: people
            .iter()
            .map(|p| SelectOption::new(p.clone(), p.clone(), came.contains(&p.as_str())))
            .collect(),
        errors,
        values,
    };
    let status = super::status_for(&page.errors);
    Ok((status, Html(page.render()?)).into_response())
}

fn split_attendees(joined: &str) -> impl Iterator<Item = &str> {
    joined.split("; ").filter(|a| !a.is_empty())
}

async fn family_group_form(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, meeting)): Path<(Uuid, String)>,
) -> Result<Response, AppError> {
    render_family_group(&state, &signed, id, which(&meeting)?, vec![], vec![]).await
}

async fn save_family_group(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, meeting)): Path<(Uuid, String)>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    family_help_model(&state)?;
    let meeting = which(&meeting)?;
    let today = cases::today();
    let mut errors = Vec::new();
    let offered_on = dates::answer(&pairs, &OFFERED_ON, today)
        .map_err(|e| errors.push(e))
        .ok();
    let meeting_on = dates::read(&pairs, &MEETING_ON, today)
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let (declined_reason, plan) = (field(&pairs, "declined_reason"), field(&pairs, "plan"));
    let uptake = match offered_on {
        Some(offered_on) => check_family_group(&FamilyGroupInput {
            offered_on,
            uptake: &field(&pairs, "uptake"),
            declined_reason: &declined_reason,
            meeting_on,
            plan: &plan,
        })
        .map_err(|e| errors.extend(e))
        .ok(),
        None => None,
    };
    let attendees: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "attendees" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect();
    if attendees.len() > MAX_ATTENDEES {
        errors.push(FieldError::new(
            "attendees",
            format!("Choose at most {MAX_ATTENDEES} people who came from the family network"),
        ));
    } else if attendees
        .iter()
        .any(|a| limits::count_chars(a) > limits::LINE)
    {
        errors.push(FieldError::new(
            "attendees",
            "Choose who came from the family network",
        ));
    }
    let (Some(offered_on), Some(uptake), true) = (offered_on, uptake, errors.is_empty()) else {
        return render_family_group(&state, &signed, id, meeting, errors, pairs).await;
    };
    let record = Meeting {
        offered_on,
        uptake,
        declined_reason: declined_reason.trim(),
        meeting_on,
        attendees: &attendees,
        plan: plan.trim(),
    };
    let author = signed.user.name.clone();
    let mut authorised = open_family(
        &state,
        &signed,
        id,
        Action::Update,
        "family group decision making",
    )
    .await?;
    match help::save_meeting(&mut authorised, meeting, &record, &author).await {
        Ok(()) => {}
        // Someone named who is not in the network: the form again, saying so.
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            let errors = vec![FieldError::new("attendees", message)];
            return render_family_group(&state, &signed, id, meeting, errors, pairs).await;
        }
        Err(other) => return Err(other.into()),
    }
    authorised.tx.commit().await?;
    Ok(done(id, Change::FamilyGroup))
}

/// The Family Help sections of the case page, after the team: (id, title, count).
pub fn sections(view: &HelpView) -> [(&'static str, &'static str, String); 3] {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    [
        (
            "case-level",
            "Level and level history",
            format!(
                "{}; {}",
                view.level,
                count(view.steps.len(), "step", "steps")
            ),
        ),
        (
            "network",
            "The family network",
            count(view.network.len(), "person", "people"),
        ),
        (
            "family-group",
            "Family group decision making",
            count(view.meetings.len(), "offer", "offers"),
        ),
    ]
}
