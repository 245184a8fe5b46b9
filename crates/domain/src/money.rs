//! Money: funding programmes and resilience payments to families. Pure rules only: amounts in
//! whole pence (never floats), caps and budgets, who may approve and pay, the states of a
//! payment, the crisis clock and 360Giving's codes.

use crate::access::{Actor, Decision, Involvement};
use crate::cases::parse_date;
use crate::limits::{LINE, REASON, too_long};
use crate::people::FieldError;
use crate::roles::{Permission, Role};
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Amounts

/// The default amount above which a grants officer must approve: £100.
pub const DEFAULT_THRESHOLD_PENCE: i64 = 10_000;

/// The largest amount any field takes: £100 million, far beyond any programme, and far from
/// overflowing a sum of many.
pub const MAX_PENCE: i64 = 10_000_000_000;

/// Pence as pounds for people: `13300` is "£133.00", `-5` is "-£0.05".
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let grouped = crate::limits::thousands((pence.unsigned_abs() / 100) as usize);
    format!("{sign}£{grouped}.{:02}", pence.unsigned_abs() % 100)
}

/// An amount typed by a person in pounds ("150", "£149.50", "1,000") as whole pence. Zero and
/// negative amounts are refused; so are fractions of a penny and anything but digits.
pub fn parse_pounds(raw: &str) -> Result<i64, &'static str> {
    let text: String = raw
        .trim()
        .trim_start_matches('£')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    if text.is_empty() {
        return Err("Enter an amount in pounds, for example 150 or 149.50");
    }
    if text.starts_with('-') {
        return Err("The amount must be more than £0");
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 2
        || whole.len() > 9
    {
        return Err("Enter an amount in pounds and pence, for example 150 or 149.50");
    }
    let pounds: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "Enter a smaller amount")?
    };
    let pence: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().unwrap_or(0) * 10,
        _ => fraction.parse().unwrap_or(0),
    };
    let total = pounds * 100 + pence;
    if total <= 0 {
        return Err("The amount must be more than £0");
    }
    Ok(total)
}

/// What is left of a budget.
pub fn remaining(budget: i64, committed: i64) -> i64 {
    budget.saturating_sub(committed).max(0)
}

/// The budgets an amount is checked against: the programme's, and the family's locality's if it
/// has one of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    pub cap: i64,
    pub overall_left: i64,
    pub locality_left: Option<i64>,
}

/// An amount asked for: more than nothing, within the cap per award, within what is left
/// overall and in the locality. The problem names the field.
pub fn check_amount(field: &'static str, amount: i64, budgets: Budgets) -> Result<(), FieldError> {
    let problem = if amount <= 0 {
        "The amount must be more than £0".to_string()
    } else if amount > budgets.cap {
        format!(
            "The amount must be {} or less, the programme's cap per award",
            pounds(budgets.cap)
        )
    } else if amount > budgets.overall_left {
        format!(
            "The amount is more than the programme has left ({})",
            pounds(budgets.overall_left)
        )
    } else if let Some(left) = budgets.locality_left.filter(|left| amount > *left) {
        format!(
            "The amount is more than the family's locality has left in this programme ({})",
            pounds(left)
        )
    } else {
        return Ok(());
    };
    Err(FieldError::new(field, problem))
}

// ---------------------------------------------------------------------------------------------
// Programmes

choices! {
    /// What a programme funds.
    ProgrammeKind {
        FamilyPayments => ("family_payments", "Payments to families"),
        CommunityGrants => ("community_grants", "Grants to community organisations"),
    }
}

/// A programme as typed: amounts in pounds, dates as `YYYY-MM-DD`.
#[derive(Debug, Clone, Default)]
pub struct ProgrammeInput {
    pub name: String,
    pub kind: String,
    pub funder: String,
    pub budget: String,
    /// (locality slug, budget in pounds; empty for none of its own).
    pub locality_budgets: Vec<(String, String)>,
    pub opens_on: String,
    pub closes_on: String,
    pub cap: String,
    /// Empty for the default, £100.
    pub threshold: String,
    pub identifier_prefix: String,
    pub regrant_type: String,
    pub crisis: bool,
    /// Who may apply (community grants), in words.
    pub eligibility: String,
    /// The criteria applications are scored against, one a line (community grants).
    pub criteria: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProgramme {
    pub name: String,
    pub kind: ProgrammeKind,
    pub funder: String,
    pub budget: i64,
    pub locality_budgets: Vec<(String, i64)>,
    pub opens_on: Date,
    pub closes_on: Date,
    pub cap: i64,
    pub threshold: i64,
    pub identifier_prefix: String,
    pub regrant_type: Option<&'static str>,
    pub crisis: bool,
    pub eligibility: String,
    pub criteria: Vec<String>,
}

/// The most criteria a grants programme scores against.
pub const MAX_CRITERIA: usize = 10;

/// A 360Giving identifier prefix: `360G-` and the funder's own letters, digits and hyphens.
pub fn check_prefix(raw: &str) -> Result<String, &'static str> {
    let prefix = raw.trim();
    let rest = prefix.strip_prefix("360G-").unwrap_or("");
    let ok = !rest.is_empty()
        && rest.len() <= 60
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !rest.ends_with('-');
    if ok {
        Ok(prefix.to_string())
    } else {
        Err(
            "Enter the funder's 360Giving prefix: 360G- then letters, digits or hyphens, for example 360G-earlyhelp",
        )
    }
}

/// The 360Giving identifier of one award: the programme's prefix and the award's reference.
pub fn grant_identifier(prefix: &str, reference: &str) -> String {
    format!("{prefix}-{reference}")
}

/// Amount fields of a programme: pounds, or the problem naming the field.
fn amount_field(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    what: &str,
    raw: &str,
) -> Option<i64> {
    match parse_pounds(raw) {
        Ok(pence) if pence > MAX_PENCE => {
            errors.push(FieldError::new(
                field,
                format!("{what} must be {} or less", pounds(MAX_PENCE)),
            ));
            None
        }
        Ok(pence) => Some(pence),
        Err(problem) => {
            errors.push(FieldError::new(field, format!("{what}: {problem}")));
            None
        }
    }
}

/// Every problem with a programme, by field, or the programme.
/// `localities` are the city's, as (slug, name); a problem with a locality's budget is filed
/// under `locality_budgets` and names the locality.
pub fn check_programme(
    input: &ProgrammeInput,
    localities: &[(String, String)],
) -> Result<CheckedProgramme, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.is_empty() {
        errors.push(FieldError::new("name", "Enter the programme's name"));
    }
    errors.extend(too_long("name", "The name", name, LINE));
    let funder = input.funder.trim();
    if funder.is_empty() {
        errors.push(FieldError::new("funder", "Enter the funding organisation"));
    }
    errors.extend(too_long("funder", "The funder", funder, LINE));
    let kind = ProgrammeKind::from_slug(input.kind.trim());
    if kind.is_none() {
        errors.push(FieldError::new("kind", "Choose what the programme funds"));
    }
    let budget = amount_field(&mut errors, "budget", "The budget", &input.budget);
    let cap = amount_field(&mut errors, "cap", "The cap per award", &input.cap);
    let threshold = if input.threshold.trim().is_empty() {
        Some(DEFAULT_THRESHOLD_PENCE)
    } else {
        amount_field(
            &mut errors,
            "threshold",
            "The approval threshold",
            &input.threshold,
        )
    };
    if let (Some(budget), Some(cap)) = (budget, cap)
        && cap > budget
    {
        errors.push(FieldError::new(
            "cap",
            "The cap per award must be no more than the budget",
        ));
    }
    let mut locality_budgets = Vec::new();
    for (slug, raw) in &input.locality_budgets {
        if raw.trim().is_empty() {
            continue;
        }
        let Some((_, name)) = localities.iter().find(|(s, _)| s == slug) else {
            errors.push(FieldError::new(
                "locality_budgets",
                "Choose localities of this city",
            ));
            continue;
        };
        let what = format!("{name}'s budget");
        if let Some(pence) = amount_field(&mut errors, "locality_budgets", &what, raw) {
            if budget.is_some_and(|b| pence > b) {
                errors.push(FieldError::new(
                    "locality_budgets",
                    format!("{what} must be no more than the programme's"),
                ));
            }
            locality_budgets.push((slug.clone(), pence));
        }
    }
    let opens_on = parse_date(&input.opens_on);
    if opens_on.is_none() {
        errors.push(FieldError::new(
            "opens_on",
            "Enter the date it opens, for example 2026-04-01",
        ));
    }
    let closes_on = parse_date(&input.closes_on);
    if closes_on.is_none() {
        errors.push(FieldError::new(
            "closes_on",
            "Enter the date it closes, for example 2027-03-31",
        ));
    }
    if let (Some(opens), Some(closes)) = (opens_on, closes_on)
        && closes < opens
    {
        errors.push(FieldError::new(
            "closes_on",
            "The programme must close on or after the day it opens",
        ));
    }
    let identifier_prefix = check_prefix(&input.identifier_prefix)
        .map_err(|problem| errors.push(FieldError::new("identifier_prefix", problem)))
        .ok();
    let regrant_type = match input.regrant_type.trim() {
        "" => None,
        code => match REGRANT_TYPES.iter().find(|(c, _)| *c == code) {
            Some((code, _)) => Some(*code),
            None => {
                errors.push(FieldError::new(
                    "regrant_type",
                    "Choose a 360Giving regrant type, or none",
                ));
                None
            }
        },
    };
    let criteria: Vec<String> = input
        .criteria
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if kind == Some(ProgrammeKind::CommunityGrants) && !(1..=MAX_CRITERIA).contains(&criteria.len())
    {
        errors.push(FieldError::new(
            "criteria",
            format!(
                "Enter 1 to {MAX_CRITERIA} criteria applications are scored against, one a line"
            ),
        ));
    }
    errors.extend(
        criteria
            .iter()
            .find_map(|c| too_long("criteria", "A criterion", c, LINE)),
    );
    let eligibility = input.eligibility.trim().to_string();
    errors.extend(too_long(
        "eligibility",
        "Who may apply",
        &eligibility,
        REASON,
    ));
    match (
        kind,
        budget,
        cap,
        threshold,
        opens_on,
        closes_on,
        identifier_prefix,
    ) {
        (
            Some(kind),
            Some(budget),
            Some(cap),
            Some(threshold),
            Some(opens_on),
            Some(closes_on),
            Some(identifier_prefix),
        ) if errors.is_empty() => Ok(CheckedProgramme {
            name: name.to_string(),
            kind,
            funder: funder.to_string(),
            budget,
            locality_budgets,
            opens_on,
            closes_on,
            cap,
            threshold,
            identifier_prefix,
            regrant_type,
            crisis: input.crisis,
            eligibility,
            criteria,
        }),
        _ => Err(errors),
    }
}

/// Whether a programme takes requests on `today`.
pub fn is_open(opens_on: Date, closes_on: Date, today: Date) -> bool {
    opens_on <= today && today <= closes_on
}

// ---------------------------------------------------------------------------------------------
// 360Giving codes (from the standard's codelists in ../shared/reference/360giving, CC BY 4.0;
// a unit test holds these tables to those files)

/// grantToIndividualsPurpose: what the money is for.
pub const PURPOSES: &[(&str, &str)] = &[
    ("GTIP010", "Unrestricted"),
    ("GTIP020", "Furniture and appliances"),
    ("GTIP030", "Equipment and home adaptations"),
    ("GTIP040", "Devices and digital access"),
    ("GTIP050", "Utilities"),
    ("GTIP060", "Other housing related costs"),
    ("GTIP070", "Food and essential items"),
    ("GTIP080", "Clothing"),
    ("GTIP090", "Debt"),
    ("GTIP100", "Travel and transport"),
    ("GTIP110", "Holiday and activity costs"),
    ("GTIP120", "Health, care and wellbeing services"),
    ("GTIP130", "Education and training"),
    ("GTIP140", "Employment and work"),
    ("GTIP150", "Creative activities"),
    ("GTIP160", "Community projects"),
    ("GTIP170", "Exceptional costs"),
];

/// grantToIndividualsReason: why the family needs it.
pub const REASONS: &[(&str, &str)] = &[
    ("GTIR010", "Financial Hardship"),
    ("GTIR020", "Disability"),
    ("GTIR030", "Health/Condition"),
    ("GTIR040", "Mental Health"),
    ("GTIR050", "Family breakup"),
    ("GTIR060", "Violence or abuse"),
    ("GTIR070", "Livelihood"),
    ("GTIR080", "Homelessness"),
    ("GTIR090", "Marginalised"),
    ("GTIR100", "Emergency/crisis event"),
    ("GTIR110", "Development opportunity"),
    ("GTIR120", "Social action"),
];

/// regrantType: how money passed through an intermediary (council to BVSC to groups).
pub const REGRANT_TYPES: &[(&str, &str)] = &[
    ("FRG010", "Common Regrant"),
    ("FRG020", "Transfer to intermediary"),
    ("FRG030", "Match funding"),
    ("FRG040", "Funder collaboration"),
    ("FRG050", "Fiscal sponsor"),
    ("FRG060", "Endowment"),
    ("FRG070", "Multipurpose"),
];

/// The title of a code in one of the tables, or the code itself.
pub fn code_title<'a>(table: &'a [(&'a str, &'a str)], code: &'a str) -> &'a str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, title)| title)
}

// ---------------------------------------------------------------------------------------------
// Payments

/// A request for a payment, as typed.
#[derive(Debug, Clone, Default)]
pub struct PaymentInput {
    pub amount: String,
    pub purposes: Vec<String>,
    pub reason: String,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPayment {
    pub amount: i64,
    pub purposes: Vec<&'static str>,
    pub reason: &'static str,
    pub notes: String,
}

/// The fields of a payment request other than its budget (checked where the budget is read).
pub fn check_payment(input: &PaymentInput) -> Result<CheckedPayment, Vec<FieldError>> {
    let mut errors = Vec::new();
    let amount = parse_pounds(&input.amount)
        .map_err(|problem| errors.push(FieldError::new("amount", problem)))
        .ok();
    let mut purposes: Vec<&'static str> = Vec::new();
    for raw in &input.purposes {
        match PURPOSES.iter().find(|(c, _)| *c == raw.trim()) {
            Some((code, _)) if !purposes.contains(code) => purposes.push(code),
            Some(_) => {}
            None => errors.push(FieldError::new(
                "purposes",
                "Choose what the money is for from the list",
            )),
        }
    }
    if input.purposes.is_empty() {
        errors.push(FieldError::new(
            "purposes",
            "Choose at least one thing the money is for",
        ));
    }
    let reason = REASONS.iter().find(|(c, _)| *c == input.reason.trim());
    if reason.is_none() {
        errors.push(FieldError::new(
            "reason",
            "Choose the main reason the family needs it",
        ));
    }
    let notes = input.notes.trim().to_string();
    errors.extend(too_long("notes", "The notes", &notes, REASON));
    match (amount, reason) {
        (Some(amount), Some((reason, _))) if errors.is_empty() => Ok(CheckedPayment {
            amount,
            purposes,
            reason,
            notes,
        }),
        _ => Err(errors),
    }
}

choices! {
    /// Where a payment is.
    PaymentState {
        Requested => ("requested", "Waiting for approval"),
        Approved => ("approved", "Approved, to pay"),
        Paid => ("paid", "Paid"),
        Refused => ("refused", "Refused"),
    }
}

/// A step of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStep {
    Approve,
    Refuse,
    Pay,
}

impl PaymentStep {
    pub fn slug(self) -> &'static str {
        match self {
            PaymentStep::Approve => "approve",
            PaymentStep::Refuse => "refuse",
            PaymentStep::Pay => "pay",
        }
    }
}

/// The state a step leads to, or (a 409) what the payment's state allows instead.
pub fn next(state: PaymentState, step: PaymentStep) -> Result<PaymentState, String> {
    use PaymentState::*;
    use PaymentStep::*;
    match (state, step) {
        (Requested, Approve) => Ok(Approved),
        (Requested, Refuse) => Ok(Refused),
        (Approved, Pay) => Ok(Paid),
        (Requested, Pay) => {
            Err("This payment is waiting for approval: approve or refuse it first".into())
        }
        (Approved, _) => Err("This payment is already approved: it can only be paid".into()),
        (Paid | Refused, _) => Err(format!(
            "This payment is {}: nothing more can be done to it",
            state.label().to_lowercase()
        )),
    }
}

/// What the access rules need to know about a payment to change it.
#[derive(Debug, Clone, Default)]
pub struct PaymentFacts {
    pub family: Involvement,
    pub requested_by: Uuid,
    /// Above the programme's threshold, or approved and waiting to be paid: only a grants
    /// officer may act.
    pub officer_only: bool,
}

/// Why a requester is refused: the web layer answers 403 for this one, as they may see the
/// payment they asked for.
pub const OWN_REQUEST: &str = "nobody approves or pays a payment they asked for";

/// Why the lead of the family's locality is refused: likewise answered 403, as they see it.
pub const OFFICER_ONLY: &str = "above the threshold, or to pay: a grants officer only";

/// Who may see a payment: grants officers, and whoever may see the family's case.
pub fn decide_read(actor: &Actor, facts: &PaymentFacts) -> Decision {
    match role_with(actor, Permission::ManagePayments) {
        Some(role) => Decision::allow(role, "runs payments"),
        None => crate::access::decide(
            actor,
            crate::access::Action::Read,
            &crate::access::Resource::Family(facts.family.clone()),
        ),
    }
}

/// Four eyes on money: never the requester. Above the programme's threshold (and to pay) a
/// grants officer; at or below it, a second person who is a grants officer or the lead of the
/// family's locality, who knows the family's circumstances.
pub fn decide_change(actor: &Actor, facts: &PaymentFacts) -> Decision {
    if actor.user_id == facts.requested_by {
        return Decision::deny(OWN_REQUEST);
    }
    if let Some(role) = role_with(actor, Permission::ManagePayments) {
        return Decision::allow(role, "grants officer: a second person");
    }
    let leads_locality = actor.roles.contains(&Role::LocalityLead)
        && actor.localities.contains(&facts.family.locality);
    match (leads_locality, facts.officer_only) {
        (true, false) => Decision::allow(
            Role::LocalityLead,
            "leads the family's locality: a second person, within the threshold",
        ),
        (true, true) => Decision::deny(OFFICER_ONLY),
        (false, _) => Decision::deny("neither a grants officer nor the lead of the locality"),
    }
}

fn role_with(actor: &Actor, permission: Permission) -> Option<Role> {
    actor.roles.iter().copied().find(|r| r.may(permission))
}

choices! {
    /// How a payment reached the family.
    PaymentMethod {
        BankTransfer => ("bank_transfer", "Bank transfer"),
        Voucher => ("voucher", "Voucher"),
        CashOutVoucher => ("cash_out_voucher", "Cash-out voucher"),
    }
}

#[derive(Debug, Clone, Default)]
pub struct PayInput {
    pub method: String,
    pub voucher_provider: String,
    pub voucher_code: String,
    pub paid_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPay {
    pub method: PaymentMethod,
    /// For a voucher: its provider and code.
    pub voucher: Option<(String, String)>,
    pub paid_on: Date,
}

/// How and when a payment was made; a voucher names its provider and code; not in the future.
pub fn check_pay(input: &PayInput, today: Date) -> Result<CheckedPay, Vec<FieldError>> {
    let mut errors = Vec::new();
    let method = PaymentMethod::from_slug(input.method.trim());
    if method.is_none() {
        errors.push(FieldError::new("method", "Choose how it was paid"));
    }
    let provider = input.voucher_provider.trim();
    let code = input.voucher_code.trim();
    let voucher = matches!(
        method,
        Some(PaymentMethod::Voucher | PaymentMethod::CashOutVoucher)
    );
    if voucher && provider.is_empty() {
        errors.push(FieldError::new(
            "voucher_provider",
            "Enter the voucher's provider",
        ));
    }
    if voucher && code.is_empty() {
        errors.push(FieldError::new("voucher_code", "Enter the voucher's code"));
    }
    errors.extend(too_long("voucher_provider", "The provider", provider, LINE));
    errors.extend(too_long("voucher_code", "The code", code, LINE));
    let paid_on = parse_date(&input.paid_on);
    match paid_on {
        None => errors.push(FieldError::new(
            "paid_on",
            "Enter the date it was paid, for example 2026-11-24",
        )),
        Some(date) if date > today => errors.push(FieldError::new(
            "paid_on",
            "The date it was paid cannot be in the future",
        )),
        Some(_) => {}
    }
    match (method, paid_on) {
        (Some(method), Some(paid_on)) if errors.is_empty() => Ok(CheckedPay {
            method,
            voucher: voucher.then(|| (provider.to_string(), code.to_string())),
            paid_on,
        }),
        _ => Err(errors),
    }
}

// ---------------------------------------------------------------------------------------------
// The crisis clock

/// A crisis payment is decided within 48 hours of the request.
pub const CRISIS_HOURS: i64 = 48;

const HOUR_MICROS: i64 = 3_600_000_000;

/// The crisis clock of a request made at `requested` seen at `now`: hours left (negative once
/// overdue), and how a person reads it.
pub fn crisis_clock(requested: i64, now: i64) -> (i64, String) {
    let due = requested + CRISIS_HOURS * HOUR_MICROS;
    let left = due - now;
    let hours = if left >= 0 {
        left / HOUR_MICROS
    } else {
        -((-left + HOUR_MICROS - 1) / HOUR_MICROS)
    };
    let label = match hours {
        h if h > 1 => format!("{h} hours left"),
        0 | 1 if left >= 0 => "Less than 2 hours left".to_string(),
        h => format!("Overdue by {} hours", -h),
    };
    (hours, label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn pounds_are_parsed_to_whole_pence_and_shown_back() {
        assert_eq!(parse_pounds("150"), Ok(15_000));
        assert_eq!(parse_pounds("£149.50"), Ok(14_950));
        assert_eq!(parse_pounds(" 1,000.5 "), Ok(100_050));
        assert_eq!(parse_pounds(".99"), Ok(99));
        for bad in [
            "", "0", "0.00", "-5", "£-5", "1.999", "ten", "1e3", "1.2.3", ".",
        ] {
            assert!(parse_pounds(bad).is_err(), "{bad:?}");
        }
        assert_eq!(pounds(13_300), "£133.00");
        assert_eq!(pounds(107_000_000), "£1,070,000.00");
        assert_eq!(pounds(-5), "-£0.05");
    }

    #[test]
    fn amounts_are_held_to_the_cap_and_what_is_left_naming_the_field() {
        let budgets = Budgets {
            cap: 15_000,
            overall_left: 20_000,
            locality_left: Some(12_000),
        };
        assert!(check_amount("amount", 12_000, budgets).is_ok());
        for (amount, says) in [
            (0, "more than £0"),
            (-100, "more than £0"),
            (15_001, "cap"),
            (12_001, "locality"),
        ] {
            let error = check_amount("amount", amount, budgets).unwrap_err();
            assert_eq!(error.field, "amount");
            assert!(error.message.contains(says), "{amount}: {}", error.message);
        }
        let low = Budgets {
            overall_left: 5_000,
            locality_left: None,
            ..budgets
        };
        let error = check_amount("amount", 6_000, low).unwrap_err();
        assert!(error.message.contains("programme has left (£50.00)"));
        assert_eq!(remaining(10_000, 12_000), 0);
        assert_eq!(remaining(10_000, 2_500), 7_500);
    }

    fn programme() -> ProgrammeInput {
        ProgrammeInput {
            name: "Resilience fund".into(),
            kind: "family_payments".into(),
            funder: "City Council".into(),
            budget: "1,070,000".into(),
            locality_budgets: vec![("ladywood".into(), "107000".into())],
            opens_on: "2026-04-01".into(),
            closes_on: "2027-03-31".into(),
            cap: "150".into(),
            threshold: String::new(),
            identifier_prefix: "360G-earlyhelp".into(),
            regrant_type: "FRG010".into(),
            crisis: true,
            ..Default::default()
        }
    }

    fn localities() -> Vec<(String, String)> {
        vec![("ladywood".into(), "Ladywood".into())]
    }

    #[test]
    fn a_grants_programme_needs_criteria_to_score_against() {
        let grants = |criteria: &str| ProgrammeInput {
            kind: "community_grants".into(),
            criteria: criteria.into(),
            ..programme()
        };
        let refused = check_programme(&grants(" \n "), &localities()).unwrap_err();
        assert_eq!(refused[0].field, "criteria");
        let checked = check_programme(&grants("Need\n\n Reach \nValue"), &localities()).unwrap();
        assert_eq!(checked.criteria, ["Need", "Reach", "Value"]);
        let eleven = ["c"; 11].join("\n");
        assert!(check_programme(&grants(&eleven), &localities()).is_err());
    }

    #[test]
    fn a_programme_is_checked_field_by_field() {
        let checked = check_programme(&programme(), &localities()).unwrap();
        assert_eq!(checked.budget, 107_000_000);
        assert_eq!(checked.cap, 15_000);
        assert_eq!(checked.threshold, DEFAULT_THRESHOLD_PENCE);
        assert_eq!(
            checked.locality_budgets,
            vec![("ladywood".into(), 10_700_000)]
        );
        assert_eq!(checked.regrant_type, Some("FRG010"));

        let bad = ProgrammeInput {
            name: " ".into(),
            kind: "loans".into(),
            budget: "100".into(),
            cap: "150".into(),
            closes_on: "2026-01-01".into(),
            identifier_prefix: "GB-CHC-123".into(),
            regrant_type: "FRG999".into(),
            locality_budgets: vec![("ladywood".into(), "0".into())],
            ..programme()
        };
        let errors = check_programme(&bad, &localities()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        for field in [
            "name",
            "kind",
            "cap",
            "locality_budgets",
            "closes_on",
            "identifier_prefix",
            "regrant_type",
        ] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
    }

    #[test]
    fn prefixes_and_identifiers_follow_360giving() {
        assert_eq!(check_prefix(" 360G-bcp "), Ok("360G-bcp".into()));
        for bad in ["", "360G-", "GB-CHC-1", "360G-a b", "360G-x-"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
        assert_eq!(grant_identifier("360G-bcp", "RP-1A2B"), "360G-bcp-RP-1A2B");
    }

    /// The tables above are the standard's codelists, code for code and title for title.
    #[test]
    fn the_code_tables_are_the_360giving_codelists() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/360giving/codelists");
        let Ok(_) = std::fs::metadata(&dir) else {
            eprintln!("SKIPPED: no 360Giving reference at {}", dir.display());
            return;
        };
        for (file, table) in [
            ("grantToIndividualsPurpose.csv", PURPOSES),
            ("grantToIndividualsReason.csv", REASONS),
            ("regrantType.csv", REGRANT_TYPES),
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let mut codes = Vec::new();
            for line in text.lines().skip(1) {
                let (code, rest) = line.split_once(',').unwrap();
                let title = match rest.strip_prefix('"') {
                    Some(quoted) => quoted.split_once('"').unwrap().0,
                    None => rest.split_once(',').unwrap().0,
                };
                codes.push((code.to_string(), title.to_string()));
            }
            let ours: Vec<(String, String)> = table
                .iter()
                .map(|(c, t)| (c.to_string(), t.to_string()))
                .collect();
            assert_eq!(ours, codes, "{file}");
        }
    }

    #[test]
    fn a_payment_request_names_each_problem() {
        let good = PaymentInput {
            amount: "133".into(),
            purposes: vec!["GTIP070".into(), "GTIP050".into(), "GTIP070".into()],
            reason: "GTIR010".into(),
            notes: "Gas meter empty".into(),
        };
        let checked = check_payment(&good).unwrap();
        assert_eq!(checked.amount, 13_300);
        assert_eq!(checked.purposes, vec!["GTIP070", "GTIP050"]);
        let bad = PaymentInput {
            amount: "-1".into(),
            purposes: vec![],
            reason: "GTIR999".into(),
            notes: "x".repeat(REASON + 1),
        };
        let fields: Vec<&str> = check_payment(&bad)
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["amount", "purposes", "reason", "notes"]);
    }

    fn actor(roles: &[Role], localities: &[&str]) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            email: "someone@example.org".into(),
            organisation_id: Uuid::now_v7(),
            roles: roles.to_vec(),
            localities: localities.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[test]
    fn a_second_person_approves_and_above_the_threshold_a_grants_officer() {
        let officer = actor(&[Role::GrantsOfficer], &[]);
        let lead = actor(&[Role::LocalityLead], &["ladywood"]);
        let other_lead = actor(&[Role::LocalityLead], &["erdington"]);
        let practitioner = actor(&[Role::Practitioner], &["ladywood"]);
        let facts = |requested_by: Uuid, officer_only: bool| PaymentFacts {
            family: Involvement {
                locality: "ladywood".into(),
                lead_practitioner: Some(practitioner.user_id),
                ..Default::default()
            },
            requested_by,
            officer_only,
        };
        let may = |who: &Actor, f: &PaymentFacts| decide_change(who, f).allowed;
        let asked_by_practitioner = facts(practitioner.user_id, false);
        assert!(may(&officer, &asked_by_practitioner));
        assert!(may(&lead, &asked_by_practitioner), "within the threshold");
        assert!(!may(&other_lead, &asked_by_practitioner));
        assert!(!may(&practitioner, &asked_by_practitioner), "the requester");
        assert_eq!(
            decide_change(&practitioner, &asked_by_practitioner).reason,
            OWN_REQUEST
        );
        let above = facts(practitioner.user_id, true);
        assert!(may(&officer, &above));
        assert!(!may(&lead, &above), "above the threshold");
        let officer_asked = facts(officer.user_id, false);
        assert!(
            !may(&officer, &officer_asked),
            "a grants officer's own request"
        );
        // Reading: grants officers and the family's own team; nobody else.
        assert!(decide_read(&officer, &above).allowed);
        assert!(decide_read(&practitioner, &above).allowed);
        for role in [Role::Commissioner, Role::VcsWorker, Role::DataAnalyst] {
            assert!(!decide_read(&actor(&[role], &["ladywood"]), &above).allowed);
        }
    }

    #[test]
    fn payments_move_only_forward() {
        use PaymentState::*;
        use PaymentStep::*;
        assert_eq!(next(Requested, Approve), Ok(Approved));
        assert_eq!(next(Requested, Refuse), Ok(Refused));
        assert_eq!(next(Approved, Pay), Ok(Paid));
        for (state, step) in [
            (Requested, Pay),
            (Approved, Approve),
            (Approved, Refuse),
            (Paid, Pay),
            (Refused, Approve),
        ] {
            assert!(next(state, step).is_err(), "{state:?} {step:?}");
        }
    }

    #[test]
    fn paying_names_the_voucher_and_a_past_date() {
        let today = date!(2026 - 11 - 24);
        let voucher = PayInput {
            method: "voucher".into(),
            voucher_provider: "PayPoint".into(),
            voucher_code: "PP-123".into(),
            paid_on: "2026-11-24".into(),
        };
        let checked = check_pay(&voucher, today).unwrap();
        assert_eq!(checked.voucher, Some(("PayPoint".into(), "PP-123".into())));
        let bank = PayInput {
            method: "bank_transfer".into(),
            paid_on: "2026-11-20".into(),
            ..Default::default()
        };
        assert_eq!(check_pay(&bank, today).unwrap().voucher, None);
        let bad = PayInput {
            method: "cash_out_voucher".into(),
            paid_on: "2026-11-25".into(),
            ..Default::default()
        };
        let fields: Vec<&str> = check_pay(&bad, today)
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, vec!["voucher_provider", "voucher_code", "paid_on"]);
    }

    #[test]
    fn the_crisis_clock_counts_down_48_hours() {
        let start = 1_000 * HOUR_MICROS;
        assert_eq!(crisis_clock(start, start).1, "48 hours left");
        assert_eq!(
            crisis_clock(start, start + 47 * HOUR_MICROS).1,
            "Less than 2 hours left"
        );
        let (hours, label) = crisis_clock(start, start + 50 * HOUR_MICROS + 1);
        assert_eq!(hours, -3);
        assert_eq!(label, "Overdue by 3 hours");
        assert!(is_open(
            date!(2026 - 04 - 01),
            date!(2027 - 03 - 31),
            date!(2026 - 11 - 24)
        ));
        assert!(!is_open(
            date!(2026 - 04 - 01),
            date!(2026 - 10 - 31),
            date!(2026 - 11 - 24)
        ));
    }
}
