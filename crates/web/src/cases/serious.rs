//! Serious actions on a family's case: withdrawing a member's consent, stepping up or down,
//! closing, reopening and finalising the assessment. Each has a confirmation page that says
//! plainly what will happen and asks why; the change records who and why in the chronology, and
//! what was done as the gate's audit purpose (never the free-text reason, which may name other
//! people and would outlive retention in the audit log); then the case page says it is done.

use super::family::{NeedField, Pairs, open_family};
use super::{field, first_error, select_options};
use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Path};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::{
    ActionEnding, CaseEvent, ClosureReason, NeedOutcome, Reason, action_ending_field,
    check_action_endings, check_closure_outcomes,
};
use earlyhelp_domain::limits;
use earlyhelp_domain::people::FieldError;
use earlyhelp_domain::sharing::check_assessment;
use earlyhelp_storage::StorageError;
use earlyhelp_storage::cases::{self, FamilyRecord, Withdrawal};
use earlyhelp_storage::gate::{Authorised, FamilyId};
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/families/{id}/state/{event}", get(confirm_state))
        .route("/families/{id}/state", axum::routing::post(change_state))
        .route(
            "/families/{id}/consent/withdraw",
            get(confirm_withdraw).post(withdraw_consent),
        )
        .route(
            "/families/{id}/finalise-assessment",
            get(confirm_finalise).post(finalise),
        )
}

/// The serious actions, each with its confirmation page.
#[derive(Clone, Copy, PartialEq)]
enum Serious {
    StepUp,
    StepDown,
    Reopen,
    Close,
    Withdraw,
    Finalise,
}

impl Serious {
    const STATE: [Serious; 4] = [
        Serious::StepUp,
        Serious::StepDown,
        Serious::Reopen,
        Serious::Close,
    ];

    fn slug(self) -> &'static str {
        match self {
            Serious::StepUp => "step_up",
            Serious::StepDown => "step_down",
            Serious::Reopen => "reopen",
            Serious::Close => "close",
            Serious::Withdraw => "consent_withdrawn",
            Serious::Finalise => "assessment_finalised",
        }
    }

    fn from_slug(slug: &str) -> Option<Serious> {
        [
            Serious::StepUp,
            Serious::StepDown,
            Serious::Reopen,
            Serious::Close,
            Serious::Withdraw,
            Serious::Finalise,
        ]
        .into_iter()
        .find(|s| s.slug() == slug)
    }

    fn title(self) -> &'static str {
        match self {
            Serious::StepUp => "Step up to children's social care",
            Serious::StepDown => "Step down to early help",
            Serious::Reopen => "Reopen the case",
            Serious::Close => "Close the case",
            Serious::Withdraw => "Withdraw consent",
            Serious::Finalise => "Finalise the assessment",
        }
    }

    /// What will happen, said plainly.
    fn explain(self) -> &'static [&'static str] {
        match self {
            Serious::StepUp => &[
                "Children's social care will lead the work with this family. The case stays open in early help, marked as stepped up, until it is stepped down or closed.",
                "Your reason goes into the family's chronology and the audit log, with your name.",
            ],
            Serious::StepDown => &[
                "Children's social care no longer leads: the case comes back to early help, open, with the same lead practitioner and team.",
                "Your reason goes into the family's chronology and the audit log, with your name.",
            ],
            Serious::Reopen => &[
                "The closed case opens again, with the same lead practitioner and team, so that work with the family can start again.",
                "Your reason goes into the family's chronology and the audit log, with your name.",
            ],
            Serious::Close => &[
                "The case closes: the family's episode of early help ends. Say how far each need was met and how each plan action still open ended.",
                "Your reason goes into the family's chronology and the audit log, with your name. A closed case can be reopened.",
            ],
            Serious::Withdraw => &[
                "Each family member's consent is separate: withdraw only the consent of those who have said so. Everyone else's consent stays in place.",
                "Sharing that rested on a withdrawn consent ends now, and the page says when and why. When no consent remains, only the lead practitioner, the locality lead and shares on another lawful basis can see the case, and referrals made on consent are cancelled.",
                "Who withdrew it and why go into the family's chronology and the audit log, with your name.",
            ],
            Serious::Finalise => &[
                "The assessment is finalised as it stands and can no longer be changed. If things change later, start a reassessment: the finalised one is kept as it is.",
                "Your reason goes into the family's chronology and the audit log, with your name.",
            ],
        }
    }

    fn reason_label(self) -> &'static str {
        match self {
            Serious::Withdraw => "Why is consent being withdrawn?",
            Serious::Finalise => {
                "Why is the assessment ready to finalise? (for example: agreed with the family at the home visit)"
            }
            Serious::StepUp => "Why does the family need children's social care?",
            Serious::StepDown => "Why can early help lead again?",
            Serious::Reopen => "Why is the case reopening?",
            Serious::Close => "In your words: what has changed for the family, and why close now?",
        }
    }

    fn reason_missing(self) -> &'static str {
        match self {
            Serious::StepUp => "Say why the case is stepping up to children's social care",
            Serious::StepDown => "Say why the case is stepping down to early help",
            Serious::Reopen => "Say why the case is reopening",
            Serious::Close => "Say why the case is closing",
            Serious::Withdraw => "Say why consent is being withdrawn",
            Serious::Finalise => "Say why the assessment is ready to finalise",
        }
    }

    /// The audit event's purpose: what was done, without the reason.
    fn purpose(self) -> &'static str {
        match self {
            Serious::StepUp => "step up to children's social care",
            Serious::StepDown => "step down to early help",
            Serious::Reopen => "reopen the case",
            Serious::Close => "close the case",
            Serious::Withdraw => "withdraw consent",
            Serious::Finalise => "finalise the Early Help assessment",
        }
    }

    fn post_to(self, id: Uuid) -> String {
        match self {
            Serious::Withdraw => format!("/families/{id}/consent/withdraw"),
            Serious::Finalise => format!("/families/{id}/finalise-assessment"),
            _ => format!("/families/{id}/state"),
        }
    }

    /// Where on the case page the change shows.
    fn anchor(self) -> &'static str {
        match self {
            Serious::Withdraw => "consent",
            Serious::Finalise => "assessment",
            _ => "state",
        }
    }

    fn warning(self) -> bool {
        matches!(self, Serious::StepUp | Serious::Close | Serious::Withdraw)
    }
}

/// The success banner on the case page after serious action `slug`; empty for any other word.
pub(super) fn done_message(slug: &str) -> &'static str {
    match Serious::from_slug(slug) {
        Some(Serious::StepUp) => "The case is stepped up to children's social care.",
        Some(Serious::StepDown) => "The case is stepped down to early help.",
        Some(Serious::Reopen) => "The case is reopened.",
        Some(Serious::Close) => "The case is closed.",
        Some(Serious::Withdraw) => {
            "Consent is withdrawn. Sharing that rested on it has ended, as the page shows."
        }
        Some(Serious::Finalise) => {
            "The assessment is finalised. It will not change: a later one is a reassessment."
        }
        None => "",
    }
}

/// The section a serious action changed, to open on the page after it; empty if none.
pub(super) fn done_anchor(slug: &str) -> &'static str {
    Serious::from_slug(slug).map_or("", Serious::anchor)
}

/// One plan action still open, on the closure form: how did it end?
pub struct ActionField {
    field: String,
    id: Uuid,
    action: String,
    options: Vec<SelectOption>,
}

#[derive(Template)]
#[template(path = "cases_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    errors: Vec<FieldError>,
    family_id: Uuid,
    family_names: String,
    title: &'static str,
    explain: &'static [&'static str],
    post_to: String,
    /// The case event, for the state form.
    event: &'static str,
    button: &'static str,
    warning: bool,
    reason_label: &'static str,
    /// Withdrawing consent: the consents still in place, and who withdraws.
    withdraw: bool,
    consents: Vec<SelectOption>,
    /// Closing: why, how far each need was met, how each open action ended.
    closure_reasons: Vec<SelectOption>,
    need_fields: Vec<NeedField>,
    action_fields: Vec<ActionField>,
    values: Vec<(String, String)>,
}

impl ConfirmPage {
    fn error(&self, field: &str) -> Option<&str> {
        first_error(&self.errors, field)
    }

    fn value(&self, name: &str) -> String {
        field(&self.values, name)
    }

    /// No error on one open action's radios: the group's error says which are missing.
    fn no_error(&self) -> Option<&str> {
        None
    }
}

/// The family's members' names, for a page's caption.
pub(super) fn names(record: &FamilyRecord) -> String {
    record
        .members
        .iter()
        .map(|m| format!("{} {}", m.given_name, m.family_name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The confirmation page for `serious` on family `id`, with `errors` and what was typed.
async fn render_confirm(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    serious: Serious,
    errors: Vec<FieldError>,
    values: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let purpose = format!("{} (confirmation page)", serious.purpose());
    let mut authorised = open_family(state, signed, id, Action::Read, &purpose).await?;
    let record = cases::family(&mut authorised)
        .await?
        .ok_or(AppError::NotFound)?;
    authorised.tx.commit().await?;
    let chosen: Vec<&str> = values
        .iter()
        .filter(|(k, _)| k == "consents")
        .map(|(_, v)| v.as_str())
        .collect();
    let close = serious == Serious::Close;
    let page = ConfirmPage {
        layout: Layout::for_user(signed, "/families"),
        family_id: id,
        family_names: names(&record),
        title: serious.title(),
        explain: serious.explain(),
        post_to: serious.post_to(id),
        event: if Serious::STATE.contains(&serious) {
            serious.slug()
        } else {
            ""
        },
        button: serious.title(),
        warning: serious.warning(),
        reason_label: serious.reason_label(),
        withdraw: serious == Serious::Withdraw,
        consents: record
            .consents
            .iter()
            .filter(|c| c.withdrawn_on.is_none())
            .map(|c| {
                let id = c.id.to_string();
                let label = format!(
                    "{} (given by {} on {}: {})",
                    capitalise(&c.whose()),
                    c.given_by,
                    c.given_on,
                    c.scope
                );
                let selected = chosen.contains(&id.as_str());
                SelectOption::new(id, label, selected)
            })
            .collect(),
        closure_reasons: if close {
            select_options(
                None,
                ClosureReason::ALL.iter().map(|r| (r.slug(), r.label())),
                &field(&values, "closure_reason"),
            )
        } else {
            Vec::new()
        },
        need_fields: if close {
            record
                .needs
                .iter()
                .filter_map(|slug| Reason::from_slug(slug))
                .map(|need| NeedField {
                    slug: need.slug(),
                    field: need.outcome_field(),
                    need: need.label(),
                    options: select_options(
                        None,
                        NeedOutcome::ALL.iter().map(|o| (o.slug(), o.label())),
                        &field(&values, need.outcome_field()),
                    ),
                })
                .collect()
        } else {
            Vec::new()
        },
        action_fields: if close {
            record
                .actions
                .iter()
                .filter(|a| !a.done)
                .map(|a| {
                    let name = action_ending_field(a.id);
                    ActionField {
                        options: select_options(
                            None,
                            ActionEnding::ALL.iter().map(|e| (e.slug(), e.label())),
                            &field(&values, &name),
                        ),
                        field: name,
                        id: a.id,
                        action: format!(
                            "{} ({}, due {})",
                            a.action,
                            a.owner,
                            crate::dates::display(&a.due_date)
                        ),
                    }
                })
                .collect()
        } else {
            Vec::new()
        },
        errors,
        values,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub(super) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The required reason, or the error naming its field.
fn check_reason(serious: Serious, pairs: &[(String, String)]) -> Result<String, FieldError> {
    let reason = field(pairs, "reason");
    if reason.trim().is_empty() {
        return Err(FieldError::new("reason", serious.reason_missing()));
    }
    match limits::too_long("reason", "The reason", &reason, limits::REASON) {
        Some(error) => Err(error),
        None => Ok(reason.trim().to_string()),
    }
}

/// Makes the change through the gate as an update of the family, its purpose naming the change;
/// a refusal of the change itself shows the confirmation page again with the message on `field`.
async fn apply<F>(
    state: &AppState,
    signed: &Signed,
    id: Uuid,
    serious: Serious,
    values: Vec<(String, String)>,
    change: F,
) -> Result<Response, AppError>
where
    F: AsyncFnOnce(&mut Authorised<FamilyId>) -> Result<(), (&'static str, StorageError)>,
{
    let purpose = serious.purpose();
    let mut authorised = open_family(state, signed, id, Action::Update, purpose).await?;
    match change(&mut authorised).await {
        Ok(()) => {
            authorised.tx.commit().await?;
            let to = format!(
                "/families/{id}?done={}#{}",
                serious.slug(),
                serious.anchor()
            );
            Ok(Redirect::to(&to).into_response())
        }
        Err((field, StorageError::Conflict(message))) => {
            drop(authorised);
            let errors = vec![FieldError::new(field, message)];
            render_confirm(state, signed, id, serious, errors, values).await
        }
        Err((_, other)) => Err(other.into()),
    }
}

/// A change of the case's state; in the Family Help model a case steps up by its level (child in
/// need, child protection) instead, so "step up" is not found there.
fn state_change(state: &AppState, slug: &str) -> Result<Serious, AppError> {
    let family_help =
        state.config.practice_model == earlyhelp_domain::family_help::PracticeModel::FamilyHelp;
    Serious::from_slug(slug)
        .filter(|s| Serious::STATE.contains(s) && !(family_help && *s == Serious::StepUp))
        .ok_or(AppError::NotFound)
}

async fn confirm_state(
    State(state): State<AppState>,
    signed: Signed,
    Path((id, event)): Path<(Uuid, String)>,
) -> Result<Response, AppError> {
    let serious = state_change(&state, &event)?;
    render_confirm(&state, &signed, id, serious, vec![], vec![]).await
}

async fn change_state(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let serious = state_change(&state, &field(&pairs, "event"))?;
    let mut errors = Vec::new();
    let closure = ClosureReason::from_slug(&field(&pairs, "closure_reason"));
    if serious == Serious::Close && closure.is_none() {
        errors.push(FieldError::new(
            "closure_reason",
            "Choose why the case is closing",
        ));
    }
    // The closure form lists the case's needs and its open actions; each wants an answer.
    let needs: Vec<Reason> = pairs
        .iter()
        .filter(|(k, _)| k == "needs")
        .filter_map(|(_, v)| Reason::from_slug(v))
        .collect();
    let mut outcomes = Vec::new();
    let mut endings = Vec::new();
    if serious == Serious::Close {
        match check_closure_outcomes(&needs, |name| field(&pairs, name)) {
            Ok(answered) => outcomes = answered,
            Err(missing) => errors.extend(missing),
        }
        let open: Vec<Uuid> = pairs
            .iter()
            .filter(|(k, _)| k == "open_action")
            .filter_map(|(_, v)| Uuid::parse_str(v).ok())
            .collect();
        match check_action_endings(&open, |name| field(&pairs, name)) {
            Ok(answered) => endings = answered,
            Err(missing) => errors.push(missing),
        }
    }
    let reason = check_reason(serious, &pairs)
        .map_err(|e| errors.push(e))
        .ok();
    let event = match serious {
        Serious::StepUp => Some(CaseEvent::StepUp),
        Serious::StepDown => Some(CaseEvent::StepDown),
        Serious::Reopen => Some(CaseEvent::Reopen),
        _ => closure.map(CaseEvent::Close),
    };
    let (Some(reason), Some(event), true) = (reason, event, errors.is_empty()) else {
        return render_confirm(&state, &signed, id, serious, errors, pairs).await;
    };
    let author = signed.user.name.clone();
    let conflict_field = if serious == Serious::Close {
        "closure_reason"
    } else {
        "reason"
    };
    apply(&state, &signed, id, serious, pairs, async |a| {
        cases::transition(a, event, &reason, &author)
            .await
            .map_err(|e| (conflict_field, e))?;
        if let CaseEvent::Close(_) = event {
            cases::record_closure_outcomes(a, &outcomes)
                .await
                .map_err(|e| ("closure_reason", e))?;
            cases::end_open_actions(a, &endings, &author)
                .await
                .map_err(|e| ("action_endings", e))?;
        }
        Ok(())
    })
    .await
}

async fn confirm_withdraw(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_confirm(&state, &signed, id, Serious::Withdraw, vec![], vec![]).await
}

async fn withdraw_consent(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let serious = Serious::Withdraw;
    let mut errors = Vec::new();
    let consents: Vec<Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == "consents")
        .filter_map(|(_, v)| Uuid::parse_str(v).ok())
        .collect();
    if consents.is_empty() {
        errors.push(FieldError::new(
            "consents",
            "Choose whose consent is withdrawn",
        ));
    }
    let withdrawn_by = field(&pairs, "withdrawn_by");
    if withdrawn_by.trim().is_empty() {
        errors.push(FieldError::new(
            "withdrawn_by",
            "Enter who is withdrawing consent, for example the parent themselves, or a parent on behalf of their child",
        ));
    } else if let Some(error) =
        limits::too_long("withdrawn_by", "Who is withdrawing", &withdrawn_by, 200)
    {
        errors.push(error);
    }
    let reason = check_reason(serious, &pairs)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(reason), true) = (reason, errors.is_empty()) else {
        return render_confirm(&state, &signed, id, serious, errors, pairs).await;
    };
    let withdrawn_by = withdrawn_by.trim().to_string();
    let author = signed.user.name.clone();
    let withdrawal = Withdrawal {
        consents: &consents,
        withdrawn_by: &withdrawn_by,
        reason: &reason,
        on: cases::today(),
    };
    apply(&state, &signed, id, serious, pairs.clone(), async |a| {
        cases::withdraw_consent(a, &withdrawal, &author)
            .await
            .map_err(|e| ("consents", e))
    })
    .await
}

async fn confirm_finalise(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    render_confirm(&state, &signed, id, Serious::Finalise, vec![], vec![]).await
}

async fn finalise(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<Uuid>,
    Form(pairs): Pairs,
) -> Result<Response, AppError> {
    signed.check_csrf(&field(&pairs, "csrf_token"))?;
    let serious = Serious::Finalise;
    let reason = match check_reason(serious, &pairs) {
        Ok(reason) => reason,
        Err(error) => {
            return render_confirm(&state, &signed, id, serious, vec![error], pairs).await;
        }
    };
    let author = signed.user.name.clone();
    apply(&state, &signed, id, serious, pairs, async |a| {
        // Only a complete draft may be finalised; the draft is checked as it is stored.
        let record = cases::family(a).await.map_err(|e| ("reason", e))?;
        let draft = record.and_then(|r| r.assessments.into_iter().find(|a| a.is_draft()));
        let incomplete = draft
            .as_ref()
            .is_some_and(|d| !check_assessment(&super::sharing::input_of(d), true).is_empty());
        if incomplete {
            return Err((
                "reason",
                StorageError::Conflict(
                    "The draft assessment is not complete: go back to it and fill in every section"
                        .into(),
                ),
            ));
        }
        cases::finalise_assessment(a, &reason, &author)
            .await
            .map_err(|e| ("reason", e))
    })
    .await
}
