//! Connections: from a family's case, find a service in place and refer the family to it;
//! the receiving organisation's inbox; each referral's page, where the service answers and
//! the referrer hears back, every step through the gate.

use super::family::{Pairs, open_family, when};
use super::{field, first_error};
use crate::AppState;
use crate::dates::filters;
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, Pagination, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::cases::{MemberRole, NeedOutcome, Reason};
use earlyhelp_domain::connections::{
    ContactMethod, DeclineReason, ReferralEvent, ReferralInput, ReferralState, Side, allowed,
    check_referral, parse_event,
};
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::sharing::Article6;
use earlyhelp_storage::cases::{self, FamilyRecord};
use earlyhelp_storage::connections::{
    self as store, InboxPart, Referral, ReferralLine, SharedMember, Target,
};
use earlyhelp_storage::directory;
use earlyhelp_storage::gate::{Authorised, ReferralId, Request, authorise, authorise_read};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/families/{id}/connect", get(find_service))
        .route(
            "/families/{id}/connect/{service}",
            get(referral_form).post(send_referral),
        )
        .route("/referrals", get(inbox))
        .route("/referrals/expiry", post(set_expiry))
        .route("/referrals/{id}", get(referral_page).post(move_on))
        .route("/referrals/{id}/messages", post(send_message))
}

/// Services a family may be connected to: in its locality or city-wide, running, matching.
#[derive(Template)]
#[template(path = "connections_find.html")]
struct FindPage {
    layout: Layout,
    family_id: Uuid,
    locality_name: String,
    q: String,
    needs: Vec<SelectOption>,
    age: String,
    /// How many services match; the first 20 are shown.
    found: usize,
    results: Vec<(Uuid, String, String, String)>,
}

#[derive(Deserialize, Default)]
struct FindQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    need: String,
    #[serde(default)]
    age: String,
    /// Set by the search form: an empty field then means "any", not "preset".
    #[serde(default)]
    searched: String,
}

/// The youngest child's age in whole years, to preset the search.
fn youngest_child_age(record: &FamilyRecord) -> Option<i64> {
    let today = cases::today();
    record
        .members
        .iter()
        .filter(|m| m.relationship == MemberRole::Child.slug())
        .filter_map(|m| earlyhelp_domain::cases::parse_date(&m.date_of_birth))
        .map(|born| (today - born).whole_days() / 365)
        .min()
}

/// The directory need for the first reason the family asked for help, to preset the search.
fn first_need(record: &FamilyRecord) -> String {
    record
        .needs
        .iter()
        .find_map(|slug| Reason::from_slug(slug))
        .map(|reason| reason.directory_need().to_string())
        .unwrap_or_default()
}

async fn family_for_referral(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
) -> Result<(FamilyRecord, Vec<SharedMember>), AppError> {
    let mut authorised =
        open_family(state, signed, id, Action::Read, "connect to a service").await?;
    let record = cases::family(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    let members = store::members(&mut authorised).await?;
    authorised.tx.commit().await?;
    Ok((record, members))
}

/// The search in place: on first arrival preset to the family's locality, first need and
/// youngest child's age, with the results already shown; after that, what the form says.
async fn find_service(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Query(query): Query<FindQuery>,
) -> Result<Html<String>, AppError> {
    let (record, _) = family_for_referral(&state, &signed, id).await?;
    let (need, age) = if query.searched.is_empty() {
        let age = youngest_child_age(&record).map(|a| a.to_string());
        (first_need(&record), age.unwrap_or_default())
    } else {
        (query.need.clone(), query.age.trim().to_string())
    };
    let filter = directory::Filter {
        words: query
            .q
            .split_whitespace()
            .take(10)
            .map(str::to_string)
            .collect(),
        term_id: earlyhelp_domain::directory::need_id(&need),
        age: age.parse::<i64>().ok().filter(|a| (0..=120).contains(a)),
        locality: record.family.locality_slug.clone(),
        ..directory::Filter::default()
    };
    let hits = directory::search(&state.db, &filter, directory::today()).await?;
    let ids: Vec<Uuid> = hits.iter().take(20).map(|h| h.id).collect();
    let results = directory::load_services(&state.db, &ids, true)
        .await?
        .iter()
        .map(|service| {
            let summary: String = service.description.chars().take(160).collect();
            (
                service.id,
                service.name.clone(),
                service.organization.name.clone(),
                summary,
            )
        })
        .collect();
    let page = FindPage {
        layout: Layout::for_user(&signed, "/families"),
        family_id: id,
        locality_name: record.family.locality_name.clone(),
        q: query.q,
        needs: crate::directory::need_options(&need),
        age,
        found: hits.len(),
        results,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "connections_form.html")]
struct FormPage {
    layout: Layout,
    errors: Vec<FieldError>,
    family_id: Uuid,
    service_id: Uuid,
    service_name: String,
    organisation_name: String,
    members: Vec<SelectOption>,
    contact_methods: Vec<SelectOption>,
    bases: Vec<SelectOption>,
    values: Vec<(String, String)>,
    /// No shared child is in the service's age range: say so before it is sent.
    age_warning: bool,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

async fn target(state: &AppState, service: Uuid) -> Result<directory::ServiceRecord, AppError> {
    directory::load_service(&state.db, service)
        .await?
        .filter(|s| s.merged_into.is_none())
        .ok_or(AppError::NotFound)
}

async fn render_form(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    service_id: Uuid,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let (_, members) = family_for_referral(state, signed, id).await?;
    let service = target(state, service_id).await?;
    let chosen: Vec<&str> = values
        .iter()
        .filter(|(k, _)| k == "members")
        .map(|(_, v)| v.as_str())
        .collect();
    let today = cases::today();
    let age_of = |dob: &str| {
        earlyhelp_domain::cases::parse_date(dob).map(|born| (today - born).whole_days() / 365)
    };
    let in_range = |age: i64| {
        service.minimum_age.is_none_or(|min| age >= min)
            && service.maximum_age.is_none_or(|max| age <= max)
    };
    let chosen_children: Vec<i64> = members
        .iter()
        .filter(|m| chosen.contains(&m.member_id.to_string().as_str()))
        .filter_map(|m| age_of(&m.date_of_birth))
        .filter(|age| *age < 18)
        .collect();
    let age_warning =
        !chosen_children.is_empty() && chosen_children.iter().all(|age| !in_range(*age));
    let page = FormPage {
        layout: Layout::for_user(signed, "/families"),
        family_id: id,
        service_id,
        service_name: service.name.clone(),
        organisation_name: service.organization.name.clone(),
        members: members
            .iter()
            .map(|m| {
                let value = m.member_id.to_string();
                let born = crate::dates::display(&m.date_of_birth);
                let label = format!("{} {} ({born})", m.given_name, m.family_name);
                SelectOption::new(value.clone(), label, chosen.contains(&value.as_str()))
            })
            .collect(),
        contact_methods: ContactMethod::ALL
            .iter()
            .map(|c| {
                SelectOption::new(
                    c.slug(),
                    c.label(),
                    field(&values, "contact_method") == c.slug(),
                )
            })
            .collect(),
        bases: Article6::ALL
            .iter()
            .map(|a| SelectOption::new(a.slug(), a.label(), field(&values, "basis") == a.slug()))
            .collect(),
        values,
        errors,
        age_warning,
    };
    Ok((super::status_for(&page.errors), Html(page.render()?)).into_response())
}

async fn referral_form(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, service)): Path<(Uuid, Uuid)>,
) -> Result<Response, AppError> {
    render_form(&state, &signed, id, service, vec![], vec![]).await
}

async fn send_referral(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, service_id)): Path<(Uuid, Uuid)>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let input = ReferralInput {
        members: pairs
            .iter()
            .filter(|(k, _)| k == "members")
            .map(|(_, v)| v.clone())
            .collect(),
        why: field(&pairs, "why"),
        contact_method: field(&pairs, "contact_method"),
        best_times: field(&pairs, "best_times"),
        interpreter: field(&pairs, "interpreter"),
        basis: field(&pairs, "basis"),
        not_safeguarding: field(&pairs, "not_safeguarding") == "yes",
    };
    match refer(&state, &signed, id, service_id, &input).await? {
        Ok(referral) => Ok(Redirect::to(&format!("/referrals/{referral}")).into_response()),
        Err(errors) => render_form(&state, &signed, id, service_id, errors, pairs).await,
    }
}

/// Checks a referral and sends it under the family's permit: the new referral's id, or every
/// problem by field. Shared with the API.
pub(super) async fn refer(
    state: &AppState,
    signed: &Signed,
    family: Uuid,
    service_id: Uuid,
    input: &ReferralInput,
) -> Result<Result<Uuid, Vec<FieldError>>, AppError> {
    let service = target(state, service_id).await?;
    let checked = check_referral(input);
    let mut errors = checked.as_ref().err().cloned().unwrap_or_default();
    if service.status != "active" {
        errors.insert(
            0,
            FieldError::new(
                "service",
                "This service is not taking referrals: choose another",
            ),
        );
    }
    let checked = match checked {
        Ok(checked) if errors.is_empty() => checked,
        _ => return Ok(Err(errors)),
    };
    let mut authorised =
        open_family(state, signed, family, Action::Update, "refer to a service").await?;
    let target = Target {
        service_id,
        service_name: service.name.clone(),
        organisation: service.owner_organisation_id,
    };
    let referrer = (signed.user.actor.user_id, signed.user.name.as_str());
    match store::send(&mut authorised, &target, &checked, referrer).await {
        Ok((referral, _)) => {
            authorised.tx.commit().await?;
            Ok(Ok(referral))
        }
        Err(earlyhelp_storage::StorageError::Conflict(message)) => {
            Ok(Err(vec![FieldError::new("members", message)]))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "connections_referral.html")]
struct ReferralPage {
    layout: Layout,
    errors: Vec<FieldError>,
    referral: Referral,
    state_label: &'static str,
    fhir_status: &'static str,
    sent: String,
    contact_method: &'static str,
    basis: &'static str,
    decline_reason: &'static str,
    outcome: &'static str,
    steps: Vec<(String, &'static str, String, String)>,
    /// (when, who, what they wrote).
    messages: Vec<(String, String, String)>,
    /// The events this person may cause now, as (slug, label).
    actions: Vec<(&'static str, &'static str)>,
    decline_reasons: Vec<SelectOption>,
    outcomes: Vec<SelectOption>,
    answers_for_service: bool,
}

impl ReferralPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn may(&self, event: &str) -> bool {
        self.actions.iter().any(|(slug, _)| *slug == event)
    }
}

fn event_label(slug: &str) -> &'static str {
    match slug {
        "open" => "Mark as opened",
        "accept" => "Accept",
        "decline" => "Decline",
        "start" => "Start working with the family",
        "hold" => "Put on hold",
        "complete" => "Complete",
        "did_not_engage" => "The family did not engage",
        "cancel" => "Cancel the referral",
        "entered_in_error" => "Entered in error",
        _ => "",
    }
}

async fn open_referral(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    action: Action,
    purpose: &str,
) -> Result<Authorised<ReferralId>, AppError> {
    super::open_record(state, signed, id, action, purpose).await
}

/// The referral through the gate, and whether this person answers it for the service.
pub(super) async fn read_referral(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    purpose: &str,
) -> Result<(Referral, Side), AppError> {
    let mut authorised = open_referral(state, signed, id, Action::Read, purpose).await?;
    let referral = store::referral(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    let side = store::side_of(&mut authorised, &signed.user.actor).await?;
    authorised.tx.commit().await?;
    Ok((referral, side))
}

async fn render_referral(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let (referral, side) = read_referral(state, signed, id, "referral").await?;
    let state_value = ReferralState::from_slug(&referral.row.state).unwrap_or(ReferralState::Sent);
    let actions = allowed(state_value, side)
        .into_iter()
        .map(|slug| (slug, event_label(slug)))
        .collect();
    let page = ReferralPage {
        layout: Layout::for_user(signed, "/referrals"),
        state_label: state_value.label(),
        fhir_status: state_value.fhir_task_status(),
        sent: when(referral.row.created_micros),
        contact_method: ContactMethod::from_slug(&referral.row.contact_method)
            .map(ContactMethod::label)
            .unwrap_or(""),
        basis: Article6::from_slug(&referral.row.basis)
            .map(Article6::label)
            .unwrap_or(""),
        decline_reason: referral
            .row
            .decline_reason
            .as_deref()
            .and_then(DeclineReason::from_slug)
            .map(DeclineReason::label)
            .unwrap_or(""),
        outcome: referral
            .row
            .outcome
            .as_deref()
            .and_then(NeedOutcome::from_slug)
            .map(NeedOutcome::label)
            .unwrap_or(""),
        steps: referral
            .steps
            .iter()
            .map(|s| {
                let label = ReferralState::from_slug(&s.state)
                    .map(ReferralState::label)
                    .unwrap_or("");
                (when(s.at_micros), label, s.by_name.clone(), s.note.clone())
            })
            .collect(),
        messages: referral
            .messages
            .iter()
            .map(|m| (when(m.at_micros), m.author.clone(), m.body.clone()))
            .collect(),
        actions,
        decline_reasons: DeclineReason::ALL
            .iter()
            .map(|r| SelectOption::new(r.slug(), r.label(), false))
            .collect(),
        outcomes: NeedOutcome::ALL
            .iter()
            .map(|o| SelectOption::new(o.slug(), o.label(), false))
            .collect(),
        answers_for_service: side == Side::Service,
        referral,
        errors,
    };
    Ok((super::status_for(&page.errors), Html(page.render()?)).into_response())
}

async fn referral_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_referral(&state, &signed, id, vec![]).await
}

/// The service answers, or the referrer cancels: one event, through the gate; a transition the
/// referral's state does not allow answers 409 with the ones it does.
async fn move_on(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let event = match parse_event(
        &field(&pairs, "event"),
        &field(&pairs, "reason"),
        &field(&pairs, "outcome"),
    ) {
        Ok(event) => event,
        Err(error) => return render_referral(&state, &signed, id, vec![error]).await,
    };
    answer(&state, &signed, id, event, &field(&pairs, "note")).await?;
    Ok(Redirect::to(&format!("/referrals/{id}")).into_response())
}

/// Moves a referral on through the gate, as the service or the referrer, whichever this person
/// is; 409 for a transition its state does not allow. Shared with the API.
pub(super) async fn answer(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    event: ReferralEvent,
    note: &str,
) -> Result<ReferralState, AppError> {
    let note: String = note
        .trim()
        .chars()
        .take(earlyhelp_domain::limits::REASON)
        .collect();
    let purpose = format!("referral: {}", event.slug());
    let mut authorised = open_referral(state, signed, id, Action::Update, &purpose).await?;
    let side = store::side_of(&mut authorised, &signed.user.actor).await?;
    let by = format!("{}, {}", signed.user.name, signed.user.organisation_name);
    let to = store::transition(&mut authorised, event, side, &by, &note).await?;
    authorised.tx.commit().await?;
    Ok(to)
}

/// The longest message we keep, in characters.
const MESSAGE_MAX: usize = earlyhelp_domain::limits::REASON;

/// A message between the referrer's side and the service, through the gate.
async fn send_message(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let body = field(&pairs, "message");
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MESSAGE_MAX {
        let message = format!("Write a message of up to {MESSAGE_MAX} characters");
        return render_referral(
            &state,
            &signed,
            id,
            vec![FieldError::new("message", message)],
        )
        .await;
    }
    let mut authorised =
        open_referral(&state, &signed, id, Action::Update, "referral: message").await?;
    let side = store::side_of(&mut authorised, &signed.user.actor).await?;
    let author = format!("{}, {}", signed.user.name, signed.user.organisation_name);
    store::add_message(&mut authorised, side, &author, body).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to(&format!("/referrals/{id}#messages")).into_response())
}

#[derive(Template)]
#[template(path = "connections_inbox.html")]
struct InboxPage {
    layout: Layout,
    errors: Vec<FieldError>,
    expiry_days: i64,
    /// Each part: its name, its link, how many, and whether it is the one shown.
    parts: Vec<(&'static str, String, i64, bool)>,
    heading: &'static str,
    /// Each referral with its state's label and when it was sent.
    lines: Vec<(ReferralLine, String, String)>,
    pagination: Pagination,
}

/// Through the gate to this person's organisation's inbox.
async fn open_inbox(
    state: &AppState,
    signed: &Signed,
    action: Action,
    purpose: &str,
) -> Result<Authorised, AppError> {
    let organisation = signed.user.actor.organisation_id;
    let subject = format!("referrals:organisation:{organisation}");
    let request = Request {
        action,
        resource: Resource::ReferralInbox { organisation },
        subject: &subject,
        purpose,
    };
    Ok(match action {
        Action::List | Action::Read => authorise_read(&state.db, &signed.who(), request).await?,
        _ => authorise(&state.db, &signed.who(), request).await?,
    })
}

/// Which part of the inbox, and which page of it.
#[derive(Deserialize, Default)]
pub(super) struct InboxQuery {
    #[serde(default)]
    show: String,
    #[serde(default)]
    page: String,
}

/// Referrals a page of the inbox shows.
const INBOX_PAGE: usize = 50;

/// One page of the inbox: the part asked for, its lines, the count in each part, and the days
/// the organisation gives a referral to be answered.
pub(super) struct Inbox {
    pub part: InboxPart,
    pub page: usize,
    pub lines: Vec<ReferralLine>,
    pub counts: [i64; 3],
    pub expiry_days: i64,
}

/// A page of this person's organisation's inbox, through the gate. Shared with the API.
pub(super) async fn inbox_page(
    state: &AppState,
    signed: &Signed,
    query: &InboxQuery,
) -> Result<Inbox, AppError> {
    let organisation = signed.user.actor.organisation_id;
    let part = InboxPart::from_slug(&query.show).unwrap_or(InboxPart::Waiting);
    let mut authorised = open_inbox(state, signed, Action::List, "referrals inbox").await?;
    let counts = store::inbox_counts(&mut authorised, organisation).await?;
    let total = counts[part_index(part)] as usize;
    let asked = query.page.parse::<usize>().unwrap_or(1);
    let (_, page) = earlyhelp_domain::directory::paging(total, asked, INBOX_PAGE);
    let skip = (page - 1) * INBOX_PAGE;
    let lines = store::inbox(
        &mut authorised,
        organisation,
        part,
        INBOX_PAGE as i64,
        skip as i64,
    )
    .await?;
    let expiry_days = store::expiry_days(&mut authorised, organisation).await?;
    authorised.tx.commit().await?;
    Ok(Inbox {
        part,
        page,
        lines,
        counts,
        expiry_days,
    })
}

fn part_index(part: InboxPart) -> usize {
    InboxPart::ALL.iter().position(|p| *p == part).unwrap_or(0)
}

/// The longest an organisation may leave a referral unanswered before it expires.
const MAX_EXPIRY_DAYS: i64 = 90;

/// The organisation sets how long a referral may wait for its answer.
async fn set_expiry(
    State(state): State<AppState>,
    signed: Signed,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let days = field(&pairs, "expiry_days").trim().parse::<i64>();
    let Ok(days @ 1..=MAX_EXPIRY_DAYS) = days else {
        let message = format!("Enter a number of days from 1 to {MAX_EXPIRY_DAYS}");
        let error = FieldError::new("expiry_days", message);
        return render_inbox(&state, &signed, &InboxQuery::default(), vec![error]).await;
    };
    let organisation = signed.user.actor.organisation_id;
    let mut authorised = open_inbox(
        &state,
        &signed,
        Action::Update,
        "set how long referrals wait",
    )
    .await?;
    store::set_expiry_days(&mut authorised, organisation, days).await?;
    authorised.tx.commit().await?;
    Ok(Redirect::to("/referrals").into_response())
}

impl InboxPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }
}

async fn inbox(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<InboxQuery>,
) -> Result<Response, AppError> {
    render_inbox(&state, &signed, &query, vec![]).await
}

fn part_name(part: InboxPart) -> &'static str {
    match part {
        InboxPart::Waiting => "Waiting for an answer",
        InboxPart::Working => "In progress",
        InboxPart::Closed => "Closed",
    }
}

/// The organisation's referrals, one part and one page at a time.
async fn render_inbox(
    state: &AppState,
    signed: &Signed,
    query: &InboxQuery,
    errors: Vec<FieldError>,
) -> Result<Response, AppError> {
    let inbox = inbox_page(state, signed, query).await?;
    let show = inbox.part.slug();
    let total = inbox.counts[part_index(inbox.part)] as usize;
    let page = InboxPage {
        layout: Layout::for_user(signed, "/referrals"),
        errors,
        expiry_days: inbox.expiry_days,
        parts: InboxPart::ALL
            .iter()
            .zip(inbox.counts)
            .map(|(p, n)| {
                let href = format!("/referrals?show={}", p.slug());
                (part_name(*p), href, n, *p == inbox.part)
            })
            .collect(),
        heading: part_name(inbox.part),
        lines: inbox
            .lines
            .into_iter()
            .map(|line| {
                let label = ReferralState::from_slug(&line.state)
                    .map(|s| s.label().to_string())
                    .unwrap_or_default();
                let sent = when(line.created_micros);
                (line, label, sent)
            })
            .collect(),
        pagination: Pagination::new(total, inbox.page, INBOX_PAGE, "Referral pages", |n| {
            format!("/referrals?show={show}&page={n}")
        }),
    };
    Ok((super::status_for(&page.errors), Html(page.render()?)).into_response())
}
