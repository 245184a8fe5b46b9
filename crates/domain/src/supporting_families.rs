//! Supporting Families: a family's needs recorded against the programme's ten national
//! headline outcomes, with the evidence and the date each was achieved, and the rule that
//! says when an achieved outcome counts as sustained: six months after the case closed.

use crate::cases::parse_date;
use crate::people::FieldError;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

choices!(
    /// The ten headline outcomes of the national Supporting Families outcome framework.
    HeadlineOutcome {
        Education => ("good_education", "Getting a good education"),
        EarlyYears => ("early_years", "Good early years development"),
        Health => ("mental_physical_health", "Improved mental and physical health"),
        SubstanceUse => ("substance_use", "Promoting recovery and reducing harm from substance use"),
        Relationships => ("family_relationships", "Improved family relationships"),
        SafeFromAbuse => ("safe_from_abuse", "Children safe from abuse and exploitation"),
        Crime => ("crime", "Crime prevention and tackling crime"),
        DomesticAbuse => ("domestic_abuse", "Safe from domestic abuse"),
        Housing => ("secure_housing", "Secure housing"),
        Money => ("financial_stability", "Financial stability"),
    }
);

/// How long an achieved outcome must hold after the case closes to count as sustained.
pub const SUSTAIN_MONTHS: u32 = 6;

/// `date` plus `months` calendar months; a day the later month lacks becomes its last day
/// (31 August plus six months is the end of February).
pub fn add_months(date: Date, months: u32) -> Date {
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months as i32;
    let (year, month) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u8);
    let month = Month::try_from(month).expect("a month from 1 to 12");
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).expect("the day is within the month")
}

/// Where one outcome stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A need, not yet achieved.
    Need,
    /// Achieved; `sustained_on` is the day it will count as sustained if the case stays
    /// closed until then (none while the case is open).
    Achieved { sustained_on: Option<Date> },
    /// Achieved, and held for six months after the case closed.
    Sustained { since: Date },
}

/// The rule: an outcome is sustained once six months have passed since the later of the day
/// it was achieved and the day the case (still) closed. A reopened case has no closure date,
/// so nothing in it counts as sustained until it closes again.
pub fn progress(achieved_on: Option<Date>, closed_on: Option<Date>, today: Date) -> Progress {
    let Some(achieved_on) = achieved_on else {
        return Progress::Need;
    };
    let Some(closed_on) = closed_on else {
        return Progress::Achieved { sustained_on: None };
    };
    let sustained_on = add_months(achieved_on.max(closed_on), SUSTAIN_MONTHS);
    if today >= sustained_on {
        Progress::Sustained {
            since: sustained_on,
        }
    } else {
        Progress::Achieved {
            sustained_on: Some(sustained_on),
        }
    }
}

/// An outcome as typed in the form (field names `sf_*`).
#[derive(Debug, Clone, Default)]
pub struct OutcomeInput {
    pub outcome: String,
    pub need: String,
    pub identified_on: String,
    pub evidence: String,
    pub achieved_on: String,
}

/// A need against a headline outcome, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedOutcome {
    pub outcome: HeadlineOutcome,
    pub need: String,
    pub identified_on: Date,
    pub evidence: String,
    pub achieved_on: Option<Date>,
}

/// Checks an outcome: which one, the need in words, when it was identified, and if achieved,
/// when (not before it was identified, not in the future) and the evidence that shows it.
pub fn check_outcome(input: &OutcomeInput, today: Date) -> Result<CheckedOutcome, Vec<FieldError>> {
    let mut errors = Vec::new();
    let outcome = HeadlineOutcome::from_slug(&input.outcome);
    if outcome.is_none() {
        errors.push(FieldError::new(
            "sf_outcome",
            "Choose the headline outcome the need is against",
        ));
    }
    if input.need.trim().is_empty() {
        errors.push(FieldError::new("sf_need", "Describe the family's need"));
    }
    let identified_on = parse_date(&input.identified_on).filter(|d| *d <= today);
    if identified_on.is_none() {
        errors.push(FieldError::new(
            "sf_identified_on",
            "Enter the date the need was identified, today or earlier, like 2026-09-14",
        ));
    }
    let achieved_on = match input.achieved_on.trim() {
        "" => None,
        typed => match parse_date(typed) {
            Some(d) if d > today => {
                errors.push(FieldError::new(
                    "sf_achieved_on",
                    "The date achieved must be today or earlier",
                ));
                None
            }
            Some(d) if identified_on.is_some_and(|i| d < i) => {
                errors.push(FieldError::new(
                    "sf_achieved_on",
                    "The date achieved must not be before the need was identified",
                ));
                None
            }
            Some(d) => Some(d),
            None => {
                errors.push(FieldError::new(
                    "sf_achieved_on",
                    "Enter the date achieved like 2027-02-01, or leave it empty",
                ));
                None
            }
        },
    };
    if achieved_on.is_some() && input.evidence.trim().is_empty() {
        errors.push(FieldError::new(
            "sf_evidence",
            "Enter the evidence that the outcome was achieved",
        ));
    }
    use crate::limits::{OUTCOME_TEXT, too_long};
    errors.extend(too_long("sf_need", "The need", &input.need, OUTCOME_TEXT));
    errors.extend(too_long(
        "sf_evidence",
        "The evidence",
        &input.evidence,
        OUTCOME_TEXT,
    ));
    match (outcome, identified_on) {
        (Some(outcome), Some(identified_on)) if errors.is_empty() => Ok(CheckedOutcome {
            outcome,
            need: input.need.trim().to_string(),
            identified_on,
            evidence: input.evidence.trim().to_string(),
            achieved_on,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn ten_headline_outcomes() {
        assert_eq!(HeadlineOutcome::ALL.len(), 10);
        for o in HeadlineOutcome::ALL {
            assert_eq!(HeadlineOutcome::from_slug(o.slug()), Some(*o));
        }
    }

    #[test]
    fn months_are_calendar_months() {
        assert_eq!(add_months(date!(2026 - 03 - 15), 6), date!(2026 - 09 - 15));
        assert_eq!(add_months(date!(2026 - 08 - 31), 6), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2027 - 08 - 31), 6), date!(2028 - 02 - 29));
        assert_eq!(add_months(date!(2026 - 12 - 01), 6), date!(2027 - 06 - 01));
    }

    #[test]
    fn sustained_six_months_after_closure_not_after_achievement() {
        let achieved = Some(date!(2026 - 01 - 10));
        let closed = Some(date!(2026 - 03 - 20));
        assert_eq!(
            progress(None, closed, date!(2027 - 01 - 01)),
            Progress::Need
        );
        assert_eq!(
            progress(achieved, None, date!(2027 - 01 - 01)),
            Progress::Achieved { sustained_on: None },
            "an open case sustains nothing"
        );
        assert_eq!(
            progress(achieved, closed, date!(2026 - 09 - 19)),
            Progress::Achieved {
                sustained_on: Some(date!(2026 - 09 - 20))
            },
            "six months after achievement but a day short of six after closure"
        );
        assert_eq!(
            progress(achieved, closed, date!(2026 - 09 - 20)),
            Progress::Sustained {
                since: date!(2026 - 09 - 20)
            },
            "the day itself counts"
        );
        assert_eq!(
            progress(Some(date!(2026 - 05 - 01)), closed, date!(2026 - 10 - 01)),
            Progress::Achieved {
                sustained_on: Some(date!(2026 - 11 - 01))
            },
            "achieved after closure: six months from the achievement"
        );
    }

    #[test]
    fn an_outcome_is_checked_field_by_field() {
        let today = date!(2026 - 11 - 24);
        let good = OutcomeInput {
            outcome: "secure_housing".into(),
            need: "Rent arrears, notice served".into(),
            identified_on: "2026-09-01".into(),
            evidence: "Tenancy sustained; arrears cleared (landlord letter)".into(),
            achieved_on: "2026-11-02".into(),
        };
        let checked = check_outcome(&good, today).unwrap();
        assert_eq!(checked.outcome, HeadlineOutcome::Housing);
        assert_eq!(checked.achieved_on, Some(date!(2026 - 11 - 02)));
        let need_only = OutcomeInput {
            evidence: String::new(),
            achieved_on: " ".into(),
            ..good.clone()
        };
        assert_eq!(check_outcome(&need_only, today).unwrap().achieved_on, None);
        let fields = |input: OutcomeInput| {
            check_outcome(&input, today)
                .unwrap_err()
                .iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(OutcomeInput::default()),
            vec!["sf_outcome", "sf_need", "sf_identified_on"]
        );
        assert_eq!(
            fields(OutcomeInput {
                achieved_on: "2026-08-01".into(),
                evidence: String::new(),
                ..good.clone()
            }),
            vec!["sf_achieved_on"],
            "before it was identified (and so not achieved: no evidence needed)"
        );
        assert_eq!(
            fields(OutcomeInput {
                evidence: " ".into(),
                ..good.clone()
            }),
            vec!["sf_evidence"]
        );
        assert_eq!(
            fields(OutcomeInput {
                achieved_on: "2027-01-01".into(),
                ..good
            }),
            vec!["sf_achieved_on"]
        );
    }
}
