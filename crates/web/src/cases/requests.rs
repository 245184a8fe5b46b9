//! The request for support (the Family Connect Form), the public self-referral form and the
//! locality lead's triage queue.

use super::{MemberRowView, field, first_error, member_rows, request_from_pairs};
use crate::AppState;
use crate::dates::{self, DateQuestion, Rule, filters};
use crate::error::AppError;
use crate::extract::{Form, Path, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::throttle::{ClientIp, Throttle};
use crate::views::{Layout, LocalityNames, Pagination, SelectOption};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::cases::{
    ConsentMethod, MEMBER_FIELDS, MemberRole, NeedLevel, Reason, RequestInput, TriageOutcome,
    check_request,
};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::accounts;
use earlyhelp_storage::cases::{self, FamilyMatch, RequestDetail, TriageDecision};
use earlyhelp_storage::gate::{
    Ask, Authorised, FamilyId, Request, RequestId, authorise, authorise_also_record,
};
use earlyhelp_storage::secrets::random_token;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .long_form("/requests/new", get(new_request).post(send_request))
        .route("/requests/sent", get(sent_requests))
        .long_form(
            "/self-referral",
            get(self_referral_form).post(send_self_referral),
        )
        .route("/triage", get(triage_queue))
        .long_form("/triage/{id}", get(triage_page).post(triage_request))
}

const SELF_REFERRAL_COOKIE: &str = "eh_selfreferral";

#[derive(Template)]
#[template(path = "cases_request.html")]
struct RequestPage {
    layout: Layout,
    errors: Vec<FieldError>,
    public: bool,
    action: &'static str,
    input: RequestInput,
    members: Vec<MemberRowView>,
    reasons: Vec<SelectOption>,
    need_levels: Vec<SelectOption>,
    consent_methods: Vec<SelectOption>,
    /// What was typed, for the date boxes.
    values: Vec<(String, String)>,
}

impl RequestPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn new(layout: Layout, public: bool, input: RequestInput, errors: Vec<FieldError>) -> Self {
        let reasons = Reason::ALL
            .iter()
            .map(|r| {
                SelectOption::new(
                    r.slug(),
                    r.label(),
                    input.reasons.iter().any(|x| x == r.slug()),
                )
            })
            .collect();
        let need_levels = NeedLevel::ALL
            .iter()
            .map(|n| {
                let words = if public {
                    n.in_family_words()
                } else {
                    n.label()
                };
                SelectOption::new(n.slug(), words, input.need_level == n.slug())
            })
            .collect();
        let consent_methods = ConsentMethod::ALL
            .iter()
            .map(|m| SelectOption::new(m.slug(), m.label(), input.consent_method == m.slug()))
            .collect();
        RequestPage {
            layout,
            errors,
            public,
            action: if public {
                "/self-referral"
            } else {
                "/requests/new"
            },
            members: member_rows(&input),
            input,
            reasons,
            need_levels,
            consent_methods,
            values: Vec::new(),
        }
    }
}

/// The request form's date questions: each member's date of birth (to answer when the row has a
/// name in it) and, on the professional's form, the date the family agreed.
fn request_dates(pairs: &[(String, String)], public: bool) -> Vec<DateQuestion> {
    let mut questions: Vec<DateQuestion> = MEMBER_FIELDS
        .iter()
        .map(|f| {
            let question = DateQuestion::new(f.date_of_birth, "Date of birth", Rule::Past);
            let named = !field(pairs, f.given_name).trim().is_empty()
                || !field(pairs, f.family_name).trim().is_empty();
            if named { question } else { question.optional() }
        })
        .collect();
    if !public {
        questions.push(DateQuestion::new(
            "consent_date",
            "Date the family agreed",
            Rule::TodayOrPast,
        ));
    }
    questions
}

#[derive(Template)]
#[template(path = "cases_sent.html")]
struct SentPage {
    layout: Layout,
    public: bool,
    locality: String,
    /// The family's reference to quote when they call (a self-referral's).
    reference: String,
}

/// A reference a family can read out on the phone: the request id's last eight hex digits,
/// as "EH-1A2B-3C4D" (the first digits of a v7 id are its time, alike for a day).
fn reference_of(id: uuid::Uuid) -> String {
    let hex = id.simple().to_string().to_uppercase();
    format!("EH-{}-{}", &hex[24..28], &hex[28..32])
}

fn create_request<'a>(subject: &'a str, purpose: &'a str) -> Request<'a> {
    Request {
        action: Action::Create,
        resource: Resource::SupportRequest { locality: None },
        subject,
        purpose,
    }
}

async fn new_request(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    let authorised = authorise(
        &state.db,
        &signed.who(),
        create_request("request:new", "open the request for support form"),
    )
    .await?;
    authorised.tx.commit().await?;
    let page = RequestPage::new(
        Layout::for_user(&signed, "/requests/new"),
        false,
        RequestInput::default(),
        vec![],
    );
    Ok(Html(page.render()?))
}

async fn locality_name(state: &AppState, slug: &str) -> Result<String, AppError> {
    Ok(LocalityNames::load(&state.db).await?.name(slug))
}

async fn send_request(
    State(state): State<AppState>,
    signed: Signed,
    Form(mut pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let today = cases::today();
    let questions = request_dates(&pairs, false);
    let refused = dates::fold(&mut pairs, &questions, today);
    let input = request_from_pairs(&pairs);
    let checked = match dates::with_dates(refused, check_request(&input, today, false)) {
        Ok(checked) => checked,
        Err(mut errors) => {
            dates::in_page_order(&mut errors, &pairs);
            let mut page = RequestPage::new(
                Layout::for_user(&signed, "/requests/new"),
                false,
                input,
                errors,
            );
            page.values = pairs;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
    };
    let id = Uuid::now_v7();
    let subject = format!("request:{id}");
    let mut authorised = authorise(
        &state.db,
        &signed.who(),
        create_request(&subject, "request for support"),
    )
    .await?;
    let requester = format!("{}, {}", signed.user.name, signed.user.organisation_name);
    cases::create_request(
        &mut authorised,
        id,
        &signed.user.actor,
        &requester,
        &checked,
    )
    .await?;
    authorised.tx.commit().await?;
    let page = SentPage {
        layout: Layout::for_user(&signed, "/requests/new"),
        public: false,
        locality: locality_name(&state, checked.locality).await?,
        reference: String::new(),
    };
    Ok(Html(page.render()?).into_response())
}

async fn self_referral_form(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, AppError> {
    let token = jar
        .get(SELF_REFERRAL_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_else(random_token);
    let page = RequestPage::new(
        Layout::anonymous(token.clone()),
        true,
        RequestInput::default(),
        vec![],
    );
    let jar = jar.add(crate::session::form_token_cookie(
        SELF_REFERRAL_COOKIE,
        "/self-referral",
        token,
        state.config.secure_cookies,
    ));
    Ok((jar, Html(page.render()?)).into_response())
}

/// A family answers "can we share this with people who can help?"; a yes stands for the consent
/// a professional would record: given in writing (this form), today, by whoever fills it in.
/// Anything but yes is the error to show on that question.
fn family_agrees_to_share(input: &mut RequestInput) -> Option<FieldError> {
    if input.share != "yes" {
        return Some(FieldError::new(
            "share",
            "Tell us we can share this with people who can help. If you would rather talk to someone first, call us",
        ));
    }
    let who = input
        .members
        .first()
        .map(|m| format!("{} {}", m.given_name.trim(), m.family_name.trim()))
        .unwrap_or_default();
    input.consent_given_by = format!("{}, on the online form", who.trim());
    input.consent_method = ConsentMethod::Written.slug().to_string();
    input.consent_date = cases::today().to_string();
    None
}

async fn send_self_referral(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<Throttle>>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    Form(mut pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token =
        crate::session::check_form_token(&jar, SELF_REFERRAL_COOKIE, &field(&pairs, "csrf_token"))?;
    let today = cases::today();
    let questions = request_dates(&pairs, true);
    let refused = dates::fold(&mut pairs, &questions, today);
    let mut input = request_from_pairs(&pairs);
    let share = family_agrees_to_share(&mut input);
    let checked = dates::with_dates(refused, check_request(&input, today, true));
    let checked = match (share, checked) {
        (None, Ok(checked)) => checked,
        (share, checked) => {
            let mut errors: Vec<FieldError> = share
                .into_iter()
                .chain(checked.err().unwrap_or_default())
                .collect();
            dates::in_page_order(&mut errors, &pairs);
            let mut page = RequestPage::new(Layout::anonymous(token), true, input, errors);
            page.values = pairs;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
    };
    // Counted once it would be stored: a form sent back to correct costs nothing.
    throttle.self_referral(client)?;
    let id = cases::self_referral(&state.db, &client.to_string(), &checked).await?;
    let page = SentPage {
        layout: Layout::anonymous(String::new()),
        public: true,
        locality: locality_name(&state, checked.locality).await?,
        reference: reference_of(id),
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// Triage

#[derive(Deserialize, Default)]
pub struct LocalityQuery {
    #[serde(default)]
    pub locality: String,
    #[serde(default)]
    pub page: String,
}

/// The locality asked for, or the person's first.
pub fn chosen_locality(signed: &Signed, asked: &str) -> String {
    if asked.trim().is_empty() {
        signed
            .user
            .actor
            .localities
            .first()
            .cloned()
            .unwrap_or_default()
    } else {
        asked.trim().to_string()
    }
}

pub struct RequestLine {
    pub detail: RequestDetail,
    pub received: String,
    /// How long it has waited since it was received: "today", "19 days".
    pub waited: String,
    pub complex: bool,
    pub reasons: String,
    pub need: String,
    pub names: String,
}

pub fn describe_reasons(slugs: &str) -> String {
    slugs
        .split(',')
        .filter_map(Reason::from_slug)
        .map(Reason::label)
        .collect::<Vec<_>>()
        .join("; ")
}

fn line(detail: RequestDetail) -> RequestLine {
    RequestLine {
        received: crate::dates::day_of(detail.request.created_micros),
        waited: crate::dates::waited_since(detail.request.created_micros),
        complex: NeedLevel::from_slug(&detail.request.need_level) == Some(NeedLevel::Complex),
        reasons: describe_reasons(&detail.request.reasons),
        need: NeedLevel::from_slug(&detail.request.need_level)
            .map(NeedLevel::label)
            .unwrap_or("")
            .to_string(),
        names: detail
            .members
            .iter()
            .map(|m| format!("{} {}", m.given_name, m.family_name))
            .collect::<Vec<_>>()
            .join(", "),
        detail,
    }
}

#[derive(Template)]
#[template(path = "cases_requests_sent.html")]
struct SentListPage {
    layout: Layout,
    /// Each request, and what became of it in words.
    requests: Vec<(RequestLine, String)>,
    sent: i64,
    pagination: Pagination,
}

/// What became of a request, as its sender reads it.
fn what_became_of(request: &earlyhelp_storage::cases::RequestRow) -> String {
    match request
        .outcome
        .as_deref()
        .and_then(TriageOutcome::from_slug)
    {
        None => "Waiting for the locality team to triage it".into(),
        Some(TriageOutcome::Transfer) => "Transferred to another locality".into(),
        Some(outcome) => format!("Triaged: {}", outcome.label()),
    }
}

/// The requests this person sent, newest first, with what became of each; a family it joined
/// is linked, and the family's page decides what they may see of it.
async fn sent_requests(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<LocalityQuery>,
) -> Result<Html<String>, AppError> {
    let subject = format!("requests:sent_by:{}", signed.user.actor.user_id);
    let request = earlyhelp_storage::gate::Request {
        action: Action::List,
        resource: Resource::SentRequests,
        subject: &subject,
        purpose: "requests I sent",
    };
    let mut authorised =
        earlyhelp_storage::gate::authorise_read(&state.db, &signed.who(), request).await?;
    let asked = crate::views::page_asked(&query.page)?;
    let skip = (asked.max(1) - 1) * QUEUE_PAGE;
    let (requests, sent) = cases::sent_by(
        &mut authorised,
        signed.user.actor.user_id,
        QUEUE_PAGE as i64,
        skip as i64,
    )
    .await?;
    authorised.tx.commit().await?;
    let pagination = Pagination::new(sent as usize, asked, QUEUE_PAGE, "Pages", |n| {
        format!("/requests/sent?page={n}")
    });
    let page = SentListPage {
        layout: Layout::for_user(&signed, "/requests/new"),
        requests: requests
            .into_iter()
            .map(|detail| {
                let became = what_became_of(&detail.request);
                (line(detail), became)
            })
            .collect(),
        sent,
        pagination,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "cases_triage_queue.html")]
struct QueuePage {
    layout: Layout,
    locality: String,
    localities: Vec<SelectOption>,
    requests: Vec<RequestLine>,
    waiting: i64,
    /// The positions shown, "1 to 50".
    shown: String,
    pagination: Pagination,
}

/// Requests on one page of the triage queue: a screenful a locality lead can work down.
const QUEUE_PAGE: usize = 50;

async fn triage_queue(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<LocalityQuery>,
) -> Result<Html<String>, AppError> {
    let locality = chosen_locality(&signed, &query.locality);
    let mut authorised = super::authorise_queue(&state, &signed, &locality, "triage queue").await?;
    let waiting = cases::waiting(&mut authorised, &locality).await?;
    let asked = crate::views::page_asked(&query.page)?;
    let pagination = Pagination::new(waiting as usize, asked, QUEUE_PAGE, "Queue pages", |n| {
        format!("/triage?locality={locality}&page={n}")
    });
    let skip = pagination.skip(QUEUE_PAGE);
    let requests = cases::queue(&mut authorised, &locality, QUEUE_PAGE as i64, skip as i64).await?;
    authorised.tx.commit().await?;
    let shown = format!("{} to {}", skip + 1, skip + requests.len());
    let all = accounts::list_localities(&state.db).await?;
    let localities = all
        .iter()
        .filter(|l| signed.user.actor.localities.contains(&l.slug))
        .map(|l| SelectOption::new(l.slug.clone(), l.name.clone(), l.slug == locality))
        .collect();
    let name = all
        .iter()
        .find(|l| l.slug == locality)
        .map(|l| l.name.clone())
        .unwrap_or(locality);
    let page = QueuePage {
        layout: Layout::for_user(&signed, "/triage"),
        locality: name,
        localities,
        requests: requests.into_iter().map(line).collect(),
        waiting,
        shown,
        pagination,
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "cases_triage.html")]
struct TriagePage {
    layout: Layout,
    errors: Vec<FieldError>,
    request: RequestLine,
    /// Families we may already know in the request's locality: triage may attach it to one.
    matches: Vec<FamilyMatch>,
    /// In other localities: the request is transferred there, or its triager asks to join.
    elsewhere: Vec<FamilyMatch>,
    outcomes: Vec<SelectOption>,
    localities: Vec<SelectOption>,
    form: TriageForm,
    /// The locality's staff who may lead a case, for the picker.
    case_workers: super::case_workers::CaseWorkers,
    /// What a case's lead is called in the deployment's practice model, lower case.
    lead_title: String,
}

impl TriagePage {
    /// A member's relationship to the household in words.
    fn relationship(&self, slug: &str) -> &'static str {
        MemberRole::from_slug(slug).map_or("", MemberRole::label)
    }

    /// A member's NHS number ("943 476 5919"), or why it is missing, or "Not recorded".
    fn nhs_number(&self, member: &earlyhelp_storage::cases::MemberRow) -> String {
        let (number, missing) = (&member.nhs_number, &member.nhs_number_missing);
        earlyhelp_domain::nhs_number::NhsAnswer::in_words(number, missing)
            .unwrap_or_else(|| "Not recorded".into())
    }

    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }
}

#[derive(Deserialize, Default, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TriageForm {
    #[serde(default)]
    #[schema(ignore)]
    pub csrf_token: String,
    /// `information_advice`, `community_support`, `locality_early_help`, `step_up_social_care`,
    /// `no_further_action` or `transfer`.
    #[serde(default)]
    pub outcome: String,
    /// For locality early help: the email of the lead practitioner, from any organisation.
    #[serde(default)]
    pub lead_practitioner: String,
    /// For locality early help: an existing family's id to attach the request to, or empty.
    #[serde(default)]
    pub existing_family: String,
    /// For a transfer: the locality slug it goes to.
    #[serde(default)]
    pub transfer_to: String,
    #[serde(default)]
    pub note: String,
}

/// A triage decision that passed its checks, and the family it names, if any: storage takes
/// that family only with a permit of its own.
pub struct CheckedTriage {
    pub decision: TriageDecision,
    pub existing_family: Option<Uuid>,
}

/// Checks a triage decision against the database (the lead must exist and hold cases).
pub async fn check_triage(
    state: &AppState,
    form: &TriageForm,
    current_locality: &str,
) -> Result<CheckedTriage, Vec<FieldError>> {
    let mut errors = Vec::new();
    let outcome = TriageOutcome::from_slug(&form.outcome);
    let mut lead = None;
    let mut transfer_to = None;
    let mut existing_family = None;
    match outcome {
        None => errors.push(FieldError::new("outcome", "Choose the outcome of triage")),
        Some(TriageOutcome::EarlyHelp) => {
            let person = super::case_worker(state, &form.lead_practitioner)
                .await
                .ok()
                .flatten();
            if form.lead_practitioner.trim().is_empty() {
                errors.push(FieldError::new(
                    "lead_practitioner",
                    "Enter the email address of the lead practitioner",
                ));
            } else if person.is_none() {
                errors.push(FieldError::new(
                    "lead_practitioner",
                    "Enter the email address of a practitioner who can hold family cases",
                ));
            }
            lead = person.map(|p| p.user_id);
        }
        Some(TriageOutcome::Transfer) => {
            let known = accounts::list_localities(&state.db)
                .await
                .map(|ls| ls.iter().any(|l| l.slug == form.transfer_to))
                .unwrap_or(false);
            if !known || form.transfer_to == current_locality {
                errors.push(FieldError::new(
                    "transfer_to",
                    "Choose the locality to transfer the request to",
                ));
            } else {
                transfer_to = Some(form.transfer_to.clone());
            }
        }
        Some(_) => {}
    }
    // Early help and community support open a family, or join one the duplicate check offered.
    if outcome.is_some_and(TriageOutcome::opens_family) && !form.existing_family.trim().is_empty() {
        match Uuid::parse_str(form.existing_family.trim()) {
            Ok(id) => existing_family = Some(id),
            Err(_) => errors.push(FieldError::new(
                "existing_family",
                "Choose a family from the list or a new family",
            )),
        }
    }
    let (note, max) = (&form.note, earlyhelp_domain::limits::TRIAGE_NOTE);
    errors.extend(earlyhelp_domain::limits::too_long(
        "note",
        "The triage note",
        note,
        max,
    ));
    match outcome {
        Some(outcome) if errors.is_empty() => Ok(CheckedTriage {
            decision: TriageDecision {
                outcome,
                lead_practitioner: lead,
                transfer_to,
                note: form.note.trim().to_string(),
            },
            existing_family,
        }),
        _ => Err(errors),
    }
}

/// Through the gate to request `id`, for triage: reading it, or deciding it.
async fn open_request(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    action: Action,
    purpose: &str,
) -> Result<Authorised<RequestId>, AppError> {
    super::open_record(state, signed, id, action, purpose).await
}

/// The locality request `id` waits in, read through the gate.
pub async fn request_locality(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
) -> Result<String, AppError> {
    let mut authorised = open_request(state, signed, id, Action::Read, "triage").await?;
    let detail = cases::request(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    authorised.tx.commit().await?;
    Ok(detail.request.locality_slug)
}

async fn triage_page_for(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    form: TriageForm,
    errors: Vec<FieldError>,
) -> Result<TriagePage, AppError> {
    let mut authorised = open_request(state, signed, id, Action::Read, "triage").await?;
    let detail = cases::request(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    let (matches, elsewhere) = cases::likely_families(&mut authorised)
        .await?
        .into_iter()
        .partition(|m| m.locality_slug == detail.request.locality_slug);
    authorised.tx.commit().await?;
    let locality = detail.request.locality_slug.clone();
    let outcomes = TriageOutcome::ALL
        .iter()
        .map(|o| SelectOption::new(o.slug(), o.label(), form.outcome == o.slug()))
        .collect();
    let mut localities = vec![SelectOption::new(
        "",
        "Choose a locality",
        form.transfer_to.is_empty(),
    )];
    localities.extend(
        accounts::list_localities(&state.db)
            .await?
            .into_iter()
            .filter(|l| l.slug != locality)
            .map(|l| SelectOption::new(l.slug.clone(), l.name, form.transfer_to == l.slug)),
    );
    let case_workers = state.case_workers.of(&state.db, &locality).await?;
    Ok(TriagePage {
        layout: Layout::for_user(signed, "/triage"),
        errors,
        request: line(detail),
        matches,
        elsewhere,
        outcomes,
        localities,
        form,
        case_workers,
        lead_title: earlyhelp_domain::family_help::lead_title(state.config.practice_model)
            .to_lowercase(),
    })
}

async fn triage_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Html<String>, AppError> {
    let page = triage_page_for(&state, &signed, id, TriageForm::default(), vec![]).await?;
    Ok(Html(page.render()?))
}

/// Runs a checked triage decision through the gate: a permit for the request, and for a family
/// we already know, a permit for that family too (the triager must be allowed to change it).
/// Shared with the API.
pub async fn apply_triage(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    checked: &CheckedTriage,
) -> Result<Option<Uuid>, AppError> {
    let decision = &checked.decision;
    let purpose = format!("triage: {}", decision.outcome.slug());
    let who = signed.who();
    let authorised = open_request(state, signed, id, Action::Update, &purpose).await?;
    let (mut authorised, existing) = match checked.existing_family {
        Some(family) => {
            let ask = Ask {
                id: family,
                action: Action::Update,
                purpose: "triage: attach a request to a family already known",
            };
            let (authorised, permit) =
                authorise_also_record::<FamilyId, _>(&state.db, authorised, &who, ask)
                    .await
                    .map_err(|_| {
                        AppError::Invalid(vec![FieldError::new(
                            "existing_family",
                            "You cannot open a case on that family: choose a family from the list, or a new family",
                        )])
                    })?;
            (authorised, Some(permit))
        }
        None => (authorised, None),
    };
    let family = cases::triage(
        &mut authorised,
        existing.as_ref(),
        decision,
        &signed.user.actor,
        &signed.user.name,
        &signed.user.organisation_name,
    )
    .await
    .map_err(|e| match e {
        earlyhelp_storage::StorageError::Conflict(message) => {
            let field = if checked.existing_family.is_some() && message.contains("family") {
                "existing_family"
            } else {
                "outcome"
            };
            AppError::Invalid(vec![FieldError::new(field, message)])
        }
        other => other.into(),
    })?;
    authorised.tx.commit().await?;
    Ok(family)
}

async fn triage_request(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(form): Form<TriageForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    let locality = request_locality(&state, &signed, id).await?;
    let decision = match check_triage(&state, &form, &locality).await {
        Ok(decision) => decision,
        Err(errors) => {
            let page = triage_page_for(&state, &signed, id, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response());
        }
    };
    match apply_triage(&state, &signed, id, &decision).await {
        // Community support goes straight on to finding the service.
        Ok(Some(family)) if decision.decision.outcome == TriageOutcome::Community => {
            Ok(Redirect::to(&format!("/families/{family}/connect")).into_response())
        }
        Ok(Some(family)) => Ok(Redirect::to(&format!("/families/{family}")).into_response()),
        Ok(None) => Ok(Redirect::to("/triage").into_response()),
        Err(AppError::Invalid(errors)) => {
            let page = triage_page_for(&state, &signed, id, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other),
    }
}
