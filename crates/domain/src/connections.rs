//! Connections to community support: a referral from a family's case to a directory service,
//! its states from sent to an outcome, who may move it on, and each state's HL7 FHIR Task
//! status (kept beside ours, so a FHIR-speaking partner reads the same story).
//!
//! A referral is written and sent in one step (the form is one page), so it starts at `sent`;
//! FHIR's `draft` has no use here.

use crate::cases::NeedOutcome;
use crate::people::FieldError;
use serde::{Deserialize, Serialize};

choices!(
    /// Where a referral stands.
    ReferralState {
        Sent => ("sent", "Sent"),
        Opened => ("opened", "Opened"),
        Accepted => ("accepted", "Accepted"),
        Declined => ("declined", "Declined"),
        InProgress => ("in_progress", "In progress"),
        OnHold => ("on_hold", "On hold"),
        Completed => ("completed", "Completed"),
        DidNotEngage => ("did_not_engage", "Did not engage"),
        Cancelled => ("cancelled", "Cancelled"),
        Expired => ("expired", "Expired: no answer"),
        EnteredInError => ("entered_in_error", "Entered in error"),
    }
);

impl ReferralState {
    /// The HL7 FHIR R4 Task status for this state. FHIR has no "expired": a referral nobody
    /// answered in time is `failed`, as is one the family did not take up.
    pub fn fhir_task_status(self) -> &'static str {
        match self {
            ReferralState::Sent => "requested",
            ReferralState::Opened => "received",
            ReferralState::Accepted => "accepted",
            ReferralState::Declined => "rejected",
            ReferralState::InProgress => "in-progress",
            ReferralState::OnHold => "on-hold",
            ReferralState::Completed => "completed",
            ReferralState::DidNotEngage | ReferralState::Expired => "failed",
            ReferralState::Cancelled => "cancelled",
            ReferralState::EnteredInError => "entered-in-error",
        }
    }

    /// Still waiting for the service or being worked on: not yet closed to an outcome.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ReferralState::Sent
                | ReferralState::Opened
                | ReferralState::Accepted
                | ReferralState::InProgress
                | ReferralState::OnHold
        )
    }

    /// Not yet answered by the service: what expires after the organisation's days.
    pub fn awaits_answer(self) -> bool {
        matches!(self, ReferralState::Sent | ReferralState::Opened)
    }
}

choices!(
    /// Why a service declined a referral.
    DeclineReason {
        NoCapacity => ("no_capacity", "No capacity"),
        NotEligible => ("not_eligible", "Not eligible"),
        FamilyDeclined => ("family_declined", "The family declined"),
        CouldNotContact => ("could_not_contact", "Could not contact the family"),
        Duplicate => ("duplicate", "Already referred"),
        Other => ("other", "Another reason"),
    }
);

choices!(
    /// How the service should first contact the family.
    ContactMethod {
        Phone => ("phone", "Phone call"),
        Text => ("text", "Text message"),
        Email => ("email", "Email"),
        Letter => ("letter", "Letter"),
    }
);

/// Who moves a referral on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The practitioner who sent it, or the family's team.
    Referrer,
    /// The receiving organisation (or the community connector answering for it).
    Service,
    /// The clock: a referral nobody answered in time expires.
    System,
}

/// Something that happens to a referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralEvent {
    Open,
    Accept,
    Decline(DeclineReason),
    Start,
    Hold,
    Complete(NeedOutcome),
    DidNotEngage,
    Cancel,
    Expire,
    EnterInError,
}

impl ReferralEvent {
    /// The form's and the API's name for it.
    pub const SLUGS: &'static [&'static str] = &[
        "open",
        "accept",
        "decline",
        "start",
        "hold",
        "complete",
        "did_not_engage",
        "cancel",
        "expire",
        "entered_in_error",
    ];

    pub fn slug(self) -> &'static str {
        match self {
            ReferralEvent::Open => "open",
            ReferralEvent::Accept => "accept",
            ReferralEvent::Decline(_) => "decline",
            ReferralEvent::Start => "start",
            ReferralEvent::Hold => "hold",
            ReferralEvent::Complete(_) => "complete",
            ReferralEvent::DidNotEngage => "did_not_engage",
            ReferralEvent::Cancel => "cancel",
            ReferralEvent::Expire => "expire",
            ReferralEvent::EnterInError => "entered_in_error",
        }
    }

    /// Who may cause it.
    fn sides(self) -> &'static [Side] {
        match self {
            ReferralEvent::Cancel => &[Side::Referrer, Side::Service],
            ReferralEvent::EnterInError => &[Side::Referrer],
            ReferralEvent::Expire => &[Side::System],
            _ => &[Side::Service],
        }
    }

    /// The state it leads to.
    fn target(self) -> ReferralState {
        match self {
            ReferralEvent::Open => ReferralState::Opened,
            ReferralEvent::Accept => ReferralState::Accepted,
            ReferralEvent::Decline(_) => ReferralState::Declined,
            ReferralEvent::Start => ReferralState::InProgress,
            ReferralEvent::Hold => ReferralState::OnHold,
            ReferralEvent::Complete(_) => ReferralState::Completed,
            ReferralEvent::DidNotEngage => ReferralState::DidNotEngage,
            ReferralEvent::Cancel => ReferralState::Cancelled,
            ReferralEvent::Expire => ReferralState::Expired,
            ReferralEvent::EnterInError => ReferralState::EnteredInError,
        }
    }

    /// The states it may happen from.
    fn from(self) -> &'static [ReferralState] {
        use ReferralState::*;
        match self {
            ReferralEvent::Open => &[Sent],
            ReferralEvent::Accept => &[Sent, Opened],
            ReferralEvent::Decline(_) => &[Sent, Opened, Accepted],
            ReferralEvent::Start => &[Accepted, OnHold],
            ReferralEvent::Hold => &[Accepted, InProgress],
            ReferralEvent::Complete(_) => &[Accepted, InProgress, OnHold],
            ReferralEvent::DidNotEngage => &[Accepted, InProgress, OnHold],
            ReferralEvent::Cancel => &[Sent, Opened, Accepted, InProgress, OnHold],
            ReferralEvent::Expire => &[Sent, Opened],
            ReferralEvent::EnterInError => &[
                Sent,
                Opened,
                Accepted,
                Declined,
                InProgress,
                OnHold,
                Completed,
                DidNotEngage,
                Cancelled,
                Expired,
            ],
        }
    }
}

/// A transition the state or the side does not allow, with what is allowed instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAllowed {
    pub from: ReferralState,
    /// The events `side` may cause from `from`.
    pub allowed: Vec<&'static str>,
}

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.allowed.is_empty() {
            write!(
                f,
                "A referral that is {} cannot change",
                self.from.label().to_lowercase()
            )
        } else {
            write!(
                f,
                "A referral that is {} can only: {}",
                self.from.label().to_lowercase(),
                self.allowed.join(", ")
            )
        }
    }
}

/// The events `side` may cause from `state`.
pub fn allowed(state: ReferralState, side: Side) -> Vec<&'static str> {
    let examples = [
        ReferralEvent::Open,
        ReferralEvent::Accept,
        ReferralEvent::Decline(DeclineReason::Other),
        ReferralEvent::Start,
        ReferralEvent::Hold,
        ReferralEvent::Complete(NeedOutcome::Met),
        ReferralEvent::DidNotEngage,
        ReferralEvent::Cancel,
        ReferralEvent::Expire,
        ReferralEvent::EnterInError,
    ];
    examples
        .into_iter()
        .filter(|e| e.sides().contains(&side) && e.from().contains(&state))
        .map(ReferralEvent::slug)
        .collect()
}

/// The state after `event` by `side`, or what is allowed instead.
pub fn next(
    state: ReferralState,
    event: ReferralEvent,
    side: Side,
) -> Result<ReferralState, NotAllowed> {
    if event.sides().contains(&side) && event.from().contains(&state) {
        Ok(event.target())
    } else {
        Err(NotAllowed {
            from: state,
            allowed: allowed(state, side),
        })
    }
}

/// Reads an event from a form or the API: its slug, with the decline reason or the outcome
/// it needs.
pub fn parse_event(slug: &str, reason: &str, outcome: &str) -> Result<ReferralEvent, FieldError> {
    Ok(match slug.trim() {
        "open" => ReferralEvent::Open,
        "accept" => ReferralEvent::Accept,
        "decline" => ReferralEvent::Decline(
            DeclineReason::from_slug(reason)
                .ok_or_else(|| FieldError::new("reason", "Choose why the referral is declined"))?,
        ),
        "start" => ReferralEvent::Start,
        "hold" => ReferralEvent::Hold,
        "complete" => ReferralEvent::Complete(
            NeedOutcome::from_slug(outcome)
                .ok_or_else(|| FieldError::new("outcome", "Choose how far the need was met"))?,
        ),
        "did_not_engage" => ReferralEvent::DidNotEngage,
        "cancel" => ReferralEvent::Cancel,
        "expire" => ReferralEvent::Expire,
        "entered_in_error" => ReferralEvent::EnterInError,
        _ => {
            return Err(FieldError::new(
                "event",
                "Choose what happened to the referral",
            ));
        }
    })
}

/// Days without an answer before a referral expires, unless the organisation sets its own.
pub const DEFAULT_EXPIRY_DAYS: i64 = 14;

/// What a practitioner sends: checked before anything is stored.
#[derive(Debug, Clone, Default)]
pub struct ReferralInput {
    /// Ids of the family members it is about (only they are shared).
    pub members: Vec<String>,
    pub why: String,
    pub contact_method: String,
    pub best_times: String,
    pub interpreter: String,
    /// The UK GDPR article 6 basis of the share (a slug of `sharing::Article6`).
    pub basis: String,
    /// The practitioner confirmed this is not a safeguarding referral.
    pub not_safeguarding: bool,
}

/// A referral ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedReferral {
    pub members: Vec<String>,
    pub why: String,
    pub contact_method: ContactMethod,
    pub best_times: String,
    pub interpreter: String,
    pub basis: crate::sharing::Article6,
}

/// The longest "why" and "best times" we keep, in characters.
pub const WHY_MAX: usize = 2000;
pub const SHORT_MAX: usize = 200;

/// Checks the form; every problem, by field.
pub fn check_referral(input: &ReferralInput) -> Result<CheckedReferral, Vec<FieldError>> {
    let mut errors = Vec::new();
    if !input.not_safeguarding {
        errors.push(FieldError::new(
            "not_safeguarding",
            "Confirm this is not a child protection concern",
        ));
    }
    if input.members.is_empty() {
        errors.push(FieldError::new(
            "members",
            "Choose who in the family the referral is about",
        ));
    }
    let why = input.why.trim();
    if why.is_empty() {
        errors.push(FieldError::new(
            "why",
            "Say why you are referring the family",
        ));
    } else if why.chars().count() > WHY_MAX {
        errors.push(FieldError::new(
            "why",
            format!("Why you are referring must be {WHY_MAX} characters or fewer"),
        ));
    }
    let contact_method = ContactMethod::from_slug(&input.contact_method);
    if contact_method.is_none() {
        errors.push(FieldError::new(
            "contact_method",
            "Choose how the service should contact the family",
        ));
    }
    for (field, value) in [
        ("best_times", &input.best_times),
        ("interpreter", &input.interpreter),
    ] {
        if value.trim().chars().count() > SHORT_MAX {
            errors.push(FieldError::new(
                field,
                format!("This must be {SHORT_MAX} characters or fewer"),
            ));
        }
    }
    let basis = crate::sharing::Article6::from_slug(&input.basis);
    if basis.is_none() {
        errors.push(FieldError::new(
            "basis",
            "Choose the lawful basis of the share",
        ));
    }
    match (contact_method, basis) {
        (Some(contact_method), Some(basis)) if errors.is_empty() => Ok(CheckedReferral {
            members: input.members.clone(),
            why: why.to_string(),
            contact_method,
            best_times: input.best_times.trim().to_string(),
            interpreter: input.interpreter.trim().to_string(),
            basis,
        }),
        _ => Err(errors),
    }
}

/// The median of `days`, or `None` for an empty list.
pub fn median(days: &mut [f64]) -> Option<f64> {
    if days.is_empty() {
        return None;
    }
    days.sort_by(f64::total_cmp);
    let mid = days.len() / 2;
    Some(if days.len().is_multiple_of(2) {
        (days[mid - 1] + days[mid]) / 2.0
    } else {
        days[mid]
    })
}

/// Fewer referrals than this in twelve months, and a service shows no figures: too few to
/// say anything, and too close to identifying the families.
pub const FIGURES_FROM: usize = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use ReferralState::*;

    #[test]
    fn every_event_from_every_state_by_every_side() {
        let events = [
            ReferralEvent::Open,
            ReferralEvent::Accept,
            ReferralEvent::Decline(DeclineReason::NoCapacity),
            ReferralEvent::Start,
            ReferralEvent::Hold,
            ReferralEvent::Complete(NeedOutcome::PartlyMet),
            ReferralEvent::DidNotEngage,
            ReferralEvent::Cancel,
            ReferralEvent::Expire,
            ReferralEvent::EnterInError,
        ];
        let mut allowed_count = 0;
        for state in ReferralState::ALL {
            for event in events {
                for side in [Side::Referrer, Side::Service, Side::System] {
                    let result = next(*state, event, side);
                    let expected_ok = event.sides().contains(&side) && event.from().contains(state);
                    assert_eq!(result.is_ok(), expected_ok, "{state:?} {event:?} {side:?}");
                    match result {
                        Ok(target) => {
                            allowed_count += 1;
                            assert_eq!(target, event.target());
                        }
                        Err(refused) => {
                            assert_eq!(refused.allowed, allowed(*state, side));
                            assert!(!refused.allowed.contains(&event.slug()));
                        }
                    }
                }
            }
        }
        assert_eq!(allowed_count, 38, "the table above, counted");
    }

    #[test]
    fn the_service_answers_and_closes_the_loop() {
        let mut state = Sent;
        for event in [
            ReferralEvent::Open,
            ReferralEvent::Accept,
            ReferralEvent::Start,
            ReferralEvent::Hold,
            ReferralEvent::Start,
            ReferralEvent::Complete(NeedOutcome::Met),
        ] {
            state = next(state, event, Side::Service).unwrap();
        }
        assert_eq!(state, Completed);
        assert!(!state.is_open());
        assert_eq!(state.fhir_task_status(), "completed");
    }

    #[test]
    fn the_referrer_cannot_accept_and_the_service_cannot_undo_a_mistake() {
        let refused = next(Sent, ReferralEvent::Accept, Side::Referrer).unwrap_err();
        assert_eq!(refused.allowed, vec!["cancel", "entered_in_error"]);
        assert_eq!(
            refused.to_string(),
            "A referral that is sent can only: cancel, entered_in_error"
        );
        assert!(next(Completed, ReferralEvent::EnterInError, Side::Service).is_err());
        assert_eq!(
            next(Completed, ReferralEvent::EnterInError, Side::Referrer),
            Ok(EnteredInError)
        );
        let closed = next(EnteredInError, ReferralEvent::Cancel, Side::Referrer).unwrap_err();
        assert_eq!(
            closed.to_string(),
            "A referral that is entered in error cannot change"
        );
    }

    #[test]
    fn only_an_unanswered_referral_expires() {
        assert_eq!(next(Sent, ReferralEvent::Expire, Side::System), Ok(Expired));
        assert_eq!(
            next(Opened, ReferralEvent::Expire, Side::System),
            Ok(Expired)
        );
        assert!(next(Accepted, ReferralEvent::Expire, Side::System).is_err());
        assert!(next(Sent, ReferralEvent::Expire, Side::Service).is_err());
        for state in ReferralState::ALL {
            assert_eq!(
                state.awaits_answer(),
                next(*state, ReferralEvent::Expire, Side::System).is_ok()
            );
        }
    }

    #[test]
    fn every_state_has_a_fhir_task_status() {
        let fhir = [
            "draft",
            "requested",
            "received",
            "accepted",
            "rejected",
            "ready",
            "cancelled",
            "in-progress",
            "on-hold",
            "failed",
            "completed",
            "entered-in-error",
        ];
        for state in ReferralState::ALL {
            assert!(fhir.contains(&state.fhir_task_status()), "{state:?}");
        }
    }

    #[test]
    fn events_parse_with_the_reason_or_outcome_they_need() {
        assert_eq!(
            parse_event("decline", "no_capacity", ""),
            Ok(ReferralEvent::Decline(DeclineReason::NoCapacity))
        );
        assert_eq!(parse_event("decline", "", "").unwrap_err().field, "reason");
        assert_eq!(
            parse_event("complete", "", "").unwrap_err().field,
            "outcome"
        );
        assert_eq!(parse_event("teleport", "", "").unwrap_err().field, "event");
        for slug in ReferralEvent::SLUGS {
            assert_eq!(parse_event(slug, "other", "met").unwrap().slug(), *slug);
        }
    }

    #[test]
    fn a_referral_form_names_every_problem() {
        let errors = check_referral(&ReferralInput::default()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "not_safeguarding",
                "members",
                "why",
                "contact_method",
                "basis"
            ]
        );
        let good = ReferralInput {
            members: vec!["m1".into()],
            why: " Food is short at the end of the month ".into(),
            contact_method: "text".into(),
            best_times: "after 3pm".into(),
            interpreter: String::new(),
            basis: "consent".into(),
            not_safeguarding: true,
        };
        let checked = check_referral(&good).unwrap();
        assert_eq!(checked.why, "Food is short at the end of the month");
        assert_eq!(checked.contact_method, ContactMethod::Text);
        let long = ReferralInput {
            why: "x".repeat(WHY_MAX + 1),
            ..good
        };
        assert_eq!(check_referral(&long).unwrap_err()[0].field, "why");
    }

    #[test]
    fn the_median_reply() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}

/// A referral as the connections dashboard counts it: nothing about whom.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralFigures {
    /// What it is counted under: a locality's name, or an organisation's.
    pub under: String,
    pub state: ReferralState,
    pub sent_micros: i64,
    pub first_response_micros: Option<i64>,
    pub outcome: Option<NeedOutcome>,
}

/// One line of the dashboard: counts, and shares only where there are enough to say.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardLine {
    pub under: String,
    pub sent: usize,
    /// Answered (accepted at any point) out of those answered, per cent.
    pub accepted_percent: Option<f64>,
    pub median_reply_days: Option<f64>,
    pub completed: usize,
    /// Completed with the need met, out of those completed, per cent.
    pub met_percent: Option<f64>,
}

/// Counts by what each referral is counted under, largest first; below [`FIGURES_FROM`]
/// referrals a line shows its count and no shares (too few to say, and too near the family).
pub fn dashboard(referrals: &[ReferralFigures]) -> Vec<DashboardLine> {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<&str, Vec<&ReferralFigures>> = BTreeMap::new();
    for r in referrals {
        by.entry(r.under.as_str()).or_default().push(r);
    }
    let percent =
        |part: usize, whole: usize| (whole > 0).then(|| 100.0 * part as f64 / whole as f64);
    let mut lines: Vec<DashboardLine> = by
        .into_iter()
        .map(|(under, group)| {
            let enough = group.len() >= FIGURES_FROM;
            let answered: Vec<_> = group
                .iter()
                .filter(|r| !r.state.awaits_answer() && r.first_response_micros.is_some())
                .collect();
            let declined = answered
                .iter()
                .filter(|r| r.state == ReferralState::Declined)
                .count();
            let mut days: Vec<f64> = answered
                .iter()
                .filter_map(|r| {
                    r.first_response_micros
                        .map(|at| (at - r.sent_micros) as f64 / 86_400e6)
                })
                .collect();
            let completed: Vec<_> = group
                .iter()
                .filter(|r| r.state == ReferralState::Completed)
                .collect();
            let met = completed
                .iter()
                .filter(|r| r.outcome == Some(NeedOutcome::Met))
                .count();
            DashboardLine {
                under: under.to_string(),
                sent: group.len(),
                accepted_percent: percent(answered.len() - declined, answered.len())
                    .filter(|_| enough),
                median_reply_days: median(&mut days).filter(|_| enough),
                completed: completed.len(),
                met_percent: percent(met, completed.len()).filter(|_| enough),
            }
        })
        .collect();
    lines.sort_by(|a, b| b.sent.cmp(&a.sent).then(a.under.cmp(&b.under)));
    lines
}

#[cfg(test)]
mod dashboard_tests {
    use super::*;

    fn referral(
        under: &str,
        state: ReferralState,
        reply_days: Option<i64>,
        outcome: Option<NeedOutcome>,
    ) -> ReferralFigures {
        ReferralFigures {
            under: under.into(),
            state,
            sent_micros: 0,
            first_response_micros: reply_days.map(|d| d * 86_400_000_000),
            outcome,
        }
    }

    #[test]
    fn shares_only_from_five_referrals() {
        use ReferralState::*;
        let mut referrals = vec![
            referral("Aston", Completed, Some(1), Some(NeedOutcome::Met)),
            referral("Aston", Completed, Some(3), Some(NeedOutcome::PartlyMet)),
            referral("Aston", Declined, Some(2), None),
            referral("Aston", Accepted, Some(4), None),
            referral("Aston", Sent, None, None),
        ];
        referrals.push(referral(
            "Erdington",
            Completed,
            Some(1),
            Some(NeedOutcome::Met),
        ));
        let lines = dashboard(&referrals);
        assert_eq!(lines[0].under, "Aston");
        assert_eq!(lines[0].sent, 5);
        assert_eq!(lines[0].accepted_percent, Some(75.0));
        assert_eq!(lines[0].median_reply_days, Some(2.5));
        assert_eq!(lines[0].completed, 2);
        assert_eq!(lines[0].met_percent, Some(50.0));
        let few = &lines[1];
        assert_eq!(
            (few.under.as_str(), few.sent, few.completed),
            ("Erdington", 1, 1)
        );
        assert_eq!(
            (few.accepted_percent, few.median_reply_days, few.met_percent),
            (None, None, None)
        );
    }
}
