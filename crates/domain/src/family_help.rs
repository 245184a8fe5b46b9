//! The Family Help practice model (the Families First Partnership programme, 2025–26): early
//! help and child-in-need work share one case with a level, from universal plus to child
//! protection, each step between levels recorded with who decided and why; the family network
//! on the case; family group decision making. A deployment chooses its practice model; the
//! default stays the seed's four levels of need. See `docs/family-help.md`.

use crate::cases::{CaseState, NeedLevel};
use crate::limits;
use crate::people::FieldError;
use serde::{Deserialize, Serialize};
use time::Date;

choices!(
    /// How a deployment works its cases (`EARLYHELP_PRACTICE_MODEL`).
    PracticeModel {
        LevelsOfNeed => ("levels-of-need", "The four levels of need"),
        FamilyHelp => ("family-help", "Family Help"),
    }
);

impl PracticeModel {
    /// The setting as typed; unset is the seed's four levels of need.
    pub fn from_setting(raw: Option<&str>) -> Result<PracticeModel, String> {
        match raw.map(str::trim) {
            None | Some("") => Ok(PracticeModel::LevelsOfNeed),
            Some(text) => PracticeModel::from_slug(text).ok_or_else(|| {
                format!("{text:?} is not a practice model: say levels-of-need or family-help")
            }),
        }
    }
}

choices!(
    /// A case's level in the Family Help model, lowest first.
    HelpLevel {
        UniversalPlus => ("universal_plus", "Universal plus"),
        Targeted => ("targeted_family_help", "Targeted Family Help"),
        ChildInNeed => ("child_in_need", "Child in need (section 17)"),
        ChildProtection => ("child_protection", "Child protection"),
    }
);

impl HelpLevel {
    fn rank(self) -> usize {
        HelpLevel::ALL.iter().position(|l| *l == self).unwrap_or(0)
    }

    /// The level a case has before anyone has stepped it: from the level of need on the request
    /// that opened it, or child in need for a case stepped up to social care.
    pub fn starting(need: Option<NeedLevel>, state: CaseState) -> HelpLevel {
        match (state, need) {
            (CaseState::SteppedUp, _) => HelpLevel::ChildInNeed,
            (_, Some(NeedLevel::Universal | NeedLevel::UniversalPlus)) => HelpLevel::UniversalPlus,
            _ => HelpLevel::Targeted,
        }
    }

    /// The case's level: as last stepped, else where it started.
    pub fn of_case(stored: Option<&str>, need_level: &str, state: &str) -> HelpLevel {
        stored.and_then(HelpLevel::from_slug).unwrap_or_else(|| {
            HelpLevel::starting(
                NeedLevel::from_slug(need_level),
                CaseState::from_slug(state).unwrap_or(CaseState::Open),
            )
        })
    }

    /// The title of the person who leads the case at this level.
    pub fn lead_title(self) -> &'static str {
        match self {
            HelpLevel::ChildProtection => "Lead child protection practitioner",
            _ => "Family Help lead practitioner",
        }
    }

    pub fn needs_lead_cp(self) -> bool {
        self == HelpLevel::ChildProtection
    }
}

/// The lead practitioner's title on the case page, in the model's words (at child protection
/// the lead child protection practitioner is named beside them).
pub fn lead_title(model: PracticeModel) -> &'static str {
    match model {
        PracticeModel::LevelsOfNeed => "Lead practitioner",
        PracticeModel::FamilyHelp => "Family Help lead practitioner",
    }
}

/// Whether the case may step from `from` to `to`: an open case, to another level, and to child
/// protection only with a lead child protection practitioner named. Any level may be reached
/// from any other in one step (a child protection concern does not wait for child in need).
pub fn check_step(
    state: CaseState,
    from: HelpLevel,
    to: HelpLevel,
    lead_cp_named: bool,
) -> Result<(), FieldError> {
    if state == CaseState::Closed {
        return Err(FieldError::new(
            "level",
            "The case is closed: reopen it before changing its level",
        ));
    }
    if from == to {
        return Err(FieldError::new(
            "level",
            format!(
                "The case is already at {}: choose another level",
                to.label().to_lowercase()
            ),
        ));
    }
    check_lead_cp(to, lead_cp_named)
}

/// A case at child protection names its lead child protection practitioner.
pub fn check_lead_cp(to: HelpLevel, lead_cp_named: bool) -> Result<(), FieldError> {
    if to.needs_lead_cp() && !lead_cp_named {
        return Err(FieldError::new(
            "lead_cp_practitioner",
            "Choose the lead child protection practitioner: a case at child protection needs one",
        ));
    }
    Ok(())
}

/// The chronology's words for a step: "Stepped up from Targeted Family Help to Child in need
/// (section 17)".
pub fn describe_step(from: HelpLevel, to: HelpLevel) -> String {
    let way = if to.rank() > from.rank() {
        "up"
    } else {
        "down"
    };
    format!("Stepped {way} from {} to {}", from.label(), to.label())
}

choices!(
    /// Whether the family took up the offer of a family group decision making meeting.
    Uptake {
        Yes => ("yes", "Yes, taken up"),
        No => ("no", "Not yet: waiting for the family's answer"),
        Declined => ("declined", "Declined by the family"),
    }
);

/// A family group decision making record, as typed (dates already read).
pub struct FamilyGroupInput<'a> {
    pub offered_on: Date,
    pub uptake: &'a str,
    pub declined_reason: &'a str,
    pub meeting_on: Option<Date>,
    pub plan: &'a str,
}

/// Checks a family group decision making record: a declined offer says why; a meeting happens
/// only once the offer is taken up, and not before it was made; the family plan is agreed at
/// the meeting.
pub fn check_family_group(input: &FamilyGroupInput<'_>) -> Result<Uptake, Vec<FieldError>> {
    let mut errors = Vec::new();
    let uptake = Uptake::from_slug(input.uptake);
    match uptake {
        None => errors.push(FieldError::new(
            "uptake",
            "Choose whether the family took up the offer",
        )),
        Some(Uptake::Declined) if input.declined_reason.trim().is_empty() => errors.push(
            FieldError::new("declined_reason", "Say why the family declined the offer"),
        ),
        Some(Uptake::Yes) | Some(Uptake::Declined) | Some(Uptake::No) => {}
    }
    if let Some(meeting) = input.meeting_on {
        if uptake != Some(Uptake::Yes) {
            errors.push(FieldError::new(
                "meeting_on",
                "Record a meeting date only when the family took up the offer",
            ));
        } else if meeting < input.offered_on {
            errors.push(FieldError::new(
                "meeting_on",
                "The meeting date must be on or after the date it was offered",
            ));
        }
    }
    if !input.plan.trim().is_empty() && input.meeting_on.is_none() {
        errors.push(FieldError::new(
            "plan",
            "Enter the meeting date: the family plan is agreed at the meeting",
        ));
    }
    errors.extend(limits::too_long(
        "declined_reason",
        "The reason",
        input.declined_reason,
        limits::REASON,
    ));
    errors.extend(limits::too_long(
        "plan",
        "The family plan",
        input.plan,
        limits::CASE_NOTE,
    ));
    match uptake {
        Some(uptake) if errors.is_empty() => Ok(uptake),
        _ => Err(errors),
    }
}

/// Someone in the family's network, as typed.
pub struct NetworkInput<'a> {
    pub name: &'a str,
    pub relationship: &'a str,
    pub contact: &'a str,
}

/// Checks a person in the family network: a name and how they are related; how to reach them
/// may wait.
pub fn check_network(input: &NetworkInput<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if input.name.trim().is_empty() {
        errors.push(FieldError::new("name", "Enter the person's name"));
    }
    if input.relationship.trim().is_empty() {
        errors.push(FieldError::new(
            "relationship",
            "Enter how they are related to the child or family, for example grandmother or neighbour",
        ));
    }
    for (field, what, text) in [
        ("name", "The name", input.name),
        ("relationship", "The relationship", input.relationship),
        ("contact", "How to contact them", input.contact),
    ] {
        errors.extend(limits::too_long(field, what, text, limits::LINE));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use HelpLevel::*;
    use time::macros::date;

    #[test]
    fn the_default_model_is_the_four_levels_of_need() {
        assert_eq!(
            PracticeModel::from_setting(None),
            Ok(PracticeModel::LevelsOfNeed)
        );
        assert_eq!(
            PracticeModel::from_setting(Some(" ")),
            Ok(PracticeModel::LevelsOfNeed)
        );
        assert_eq!(
            PracticeModel::from_setting(Some("family-help")),
            Ok(PracticeModel::FamilyHelp)
        );
        assert!(PracticeModel::from_setting(Some("tiers")).is_err());
        assert_eq!(NeedLevel::ALL.len(), 4, "the seed's four levels stay");
        assert_eq!(lead_title(PracticeModel::LevelsOfNeed), "Lead practitioner");
        assert_eq!(
            lead_title(PracticeModel::FamilyHelp),
            "Family Help lead practitioner"
        );
        assert_eq!(ChildInNeed.lead_title(), "Family Help lead practitioner");
        assert_eq!(
            ChildProtection.lead_title(),
            "Lead child protection practitioner"
        );
    }

    #[test]
    fn a_case_starts_at_the_level_its_request_asked_for() {
        use CaseState::*;
        assert_eq!(
            HelpLevel::starting(Some(NeedLevel::Universal), Open),
            UniversalPlus
        );
        assert_eq!(
            HelpLevel::starting(Some(NeedLevel::UniversalPlus), Open),
            UniversalPlus
        );
        assert_eq!(
            HelpLevel::starting(Some(NeedLevel::Additional), Open),
            Targeted
        );
        assert_eq!(
            HelpLevel::starting(Some(NeedLevel::Complex), Closed),
            Targeted
        );
        assert_eq!(HelpLevel::starting(None, SteppedUp), ChildInNeed);
        assert_eq!(
            HelpLevel::of_case(Some("child_protection"), "additional", "open"),
            ChildProtection
        );
        assert_eq!(HelpLevel::of_case(None, "universal", "open"), UniversalPlus);
    }

    #[test]
    fn which_steps_are_allowed() {
        use CaseState::*;
        for from in HelpLevel::ALL {
            for to in HelpLevel::ALL {
                let allowed = check_step(Open, *from, *to, true).is_ok();
                assert_eq!(allowed, from != to, "{from:?} to {to:?}");
                let closed = check_step(Closed, *from, *to, true).unwrap_err();
                assert_eq!(closed.field, "level");
                let without_lead = check_step(Open, *from, *to, false);
                assert_eq!(
                    without_lead.is_ok(),
                    from != to && *to != ChildProtection,
                    "{from:?} to {to:?} without a lead child protection practitioner"
                );
            }
        }
        let error = check_step(Open, Targeted, ChildProtection, false).unwrap_err();
        assert_eq!(error.field, "lead_cp_practitioner");
        assert_eq!(
            check_step(Open, ChildInNeed, ChildInNeed, true)
                .unwrap_err()
                .message,
            "The case is already at child in need (section 17): choose another level"
        );
        assert_eq!(
            describe_step(Targeted, ChildInNeed),
            "Stepped up from Targeted Family Help to Child in need (section 17)"
        );
        assert_eq!(
            describe_step(ChildProtection, UniversalPlus),
            "Stepped down from Child protection to Universal plus"
        );
    }

    #[test]
    fn family_group_decision_making_records() {
        let offered = date!(2026 - 11 - 01);
        let input = |uptake, reason, meeting, plan| FamilyGroupInput {
            offered_on: offered,
            uptake,
            declined_reason: reason,
            meeting_on: meeting,
            plan,
        };
        assert_eq!(
            check_family_group(&input("no", "", None, "")),
            Ok(Uptake::No)
        );
        let fields = |result: Result<Uptake, Vec<FieldError>>| -> Vec<&'static str> {
            result.unwrap_err().iter().map(|e| e.field).collect()
        };
        assert_eq!(
            fields(check_family_group(&input("", "", None, ""))),
            ["uptake"]
        );
        assert_eq!(
            fields(check_family_group(&input("declined", " ", None, ""))),
            ["declined_reason"]
        );
        assert_eq!(
            fields(check_family_group(&input(
                "no",
                "",
                Some(date!(2026 - 11 - 10)),
                "Plan"
            ))),
            ["meeting_on"]
        );
        assert_eq!(
            fields(check_family_group(&input(
                "yes",
                "",
                Some(date!(2026 - 10 - 10)),
                ""
            ))),
            ["meeting_on"]
        );
        assert_eq!(
            fields(check_family_group(&input("yes", "", None, "Nan collects"))),
            ["plan"]
        );
        assert_eq!(
            check_family_group(&input(
                "yes",
                "",
                Some(date!(2026 - 11 - 10)),
                "Nan collects"
            )),
            Ok(Uptake::Yes)
        );
    }

    #[test]
    fn a_network_member_has_a_name_and_a_relationship() {
        let errors = check_network(&NetworkInput {
            name: " ",
            relationship: "",
            contact: "",
        });
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "relationship"]);
        let long = "x".repeat(limits::LINE + 1);
        let errors = check_network(&NetworkInput {
            name: "Nan",
            relationship: "Grandmother",
            contact: &long,
        });
        assert_eq!(errors[0].field, "contact");
    }
}
