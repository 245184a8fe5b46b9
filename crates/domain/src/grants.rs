//! Community grants: who may apply and what they must tell us, scoring by assessors (at least
//! two, a conflicted one kept out), the award and its tranches, and monitoring returns. Pure
//! rules only; amounts in whole pence.

use crate::access::{Actor, Decision};
use crate::cases::parse_date;
use crate::limits::{LINE, REASON, SERVICE_DESCRIPTION, too_long};
use crate::money::{MAX_PENCE, parse_pounds, pounds};
use crate::people::{FieldError, normalise_email};
use crate::roles::{Permission, Role};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

choices! {
    /// What kind of organisation applies: it decides the register number we need.
    OrganisationType {
        Charity => ("charity", "Registered charity"),
        Company => ("company", "Company limited by guarantee"),
        Cic => ("cic", "Community interest company"),
        Unregistered => ("unregistered", "Unregistered group with a constitution and a bank account"),
    }
}

choices! {
    /// Where an application stands.
    ApplicationState {
        Submitted => ("submitted", "Waiting for a decision"),
        Awarded => ("awarded", "Awarded"),
        Declined => ("declined", "Not funded"),
    }
}

choices! {
    /// 360Giving's geoCodeType for where the beneficiaries live.
    AreaType {
        Lsoa => ("LSOA", "Lower layer super output area (LSOA)"),
        Ward => ("WD", "Ward"),
    }
}

/// The fewest assessors who must score an application before it is decided.
pub const MIN_ASSESSORS: usize = 2;

/// Each criterion is scored from 1 (poor) to 5 (excellent).
pub const SCORES: std::ops::RangeInclusive<i64> = 1..=5;

/// The most tranches an award is paid in.
pub const MAX_TRANCHES: i64 = 4;

/// A charity number of England and Wales: 6 to 8 digits (360Giving's accuracy check).
pub fn check_charity_number(raw: &str) -> Result<String, &'static str> {
    let number: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if (6..=8).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit()) {
        Ok(number)
    } else {
        Err("Enter the charity number: 6 to 8 digits, for example 1098765")
    }
}

/// A Companies House number: 8 characters, digits or two letters and six digits (SC123456).
pub fn check_company_number(raw: &str) -> Result<String, &'static str> {
    let number: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let (head, tail) = number.split_at(number.len().min(2));
    let ok = number.len() == 8
        && tail.chars().all(|c| c.is_ascii_digit())
        && (head.chars().all(|c| c.is_ascii_digit())
            || head.chars().all(|c| c.is_ascii_uppercase()));
    if ok {
        Ok(number)
    } else {
        Err("Enter the company number: 8 characters, for example 01234567 or SC123456")
    }
}

/// An area code: an LSOA (E01 and six digits) or a ward (E05 and six digits).
pub fn check_area(area_type: AreaType, raw: &str) -> Result<String, &'static str> {
    let code = raw.trim().to_ascii_uppercase();
    let prefix = match area_type {
        AreaType::Lsoa => "E01",
        AreaType::Ward => "E05",
    };
    let ok = code.len() == 9
        && code.starts_with(prefix)
        && code[3..].chars().all(|c| c.is_ascii_digit());
    match (ok, area_type) {
        (true, _) => Ok(code),
        (false, AreaType::Lsoa) => {
            Err("Enter an LSOA code: E01 and six digits, for example E01009123")
        }
        (false, AreaType::Ward) => {
            Err("Enter a ward code: E05 and six digits, for example E05011121")
        }
    }
}

/// An application as typed on the public form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApplicationInput {
    pub organisation_type: String,
    pub organisation_name: String,
    pub charity_number: String,
    pub company_number: String,
    /// "yes" when an unregistered group confirms its constitution and bank account.
    pub constitution: String,
    pub bank_account: String,
    pub contact_name: String,
    pub contact_email: String,
    pub locality: String,
    pub area_type: String,
    pub area: String,
    pub title: String,
    pub activity: String,
    pub families: String,
    pub amount: String,
    /// "yes" or "no": signed up to the Birmingham Business Charter for Social Responsibility.
    pub charter: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckedApplication {
    pub organisation_type: OrganisationType,
    pub organisation_name: String,
    pub charity_number: Option<String>,
    pub company_number: Option<String>,
    pub contact_name: String,
    pub contact_email: String,
    pub locality: String,
    pub area_type: AreaType,
    pub area: String,
    pub title: String,
    pub activity: String,
    pub families: i64,
    pub amount_pence: i64,
    pub charter: bool,
}

impl CheckedApplication {
    /// The recipient's 360Giving organisation identifier: by its register number, or for a group
    /// without one, under the programme's own `360G-` prefix with the application's reference.
    pub fn organisation_identifier(&self, programme_prefix: &str, reference: &str) -> String {
        match (&self.charity_number, &self.company_number) {
            (Some(charity), _) => format!("GB-CHC-{charity}"),
            (None, Some(company)) => format!("GB-COH-{company}"),
            (None, None) => format!("{programme_prefix}-org-{reference}"),
        }
    }
}

/// What the programme allows an application: its cap, and the city's localities (slugs).
pub struct ApplicationRules<'a> {
    pub cap_pence: i64,
    pub localities: &'a [String],
}

fn required(errors: &mut Vec<FieldError>, field: &'static str, what: &str, raw: &str) -> String {
    let text = raw.trim().to_string();
    if text.is_empty() {
        errors.push(FieldError::new(field, format!("Enter {what}")));
    }
    text
}

/// Every problem with an application, by field, or the application.
pub fn check_application(
    input: &ApplicationInput,
    rules: &ApplicationRules<'_>,
) -> Result<CheckedApplication, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = OrganisationType::from_slug(&input.organisation_type);
    if kind.is_none() {
        errors.push(FieldError::new(
            "organisation_type",
            "Choose what kind of organisation you are",
        ));
    }
    let organisation_name = required(
        &mut errors,
        "organisation_name",
        "your organisation's name",
        &input.organisation_name,
    );
    let mut number =
        |field: &'static str, raw: &str, check: fn(&str) -> Result<String, &'static str>| {
            check(raw)
                .map_err(|e| errors.push(FieldError::new(field, e)))
                .ok()
        };
    let (charity_number, company_number) = match kind {
        Some(OrganisationType::Charity) => (
            number(
                "charity_number",
                &input.charity_number,
                check_charity_number,
            ),
            None,
        ),
        Some(OrganisationType::Company | OrganisationType::Cic) => (
            None,
            number(
                "company_number",
                &input.company_number,
                check_company_number,
            ),
        ),
        _ => (None, None),
    };
    if kind == Some(OrganisationType::Unregistered) {
        if input.constitution != "yes" {
            errors.push(FieldError::new(
                "constitution",
                "An unregistered group needs a written constitution to apply",
            ));
        }
        if input.bank_account != "yes" {
            errors.push(FieldError::new(
                "bank_account",
                "An unregistered group needs a bank account in its own name to apply",
            ));
        }
    }
    let contact_name = required(
        &mut errors,
        "contact_name",
        "a contact's name",
        &input.contact_name,
    );
    let contact_email = normalise_email(&input.contact_email).unwrap_or_else(|| {
        errors.push(FieldError::new(
            "contact_email",
            "Enter an email address in the correct format, like name@example.com",
        ));
        String::new()
    });
    let locality = input.locality.trim().to_string();
    if !rules.localities.contains(&locality) {
        errors.push(FieldError::new(
            "locality",
            "Choose the locality you work in",
        ));
    }
    let area_type = AreaType::from_slug(&input.area_type);
    let area = match area_type {
        Some(t) => check_area(t, &input.area)
            .map_err(|e| errors.push(FieldError::new("area", e)))
            .unwrap_or_default(),
        None => {
            errors.push(FieldError::new(
                "area_type",
                "Choose whether you give an LSOA or a ward",
            ));
            String::new()
        }
    };
    let title = required(
        &mut errors,
        "title",
        "a title for the project",
        &input.title,
    );
    let activity = required(
        &mut errors,
        "activity",
        "what the project will do",
        &input.activity,
    );
    errors.extend(too_long(
        "organisation_name",
        "The organisation's name",
        &organisation_name,
        LINE,
    ));
    errors.extend(too_long(
        "contact_name",
        "The contact's name",
        &contact_name,
        LINE,
    ));
    errors.extend(too_long("title", "The title", &title, LINE));
    errors.extend(too_long(
        "activity",
        "What the project will do",
        &activity,
        SERVICE_DESCRIPTION,
    ));
    let families = match input.families.trim().parse::<i64>() {
        Ok(n) if (1..=100_000).contains(&n) => n,
        _ => {
            errors.push(FieldError::new(
                "families",
                "Enter how many families the project will support, a whole number from 1 to 100,000",
            ));
            0
        }
    };
    let amount_pence = match parse_pounds(&input.amount) {
        Ok(pence) if pence > rules.cap_pence.min(MAX_PENCE) => {
            errors.push(FieldError::new(
                "amount",
                format!(
                    "The amount must be {} or less, this programme's largest grant",
                    pounds(rules.cap_pence)
                ),
            ));
            0
        }
        Ok(pence) => pence,
        Err(problem) => {
            errors.push(FieldError::new("amount", problem));
            0
        }
    };
    let charter = match input.charter.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            errors.push(FieldError::new(
                "charter",
                "Say whether you have signed up to the Birmingham Business Charter for Social Responsibility",
            ));
            None
        }
    };
    match (kind, area_type, charter) {
        (Some(organisation_type), Some(area_type), Some(charter)) if errors.is_empty() => {
            Ok(CheckedApplication {
                organisation_type,
                organisation_name,
                charity_number,
                company_number,
                contact_name,
                contact_email,
                locality,
                area_type,
                area,
                title,
                activity,
                families,
                amount_pence,
                charter,
            })
        }
        _ => Err(errors),
    }
}

// ---------------------------------------------------------------------------------------------
// Assessment

/// The facts about one application the access rules need: who declared a conflict of interest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationFacts {
    pub conflicted: Vec<Uuid>,
}

/// The role by which someone assesses grants, if any.
fn assessor_role(actor: &Actor) -> Option<Role> {
    actor
        .roles
        .iter()
        .copied()
        .find(|r| r.may(Permission::AssessGrants))
}

pub const CONFLICTED: &str = "declared a conflict of interest in this application";

/// Reading and scoring an application: assessors, but never one who declared a conflict.
pub fn decide_assessment(actor: &Actor, facts: &ApplicationFacts) -> Decision {
    match assessor_role(actor) {
        _ if facts.conflicted.contains(&actor.user_id) => Decision::deny(CONFLICTED),
        Some(role) => Decision::allow(role, "assesses community grants"),
        None => Decision::deny("no role of theirs assesses grants"),
    }
}

/// Deciding, paying tranches, recording returns, listing the funded service: the grants officer
/// who runs the programme, never one who declared a conflict.
pub fn decide_award(actor: &Actor, facts: &ApplicationFacts) -> Decision {
    let officer = actor
        .roles
        .iter()
        .copied()
        .find(|r| r.may(Permission::ManagePayments));
    match officer {
        _ if facts.conflicted.contains(&actor.user_id) => Decision::deny(CONFLICTED),
        Some(role) => Decision::allow(role, "runs funding programmes"),
        None => Decision::deny("only a grants officer decides and pays awards"),
    }
}

/// One assessor's scores, one per criterion, each 1 to 5, with a comment.
pub fn check_scores(raw: &[String], criteria: usize) -> Result<Vec<i64>, Vec<FieldError>> {
    let scores: Vec<Option<i64>> = (0..criteria)
        .map(|i| {
            raw.get(i)
                .and_then(|s| s.trim().parse().ok())
                .filter(|s| SCORES.contains(s))
        })
        .collect();
    if scores.iter().all(Option::is_some) {
        Ok(scores.into_iter().flatten().collect())
    } else {
        Err(vec![FieldError::new(
            "scores",
            "Score every criterion from 1 (poor) to 5 (excellent)",
        )])
    }
}

/// The mean of every assessor's total, in tenths of a point (so 13.5 is 135), with how many
/// assessors scored; none when nobody has.
pub fn mean_total(totals: &[i64]) -> Option<i64> {
    let n = totals.len() as i64;
    (n > 0).then(|| (totals.iter().sum::<i64>() * 10 + n / 2) / n)
}

/// Tenths of a point for people: 135 is "13.5".
pub fn tenths(value: i64) -> String {
    format!("{}.{}", value / 10, value % 10)
}

/// Whether an application may be decided: enough assessors have scored it.
pub fn ready_to_decide(assessors: usize) -> Result<(), String> {
    if assessors >= MIN_ASSESSORS {
        Ok(())
    } else {
        Err(format!(
            "At least {MIN_ASSESSORS} assessors must score an application before it is decided: {assessors} so far"
        ))
    }
}

/// A decision as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DecisionInput {
    /// "award" or "decline".
    pub outcome: String,
    pub amount: String,
    pub reasons: String,
    pub tranches: String,
    pub planned_start: String,
    pub planned_end: String,
}

/// An award: the amount, split into tranches due from the start, and its planned dates.
#[derive(Debug, Clone, PartialEq)]
pub struct Award {
    pub amount_pence: i64,
    pub tranches: Vec<(i64, Date)>,
    pub planned_start: Date,
    pub planned_end: Date,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckedDecision {
    pub reasons: String,
    /// None: declined.
    pub award: Option<Award>,
}

/// `amount` in `n` tranches, the first carrying any odd pence, due at even steps from `start`
/// to `end` (the first on the start date).
pub fn split_tranches(amount: i64, n: i64, start: Date, end: Date) -> Vec<(i64, Date)> {
    let n = n.clamp(1, MAX_TRANCHES);
    let step = (end - start) / n as i32;
    (0..n)
        .map(|i| {
            let share = amount / n + if i == 0 { amount % n } else { 0 };
            (share, start + step * i as i32)
        })
        .collect()
}

/// Every problem with a decision, by field, or the decision. An award is at most what was asked.
pub fn check_decision(
    input: &DecisionInput,
    requested_pence: i64,
) -> Result<CheckedDecision, Vec<FieldError>> {
    let mut errors = Vec::new();
    let reasons = input.reasons.trim().to_string();
    if reasons.is_empty() {
        errors.push(FieldError::new(
            "reasons",
            "Give the reasons for the decision: the applicant is told them",
        ));
    }
    errors.extend(too_long("reasons", "The reasons", &reasons, REASON));
    let award = match input.outcome.as_str() {
        "decline" => None,
        "award" => {
            let amount = match parse_pounds(&input.amount) {
                Ok(pence) if pence > requested_pence => {
                    errors.push(FieldError::new(
                        "amount",
                        format!(
                            "The award must be {} or less, the amount applied for",
                            pounds(requested_pence)
                        ),
                    ));
                    None
                }
                Ok(pence) => Some(pence),
                Err(problem) => {
                    errors.push(FieldError::new("amount", problem));
                    None
                }
            };
            let tranches = match input.tranches.trim().parse::<i64>() {
                Ok(n) if (1..=MAX_TRANCHES).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new(
                        "tranches",
                        format!("Choose 1 to {MAX_TRANCHES} tranches"),
                    ));
                    None
                }
            };
            let mut date = |field: &'static str, what: &str, raw: &str| {
                let date = parse_date(raw);
                // A blank one (the page's date boxes left empty) is asked for; anything else
                // came through the API, which takes ISO dates.
                if date.is_none() && raw.trim().is_empty() {
                    errors.push(FieldError::new(field, format!("Enter the {what}")));
                } else if date.is_none() {
                    errors.push(FieldError::new(
                        field,
                        format!("Enter the {what} as a date, for example 2027-04-01"),
                    ));
                }
                date
            };
            let start = date("planned_start", "start date", &input.planned_start);
            let end = date("planned_end", "end date", &input.planned_end);
            if let (Some(s), Some(e)) = (start, end)
                && e <= s
            {
                errors.push(FieldError::new(
                    "planned_end",
                    "The end date must be after the start date",
                ));
            }
            match (amount, tranches, start, end) {
                (Some(amount), Some(n), Some(start), Some(end)) => Some(Award {
                    amount_pence: amount,
                    tranches: split_tranches(amount, n, start, end),
                    planned_start: start,
                    planned_end: end,
                }),
                _ => None,
            }
        }
        _ => {
            errors.push(FieldError::new("outcome", "Choose to award or not to fund"));
            None
        }
    };
    if errors.is_empty() {
        Ok(CheckedDecision { reasons, award })
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------------------------------------
// Monitoring returns

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReturnInput {
    pub period_end: String,
    pub families_supported: String,
    pub sessions: String,
    pub packs: String,
    pub case_study: String,
    /// "yes" when the family in the case study agreed to it being shared.
    pub case_study_consent: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckedReturn {
    pub period_end: Date,
    pub families_supported: i64,
    pub sessions: i64,
    pub packs: i64,
    pub case_study: String,
    pub case_study_consent: bool,
}

/// Every problem with a monitoring return, by field, or the return. A case study is kept only
/// with the family's consent.
pub fn check_return(input: &ReturnInput, today: Date) -> Result<CheckedReturn, Vec<FieldError>> {
    let mut errors = Vec::new();
    let period_end = match parse_date(&input.period_end) {
        Some(d) if d <= today => Some(d),
        Some(_) => {
            errors.push(FieldError::new(
                "period_end",
                "The period must have ended: enter today or an earlier date",
            ));
            None
        }
        None => {
            errors.push(FieldError::new(
                "period_end",
                "Enter the end of the period as a date, for example 2027-03-31",
            ));
            None
        }
    };
    let mut count = |field: &'static str, what: &str, raw: &str| match raw.trim() {
        "" => 0,
        text => match text.parse::<i64>() {
            Ok(n) if (0..=1_000_000).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    field,
                    format!("Enter the number of {what} as a whole number, 0 or more"),
                ));
                0
            }
        },
    };
    let families_supported = count(
        "families_supported",
        "families supported",
        &input.families_supported,
    );
    let sessions = count("sessions", "sessions", &input.sessions);
    let packs = count("packs", "packs", &input.packs);
    let case_study = input.case_study.trim().to_string();
    let case_study_consent = input.case_study_consent == "yes";
    if !case_study.is_empty() && !case_study_consent {
        errors.push(FieldError::new(
            "case_study_consent",
            "A case study is kept only if the family agreed to it being shared: confirm they did, or leave it out",
        ));
    }
    errors.extend(too_long(
        "case_study",
        "The case study",
        &case_study,
        SERVICE_DESCRIPTION,
    ));
    match period_end {
        Some(period_end) if errors.is_empty() => Ok(CheckedReturn {
            period_end,
            families_supported,
            sessions,
            packs,
            case_study,
            case_study_consent,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            email: "someone@example.org".into(),
            organisation_id: Uuid::now_v7(),
            roles: roles.to_vec(),
            localities: vec![],
        }
    }

    fn input() -> ApplicationInput {
        ApplicationInput {
            organisation_type: "charity".into(),
            organisation_name: "St Margaret's Trust".into(),
            charity_number: "1098765".into(),
            contact_name: "Ruth Okafor".into(),
            contact_email: "Ruth@StMargarets.example".into(),
            locality: "ladywood".into(),
            area_type: "LSOA".into(),
            area: "e01009123".into(),
            title: "Grow and cook".into(),
            activity: "A gardening and cook-along project".into(),
            families: "40".into(),
            amount: "8,541".into(),
            charter: "yes".into(),
            ..Default::default()
        }
    }

    fn check(input: &ApplicationInput) -> Result<CheckedApplication, Vec<FieldError>> {
        let localities = vec!["ladywood".to_string()];
        let rules = ApplicationRules {
            cap_pence: 1_000_000,
            localities: &localities,
        };
        check_application(input, &rules)
    }

    fn fields(errors: Vec<FieldError>) -> Vec<&'static str> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_charity_applies_with_its_number() {
        let checked = check(&input()).unwrap();
        assert_eq!(checked.amount_pence, 854_100);
        assert_eq!(checked.area, "E01009123");
        assert_eq!(checked.contact_email, "ruth@stmargarets.example");
        assert_eq!(
            checked.organisation_identifier("360G-earlyhelp", "CG-1"),
            "GB-CHC-1098765"
        );
    }

    #[test]
    fn register_numbers_are_checked_by_kind() {
        assert!(check_charity_number("12345").is_err());
        assert!(check_charity_number("123456789").is_err());
        assert_eq!(check_company_number("sc 123456").unwrap(), "SC123456");
        assert!(check_company_number("1234567").is_err());
        assert!(check_company_number("S1234567").is_err());
        let mut company = input();
        company.organisation_type = "cic".into();
        company.company_number = "0123456".into();
        assert_eq!(fields(check(&company).unwrap_err()), ["company_number"]);
        company.company_number = "01234567".into();
        let checked = check(&company).unwrap();
        assert_eq!(checked.charity_number, None);
        assert_eq!(
            checked.organisation_identifier("360G-x", "CG-1"),
            "GB-COH-01234567"
        );
    }

    #[test]
    fn an_unregistered_group_confirms_its_constitution_and_bank_account() {
        let mut group = input();
        group.organisation_type = "unregistered".into();
        assert_eq!(
            fields(check(&group).unwrap_err()),
            ["constitution", "bank_account"]
        );
        group.constitution = "yes".into();
        group.bank_account = "yes".into();
        let checked = check(&group).unwrap();
        assert_eq!(
            checked.organisation_identifier("360G-earlyhelp", "CG-00AB"),
            "360G-earlyhelp-org-CG-00AB"
        );
    }

    #[test]
    fn amounts_over_the_cap_zero_or_negative_are_refused_by_field() {
        for amount in ["10,000.01", "0", "-5", "ten"] {
            let mut over = input();
            over.amount = amount.into();
            assert_eq!(fields(check(&over).unwrap_err()), ["amount"], "{amount}");
        }
        let mut wrong = input();
        wrong.area_type = "WD".into();
        wrong.locality = "atlantis".into();
        wrong.charter = String::new();
        assert_eq!(
            fields(check(&wrong).unwrap_err()),
            ["locality", "area", "charter"]
        );
    }

    #[test]
    fn a_conflicted_assessor_is_kept_out() {
        let assessor = actor(&[Role::GrantAssessor]);
        let officer = actor(&[Role::GrantsOfficer]);
        let clear = ApplicationFacts { conflicted: vec![] };
        assert!(decide_assessment(&assessor, &clear).allowed);
        assert!(!decide_award(&assessor, &clear).allowed);
        assert!(decide_award(&officer, &clear).allowed);
        let conflicted = ApplicationFacts {
            conflicted: vec![assessor.user_id, officer.user_id],
        };
        assert!(!decide_assessment(&assessor, &conflicted).allowed);
        assert!(!decide_award(&officer, &conflicted).allowed);
        let practitioner = actor(&[Role::Practitioner]);
        assert!(!decide_assessment(&practitioner, &clear).allowed);
    }

    #[test]
    fn scores_and_the_two_assessor_rule() {
        let raw = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(check_scores(&raw(&["5", "3", "1"]), 3).unwrap(), [5, 3, 1]);
        assert!(check_scores(&raw(&["5", "3"]), 3).is_err());
        assert!(check_scores(&raw(&["6", "3", "1"]), 3).is_err());
        assert_eq!(mean_total(&[13, 14]), Some(135));
        assert_eq!(tenths(135), "13.5");
        assert_eq!(mean_total(&[]), None);
        assert!(ready_to_decide(1).is_err());
        assert!(ready_to_decide(2).is_ok());
    }

    #[test]
    fn an_award_is_split_into_tranches_within_what_was_asked() {
        let tranches = split_tranches(854_101, 3, date!(2027 - 04 - 01), date!(2028 - 04 - 01));
        assert_eq!(tranches.iter().map(|t| t.0).sum::<i64>(), 854_101);
        assert_eq!(tranches[0], (284_701, date!(2027 - 04 - 01)));
        assert_eq!(tranches[2].1, date!(2027 - 12 - 01));
        let decision = DecisionInput {
            outcome: "award".into(),
            amount: "9000".into(),
            reasons: "Strong".into(),
            tranches: "2".into(),
            planned_start: "2027-04-01".into(),
            planned_end: "2027-03-01".into(),
        };
        assert_eq!(
            fields(check_decision(&decision, 854_100).unwrap_err()),
            ["amount", "planned_end"]
        );
        let decline = DecisionInput {
            outcome: "decline".into(),
            reasons: "Outside the criteria".into(),
            ..Default::default()
        };
        assert_eq!(check_decision(&decline, 1).unwrap().award, None);
    }

    #[test]
    fn a_case_study_needs_the_familys_consent() {
        let today = date!(2027 - 06 - 30);
        let mut input = ReturnInput {
            period_end: "2027-06-30".into(),
            families_supported: "31".into(),
            sessions: "12".into(),
            packs: "".into(),
            case_study: "A mother of three learned to cook on a budget".into(),
            ..Default::default()
        };
        assert_eq!(
            fields(check_return(&input, today).unwrap_err()),
            ["case_study_consent"]
        );
        input.case_study_consent = "yes".into();
        let checked = check_return(&input, today).unwrap();
        assert_eq!((checked.families_supported, checked.packs), (31, 0));
        input.period_end = "2027-07-01".into();
        input.sessions = "-1".into();
        assert_eq!(
            fields(check_return(&input, today).unwrap_err()),
            ["period_end", "sessions"]
        );
    }
}
