//! Requests for support, locality triage and family cases: the pages and the JSON API.
//! Every read and change goes through the gate; a family record the person may not see is
//! answered "not found" so its existence does not leak, except that partners who work with
//! families get the name-only "known to" view (itself audited).

pub mod api;
pub(crate) mod case_workers;
mod connections;
pub mod connections_api;
mod connections_dashboard;
mod families_list;
mod family;
mod family_help;
mod grants;
pub mod grants_api;
mod identifiers;
mod joining;
mod journey;
pub mod measures;
mod payments;
pub mod payments_api;
mod requests;
mod serious;
mod sharing;

use crate::AppState;
use crate::error::AppError;
use crate::routes::Routes;
use crate::views::SelectOption;
pub(crate) use case_workers::CaseWorkerLists;
use earlyhelp_domain::cases::{
    Ethnicity, MAX_MEMBERS, MEMBER_FIELDS, MemberFields, MemberInput, MemberRole, RequestInput,
    Send,
};
use earlyhelp_domain::nhs_number::NhsNumberMissing;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::StorageError;

pub fn routes() -> Routes {
    Routes::new()
        .merge(requests::routes())
        .merge(connections::routes())
        .merge(connections_api::routes())
        .merge(connections_dashboard::routes())
        .merge(family::routes())
        .merge(family_help::routes())
        .merge(families_list::routes())
        .merge(api::routes())
        .merge(measures::routes())
        .merge(sharing::routes())
        .merge(serious::routes())
        .merge(joining::routes())
        .merge(payments::routes())
        .merge(grants::routes())
        .merge(grants_api::routes())
        .merge(payments_api::routes())
        .merge(identifiers::routes())
}

/// Through the gate to record `id` of kind `R` (a family, a request, a referral); a refusal
/// or a missing record is `NotFound`.
async fn open_record<R: earlyhelp_storage::gate::Guarded>(
    state: &AppState,
    signed: &crate::session::Signed,
    id: uuid::Uuid,
    action: earlyhelp_domain::access::Action,
    purpose: &str,
) -> Result<earlyhelp_storage::gate::Authorised<R>, AppError> {
    let ask = earlyhelp_storage::gate::Ask {
        id,
        action,
        purpose,
    };
    earlyhelp_storage::gate::authorise_record(&state.db, &signed.who(), ask)
        .await
        .map_err(hide_denied)
}

/// A page with problems to fix answers 422.
fn status_for(errors: &[FieldError]) -> axum::http::StatusCode {
    if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A refusal to read or change a family's record looks the same as no record at all.
fn hide_denied(error: StorageError) -> AppError {
    match error {
        StorageError::Denied(_) | StorageError::NotFound => AppError::NotFound,
        other => other.into(),
    }
}

/// A request form's fields, as sent by a browser: member rows are numbered fields.
fn request_from_pairs(pairs: &[(String, String)]) -> RequestInput {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let members = MEMBER_FIELDS
        .iter()
        .map(|fields| MemberInput {
            given_name: get(fields.given_name),
            family_name: get(fields.family_name),
            date_of_birth: get(fields.date_of_birth),
            relationship: get(fields.relationship),
            ethnicity: get(fields.ethnicity),
            languages: get(fields.languages),
            send: get(fields.send),
            school: get(fields.school),
            nhs_number: get(fields.nhs_number),
            nhs_number_missing: get(fields.nhs_number_missing),
        })
        .collect();
    RequestInput {
        members,
        address: get("address"),
        postcode: get("postcode"),
        reasons: pairs
            .iter()
            .filter(|(k, _)| k == "reasons")
            .map(|(_, v)| v.clone())
            .collect(),
        need_level: get("need_level"),
        summary: get("summary"),
        consent_given_by: get("consent_given_by"),
        consent_method: get("consent_method"),
        consent_date: get("consent_date"),
        contact: get("contact"),
        share: get("share"),
    }
}

pub(crate) fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// One member row of the request form, for the template.
pub struct MemberRowView {
    pub number: usize,
    pub fields: MemberFields,
    pub value: MemberInput,
    pub relationships: Vec<SelectOption>,
    pub ethnicities: Vec<SelectOption>,
    pub sends: Vec<SelectOption>,
    /// Why the NHS number is missing, if it is.
    pub nhs_reasons: Vec<SelectOption>,
    /// Show the optional details open: something in them was typed or is wrong.
    pub details_open: bool,
}

/// A select's or radios' options: each choice as (slug, label), after a blank first option
/// when `blank` names one.
fn select_options(
    blank: Option<&str>,
    choices: impl Iterator<Item = (&'static str, &'static str)>,
    chosen: &str,
) -> Vec<SelectOption> {
    let blank = blank.map(|label| SelectOption::new("", label, chosen.is_empty()));
    blank
        .into_iter()
        .chain(choices.map(|(slug, label)| SelectOption::new(slug, label, chosen == slug)))
        .collect()
}

/// Why an NHS number is missing, after a blank first choice for "a number is given".
fn nhs_reason_options(chosen: &str) -> Vec<SelectOption> {
    select_options(
        Some("The NHS number is given"),
        NhsNumberMissing::ALL.iter().map(|m| (m.slug(), m.label())),
        chosen,
    )
}

fn member_rows(input: &RequestInput) -> Vec<MemberRowView> {
    (0..MAX_MEMBERS)
        .map(|i| {
            let value = input.members.get(i).cloned().unwrap_or_default();
            MemberRowView {
                number: i + 1,
                fields: MEMBER_FIELDS[i],
                relationships: select_options(
                    Some("Choose"),
                    MemberRole::ALL.iter().map(|r| (r.slug(), r.label())),
                    &value.relationship,
                ),
                ethnicities: select_options(
                    Some("Not known"),
                    Ethnicity::ALL.iter().map(|e| (e.slug(), e.label())),
                    &value.ethnicity,
                ),
                sends: select_options(
                    Some("Not known"),
                    Send::ALL.iter().map(|s| (s.slug(), s.label())),
                    &value.send,
                ),
                nhs_reasons: nhs_reason_options(&value.nhs_number_missing),
                details_open: [
                    &value.ethnicity,
                    &value.languages,
                    &value.send,
                    &value.school,
                    &value.nhs_number,
                    &value.nhs_number_missing,
                ]
                .iter()
                .any(|v| !v.trim().is_empty()),
                value,
            }
        })
        .collect()
}

/// The active user with `email` if they may hold family cases (lead or join a team).
async fn case_worker(
    state: &AppState,
    email: &str,
) -> Result<Option<earlyhelp_storage::cases::Person>, AppError> {
    let Some(person) = earlyhelp_storage::cases::person_by_email(&state.db, email).await? else {
        return Ok(None);
    };
    let works_cases = earlyhelp_storage::accounts::signed_in(&state.db, person.user_id)
        .await?
        .is_some_and(|s| {
            s.actor
                .roles
                .iter()
                .any(|r| r.may(earlyhelp_domain::roles::Permission::WorkCases))
        });
    Ok(works_cases.then_some(person))
}

/// Through the gate to the requests waiting in `locality`, listed.
async fn authorise_queue(
    state: &AppState,
    signed: &crate::session::Signed,
    locality: &str,
    purpose: &str,
) -> Result<earlyhelp_storage::gate::Authorised, StorageError> {
    let subject = format!("requests:{locality}");
    earlyhelp_storage::gate::authorise_read(
        &state.db,
        &signed.who(),
        earlyhelp_storage::gate::Request {
            action: earlyhelp_domain::access::Action::List,
            resource: earlyhelp_domain::access::Resource::SupportRequest {
                locality: Some(locality.to_string()),
            },
            subject: &subject,
            purpose,
        },
    )
    .await
}

fn first_error<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    crate::views::error_for(errors, field)
}
