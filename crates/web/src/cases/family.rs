//! The family's case: members, lead practitioner, team around the family, plan, readings,
//! chronology, consent, step up and down, closure; the caseload; and the "known to" view.

use super::measures::{
    MeasuresPanel, OutcomesPanel, measures_panel, outcome_lines, outcomes_panel,
};
use super::{field, first_error, select_options};
use crate::AppState;
use crate::dates::{self, DateQuestion, Rule, filters};
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::{
    ActionEnding, CaseState, ConsentMethod, Ethnicity, MemberRole, NeedLevel, NeedOutcome, Reason,
    Send, parse_date, review_overdue,
};
use earlyhelp_domain::connections::ReferralState;
use earlyhelp_domain::family_help::PracticeModel;
use earlyhelp_domain::limits;
use earlyhelp_domain::nhs_number::NhsAnswer;
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::sharing::{Article6, Article9, ShareInput, check_share};
use earlyhelp_storage::StorageError;
use earlyhelp_storage::cases::{self, FamilyRecord, KnownTo};
use earlyhelp_storage::connections::ReferralLine;
use earlyhelp_storage::family_page::{self, CasePage};
use earlyhelp_storage::gate::{AuditFilter, Authorised, FamilyId, KnownToFamily, list_events};
use uuid::Uuid;

/// The family page's date questions.
pub(super) const DUE_DATE: DateQuestion = DateQuestion::new("due_date", "Due date", Rule::Any);
const NEXT_REVIEW: DateQuestion = DateQuestion::new(
    "next_review",
    "Date of the next review",
    Rule::TodayOrFuture,
);
const GIVEN_ON: DateQuestion =
    DateQuestion::new("given_on", "Date consent was given", Rule::TodayOrPast);

pub fn routes() -> Routes {
    Routes::new()
        .route("/families/{id}", get(family_page))
        .route("/families/{id}/team", post(add_team_member))
        .route("/families/{id}/lead", post(allocate_lead))
        .long_form("/families/{id}/notes", post(add_note))
        .route("/families/{id}/actions", post(add_action))
        .route("/families/{id}/review", post(review))
        .route("/families/{id}/consent", post(record_consent))
        .route("/families/{id}/ask", post(ask_to_join))
}

/// Through the gate to family `id`'s record; a refusal or a missing family is `NotFound`.
pub async fn open_family(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    action: Action,
    purpose: &str,
) -> Result<Authorised<FamilyId>, AppError> {
    super::open_record(state, signed, id, action, purpose).await
}

fn member_line(m: &cases::MemberRow) -> MemberLine {
    let mut details = Vec::new();
    if let Some(nhs) = NhsAnswer::in_words(&m.nhs_number, &m.nhs_number_missing) {
        details.push(("NHS number", nhs));
    }
    if let Some(e) = Ethnicity::from_slug(&m.ethnicity) {
        details.push(("Ethnic group", e.label().to_string()));
    }
    if !m.languages.is_empty() {
        details.push(("Languages", m.languages.clone()));
    }
    if let Some(s) = Send::from_slug(&m.send) {
        details.push(("SEND or disability", s.label().to_string()));
    }
    if !m.school.is_empty() {
        details.push(("School", m.school.clone()));
    }
    MemberLine {
        name: format!("{} {}", m.given_name, m.family_name),
        date_of_birth: m.date_of_birth.clone(),
        relationship: MemberRole::from_slug(&m.relationship)
            .map(MemberRole::label)
            .unwrap_or(""),
        details,
    }
}

pub use crate::dates::when;

pub struct NoteLine {
    pub when: String,
    pub author: String,
    pub event: bool,
    pub body: String,
}

pub struct ActionLine {
    pub goal: String,
    pub action: String,
    pub owner: String,
    pub due_date: String,
    pub overdue: bool,
    /// How it ended, if the case closed while it was open.
    pub ending: &'static str,
}

pub struct ViewerLine {
    pub when: String,
    pub actor: String,
    pub organisation: String,
    pub action: String,
    pub outcome: String,
    pub purpose: String,
}

/// A family member as the case page shows them.
pub struct MemberLine {
    pub name: String,
    pub date_of_birth: String,
    pub relationship: &'static str,
    /// Ethnic group, languages, SEND and school, where known.
    pub details: Vec<(&'static str, String)>,
}

pub struct AssessmentLine {
    pub id: Uuid,
    pub is_draft: bool,
    pub started: String,
    pub finalised: String,
}

pub struct ShareLine {
    pub shared_with: String,
    pub purpose: String,
    pub article6: &'static str,
    /// For a share on one member's consent: whose.
    pub rests_on: String,
    pub article9: &'static str,
    pub recorded: String,
    /// When it ended and why; empty while it is in place.
    pub ended: String,
}

/// Someone in the team around the family, and whether their access has ended (when, why).
pub struct TeamLine {
    pub person: cases::Person,
    pub ended: Option<String>,
}

pub struct BreakGlassLine {
    pub who: String,
    pub reason: String,
    pub granted: String,
    pub expires: String,
    pub reviewed: String,
}

/// One need on the closure form: how far was it met?
pub struct NeedField {
    pub slug: &'static str,
    pub field: &'static str,
    pub need: &'static str,
    pub options: Vec<SelectOption>,
}

/// One collapsible section of the family page, as the contents list and its heading show it.
pub struct Section {
    pub id: &'static str,
    pub title: &'static str,
    /// What it holds, counted ("3 actions"); empty for a section with nothing to count.
    pub count: String,
    /// What is overdue in it ("1 action overdue"), flagged with a red tag.
    pub flags: Vec<String>,
    /// Open when the page loads: the section just changed, or every section on a refused form.
    pub expanded: bool,
}

/// "1 action", "3 actions".
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A change made on the family page, named in the redirect after it (`?done=note`) so the
/// page shows a success banner whose words are the server's own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Team,
    /// The lead practitioner allocated.
    Lead,
    Note,
    Action,
    Review,
    Consent,
    Reading,
    Outcome,
    Assessment,
    NhsNumber,
    NotShared,
    /// The Family Help model's: a step between levels, the family network, family group
    /// decision making.
    Level,
    Network,
    FamilyGroup,
}

impl Change {
    const ALL: [Change; 14] = [
        Change::Lead,
        Change::NhsNumber,
        Change::NotShared,
        Change::Team,
        Change::Note,
        Change::Action,
        Change::Review,
        Change::Consent,
        Change::Reading,
        Change::Outcome,
        Change::Assessment,
        Change::Level,
        Change::Network,
        Change::FamilyGroup,
    ];

    pub(super) fn slug(self) -> &'static str {
        match self {
            Change::Team => "team",
            Change::Lead => "lead",
            Change::Note => "note",
            Change::Action => "action",
            Change::Review => "review",
            Change::Consent => "consent",
            Change::Reading => "reading",
            Change::Outcome => "outcome",
            Change::Assessment => "assessment",
            Change::NhsNumber => "nhs_number",
            Change::NotShared => "not_shared",
            Change::Level => "level",
            Change::Network => "network",
            Change::FamilyGroup => "family_group",
        }
    }

    /// The section it changed.
    pub fn anchor(self) -> &'static str {
        match self {
            Change::Team | Change::Lead => "team",
            Change::Note => "notes",
            Change::Action | Change::Review => "plan",
            Change::Consent => "consent",
            Change::Reading => "journey",
            Change::Outcome => "supporting-families",
            Change::Assessment => "assessment",
            Change::NhsNumber => "members",
            Change::NotShared => "not-shared",
            Change::Level => "case-level",
            Change::Network => "network",
            Change::FamilyGroup => "family-group",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Change::Team => "The practitioner is added to the team around the family.",
            Change::Lead => "The lead practitioner is allocated.",
            Change::Note => "Your note is added to the chronology.",
            Change::Action => "The action is added to the plan.",
            Change::Review => "The review is recorded, with the date of the next one.",
            Change::Consent => "The consent is recorded.",
            Change::Reading => "The reading is recorded.",
            Change::Outcome => "The Supporting Families outcome is recorded.",
            Change::Assessment => "The assessment is saved as a draft.",
            Change::NhsNumber => "The NHS number is recorded.",
            Change::NotShared => "The decision not to share is recorded.",
            Change::Level => "The case's level is changed, with who decided and why.",
            Change::Network => "The family network is updated.",
            Change::FamilyGroup => "The family group decision making record is saved.",
        }
    }

    fn from_slug(slug: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

/// The chronology's filters: by kind (`note` or `event`) and by author; blank is every one.
#[derive(serde::Deserialize, Default)]
pub struct Chronology {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub author: String,
}

impl Chronology {
    fn keeps(&self, note: &cases::Note) -> bool {
        (self.kind.is_empty() || note.kind == self.kind)
            && (self.author.is_empty() || note.author == self.author)
    }

    fn is_filtered(&self) -> bool {
        !self.kind.is_empty() || !self.author.is_empty()
    }
}

#[derive(Template)]
#[template(path = "cases_family.html")]
struct FamilyPage {
    layout: Layout,
    errors: Vec<FieldError>,
    record: FamilyRecord,
    state_label: &'static str,
    is_open: bool,
    is_closed: bool,
    stepped_up: bool,
    need: &'static str,
    closure: &'static str,
    review_overdue: bool,
    members: Vec<MemberLine>,
    assessments: Vec<AssessmentLine>,
    shares: Vec<ShareLine>,
    break_glass: Vec<BreakGlassLine>,
    /// When the signed-in person sees the record only under break-glass access: until when.
    break_glass_until: Option<String>,
    article6_options: Vec<SelectOption>,
    article9_options: Vec<SelectOption>,
    notes: Vec<NoteLine>,
    actions: Vec<ActionLine>,
    measures: MeasuresPanel,
    outcomes: OutcomesPanel,
    /// At the latest closure: (need, how far it was met).
    closure_outcomes: Vec<(&'static str, &'static str)>,
    consent_methods: Vec<SelectOption>,
    /// The family members, for whose consent is recorded.
    member_options: Vec<SelectOption>,
    /// The consents in place, for a share to rest on one of them.
    consent_options: Vec<SelectOption>,
    team: Vec<TeamLine>,
    /// The success banner after a change; empty otherwise.
    done: &'static str,
    /// The collapsible sections, in order, for the contents list and each section's heading.
    sections: Vec<Section>,
    /// The chronology's filters as chosen, and the choices of author.
    chronology: Chronology,
    author_options: Vec<SelectOption>,
    kind_options: Vec<SelectOption>,
    /// How many entries the chronology holds before filtering.
    notes_total: usize,
    viewers: Vec<ViewerLine>,
    /// The lead practitioner's title, in the practice model's words.
    lead_label: &'static str,
    /// The Family Help part of the case, in that practice model only.
    help: Option<super::family_help::HelpView>,
    /// Referrals to services: the line, its status, and how far the need was met.
    referrals: Vec<(ReferralLine, &'static str, &'static str)>,
    /// Payments to the family, newest first.
    payments: Vec<super::payments::PaymentLine>,
    /// Who sent each request for support triaged onto the family, and when.
    referred_by: Vec<String>,
    /// The members, for whose NHS number is recorded.
    nhs_member_options: Vec<SelectOption>,
    nhs_reasons: Vec<SelectOption>,
    /// Decisions not to share information about the family, newest first, with when.
    not_shared: Vec<(String, earlyhelp_storage::identifiers::Decision)>,
    values: Vec<(String, String)>,
    /// The locality's staff who may work cases, for the team and lead pickers.
    case_workers: super::case_workers::CaseWorkers,
    /// The signed-in person leads the family's locality and may allocate its lead practitioner.
    may_allocate: bool,
}

impl FamilyPage {
    /// How consent was given, in words ("Written", not "written").
    fn consent_method(&self, slug: &str) -> &'static str {
        ConsentMethod::from_slug(slug).map_or("", ConsentMethod::label)
    }

    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }

    /// Section `id`, for its heading (every id the template asks for is in `sections`).
    fn section(&self, id: &str) -> &Section {
        self.sections
            .iter()
            .find(|s| s.id == id)
            .unwrap_or(&self.sections[0])
    }

    fn has_draft(&self) -> bool {
        self.assessments.iter().any(|a| a.is_draft)
    }

    fn consent_in_place(&self) -> bool {
        self.record
            .consents
            .iter()
            .any(|c| c.withdrawn_on.is_none())
    }
}

#[derive(Template)]
#[template(path = "cases_known_to.html")]
struct KnownToPage {
    layout: Layout,
    known: KnownTo,
    errors: Vec<FieldError>,
    asked: bool,
    /// Whether this person's role holds cases, and so may break glass in an emergency.
    may_break_glass: bool,
    break_glass_hours: i64,
    /// What was typed into a form that was refused.
    values: Vec<(String, String)>,
}

impl KnownToPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

pub(super) async fn render_family(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let shown = Shown {
        done: "",
        open: "",
        chronology: Chronology::default(),
    };
    render_family_with(state, signed, id, errors, values, shown).await
}

/// What the page shows beyond the record: the success banner, the section to open, and the
/// chronology's filters.
struct Shown {
    done: &'static str,
    open: &'static str,
    chronology: Chronology,
}

/// The case page.
async fn render_family_with(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
    shown: Shown,
) -> Result<Response, AppError> {
    let Shown {
        done,
        open,
        chronology,
    } = shown;
    let mut authorised = match open_family(state, signed, id, Action::Read, "case record").await {
        Ok(authorised) => authorised,
        Err(AppError::NotFound) => return known_to_page(state, signed, id).await,
        Err(other) => return Err(other),
    };
    let CasePage {
        record,
        closed_micros,
        outcomes,
        referrals,
        payments,
        referrers: referred_by,
        not_shared,
        measures,
    } = family_page::read(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    let outcomes = outcome_lines(outcomes, earlyhelp_storage::measures::day_of(closed_micros));
    let filter = AuditFilter {
        subject: format!("family:{id}"),
        ..AuditFilter::default()
    };
    let events = list_events(&mut authorised, &filter, 30).await?;
    let model = state.config.practice_model;
    let help_record = match model {
        PracticeModel::FamilyHelp => {
            Some(earlyhelp_storage::family_help::of_family(&mut authorised).await?)
        }
        PracticeModel::LevelsOfNeed => None,
    };
    authorised.tx.commit().await?;
    // Only once the permit's transaction is done: a page holding one pooled connection while
    // waiting for another deadlocks the pool when every connection is held that way.
    let case_workers = state
        .case_workers
        .of(&state.db, &record.family.locality_slug)
        .await?;
    let today = cases::today();
    let now_micros = earlyhelp_storage::now_micros();
    let state_value = CaseState::from_slug(&record.family.state).unwrap_or(CaseState::Open);
    let mut page = FamilyPage {
        layout: Layout::for_user(signed, "/families"),
        state_label: state_value.label(),
        is_open: state_value == CaseState::Open,
        is_closed: state_value == CaseState::Closed,
        stepped_up: state_value == CaseState::SteppedUp,
        need: match &help_record {
            Some(help) => super::family_help::level_of(&record, help).label(),
            None => NeedLevel::from_slug(&record.family.need_level)
                .map(NeedLevel::label)
                .unwrap_or(""),
        },
        lead_label: earlyhelp_domain::family_help::lead_title(model),
        help: None,
        closure: record
            .family
            .closure_reason
            .as_deref()
            .map(cases::closure_reason_label)
            .unwrap_or(""),
        review_overdue: state_value != CaseState::Closed
            && review_overdue(
                record.family.review_date.as_deref().and_then(parse_date),
                today,
            ),
        members: record.members.iter().map(member_line).collect(),
        assessments: record
            .assessments
            .iter()
            .map(|a| AssessmentLine {
                id: a.id,
                is_draft: a.is_draft(),
                started: format!("{}, {}", when(a.started_micros), a.started_by),
                finalised: match (&a.finalised_by, a.finalised_micros) {
                    (Some(by), Some(at)) => format!("{}, {by}", when(at)),
                    _ => String::new(),
                },
            })
            .collect(),
        team: team_lines(&record),
        shares: record
            .shares
            .iter()
            .map(|s| ShareLine {
                shared_with: s.shared_with.clone(),
                purpose: s.purpose.clone(),
                article6: Article6::from_slug(&s.article6)
                    .map(Article6::label)
                    .unwrap_or(""),
                rests_on: s
                    .consent_id
                    .and_then(|c| record.consents.iter().find(|k| k.id == c))
                    .map(|c| c.whose())
                    .unwrap_or_default(),
                ended: s
                    .ended_micros
                    .map(|at| ended(at, &s.ended_reason))
                    .unwrap_or_default(),
                article9: s
                    .article9
                    .as_deref()
                    .and_then(Article9::from_slug)
                    .map(Article9::label)
                    .unwrap_or("No special-category data"),
                recorded: format!("{}, {}", when(s.recorded_micros), s.recorded_by),
            })
            .collect(),
        break_glass: record
            .break_glass
            .iter()
            .map(|b| BreakGlassLine {
                who: b.user_name.clone(),
                reason: b.reason.clone(),
                granted: when(b.granted_micros),
                expires: when(b.expires_micros),
                reviewed: match (&b.reviewed_by, &b.review_note) {
                    (Some(by), Some(note)) => format!("{by}: {note}"),
                    _ => "Waiting for review".into(),
                },
            })
            .collect(),
        break_glass_until: record
            .break_glass
            .iter()
            .find(|b| b.user_id == signed.user.actor.user_id && b.expires_micros > now_micros)
            .map(|b| when(b.expires_micros)),
        article6_options: select_options(
            None,
            Article6::ALL.iter().map(|a| (a.slug(), a.label())),
            &field(&values, "article6"),
        ),
        article9_options: select_options(
            Some("None: no special-category data is shared"),
            Article9::ALL.iter().map(|a| (a.slug(), a.label())),
            &field(&values, "article9"),
        ),
        notes: newest_first(&record.notes)
            .into_iter()
            .filter(|n| chronology.keeps(n))
            .map(|n| NoteLine {
                when: when(n.at_micros),
                author: n.author.clone(),
                event: n.kind == "event",
                body: n.body.clone(),
            })
            .collect(),
        actions: record
            .actions
            .iter()
            .map(|a| ActionLine {
                goal: a.goal.clone(),
                action: a.action.clone(),
                owner: a.owner.clone(),
                due_date: a.due_date.clone(),
                overdue: !a.done && review_overdue(parse_date(&a.due_date), today),
                ending: a
                    .ending
                    .as_deref()
                    .and_then(ActionEnding::from_slug)
                    .map(ActionEnding::label)
                    .unwrap_or(""),
            })
            .collect(),
        measures: measures_panel(&record.readings, &measures),
        outcomes: outcomes_panel(outcomes, &values),
        closure_outcomes: record
            .closure_outcomes
            .iter()
            .filter_map(|(need, outcome)| {
                Some((
                    Reason::from_slug(need)?.label(),
                    NeedOutcome::from_slug(outcome)?.label(),
                ))
            })
            .collect(),
        consent_methods: ConsentMethod::ALL
            .iter()
            .map(|m| SelectOption::new(m.slug(), m.label(), false))
            .collect(),
        member_options: member_choices(&record, &values, "member"),
        nhs_member_options: member_choices(&record, &values, "nhs_member"),
        nhs_reasons: super::nhs_reason_options(&field(&values, "nhs_number_missing")),
        not_shared: not_shared
            .into_iter()
            .map(|d| (when(d.decided_micros), d))
            .collect(),
        consent_options: std::iter::once(SelectOption::new(
            "",
            "The family's consent as a whole",
            false,
        ))
        .chain(
            record
                .consents
                .iter()
                .filter(|c| c.withdrawn_on.is_none() && c.member_id.is_some())
                .map(|c| {
                    let id = c.id.to_string();
                    let selected = field(&values, "consent_id") == id;
                    SelectOption::new(id, super::serious::capitalise(&c.whose()), selected)
                }),
        )
        .collect(),
        done,
        sections: Vec::new(),
        author_options: std::iter::once(SelectOption::new(
            "",
            "Anyone",
            chronology.author.is_empty(),
        ))
        .chain(
            authors(&record.notes)
                .into_iter()
                .map(|a| SelectOption::new(a.to_string(), a.to_string(), a == chronology.author)),
        )
        .collect(),
        kind_options: select_options(
            Some("Notes and events"),
            [("note", "Notes"), ("event", "Events")].into_iter(),
            &chronology.kind,
        ),
        notes_total: record.notes.len(),
        chronology,
        viewers: events
            .into_iter()
            .map(|e| ViewerLine {
                when: when(e.at_micros),
                actor: e.actor,
                organisation: e.actor_organisation,
                action: e.action,
                outcome: e.outcome,
                purpose: e.purpose,
            })
            .collect(),
        referrals: referrals
            .into_iter()
            .map(|line| {
                let status = ReferralState::from_slug(&line.state)
                    .map(ReferralState::label)
                    .unwrap_or("");
                let outcome = line
                    .outcome
                    .as_deref()
                    .and_then(NeedOutcome::from_slug)
                    .map(NeedOutcome::label)
                    .unwrap_or("");
                (line, status, outcome)
            })
            .collect(),
        payments: payments
            .into_iter()
            .map(|row| super::payments::payment_line(row, now_micros))
            .collect(),
        referred_by: referred_by
            .iter()
            .map(|r| format!("{} (sent {})", r.describe(), when(r.created_micros)))
            .collect(),
        may_allocate: state_value == CaseState::Open
            && earlyhelp_domain::access::may_allocate(
                &signed.user.actor,
                &record.family.locality_slug,
            ),
        record,
        errors,
        values,
        case_workers,
    };
    if let Some(help) = help_record {
        let team_now: Vec<&cases::Person> = page
            .team
            .iter()
            .filter(|t| t.ended.is_none())
            .map(|t| &t.person)
            .collect();
        let view =
            super::family_help::help_view(signed, &page.record, help, &team_now, &page.values);
        page.help = Some(view);
    }
    page.sections = sections(&page, open);
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The chronology newest first, whatever order it came in.
fn newest_first(notes: &[cases::Note]) -> Vec<&cases::Note> {
    let mut notes: Vec<&cases::Note> = notes.iter().collect();
    notes.sort_by_key(|n| std::cmp::Reverse((n.at_micros, n.id)));
    notes
}

/// Everyone who wrote in the chronology, once each, in alphabetical order.
fn authors(notes: &[cases::Note]) -> Vec<&str> {
    let mut authors: Vec<&str> = notes.iter().map(|n| n.author.as_str()).collect();
    authors.sort_unstable();
    authors.dedup();
    authors
}

/// The page's sections with their counts and overdue flags, from what the page already holds.
fn sections(page: &FamilyPage, open: &str) -> Vec<Section> {
    let record = &page.record;
    let overdue_actions = page.actions.iter().filter(|a| a.overdue).count();
    let mut plan_flags = Vec::new();
    if overdue_actions > 0 {
        plan_flags.push(format!(
            "{} overdue",
            counted(overdue_actions, "action", "actions")
        ));
    }
    if page.review_overdue {
        plan_flags.push("Review overdue".to_string());
    }
    let readings: std::collections::BTreeSet<(Uuid, &str)> = record
        .readings
        .iter()
        .map(|r| (r.measure_id, r.taken_on.as_str()))
        .collect();
    let team_now = page.team.iter().filter(|t| t.ended.is_none()).count();
    let consents_now = record
        .consents
        .iter()
        .filter(|c| c.withdrawn_on.is_none())
        .count();
    let chronology = if page.chronology.is_filtered() {
        format!(
            "{}, {} shown",
            counted(page.notes_total, "entry", "entries"),
            page.notes.len()
        )
    } else {
        counted(page.notes_total, "entry", "entries")
    };
    let open = if page.chronology.is_filtered() && open.is_empty() {
        "notes"
    } else {
        open
    };
    let mut list: Vec<(&'static str, &'static str, String, Vec<String>)> = vec![
        (
            "members",
            "Family members",
            counted(page.members.len(), "person", "people"),
            vec![],
        ),
        (
            "team",
            "Team around the family",
            counted(team_now, "practitioner", "practitioners"),
            vec![],
        ),
        (
            "assessment",
            "Early Help assessment",
            counted(page.assessments.len(), "assessment", "assessments"),
            vec![],
        ),
        (
            "plan",
            "Our Family Plan",
            counted(page.actions.len(), "action", "actions"),
            plan_flags,
        ),
        (
            "journey",
            "The family's journey",
            counted(readings.len(), "reading", "readings"),
            vec![],
        ),
        (
            "supporting-families",
            "Supporting Families outcomes",
            counted(page.outcomes.outcomes.len(), "need", "needs"),
            vec![],
        ),
        (
            "connections",
            "Connections to community support",
            counted(page.referrals.len(), "referral", "referrals"),
            vec![],
        ),
        (
            "payments",
            "Payments",
            counted(page.payments.len(), "payment", "payments"),
            vec![],
        ),
        ("notes", "Chronology", chronology, vec![]),
        (
            "consent",
            "Consent",
            counted(consents_now, "consent in place", "consents in place"),
            vec![],
        ),
        (
            "sharing",
            "Information sharing",
            counted(page.shares.len(), "share", "shares"),
            vec![],
        ),
        (
            "not-shared",
            "Decisions not to share",
            counted(page.not_shared.len(), "decision", "decisions"),
            vec![],
        ),
        (
            "state",
            // In the Family Help model a case steps up by its level, not here.
            if page.help.is_some() {
                "Step down, close or reopen"
            } else {
                "Step up, step down, close"
            },
            String::new(),
            vec![],
        ),
        (
            "viewers",
            "Who has looked at this record",
            counted(page.viewers.len(), "recent access", "recent accesses"),
            vec![],
        ),
    ];
    // The Family Help model's sections come after the team around the family.
    if let Some(help) = &page.help {
        let at = list.iter().position(|s| s.0 == "team").map_or(0, |i| i + 1);
        for (offset, (id, title, count)) in
            super::family_help::sections(help).into_iter().enumerate()
        {
            list.insert(at + offset, (id, title, count, vec![]));
        }
    }
    list.into_iter()
        .map(|(id, title, count, flags)| Section {
            id,
            title,
            count,
            flags,
            // A refused form may be in any section: every one opens, so its error shows.
            expanded: id == open || !page.errors.is_empty(),
        })
        .collect()
}

/// For a partner who may not see the case: who is involved and whom to contact, if their role
/// works with families at all; otherwise not found.
async fn known_to_page(state: &AppState, signed: &Signed, id: Uuid) -> Result<Response, AppError> {
    known_to_with(state, signed, id, None, vec![], vec![]).await
}

/// The known-to view; with `ask` (a reason), also asks the lead to join the team.
pub(super) async fn known_to_with(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    ask: Option<&str>,
    mut errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let (action, purpose) = match ask {
        Some(_) => (Action::Create, "ask to join the team around the family"),
        None => (Action::Read, "known to view"),
    };
    let mut authorised: Authorised<KnownToFamily> =
        super::open_record(state, signed, id, action, purpose).await?;
    let known = cases::known_to(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(reason) = ask {
        let who = format!(
            "{}, {} ({})",
            signed.user.name, signed.user.organisation_name, signed.user.actor.email
        );
        let asker = signed.user.actor.user_id;
        match earlyhelp_storage::asks::ask_to_join(&mut authorised, asker, &who, reason).await {
            Ok(_) => {}
            // Asked already: nothing was written but the audit event, which stays.
            Err(StorageError::Conflict(message)) => errors.push(FieldError::new("reason", message)),
            Err(other) => return Err(other.into()),
        }
    }
    authorised.tx.commit().await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = KnownToPage {
        layout: Layout::for_user(signed, "/families"),
        known,
        errors,
        asked: ask.is_some() && status == StatusCode::OK,
        may_break_glass: signed
            .user
            .actor
            .roles
            .iter()
            .any(|r| r.may(earlyhelp_domain::roles::Permission::WorkCases)),
        break_glass_hours: earlyhelp_domain::sharing::BREAK_GLASS_HOURS,
        values,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn ask_to_join(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let reason = field(&pairs, "reason");
    let error = if reason.trim().is_empty() {
        Some(FieldError::new(
            "reason",
            "Say why you need to work with this family, so the lead practitioner can decide",
        ))
    } else {
        limits::too_long("reason", "The reason", &reason, limits::REASON)
    };
    if let Some(error) = error {
        return known_to_with(&state, &signed, id, None, vec![error], pairs).await;
    }
    known_to_with(&state, &signed, id, Some(reason.trim()), vec![], vec![]).await
}

#[derive(serde::Deserialize)]
struct FamilyQuery {
    /// The change just made (a `Change` or serious action slug), for the success banner.
    #[serde(default)]
    done: String,
    #[serde(flatten)]
    chronology: Chronology,
}

async fn family_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Query(query): Query<FamilyQuery>,
) -> Result<Response, AppError> {
    let change = Change::from_slug(&query.done);
    let shown = Shown {
        done: change.map_or_else(
            || super::serious::done_message(&query.done),
            Change::message,
        ),
        open: change.map_or_else(|| super::serious::done_anchor(&query.done), Change::anchor),
        chronology: query.chronology,
    };
    render_family_with(&state, &signed, id, vec![], vec![], shown).await
}

/// The family's members as choices of the form field `name`, the one chosen selected.
fn member_choices(
    record: &FamilyRecord,
    values: &[(String, String)],
    name: &str,
) -> Vec<SelectOption> {
    record
        .members
        .iter()
        .map(|m| {
            let id = m.id.to_string();
            let selected = field(values, name) == id;
            SelectOption::new(id, format!("{} {}", m.given_name, m.family_name), selected)
        })
        .collect()
}

/// "When: why" for something that ended.
fn ended(at: i64, why: &Option<String>) -> String {
    match why {
        Some(why) => format!("{}: {why}", when(at)),
        None => when(at),
    }
}

/// The team, each marked ended as the gate sees it: every share of theirs ended, or (with no
/// share on another basis) no consent remains.
fn team_lines(record: &FamilyRecord) -> Vec<TeamLine> {
    record
        .team
        .iter()
        .map(|person| {
            let theirs: Vec<_> = record
                .shares
                .iter()
                .filter(|s| s.shared_with_user == Some(person.user_id))
                .collect();
            let live = theirs.iter().any(|s| {
                s.ended_micros.is_none()
                    && (s.article6 != Article6::Consent.slug() || !record.family.consent_withdrawn)
            });
            let last_ended = theirs
                .iter()
                .filter(|s| s.ended_micros.is_some())
                .max_by_key(|s| s.ended_micros);
            let ended_line = match (live, last_ended) {
                (true, _) => None,
                (false, Some(s)) => s.ended_micros.map(|at| ended(at, &s.ended_reason)),
                (false, None) => record
                    .family
                    .consent_withdrawn
                    .then(|| "the family withdrew consent".to_string()),
            };
            TeamLine {
                person: person.clone(),
                ended: ended_line,
            }
        })
        .collect()
}

pub(super) type Pairs = Form<Vec<(String, String)>>;

/// Checks the CSRF token, then runs `change` through the gate as an update of the family.
pub(super) async fn update<F>(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    purpose: &str,
    made: Change,
    change: F,
) -> Result<Response, AppError>
where
    F: AsyncFnOnce(&mut Authorised<FamilyId>) -> Result<(), StorageError>,
{
    let anchor = made.anchor();
    let mut authorised = open_family(state, signed, id, Action::Update, purpose).await?;
    match change(&mut authorised).await {
        Ok(()) => {
            authorised.tx.commit().await?;
            let to = format!("/families/{id}?done={}#{anchor}", made.slug());
            Ok(Redirect::to(&to).into_response())
        }
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            render_family(
                state,
                signed,
                id,
                vec![FieldError::new(anchor_field(anchor), message)],
                vec![],
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

fn anchor_field(anchor: &str) -> &'static str {
    match anchor {
        "team" => "team_email",
        "consent" => "member",
        "members" => "nhs_member",
        _ => "body",
    }
}

/// The member of staff chosen in picker `name`: someone who works cases, or the field's error.
async fn picked_case_worker(
    state: &AppState,
    pairs: &[(String, String)],
    name: &'static str,
) -> Result<Result<cases::Person, FieldError>, AppError> {
    Ok(super::case_worker(state, &field(pairs, name))
        .await?
        .ok_or_else(|| {
            FieldError::new(
                name,
                "Enter the email address of a practitioner, from any partner organisation, who can work with families",
            )
        }))
}

async fn add_team_member(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let person = match picked_case_worker(&state, &pairs, "team_email").await? {
        Ok(person) => person,
        Err(error) => return render_family(&state, &signed, id, vec![error], pairs).await,
    };
    let share = check_share(&ShareInput {
        purpose: field(&pairs, "purpose"),
        article6: field(&pairs, "article6"),
        article9: field(&pairs, "article9"),
    });
    let share = match share {
        Ok(share) => share,
        Err(errors) => return render_family(&state, &signed, id, errors, pairs).await,
    };
    // A share on consent may rest on one member's consent; it ends when that consent does.
    let consent_id = Uuid::parse_str(&field(&pairs, "consent_id"))
        .ok()
        .filter(|_| share.article6 == Article6::Consent);
    let author = signed.user.name.clone();
    let shared_with = format!("{}, {}", person.name, person.organisation);
    update(
        &state,
        &signed,
        id,
        "add to the team around the family",
        Change::Team,
        async |a| {
            cases::add_team_member(a, &person, &author).await?;
            let share_id = earlyhelp_storage::sharing::record_share(
                a,
                Some(person.user_id),
                &shared_with,
                &share,
                &author,
            )
            .await?;
            match consent_id {
                Some(consent_id) => cases::rest_share_on_consent(a, share_id, consent_id).await,
                None => Ok(()),
            }
        },
    )
    .await
}

/// Allocates the case's lead practitioner: the lead of the family's locality only (the gate's
/// `FamilyAllocation`), to anyone from a partner organisation who works cases, as at triage.
async fn allocate_lead(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let lead = match picked_case_worker(&state, &pairs, "lead_email").await? {
        Ok(lead) => lead,
        Err(error) => return render_family(&state, &signed, id, vec![error], pairs).await,
    };
    let mut authorised = super::open_record::<earlyhelp_storage::gate::FamilyAllocation>(
        &state,
        &signed,
        id,
        Action::Update,
        "allocate the lead practitioner",
    )
    .await?;
    match cases::allocate(&mut authorised, &lead, &signed.user.name).await {
        Ok(()) => {
            authorised.tx.commit().await?;
            let to = format!("/families/{id}?done={}#team", Change::Lead.slug());
            Ok(Redirect::to(&to).into_response())
        }
        Err(StorageError::Conflict(message)) => {
            drop(authorised);
            let error = FieldError::new("lead_email", message);
            render_family(&state, &signed, id, vec![error], pairs).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn add_note(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let body = field(&pairs, "body");
    if body.trim().is_empty() {
        let error = FieldError::new("body", "Enter the note");
        return render_family(&state, &signed, id, vec![error], pairs).await;
    }
    if let Some(error) = limits::too_long("body", "The note", &body, limits::CASE_NOTE) {
        return render_family(&state, &signed, id, vec![error], pairs).await;
    }
    let author = signed.user.name.clone();
    update(&state, &signed, id, "add a note", Change::Note, async |a| {
        cases::add_note(a, &author, body.trim()).await.map(|_| ())
    })
    .await
}

async fn add_action(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let (goal, action, owner) = (
        field(&pairs, "goal"),
        field(&pairs, "plan_action"),
        field(&pairs, "owner"),
    );
    let due = dates::answer(&pairs, &DUE_DATE, cases::today());
    let mut errors = Vec::new();
    if goal.trim().is_empty() {
        errors.push(FieldError::new(
            "goal",
            "Enter the goal, in the family's words",
        ));
    }
    if action.trim().is_empty() {
        errors.push(FieldError::new(
            "plan_action",
            "Enter the action that will help reach it",
        ));
    }
    if owner.trim().is_empty() {
        errors.push(FieldError::new("owner", "Enter who will do it"));
    }
    let due = due.map_err(|e| errors.push(e)).ok();
    let Some(due) = due.filter(|_| errors.is_empty()) else {
        return render_family(&state, &signed, id, errors, pairs).await;
    };
    update(
        &state,
        &signed,
        id,
        "add a plan action",
        Change::Action,
        async |a| {
            cases::add_action(a, goal.trim(), action.trim(), owner.trim(), due)
                .await
                .map(|_| ())
        },
    )
    .await
}

async fn review(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let next = match dates::answer(&pairs, &NEXT_REVIEW, cases::today()) {
        Ok(next) => next,
        Err(error) => return render_family(&state, &signed, id, vec![error], pairs).await,
    };
    let author = signed.user.name.clone();
    update(
        &state,
        &signed,
        id,
        "review the plan",
        Change::Review,
        async |a| cases::set_review(a, next, &author).await,
    )
    .await
}

async fn record_consent(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let member = Uuid::parse_str(&field(&pairs, "member")).ok();
    let given_by = field(&pairs, "given_by");
    let method = ConsentMethod::from_slug(&field(&pairs, "method"));
    let given_on = dates::answer(&pairs, &GIVEN_ON, cases::today());
    let scope = field(&pairs, "scope");
    let mut errors = Vec::new();
    if member.is_none() {
        errors.push(FieldError::new(
            "member",
            "Choose the family member whose consent this is",
        ));
    }
    if given_by.trim().is_empty() {
        errors.push(FieldError::new("given_by", "Enter who gave consent"));
    }
    if method.is_none() {
        errors.push(FieldError::new("method", "Choose how consent was given"));
    }
    let given_on = given_on.map_err(|e| errors.push(e)).ok();
    if scope.trim().is_empty() {
        errors.push(FieldError::new(
            "scope",
            "Say what the family agreed to share, and with whom",
        ));
    }
    let (Some(member), Some(method), Some(given_on)) = (member, method, given_on) else {
        return render_family(&state, &signed, id, errors, pairs).await;
    };
    if !errors.is_empty() {
        return render_family(&state, &signed, id, errors, pairs).await;
    }
    let author = signed.user.name.clone();
    update(
        &state,
        &signed,
        id,
        "record consent",
        Change::Consent,
        async |a| {
            cases::record_consent(
                a,
                member,
                given_by.trim(),
                method.slug(),
                given_on,
                scope.trim(),
                &author,
            )
            .await
        },
    )
    .await
}
