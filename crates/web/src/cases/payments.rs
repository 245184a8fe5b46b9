//! Money: funding programmes and spend (`/programmes`), asking for a payment from a family's
//! case, the grants officers' queue (`/payments`) and each payment's page, where a second
//! person sees the duplicate check, approves or refuses, and a grants officer pays. Every read
//! and change goes through the gate.

use super::family::{Pairs, open_family, when};
use super::{field, first_error, hide_denied, status_for};
use crate::AppState;
use crate::dates::{self, DateQuestion, Rule, filters};

const OPENS_ON: DateQuestion = DateQuestion::new("opens_on", "Date it opens", Rule::Any);
const CLOSES_ON: DateQuestion = DateQuestion::new("closes_on", "Date it closes", Rule::Any);
const PAID_ON: DateQuestion = DateQuestion::new("paid_on", "Date it was paid", Rule::TodayOrPast);
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::money::{
    self, CheckedPay, PURPOSES, PayInput, PaymentInput, PaymentMethod, PaymentState, PaymentStep,
    ProgrammeInput, ProgrammeKind, REASONS, REGRANT_TYPES, check_pay, check_payment,
    check_programme, code_title, pounds,
};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::StorageError;
use earlyhelp_storage::gate::{Authorised, Request, authorise, authorise_read};
use earlyhelp_storage::payments::{self as store, Duplicate, PaymentId, PaymentRow, ProgrammeRow};
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/programmes", get(programmes_page).post(add_programme))
        .route(
            "/families/{id}/payments/new",
            get(payment_form).post(ask_for_payment),
        )
        .route("/payments", get(queue_page))
        .route("/payments/{id}", get(payment_page))
        .route("/payments/{id}/approve", post(approve))
        .route("/payments/{id}/refuse", post(refuse))
        .route("/payments/{id}/pay", post(pay))
}

// ---------------------------------------------------------------------------------------------
// Programmes and spend

/// A programme as a line of the list.
pub struct ProgrammeLine {
    pub row: ProgrammeRow,
    pub kind: &'static str,
    pub budget: String,
    pub committed: String,
    pub left: String,
    pub cap: String,
    pub threshold: String,
}

fn programme_line(row: ProgrammeRow) -> ProgrammeLine {
    ProgrammeLine {
        kind: ProgrammeKind::from_slug(&row.kind).map_or("", ProgrammeKind::label),
        budget: pounds(row.budget_pence),
        committed: pounds(row.committed_pence),
        left: pounds(money::remaining(row.budget_pence, row.committed_pence)),
        cap: pounds(row.cap_pence),
        threshold: pounds(row.approval_threshold_pence),
        row,
    }
}

#[derive(Template)]
#[template(path = "payments_programmes.html")]
struct ProgrammesPage {
    layout: Layout,
    errors: Vec<FieldError>,
    programmes: Vec<ProgrammeLine>,
    /// (programme, locality, payments, approved, paid, the locality's own budget).
    spend: Vec<(String, String, i64, String, String, String)>,
    manages: bool,
    kinds: Vec<SelectOption>,
    regrant_types: Vec<SelectOption>,
    /// (locality name, its budget field's name, what was typed).
    localities: Vec<(String, String, String)>,
    values: Vec<(String, String)>,
}

impl ProgrammesPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

/// The budget field of a locality on the programme form.
fn budget_field(slug: &str) -> String {
    format!("budget_{slug}")
}

async fn localities(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    Ok(earlyhelp_storage::accounts::list_localities(&state.db)
        .await?
        .into_iter()
        .map(|l| (l.slug, l.name))
        .collect())
}

async fn render_programmes(
    state: &AppState,
    signed: &Signed,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::Spend,
        subject: "spend",
        purpose: "programmes and spend",
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let programmes = store::programmes(&mut authorised.tx).await?;
    let spend = store::spend(&mut authorised.tx).await?;
    authorised.tx.commit().await?;
    let chosen = |name: &str| field(&values, name);
    let page = ProgrammesPage {
        layout: Layout::for_user(signed, "/programmes"),
        programmes: programmes.into_iter().map(programme_line).collect(),
        spend: spend
            .into_iter()
            .map(|s| {
                let budget = s.budget_pence.map(pounds).unwrap_or_default();
                let (approved, paid) = (pounds(s.approved_pence), pounds(s.paid_pence));
                (s.programme, s.locality, s.payments, approved, paid, budget)
            })
            .collect(),
        manages: signed.may(earlyhelp_domain::roles::Permission::ManagePayments),
        kinds: ProgrammeKind::ALL
            .iter()
            .map(|k| SelectOption::new(k.slug(), k.label(), chosen("kind") == k.slug()))
            .collect(),
        regrant_types: std::iter::once(SelectOption::new(
            "",
            "None: not regranted",
            chosen("regrant_type").is_empty(),
        ))
        .chain(REGRANT_TYPES.iter().map(|(code, title)| {
            SelectOption::new(
                *code,
                format!("{code}: {title}"),
                chosen("regrant_type") == *code,
            )
        }))
        .collect(),
        localities: localities(state)
            .await?
            .into_iter()
            .map(|(slug, name)| {
                let field = budget_field(&slug);
                let typed = chosen(&field);
                (name, field, typed)
            })
            .collect(),
        errors,
        values,
    };
    Ok((status_for(&page.errors), Html(page.render()?)).into_response())
}

async fn programmes_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, AppError> {
    render_programmes(&state, &signed, vec![], vec![]).await
}

/// Checks a programme and adds it through the gate: its id, or every problem by field.
/// Shared with the API.
pub(super) async fn create_programme(
    state: &AppState,
    signed: &Signed,
    input: &ProgrammeInput,
) -> Result<Result<Uuid, Vec<FieldError>>, AppError> {
    let localities = localities(state).await?;
    // The gate first: someone who may not add programmes is refused (403), whatever they sent.
    let request = Request {
        action: Action::Create,
        resource: Resource::Programmes,
        subject: "programmes",
        purpose: "add a funding programme",
    };
    let mut authorised = authorise(&state.db, &signed.who(), request).await?;
    let checked = match check_programme(input, &localities) {
        Ok(checked) => checked,
        Err(errors) => return Ok(Err(errors)),
    };
    let id = store::create_programme(&mut authorised, &checked).await?;
    authorised.tx.commit().await?;
    Ok(Ok(id))
}

async fn add_programme(
    State(state): State<AppState>,
    signed: Signed,
    Form(mut pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let today = earlyhelp_storage::cases::today();
    let refused = dates::fold(&mut pairs, &[OPENS_ON, CLOSES_ON], today);
    if !refused.is_empty() {
        return render_programmes(&state, &signed, refused, pairs).await;
    }
    let locality_budgets = localities(&state)
        .await?
        .into_iter()
        .map(|(slug, _)| {
            let typed = field(&pairs, &budget_field(&slug));
            (slug, typed)
        })
        .collect();
    let input = ProgrammeInput {
        name: field(&pairs, "name"),
        kind: field(&pairs, "kind"),
        funder: field(&pairs, "funder"),
        budget: field(&pairs, "budget"),
        locality_budgets,
        opens_on: field(&pairs, "opens_on"),
        closes_on: field(&pairs, "closes_on"),
        cap: field(&pairs, "cap"),
        threshold: field(&pairs, "threshold"),
        identifier_prefix: field(&pairs, "identifier_prefix"),
        regrant_type: field(&pairs, "regrant_type"),
        crisis: field(&pairs, "crisis") == "yes",
        eligibility: field(&pairs, "eligibility"),
        criteria: field(&pairs, "criteria"),
    };
    match create_programme(&state, &signed, &input).await? {
        Ok(_) => Ok(Redirect::to("/programmes").into_response()),
        Err(errors) => render_programmes(&state, &signed, errors, pairs).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Asking for a payment

#[derive(Template)]
#[template(path = "payments_form.html")]
struct FormPage {
    layout: Layout,
    errors: Vec<FieldError>,
    family_id: Uuid,
    family_name: String,
    programmes: Vec<SelectOption>,
    purposes: Vec<SelectOption>,
    reasons: Vec<SelectOption>,
    values: Vec<(String, String)>,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

async fn render_form(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let mut authorised = open_family(state, signed, id, Action::Read, "ask for a payment").await?;
    let record = earlyhelp_storage::cases::family(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    let programmes = store::programmes(&mut authorised.tx).await?;
    authorised.tx.commit().await?;
    let today = earlyhelp_storage::cases::today();
    let chosen = field(&values, "programme");
    let purposes: Vec<&str> = values
        .iter()
        .filter(|(k, _)| k == "purposes")
        .map(|(_, v)| v.as_str())
        .collect();
    let page = FormPage {
        layout: Layout::for_user(signed, "/families"),
        family_id: id,
        family_name: record
            .members
            .iter()
            .map(|m| format!("{} {}", m.given_name, m.family_name))
            .collect::<Vec<_>>()
            .join(", "),
        programmes: programmes
            .iter()
            .filter(|p| p.kind == ProgrammeKind::FamilyPayments.slug() && p.is_open(today))
            .map(|p| {
                let label = format!(
                    "{} (up to {}{})",
                    p.name,
                    pounds(p.cap_pence),
                    if p.crisis { ", crisis: 48 hours" } else { "" }
                );
                SelectOption::new(p.id.to_string(), label, chosen == p.id.to_string())
            })
            .collect(),
        purposes: PURPOSES
            .iter()
            .map(|(code, title)| SelectOption::new(*code, *title, purposes.contains(code)))
            .collect(),
        reasons: std::iter::once(SelectOption::new("", "Choose a reason", false))
            .chain(REASONS.iter().map(|(code, title)| {
                SelectOption::new(*code, *title, field(&values, "reason") == *code)
            }))
            .collect(),
        errors,
        values,
    };
    Ok((status_for(&page.errors), Html(page.render()?)).into_response())
}

async fn payment_form(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_form(&state, &signed, id, vec![], vec![]).await
}

/// Checks a request and makes it under the family's permit: the payment's id, or every problem
/// by field. Shared with the API.
pub(super) async fn request_payment(
    state: &AppState,
    signed: &Signed,
    family: Uuid,
    programme: &str,
    input: &PaymentInput,
) -> Result<Result<Uuid, Vec<FieldError>>, AppError> {
    let mut errors = Vec::new();
    let programme = Uuid::parse_str(programme.trim())
        .map_err(|_| errors.push(FieldError::new("programme", "Choose a programme")))
        .ok();
    let checked = check_payment(input).map_err(|e| errors.extend(e)).ok();
    let (Some(programme), Some(checked)) = (programme, checked) else {
        return Ok(Err(errors));
    };
    let mut authorised =
        open_family(state, signed, family, Action::Update, "ask for a payment").await?;
    let requester = (signed.user.actor.user_id, signed.user.name.as_str());
    match store::request(&mut authorised, programme, &checked, requester).await? {
        Ok(id) => {
            authorised.tx.commit().await?;
            Ok(Ok(id))
        }
        Err(error) => Ok(Err(vec![error])),
    }
}

async fn ask_for_payment(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let input = PaymentInput {
        amount: field(&pairs, "amount"),
        purposes: pairs
            .iter()
            .filter(|(k, _)| k == "purposes")
            .map(|(_, v)| v.clone())
            .collect(),
        reason: field(&pairs, "reason"),
        notes: field(&pairs, "notes"),
    };
    match request_payment(&state, &signed, id, &field(&pairs, "programme"), &input).await? {
        Ok(payment) => Ok(Redirect::to(&format!("/payments/{payment}")).into_response()),
        Err(errors) => render_form(&state, &signed, id, errors, pairs).await,
    }
}

// ---------------------------------------------------------------------------------------------
// The queue

/// A payment as a line of a list, with its state, amount and, for a crisis request, its clock.
pub struct PaymentLine {
    pub row: PaymentRow,
    pub state: &'static str,
    pub amount: String,
    pub requested: String,
    /// For a crisis request still waiting: the 48-hour clock and whether it has run out.
    pub clock: Option<(String, bool)>,
    pub purposes: String,
    pub reason: &'static str,
    /// How it was paid, once paid.
    pub method: &'static str,
}

pub fn payment_line(row: PaymentRow, now: i64) -> PaymentLine {
    let state = PaymentState::from_slug(&row.state);
    let clock = (row.crisis && state == Some(PaymentState::Requested)).then(|| {
        let (hours, label) = money::crisis_clock(row.requested_micros, now);
        (label, hours < 0)
    });
    PaymentLine {
        state: state.map_or("", PaymentState::label),
        amount: pounds(row.amount_pence),
        requested: when(row.requested_micros),
        clock,
        purposes: row
            .purposes
            .split(',')
            .map(|code| code_title(PURPOSES, code))
            .collect::<Vec<_>>()
            .join(", "),
        reason: REASONS
            .iter()
            .find(|(c, _)| *c == row.reason)
            .map_or("", |(_, t)| t),
        method: row
            .method
            .as_deref()
            .and_then(PaymentMethod::from_slug)
            .map_or("", PaymentMethod::label),
        row,
    }
}

#[derive(Template)]
#[template(path = "payments_queue.html")]
struct QueuePage {
    layout: Layout,
    lines: Vec<PaymentLine>,
    waiting: i64,
    crisis: i64,
    to_pay: i64,
}

/// Payments a page of the queue shows.
const QUEUE_PAGE: i64 = 100;

async fn queue_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Html<String>, AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::PaymentQueue,
        subject: "payments",
        purpose: "payments queue",
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let rows = store::queue(&mut authorised, QUEUE_PAGE).await?;
    let (waiting, crisis, to_pay) = store::queue_counts(&mut authorised).await?;
    authorised.tx.commit().await?;
    let now = earlyhelp_storage::now_micros();
    let page = QueuePage {
        layout: Layout::for_user(&signed, "/payments"),
        lines: rows.into_iter().map(|r| payment_line(r, now)).collect(),
        waiting,
        crisis,
        to_pay,
    };
    Ok(Html(page.render()?))
}

// ---------------------------------------------------------------------------------------------
// One payment

#[derive(Template)]
#[template(path = "payments_payment.html")]
struct PaymentPage {
    layout: Layout,
    errors: Vec<FieldError>,
    line: PaymentLine,
    /// May approve or refuse it now (a second person, waiting for approval).
    may_decide: bool,
    /// May record it paid (a grants officer, approved).
    may_pay: bool,
    /// Whether the duplicate check ran (only for whoever decides).
    checked: bool,
    /// Whether this person works cases, and so may follow the link to the family's case.
    works_cases: bool,
    /// Each likely duplicate household, its probability, and its payments in a sentence.
    duplicates: Vec<(Duplicate, String, String)>,
    methods: Vec<SelectOption>,
    paid: dates::DateParts,
    values: Vec<(String, String)>,
}

impl PaymentPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }
}

/// Through the gate to payment `id`: a refusal or a missing payment is 404, except that the
/// requester and the locality's lead above the threshold, who may see it, are told plainly
/// (403) that they cannot decide it.
async fn open_payment(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    action: Action,
    purpose: &str,
) -> Result<Authorised<PaymentId>, AppError> {
    let ask = earlyhelp_storage::gate::Ask {
        id,
        action,
        purpose,
    };
    earlyhelp_storage::gate::authorise_record(&state.db, &signed.who(), ask)
        .await
        .map_err(|error| match error {
            StorageError::Denied(reason)
                if reason == money::OWN_REQUEST || reason == money::OFFICER_ONLY =>
            {
                AppError::Forbidden
            }
            other => hide_denied(other),
        })
}

/// The payment, and what this person may do with it now. Shared with the API.
pub(super) async fn read_payment(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    purpose: &str,
) -> Result<(PaymentRow, bool, bool, Option<Vec<Duplicate>>), AppError> {
    let mut authorised = open_payment(state, signed, id, Action::Read, purpose).await?;
    let row = store::payment(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    let facts = store::facts(&mut authorised).await?;
    let decides = money::decide_change(&signed.user.actor, &facts).allowed;
    let from = PaymentState::from_slug(&row.state);
    let may_decide = decides && from == Some(PaymentState::Requested);
    let may_pay = decides && from == Some(PaymentState::Approved);
    // The check reads other households' payments: only for whoever is deciding this one.
    let duplicates = if may_decide {
        Some(store::duplicates(&mut authorised).await?)
    } else {
        None
    };
    authorised.tx.commit().await?;
    Ok((row, may_decide, may_pay, duplicates))
}

async fn render_payment(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let (row, may_decide, may_pay, duplicates) = read_payment(state, signed, id, "payment").await?;
    let now = earlyhelp_storage::now_micros();
    let method = field(&values, "method");
    // The boxes as typed, or today's date to start with.
    let paid = match dates::parts(&values, "paid_on") {
        typed if typed != dates::DateParts::default() => typed,
        _ => {
            let today = earlyhelp_domain::cases::iso(earlyhelp_storage::cases::today());
            dates::parts(&[("paid_on".to_string(), today)], "paid_on")
        }
    };
    let page = PaymentPage {
        layout: Layout::for_user(signed, "/payments"),
        line: payment_line(row, now),
        may_decide,
        may_pay,
        checked: duplicates.is_some(),
        works_cases: signed.may(earlyhelp_domain::roles::Permission::WorkCases),
        duplicates: duplicates
            .unwrap_or_default()
            .into_iter()
            .map(|d| {
                let percent = format!("{:.1}%", d.probability * 100.0);
                let payments = d
                    .payments
                    .iter()
                    .map(|p| {
                        let state =
                            PaymentState::from_slug(&p.state).map_or("", PaymentState::label);
                        format!(
                            "{}, {} asked {} in {} ({})",
                            p.reference,
                            pounds(p.amount_pence),
                            when(p.requested_micros),
                            p.locality,
                            state.to_lowercase()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                (d, percent, payments)
            })
            .collect(),
        methods: PaymentMethod::ALL
            .iter()
            .map(|m| SelectOption::new(m.slug(), m.label(), method == m.slug()))
            .collect(),
        paid,
        errors,
        values,
    };
    Ok((status_for(&page.errors), Html(page.render()?)).into_response())
}

async fn payment_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_payment(&state, &signed, id, vec![], vec![]).await
}

/// Moves a payment on through the gate: 409 for a step its state does not allow, 422 on
/// `amount` for an approval the budget no longer covers. Shared with the API.
pub(super) async fn take_step(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    step: PaymentStep,
    refusal: &str,
    pay: Option<&CheckedPay>,
) -> Result<PaymentState, AppError> {
    let purpose = format!("payment: {}", step.slug());
    let mut authorised = open_payment(state, signed, id, Action::Update, &purpose).await?;
    let by = (signed.user.actor.user_id, signed.user.name.as_str());
    match store::take_step(&mut authorised, step, by, refusal, pay).await {
        Ok(to) => {
            authorised.tx.commit().await?;
            Ok(to)
        }
        Err(StorageError::Conflict(message)) => {
            Err(AppError::Invalid(vec![FieldError::new("amount", message)]))
        }
        Err(other) => Err(other.into()),
    }
}

/// A step from a form: on a problem by field, the payment page again with it (422).
async fn step_from_form(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    step: Result<(PaymentStep, String, Option<CheckedPay>), Vec<FieldError>>,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let (step, refusal, pay) = match step {
        Ok(step) => step,
        Err(errors) => return render_payment(state, signed, id, errors, pairs).await,
    };
    match take_step(state, signed, id, step, &refusal, pay.as_ref()).await {
        Ok(_) => Ok(Redirect::to(&format!("/payments/{id}")).into_response()),
        Err(AppError::Invalid(errors)) => render_payment(state, signed, id, errors, pairs).await,
        Err(other) => Err(other),
    }
}

async fn approve(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let step = Ok((PaymentStep::Approve, String::new(), None));
    step_from_form(&state, &signed, id, step, pairs).await
}

/// Why a payment was refused: required, one reason's length.
pub(super) fn check_refusal(raw: &str) -> Result<String, FieldError> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err(FieldError::new("refusal", "Say why the payment is refused"));
    }
    match earlyhelp_domain::limits::too_long(
        "refusal",
        "The reason",
        reason,
        earlyhelp_domain::limits::REASON,
    ) {
        Some(error) => Err(error),
        None => Ok(reason.to_string()),
    }
}

async fn refuse(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let step = check_refusal(&field(&pairs, "refusal"))
        .map(|reason| (PaymentStep::Refuse, reason, None))
        .map_err(|e| vec![e]);
    step_from_form(&state, &signed, id, step, pairs).await
}

async fn pay(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(mut pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let today = earlyhelp_storage::cases::today();
    let refused = dates::fold(&mut pairs, &[PAID_ON], today);
    let input = PayInput {
        method: field(&pairs, "method"),
        voucher_provider: field(&pairs, "voucher_provider"),
        voucher_code: field(&pairs, "voucher_code"),
        paid_on: field(&pairs, "paid_on"),
    };
    let step = dates::with_dates(refused, check_pay(&input, today))
        .map(|checked| (PaymentStep::Pay, String::new(), Some(checked)));
    step_from_form(&state, &signed, id, step, pairs).await
}
